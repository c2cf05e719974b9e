"""Nilvera client against its fake, and the outbox's exactly-once logic under faults."""

from __future__ import annotations

import json
import uuid as uuidlib
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ubltr.outbox import FINAL, Outbox, OutboxError, Sender, SendPolicy, State
from ubltr.transport.base import Document, Outcome
from ubltr.transport.fake.nilvera import NilveraFake
from ubltr.transport.fake.server import FakeServer, with_identity
from ubltr.transport.nilvera import NilveraClient

ROOT = Path(__file__).resolve().parent.parent
KEY = NilveraFake.default_credentials["api_key"]


def fixture_xml(name: str) -> bytes:
    p = ROOT / "fixtures" / name
    if not p.exists():
        pytest.skip(f"{p} not present")
    return p.read_bytes()


def make_docs(n: int, base: str = "TEMELFATURA-SATIS.xml", start: int = 1) -> list[Document]:
    xml = fixture_xml(base)
    out = []
    for i in range(start, start + n):
        u = str(uuidlib.UUID(int=(0xABCDEF << 64) + i, version=4))
        out.append(Document.from_xml(with_identity(xml, u, f"TST2026{i:09d}")))
    return out


@pytest.fixture()
def fake():
    with FakeServer(NilveraFake, hold=1.5) as srv:
        yield srv


@pytest.fixture()
def client(fake):
    with httpx.Client(timeout=1.0) as http:  # only injected timeouts exceed it, even under load
        yield NilveraClient(http, api_key=KEY, base_url=fake.url)


# ---------------------------------------------------------------- the client speaks the fake's contract

def test_send_status_fetch_and_duplicate(client, fake):
    doc = make_docs(1)[0]
    r = client.send(doc)
    assert r.outcome is Outcome.ACCEPTED and r.invoice_number == "TST2026000000001"
    again = client.send(doc)  # 409 UUIDAlreadySaved resolves to what Nilvera holds
    assert again.outcome is Outcome.ACCEPTED and again.error_code == "UUIDAlreadySaved"
    assert fake.stats()["created"] == {doc.uuid.lower(): 1}
    assert client.status(doc.uuid).outcome is Outcome.ACCEPTED
    assert client.fetch(doc.uuid, "pdf").startswith(b"%PDF")
    assert b"TST2026000000001" in client.fetch(doc.uuid, "xml")
    missing = client.status(str(uuidlib.uuid4()))
    assert missing.outcome is Outcome.RETRYABLE and missing.retry_safe


def test_earchive_send_and_cancel(client):
    doc = make_docs(1, "EARSIVFATURA-SATIS.xml")[0]
    assert doc.profile == "EARSIVFATURA"
    assert client.send(doc).outcome is Outcome.ACCEPTED
    assert client.status(doc.uuid).outcome is Outcome.ACCEPTED
    assert client.cancel(doc.uuid).outcome is Outcome.ACCEPTED
    second = client.cancel(doc.uuid)
    assert second.outcome is Outcome.REJECTED and second.error_code == "InvoiceAlreadyCanceled"
    assert client.status(doc.uuid).error_code == "Canceled"


def test_invalid_document_is_rejected_with_validator_codes(client):
    xml = fixture_xml("TEMELFATURA-SATIS.xml")
    bad = Document.from_xml(with_identity(xml, str(uuidlib.uuid4()), "BAD-NUMBER"))
    r = client.send(bad)
    assert r.outcome is Outcome.REJECTED and r.http_status == 422
    assert r.error_code == "SchemaSchematronError"  # the validator's Nilvera code for GİB rule failures


def test_wrong_key_is_refused_and_stops_the_run(fake, tmp_path):
    with httpx.Client(timeout=1) as http:
        bad = NilveraClient(http, api_key="wrong", base_url=fake.url)
        docs = make_docs(3)
        r = bad.send(docs[0])
        assert r.outcome is Outcome.RETRYABLE and r.http_status == 403 and not r.retry_safe
        with Outbox(str(tmp_path / "o.sqlite")) as ob:
            ob.add(docs, "nilvera")
            summary = Sender(ob, bad, SendPolicy(workers=1, backoff=0)).run()
            assert summary.stopped and "credentials" in summary.stopped
            assert ob.counts() == {"queued": 3}
    assert fake.stats()["documents"] == 0


def test_lookup_and_send_store(client):
    found = client.lookup("1288331521")
    assert found and found[0]["TaxNumber"] == "1288331521"
    assert client.lookup("1111111111") == []
    doc = make_docs(1)[0]
    client.send(doc)
    ok = client.send_store(doc.uuid, str(uuidlib.uuid4()))
    assert ok[0]["IsSuccess"] and ok[0]["InvoiceDetail"]["InvoiceNumber"] == "TST2026000000001"
    nf = client.send_store(str(uuidlib.uuid4()), str(uuidlib.uuid4()))
    assert not nf[0]["IsSuccess"] and nf[0]["ErrorDetail"][0]["Code"] == "RecordNotFound"


# ---------------------------------------------------------------- the outbox

def run(ob: Outbox, client, **kw) -> None:
    Sender(ob, client, SendPolicy(workers=kw.pop("workers", 1), backoff=0, max_backoff=0, **kw)).run()


def test_lost_response_is_settled_by_status_not_by_resend(client, fake, tmp_path):
    doc = make_docs(1)[0]
    fake.configure({"schedule": ["lost"]})
    with Outbox(str(tmp_path / "o.sqlite")) as ob:
        ob.add([doc], "nilvera")
        run(ob, client)
        e = ob.get(doc.uuid)
        assert e.state is State.ACCEPTED and e.attempts == 1  # one send, then a status question
        events = [h["event"] for h in ob.history(doc.uuid)]
        assert events == ["queued", "send", "answer", "status"]
    assert fake.stats()["created"] == {doc.uuid.lower(): 1}


def test_timeout_not_processed_is_resent_after_status_says_not_found(client, fake, tmp_path):
    doc = make_docs(1)[0]
    fake.configure({"schedule": ["timeout", "ok", "ok"], "hold": 1.5})
    with Outbox(str(tmp_path / "o.sqlite")) as ob:
        ob.add([doc], "nilvera")
        run(ob, client)
        e = ob.get(doc.uuid)
        assert e.state is State.ACCEPTED and e.attempts == 2
    assert fake.stats()["created"] == {doc.uuid.lower(): 1}


def test_entry_left_sending_by_a_crash_is_asked_about_first(client, fake, tmp_path):
    doc = make_docs(1)[0]
    client.send(doc)  # the provider got it; the process "died" before recording the answer
    with Outbox(str(tmp_path / "o.sqlite")) as ob:
        ob.add([doc], "nilvera")
        ob.begin_attempt(doc.uuid)
        run(ob, client)
        assert ob.get(doc.uuid).state is State.ACCEPTED
        assert ob.get(doc.uuid).attempts == 1
    assert fake.stats()["created"] == {doc.uuid.lower(): 1}
    assert fake.stats()["requests"] == 2  # the original send and one status question, nothing more


class Blind:
    """A provider with no status lookup and no idempotency key (answers via MockTransport)."""

    name = "blind"
    supports_status = False
    idempotent = False

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.sent = []

    def send(self, doc):
        from ubltr.transport.base import SendResult
        self.sent.append(doc.uuid)
        return SendResult(self.outcomes.pop(0), self.name, doc.uuid)

    def status(self, uuid):  # pragma: no cover - never called
        raise AssertionError("no status lookup")


def test_no_lookup_no_key_ends_in_needs_reconciliation_without_resend(tmp_path):
    docs = make_docs(2)
    p = Blind([Outcome.UNKNOWN, Outcome.RETRYABLE, Outcome.ACCEPTED])
    with Outbox(str(tmp_path / "o.sqlite")) as ob:
        ob.add(docs, "blind")
        run(ob, p)
        assert ob.get(docs[0].uuid).state is State.NEEDS_RECONCILIATION
        assert ob.get(docs[1].uuid).state is State.ACCEPTED
        assert p.sent == [docs[0].uuid, docs[1].uuid, docs[1].uuid]
        listed = [e.uuid for e in ob.entries([State.NEEDS_RECONCILIATION])]
        assert listed == [docs[0].uuid]
        ob.resolve(docs[0].uuid, State.ACCEPTED, "seen on the portal")
        assert ob.get(docs[0].uuid).state is State.ACCEPTED
        with pytest.raises(OutboxError):
            ob.resolve(docs[0].uuid, State.REJECTED, "again")


def test_same_uuid_with_other_content_is_refused(tmp_path):
    doc = make_docs(1)[0]
    other = Document(uuid=doc.uuid, xml=doc.xml + b" ")
    with Outbox(str(tmp_path / "o.sqlite")) as ob:
        assert ob.add([doc], "nilvera") == (1, 0)
        assert ob.add([doc], "nilvera") == (0, 1)
        with pytest.raises(OutboxError, match="different content"):
            ob.add([other], "nilvera")


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schedule=st.lists(st.sampled_from(["ok", "503", "429", "500", "lost", "timeout", "late"]), max_size=20),
       n=st.integers(1, 6))
def test_any_fault_schedule_sends_each_document_exactly_once(schedule, n, tmp_path_factory):
    """Whatever the faults, every document ends accepted and the provider holds it once."""
    docs = make_docs(n)
    with FakeServer(NilveraFake, hold=0.4) as fake, httpx.Client(timeout=0.25) as http:
        fake.configure({"schedule": schedule, "hold": 0.4})
        client = NilveraClient(http, api_key=KEY, base_url=fake.url)
        db = tmp_path_factory.mktemp("ob") / "o.sqlite"
        with Outbox(str(db)) as ob:
            ob.add(docs, "nilvera")
            for _ in range(4):  # resume until done (a long schedule can exhaust one run's bounds)
                run(ob, client, max_attempts=12, max_status_checks=12)
                if all(e.state in FINAL for e in ob.entries()):
                    break
            states = {e.uuid: e.state for e in ob.entries()}
        stats = fake.stats()
    assert set(states.values()) == {State.ACCEPTED}
    assert stats["created"] == {d.uuid.lower(): 1 for d in docs}


# ---------------------------------------------------------------- CLI

def test_cli_send_status_list_resume(fake, tmp_path, monkeypatch):
    from ubltr.cli import cli

    docs = make_docs(4)
    paths = []
    for d in docs:
        p = tmp_path / f"{d.uuid}.xml"
        p.write_bytes(d.xml)
        paths.append(str(p))
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"provider": "nilvera", "base_url": fake.url, "timeout": 2, "backoff": 0}))
    monkeypatch.setenv("UBLTR_NILVERA_API_KEY", KEY)
    ob = str(tmp_path / "o.sqlite")
    fake.configure({"schedule": ["lost", "503"]})
    runner = CliRunner()
    r = runner.invoke(cli, ["send", "--config", str(cfg), "--outbox", ob, "--json", "--workers", "1", *paths])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["counts"] == {"accepted": 4}
    assert KEY not in r.output
    r = runner.invoke(cli, ["send", "--config", str(cfg), "--outbox", ob, "--json", *paths])  # nothing sent twice
    assert r.exit_code == 0 and fake.stats()["documents"] == 4
    r = runner.invoke(cli, ["outbox", "status", "--outbox", ob, "--json"])
    assert json.loads(r.output) == {"accepted": 4}
    r = runner.invoke(cli, ["outbox", "list", "--outbox", ob, "--state", "accepted"])
    assert len(r.output.strip().splitlines()) == 4
    r = runner.invoke(cli, ["outbox", "resume", "--config", str(cfg), "--outbox", ob])
    assert r.exit_code == 0
    assert fake.stats()["created"] == {d.uuid.lower(): 1 for d in docs}


def test_cli_bad_input_is_a_clear_message(tmp_path):
    from ubltr.cli import cli

    runner = CliRunner()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<Invoice/>")
    r = runner.invoke(cli, ["send", "--provider", "nilvera", "--outbox", str(tmp_path / "o"), str(bad)])
    assert r.exit_code == 2 and "cbc:UUID" in r.output and "Traceback" not in r.output
    r = runner.invoke(cli, ["send", "--provider", "nope", str(bad)])
    assert r.exit_code == 2 and "unknown provider" in r.output
    r = runner.invoke(cli, ["outbox", "list", "--outbox", str(tmp_path / "o2"), "--state", "weird"])
    assert r.exit_code == 2
    r = runner.invoke(cli, ["fake-provider", "nilvera", "--fail-rate", "2"])
    assert r.exit_code == 2


class Flaky:
    """Status lookup that fails with 503 / no connection before it answers: never a resend."""

    name = "flaky"
    supports_status = True
    idempotent = False

    def __init__(self):
        from ubltr.transport.base import SendResult
        self.sent = 0
        self.answers = [SendResult(Outcome.RETRYABLE, "flaky", "u", http_status=503),
                        SendResult(Outcome.RETRYABLE, "flaky", "u", http_status=None),
                        SendResult(Outcome.RETRYABLE, "flaky", "u", http_status=429),
                        SendResult(Outcome.ACCEPTED, "flaky", "u", http_status=200)]

    def send(self, doc):
        from ubltr.transport.base import SendResult
        self.sent += 1
        return SendResult(Outcome.UNKNOWN, self.name, doc.uuid)

    def status(self, uuid):
        return self.answers.pop(0)


def test_unanswered_status_question_is_not_read_as_not_found(tmp_path):
    doc = make_docs(1)[0]
    p = Flaky()
    with Outbox(str(tmp_path / "o.sqlite")) as ob:
        ob.add([doc], "flaky")
        run(ob, p)
        assert ob.get(doc.uuid).state is State.ACCEPTED
    assert p.sent == 1 and p.answers == []


def test_cli_documents_carry_the_neutral_invoice(tmp_path):
    """XML inputs get their neutral form (JSON-API providers need it); JSON inputs are built."""
    from ubltr.commands.transport import _document

    d = make_docs(1)[0]
    doc = _document("a.xml", d.xml, "urn:mail:x@y")
    assert doc.neutral is not None and doc.neutral["id"] == d.invoice_id and doc.receiver_alias == "urn:mail:x@y"
    src = ROOT / "fixtures" / "TEMELFATURA-SATIS.json"
    built = _document(str(src), src.read_bytes(), None)
    assert built.uuid == json.loads(src.read_text(encoding="utf-8"))["uuid"] and built.neutral["lines"]
    with pytest.raises(ValueError):
        _document("bad.json", b'{"profile": 1}', None)


def test_one_sender_per_outbox(tmp_path):
    doc = make_docs(1)[0]
    p = Blind([Outcome.ACCEPTED])
    with Outbox(str(tmp_path / "o.sqlite")) as ob:
        ob.add([doc], "blind")
        with ob.exclusive():
            with pytest.raises(OutboxError, match="another sender"):
                Sender(ob, p).run()
        assert p.sent == []
        Sender(ob, p, SendPolicy(workers=1)).run()  # the lock is free again
        assert p.sent == [doc.uuid]


class Buggy(Blind):
    def send(self, doc):
        raise RuntimeError("client bug")


def test_a_client_bug_leaves_the_entry_for_the_next_run(tmp_path):
    doc = make_docs(1)[0]
    with Outbox(str(tmp_path / "o.sqlite")) as ob:
        ob.add([doc], "blind")
        summary = Sender(ob, Buggy([]), SendPolicy(workers=1)).run()
        assert summary.errors and "client bug" in summary.errors[0][1]
        assert ob.get(doc.uuid).state is State.SENDING  # asked about, never blindly resent


# ---------------------------------------------------------------- the lock is the database file

_HOLD = """
import sys, time
from ubltr.outbox import Outbox
with Outbox(sys.argv[1]) as ob, ob.exclusive():
    print("held", flush=True)
    time.sleep(30)
"""


@pytest.mark.parametrize("spelling", ["symlink", "hardlink", "dotdot"])
def test_two_senders_through_different_paths_cannot_share_one_outbox(tmp_path, spelling):
    import os
    import subprocess
    import sys

    real = tmp_path / "real" / "outbox.sqlite"
    real.parent.mkdir()
    Outbox(str(real)).close()
    other = tmp_path / "other"
    other.mkdir()
    if spelling == "symlink":
        alias = other / "link.sqlite"
        alias.symlink_to(real)
    elif spelling == "hardlink":
        alias = other / "hard.sqlite"
        os.link(real, alias)
    else:
        alias = other / ".." / "real" / "outbox.sqlite"
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(alias)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        with Outbox(str(real)) as ob:   # old code: <path>.lock per spelling, both senders ran
            with pytest.raises(OutboxError, match="another sender"):
                with ob.exclusive():
                    pass
        # and within one process, two Outbox objects on one file exclude each other too
    finally:
        proc.kill()
        proc.wait()
    with Outbox(str(real)) as a, Outbox(str(alias)) as b:
        with a.exclusive():
            with pytest.raises(OutboxError):
                with b.exclusive():
                    pass
        with b.exclusive():   # released: the next sender (a resume) gets it
            pass


# ---------------------------------------------------------------- #15: corrupt outbox, DSN secrets

def _corrupt_outbox(path: Path) -> None:
    with Outbox(str(path)) as ob:
        ob.add(make_docs(40), "nilvera")
    import sqlite3

    conn = sqlite3.connect(str(path))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 6 * page
    for at in range(2 * page, len(data) - page, page):   # every page after the schema: garbage
        data[at:at + 64] = b"\xde\xad\xbe\xef" * 16
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("command", [["outbox", "list"], ["outbox", "resume"], ["outbox", "status"]])
def test_a_corrupt_outbox_is_one_clear_line_not_a_traceback(tmp_path, command):
    from ubltr.cli import cli

    path = tmp_path / "ob.sqlite"
    _corrupt_outbox(path)
    r = CliRunner().invoke(cli, [*command, "--outbox", str(path)])
    out = r.output
    assert r.exit_code == 2, (r.exit_code, out, r.exception)
    assert isinstance(r.exception, SystemExit) and "Traceback" not in out
    assert "corrupt" in out and str(path) in out and len(out.strip().splitlines()) == 1, out


@pytest.mark.parametrize("dsn", [
    "postgresql://ubltr:hunter2@127.0.0.1:1/db",
    "postgresql://127.0.0.1:1/db?user=ubltr&password=hunter2",
    "postgres://ubltr:hunter2@127.0.0.1:1/db?sslpassword=hunter2&connect_timeout=1",
])
@pytest.mark.parametrize("command", [["outbox", "list"], ["outbox", "status"], ["outbox", "resume"]])
def test_a_dsn_password_is_never_printed(dsn, command):
    from ubltr.cli import cli

    r = CliRunner().invoke(cli, [*command, "--outbox", dsn])
    assert r.exit_code == 2 and "hunter2" not in r.output, r.output   # old code: '?password=' echoed
    assert "127.0.0.1" in r.output


def test_redact_keeps_what_helps_and_drops_secrets():
    from ubltr.outbox import redact, scrub

    assert redact("postgresql://u:p%40ss@h:5432/db?password=x&sslmode=require") == \
        "postgresql://u:***@h:5432/db?password=***&sslmode=require"
    assert redact("/tmp/outbox.sqlite") == "/tmp/outbox.sqlite"
    assert "p@ss" not in scrub("failed for p@ss at postgresql://u:p%40ss@h/db", "postgresql://u:p%40ss@h/db")
    assert "hunter2" not in repr(Outbox.__new__(Outbox).__class__) and "hunter2" not in redact(
        "postgresql://u:hunter2@h/db")


def test_an_outbox_deleted_and_created_again_is_still_locked_by_its_file(tmp_path):
    path = tmp_path / "ob.sqlite"
    for _ in range(3):
        with Outbox(str(path)) as a, Outbox(str(path)) as b:
            with a.exclusive():
                with pytest.raises(OutboxError):
                    with b.exclusive():
                        pass
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(path) + suffix)
            if p.exists():
                p.unlink()
