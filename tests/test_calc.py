"""The tax engine on the spec's own examples, the rounding table, allowance
distribution and amount in words."""

from __future__ import annotations

import copy
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ubltr.calc import ROUNDING, CalcError, _distribute, amount_in_words, compute, number_in_words
from ubltr.model import load

PARTY = {"vkn": "1234567890", "name": "A", "address": {"district": "d", "city": "c"}}
CUST = {"vkn": "9876543217", "name": "B", "address": {"district": "d", "city": "c"}}


def inv(lines, **kw):
    d = {"profile": kw.pop("profile", "TICARIFATURA"), "type": kw.pop("type", "SATIS"),
         "id": "ABC2026000000001", "issue_date": "2026-11-20", "supplier": PARTY, "customer": CUST,
         "lines": lines, **kw}
    return load(copy.deepcopy(d))


def test_spec_minimal_domestic_sale():
    t = compute(inv([{"name": "Klavye", "quantity": "2", "unit": "C62", "unit_price": "450.00",
                      "taxes": [{"code": "0015", "percent": "20"}]}]))
    assert (t.line_extension, t.tax_total, t.payable) == (D("900.00"), D("180.00"), D("1080.00"))
    assert t.words == "Yalnız bin seksen Türk Lirası"


def test_spec_withholding_602():
    t = compute(inv([{"name": "Temizlik", "quantity": "1", "unit": "C62", "unit_price": "10000.00",
                      "taxes": [{"code": "0015", "percent": "20"}], "withholding": {"code": "602", "percent": "90"}}],
                    type="TEVKIFAT"))
    assert t.tax_total == D("2000.00")
    assert t.withholding_total == D("1800.00")
    assert t.tax_inclusive == D("12000.00") and t.payable == D("10200.00")
    assert [(w.code, w.percent, w.base, w.amount) for w in t.withholding_subtotals] == [("602", D("90"), D("2000.00"), D("1800.00"))]


def test_otv_is_inside_the_kdv_base_and_stamp_duty_is_not():
    t = compute(inv([{"name": "Kola", "quantity": "1", "unit": "C62", "unit_price": "100.00",
                      "taxes": [{"code": "0077", "percent": "25"}, {"code": "1047", "percent": "1"},
                                {"code": "0015", "percent": "20"}]}]))
    ln = t.lines[0]
    assert ln.kdv.base == D("125.00") and ln.kdv.amount == D("25.00")
    assert t.tax_total == D("25.00") + D("25.00") + D("1.00")


def test_per_unit_tax():
    t = compute(inv([{"name": "Akaryakıt", "quantity": "10", "unit": "LTR", "unit_price": "30.00",
                      "taxes": [{"code": "0071", "amount": "2.5"}, {"code": "0015", "percent": "20"}]}]))
    ln = t.lines[0]
    assert ln.taxes[0].amount == D("25.00") and ln.kdv.base == D("325.00") and ln.kdv.amount == D("65.00")


def test_half_up_at_the_line_not_at_the_total():
    # three lines of 0.05 KDV-base each: 20 % = 0.01 each -> 0.03 in total, never recomputed from 0.15
    t = compute(inv([{"name": f"x{i}", "quantity": "1", "unit": "C62", "unit_price": "0.025",
                      "taxes": [{"code": "0015", "percent": "20"}]} for i in range(3)]))
    assert [ln.net for ln in t.lines] == [D("0.03")] * 3
    assert t.tax_total == sum(ln.kdv.amount for ln in t.lines)


def test_document_allowance_is_distributed_over_tax_groups():
    t = compute(inv([{"name": "a", "quantity": "1", "unit": "C62", "unit_price": "100.00", "taxes": [{"code": "0015", "percent": "20"}]},
                     {"name": "b", "quantity": "1", "unit": "C62", "unit_price": "200.00", "taxes": [{"code": "0015", "percent": "10"}]}],
                    allowances=[{"reason": "kampanya", "amount": "30.00"}]))
    assert [ln.doc_allowance_share for ln in t.lines] == [D("10.00"), D("20.00")]
    assert t.tax_exclusive == D("270.00")
    assert [s.base for s in t.subtotals] == [D("90.00"), D("180.00")]


def test_impossible_amounts_are_refused_with_a_path():
    with pytest.raises(CalcError) as exc:
        compute(inv([{"name": "a", "quantity": "1", "unit": "C62", "unit_price": "10.00",
                      "taxes": [{"code": "0015", "percent": "20"}]}], allowances=[{"amount": "11.00"}]))
    assert exc.value.problems[0][0] == "allowances"


def test_every_rounding_goes_through_the_named_table(monkeypatch):
    import ubltr.calc as calc

    seen = []
    real = calc._round
    monkeypatch.setattr(calc, "_round", lambda point, v: seen.append(point) or real(point, v))
    invoice = inv([{"name": "a", "quantity": "3", "unit": "C62", "unit_price": "33.333",
                    "allowances": [{"rate": "7"}], "taxes": [{"code": "0077", "percent": "25"}, {"code": "0015", "percent": "20"}],
                    "withholding": {"code": "602"}}],
                  type="TEVKIFAT", allowances=[{"rate": "3"}], currency="USD", exchange_rate="34.1234")
    compute(invoice)
    compute(invoice, tax_rounding="group")  # the per-group policy, for documents written that way
    assert set(seen) == set(ROUNDING), set(ROUNDING) ^ set(seen)


@given(st.integers(0, 10**6), st.lists(st.integers(0, 10**7), min_size=1, max_size=20))
def test_distribution_adds_up_to_the_kurus(total_cents, weights):
    total = D(total_cents) / 100
    parts = _distribute(total, [D(w) for w in weights])
    assert sum(parts, D(0)) == total
    assert all(p >= 0 for p in parts)


@pytest.mark.parametrize("n, words", [
    (0, "sıfır"), (1, "bir"), (10, "on"), (11, "on bir"), (100, "yüz"), (101, "yüz bir"),
    (1000, "bin"), (1001, "bin bir"), (2000, "iki bin"), (1_000_000, "bir milyon"),
    (1_001_000, "bir milyon bin"), (999_999, "dokuz yüz doksan dokuz bin dokuz yüz doksan dokuz"),
    (10**9, "bir milyar"), (10**12, "bir trilyon"), (10**15, "bir katrilyon"),
    (123_456_789_012_345, "yüz yirmi üç trilyon dört yüz elli altı milyar yedi yüz seksen dokuz milyon on iki bin üç yüz kırk beş"),
])
def test_number_in_words(n, words):
    assert number_in_words(n) == words


def test_amount_in_words_currencies():
    assert amount_in_words(D("1250.50")) == "Yalnız bin iki yüz elli Türk Lirası elli Kuruş"
    assert amount_in_words(D("0.99"), "USD") == "Yalnız sıfır ABD Doları doksan dokuz Sent"
    assert amount_in_words(D("5"), "XAU") == "Yalnız beş XAU"


_UNITS = {"sıfır": 0, "bir": 1, "iki": 2, "üç": 3, "dört": 4, "beş": 5, "altı": 6, "yedi": 7, "sekiz": 8,
          "dokuz": 9, "on": 10, "yirmi": 20, "otuz": 30, "kırk": 40, "elli": 50, "altmış": 60,
          "yetmiş": 70, "seksen": 80, "doksan": 90}
_SCALE = {"bin": 10**3, "milyon": 10**6, "milyar": 10**9, "trilyon": 10**12, "katrilyon": 10**15}


def _back(words: str) -> int:
    """An independent reader of Turkish number words."""
    total = group = 0
    for w in words.split():
        if w in _UNITS:
            group += _UNITS[w]
        elif w == "yüz":
            group = (group or 1) * 100
        else:
            total += (group or 1) * _SCALE[w]
            group = 0
    return total + group


@given(st.integers(0, 10**18 - 1))
def test_words_read_back_to_the_number(n):
    assert _back(number_in_words(n)) == n
