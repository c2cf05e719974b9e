"""Propars sale invoices: requests as documented, answers, the fake with its sale-code key."""

from __future__ import annotations

import uuid as _uuid

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_transport_bizimhesap import neutral
from ubltr.outbox import Outbox, Sender, SendPolicy, State
from ubltr.transport.base import Document, Outcome
from ubltr.transport.fake.propars import ProparsFake
from ubltr.transport.fake.server import FAULT_KINDS, FakeServer
from ubltr.transport.propars import (ALREADY_SENT, CANCEL_PATH, CONFLICT, SEND_PATH, SIGNED_XML_PATH,
                                     LookupFailed, NotFound, ProparsClient, SaleConflict, invoice_date_param,
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


def mock(routes: dict, seen: list | None = None, **kw) -> ProparsClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        out = routes[(request.method, request.url.path)]
        if isinstance(out, Exception):
            raise out
        return out
    return ProparsClient(httpx.Client(transport=httpx.MockTransport(handler)), token="s3cret",
                         base_url="http://127.0.0.1:9", **kw)


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
    theirs = str(_uuid.uuid4())
    other = send(httpx.Response(400, json={"detail": "zaten"}), httpx.Response(200, content=signed(theirs)))
    assert other.outcome is Outcome.REJECTED and other.error_code == CONFLICT


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


# ----------------------------------------------------------------- status: a failed lookup is never "not found"

TRANSPORT_ERRORS = [httpx.ReadTimeout("t"), httpx.WriteTimeout("t"), httpx.ConnectTimeout("t"), httpx.PoolTimeout("t"),
                    httpx.ConnectError("refused"), httpx.ReadError("reset"), httpx.RemoteProtocolError("gone")]
OTHER = str(_uuid.uuid4())
BODIES = {"ours": signed(UUID), "other": signed(OTHER), "json": b'{"detail": "Not found."}', "empty": b"",
          "html": b"<html><body>Bad Gateway</body></html>", "no-uuid": signed("").replace(b"<cbc:UUID></cbc:UUID>", b"")}


@settings(max_examples=300, deadline=None)
@given(code=st.integers(200, 599), body=st.sampled_from(sorted(BODIES)))
def test_status_outcome_for_any_http_answer(code, body):
    """RETRYABLE ("no such invoice, a send is safe") only for Propars' 404; ACCEPTED
    only for a served invoice with our ETTN; another ETTN is a conflict; anything
    else (429, 503, 5xx, 401/403, other 4xx, unreadable 200) is UNKNOWN."""
    r = mock({("GET", SIGNED_XML_PATH): httpx.Response(code, content=BODIES[body])}).status(UUID)
    if code == 404:
        assert (r.outcome, r.http_status, r.retry_safe) == (Outcome.RETRYABLE, 404, True)
    elif code == 200 and body == "ours":
        assert r.outcome is Outcome.ACCEPTED and r.invoice_number == "ABC2026000000001"
    elif code == 200 and body == "other":
        assert r.outcome is Outcome.REJECTED and r.error_code == CONFLICT
        assert UUID in r.message and OTHER in r.message
    else:
        assert r.outcome is Outcome.UNKNOWN, (code, body, r)
        assert r.http_status == code and not r.retry_safe


@pytest.mark.parametrize("code", [429, 503])
def test_throttled_status_question_is_unknown_not_not_found(code):
    """The reliability run's defect: 429/503 on the lookup read as "no such document"."""
    r = mock({("GET", SIGNED_XML_PATH): httpx.Response(code, json={"detail": "Throttled"},
                                                       headers={"Retry-After": "1"})}).status(UUID)
    assert r.outcome is Outcome.UNKNOWN and r.http_status == code and "ask again" in r.message


@pytest.mark.parametrize("exc", TRANSPORT_ERRORS, ids=lambda e: type(e).__name__)
def test_status_without_an_answer_is_unknown(exc):
    """Even a refused connection (which makes a *send* safely retryable) leaves the
    lookup unanswered: it is UNKNOWN, not "not found"."""
    r = mock({("GET", SIGNED_XML_PATH): exc}).status(UUID)
    assert r.outcome is Outcome.UNKNOWN and r.http_status is None and r.error_code == type(exc).__name__


def test_fetch_tells_not_found_from_unanswered_and_from_another_invoice():
    def fetch(resp, ref=UUID):
        return mock({("GET", SIGNED_XML_PATH): resp}).fetch(ref)
    assert fetch(httpx.Response(200, content=signed(UUID))) == signed(UUID)
    with pytest.raises(NotFound):
        fetch(httpx.Response(404, json={"detail": "Not found."}))
    for failure in (httpx.Response(429), httpx.Response(503), httpx.Response(500), httpx.Response(401),
                    *TRANSPORT_ERRORS):
        with pytest.raises(LookupFailed) as info:
            fetch(failure)
        assert not isinstance(info.value, NotFound)
        if isinstance(failure, httpx.Response):
            assert info.value.http_status == failure.status_code
    with pytest.raises(SaleConflict, match=OTHER):
        fetch(httpx.Response(200, content=signed(OTHER)))
    # by a bare sale code there is no ETTN to compare
    assert fetch(httpx.Response(200, content=signed(OTHER)), "SIP-1") == signed(OTHER)


# ----------------------------------------------------------------- send: "already sent" settled by the lookup

DUP = httpx.Response(400, json={"detail": "SIP-1 siparişinin faturası zaten gönderilmiş."})
FIELD_ERROR = httpx.Response(400, json={"invoice_number": ["Fatura numarası 16 karakter olmalıdır."]})


@pytest.mark.parametrize("refusal, lookup, outcome, code", [
    (DUP, httpx.Response(200, content=signed(UUID)), Outcome.ACCEPTED, ALREADY_SENT),
    (httpx.Response(409, json={"detail": "conflict"}), httpx.Response(200, content=signed(UUID)),
     Outcome.ACCEPTED, ALREADY_SENT),
    (DUP, httpx.Response(200, content=signed(OTHER)), Outcome.REJECTED, CONFLICT),
    (DUP, httpx.Response(429), Outcome.UNKNOWN, "400"),
    (DUP, httpx.Response(503), Outcome.UNKNOWN, "400"),
    (DUP, httpx.ReadTimeout("t"), Outcome.UNKNOWN, "400"),
    (DUP, httpx.ConnectError("refused"), Outcome.UNKNOWN, "400"),
    (DUP, httpx.Response(404, json={"detail": "Not found."}), Outcome.UNKNOWN, "400"),  # contradiction: not guessed
    (FIELD_ERROR, httpx.Response(404, json={"detail": "Not found."}), Outcome.REJECTED, "400"),
    (FIELD_ERROR, httpx.Response(503), Outcome.UNKNOWN, "400"),
    (FIELD_ERROR, httpx.Response(200, content=signed(UUID)), Outcome.ACCEPTED, ALREADY_SENT),
], ids=["dup-ours", "409-ours", "dup-other", "dup-429", "dup-503", "dup-timeout", "dup-refused", "dup-404",
        "field-404", "field-503", "field-ours"])
def test_refused_send_is_settled_by_the_sales_invoice(refusal, lookup, outcome, code):
    seen: list = []
    c = mock({("POST", SEND_PATH): refusal, ("GET", SIGNED_XML_PATH): lookup}, seen)
    r = c.send(doc(order_reference={"id": "SIP-1", "issue_date": "2026-11-19"}))
    assert (r.outcome, r.error_code) == (outcome, code), r
    assert [(q.method, q.url.params["sale_code"]) for q in seen] == [("POST", "SIP-1"), ("GET", "SIP-1")]
    if outcome is Outcome.REJECTED and code == CONFLICT:
        assert UUID in r.message and OTHER in r.message and "SIP-1" in r.message
    if outcome is Outcome.UNKNOWN:
        assert "before any resend" in r.message


def test_send_answered_with_another_invoice_is_a_conflict():
    """Propars sends a sale's already created invoice as it is (invoice_uuid applies to
    an invoice being created): a 200 under another ETTN did not issue our document."""
    r = mock({("POST", SEND_PATH): httpx.Response(200, json={"id": 7, "uuid": OTHER,
                                                             "invoice_number": "PRP2026000000007"})}).send(doc())
    assert r.outcome is Outcome.REJECTED and r.error_code == CONFLICT and r.provider_id == "7"
    assert UUID in r.message and OTHER in r.message
    same = mock({("POST", SEND_PATH): httpx.Response(200, json={"id": 7, "uuid": UUID.upper()})}).send(doc())
    assert same.outcome is Outcome.ACCEPTED


def test_cancel_repeated_after_a_lost_answer_is_accepted():
    c = mock({("PATCH", CANCEL_PATH): httpx.Response(400, json={"detail": "Fatura zaten iptal edilmiş."})})
    assert (c.cancel(UUID).outcome, c.cancel(UUID).error_code) == (Outcome.ACCEPTED, "AlreadyCancelled")
    c = mock({("PATCH", CANCEL_PATH): httpx.Response(400, json={"detail": "Yalnızca e-arşiv faturaları ..."})})
    assert c.cancel(UUID).outcome is Outcome.REJECTED


def test_status_by_uuid_finds_the_order_reference_through_documents():
    order = doc(order_reference={"id": "SIP-7", "issue_date": "2026-11-19"})
    seen: list = []
    c = mock({("GET", SIGNED_XML_PATH): httpx.Response(200, content=signed(UUID))}, seen,
             documents={UUID: order}.get)
    assert c.status(UUID).outcome is Outcome.ACCEPTED
    assert seen[-1].url.params["sale_code"] == "SIP-7"
    # without the resolver a fresh client can only take the UUID as the sale code
    plain = mock({("GET", SIGNED_XML_PATH): httpx.Response(404)}, seen)
    plain.status(UUID)
    assert seen[-1].url.params["sale_code"] == UUID
    # a resolver that fails leaves the question unanswered, without a request
    def broken(_uuid: str) -> Document:
        raise RuntimeError("database is locked")
    before = len(seen)
    r = mock({}, seen, documents=broken).status(UUID)
    assert r.outcome is Outcome.UNKNOWN and r.error_code == "ubltr:sale-code" and len(seen) == before


# ----------------------------------------------------------------- the fixed paths over real HTTP


@pytest.mark.parametrize("kind", ["503", "429", "500", "timeout", "lost", "late"])
def test_fake_faulted_status_question_is_unknown(fake, kind):
    c = client_for(fake)
    sent, unsent = doc(), doc(uuid=str(_uuid.uuid4()))
    assert c.send(sent).outcome is Outcome.ACCEPTED
    for d, answered in ((sent, Outcome.ACCEPTED), (unsent, Outcome.RETRYABLE)):
        fake.configure({"schedule": [kind], "hold": 0.3})
        r = c.status(d.uuid)
        assert r.outcome is Outcome.UNKNOWN, (kind, r)
        assert c.status(d.uuid).outcome is answered      # asked again: the real answer
    assert fake.stats()["created"] == {UUID: 1}


def test_fake_duplicate_send_ends_accepted_and_lookup_failure_unknown(fake):
    c = client_for(fake)
    fake.configure({"schedule": ["lost"]})
    assert c.send(doc()).outcome is Outcome.UNKNOWN          # Propars has it; the answer was lost
    fake.configure({"schedule": ["ok", "503"]})              # resend: 400 "zaten", then the lookup is throttled
    r = c.send(doc())
    assert r.outcome is Outcome.UNKNOWN and r.http_status == 400
    r = c.send(doc())                                        # 400 "zaten", lookup finds our ETTN
    assert (r.outcome, r.error_code, r.invoice_number) == (Outcome.ACCEPTED, ALREADY_SENT, "ABC2026000000001")
    assert fake.stats()["created"] == {UUID: 1}


def test_fake_sale_invoiced_under_another_uuid_is_a_conflict(fake):
    c = client_for(fake)
    ref = {"id": "SIP-42", "issue_date": "2026-11-19"}
    first = doc(uuid=OTHER, number="ABC2026000000009", order_reference=ref)
    assert "ETTN" in c.preview(first)                       # someone created the sale's invoice as OTHER
    ours = doc(order_reference=ref)
    r = c.send(ours)                                         # Propars sends the created invoice as it is
    assert r.outcome is Outcome.REJECTED and r.error_code == CONFLICT and OTHER in r.message and UUID in r.message
    again = c.send(ours)                                     # now 400 "zaten gönderilmiş" -> lookup -> OTHER
    assert again.outcome is Outcome.REJECTED and again.error_code == CONFLICT
    assert OTHER in again.message and UUID in again.message and "zaten" in again.message
    assert c.status(ours).error_code == CONFLICT
    with pytest.raises(SaleConflict):
        c.fetch(ours)
    assert c.fetch(first) .count(OTHER.encode()) == 1
    assert fake.stats()["created"] == {"SIP-42": 1}


@pytest.mark.parametrize("resolver", [True, False], ids=["documents=outbox.document", "uuid-only"])
def test_outbox_resume_of_an_order_reference_invoice(fake, tmp_path, resolver):
    """After a kill the outbox holds the entry as ``sending`` and asks ``status(uuid)``.

    With ``documents=outbox.document`` the sale code is rebuilt from the stored
    Document: one lookup, no resend.  Without it the UUID is looked up as a sale
    code, Propars answers 404, the outbox resends, and the sale key turns the resend
    into "already sent", settled as ACCEPTED: still one invoice, two extra requests."""
    d = doc(order_reference={"id": "SIP-1001", "issue_date": "2026-11-19"})
    with Outbox(str(tmp_path / "ob.sqlite")) as ob:
        ob.add([d], "propars")
        ob.begin_attempt(d.uuid)                             # committed 'sending', then the process died...
        fake.configure({"schedule": ["lost"]})
        assert client_for(fake).send(ob.document(d.uuid)).outcome is Outcome.UNKNOWN   # ...after Propars took it
        before = fake.stats()["requests"]
        http = httpx.Client(timeout=5)
        c = ProparsClient(http, token=fake.handler.ctx.credentials["token"], base_url=fake.url,
                          documents=ob.document if resolver else None)
        summary = Sender(ob, c, SendPolicy(workers=1, backoff=0.0)).run()
        assert summary.counts == {"accepted": 1}
        requests = fake.stats()["requests"] - before
        assert requests == (1 if resolver else 3)
        events = [h["event"] for h in ob.history(d.uuid)]
        assert events.count("send") == (1 if resolver else 2)
        assert ob.get(d.uuid).state is State.ACCEPTED
    assert fake.stats()["created"] == {"SIP-1001": 1}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(faults=st.lists(st.sampled_from(["ok", "503", "429", "500", "timeout", "lost", "late"]), min_size=1,
                       max_size=8),
       order=st.booleans())
def test_every_status_answer_is_true_under_faults(fake, faults, order):
    """Drive one invoice as the outbox does, checking each status answer against what
    the fake actually holds at that moment: RETRYABLE only while Propars has no sent
    invoice for the sale (and only on its 404), ACCEPTED only when it has ours."""
    fake.reset()
    fake.configure({"schedule": faults, "hold": 0.2})
    c = client_for(fake)
    ref = {"id": f"SIP-{_uuid.uuid4().hex[:8]}", "issue_date": "2026-11-19"} if order else None
    d = doc(uuid=str(_uuid.uuid4()), **({"order_reference": ref} if ref else {}))
    code = sale_code_for(d)
    sends = 0
    state = c.send(d).outcome
    for _ in range(3 * len(faults) + 3):
        if state is Outcome.ACCEPTED:
            break
        if state in (Outcome.UNKNOWN, Outcome.PENDING):
            r = c.status(d.uuid)
            held = fake.handler.ctx.ledger.get(code)
            was_sent = held is not None and held["status"] == "sent"
            if r.outcome is Outcome.RETRYABLE:
                assert r.http_status == 404 and not was_sent, r
                state = Outcome.RETRYABLE
            elif r.outcome is Outcome.ACCEPTED:
                assert was_sent and held["uuid"] == d.uuid
                state = r.outcome
            else:
                assert r.outcome is Outcome.UNKNOWN, r
        else:
            sends += 1
            state = c.send(d).outcome
    assert state is Outcome.ACCEPTED
    assert fake.stats()["created"] == {code: 1}
