"""`ubltr outbox reconcile`: settling needs_reconciliation with the operator's decision.

The provider fakes decide what happened (a 'lost' answer: the fake has the invoice; a
'timeout': it does not); the journal must keep every earlier event, and a resend for a
provider with a key stays exactly-once (the fake's creation count is the judge)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from test_outbox import make_docs
from ubltr.cli import cli
from ubltr.outbox import Outbox, OutboxError, Sender, SendPolicy, State
from ubltr.transport.fake.bizimhesap import BizimHesapFake
from ubltr.transport.fake.nilvera import NilveraFake
from ubltr.transport.fake.server import FakeServer, FaultPlan
from ubltr.transport.nilvera import NilveraClient

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def _bizimhesap_setup(tmp_path: Path, schedule: list[str]):
    fake = FakeServer(BizimHesapFake, faults=FaultPlan(schedule=schedule), hold=0.5).start()
    cfg = tmp_path / "bh.json"
    cfg.write_text(json.dumps({"provider": "bizimhesap", "base_url": fake.url, "timeout": 0.3, "backoff": 0,
                               "outbox": str(tmp_path / "ob.sqlite"), **fake.handler.ctx.credentials}))
    n = json.loads((ROOT / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))
    for ln in n["lines"]:
        ln.pop("allowances", None)
    n.pop("allowances", None)
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps(n, ensure_ascii=False), encoding="utf-8")
    return fake, str(cfg), str(inv), n["uuid"]


@pytest.mark.parametrize("fault, decision, state, created", [
    ("lost", "delivered", "accepted", 1),       # the fake has it: the operator saw it on the portal
    ("timeout", "resend", "accepted", 1),       # the fake never got it: sent once more, one invoice
    ("lost", "abandon", "abandoned", 1),
])
def test_bizimhesap_unknown_outcome_settled_by_the_operator(tmp_path, fault, decision, state, created):
    fake, cfg, inv, uuid = _bizimhesap_setup(tmp_path, [fault])
    try:
        r = run("send", "--config", cfg, inv)
        assert r.exit_code == 1
        listing = run("outbox", "reconcile", "--config", cfg)
        assert listing.exit_code == 0 and uuid in listing.output and "attempts 1" in listing.output
        assert "last answer: unknown" in listing.output and "reconcile by hand" in listing.output
        r = run("outbox", "reconcile", "--config", cfg, uuid, decision, "--note", "checked the portal 2026-12-03")
        assert r.exit_code == 0, r.output
        if decision == "resend":
            assert run("outbox", "resume", "--config", cfg).exit_code == 0
        with Outbox(str(tmp_path / "ob.sqlite")) as ob:
            assert ob.get(uuid).state.value == state
            events = [h["event"] for h in ob.history(uuid)]
            assert events[:4] == ["queued", "send", "answer", "reconcile"]   # nothing lost
            assert "reconciled" in events
            note = [h for h in ob.history(uuid) if h["event"] == "reconciled"][0]["detail"]
            assert note["decision"] == decision and note["note"] == "checked the portal 2026-12-03"
        assert sum(fake.stats()["created"].values()) == created
        again = run("outbox", "reconcile", "--config", cfg, uuid, "abandon", "--note", "x")
        assert again.exit_code == 2 and "not needs_reconciliation" in again.output
    finally:
        fake.stop()


def test_a_decision_needs_a_note_and_a_known_decision(tmp_path):
    with Outbox(str(tmp_path / "ob.sqlite")) as ob:
        doc = make_docs(1)[0]
        ob.add([doc], "bizimhesap")
        ob.record(doc.uuid, State.NEEDS_RECONCILIATION, note="test")
        with pytest.raises(OutboxError, match="note"):
            ob.reconcile(doc.uuid, "delivered", " ")
        with pytest.raises(OutboxError, match="decision"):
            ob.reconcile(doc.uuid, "maybe", "x")


def test_resend_through_a_provider_with_a_key_stays_exactly_once(tmp_path):
    """Nilvera has the invoice; the operator says 'resend' anyway: the outbox asks
    Nilvera first (status by UUID) and the invoice is still created once."""
    with FakeServer(NilveraFake) as fake, httpx.Client(timeout=5) as http, \
            Outbox(str(tmp_path / "ob.sqlite")) as ob:
        client = NilveraClient(http, api_key=NilveraFake.default_credentials["api_key"], base_url=fake.url)
        doc = make_docs(1)[0]
        ob.add([doc], "nilvera")
        Sender(ob, client, SendPolicy(workers=1)).run()
        ob.record(doc.uuid, State.NEEDS_RECONCILIATION, note="simulated: pending, then not found")
        assert ob.reconcile(doc.uuid, "resend", "portal shows nothing (wrongly)", supports_status=True) is State.UNKNOWN
        Sender(ob, client, SendPolicy(workers=1)).run()
        assert ob.get(doc.uuid).state is State.ACCEPTED
        assert fake.stats()["created"] == {doc.uuid.lower(): 1}
        assert [h["event"] for h in ob.history(doc.uuid)][-2:] == ["reconciled", "status"]
