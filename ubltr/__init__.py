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

``import ubltr`` loads nothing else: each name below is imported on first use, so a
program (or ``ubltr --help``) pays only for the stages it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name -> (module, attribute).  The stage functions ubltr.parse, ubltr.sign and
#: ubltr.validate are plain functions; their modules are ubltr.parsing, ubltr.signing and
#: ubltr.validation.
_LAZY: dict[str, tuple[str, str]] = {
    "CalcError": ("calc", "CalcError"), "Totals": ("calc", "Totals"),
    "amount_in_words": ("calc", "amount_in_words"), "compute": ("calc", "compute"),
    "Invoice": ("model", "Invoice"), "InvoiceInputError": ("model", "InvoiceInputError"),
    "load": ("model", "load"), "loads": ("model", "loads"),
    "build": ("render", "build"),
    "example": ("examples", "example"),
    "parse": ("parsing", "parse"), "ParseError": ("parsing", "ParseError"),
    "sign": ("signing", "sign"), "SignatureReport": ("signing", "SignatureReport"), "verify": ("signing", "verify"),
    "validate": ("validation", "validate"), "Report": ("validation", "Report"),
}

__all__ = [
    "__version__", "Invoice", "InvoiceInputError", "load", "loads", "compute", "Totals",
    "CalcError", "amount_in_words", "build", "parse", "ParseError", "validate", "Report",
    "sign", "verify", "SignatureReport", "example",
]


def __getattr__(name: str) -> Any:
    spec = _LAZY.get(name)
    if spec is None:
        raise AttributeError(f"module 'ubltr' has no attribute {name!r}")
    module = importlib.import_module(f".{spec[0]}", __name__)
    value = getattr(module, spec[1])
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # what the names are, for type checkers and IDEs
    from .calc import CalcError, Totals, amount_in_words, compute
    from .examples import example
    from .model import Invoice, InvoiceInputError, load, loads
    from .parsing import ParseError, parse
    from .render import build
    from .signing import SignatureReport, sign, verify
    from .validation import Report, validate
