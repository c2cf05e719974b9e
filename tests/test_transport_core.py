"""The fake-server framework and the shared transport helpers."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ubltr.transport.base import Document, Outcome, failure_result, http_failure
from ubltr.transport.fake.server import (FAULT_KINDS, FakeRequest, FakeResponse, FakeServer, FaultPlan, Handler,
                                         basic_validator)

SAMPLE_HEAD = (b'<?xml version="1.0"?><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
               b'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">')


def invoice(uuid: str, number: str = "ABC2024000000001") -> bytes:
    return SAMPLE_HEAD + (f"<cbc:ProfileID>TEMELFATURA</cbc:ProfileID><cbc:ID>{number}</cbc:ID>"
                          f"<cbc:UUID>{uuid}</cbc:UUID></Invoice>").encode()


class Echo(Handler):
    """A minimal provider: POST /docs/{key} stores a document, GET reads it."""

    name = "echo"
    idempotency = "key"

    def handle(self, req: FakeRequest) -> FakeResponse:
        key = req.path.rsplit("/", 1)[-1]
        if req.method == "POST":
            created, _ = self.ctx.ledger.create(key, {"body": req.body})
            return FakeResponse.json(201 if created else 409, {"key": key})
        rec = self.ctx.ledger.get(key)
        return FakeResponse.json(200 if rec else 404, {"key": key})

    def key_of(self, req: FakeRequest) -> str | None:
        return req.path.rsplit("/", 1)[-1]


@pytest.fixture()
def echo():
    with FakeServer(Echo, hold=1.0) as srv:  # hold well past the client timeouts: load-proof
        yield srv


def test_schedule_drives_each_fault_kind(echo):
    echo.configure({"schedule": ["503", "429", "500", "timeout", "lost", "ok"]})
    with httpx.Client(base_url=echo.url, timeout=0.5) as c:
        assert c.post("/docs/a").status_code == 503
        assert c.post("/docs/b").status_code == 429
        assert c.post("/docs/c").status_code == 500
        with pytest.raises(httpx.ReadTimeout):
            c.post("/docs/d")
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/docs/e")
        assert c.post("/docs/f").status_code == 201
        assert c.post("/docs/e").status_code == 409  # the lost request was processed
        assert c.get("/docs/d").status_code == 404    # the timed-out one was not
        stats = c.get("/_fake/stats").json()
    assert stats["faults"] == {"503": 1, "429": 1, "500": 1, "timeout": 1, "lost": 1}
    assert set(stats["created"]) == {"e", "f"}
    processed = {e["key"]: e["processed"] for e in stats["events"]}
    assert processed == {"a": False, "b": False, "c": False, "d": False, "e": True}


def test_late_fault_processes_then_answers_after_client_gave_up(echo):
    echo.configure({"schedule": ["late"], "hold": 1.0})
    with httpx.Client(base_url=echo.url, timeout=0.5) as c:
        with pytest.raises(httpx.ReadTimeout):
            c.post("/docs/z")
    with httpx.Client(base_url=echo.url, timeout=2) as c:
        assert c.get("/docs/z").status_code == 200


@settings(max_examples=30, deadline=None)
@given(rate=st.floats(0, 1), seed=st.integers(0, 2**32))
def test_fault_plan_is_seeded_and_respects_rate(rate, seed):
    p1, p2 = FaultPlan(rate, seed), FaultPlan(rate, seed)
    seq1 = [p1.next() for _ in range(200)]
    assert seq1 == [p2.next() for _ in range(200)]
    assert all(k is None or k in FAULT_KINDS for k in seq1)
    if rate == 0:
        assert seq1 == [None] * 200
    if rate == 1:
        assert None not in seq1


def test_fault_plan_rejects_unknown_kinds():
    with pytest.raises(ValueError):
        FaultPlan(0.1, schedule=["explode"])
    with pytest.raises(ValueError):
        FaultPlan(1.5)


def test_control_endpoints_reset(echo):
    with httpx.Client(base_url=echo.url) as c:
        c.post("/docs/x")
        assert c.get("/_fake/stats").json()["documents"] == 1
        c.post("/_fake/reset")
        assert c.get("/_fake/stats").json()["documents"] == 0
        assert c.post("/_fake/faults", json={"schedule": ["bogus"]}).status_code == 400


def test_multipart_file_is_read():
    req = httpx.Request("POST", "http://x/", files={"file": ("a.xml", b"<a/>", "text/xml")})
    body = req.read()
    fr = FakeRequest("POST", "/", {}, {k.lower(): v for k, v in req.headers.items()}, body)
    assert fr.multipart_file() == b"<a/>"
    assert fr.multipart_file("other") is None


def test_basic_validator_and_document_identity():
    doc = Document.from_xml(invoice("11111111-2222-3333-4444-555555555555"))
    assert (doc.uuid, doc.invoice_id, doc.profile) == ("11111111-2222-3333-4444-555555555555",
                                                        "ABC2024000000001", "TEMELFATURA")
    assert basic_validator(invoice("u")).valid
    assert not basic_validator(b"<nope").valid
    assert not basic_validator(b"<Other/>").valid
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><Invoice>&e;</Invoice>'
    assert not basic_validator(evil).valid
    with pytest.raises(ValueError, match="UUID"):
        Document.from_xml(SAMPLE_HEAD + b"</Invoice>")


def test_gib_sample_identity(tmp_path):
    from conftest import shared

    xml = shared("gib", "UBLTR_1.2.1_Paketi", "xml", "TemelFaturaOrnegi.xml").read_bytes()
    doc = Document.from_xml(xml)
    assert doc.uuid == "F47AC10B-58CC-4372-A567-0E02B2C3D479"
    assert basic_validator(xml).valid


def test_failure_classification():
    req = httpx.Request("POST", "http://127.0.0.1/")
    assert failure_result("p", "u", httpx.ConnectError("x", request=req)).outcome is Outcome.RETRYABLE
    assert failure_result("p", "u", httpx.ReadTimeout("x", request=req)).outcome is Outcome.UNKNOWN
    assert failure_result("p", "u", httpx.RemoteProtocolError("x", request=req)).outcome is Outcome.UNKNOWN
    for code, outcome in [(429, Outcome.RETRYABLE), (503, Outcome.RETRYABLE), (500, Outcome.UNKNOWN),
                          (502, Outcome.UNKNOWN), (504, Outcome.UNKNOWN)]:
        r = http_failure("p", "u", httpx.Response(code, request=req))
        assert r is not None and r.outcome is outcome and r.retry_safe == (outcome is Outcome.RETRYABLE)
    assert http_failure("p", "u", httpx.Response(400, request=req)) is None
