"""An independent, deliberately plain computation of an invoice's amounts (the tests'
tax oracle).  Written from the rules, not from ``ubltr/calc.py``:

* ../shared/spec/neutral-invoice.md "Computation" (the documented policy);
* KDV Kanunu md. 24 (what enters the KDV base: ÖTV and the other taxes listed in
  ubltr/data/tax_policy.json, the law's table, checked against GİB's code list by
  tests/test_calc.py), md. 9 and GİB's tevkifat guide (KDV tevkifatı: the withheld part
  is a percentage of the *computed KDV*, and the buyer pays the rest);
* GİB's UBL-TR guides (../shared/gib/docs): LineExtensionAmount = quantity × price −
  allowances + charges; an AllowanceCharge by rate is Amount = BaseAmount ×
  MultiplierFactorNumeric with BaseAmount the amount it applies to (a line: quantity ×
  price in kuruş; the document: the lines' total); TaxExclusiveAmount =
  LineExtensionAmount − AllowanceTotalAmount + ChargeTotalAmount; PayableAmount =
  TaxInclusiveAmount − withholding + PayableRoundingAmount; document allowances and
  charges change each line's tax base (they are spread over the lines in proportion to
  their amounts, so that Σ shares is the allowance to the kuruş: each share rounded
  down, the kuruş left over to the largest remainders, a tie to the earlier line);
* VUK: amounts in kuruş, rounded half up (a half kuruş goes up).

Arithmetic is on :class:`fractions.Fraction` (exact rationals) with one rounding
function, :func:`kurus`, written out by hand: no ``Decimal.quantize`` and no rounding
mode constant, so a change of mode in calc.py cannot be mirrored here by accident.

The result is a plain dict of strings, each amount with two decimals.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

_POLICY = json.loads((Path(__file__).resolve().parent.parent / "ubltr" / "data" / "tax_policy.json")
                     .read_text(encoding="utf-8"))
IN_KDV_BASE = frozenset(_POLICY["in_kdv_base"])
KDV = "0015"


def q(value: Any) -> Fraction:
    """An exact rational from a decimal string (or Decimal/int)."""
    return Fraction(str(value))


def kurus(x: Fraction) -> Fraction:
    """Round to the kuruş, a half kuruş away from zero (half up for amounts)."""
    scaled = x * 100
    sign = -1 if scaled < 0 else 1
    a = abs(scaled)
    whole = a.numerator // a.denominator
    if a - whole >= Fraction(1, 2):
        whole += 1
    return Fraction(sign * whole, 100)


def s(x: Fraction) -> str:
    """Two decimals, as the XML writes an amount."""
    k = kurus(x)
    assert k == x, f"{x} is not a kuruş amount"
    cents = k.numerator * (100 // k.denominator)
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _ac(base: Fraction, ac: dict) -> Fraction:
    if ac.get("amount") is not None:
        return q(ac["amount"])
    return kurus(base * q(ac["rate"]) / 100)


def spread(total: Fraction, weights: list[Fraction]) -> list[Fraction]:
    """``total`` (kuruş) over ``weights`` in proportion: each share rounded down to the
    kuruş, the kuruş left over one each to the largest remainders, ties to the earlier
    line; equal weights when they are all zero."""
    if not weights:
        return []
    if sum(weights) == 0:
        weights = [Fraction(1)] * len(weights)
    w = sum(weights)
    cents = total * 100
    exact = [cents * x / w for x in weights]
    floors = [e.numerator // e.denominator for e in exact]
    left = int(cents - sum(floors))
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return [Fraction(f, 100) for f in floors]


def compute(d: dict) -> dict:
    """The amounts of neutral invoice ``d`` (the JSON contract's dict)."""
    lines = d["lines"]
    nets: list[Fraction] = []
    for ln in lines:
        gross = q(ln["quantity"]) * q(ln["unit_price"])
        base = kurus(gross)  # the BaseAmount a line allowance/charge rate applies to
        allow = sum((_ac(base, a) for a in ln.get("allowances", [])), Fraction(0))
        charge = sum((_ac(base, c) for c in ln.get("charges", [])), Fraction(0))
        # a line cannot go below zero; allowances of its whole BaseAmount give it away
        # (their rate applies to the kuruş amount, which can exceed quantity × price by
        # half a kuruş): net 0
        net = kurus(gross - allow + charge)
        if net < 0 and base - allow + charge >= 0:
            net = Fraction(0)
        nets.append(net)
    lea = sum(nets, Fraction(0))
    doc_allow = [_ac(lea, a) for a in d.get("allowances", [])]
    doc_charge = [_ac(lea, c) for c in d.get("charges", [])]
    a_total, c_total = sum(doc_allow, Fraction(0)), sum(doc_charge, Fraction(0))
    a_shares, c_shares = spread(a_total, nets), spread(c_total, nets)

    groups: dict[tuple, list[Fraction]] = {}
    wh_groups: dict[tuple, list[Fraction]] = {}
    out_lines = []
    for i, ln in enumerate(lines):
        taxable = nets[i] - a_shares[i] + c_shares[i]
        kdv_base = taxable
        taxes = []
        kdv_percent = Fraction(0)
        for t in ln["taxes"]:
            if t["code"] == KDV:
                kdv_percent = q(t.get("percent") or 0)
                continue
            if t.get("percent") is not None:
                amount = kurus(taxable * q(t["percent"]) / 100)
                key = (t["code"], q(t["percent"]), None, None)
            else:
                amount = kurus(q(ln["quantity"]) * q(t["amount"]))
                key = (t["code"], None, q(t["amount"]), None)
            if t["code"] in IN_KDV_BASE:
                kdv_base += amount
            taxes.append((t["code"], taxable, amount))
            g = groups.setdefault(key, [Fraction(0), Fraction(0)])
            g[0] += taxable
            g[1] += amount
        kdv = kurus(kdv_base * kdv_percent / 100)
        ex = (ln.get("exemption") or {}).get("code")
        taxes.append((KDV, kdv_base, kdv))
        g = groups.setdefault((KDV, kdv_percent, None, ex), [Fraction(0), Fraction(0)])
        g[0] += kdv_base
        g[1] += kdv
        wh = None
        if ln.get("withholding"):
            w = ln["withholding"]
            wh = kurus(kdv * q(w["percent"]) / 100)
            g = wh_groups.setdefault((w["code"], q(w["percent"])), [Fraction(0), Fraction(0)])
            g[0] += kdv
            g[1] += wh
        out_lines.append({"net": s(nets[i]), "taxable": s(taxable), "kdv_base": s(kdv_base), "kdv": s(kdv),
                          "allowance_share": s(a_shares[i]), "charge_share": s(c_shares[i]),
                          "taxes": [(c, s(b), s(a)) for c, b, a in taxes],
                          "withholding": None if wh is None else s(wh)})
    tax_total = sum((g[1] for g in groups.values()), Fraction(0))
    wh_total = sum((g[1] for g in wh_groups.values()), Fraction(0))
    excl = lea - a_total + c_total
    incl = excl + tax_total
    payable = incl - wh_total + q(d.get("rounding") or 0)
    out = {
        "line_extension": s(lea), "allowances": [s(x) for x in doc_allow], "charges": [s(x) for x in doc_charge],
        "allowance_total": s(a_total), "charge_total": s(c_total), "tax_exclusive": s(excl),
        "tax_total": s(tax_total), "tax_inclusive": s(incl), "withholding_total": s(wh_total),
        "payable": s(payable), "lines": out_lines,
        "subtotals": sorted((k[0], str(k[1]) if k[1] is not None else "", k[3] or "", s(v[0]), s(v[1]))
                            for k, v in groups.items()),
        "withholding_subtotals": sorted((k[0], str(k[1]), s(v[0]), s(v[1])) for k, v in wh_groups.items()),
        "payable_try": None,
    }
    if d.get("currency", "TRY") != "TRY":
        out["payable_try"] = s(kurus(payable * q(d["exchange_rate"])))
    return out


def of_calc(totals: Any) -> dict:
    """The same dict from a :class:`ubltr.calc.Totals` (for comparison)."""
    def m(x: Any) -> str:
        return s(q(x))

    def pct(x: Any) -> str | None:
        return None if x is None else str(q(x))

    return {
        "line_extension": m(totals.line_extension), "allowances": [m(x) for x in totals.doc_allowances],
        "charges": [m(x) for x in totals.doc_charges], "allowance_total": m(totals.allowance_total),
        "charge_total": m(totals.charge_total), "tax_exclusive": m(totals.tax_exclusive),
        "tax_total": m(totals.tax_total), "tax_inclusive": m(totals.tax_inclusive),
        "withholding_total": m(totals.withholding_total), "payable": m(totals.payable),
        "lines": [{"net": m(ln.net), "taxable": m(ln.taxable), "kdv_base": m(ln.kdv.base), "kdv": m(ln.kdv.amount),
                   "allowance_share": m(ln.doc_allowance_share), "charge_share": m(ln.doc_charge_share),
                   "taxes": [(t.code, m(t.base), m(t.amount)) for t in ln.taxes],
                   "withholding": None if ln.withholding is None else m(ln.withholding.amount)}
                  for ln in totals.lines],
        "subtotals": sorted((t.code, (pct(t.percent) or "") if t.per_unit is None else "", t.exemption_code or "",
                             m(t.base), m(t.amount)) for t in totals.subtotals),
        "withholding_subtotals": sorted((w.code, pct(w.percent), m(w.base), m(w.amount))
                                        for w in totals.withholding_subtotals),
        "payable_try": None if totals.payable_try is None else m(totals.payable_try),
    }
