"""UBL-TR 1.2 XML from a neutral invoice: ``build(invoice) -> bytes``.

The document is produced by the jinja2 template ``templates/invoice.xml.j2`` from the
model and the totals of :func:`ubltr.calc.compute`; this module only prepares values
(formatting decimals, choosing GİB's scheme names) and never computes an amount.
Output is deterministic: the same invoice (with its ``id`` and ``uuid`` set) gives
the same bytes.  Text is escaped by jinja2's autoescape; control characters were
already refused by the loader.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import replace
from decimal import Decimal
from functools import cache
from typing import Callable

import jinja2

from . import calc
from .model import Invoice, InvoiceInputError, InputProblem, Party
from .resources import folder

__all__ = ["build", "build_with_totals", "assign_identity"]

#: neutral internet-sale payment type → UN/ECE 4461 payment means code
_INTERNET_MEANS = {
    "KREDIKARTI/BANKAKARTI": "48",
    "EFT/HAVALE": "42",
    "KAPIDAODEME": "10",
    "ODEMEARACISI": "ZZZ",
    "DIGER": "ZZZ",
}


def _amt(d: Decimal) -> str:
    return str(d.quantize(calc.CENT))


def _num(d: Decimal) -> str:
    """A decimal as plain digits, trailing zeros kept as given (never an exponent)."""
    return format(d, "f")


def _factor(rate: Decimal) -> str:
    return format((rate / 100).normalize(), "f")


class _Helpers:
    """What the template may call; all pure formatting or GİB scheme choices."""

    amt = staticmethod(_amt)
    num = staticmethod(_num)
    factor = staticmethod(_factor)

    def __init__(self, inv: Invoice):
        self.inv = inv
        self.buyer_party_type = {"IHRACAT": "EXPORT", "YOLCUBERABERFATURA": "TAXFREE"}.get(inv.profile)
        sale = inv.earchive.internet_sale if inv.earchive else None
        self.internet_means_code = _INTERNET_MEANS.get(sale.payment_type, "ZZZ") if sale else None
        self.carrier_scheme = ("VKN" if sale and sale.carrier and len(sale.carrier.vkn) == 10 else "TCKN")
        # GİB GeneralWithholdingTaxTotalCheck-1: a TEVKIFATIADE document carries its
        # withholding on the lines only, never in a document-level WithholdingTaxTotal
        self.document_withholding = inv.type not in {"TEVKIFATIADE", "YTBTEVKIFATIADE"}
        self.accounting_cost = None
        self.sgk_refs: tuple = ()

    @staticmethod
    def exemption_text(code: str) -> str:
        return f"{code} kodlu KDV istisnası"

    @staticmethod
    def withholding_name(code: str) -> str:
        return "KDV TEVKİFAT" if code.startswith("6") else "KDV TEVKİFAT (TAM)"

    def nationality(self, p: Party) -> str | None:
        if self.inv.profile == "YOLCUBERABERFATURA" and p is self.inv.buyer_customer:
            return p.address.country_code
        return None

    def passport(self, p: Party) -> str | None:
        if self.inv.profile == "YOLCUBERABERFATURA" and p is self.inv.buyer_customer:
            return dict(p.ids).get("PASAPORTNO")
        return None


@cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder("templates"))),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("invoice.xml.j2")


def assign_identity(inv: Invoice, sequence: Callable[[str, int], int] | None = None) -> Invoice:
    """Fill ``id`` (from ``series`` and ``sequence(series, year)``) and ``uuid`` when absent."""
    new_id = inv.id
    if new_id is None:
        if inv.series is None or sequence is None:
            raise InvoiceInputError([InputProblem(
                "id", "is required (or give series and build with a sequence source)")])
        n = sequence(inv.series, inv.issue_date.year)
        if not 0 < n < 10 ** 9:
            raise InvoiceInputError([InputProblem("id", f"sequence number {n} does not fit 9 digits")])
        new_id = f"{inv.series}{inv.issue_date.year:04d}{n:09d}"
    return inv.with_identity(id=new_id)


def build_with_totals(inv: Invoice, totals: calc.Totals | None = None,
                      sequence: Callable[[str, int], int] | None = None) -> tuple[bytes, Invoice, calc.Totals]:
    """Like :func:`build`, also returning the invoice with its identity and the totals."""
    inv = assign_identity(inv, sequence)
    t = totals if totals is not None else calc.compute(inv)
    text = _template().render(inv=inv, t=t, x=_Helpers(inv))
    return text.encode("utf-8"), inv, t


def build(inv: Invoice, sequence: Callable[[str, int], int] | None = None) -> bytes:
    """The unsigned UBL-TR 1.2 document of ``inv`` as UTF-8 bytes."""
    return build_with_totals(inv, sequence=sequence)[0]
