"""The loader: every malformed input gives an error naming its JSON path, all at once."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ubltr.model import InvoiceInputError, load, loads, tckn_valid, to_dict, vkn_valid
from ubltr.testing import invoice_dicts, tckns, vkns

ROOT = Path(__file__).resolve().parent.parent
BASE = json.loads((ROOT / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))


def errors_of(d) -> dict[str, str]:
    with pytest.raises(InvoiceInputError) as exc:
        load(d) if isinstance(d, dict) else loads(d)
    return {p.path: p.message for p in exc.value.problems}


def mutate(**changes) -> dict:
    d = copy.deepcopy(BASE)
    for path, value in changes.items():
        target = d
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        last = keys[-1]
        if value is DELETE:
            del target[last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return d


DELETE = object()


def test_the_base_fixture_loads():
    inv = load(BASE)
    assert inv.lines[0].unit_price == Decimal("25000.00")


@pytest.mark.parametrize("change, path, words", [
    ({"colour": "red"}, "colour", "unknown key"),
    ({"lines__0__quantitty": "1"}, "lines[0].quantitty", "unknown key"),
    ({"lines__0__unit_price": "1,250.00"}, "lines[0].unit_price", "thousands"),
    ({"lines__0__unit_price": "12.5.0"}, "lines[0].unit_price", "decimal number"),
    ({"lines__0__quantity": "1234567890123456"}, "lines[0].quantity", "15 integer digits"),
    ({"issue_date": "2026-02-30"}, "issue_date", "real calendar date"),
    ({"issue_date": "20-11-2026"}, "issue_date", "YYYY-MM-DD"),
    ({"issue_date": "2099-01-01"}, "issue_date", "after today"),
    ({"issue_time": "25:00:00"}, "issue_time", "real time"),
    ({"supplier__vkn": "1234567891"}, "supplier.vkn", "not a valid VKN"),
    ({"customer__vkn": "12345678901"}, "customer.vkn", "not a valid VKN"),
    ({"profile": "TEMELFATURX"}, "profile", "did you mean 'TEMELFATURA'"),
    ({"type": "SATISS"}, "type", "not a invoice type"),
    ({"lines__0__unit": "PCS"}, "lines[0].unit", "unit code"),
    ({"currency": "XXX1"}, "currency", "currency"),
    ({"lines__0__taxes": [{"code": "0071", "percent": "10"}]}, "lines[0].taxes", "KDV"),
    ({"lines__0__taxes": [{"code": "0015", "percent": "0"}]}, "lines[0].exemption", "0 %"),
    ({"lines__0__taxes": [{"code": "9999", "percent": "20"}]}, "lines[0].taxes[0].code", "tax code"),
    ({"currency": "USD"}, "exchange_rate", "required when currency is USD"),
    ({"type": "IADE"}, "billing_references", "must name the invoices"),
    ({"profile": "TICARIFATURA", "type": "IADE"}, "type", "does not allow type IADE"),
    ({"lines__0__withholding": {"code": "602"}}, "lines[0].withholding", "TEVKIFAT"),
    ({"lines__0__exemption": {"code": "999"}}, "lines[0].exemption.code", "exemption code"),
    ({"lines": []}, "lines", "at least one"),
    ({"supplier__address__city": DELETE}, "supplier.address.city", "required"),
    ({"uuid": "not-a-uuid"}, "uuid", "not a UUID"),
    ({"id": "AB2026000000001"}, "id", "16 characters"),
    ({"lines__0__name": "a\x01b"}, "lines[0].name", "control character"),
])
def test_each_bad_input_names_its_path(change, path, words):
    errs = errors_of(mutate(**change))
    assert path in errs, errs
    assert words in errs[path]


def test_all_errors_of_a_document_are_reported_at_once():
    d = mutate(colour="x", issue_date="2026-13-01", supplier__vkn="1", lines__0__unit="?")
    errs = errors_of(d)
    assert {"colour", "issue_date", "supplier.vkn", "lines[0].unit"} <= set(errs)


@pytest.mark.parametrize("text, path, words", [
    ('{"x": 1e5}', "x", None),
    ('{"profile": "TEMELFATURA", "rounding": NaN}', "rounding", "NaN"),
    ('{"profile": "TEMELFATURA", "rounding": Infinity}', "rounding", "Infinity"),
    ('{"profile": "TEMELFATURA", "rounding": 1E+2}', "rounding", "1E+2"),
    ('{"profile": ', "", "not valid JSON"),
])
def test_json_numbers_never_go_through_float(text, path, words):
    errs = errors_of(text)
    assert path in errs
    if words:
        assert words in errs[path]


def test_json_numbers_are_read_exactly():
    d = json.dumps(BASE).replace('"25000.00"', "25000.10000000000000000001")
    inv = loads(d)
    assert inv.lines[0].unit_price == Decimal("25000.10000000000000000001")


def test_exemption_implies_zero_kdv_when_taxes_are_absent():
    d = mutate(type="ISTISNA")
    d["lines"] = [{"name": "x", "quantity": "1", "unit": "C62", "unit_price": "10",
                   "exemption": {"code": "213", "reason": "boru hattı"}}]
    inv = load(d)
    assert inv.lines[0].taxes[0].code == "0015" and inv.lines[0].taxes[0].percent == 0


@given(vkns())
def test_generated_vkns_are_valid(v):
    assert vkn_valid(v)


@given(tckns())
def test_generated_tckns_are_valid(t):
    assert tckn_valid(t)


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_one_changed_digit_breaks_a_vkn(v):
    if vkn_valid(v):
        for i in range(10):
            w = v[:i] + str((int(v[i]) + 1) % 10) + v[i + 1:]
            assert not vkn_valid(w)


def test_known_numbers():
    assert vkn_valid("1234567890") and vkn_valid("9876543217") and tckn_valid("10000000146")
    assert not tckn_valid("10000000147") and not tckn_valid("01234567890")


@settings(max_examples=50, deadline=None)
@given(invoice_dicts())
def test_to_dict_round_trips(d):
    inv = load(d)
    assert load(json.loads(json.dumps(to_dict(inv)))) == inv


@pytest.mark.parametrize("fixture, change, path, rule", [
    ("HKS-HKSSATIS", lambda d: d["lines"][0].pop("item_ids"), "lines[0].item_ids", "HKSInvioceCheck-1"),
    ("ILAC_TIBBICIHAZ-SATIS", lambda d: d["lines"][1].pop("item_ids"), "lines[1].item_ids", "IlacTibbiCihaz"),
    ("IDIS-SATIS", lambda d: d["supplier"]["ids"].pop("SEVKIYATNO"), "supplier.ids.SEVKIYATNO", "IdisSevkiyatNoCheck-1"),
    ("YATIRIMTESVIK-SATIS", lambda d: d["lines"][0].pop("serial_id"), "lines[0]", "YatirimTesvikItemInstanceCheck-1"),
    ("ENERJI-SARJ", lambda d: d.pop("additional_references"), "additional_references", "EnerjiESURaporIDCheck-1"),
    ("ENERJI-SARJ", lambda d: d["customer"].pop("ids"), "customer.ids.PLAKA", "EnerjiPartyIdentificationPlakaCheck-1"),
    ("EARSIVFATURA-TEKNOLOJIDESTEK", lambda d: d["lines"][0].pop("item_ids"), "lines[0].item_ids", "TeknolojiDestek"),
])
def test_sector_profiles_say_what_they_miss(fixture, change, path, rule):
    d = json.loads((ROOT / "fixtures" / f"{fixture}.json").read_text(encoding="utf-8"))
    load(copy.deepcopy(d))
    change(d)
    errs = errors_of(d)
    assert path in errs and rule in errs[path], errs


def test_demirbas_555_needs_kdv():
    d = mutate(lines__0__taxes=[{"code": "0015", "percent": "0"}], lines__0__exemption={"code": "555", "reason": "demirbaş"})
    errs = errors_of(d)
    assert "DemirbasKDVTaxExemptionCheck-2" in errs["lines[0].exemption"]


@pytest.mark.parametrize("rate", [None, "missing"])
def test_foreign_currency_without_a_rate_is_an_input_error(rate) -> None:
    """A null exchange_rate is as missing as no key at all (it used to reach calc and
    fail an assertion there: found by tests/test_loader_fuzz.py)."""
    d = json.loads((ROOT / "fixtures" / "IHRACAT-ISTISNA.json").read_text("utf-8"))
    d["currency"] = "EUR"
    d.pop("exchange_rate", None)
    if rate is None:
        d["exchange_rate"] = None
    with pytest.raises(InvoiceInputError) as exc:
        load(d)
    assert [(p.path, p.message) for p in exc.value.problems] == [
        ("exchange_rate", "is required when currency is EUR (TRY per 1 EUR)")]
