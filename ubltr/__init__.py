"""ubltr: Turkish e-invoices (UBL-TR 1.2): neutral JSON → tax math → UBL-TR XML →
validation → XAdES signing → provider transports.

The pipeline, one function per stage::

    inv = ubltr.load(data)          # neutral dict / JSON → Invoice (path-named errors)
    totals = ubltr.compute(inv)     # every amount, Decimal, named rounding points
    xml = ubltr.build(inv)          # UBL-TR 1.2 bytes from templates/
    report = ubltr.validate(xml)    # XSD + GİB schematron + ubltr rules → Report
    signed = ubltr.sign(xml, key, chain)
    ubltr.verify(signed)            # → SignatureReport
    ubltr.parse(xml) == inv         # and back
"""

from __future__ import annotations

__version__ = "0.1.0"

from .calc import CalcError, Totals, amount_in_words, compute  # noqa: E402
from .model import Invoice, InvoiceInputError, load, loads  # noqa: E402
from .render import build  # noqa: E402

# ubltr.parse, ubltr.sign and ubltr.validate are the stage modules, made callable as
# their main function (ubltr/_callable.py): ubltr.validate(xml), ubltr.sign(xml, key,
# chain), ubltr.parse(xml) work, and so do `import ubltr.sign as m`, `from ubltr.validate
# import Report`.
from . import parse, sign, validate  # noqa: E402
from .parse import ParseError  # noqa: E402
from .sign import SignatureReport, verify  # noqa: E402
from .validate import Report  # noqa: E402

__all__ = [
    "__version__", "Invoice", "InvoiceInputError", "load", "loads", "compute", "Totals",
    "CalcError", "amount_in_words", "build", "parse", "ParseError", "validate", "Report",
    "sign", "verify", "SignatureReport",
]
