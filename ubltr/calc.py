"""The tax engine: one function, :func:`compute`, from an :class:`~ubltr.model.Invoice`
to its :class:`Totals`.

Every rounding point has a name and lives in :data:`ROUNDING`; nothing in this
module rounds except through :func:`_round`.  The policy, in order of computation:

=====================  =======================================================
``line_base``          the base of a line allowance/charge by rate (its BaseAmount):
                       quantity × price to the kuruş
``line_allowance``     each line allowance/charge by rate: line base × rate / 100
``line_net``           LineExtensionAmount = gross − allowances + charges
``doc_allowance``      each document allowance/charge by rate: Σ nets × rate / 100
``doc_share``          document allowances/charges are *distributed over the lines*
                       in proportion to their nets (largest-remainder, so the shares
                       add up to the kuruş); they lower / raise each line's tax base
``line_tax``           each non-KDV tax of a line: base × percent / 100, or
                       quantity × per-unit amount
``line_kdv``           KDV: (taxable net + taxes inside the KDV base) × percent / 100
``line_withholding``   tevkifat: line KDV × withholding percent / 100
``try_equivalent``     TRY amounts of a foreign-currency invoice: amount × exchange rate
=====================  =======================================================

All quanta are 0.01 (kuruş), ROUND_HALF_UP.  Document totals are *sums* of the
rounded line values, never recomputed from grouped bases: ``TaxSubtotal`` amounts
are Σ of the lines' amounts, so lines and totals always agree to the kuruş.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Iterable

from . import codes
from .model import AllowanceCharge, Invoice

__all__ = [
    "ROUNDING", "RoundingPoint", "TaxLine", "WithholdingLine", "LineTotals",
    "TaxSubtotal", "WithholdingSubtotal", "Totals", "CalcError", "compute",
    "amount_in_words", "try_equivalent", "in_kdv_base",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")


@dataclass(frozen=True, slots=True)
class RoundingPoint:
    name: str
    quantum: Decimal
    mode: str
    what: str


#: The rounding policy as a table: every rounding the engine performs, by name.
ROUNDING: dict[str, RoundingPoint] = {
    p.name: p
    for p in (
        RoundingPoint("line_base", CENT, ROUND_HALF_UP, "the BaseAmount a line allowance/charge rate applies to: quantity × price"),
        RoundingPoint("line_allowance", CENT, ROUND_HALF_UP, "a line allowance/charge given by rate"),
        RoundingPoint("line_net", CENT, ROUND_HALF_UP, "line LineExtensionAmount"),
        RoundingPoint("doc_allowance", CENT, ROUND_HALF_UP, "a document allowance/charge given by rate"),
        RoundingPoint("doc_share", CENT, ROUND_DOWN, "a line's share of a document allowance/charge before the largest-remainder top-up"),
        RoundingPoint("line_tax", CENT, ROUND_HALF_UP, "a non-KDV tax of a line"),
        RoundingPoint("line_kdv", CENT, ROUND_HALF_UP, "a line's KDV"),
        RoundingPoint("line_withholding", CENT, ROUND_HALF_UP, "a line's withheld KDV (tevkifat)"),
        RoundingPoint("try_equivalent", CENT, ROUND_HALF_UP, "the TRY equivalent of a document-currency amount"),
    )
}


def _round(point: str, value: Decimal) -> Decimal:
    p = ROUNDING[point]
    return value.quantize(p.quantum, rounding=p.mode)


class CalcError(ValueError):
    """The invoice is well-formed but its amounts cannot make an invoice
    (e.g. an allowance larger than what it reduces).  Carries paths like the loader."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("\n".join(f"{p}: {m}" for p, m in problems))


# ---------------------------------------------------------------- policy data


@cache
def _policy() -> dict:
    return json.loads(resources.files("ubltr.data").joinpath("tax_policy.json").read_text(encoding="utf-8"))


def in_kdv_base(code: str) -> bool:
    """Whether tax ``code`` is part of the KDV base (KDV Kanunu md. 24)."""
    return code in _policy()["in_kdv_base"]


def unsupported_line_tax(code: str) -> str | None:
    """Why ``code`` cannot be given as a line tax, or ``None``."""
    return _policy()["not_line_taxes"].get(code)


# ---------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class TaxLine:
    code: str
    percent: Decimal | None       # None for a per-unit tax
    per_unit: Decimal | None      # the per-unit amount, for per-unit taxes
    base: Decimal                 # TaxableAmount
    amount: Decimal               # TaxAmount
    exemption_code: str | None = None
    exemption_reason: str | None = None

    @property
    def name(self) -> str:
        return codes.tax_short_name(self.code)


@dataclass(frozen=True, slots=True)
class WithholdingLine:
    code: str
    percent: Decimal
    base: Decimal                 # the KDV being withheld from
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LineTotals:
    index: int
    gross: Decimal                # quantity × unit price, exact
    allowances: tuple[Decimal, ...]
    charges: tuple[Decimal, ...]
    net: Decimal                  # LineExtensionAmount
    doc_allowance_share: Decimal
    doc_charge_share: Decimal
    taxable: Decimal              # net − doc allowance share + doc charge share
    taxes: tuple[TaxLine, ...]    # KDV last
    withholding: WithholdingLine | None

    @property
    def tax_amount(self) -> Decimal:
        return sum((t.amount for t in self.taxes), ZERO)

    @property
    def kdv(self) -> TaxLine:
        return next(t for t in self.taxes if t.code == "0015")


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    code: str
    percent: Decimal | None
    per_unit: Decimal | None
    exemption_code: str | None
    exemption_reason: str | None
    base: Decimal
    amount: Decimal

    @property
    def name(self) -> str:
        return codes.tax_short_name(self.code)


@dataclass(frozen=True, slots=True)
class WithholdingSubtotal:
    code: str
    percent: Decimal
    base: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Totals:
    currency: str
    lines: tuple[LineTotals, ...]
    doc_allowances: tuple[Decimal, ...]
    doc_charges: tuple[Decimal, ...]
    subtotals: tuple[TaxSubtotal, ...]
    withholding_subtotals: tuple[WithholdingSubtotal, ...]
    line_extension: Decimal
    allowance_total: Decimal
    charge_total: Decimal
    tax_exclusive: Decimal
    tax_total: Decimal
    withholding_total: Decimal
    tax_inclusive: Decimal
    rounding: Decimal
    payable: Decimal
    exchange_rate: Decimal | None
    payable_try: Decimal | None   # only for a foreign-currency invoice
    words: str                    # amount in words, document currency
    words_try: str | None         # amount in words in TRY, when the currency is not TRY

    def as_dict(self) -> dict:
        """JSON-ready (decimals as strings), as ``ubltr totals`` prints it."""
        def s(x: Decimal | None) -> str | None:
            return None if x is None else str(x)

        return {
            "currency": self.currency,
            "line_extension": s(self.line_extension),
            "allowance_total": s(self.allowance_total),
            "charge_total": s(self.charge_total),
            "tax_exclusive": s(self.tax_exclusive),
            "tax_total": s(self.tax_total),
            "tax_inclusive": s(self.tax_inclusive),
            "withholding_total": s(self.withholding_total),
            "rounding": s(self.rounding),
            "payable": s(self.payable),
            "exchange_rate": s(self.exchange_rate),
            "payable_try": s(self.payable_try),
            "amount_in_words": self.words,
            "amount_in_words_try": self.words_try,
            "tax_subtotals": [
                {"code": t.code, "name": t.name, "percent": s(t.percent), "per_unit": s(t.per_unit),
                 "exemption_code": t.exemption_code, "taxable": s(t.base), "amount": s(t.amount)}
                for t in self.subtotals
            ],
            "withholding_subtotals": [
                {"code": w.code, "percent": s(w.percent), "taxable": s(w.base), "amount": s(w.amount)}
                for w in self.withholding_subtotals
            ],
            "lines": [
                {"index": ln.index + 1, "gross": s(ln.gross), "net": s(ln.net),
                 "taxable": s(ln.taxable), "tax_amount": s(ln.tax_amount),
                 "taxes": [{"code": t.code, "percent": s(t.percent), "per_unit": s(t.per_unit),
                            "taxable": s(t.base), "amount": s(t.amount)} for t in ln.taxes],
                 "withholding": None if ln.withholding is None else {
                     "code": ln.withholding.code, "percent": s(ln.withholding.percent),
                     "taxable": s(ln.withholding.base), "amount": s(ln.withholding.amount)}}
                for ln in self.lines
            ],
        }


# ---------------------------------------------------------------- the engine


def _by_rate(base: Decimal, ac: AllowanceCharge, point: str) -> Decimal:
    if ac.amount is not None:
        return ac.amount
    assert ac.rate is not None
    return _round(point, base * ac.rate / HUNDRED)


def _distribute(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Split ``total`` (a kuruş amount) over ``weights`` so that the parts add up
    exactly: each part rounded down (``doc_share``), the leftover kuruş to the
    largest remainders (ties: the earlier line)."""
    if total == 0:
        return [ZERO] * len(weights)
    wsum = sum(weights, ZERO)
    if wsum == 0:
        weights = [Decimal(1)] * len(weights)
        wsum = Decimal(len(weights))
    exact = [total * w / wsum for w in weights]
    parts = [_round("doc_share", e) for e in exact]
    left = int(((total - sum(parts, ZERO)) / CENT).to_integral_value())
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for i in order[:left]:
        parts[i] += CENT
    return parts


def compute(inv: Invoice) -> Totals:
    """All totals of ``inv``; raises :class:`CalcError` for impossible amounts."""
    problems: list[tuple[str, str]] = []

    # 1. line nets
    nets: list[Decimal] = []
    line_acs: list[tuple[tuple[Decimal, ...], tuple[Decimal, ...]]] = []
    for i, ln in enumerate(inv.lines):
        gross = ln.quantity * ln.unit_price
        base = _round("line_base", gross) if (ln.allowances or ln.charges) else gross
        allow = tuple(_by_rate(base, a, "line_allowance") for a in ln.allowances)
        charge = tuple(_by_rate(base, c, "line_allowance") for c in ln.charges)
        net = _round("line_net", gross - sum(allow, ZERO) + sum(charge, ZERO))
        if net <= 0 and base - sum(allow, ZERO) + sum(charge, ZERO) >= 0:
            # the whole line given away: a rate applied to the BaseAmount (quantity × price in
            # kuruş) can exceed quantity × price by half a kuruş, which rounds to -0.00 or -0.01
            net = ZERO
        if net < 0:
            problems.append((f"lines[{i}].allowances", f"allowances ({sum(allow, ZERO)}) exceed the line's amount ({gross})"))
        for k, t in enumerate(ln.taxes):
            why = unsupported_line_tax(t.code)
            if why:
                problems.append((f"lines[{i}].taxes[{k}].code", why))
        nets.append(net)
        line_acs.append((allow, charge))

    # 2. document allowances / charges, distributed over the lines
    line_extension = sum(nets, ZERO)
    doc_allow = tuple(_by_rate(line_extension, a, "doc_allowance") for a in inv.allowances)
    doc_charge = tuple(_by_rate(line_extension, c, "doc_allowance") for c in inv.charges)
    allowance_total = sum(doc_allow, ZERO)
    charge_total = sum(doc_charge, ZERO)
    if allowance_total > line_extension + charge_total:
        problems.append(("allowances", f"document allowances ({allowance_total}) exceed the lines' total ({line_extension})"))
    for k, amt in enumerate(doc_allow + doc_charge):
        if amt != amt.quantize(CENT):
            key = "allowances" if k < len(doc_allow) else "charges"
            idx = k if k < len(doc_allow) else k - len(doc_allow)
            problems.append((f"{key}[{idx}].amount", f"{amt} has more than 2 decimals"))
    if problems:
        raise CalcError(problems)
    allow_shares = _distribute(allowance_total, nets)
    charge_shares = _distribute(charge_total, nets)

    # 3. line taxes
    lines: list[LineTotals] = []
    for i, ln in enumerate(inv.lines):
        taxable = nets[i] - allow_shares[i] + charge_shares[i]
        taxes: list[TaxLine] = []
        kdv_base = taxable
        for t in ln.taxes:
            if t.code == "0015":
                continue
            if t.percent is not None:
                amount = _round("line_tax", taxable * t.percent / HUNDRED)
            else:
                assert t.amount is not None
                amount = _round("line_tax", ln.quantity * t.amount)
            taxes.append(TaxLine(code=t.code, percent=t.percent, per_unit=t.amount, base=taxable, amount=amount))
            if in_kdv_base(t.code):
                kdv_base += amount
        kdv_spec = next(t for t in ln.taxes if t.code == "0015")
        kdv_pct = kdv_spec.percent if kdv_spec.percent is not None else Decimal(0)
        kdv = _round("line_kdv", kdv_base * kdv_pct / HUNDRED)
        ex = ln.exemption
        if kdv == 0 and ex is None and kdv_pct > 0:
            problems.append((f"lines[{i}].exemption", f"KDV at {kdv_pct} % of {kdv_base} rounds to 0.00; GİB then requires an exemption code and reason (TaxExemptionReasonCheck-1)"))
        taxes.append(TaxLine(code="0015", percent=kdv_pct, per_unit=None, base=kdv_base, amount=kdv,
                             exemption_code=ex.code if ex else None,
                             exemption_reason=ex.reason if ex else None))
        wh = None
        if ln.withholding is not None:
            wh = WithholdingLine(code=ln.withholding.code, percent=ln.withholding.percent, base=kdv,
                                 amount=_round("line_withholding", kdv * ln.withholding.percent / HUNDRED))
        lines.append(LineTotals(
            index=i, gross=ln.quantity * ln.unit_price, allowances=line_acs[i][0],
            charges=line_acs[i][1], net=nets[i], doc_allowance_share=allow_shares[i],
            doc_charge_share=charge_shares[i], taxable=taxable, taxes=tuple(taxes), withholding=wh,
        ))

    if problems:
        raise CalcError(problems)

    # 4. grouping: sums of rounded line values
    subtotals = _group_taxes(lines)
    wsubs = _group_withholding(lines)
    tax_total = sum((s.amount for s in subtotals), ZERO)
    withholding_total = sum((w.amount for w in wsubs), ZERO)
    tax_exclusive = line_extension - allowance_total + charge_total
    tax_inclusive = tax_exclusive + tax_total
    payable = tax_inclusive - withholding_total + inv.rounding
    if payable < 0:
        raise CalcError([("rounding", f"the payable amount would be negative ({payable})")])

    payable_try = None
    words_try = None
    if inv.currency != "TRY":
        assert inv.exchange_rate is not None
        payable_try = try_equivalent(payable, inv.exchange_rate)
        words_try = amount_in_words(payable_try, "TRY")
    return Totals(
        currency=inv.currency, lines=tuple(lines), doc_allowances=doc_allow, doc_charges=doc_charge,
        subtotals=subtotals, withholding_subtotals=wsubs, line_extension=line_extension,
        allowance_total=allowance_total, charge_total=charge_total, tax_exclusive=tax_exclusive,
        tax_total=tax_total, withholding_total=withholding_total, tax_inclusive=tax_inclusive,
        rounding=inv.rounding, payable=payable, exchange_rate=inv.exchange_rate,
        payable_try=payable_try, words=amount_in_words(payable, inv.currency), words_try=words_try,
    )


def _group_taxes(lines: Iterable[LineTotals]) -> tuple[TaxSubtotal, ...]:
    groups: dict[tuple, list[TaxLine]] = {}
    for ln in lines:
        for t in ln.taxes:
            key = (t.code, t.percent.normalize() if t.percent is not None else None,
                   t.per_unit.normalize() if t.per_unit is not None else None, t.exemption_code)
            groups.setdefault(key, []).append(t)
    out = []
    # KDV subtotals last within the document, like GİB's samples; otherwise first-seen order
    for key, items in sorted(groups.items(), key=lambda kv: kv[0][0] == "0015"):
        first = items[0]
        out.append(TaxSubtotal(
            code=first.code, percent=first.percent, per_unit=first.per_unit,
            exemption_code=first.exemption_code,
            exemption_reason=next((t.exemption_reason for t in items if t.exemption_reason), None),
            base=sum((t.base for t in items), ZERO), amount=sum((t.amount for t in items), ZERO),
        ))
    return tuple(out)


def _group_withholding(lines: Iterable[LineTotals]) -> tuple[WithholdingSubtotal, ...]:
    groups: dict[tuple, list[WithholdingLine]] = {}
    for ln in lines:
        if ln.withholding is not None:
            w = ln.withholding
            groups.setdefault((w.code, w.percent.normalize()), []).append(w)
    return tuple(
        WithholdingSubtotal(code=items[0].code, percent=items[0].percent,
                            base=sum((w.base for w in items), ZERO),
                            amount=sum((w.amount for w in items), ZERO))
        for items in groups.values()
    )


# ---------------------------------------------------------------- amount in words

_ONES = ["", "bir", "iki", "üç", "dört", "beş", "altı", "yedi", "sekiz", "dokuz"]
_TENS = ["", "on", "yirmi", "otuz", "kırk", "elli", "altmış", "yetmiş", "seksen", "doksan"]
_SCALES = ["", "bin", "milyon", "milyar", "trilyon", "katrilyon"]

#: currency → (unit name, sub-unit name); others print their ISO code and "/100"
_CURRENCY_WORDS = {
    "TRY": ("Türk Lirası", "Kuruş"),
    "USD": ("ABD Doları", "Sent"),
    "EUR": ("Avro", "Sent"),
    "GBP": ("İngiliz Sterlini", "Peni"),
    "CHF": ("İsviçre Frangı", "Santim"),
    "JPY": ("Japon Yeni", "Sen"),
    "RUB": ("Rus Rublesi", "Kopek"),
    "SAR": ("Suudi Arabistan Riyali", "Halala"),
    "AZN": ("Azerbaycan Manatı", "Kepik"),
    "CNY": ("Çin Yuanı", "Fen"),
}


def _three(n: int) -> list[str]:
    h, rest = divmod(n, 100)
    t, o = divmod(rest, 10)
    words = []
    if h:
        if h > 1:
            words.append(_ONES[h])
        words.append("yüz")
    if t:
        words.append(_TENS[t])
    if o:
        words.append(_ONES[o])
    return words


def number_in_words(n: int) -> str:
    """Turkish words for a whole number 0 ≤ n < 10^18 (``1250`` → ``bin iki yüz elli``)."""
    if n < 0 or n >= 10 ** 18:
        raise ValueError(f"{n} is out of range for amount in words")
    if n == 0:
        return "sıfır"
    groups = []
    k = 0
    while n:
        n, g = divmod(n, 1000)
        if g:
            if k == 1 and g == 1:
                groups.append(["bin"])  # "bin", never "bir bin"
            else:
                groups.append(_three(g) + ([_SCALES[k]] if k else []))
        k += 1
    return " ".join(w for grp in reversed(groups) for w in grp)


def try_equivalent(amount: Decimal, rate: Decimal) -> Decimal:
    """The TRY equivalent of a document-currency amount (rounding point ``try_equivalent``)."""
    return _round("try_equivalent", amount * rate)


def amount_in_words(amount: Decimal, currency: str = "TRY") -> str:
    """``Yalnız bin iki yüz elli Türk Lirası elli Kuruş`` for 1250.50 TRY.
    The kuruş part is left out when it is zero."""
    if amount < 0:
        raise ValueError("amount in words needs a non-negative amount")
    q = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    whole = int(q)
    cents = int((q - whole) * 100)
    unit, sub = _CURRENCY_WORDS.get(currency, (currency, f"{currency}/100"))
    text = f"Yalnız {number_in_words(whole)} {unit}"
    if cents:
        text += f" {number_in_words(cents)} {sub}"
    return text
