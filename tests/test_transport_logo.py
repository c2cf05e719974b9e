"""Logo MaxiApi InvoiceTransfer: LineParams from our engine, producer invoices, answers, the fake."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from test_transport_bizimhesap import doc, invoices, neutral
from ubltr import calc, model
from ubltr.transport.base import Outcome, Unsupported
from ubltr.transport.fake.logo import LogoFake
from ubltr.transport.fake.server import FakeServer
from ubltr.transport.logo import (PRODUCER_INVOICE, SALES_INVOICE, TRANSFER_PATH, LogoClient, MappingError,
                                  source_id_for, to_invoice_transfer)
from ubltr.transport.registry import make_client


def body_of(n: dict, **kw) -> list:
    client = LogoClient(httpx.Client(), firm_id=1, period_no=1, **kw)
    return json.loads(client.body_for(doc(n)), parse_float=Decimal)


def test_sales_invoice_maps_to_hand_checked_line_params():
    (firm,) = body_of(neutral())
    assert (firm["FirmID"], firm["PeriodNo"]) == (1, 1)
    (main,) = firm["MainParams"]
    assert main["InvoiceType"] == SALES_INVOICE and main["InvoiceRefNo"] == 0
    assert main["SourceID"] == "8a5f1c2e" and main["InvoiceNo"] == "ABC2026000000001"
    assert (main["InvoiceDate"], main["InvoiceTime"]) == ("2026-11-20", "10:30:00")
    assert main["ClientCode"] == "10000000146"
    (line,) = main["LineParams"]
    # 2 x 450.00, KDV 20: LineTotal is our net 900.00 (checked by hand)
    assert line == {"ItemCode": "Klavye", "LineType": 4, "Quantity": Decimal("2"), "UnitCode": "ADET",
                    "UnitPrice": Decimal("450.00"), "VatRate": Decimal("20"), "LineTotal": Decimal("900.00")}


def test_producer_invoice_type_26_with_withholding_fraction():
    n = neutral(type="TEVKIFAT", lines=[{"name": "Buğday", "code": "100.01.010", "quantity": "1000",
                                         "unit": "KGM", "unit_price": "9.85",
                                         "taxes": [{"code": "0015", "percent": "10"}],
                                         "withholding": {"code": "602", "percent": "90"}}])
    (main,) = body_of(n, invoice_type=PRODUCER_INVOICE)[0]["MainParams"]
    assert main["InvoiceType"] == 26
    (line,) = main["LineParams"]
    assert line["ItemCode"] == "100.01.010" and line["UnitCode"] == "KG"
    assert line["LineTotal"] == Decimal("9850.00")
    assert (line["Deducation"], line["DeducationCode"], line["DeducationPart1"], line["DeducationPart2"]) == (
        "1", "602", "9", "10")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=invoices(doc_allowances=False))
def test_line_totals_equal_the_engine_and_the_fake_accepts_them(n):
    for ln in n["lines"]:
        ln.pop("allowances", None)   # line discounts are refused (see test below)
    totals = calc.compute(model.load(n))
    (main,) = body_of(n)[0]["MainParams"]
    for p, lt, ln in zip(main["LineParams"], totals.lines, n["lines"], strict=True):
        assert str(p["LineTotal"]) == str(lt.net)
        assert str(p["Quantity"]) == ln["quantity"] and str(p["UnitPrice"]) == ln["unit_price"]
        assert str(p["VatRate"]) == str(lt.taxes[-1].percent)
    assert LogoFake.__new__(LogoFake)._check(main) is None


@pytest.mark.parametrize("change, fragment", [
    ({"allowances": [{"reason": "x", "amount": "1.00"}]}, "allowances"),
    ({"lines": [dict(neutral()["lines"][0], allowances=[{"rate": "10"}])]}, "enumerations"),
    ({"currency": "USD", "exchange_rate": "32.5"}, "currency"),
    ({"lines": [dict(neutral()["lines"][0], unit="XYZ")]}, "unit"),
    ({"lines": [dict(neutral()["lines"][0], code="X" * 26)]}, "ItemCode"),
])
def test_unmappable_invoices_are_refused_before_any_request(change, fragment):
    calls = []
    http = httpx.Client(transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200)))
    res = LogoClient(http, firm_id=1, period_no=1).send(doc(neutral(**change)))
    assert res.outcome is Outcome.REJECTED and res.error_code == "ubltr:mapping", res
    assert fragment in res.message and calls == []


def test_nets_must_belong_to_the_invoice():
    with pytest.raises(MappingError):
        to_invoice_transfer(model.load(neutral()), [], firm_id=1, period_no=1, source_id="x")


def answer(status: int, body=None, exc: Exception | None = None):
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == TRANSFER_PATH and request.headers["authorization"] == "Basic eDp5"
        if exc is not None:
            raise exc
        return httpx.Response(status, json=body) if body is not None else httpx.Response(status, text="")
    client = LogoClient(httpx.Client(transport=httpx.MockTransport(handler)), firm_id=1, period_no=1,
                        base_url="http://127.0.0.1:9", authorization="Basic eDp5")
    return client.send(doc(neutral()))


def line(ok: bool, msg: str, source: str = "8a5f1c2e") -> dict:
    return {"SourceID": source, "Isucceed": ok, "RecordRef": "17" if ok else "", "RecordFicheNo": "00000017" if ok else "",
            "ResponseMsg": msg}


def test_answer_shapes_become_one_result_shape():
    ok = answer(200, {"TransferStatus": True, "TransferMessage": "Transfer Completed!",
                      "Responseline": [line(True, "Aktarım Başarılı")]})
    assert (ok.outcome, ok.provider_id, ok.invoice_number) == (Outcome.ACCEPTED, "17", "00000017")
    no = answer(200, {"TransferStatus": True, "TransferMessage": "x",
                      "Responseline": [line(False, "ClientCode bulunamadı")]})
    assert no.outcome is Outcome.REJECTED and no.message == "ClientCode bulunamadı"
    denied = answer(200, {"TransferStatus": False, "TransferMessage": "Firma yok", "Responseline": []})
    assert denied.outcome is Outcome.REJECTED and denied.message == "Firma yok"
    assert answer(429, {}).outcome is Outcome.RETRYABLE and answer(503).retry_safe
    # an injected 500 in the provider's shape is still unknown, never a rejection
    for unknown in (answer(500, {"TransferStatus": False, "TransferMessage": "boom", "Responseline": []}),
                    answer(200, {"TransferStatus": True, "Responseline": [line(True, "x", source="other")] * 2}),
                    answer(200), answer(0, exc=httpx.ReadTimeout("t"))):
        assert unknown.outcome is Outcome.UNKNOWN and not unknown.retry_safe, unknown
    assert answer(0, exc=httpx.ConnectError("refused")).outcome is Outcome.RETRYABLE


def test_capabilities_are_declared_truthfully():
    c = LogoClient(httpx.Client(), firm_id=1, period_no=1)
    assert c.supports_status is False and c.idempotent is False
    with pytest.raises(Unsupported):
        c.status("8a5f1c2e-3b4d-4e6f-9a1b-2c3d4e5f6a7b")
    assert source_id_for("8a5f1c2e-3b4d-4e6f-9a1b-2c3d4e5f6a7b") == "8a5f1c2e"


@pytest.fixture()
def fake():
    with FakeServer(LogoFake, hold=0.3) as srv:
        yield srv


def client_for(srv: FakeServer, **over) -> LogoClient:
    return make_client("logo", {"base_url": srv.url, **srv.handler.ctx.credentials, **over},
                       httpx.Client(timeout=0.15))


def test_fake_books_a_resend_twice_and_lost_answers_are_unknown(fake):
    c = client_for(fake)
    assert c.send(doc(neutral())).outcome is Outcome.ACCEPTED
    fake.configure({"schedule": ["lost", "timeout"]})
    assert c.send(doc(neutral())).outcome is Outcome.UNKNOWN     # processed, answer lost
    assert c.send(doc(neutral(id="ABC2026000000002"))).outcome is Outcome.UNKNOWN  # not processed
    assert fake.stats()["created"] == {"ABC2026000000001": 2}   # InvoiceRefNo 0 = a new record


def test_fake_checks_firm_auth_and_document_columns(fake):
    wrong = client_for(fake, firm_id=7).send(doc(neutral()))
    assert wrong.outcome is Outcome.REJECTED and "Firma" in wrong.message
    (firm,) = body_of(neutral())
    firm["MainParams"][0]["InvoiceDate"] = "20.11.2026"
    r = httpx.post(fake.url + TRANSFER_PATH, json=[json.loads(json.dumps(firm, default=str))], timeout=2).json()
    assert r["TransferStatus"] is True and r["Responseline"][0]["Isucceed"] is False
    assert "InvoiceDate" in r["Responseline"][0]["ResponseMsg"]
    assert fake.stats()["created"] == {}
    with FakeServer(LogoFake, credentials={"authorization": "Basic eDp5"}) as locked:
        denied = client_for(locked, authorization="").send(doc(neutral()))
        assert denied.outcome is Outcome.RETRYABLE and denied.http_status == 401
        assert client_for(locked).send(doc(neutral())).outcome is Outcome.ACCEPTED


@pytest.mark.parametrize("where, key, value, words", [
    ("main", "InvoiceType", 3, "InvoiceType"),          # a return type the company (and the page) does not define
    ("line", "UnitCode", "KUTU", "birim setinde yok"),   # not an opened unit set
])
def test_fake_refuses_types_and_unit_sets_the_company_lacks(fake, where, key, value, words):
    (firm,) = body_of(neutral())
    target = firm["MainParams"][0] if where == "main" else firm["MainParams"][0]["LineParams"][0]
    target[key] = value
    r = httpx.post(fake.url + TRANSFER_PATH, json=[json.loads(json.dumps(firm, default=str))], timeout=2).json()
    assert r["Responseline"][0]["Isucceed"] is False and words in r["Responseline"][0]["ResponseMsg"]
    assert fake.stats()["created"] == {}


@pytest.mark.parametrize("notes, fragment", [
    (["a", "b", "c", "d"], "three Description fields"),
    (["x" * 52], "51 characters"),
])
def test_notes_maxiapi_cannot_hold_are_refused_not_cut(notes, fragment):
    # old code: the first three notes, each cut to 51 characters, without a word
    calls = []
    http = httpx.Client(transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200)))
    res = LogoClient(http, firm_id=1, period_no=1).send(doc(neutral(notes=notes)))
    assert res.outcome is Outcome.REJECTED and fragment in res.message and calls == []
    (main,) = body_of(neutral(notes=["x" * 51, "y", "z"]))[0]["MainParams"]
    assert (main["Description1"], main["Description3"]) == ("x" * 51, "z")
