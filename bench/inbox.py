"""Inbox sync speed: what fetching adds to checking, measured in one run on the same invoices.

Three columns, per incoming invoice, each warmed up first (rules compiled, fake started):

* check: ``ubltr.inbox.check_invoice`` on the bytes (validate + parse + recompute), the
  work every stored invoice needs whatever the transport (the reference),
* validate: ``ubltr.validate`` alone (the floor of check),
* sync: ``ubltr.inbox.sync`` from the provider's fake over HTTP on 127.0.0.1 into a fresh
  SQLite store (list, fetch, check, commit, mark taken), no faults.

Rounds alternate (check, validate, sync, check, ...); medians of the per-round means.
Invoices: ``fixtures/TICARIFATURA-SATIS.xml`` under fresh UUIDs.

    python bench/inbox.py [--n 40] [--rounds 3] [--provider nilvera|hepsiburada]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ubltr.inbox import Inbox, check_invoice, sync  # noqa: E402
from ubltr.transport.fake.server import FakeServer, with_identity  # noqa: E402
from ubltr.transport.inbox_api import inbox_fake_class, make_inbox_client  # noqa: E402
from ubltr.validation import validate  # noqa: E402

CREDS = {"nilvera": {"api_key": "test-nilvera-key"}, "hepsiburada": {"username": "HBTest1", "password": "HBTest1"}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--provider", default="nilvera", choices=sorted(CREDS))
    args = ap.parse_args()
    base = (ROOT / "fixtures" / "TICARIFATURA-SATIS.xml").read_bytes()
    docs = [with_identity(base, str(uuid.uuid4())) for _ in range(args.n)]
    check_invoice(docs[0])  # warm-up: rules compiled, templates loaded
    times: dict[str, list[float]] = {"check": [], "validate": [], "sync": []}
    with FakeServer(inbox_fake_class(args.provider)) as fake, tempfile.TemporaryDirectory() as tmp:
        client = make_inbox_client(args.provider, {**CREDS[args.provider], "base_url": fake.url})
        for r in range(args.rounds):
            t = time.perf_counter()
            for d in docs:
                check_invoice(d)
            times["check"].append((time.perf_counter() - t) / len(docs))
            t = time.perf_counter()
            for d in docs:
                validate(d)
            times["validate"].append((time.perf_counter() - t) / len(docs))
            fake.reset()
            fake.handler.incoming.invoices.clear()
            for d in docs:
                fake.handler.receive(d)
            with Inbox(str(Path(tmp) / f"round{r}.sqlite")) as inbox:
                t = time.perf_counter()
                s = sync(inbox, client)
                times["sync"].append((time.perf_counter() - t) / len(docs))
                assert s.stored == len(docs), s
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"{args.n} invoices x {args.rounds} rounds, provider fake {args.provider}")
    print(f"{'column':10} {'ms/invoice':>11} {'ratio to check':>15}")
    for k in ("validate", "check", "sync"):
        print(f"{k:10} {med[k] * 1000:11.1f} {med[k] / med['check']:15.2f}")
    print(f"sync: {1 / med['sync']:.0f} invoices/s on one core")


if __name__ == "__main__":
    main()
