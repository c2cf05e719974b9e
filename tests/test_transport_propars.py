"""Propars sale invoices: requests as documented, answers, the fake with its sale-code key."""

from __future__ import annotations

import uuid as _uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_transport_bizimhesap import neutral
from ubltr.transport.base import Document, Outcome
from ubltr.transport.fake.propars import ProparsFake
from ubltr.transport.fake.server import FAULT_KINDS, FakeServer
from ubltr.transport.propars import (CANCEL_PATH, SEND_PATH, SIGNED_XML_PATH, ProparsClient, invoice_date_param,
                                     sale_code_for)
from ubltr.transport.registry import make_client

UUID = "8a5f1c2e-3b4d-4e6f-9a1b-2c3d4e5f6a7b"


def doc(uuid: str = UUID, number: str | None = "ABC2026000000001", **changes) -> Document:
    n = neutral(uuid=uuid, **changes)
    return Document(uuid=uuid, xml=b"", invoice_id=number, neutral=n)


def signed(uuid: str, number: str = "ABC2026000000001") -> bytes:
    return (f'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
            f'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
            f'<cbc:ID>{number}</cbc:ID><cbc:UUID>{uuid}</cbc:UUID></Invoice>').encode()


def mock(routes: dict, seen: list | None = None) -> ProparsClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        out = routes[(request.method, request.url.path)]
        if isinstance(out, Exception):
            raise out
        return out
    return ProparsClient(httpx.Client(transport=httpx.MockTransport(handler)), token="s3cret",
                         base_url="http://127.0.0.1:9")


def test_send_request_is_the_documented_one():
    seen: list = []
    c = mock({("POST", SEND_PATH): httpx.Response(200, json={"id": 42, "uuid": UUID,
                                                             "invoice_number": "ABC2026000000001"})}, seen)
    res = c.send(doc(order_reference={"id": "SIP-1001", "issue_date": "2026-11-19"}))
    assert (res.outcome, res.provider_id, res.invoice_number) == (Outcome.ACCEPTED, "42", "ABC2026000000001")
    (req,) = seen
    assert req.headers["authorization"] == "Token s3cret"
    assert dict(req.url.params) == {"sale_code": "SIP-1001", "invoice_uuid": UUID,
                                    "invoice_number": "ABC2026000000001",
                                    "invoice_date": "2026-11-20T10:30:00+0300"}
    assert "s3cret" not in repr(c)


def test_sale_code_and_date_helpers():
    assert sale_code_for(doc()) == UUID
    assert sale_code_for(doc(order_reference={"id": " SIP-9 ", "issue_date": "2026-11-19"})) == "SIP-9"
    assert invoice_date_param({"issue_date": "2018-05-02", "issue_time": "09:00:00"}) == "2018-05-02T09:00:00+0300"
    assert invoice_date_param(None) is None


def test_answers_become_one_result_shape():
    def send(resp, status_resp=httpx.Response(404, json={"detail": "Not found."})):
        return mock({("POST", SEND_PATH): resp, ("GET", SIGNED_XML_PATH): status_resp}).send(doc())
    assert send(httpx.Response(429, json={"detail": "Throttled"})).outcome is Outcome.RETRYABLE
    assert send(httpx.Response(503, text="")).retry_safe
    for exc in (httpx.ReadTimeout("t"), httpx.RemoteProtocolError("gone")):
        assert send(exc).outcome is Outcome.UNKNOWN
    assert send(httpx.Response(500, json={"detail": "x"})).outcome is Outcome.UNKNOWN
    assert send(httpx.ConnectError("refused")).outcome is Outcome.RETRYABLE
    bad = send(httpx.Response(400, json={"invoice_uuid": ["uuid version 4 formatında olmalıdır."]}))
    assert bad.outcome is Outcome.REJECTED and "invoice_uuid" in bad.message and bad.error_code == "400"
    auth = send(httpx.Response(401, json={"detail": "Invalid token."}))
    assert auth.outcome is Outcome.RETRYABLE and auth.http_status == 401   # the outbox stops on this
    # "already sent" for our own earlier attempt resolves to the stored invoice
    dup = send(httpx.Response(400, json={"detail": "zaten gönderilmiş"}), httpx.Response(200, content=signed(UUID)))
    assert dup.outcome is Outcome.ACCEPTED and dup.invoice_number == "ABC2026000000001"
    other = send(httpx.Response(400, json={"detail": "zaten"}), httpx.Response(200, content=signed(str(_uuid.uuid4()))))
    assert other.outcome is Outcome.REJECTED


def test_status_reads_signed_xml_safely():
    def status(resp):
        return mock({("GET", SIGNED_XML_PATH): resp}).status(UUID)
    assert status(httpx.Response(200, content=signed(UUID))).outcome is Outcome.ACCEPTED
    assert status(httpx.Response(404, json={"detail": "Not found."})).outcome is Outcome.RETRYABLE
    evil = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + signed("&e;")
    assert status(httpx.Response(200, content=evil)).outcome is Outcome.UNKNOWN
    assert status(httpx.ReadTimeout("t")).outcome is Outcome.UNKNOWN


def test_non_v4_uuid_is_refused_locally():
    seen: list = []
    res = mock({}, seen).send(doc(uuid="8a5f1c2e-3b4d-1e6f-9a1b-2c3d4e5f6a7b"))
    assert res.outcome is Outcome.REJECTED and seen == []


# ----------------------------------------------------------------- the fake


@pytest.fixture()
def fake():
    with FakeServer(ProparsFake, hold=0.3) as srv:
        yield srv


def client_for(srv: FakeServer, **over) -> ProparsClient:
    return make_client("propars", {"base_url": srv.url, **srv.handler.ctx.credentials, **over},
                       httpx.Client(timeout=0.15))


def test_lost_answer_then_status_then_resend_never_duplicates(fake):
    c = client_for(fake)
    fake.configure({"schedule": ["lost"]})
    assert c.send(doc()).outcome is Outcome.UNKNOWN
    assert c.status(UUID).outcome is Outcome.ACCEPTED
    again = c.send(doc())                      # a resend is answered "already sent", resolved
    assert again.outcome is Outcome.ACCEPTED
    assert fake.stats()["created"] == {UUID: 1}


def test_timeout_is_not_processed_and_status_says_so(fake):
    c = client_for(fake)
    fake.configure({"schedule": ["timeout"]})
    assert c.send(doc()).outcome is Outcome.UNKNOWN
    assert c.status(UUID).outcome is Outcome.RETRYABLE   # no such invoice: a send is safe
    assert c.send(doc()).outcome is Outcome.ACCEPTED


def test_fake_auth_validation_preview_fetch_cancel(fake):
    assert client_for(fake, token="wrong").send(doc()).http_status == 401
    c = client_for(fake)
    bad = c.send(doc(number="abc"))
    assert bad.outcome is Outcome.REJECTED and "invoice_number" in bad.message
    assert "ETTN" in c.preview(doc())                     # preview creates (documented)
    assert c.status(UUID).outcome is Outcome.RETRYABLE     # created, not sent
    assert c.send(doc()).outcome is Outcome.ACCEPTED       # sends the created invoice
    assert b"<cbc:UUID>" + UUID.encode() in c.fetch(doc())
    assert c.cancel(doc()).outcome is Outcome.ACCEPTED     # e-Arşiv: cancellable
    ef = doc(uuid=str(_uuid.uuid4()), order_reference={"id": "EF-77", "issue_date": "2026-11-19"})
    assert c.send(ef).outcome is Outcome.ACCEPTED
    refused = c.cancel(ef)
    assert refused.outcome is Outcome.REJECTED and "e-arşiv" in refused.message
    missing = c.send(doc(uuid=str(_uuid.uuid4()), order_reference={"id": "MISSING-1", "issue_date": "2026-11-19"}))
    assert missing.outcome is Outcome.REJECTED and missing.http_status == 404
    assert httpx.patch(fake.url + CANCEL_PATH, params={"sale_code": "x"}).status_code == 401


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(faults=st.lists(st.sampled_from(["ok", "503", "429", "500", "timeout", "lost"]), min_size=1, max_size=8))
def test_any_fault_sequence_ends_accepted_exactly_once(fake, faults):
    """Send, and on UNKNOWN ask for the status, as the outbox does: bounded, never a duplicate."""
    fake.reset()
    fake.configure({"schedule": faults, "hold": 0.2})
    c = client_for(fake)
    d = doc(uuid=str(_uuid.uuid4()))
    state = c.send(d).outcome
    for _ in range(2 * len(faults) + 2):
        if state is Outcome.ACCEPTED:
            break
        state = c.status(d.uuid).outcome if state is Outcome.UNKNOWN else c.send(d).outcome
    assert state is Outcome.ACCEPTED
    assert fake.stats()["created"] == {d.uuid: 1} and set(FAULT_KINDS) >= set(fake.stats()["faults"])
