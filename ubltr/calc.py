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
                       quantity × per-unit amount (also the *deducted* taxes:
                       stopaj 0003/0011, KDV tevkifatı as a line tax 9015, ÖTV
                       tevkifatı 4171, which lower the payable amount)
``line_kdv``           KDV: (taxable net + taxes inside the KDV base) × percent / 100,
                       or a stated special base (özel matrah) × percent / 100
``line_withholding``   tevkifat: line KDV × withholding percent / 100
``group_tax``          only with ``compute(inv, tax_rounding="group")``: a
                       TaxSubtotal's amount rounded once from the exact (unrounded)
                       line amounts of its group, as some software writes it
``try_equivalent``     TRY amounts of a foreign-currency invoice: amount × exchange rate
=====================  =======================================================

All quanta are 0.01 (kuruş), ROUND_HALF_UP.  By default (``tax_rounding="line"``,
ubltr's own policy) document totals are *sums* of the rounded line values, never
recomputed from grouped bases: ``TaxSubtotal`` amounts are Σ of the lines' amounts,
so lines and totals always agree to the kuruş.  ``tax_rounding="group"`` reproduces
documents that round per tax group instead; the two differ by at most half a kuruş
per line of the group.
"""

from __future__ import annotations

import decimal
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
    "amount_in_words", "try_equivalent", "in_kdv_base", "withheld_otv",
]

CENT = Decimal("0.01")
#: GİB's decimalCheck-1 as its rules run: amounts have at most 17 digits before the point
GIB_AMOUNT_LIMIT = Decimal(10) ** 17
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
        RoundingPoint("group_tax", CENT, ROUND_HALF_UP, "a TaxSubtotal rounded once per tax group (tax_rounding=\"group\" only)"),
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
    """Why ``code`` cannot be given as a line tax, or ``None`` (every code of GİB's
    list can be, since stopaj and tevkifat codes are computed as *deducted* taxes)."""
    return None


def withheld_otv(code: str, line_codes: Iterable[str]) -> bool:
    """Whether line tax ``code`` is ÖTV tevkifatı 4171 standing for the ÖTV itself: on a
    line that states no ÖTV of its own (tax_policy.json ``otv``), the 4171 amount is the
    ÖTV, withheld by the buyer.  By KDV Kanunu md. 24/c it is then in the KDV base and
    charged (TaxTotal/TaxAmount, TaxInclusiveAmount), and deducted from the payable
    amount.  Beside a stated ÖTV (0071...) 4171 is the withheld part of it: only deducted."""
    otv = _policy()["otv"]
    return code == "4171" and not any(c in otv for c in line_codes)


def kdv_not_added(exemption_code: str | None) -> bool:
    """Whether KDV with this exemption code is computed and shown but not charged
    (YATIRIMTESVIK 308 / 339)."""
    return exemption_code is not None and exemption_code in _policy()["kdv_not_added"]


def deducted(code: str) -> bool:
    """Whether line tax ``code`` is withheld by the buyer and so deducted from the
    payable amount (stopaj 0003/0011, KDV tevkifatı 9015, ÖTV tevkifatı 4171)."""
    return code in _policy()["deducted"]


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
    deducted: bool = False        # withheld by the buyer: lowers the payable amount
    exact: Decimal | None = None  # the amount before line rounding (for tax_rounding="group")
    not_added: bool = False       # computed and shown, not charged (KDV exempt under 308/339)
    charged: bool = False         # deducted, yet charged first (4171 standing for the ÖTV, see withheld_otv)

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
    def base(self) -> Decimal:
        """The ``BaseAmount`` the line's allowances/charges by rate apply to: the gross
        at rounding point ``line_base`` (the value :func:`compute` multiplied by the rates)."""
        return _round("line_base", self.gross)

    @property
    def tax_amount(self) -> Decimal:
        """The line's TaxTotal/TaxAmount: its taxes without the deducted ones (unless charged first)."""
        return sum((t.amount for t in self.taxes if (t.charged or not t.deducted) and not t.not_added), ZERO)

    @property
    def deducted_amount(self) -> Decimal:
        return sum((t.amount for t in self.taxes if t.deducted), ZERO)

    @property
    def kdv(self) -> TaxLine:
        """The line's KDV (a 0 % KDV line when the line carries none, as a line of a
        document that states no tax at all)."""
        for t in self.taxes:
            if t.code == "0015":
                return t
        return TaxLine(code="0015", percent=Decimal(0), per_unit=None, base=self.taxable, amount=ZERO)


@dataclass(frozen=True, slots=True)
class TaxSubtotal:
    code: str
    percent: Decimal | None
    per_unit: Decimal | None
    exemption_code: str | None
    exemption_reason: str | None
    base: Decimal
    amount: Decimal
    deducted: bool = False
    not_added: bool = False
    charged: bool = False         # deducted, yet in TaxTotal/TaxAmount (4171 standing for the ÖTV)

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
    deducted_total: Decimal       # stopaj and tevkifat written as line taxes (lower the payable)
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
            "deducted_total": s(self.deducted_total),
            "rounding": s(self.rounding),
            "payable": s(self.payable),
            "exchange_rate": s(self.exchange_rate),
            "payable_try": s(self.payable_try),
            "amount_in_words": self.words,
            "amount_in_words_try": self.words_try,
            "tax_subtotals": [
                {"code": t.code, "name": t.name, "percent": s(t.percent), "per_unit": s(t.per_unit),
                 "exemption_code": t.exemption_code, "taxable": s(t.base), "amount": s(t.amount),
                 "deducted": t.deducted, "not_added": t.not_added, "charged": t.charged}
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
    if ac.rate is None:
        return ZERO
    if ac.base is not None:  # a stated base (a cascaded discount: the previous step's remainder)
        base = ac.base
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


def _digits(d: Decimal | None) -> int:
    """At least the number of digits of ``d`` written out (its text's length, which
    also counts a sign and a point; 60 ns where ``as_tuple`` takes 350)."""
    if d is None:
        return 0
    s = str(d)
    if "E" not in s:
        return len(s)
    t = d.as_tuple()
    return len(t.digits) + abs(int(t.exponent)) if isinstance(t.exponent, int) else 0


_last_precision: tuple[Invoice | None, int] = (None, 0)


def _precision(inv: Invoice) -> int:
    """Decimal digits enough for every product and sum of ``inv`` to be exact (the
    default context's 28 digits are not: 15-digit quantities times 15-digit prices).
    The last invoice's answer is kept: ``build`` asks again right after ``compute``."""
    global _last_precision
    if _last_precision[0] is inv:
        return _last_precision[1]
    widest = max(_digits(inv.exchange_rate), _digits(inv.rounding))
    for ln in inv.lines:
        q, u = str(ln.quantity), str(ln.unit_price)
        n = max(len(q), len(u)) if "E" not in q and "E" not in u else max(_digits(ln.quantity), _digits(ln.unit_price))
        for t in ln.taxes:
            if t.percent is not None or t.amount is not None or t.base is not None:
                n = max(n, _digits(t.percent), _digits(t.amount), _digits(t.base))
        for a in ln.allowances + ln.charges:
            n = max(n, _digits(a.amount), _digits(a.rate), _digits(a.base))
        if n > widest:
            widest = n
    for a in inv.allowances + inv.charges:
        widest = max(widest, _digits(a.amount), _digits(a.rate))
    prec = max(60, 3 * widest + 20 + len(str(len(inv.lines))))
    _last_precision = (inv, prec)
    return prec


def decimal_context(inv: Invoice) -> decimal.Context:
    """The context :func:`compute` runs in (and ``build`` formats in): exact for
    every amount the contract allows."""
    return decimal.Context(prec=_precision(inv), rounding=ROUND_HALF_UP, Emax=999999, Emin=-999999,
                           traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])


def compute(inv: Invoice, *, tax_rounding: str = "line", gib_checks: bool = True) -> Totals:
    """All totals of ``inv``; raises :class:`CalcError` for impossible amounts.

    ``tax_rounding``: ``"line"`` (ubltr's policy: TaxSubtotals are sums of rounded
    line amounts) or ``"group"`` (each TaxSubtotal rounded once, rounding point
    ``group_tax``), to reproduce documents written that way.  ``gib_checks=False``
    skips the refusal of a positive KDV that rounds to 0.00 without an exemption
    (a GİB rule, which an invoice received from elsewhere may break: its totals are
    still computed)."""
    if tax_rounding not in {"line", "group"}:
        raise ValueError("tax_rounding must be 'line' or 'group'")
    try:
        with decimal.localcontext(decimal_context(inv)):
            return _compute(inv, tax_rounding, gib_checks)
    except (decimal.DecimalException, ArithmeticError) as exc:
        if isinstance(exc, CalcError):
            raise
        raise CalcError([("", f"the amounts cannot be computed exactly ({type(exc).__name__})")]) from None


def _compute(inv: Invoice, tax_rounding: str, gib_checks: bool) -> Totals:
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
        for key, given in (("allowances", ln.allowances), ("charges", ln.charges)):
            for k, ac in enumerate(given):  # written as Amount: no kuruş fraction may be dropped on the way
                if ac.amount is not None and ac.amount != ac.amount.quantize(CENT):
                    problems.append((f"lines[{i}].{key}[{k}].amount", f"{ac.amount} has more than 2 decimals"))
        nets.append(net)
        line_acs.append((allow, charge))

    # 2. document allowances / charges, distributed over the lines
    for k, a in enumerate(inv.allowances + inv.charges):
        if (inv.profile == "HKS" and "KOMISYONCU" in inv.type and a.reason
                and a.reason.strip().upper().startswith("HKS") and (a.amount or a.rate)):
            key = "allowances" if k < len(inv.allowances) else "charges"
            idx = k if k < len(inv.allowances) else k - len(inv.allowances)
            problems.append((f"{key}[{idx}].reason", f"'{a.reason.strip()}': HKS komisyoncu deductions (kesintiler, "
                             "which lower the payable amount but not the tax base) are not supported"))
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
    if inv.rounding != inv.rounding.quantize(CENT):
        problems.append(("rounding", f"{inv.rounding} has more than 2 decimals"))
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
            base = t.base if t.base is not None else taxable
            if t.percent is not None:
                exact = base * t.percent / HUNDRED
            else:
                exact = ln.quantity * (t.amount if t.amount is not None else ZERO)
            amount = _round("line_tax", exact)
            is_deducted = deducted(t.code)
            charged = withheld_otv(t.code, (x.code for x in ln.taxes))
            taxes.append(TaxLine(code=t.code, percent=t.percent, per_unit=t.amount, base=base, amount=amount,
                                 deducted=is_deducted, exact=exact, charged=charged))
            if (in_kdv_base(t.code) and not is_deducted) or charged:
                kdv_base += amount
        kdv_spec = next((t for t in ln.taxes if t.code == "0015"), None)
        if kdv_spec is not None:
            kdv_pct = kdv_spec.percent if kdv_spec.percent is not None else Decimal(0)
            if kdv_spec.base is not None:  # özel matrah: KDV on a stated special base
                kdv_base = kdv_spec.base
            kdv_exact = kdv_base * kdv_pct / HUNDRED
            kdv = _round("line_kdv", kdv_exact)
            ex = ln.exemption
            if gib_checks and kdv == 0 and ex is None and kdv_pct > 0:
                problems.append((f"lines[{i}].exemption", f"KDV at {kdv_pct} % of {kdv_base} rounds to 0.00; GİB then requires an exemption code and reason (TaxExemptionReasonCheck-1)"))
            taxes.append(TaxLine(code="0015", percent=kdv_pct, per_unit=None, base=kdv_base, amount=kdv,
                                 exemption_code=ex.code if ex else None,
                                 exemption_reason=ex.reason if ex else None, exact=kdv_exact,
                                 not_added=kdv_not_added(ex.code if ex else None)))
        else:
            kdv = ZERO
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

    # 4. grouping: sums of rounded line values (or, tax_rounding="group", rounded once per group)
    subtotals = _group_taxes(lines, tax_rounding == "group")
    wsubs = _group_withholding(lines)
    tax_total = sum((s.amount for s in subtotals if (s.charged or not s.deducted) and not s.not_added), ZERO)
    deducted_total = sum((s.amount for s in subtotals if s.deducted), ZERO)
    withholding_total = sum((w.amount for w in wsubs), ZERO)
    tax_exclusive = line_extension - allowance_total + charge_total
    tax_inclusive = tax_exclusive + tax_total
    payable = tax_inclusive - withholding_total - deducted_total + inv.rounding
    if payable < 0:
        raise CalcError([("rounding", f"the payable amount would be negative ({payable})")])

    if gib_checks:
        too_big = [(name, v) for name, v in (("line_extension", line_extension), ("tax_inclusive", tax_inclusive),
                                             ("payable", payable), ("tax_total", tax_total))
                   if abs(v) >= GIB_AMOUNT_LIMIT]
        if too_big:
            raise CalcError([("lines", f"the {name} {v} has more than {len(str(GIB_AMOUNT_LIMIT)) - 1} digits before "
                                       "the point, which GİB refuses (decimalCheck-1)") for name, v in too_big])
    payable_try = None
    words_try = None
    if inv.currency != "TRY" and inv.exchange_rate is not None:
        # (the loader requires the rate; a parsed document without one -- GİB's ISTISNA
        # samples in USD, the old TRL samples -- still has its totals, without TRY ones)
        payable_try = try_equivalent(payable, inv.exchange_rate)
        words_try = _words(payable_try, "TRY")
    return Totals(
        currency=inv.currency, lines=tuple(lines), doc_allowances=doc_allow, doc_charges=doc_charge,
        subtotals=subtotals, withholding_subtotals=wsubs, line_extension=line_extension,
        allowance_total=allowance_total, charge_total=charge_total, tax_exclusive=tax_exclusive,
        tax_total=tax_total, withholding_total=withholding_total, tax_inclusive=tax_inclusive,
        deducted_total=deducted_total,
        rounding=inv.rounding, payable=payable, exchange_rate=inv.exchange_rate,
        payable_try=payable_try, words=_words(payable, inv.currency), words_try=words_try,
    )


def _words(amount: Decimal, currency: str) -> str:
    try:
        return amount_in_words(amount, currency)
    except ValueError as exc:
        raise CalcError([("", f"the payable amount {amount} {currency}: {exc}")]) from None


def _group_taxes(lines: Iterable[LineTotals], per_group: bool = False) -> tuple[TaxSubtotal, ...]:
    groups: dict[tuple, list[TaxLine]] = {}
    for ln in lines:
        for t in ln.taxes:
            key = (t.code, t.percent.normalize() if t.percent is not None else None,
                   t.per_unit.normalize() if t.per_unit is not None else None, t.exemption_code, t.charged)
            groups.setdefault(key, []).append(t)
    out = []
    # KDV subtotals last within the document, like GİB's samples; otherwise first-seen order
    for key, items in sorted(groups.items(), key=lambda kv: kv[0][0] == "0015"):
        first = items[0]
        if per_group:
            amount = _round("group_tax", sum((t.exact if t.exact is not None else t.amount for t in items), ZERO))
        else:
            amount = sum((t.amount for t in items), ZERO)
        out.append(TaxSubtotal(
            code=first.code, percent=first.percent, per_unit=first.per_unit,
            exemption_code=first.exemption_code,
            exemption_reason=next((t.exemption_reason for t in items if t.exemption_reason), None),
            base=sum((t.base for t in items), ZERO), amount=amount, deducted=first.deducted,
            not_added=first.not_added, charged=first.charged,
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
_SCALES = ["", "bin", "milyon", "milyar", "trilyon", "katrilyon", "kentilyon", "seksilyon",
           "septilyon", "oktilyon", "nonilyon", "desilyon"]
#: the first whole number :func:`number_in_words` has no words for
WORDS_LIMIT = 10 ** (3 * len(_SCALES))

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
    """Turkish words for a whole number 0 ≤ n < 10^36 (``1250`` → ``bin iki yüz elli``);
    beyond a katrilyon (10^15) the short-scale names kentilyon ... desilyon."""
    if n < 0 or n >= WORDS_LIMIT:
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
    with decimal.localcontext(decimal.Context(prec=max(60, 2 * (_digits(amount) + _digits(rate)) + 4),
                                              traps=[decimal.InvalidOperation])):
        return _round("try_equivalent", amount * rate)


def amount_in_words(amount: Decimal, currency: str = "TRY") -> str:
    """``Yalnız bin iki yüz elli Türk Lirası elli Kuruş`` for 1250.50 TRY.
    The kuruş part is left out when it is zero."""
    if amount < 0:
        raise ValueError("amount in words needs a non-negative amount")
    if not amount.is_finite():
        raise ValueError(f"{amount} is not a finite amount")
    if abs(amount.adjusted()) > 40:
        raise ValueError(f"{amount} is out of range for amount in words")
    q = amount.quantize(CENT, rounding=ROUND_HALF_UP, context=decimal.Context(prec=80))
    whole = int(q)
    cents = int((q - whole) * 100)
    unit, sub = _CURRENCY_WORDS.get(currency, (currency, f"{currency}/100"))
    text = f"Yalnız {number_in_words(whole)} {unit}"
    if cents:
        text += f" {number_in_words(cents)} {sub}"
    return text
