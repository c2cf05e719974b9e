"""ubltr's own rules (schematron/ubltr.sch) re-evaluated with exact Decimal arithmetic,
for the tests: a second reading of the rules, not the engine.

The schematron runs on libxslt with XPath 1.0 doubles; this module reads the same
rules the way XPath 1.0 reads them (first node of a path, ``sum()`` NaN as soon as one
value is NaN, exact string comparison of ``ChargeIndicator``, messages printed as
libxml2 prints numbers) but sums and multiplies exact decimals.  tests/test_ubltr_rules.py
runs both over every document at hand and a corpus of wrong invoices: same findings,
same messages, lines and locations, so a float artefact of the schematron (or a
mistake in either reading) shows as a difference.

Why it is not the engine: measured at 1-10,000 lines it costs 2-4x the compiled
schematron on libxslt (bench/validate.py numbers in docs/validate.md): reading an
lxml element in Python costs ~0.15 µs before any arithmetic, ~25 elements a line.
"""

from __future__ import annotations

import re
from decimal import ROUND_FLOOR, Context, Decimal, localcontext
from typing import Iterable, Iterator

from lxml import etree

from ubltr import calc

_INV = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}"
_CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
_CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
_EXT = "{urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2}"

INVOICE = _INV + "Invoice"
LINE = _CAC + "InvoiceLine"
LMT = _CAC + "LegalMonetaryTotal"
TAX_TOTAL = _CAC + "TaxTotal"
WH_TOTAL = _CAC + "WithholdingTaxTotal"
SUBTOTAL = _CAC + "TaxSubtotal"
AC = _CAC + "AllowanceCharge"
PRICE = _CAC + "Price"
PER = _CAC + "PricingExchangeRate"
CATEGORY = _CAC + "TaxCategory"
SCHEME = _CAC + "TaxScheme"
PARTY_ID = _CAC + "PartyIdentification"
UBL_EXTENSIONS = _EXT + "UBLExtensions"

ID = _CBC + "ID"
LEA = _CBC + "LineExtensionAmount"
TAX_AMOUNT = _CBC + "TaxAmount"
TAXABLE = _CBC + "TaxableAmount"
PERCENT = _CBC + "Percent"
PER_UNIT = _CBC + "PerUnitAmount"
CODE = _CBC + "TaxTypeCode"
AMOUNT = _CBC + "Amount"
BASE = _CBC + "BaseAmount"
FACTOR = _CBC + "MultiplierFactorNumeric"
INDICATOR = _CBC + "ChargeIndicator"
QUANTITY = _CBC + "InvoicedQuantity"
PRICE_AMOUNT = _CBC + "PriceAmount"

#: half a kuruş and a little (schematron/ubltr.sch ``$eps``)
EPS = Decimal("0.0051")
_NAN = Decimal("NaN")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_HALF = Decimal("0.5")
#: exact for any amount a document can hold (Decimal's default 28 digits could round a
#: product of two long values)
#: product of two long values); comparisons with NaN are false, as in XPath (no trap)
_CONTEXT = Context(prec=200, traps=[])

#: (rule id, role) of every assertion this module evaluates, in schematron order
RULES: tuple[tuple[str, str | None], ...] = (
    ("UBLTR-TOTAL-LINES", None),
    ("UBLTR-TOTAL-TAXEXCLUSIVE", None),
    ("UBLTR-TOTAL-TAXINCLUSIVE", None),
    ("UBLTR-TOTAL-PAYABLE", None),
    ("UBLTR-TOTAL-ALLOWANCES", None),
    ("UBLTR-TOTAL-CHARGES", None),
    ("UBLTR-ALLOWANCE-RATE", None),
    ("UBLTR-TAXTOTAL-SUBTOTALS", None),
    ("UBLTR-TAXTOTAL-LINES", None),
    ("UBLTR-KDV-BASE", None),
    ("UBLTR-WITHHOLDING-SUBTOTALS", None),
    ("UBLTR-WITHHOLDING-LINES", None),
    ("UBLTR-WITHHOLDING-BASE", None),
    ("UBLTR-LINE-AMOUNT", None),
    ("UBLTR-LINE-TAXTOTAL", None),
    ("UBLTR-LINE-ALLOWANCE-RATE", None),
    ("UBLTR-LINE-TAX-PERCENT", None),
    ("UBLTR-LINE-WITHHOLDING", None),
    ("UBLTR-LINE-WITHHOLDING-BASE", None),
    ("UBLTR-CURRENCY-AMOUNTS", None),
    ("UBLTR-EXCHANGE-RATE", None),
    ("UBLTR-EXCHANGE-RATE-TRY", "warning"),
    ("UBLTR-AMOUNT-IN-WORDS", "warning"),
    ("UBLTR-ID-YEAR", "warning"),
    ("UBLTR-LINE-COUNT", None),
    ("UBLTR-VKN-CHECKSUM", None),
    ("UBLTR-TCKN-CHECKSUM", None),
    ("UBLTR-NILVERA-SERIES-YEAR", None),
)
ROLES: dict[str, str | None] = dict(RULES)

#: one raw finding: (rule id, element it is about, message before whitespace folding)
Raw = tuple[str, etree._Element, str]


# ----------------------------------------------------------------- XPath 1.0 values

def text(el: etree._Element | None) -> str:
    """The string value of ``el`` ('' for no element)."""
    if el is None:
        return ""
    if not len(el):
        return el.text or ""
    return "".join(el.itertext())


_NUMBER = re.compile(r"[ \t\r\n]*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:[eE]([+-]?[0-9]*))?[ \t\r\n]*")


def number(s: str) -> Decimal:
    """XPath ``number()`` of a string, exactly (NaN when it is not a number)."""
    m = _NUMBER.fullmatch(s)
    if m is None:
        return _NAN
    d = Decimal(m.group(1))
    e = m.group(2)
    if e and e not in "+-":
        d = d.scaleb(int(e), _CONTEXT)
    return d


def _dec(t: str | None) -> Decimal:
    """XPath number() of a string value: Decimal's own parser for the usual plain
    decimal; what Decimal reads differently from XPath (a sign '+', '_', Infinity,
    NaN, non-ASCII digits or spaces) goes through :func:`number`."""
    if not t:
        return _NAN
    try:
        d = Decimal(t)
    except ArithmeticError:
        return number(t)
    if d.is_finite() and t.isascii() and "+" not in t and "_" not in t:
        return d
    return number(t)


def _num(el: etree._Element | None) -> Decimal:
    """XPath number() of an element's string value (NaN for no element)."""
    if el is None:
        return _NAN
    return _dec(el.text if not len(el) else text(el))


def _sum(els: Iterable[etree._Element]) -> Decimal:
    total = _ZERO
    for el in els:
        total = total + _num(el)
    return total


#: ubltr.sch's $deducted and $otv (tax_policy.json's deducted and otv lists)
DEDUCTED = frozenset(calc._policy()["deducted"])
OTV = frozenset(calc._policy()["otv"])
#: ubltr.sch's $notadded (tax_policy.json's kdv_not_added: YATIRIMTESVIK 308/339)
NOT_ADDED = frozenset(calc._policy()["kdv_not_added"])


def _exemption(sub: etree._Element) -> str:
    """string(cac:TaxCategory/cbc:TaxExemptionReasonCode) of a subtotal."""
    for cat in sub.iterchildren(CATEGORY):
        for c in cat.iterchildren(_CBC + "TaxExemptionReasonCode"):
            return text(c)
    return ""


def _without_not_added(subs: Decimal, not_added: Decimal, total: Decimal) -> bool:
    """A TaxTotal/TaxAmount that leaves out the KDV computed and shown but not charged."""
    return not not_added.is_nan() and not_added > 0 and within(subs - not_added, total)


def _without_deducted(subs: Decimal, ded: Decimal, otv_withheld: Decimal, total: Decimal) -> bool:
    """A TaxTotal/TaxAmount that leaves out the deducted taxes (stopaj, tevkifat), or all
    of them but a 4171 standing for the ÖTV (as ubltr writes them)."""
    return not ded.is_nan() and ded > 0 and (within(subs - ded, total) or within(subs - ded + otv_withheld, total))


def within(a: Decimal, b: Decimal) -> bool:
    """``(a - b) < eps and (b - a) < eps``: false when either is NaN (in
    :data:`_CONTEXT`, where a comparison with NaN is false instead of an error)."""
    return abs(a - b) < EPS


def fmt(value: Decimal) -> str:
    """An XPath number as libxml2 prints it (xmlXPathFormatNumber): NaN, integers
    plainly, otherwise 15 significant digits without trailing zeros, with an exponent
    below 10^-5 and above 10^9."""
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "Infinity" if value > 0 else "-Infinity"
    f = float(value)
    if f == 0:
        return "0"
    if f.is_integer() and -2147483648 < f < 2147483647:
        return str(int(f))
    a = abs(f)
    if a > 1e9 or a < 1e-5:
        s = "%.14e" % f
        mant, exp = s.split("e")
        mant = mant.rstrip("0").rstrip(".")
        return f"{mant}e{exp}"
    import math

    place = int(math.log10(a))
    frac = 15 - place - 1 if place > 0 else 15 - place
    s = "%.*f" % (frac, f)
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def xpath_round(value: Decimal) -> Decimal:
    """XPath ``round()``: the nearest integer, a half towards positive infinity."""
    return (value + _HALF).to_integral_value(rounding=ROUND_FLOOR)


_XWS = re.compile(r"[ \t\r\n]+")


def normalize_space(s: str) -> str:
    return _XWS.sub(" ", s).strip(" ")


def _first(el: etree._Element, tag: str) -> etree._Element | None:
    for c in el.iterchildren(tag):
        return c
    return None


def _code(sub: etree._Element) -> str:
    """string(cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode) of a subtotal."""
    for cat in sub.iterchildren(CATEGORY):
        for sch in cat.iterchildren(SCHEME):
            for c in sch.iterchildren(CODE):
                return text(c)
    return ""


def _codes(sub: etree._Element) -> Iterator[str]:
    """Every cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode string of a subtotal."""
    for cat in sub.iterchildren(CATEGORY):
        for sch in cat.iterchildren(SCHEME):
            for c in sch.iterchildren(CODE):
                yield text(c)


# ----------------------------------------------------------------- the rules

def _indicator_is(ac: etree._Element, value: str) -> bool:
    for c in ac.iterchildren(INDICATOR):
        if text(c) == value:
            return True
    return False


def _rate_wrong(ac: etree._Element) -> bool:
    """Amount is a tolerance or more away from BaseAmount × MultiplierFactorNumeric
    (not judged without both: NaN compares false)."""
    product = _num(_first(ac, BASE)) * _num(_first(ac, FACTOR))
    amount = _num(_first(ac, AMOUNT))
    if product.is_nan() or amount.is_nan():
        return False
    return abs(product - amount) >= EPS


class _Lines:
    """The document-level sums over the lines, filled by :func:`_scan_lines` in the
    same pass that checks each line."""

    __slots__ = ("count", "lea", "wh", "any_tax", "any_wh", "amount_by_code", "wh_base_by_code", "allowances",
                 "charges")

    def __init__(self) -> None:
        self.count = 0
        self.lea = _ZERO  # Σ every line's cbc:LineExtensionAmount
        self.wh = _ZERO  # Σ every line's WithholdingTaxTotal/TaxAmount
        self.any_tax = False  # a line has a cac:TaxTotal
        self.any_wh = False  # a line has a cac:WithholdingTaxTotal
        self.amount_by_code: dict[str, Decimal] = {}  # Σ line TaxSubtotal/TaxAmount by string(code)
        self.wh_base_by_code: dict[str, Decimal] = {}  # Σ line withholding TaxableAmount by code
        self.allowances = _ZERO  # Σ line AllowanceCharge[ChargeIndicator = 'false']/Amount
        self.charges = _ZERO  # Σ line AllowanceCharge[ChargeIndicator = 'true']/Amount


def _subtotal(s: etree._Element) -> tuple[etree._Element | None, etree._Element | None, etree._Element | None,
                                          Decimal, list[str], bool]:
    """(first TaxableAmount, first TaxAmount, first Percent, Σ TaxAmount, codes,
    has a PerUnitAmount) of a cac:TaxSubtotal, its children read once."""
    taxable = amount = pct = None
    amounts = _ZERO
    codes: list[str] = []
    per_unit = False
    for x in s:
        tag = x.tag
        if tag == TAX_AMOUNT:
            if amount is None:
                amount = x
            amounts = amounts + _dec(x.text if not len(x) else text(x))
        elif tag == TAXABLE:
            if taxable is None:
                taxable = x
        elif tag == PERCENT:
            if pct is None:
                pct = x
        elif tag == CATEGORY:
            for y in x:
                ytag = y.tag
                if ytag == SCHEME:
                    for z in y.iterchildren(CODE):
                        codes.append(text(z))
                elif ytag == PER_UNIT:
                    per_unit = True
        elif tag == PER_UNIT:
            per_unit = True
    return taxable, amount, pct, amounts, codes, per_unit


def _scan_lines(lines: list[etree._Element], out: list[Raw]) -> _Lines:
    """Every per-line rule, one pass over each line's children, and the sums the
    document-level rules need."""
    acc = _Lines()
    acc.count = len(lines)
    lea_total = _ZERO
    by_code = acc.amount_by_code
    for el in lines:
        id_el = lea = qty = pa = None
        acs: list[etree._Element] = []
        taxes: list[etree._Element] = []
        whs: list[etree._Element] = []
        for c in el:
            tag = c.tag
            if tag == LEA:
                lea_total = lea_total + _dec(c.text if not len(c) else text(c))
                if lea is None:
                    lea = c
            elif tag == TAX_TOTAL:
                taxes.append(c)
            elif tag == QUANTITY:
                if qty is None:
                    qty = c
            elif tag == PRICE:
                if pa is None:
                    pa = _first(c, PRICE_AMOUNT)
            elif tag == ID:
                if id_el is None:
                    id_el = c
            elif tag == AC:
                acs.append(c)
            elif tag == WH_TOTAL:
                whs.append(c)
        for ac in acs:  # the lines' own allowances and charges (UBLTR-TOTAL-TAXEXCLUSIVE's second reading)
            if _indicator_is(ac, "false"):
                acc.allowances = acc.allowances + _sum(ac.iterchildren(AMOUNT))
            if _indicator_is(ac, "true"):
                acc.charges = acc.charges + _sum(ac.iterchildren(AMOUNT))
        # UBLTR-LINE-AMOUNT: quantity × price - allowances + charges, rounded or exact
        if pa is not None:
            net = _num(qty) * _num(pa)
            for ac in acs:
                if _indicator_is(ac, "false"):
                    for a in ac.iterchildren(AMOUNT):
                        net = net - _num(a)
                if _indicator_is(ac, "true"):
                    for a in ac.iterchildren(AMOUNT):
                        net = net + _num(a)
            lea_v = _num(lea)
            if not abs(net - lea_v) < EPS:
                rounded = xpath_round(net * _HUNDRED) / _HUNDRED
                if not abs(rounded - lea_v) < EPS:
                    out.append(("UBLTR-LINE-AMOUNT", el,
                                f"Line {text(id_el)}: LineExtensionAmount {text(lea)} is not quantity × price"
                                f" - allowances + charges ({fmt(rounded)})."))
        # UBLTR-LINE-ALLOWANCE-RATE
        if acs and any(_rate_wrong(ac) for ac in acs):
            out.append(("UBLTR-LINE-ALLOWANCE-RATE", el,
                        f"Line {text(id_el)}: an AllowanceCharge Amount is not BaseAmount × MultiplierFactorNumeric."))
        # UBLTR-LINE-TAXTOTAL, UBLTR-LINE-TAX-PERCENT; the line's KDV for its withholding base
        kdv = _ZERO
        has_kdv = False
        if taxes:
            acc.any_tax = True
            subs = tots = ded = otv_withheld = not_added = _ZERO
            first_total = None
            for t in taxes:
                for c in t:
                    tag = c.tag
                    if tag == SUBTOTAL:
                        taxable, amount, pct, amounts, codes, per_unit = _subtotal(c)
                        subs = subs + amounts
                        code = codes[0] if codes else ""
                        by_code[code] = by_code.get(code, _ZERO) + amounts
                        if _exemption(c) in NOT_ADDED:
                            not_added = not_added + amounts
                        if code in DEDUCTED:
                            ded = ded + amounts
                            if code == "4171":
                                otv_withheld = otv_withheld + amounts
                        if "0015" in codes:
                            has_kdv = True
                            kdv = kdv + amounts
                        if pct is not None and not per_unit:
                            p = _num(pct)
                            if not p.is_nan():
                                product = _num(taxable) * p / _HUNDRED
                                if not abs(product - _num(amount)) < EPS:
                                    out.append(("UBLTR-LINE-TAX-PERCENT", c,
                                                f"Line {text(id_el)}: tax {code} amount {text(amount)} is not"
                                                f" TaxableAmount × {text(pct)}% ({fmt(product)})."))
                    elif tag == TAX_AMOUNT:
                        tots = tots + _dec(c.text if not len(c) else text(c))
                        if first_total is None:
                            first_total = c
            if not abs(subs - tots) < EPS and not _without_deducted(subs, ded, otv_withheld, tots) \
                    and not _without_not_added(subs, not_added, tots):
                out.append(("UBLTR-LINE-TAXTOTAL", el,
                            f"Line {text(id_el)}: TaxTotal/TaxAmount {text(first_total)} is not the sum of its"
                            " TaxSubtotal amounts."))
        if whs:
            acc.any_wh = True
            _line_withholding(el, id_el, whs, kdv, has_kdv, acc, out)
    acc.lea = lea_total
    return acc


def _line_withholding(el: etree._Element, id_el: etree._Element | None, whs: list[etree._Element],
                      kdv: Decimal, has_kdv: bool, acc: _Lines, out: list[Raw]) -> None:
    """UBLTR-LINE-WITHHOLDING and UBLTR-LINE-WITHHOLDING-BASE for each withholding
    subtotal of a line."""
    for t in whs:
        for c in t:
            tag = c.tag
            if tag == TAX_AMOUNT:
                acc.wh = acc.wh + _num(c)
            elif tag == SUBTOTAL:
                taxable, amount, pct, _amounts, codes, _per_unit = _subtotal(c)
                code = codes[0] if codes else ""
                acc.wh_base_by_code[code] = acc.wh_base_by_code.get(code, _ZERO) + _sum(c.iterchildren(TAXABLE))
                if pct is not None:
                    p = _num(pct)
                    if not p.is_nan():
                        product = _num(taxable) * p / _HUNDRED
                        if not abs(product - _num(amount)) < EPS:
                            out.append(("UBLTR-LINE-WITHHOLDING", c,
                                        f"Line {text(id_el)}: withholding {code} amount {text(amount)} is not the"
                                        f" withheld KDV × {text(pct)}% ({fmt(product)})."))
                if has_kdv and not abs(kdv - _num(taxable)) < EPS:
                    out.append(("UBLTR-LINE-WITHHOLDING-BASE", c,
                                f"Line {text(id_el)}: the withholding base {text(taxable)} is not the line's KDV"
                                " (0015) amount."))


def _by_code(subtotals: Iterable[etree._Element], child: str) -> dict[str, Decimal]:
    """Σ ``child`` of the subtotals, by string(TaxTypeCode)."""
    out: dict[str, Decimal] = {}
    for s in subtotals:
        c = _code(s)
        out[c] = out.get(c, _ZERO) + _sum(s.iterchildren(child))
    return out


def _first_of_each_code(total: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    """Each subtotal of ``total`` whose code no earlier sibling subtotal has."""
    seen: set[str] = set()
    for s in total.iterchildren(SUBTOTAL):
        code = _code(s)
        if code not in seen:
            yield s, code
        seen.update(_codes(s))


def _invoice_rules(inv: etree._Element, provider: str, out: list[Raw]) -> None:
    lines: list[etree._Element] = []
    lmts: list[etree._Element] = []
    tax_totals: list[etree._Element] = []
    wh_totals: list[etree._Element] = []
    acs: list[etree._Element] = []
    notes: list[etree._Element] = []
    pers: list[etree._Element] = []
    first: dict[str, etree._Element] = {}
    for c in inv:
        tag = c.tag
        if tag == LINE:
            lines.append(c)
        elif tag == TAX_TOTAL:
            tax_totals.append(c)
        elif tag == WH_TOTAL:
            wh_totals.append(c)
        elif tag == AC:
            acs.append(c)
        elif tag == LMT:
            lmts.append(c)
        elif tag == _CBC + "Note":
            notes.append(c)
        elif tag == PER:
            pers.append(c)
        elif isinstance(tag, str) and tag not in first:
            first[tag] = c

    with localcontext(_CONTEXT):
        acc = _scan_lines(lines, out)

        # ---- totals (per cac:LegalMonetaryTotal)
        doc_wh = _sum(a for t in wh_totals for a in t.iterchildren(TAX_AMOUNT))
        for lmt in lmts:
            _totals(lmt, acc, tax_totals, wh_totals, acs, doc_wh, out)

        # ---- tax totals
        if tax_totals:
            doc_subs = [s for t in tax_totals for s in t.iterchildren(SUBTOTAL)]
            doc_by_code = None
            for t in tax_totals:
                total_el = _first(t, TAX_AMOUNT)
                subsum = _sum(a for s in t.iterchildren(SUBTOTAL) for a in s.iterchildren(TAX_AMOUNT))
                ded = _sum(a for s in t.iterchildren(SUBTOTAL) if _code(s) in DEDUCTED for a in s.iterchildren(TAX_AMOUNT))
                otv_withheld = _sum(a for s in t.iterchildren(SUBTOTAL) if _code(s) == "4171"
                                    for a in s.iterchildren(TAX_AMOUNT))
                not_added = _sum(a for s in t.iterchildren(SUBTOTAL) if _exemption(s) in NOT_ADDED
                                 for a in s.iterchildren(TAX_AMOUNT))
                if not within(subsum, _num(total_el)) and not _without_deducted(subsum, ded, otv_withheld,
                                                                                _num(total_el)) \
                        and not _without_not_added(subsum, not_added, _num(total_el)):
                    out.append(("UBLTR-TAXTOTAL-SUBTOTALS", t,
                                f"TaxTotal/TaxAmount {text(total_el)} is not the sum of its TaxSubtotal amounts"
                                f" ({fmt(subsum)})."))
                for s, code in _first_of_each_code(t):
                    if doc_by_code is None:
                        doc_by_code = _by_code(doc_subs, TAX_AMOUNT)
                    doc, ls = doc_by_code[code], acc.amount_by_code.get(code, _ZERO)
                    if acc.any_tax and not within(doc, ls):
                        out.append(("UBLTR-TAXTOTAL-LINES", s,
                                    f"Tax {code}: the document total {fmt(doc)} is not the sum of the lines' {code}"
                                    f" amounts ({fmt(ls)})."))
                    if code == "0015":
                        _kdv_base(s, doc_subs, doc_by_code, lmts, out)

        # ---- withholding totals
        for t in wh_totals:
            total_el = _first(t, TAX_AMOUNT)
            subsum = _sum(a for s in t.iterchildren(SUBTOTAL) for a in s.iterchildren(TAX_AMOUNT))
            if not within(subsum, _num(total_el)):
                out.append(("UBLTR-WITHHOLDING-SUBTOTALS", t,
                            f"WithholdingTaxTotal/TaxAmount {text(total_el)} is not the sum of its TaxSubtotal"
                            f" amounts ({fmt(subsum)})."))
            if acc.any_wh and not within(acc.wh, doc_wh):
                out.append(("UBLTR-WITHHOLDING-LINES", t,
                            f"The document's withholding ({fmt(doc_wh)}) is not the sum of the lines' withholding"
                            f" ({fmt(acc.wh)})."))
        if wh_totals and acc.any_wh:
            doc_base = _by_code((s for t in wh_totals for s in t.iterchildren(SUBTOTAL)), TAXABLE)
            for t in wh_totals:
                for s, code in _first_of_each_code(t):
                    line_base = acc.wh_base_by_code.get(code, _ZERO)
                    if not within(doc_base[code], line_base):
                        out.append(("UBLTR-WITHHOLDING-BASE", s,
                                    f"Withholding {code}: the document's TaxableAmount {fmt(doc_base[code])} is not"
                                    f" the sum of the lines' {code} withholding bases ({fmt(line_base)})."))

        # ---- document allowances and charges by rate
        for ac in acs:
            if _rate_wrong(ac):
                out.append(("UBLTR-ALLOWANCE-RATE", ac,
                            f"Document AllowanceCharge: Amount {text(_first(ac, AMOUNT))} is not BaseAmount"
                            f" {text(_first(ac, BASE))} × MultiplierFactorNumeric"
                            f" {text(_first(ac, FACTOR))}."))

        # ---- currency, exchange rate, notes, id, line count
        _document_rules(inv, first, pers, notes, acc.count, provider, out)


def _totals(lmt: etree._Element, acc: _Lines, tax_totals: list[etree._Element],
            wh_totals: list[etree._Element], acs: list[etree._Element], doc_wh: Decimal,
            out: list[Raw]) -> None:
    kids: dict[str, list[etree._Element]] = {}
    for c in lmt:
        if isinstance(c.tag, str):
            kids.setdefault(c.tag, []).append(c)

    def one(name: str) -> etree._Element | None:
        got = kids.get(_CBC + name)
        return got[0] if got else None

    def total(name: str) -> Decimal:
        return _sum(kids.get(_CBC + name, ()))

    lines_sum = acc.lea
    lea_el = one("LineExtensionAmount")
    lea = _num(lea_el)
    excl = lea - total("AllowanceTotalAmount") + total("ChargeTotalAmount")
    taxes = _sum(a for t in tax_totals for a in t.iterchildren(TAX_AMOUNT))
    excl_el = one("TaxExclusiveAmount")
    incl = _num(excl_el) + taxes
    # XPath: sum(document) + not(document) * sum(lines): 0 × NaN is NaN
    wht = doc_wh + (_ZERO if wh_totals else _ONE) * acc.wh
    incl_el = one("TaxInclusiveAmount")
    payable = _num(incl_el) - wht + total("PayableRoundingAmount") - total("PrepaidAmount")
    payable_el = one("PayableAmount")
    ded = _sum(a for t in tax_totals for s in t.iterchildren(SUBTOTAL) if _code(s) in DEDUCTED
               for a in s.iterchildren(TAX_AMOUNT))
    if not within(lines_sum, lea):
        out.append(("UBLTR-TOTAL-LINES", lmt,
                    f"LineExtensionAmount {text(lea_el)} is not the sum of the lines' LineExtensionAmount"
                    f" ({fmt(lines_sum)})."))
    # AllowanceTotalAmount / ChargeTotalAmount that also count the lines' own (shown, already
    # in the line amounts): the document-level part is what TaxExclusiveAmount takes off
    excl_lines = lea - (total("AllowanceTotalAmount") - acc.allowances) + (total("ChargeTotalAmount") - acc.charges)
    line_acs = acc.allowances + acc.charges
    if not within(excl, _num(excl_el)) and not (
            not line_acs.is_nan() and line_acs > 0 and within(excl_lines, _num(excl_el))):
        out.append(("UBLTR-TOTAL-TAXEXCLUSIVE", lmt,
                    f"TaxExclusiveAmount {text(excl_el)} is not LineExtensionAmount - AllowanceTotalAmount"
                    f" + ChargeTotalAmount ({fmt(excl)})."))
    if not within(incl, _num(incl_el)) and not (not ded.is_nan() and ded > 0 and within(incl - 2 * ded, _num(incl_el))):
        out.append(("UBLTR-TOTAL-TAXINCLUSIVE", lmt,
                    f"TaxInclusiveAmount {text(incl_el)} is not TaxExclusiveAmount + the document's"
                    f" TaxTotal/TaxAmount ({fmt(incl)})."))
    if not within(payable, _num(payable_el)) and not (not ded.is_nan() and ded > 0 and within(payable - ded, _num(payable_el))):
        out.append(("UBLTR-TOTAL-PAYABLE", lmt,
                    f"PayableAmount {text(payable_el)} is not TaxInclusiveAmount - withholding (document level,"
                    f" else the lines') + PayableRoundingAmount - PrepaidAmount ({fmt(payable)})."))
    for indicator, rule, name, what in (("false", "UBLTR-TOTAL-ALLOWANCES", "AllowanceTotalAmount", "allowances"),
                                        ("true", "UBLTR-TOTAL-CHARGES", "ChargeTotalAmount", "charges")):
        mine = [ac for ac in acs if _indicator_is(ac, indicator)]
        if not mine:
            continue
        s = _sum(a for ac in mine for a in ac.iterchildren(AMOUNT))
        if not within(s, total(name)):
            out.append((rule, lmt, f"{name} {text(one(name))} is not the sum of the document-level {what}"
                                   f" ({fmt(s)})."))


_ONE = Decimal(1)


def _kdv_base(sub: etree._Element, doc_subs: list[etree._Element], amounts: dict[str, Decimal],
              lmts: list[etree._Element], out: list[Raw]) -> None:
    """UBLTR-KDV-BASE (on the first KDV subtotal of a TaxTotal): the document's KDV
    (0015) TaxableAmounts add up to TaxExclusiveAmount plus the taxes that are part of
    the KDV base (KDV Kanunu md. 24: ÖTV and the like), so that an allowance or charge
    left out of the KDV base shows."""
    excl_el = next((c for lmt in lmts for c in lmt.iterchildren(_CBC + "TaxExclusiveAmount")), None)
    if excl_el is None:
        return
    base = _sum(a for s in doc_subs if _code(s) == "0015" for a in s.iterchildren(TAXABLE))
    in_base = _ZERO
    for code, amount in amounts.items():
        if calc.in_kdv_base(code):
            in_base = in_base + amount
    if not any(_code(s) in OTV for s in doc_subs):  # ÖTV tevkifatı 4171 standing for the ÖTV
        in_base = in_base + amounts.get("4171", _ZERO)
    expected = _num(excl_el) + in_base
    if not within(base, expected):
        out.append(("UBLTR-KDV-BASE", sub,
                    f"The KDV (0015) TaxableAmounts add up to {fmt(base)}, not TaxExclusiveAmount"
                    f" {text(excl_el)} + the taxes inside the KDV base ({fmt(expected)})."))


_DIGITS = frozenset("0123456789")


def _document_rules(inv: etree._Element, first: dict[str, etree._Element], pers: list[etree._Element],
                    notes: list[etree._Element], n_lines: int, provider: str, out: list[Raw]) -> None:
    cur = text(first.get(_CBC + "DocumentCurrencyCode"))
    # UBLTR-CURRENCY-AMOUNTS: .//@currencyID != $cur
    other = _other_currency(inv, cur)
    if other is not None:
        out.append(("UBLTR-CURRENCY-AMOUNTS", inv,
                    f"An amount is in currency {other} but DocumentCurrencyCode is {cur}; every amount of a"
                    " UBL-TR invoice is in the document currency."))
    rate = _NAN
    src: list[str] = []
    tgt: list[str] = []
    if pers:
        rate_el = next((c for p in pers for c in p.iterchildren(_CBC + "CalculationRate")), None)
        rate = _num(rate_el)
        src = [text(c) for p in pers for c in p.iterchildren(_CBC + "SourceCurrencyCode")]
        tgt = [text(c) for p in pers for c in p.iterchildren(_CBC + "TargetCurrencyCode")]
    if not (cur == "TRY" or (not rate.is_nan() and rate > 0 and cur in src and "TRY" in tgt)):
        out.append(("UBLTR-EXCHANGE-RATE", inv,
                    f"Currency {cur} needs cac:PricingExchangeRate with SourceCurrencyCode {cur}, TargetCurrencyCode"
                    " TRY and a positive CalculationRate."))
    if not (cur != "TRY" or not pers or (not rate.is_nan() and rate == 1)):
        out.append(("UBLTR-EXCHANGE-RATE-TRY", inv, "A TRY invoice carries an exchange rate other than 1."))
    if not any(normalize_space(text(n)).startswith(("Yalnız ", "YALNIZ ")) for n in notes):
        out.append(("UBLTR-AMOUNT-IN-WORDS", inv,
                    "No amount-in-words note (a cbc:Note starting with \"Yalnız \"); most receivers and printed"
                    " copies expect it."))
    id_el = first.get(ID)
    inv_id = text(id_el)
    date_el = first.get(_CBC + "IssueDate")
    year_ok = len(inv_id) != 16 or inv_id[3:7] == normalize_space(text(date_el))[0:4]
    if not year_ok:
        out.append(("UBLTR-ID-YEAR", inv,
                    f"The year in invoice number {inv_id} is not the year of IssueDate {text(date_el)}."))
    count_el = first.get(_CBC + "LineCountNumeric")
    if count_el is not None:
        n = _num(count_el)
        if n.is_nan() or n != n_lines:
            out.append(("UBLTR-LINE-COUNT", inv,
                        f"LineCountNumeric {text(count_el)} is not the number of InvoiceLine elements"
                        f" ({n_lines})."))
    if provider == "nilvera" and not year_ok:
        out.append(("UBLTR-NILVERA-SERIES-YEAR", inv,
                    f"Nilvera rejects an invoice whose number's year ({inv_id[3:7]}) differs from the IssueDate"
                    " year (SerieAndDocumentYearMismatch)."))


_CURRENCY_PATH = etree.XPath("(.//@currencyID[. != $cur])[1]")


def _other_currency(inv: etree._Element, cur: str) -> str | None:
    got = _CURRENCY_PATH(inv, cur=cur)
    return str(got[0]) if got else None  # type: ignore[index]


# VKN: the contribution of digit d at position k (1..9), GİB's checksum (ubltr.sch)
_VKN_TABLE = ("9087654321", "5904837261", "5790246813", "6789012345", "7384905162", "1864290753",
              "6543219087", "8372615904", "2468135790")


def vkn_rule(v: str) -> bool:
    """True when UBLTR-VKN-CHECKSUM accepts ``v`` (already normalize-space'd)."""
    if len(v) != 10 or not _DIGITS.issuperset(v):
        return True
    total = sum(int(_VKN_TABLE[k][int(v[k])]) for k in range(9))
    return (10 - total % 10) % 10 == int(v[9])


def tckn_rule(v: str) -> bool:
    if len(v) != 11 or not _DIGITS.issuperset(v):
        return True
    d = [int(c) for c in v]
    odd = d[0] + d[2] + d[4] + d[6] + d[8]
    even = d[1] + d[3] + d[5] + d[7]
    return v[0] != "0" and (odd * 7 - even) % 10 == d[9] and (odd + even + d[9]) % 10 == d[10]


_PARTY_IDS = etree.XPath(
    "//cac:PartyIdentification/cbc:ID[@schemeID = 'VKN' or @schemeID = 'TCKN']",
    namespaces={"cac": _CAC[1:-1], "cbc": _CBC[1:-1]})


def _party_rules(root: etree._Element, out: list[Raw]) -> None:
    for el in _PARTY_IDS(root):  # type: ignore[union-attr]
        scheme = el.get("schemeID")
        v = normalize_space(text(el))
        if scheme == "VKN":
            if not vkn_rule(v):
                out.append(("UBLTR-VKN-CHECKSUM", el, f"VKN {v} fails the tax-number checksum (mistyped digit?)."))
        elif not tckn_rule(v):
            out.append(("UBLTR-TCKN-CHECKSUM", el, f"TCKN {v} fails the national-id checksum (mistyped digit?)."))


def _invoices(root: etree._Element) -> Iterator[etree._Element]:
    """Every inv:Invoice element (the root, or those nested in an envelope)."""
    if root.tag == INVOICE:
        yield root
        for ext in root.iterchildren(UBL_EXTENSIONS):  # the only place XSD lets another element in
            yield from ext.iter(INVOICE)
    else:
        yield from root.iter(INVOICE)


def evaluate(tree: etree._ElementTree | etree._Element, provider: str = "") -> list[Raw]:
    """Every failed rule of ``tree``: (rule id, element, raw message), per rule in
    document order."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    out: list[Raw] = []
    for inv in _invoices(root):
        _invoice_rules(inv, provider, out)
    _party_rules(root, out)
    return out


