"""BizimHesap addinvoice: mapping from our engine's totals, answer handling, the fake."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ubltr import calc, model
from ubltr.transport.base import Document, Outcome, Unsupported
from ubltr.transport.bizimhesap import (ADDINVOICE_PATH, BizimHesapClient, amounts_from_totals,
                                        dumps_exact, to_addinvoice)
from ubltr.transport.fake.bizimhesap import BizimHesapFake
from ubltr.transport.fake.server import FakeRequest, FakeServer
from ubltr.transport.registry import make_client

FIRM = BizimHesapFake.default_credentials["firm_id"]

BASE = {"profile": "TEMELFATURA", "type": "SATIS", "id": "ABC2026000000001",
        "uuid": "8a5f1c2e-3b4d-4e6f-9a1b-2c3d4e5f6a7b", "issue_date": "2026-11-20", "issue_time": "10:30:00",
        "supplier": {"vkn": "1234567890", "name": "Örnek Yazılım A.Ş.", "tax_office": "Kadıköy",
                     "address": {"street": "Moda Cad.", "building_number": "12", "district": "Kadıköy",
                                 "city": "İstanbul"}},
        "customer": {"tckn": "10000000146", "first_name": "Ayşe", "last_name": "Yılmaz",
                     "address": {"district": "Çankaya", "city": "Ankara"}},
        "lines": [{"name": "Klavye", "quantity": "2", "unit": "C62", "unit_price": "450.00",
                   "taxes": [{"code": "0015", "percent": "20"}]}]}


def neutral(**changes) -> dict:
    d = copy.deepcopy(BASE)
    d.update(changes)
    return d


def doc(n: dict) -> Document:
    return Document(uuid=n["uuid"], xml=b"", invoice_id=n.get("id"), neutral=n)


# ----------------------------------------------------------------- invoices for properties

# large enough that a line's KDV never rounds to 0.00: GİB then wants an exemption reason
# (TaxExemptionReasonCheck-1) and ubltr.calc refuses such a line
money = st.decimals(min_value=Decimal("10.00"), max_value=Decimal("99999.99"), places=2)
qty = st.decimals(min_value=Decimal("1"), max_value=Decimal("9999"), places=3)
rate = st.sampled_from(["0", "1", "8", "10", "18", "20"])


@st.composite
def lines(draw, exempt: bool = True, units: tuple[str, ...] = ("C62", "KGM", "LTR", "HUR")) -> dict:
    line = {"name": draw(st.sampled_from(["Klavye", "Fare", "Çay", "Hizmet"])), "quantity": str(draw(qty)),
            "unit": draw(st.sampled_from(units)), "unit_price": str(draw(money)),
            "taxes": [{"code": "0015", "percent": draw(rate if exempt else rate.filter(lambda r: r != "0"))}]}
    if line["taxes"][0]["percent"] == "0":
        line["exemption"] = {"code": "301", "reason": "11/1-a"}
    if draw(st.booleans()):
        line["allowances"] = [{"rate": str(draw(st.integers(1, 50)))}]
    return line


@st.composite
def invoices(draw, doc_allowances: bool = True, exempt: bool = True, any_unit: bool = True) -> dict:
    """``exempt=False``: no 0 % line (an exemption code, which BizimHesap has no field for);
    ``any_unit=False``: C62 lines only (BizimHesap has no unit field)."""
    n = neutral(lines=draw(st.lists(lines(exempt, ("C62", "KGM", "LTR", "HUR") if any_unit else ("C62",)),
                                    min_size=1, max_size=5)))
    if any(ln["taxes"][0]["percent"] == "0" for ln in n["lines"]):
        n["type"] = "ISTISNA"
        for ln in n["lines"]:  # ISTISNA: every line exempt
            ln["taxes"][0]["percent"] = "0"
            ln["exemption"] = {"code": "301", "reason": "11/1-a"}
    if doc_allowances and draw(st.booleans()):
        n["allowances"] = [{"reason": "kampanya", "rate": str(draw(st.integers(1, 30)))}]
    return n


# ----------------------------------------------------------------- mapping


def test_minimal_invoice_maps_to_hand_checked_amounts():
    inv = model.load(neutral())
    body = to_addinvoice(inv, amounts_from_totals(inv, calc.compute(inv)), firm_id=FIRM)
    # 2 x 450.00 = 900.00 net, 20% KDV = 180.00, total 1080.00 (checked by hand)
    assert body["amounts"] == {"currency": "TL", "gross": Decimal("900.00"), "discount": Decimal("0.00"),
                               "net": Decimal("900.00"), "tax": Decimal("180.00"), "total": Decimal("1080.00")}
    (d,) = body["details"]
    assert (d["quantity"], d["unitPrice"], d["taxRate"]) == (Decimal("2"), Decimal("450.00"), Decimal("20"))
    assert (d["net"], d["tax"], d["total"], d["discount"]) == (Decimal("900.00"), Decimal("180.00"),
                                                                Decimal("1080.00"), "0.00")
    assert body["firmId"] == FIRM and body["invoiceType"] == 3 and body["invoiceNo"] == "ABC2026000000001"
    assert body["customer"]["title"] == "Ayşe Yılmaz" and body["customer"]["taxNo"] == "10000000146"
    assert body["dates"]["invoiceDate"] == "2026-11-20T10:30:00+03:00"
    # on the wire: exact decimal text, a JSON number
    text = dumps_exact(body).decode()
    assert '"total":1080.00' in text and '"discount":"0.00"' in text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=invoices(exempt=False, any_unit=False))
def test_mapped_amounts_equal_the_engine_to_the_kurus(n):
    inv = model.load(n)
    totals = calc.compute(inv)
    body = json.loads(BizimHesapClient(httpx.Client(), firm_id=FIRM).body_for(doc(n)), parse_float=Decimal)
    a = body["amounts"]
    assert str(a["net"]) == str(totals.tax_exclusive)
    assert str(a["tax"]) == str(totals.tax_total)
    assert str(a["total"]) == str(totals.tax_inclusive)
    for d, lt in zip(body["details"], totals.lines, strict=True):
        kdv = lt.taxes[-1]
        assert str(d["tax"]) == str(kdv.amount) and str(d["net"]) == str(lt.taxable)
        assert d["net"] + d["tax"] == d["total"]
        assert d["grossPrice"] - Decimal(d["discount"]) == d["net"]
    assert sum(d["total"] for d in body["details"]) == a["total"]
    # the fake's own arithmetic check (written from the document, not from our engine) agrees
    fake = BizimHesapFake.__new__(BizimHesapFake)
    from ubltr.transport.fake.bizimhesap import _lower
    assert fake._check(_lower(body)) is None


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_dumps_exact_round_trips_every_decimal(d):
    assert json.loads(dumps_exact({"v": d}), parse_float=Decimal, parse_int=Decimal)["v"] == d
    assert dumps_exact([d]).decode() == f"[{format(d, 'f')}]"   # no exponent, no float on the way


def test_dumps_exact_refuses_floats_and_non_finite():
    with pytest.raises(TypeError):
        dumps_exact({"x": 1.5})
    with pytest.raises(ValueError):
        dumps_exact([Decimal("NaN")])


@pytest.mark.parametrize("change, fragment", [
    ({"type": "TEVKIFAT", "lines": [dict(BASE["lines"][0], withholding={"code": "602", "percent": "90"})]},
     "TEVKIFAT"),
    ({"charges": [{"reason": "kargo", "amount": "10.00"}]}, "charge"),
    ({"lines": [dict(BASE["lines"][0], taxes=[{"code": "0071", "percent": "25"},
                                              {"code": "0015", "percent": "20"}])]}, "0015"),
    ({"currency": "JPY", "exchange_rate": "0.2"}, "currency"),
])
def test_unmappable_invoices_are_refused_before_any_request(change, fragment):
    calls = []
    http = httpx.Client(transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200)))
    res = BizimHesapClient(http, firm_id=FIRM).send(doc(neutral(**change)))
    assert res.outcome is Outcome.REJECTED and res.error_code == "ubltr:mapping"
    assert fragment in res.message and calls == []


def test_missing_neutral_is_a_mapping_refusal():
    res = BizimHesapClient(httpx.Client(), firm_id=FIRM).send(Document(uuid="u", xml=b"<x/>"))
    assert res.outcome is Outcome.REJECTED and "neutral" in res.message


# ----------------------------------------------------------------- answers


def answer(status: int, body=None, exc: Exception | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == ADDINVOICE_PATH and request.method == "POST"
        if exc is not None:
            raise exc
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status, text="oops")
    client = BizimHesapClient(httpx.Client(transport=httpx.MockTransport(handler)), firm_id=FIRM,
                              base_url="http://127.0.0.1:9")
    return client.send(doc(neutral()))


def test_answer_shapes_become_one_result_shape():
    ok = answer(200, {"error": "", "guid": "AB13123123CD12323", "url": "https://x/1"})
    assert ok.outcome is Outcome.ACCEPTED and ok.provider_id == "AB13123123CD12323" and ok.final
    no = answer(200, {"error": "Hatalı para birimi", "guid": "", "url": ""})
    assert no.outcome is Outcome.REJECTED and no.message == "Hatalı para birimi" and not no.retry_safe
    assert answer(429, {"error": "busy"}).outcome is Outcome.RETRYABLE
    assert answer(503, None).retry_safe
    for unknown in (answer(500, {"error": "x", "guid": "", "url": ""}), answer(502, None),
                    answer(200, None), answer(200, {"error": "", "guid": "", "url": ""}),
                    answer(0, exc=httpx.ReadTimeout("t")), answer(0, exc=httpx.RemoteProtocolError("x"))):
        assert unknown.outcome is Outcome.UNKNOWN and not unknown.retry_safe, unknown
    refused = answer(0, exc=httpx.ConnectError("refused"))
    assert refused.outcome is Outcome.RETRYABLE and refused.retry_safe


def test_capabilities_are_declared_truthfully():
    c = BizimHesapClient(httpx.Client(), firm_id=FIRM)
    assert c.supports_status is False and c.idempotent is False
    with pytest.raises(Unsupported):
        c.status("8a5f1c2e-3b4d-4e6f-9a1b-2c3d4e5f6a7b")


# ----------------------------------------------------------------- the fake, over HTTP


@pytest.fixture()
def fake():
    with FakeServer(BizimHesapFake, hold=0.3) as srv:
        yield srv


def client_for(srv: FakeServer, **over) -> BizimHesapClient:
    cfg = {"base_url": srv.url, **srv.handler.ctx.credentials, **over}
    return make_client("bizimhesap", cfg, httpx.Client(timeout=0.15))


def test_fake_accepts_and_really_books_a_resend_twice(fake):
    c = client_for(fake)
    first, second = c.send(doc(neutral())), c.send(doc(neutral()))
    assert first.outcome is second.outcome is Outcome.ACCEPTED
    assert first.provider_id != second.provider_id
    assert fake.stats()["duplicates"] == {"ABC2026000000001": 2}


def test_lost_answer_is_unknown_and_the_invoice_exists(fake):
    fake.configure({"schedule": ["lost", "timeout", "503"]})
    c = client_for(fake)
    lost = c.send(doc(neutral()))
    assert lost.outcome is Outcome.UNKNOWN and "reconcile" in lost.message
    timed_out = c.send(doc(neutral(id="ABC2026000000002")))
    assert timed_out.outcome is Outcome.UNKNOWN
    busy = c.send(doc(neutral(id="ABC2026000000003")))
    assert busy.outcome is Outcome.RETRYABLE
    # processed: the lost one; not processed: the timed-out and the 503
    assert fake.stats()["created"] == {"ABC2026000000001": 1}


def test_fake_refuses_in_the_providers_shape(fake):
    bad_firm = client_for(fake, firm_id="nope").send(doc(neutral()))
    assert bad_firm.outcome is Outcome.REJECTED and "FirmID" in bad_firm.message
    body = json.loads(BizimHesapClient(httpx.Client(), firm_id=FIRM).body_for(doc(neutral())))
    body["amounts"]["currency"] = "TRY"
    r = httpx.post(fake.url + ADDINVOICE_PATH, json=body, timeout=2)
    assert r.status_code == 200 and r.json() == {"error": "Hatalı para birimi", "guid": "", "url": ""}
    body["amounts"]["currency"] = "TL"
    body["details"][0]["tax"] = "180.01"
    assert "vergi" in httpx.post(fake.url + ADDINVOICE_PATH, json=body, timeout=2).json()["error"]
    assert fake.stats()["created"] == {}


def test_fake_reads_the_documents_own_example_format():
    """The document's example writes amounts as "2,400.00" strings; the fake reads them."""
    body = {"firmId": FIRM, "invoiceNo": "A123121", "invoiceType": 3,
            "dates": {"invoiceDate": "2017-07-08T18:45:52.516+03:00", "dueDate": "2017-07-08T18:45:52.516+03:00"},
            "customer": {"customerId": 6761, "title": "Deneme Müşterisi Ltd. Şti."},
            "amounts": {"currency": "TL", "gross": "2,400.00", "discount": "0.00", "net": "2,400.00",
                        "tax": "432.00", "total": "2,832.00"},
            "details": [{"productId": 13372, "productName": "deneme ürünü", "taxRate": "18.00", "quantity": 2,
                         "unitPrice": "1200.00", "grossPrice": "2,400.00", "discount": "0.00",
                         "net": "2,400.00", "tax": "432.00", "total": "2,832.00"}]}
    with FakeServer(BizimHesapFake) as srv:
        r = httpx.post(srv.url + ADDINVOICE_PATH, content=json.dumps(body), timeout=2).json()
        assert r["error"] == "" and r["guid"]
        # the document's example itself has line total 2,400.00 (= net, not net + tax): refused
        body["details"][0]["total"] = "2,400.00"
        assert "toplam" in httpx.post(srv.url + ADDINVOICE_PATH, json=body, timeout=2).json()["error"]
    req = FakeRequest("POST", ADDINVOICE_PATH, {}, {}, json.dumps({"invoiceNo": ""}).encode())
    assert BizimHesapFake.__new__(BizimHesapFake).key_of(req).startswith("sha256:")
