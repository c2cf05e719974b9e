"""The outbox on PostgreSQL: the same guarantees as on SQLite, against a real server.

Needs ``UBLTR_PG_DSN`` (scripts/test.sh starts a throwaway server under CI=true or
UBLTR_PG=1); skipped cleanly without it.  Each test gets its own database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid as uuidlib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from ubltr.outbox import FINAL, Outbox, OutboxError, Sender, SendPolicy, State
from ubltr.transport.base import Document
from ubltr.transport.fake.nilvera import NilveraFake
from ubltr.transport.fake.server import FakeServer, FaultPlan, with_identity
from ubltr.transport.nilvera import NilveraClient

DSN = os.environ.get("UBLTR_PG_DSN")
pytestmark = pytest.mark.skipif(not DSN, reason="UBLTR_PG_DSN not set (no PostgreSQL server)")
ROOT = Path(__file__).resolve().parent.parent
KEY = NilveraFake.default_credentials["api_key"]


@pytest.fixture()
def dsn():
    psycopg = pytest.importorskip("psycopg")
    name = "ubltr_t_" + uuidlib.uuid4().hex[:12]
    with psycopg.connect(DSN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(DSN)
    yield urlunsplit(parts._replace(path="/" + name))
    with psycopg.connect(DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def docs(n: int) -> list[Document]:
    xml = (ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes()
    return [Document.from_xml(with_identity(xml, str(uuidlib.uuid4()), f"PGT2026{i:09d}"),
                              neutral={"id": f"PGT2026{i:09d}", "amount": "10.10"})
            for i in range(1, n + 1)]


def test_journal_round_trip_and_refusals(dsn):
    ds = docs(3)
    with Outbox(dsn) as ob:
        assert ob.kind == "postgres"
        assert ob.add(ds, "nilvera") == (3, 0)
        assert ob.add(ds, "nilvera") == (0, 1 * 3)
        with pytest.raises(OutboxError, match="different content"):
            ob.add([Document(uuid=ds[0].uuid, xml=ds[0].xml + b" ")], "nilvera")
        back = ob.document(ds[0].uuid)
        assert back.xml == ds[0].xml and back.neutral == {"id": "PGT2026000000001", "amount": "10.10"}
        assert ob.begin_attempt(ds[0].uuid) == 1
        assert ob.get(ds[0].uuid).state is State.SENDING
        assert ob.counts() == {"queued": 2, "sending": 1}
        assert [h["event"] for h in ob.history(ds[0].uuid)] == ["queued", "send"]


def test_exactly_once_under_faults_with_threads(dsn):
    ds = docs(40)
    with FakeServer(NilveraFake, faults=FaultPlan(0.3, seed=7), hold=0.8) as fake, \
            httpx.Client(timeout=0.5) as http:
        client = NilveraClient(http, api_key=KEY, base_url=fake.url)
        with Outbox(dsn) as ob:
            ob.add(ds, "nilvera")
            for _ in range(3):
                Sender(ob, client, SendPolicy(workers=4, backoff=0.01, max_backoff=0.02,
                                              max_attempts=20, max_status_checks=20)).run()
                if all(e.state in FINAL for e in ob.entries()):
                    break
            assert ob.counts() == {"accepted": 40}
        stats = fake.stats()
    assert stats["duplicates"] == {} and stats["documents"] == 40


def test_sender_killed_and_resumed_on_postgres(dsn, tmp_path):
    """The CLI with a DSN: SIGKILL mid-run, resume, nothing lost, nothing twice."""
    n = 150
    xml = (ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes()
    inputs = tmp_path / "in"
    inputs.mkdir()
    for i in range(n):
        (inputs / f"{i:04d}.xml").write_bytes(with_identity(xml, str(uuidlib.uuid4()), f"PGK2026{i:09d}"))
    with FakeServer(NilveraFake, faults=FaultPlan(0.2, seed=3), hold=0.6) as fake:
        cfg = tmp_path / "cfg.json"
        cfg.write_text(json.dumps({"provider": "nilvera", "base_url": fake.url, "timeout": 0.5,
                                   "backoff": 0.01, "max_backoff": 0.05}))
        env = dict(os.environ, UBLTR_NILVERA_API_KEY=KEY)
        common = ["--config", str(cfg), "--outbox", dsn, "--workers", "6", "--max-attempts", "30"]
        proc = subprocess.Popen([sys.executable, "-m", "ubltr.cli", "send", *common, str(inputs)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        killed = False
        with Outbox(dsn) as ob:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    done = sum(v for k, v in ob.counts().items() if k in {s.value for s in FINAL})
                except Exception:  # the table may not exist yet
                    done = 0
                if done >= n // 2:
                    proc.send_signal(signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.02)
            proc.wait(timeout=30)
            r = subprocess.run([sys.executable, "-m", "ubltr.cli", "outbox", "resume", *common, "--json"], env=env,
                               capture_output=True, timeout=180)
            assert b"Traceback" not in r.stderr, r.stderr[-2000:]
            assert ob.counts() == {"accepted": n}
        stats = fake.stats()
    assert killed
    assert stats["duplicates"] == {} and stats["documents"] == n


def test_one_sender_per_outbox_on_postgres(dsn):
    with Outbox(dsn) as a, Outbox(dsn) as b:
        with a.exclusive():
            with pytest.raises(OutboxError, match="another sender"):
                with b.exclusive():
                    pass
        with b.exclusive():  # released when a's block ends
            pass
        for _ in range(50):  # released at once, not when the server notices the closed session
            with a.exclusive():
                pass
            with b.exclusive():
                pass
