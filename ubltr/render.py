"""UBL-TR 1.2 XML from a neutral invoice: ``build(invoice) -> bytes``.

The document is produced by the jinja2 template ``templates/invoice.xml.j2`` from the
model and the totals of :func:`ubltr.calc.compute`; this module only prepares values
(formatting decimals, choosing GİB's scheme names) and never computes an amount.
Output is deterministic: the same invoice (with its ``id`` and ``uuid`` set) gives
the same bytes.  Text is escaped by the environment's ``finalize``
(:func:`_xml_escape`); control characters were already refused by the loader.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Callable

import re

import jinja2
from markupsafe import Markup

from . import calc
from .model import Invoice, InvoiceInputError, InputProblem, Party, default_exemption_reason
from .resources import folder

__all__ = ["build", "build_with_totals", "assign_identity", "warm_up"]

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
        # GİB YatirimTesvik...CalculationSequenceNumericCheck-1: a YTB ISTISNA line's KDV says -1
        ytb_istisna = (inv.profile, inv.type) in {("YATIRIMTESVIK", "ISTISNA"), ("EARSIVFATURA", "YTBISTISNA")}
        self.kdv_calc_seq = "-1" if ytb_istisna else None
        self.accounting_cost = None
        self.sgk_refs: tuple = ()

    @staticmethod
    def exemption_text(code: str) -> str:
        return default_exemption_reason(code)

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


class _TaxView:
    __slots__ = ("base", "amount", "percent", "per_unit", "name", "code", "exemption_code", "exemption_reason")

    def __init__(self, t: calc.TaxLine | calc.TaxSubtotal):
        self.base = _amt(t.base)
        self.amount = _amt(t.amount)
        self.percent = _num(t.percent) if t.percent is not None else None
        self.per_unit = _num(t.per_unit) if t.per_unit is not None else None
        self.name = t.name
        self.code = t.code
        self.exemption_code = t.exemption_code
        self.exemption_reason = (t.exemption_reason or _Helpers.exemption_text(t.exemption_code)) if t.exemption_code else None


class _ACView:
    __slots__ = ("indicator", "reason", "factor", "amount", "base")

    def __init__(self, ac, amount: Decimal, gross: Decimal, is_charge: bool | None = None):
        self.indicator = "true" if (ac.is_charge if is_charge is None else is_charge) else "false"
        self.reason = ac.reason
        self.factor = _factor(ac.rate) if ac.rate is not None else None
        self.amount = _amt(amount)
        # the base calc applied the rate to: its line_base rounding (half up), not _amt's
        # quantize, whose context default is half-even (1 × 10.125 was written 10.12)
        base = calc.ROUNDING["line_base"]
        self.base = str(gross.quantize(base.quantum, rounding=base.mode)) if ac.rate is not None else None


class _WithholdingView:
    __slots__ = ("amount", "base", "percent", "name", "code")

    def __init__(self, w: calc.WithholdingLine | calc.WithholdingSubtotal):
        self.amount = _amt(w.amount)
        self.base = _amt(w.base)
        self.percent = _num(w.percent)
        self.name = _Helpers.withholding_name(w.code)
        self.code = w.code


class _LineView:
    """A line's values already formatted, so the template's line loop only reads
    attributes (the line loop is the hot path of a large invoice)."""

    __slots__ = ("ln", "index", "qty", "net", "price", "tax_amount", "taxes", "withholding", "acs")

    def __init__(self, index: int, ln, lt: calc.LineTotals):
        self.ln = ln
        self.index = str(index)  # cbc:ID, 1-based (the loop then needs no jinja2 LoopContext)
        self.qty = _num(ln.quantity)
        self.net = _amt(lt.net)
        self.price = _num(ln.unit_price)
        self.tax_amount = _amt(lt.tax_amount)
        self.taxes = [_TaxView(t) for t in lt.taxes]
        self.withholding = _WithholdingView(lt.withholding) if lt.withholding else None
        self.acs = [_ACView(a, amt, lt.gross) for a, amt in zip(ln.allowances, lt.allowances)] + \
                   [_ACView(c, amt, lt.gross) for c, amt in zip(ln.charges, lt.charges)]


class _DocView:
    """The document-level amounts already formatted, and the document's tax subtotals,
    withholding subtotals and allowances/charges as the same views the lines use: the
    template reads attributes instead of calling helpers (a jinja2 call costs several
    times an attribute read)."""

    __slots__ = ("tax_total", "withholding_total", "line_extension", "tax_exclusive", "tax_inclusive",
                 "allowance_total", "charge_total", "rounding", "payable", "subtotals",
                 "withholding_subtotals", "acs")

    def __init__(self, inv: Invoice, t: calc.Totals):
        self.tax_total = _amt(t.tax_total)
        self.withholding_total = _amt(t.withholding_total)
        self.line_extension = _amt(t.line_extension)
        self.tax_exclusive = _amt(t.tax_exclusive)
        self.tax_inclusive = _amt(t.tax_inclusive)
        self.allowance_total = _amt(t.allowance_total)
        self.charge_total = _amt(t.charge_total)
        self.rounding = _amt(t.rounding)
        self.payable = _amt(t.payable)
        self.subtotals = [_TaxView(s) for s in t.subtotals]
        self.withholding_subtotals = [_WithholdingView(w) for w in t.withholding_subtotals]
        # allowances then charges, each with its place's indicator; BaseAmount = Σ line nets when by rate
        self.acs = [_ACView(a, amt, t.line_extension, False) for a, amt in zip(inv.allowances, t.doc_allowances)] + \
                   [_ACView(c, amt, t.line_extension, True) for c, amt in zip(inv.charges, t.doc_charges)]


_XML_SPECIAL = re.compile(r"[&<>\"']")
_XML_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}


def _xml_escape(value: object) -> str:
    """jinja2 ``finalize``: every ``{{ expression }}`` is escaped here (text and
    attribute safe), except macro output marked ``| safe`` (the address macro).
    Cheaper than autoescape, which builds a Markup object per expression; the result
    is the same bytes.

    Runs once per expression (~300 times for a ten-line invoice): plain strings
    without a special character (nearly all of them) return after five substring
    tests, which is cheaper than a regex search."""
    if type(value) is str:
        if "&" not in value and "<" not in value and ">" not in value and '"' not in value and "'" not in value:
            return value
        s = value
    elif isinstance(value, Markup):
        return value
    elif value is None:
        return "None"
    else:
        s = str(value)
        if _XML_SPECIAL.search(s) is None:
            return s
    return _XML_SPECIAL.sub(lambda m: _XML_ESCAPES[m.group(0)], s)


class _Environment(jinja2.Environment):
    """The template's environment, with attribute lookup by the builtin ``getattr``.

    jinja2 compiles every ``a.b`` to ``environment.getattr(a, "b")``, a Python method
    that tries ``getattr`` and then ``a["b"]``; with ~500 lookups per ten-line invoice
    that method call was a tenth of the render.  The template reads only attributes
    that exist on the model, totals and view objects (and, with ``StrictUndefined``,
    a missing one was already an error), so the builtin gives the same result; a
    misspelt attribute now raises ``AttributeError`` instead of ``UndefinedError``."""

    # a builtin is not a descriptor: env.getattr(obj, name) calls it as is (the builtin's
    # overloads are wider than jinja2's (obj, str) signature, which mypy reports)
    getattr = getattr  # type: ignore[assignment]


@cache
def _template() -> jinja2.Template:
    env = _Environment(
        loader=jinja2.FileSystemLoader(str(folder("templates"))),
        autoescape=False,
        finalize=_xml_escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )
    return env.get_template("invoice.xml.j2")


def warm_up() -> None:
    """Compile the template now (about 0.3 s): a process pool forked afterwards
    inherits it instead of compiling it once per worker."""
    _template()


def assign_identity(inv: Invoice, sequence: Callable[[str, int], int] | None = None) -> Invoice:
    """Fill ``id`` (from ``series`` and ``sequence(series, year)``) and ``uuid`` when absent."""
    new_id = inv.id
    if new_id is None:
        if inv.series is None or sequence is None:
            raise InvoiceInputError([InputProblem(
                "id", "is required (or give series and a sequence number: --number on the command line, sequence= in Python)")])
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
    lines = [_LineView(i, ln, lt) for i, (ln, lt) in enumerate(zip(inv.lines, t.lines), 1)]
    text = _template().render(inv=inv, t=t, x=_Helpers(inv), lines=lines, d=_DocView(inv, t))
    return text.encode("utf-8"), inv, t


def build(inv: Invoice, sequence: Callable[[str, int], int] | None = None) -> bytes:
    """The unsigned UBL-TR 1.2 document of ``inv`` as UTF-8 bytes."""
    return build_with_totals(inv, sequence=sequence)[0]
