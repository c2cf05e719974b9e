"""``ubltr serve`` under load, against ubltr's in-process validation in the same run.

A real ``ubltr serve`` (uvicorn, one process) on 127.0.0.1 and N concurrent clients
(httpx, asyncio) posting real documents to ``POST /validate``: every fixture's XML
(builder output for every profile) and the GİB package's samples from ../shared when
present.  Alternating rounds: R HTTP requests by the clients, then the same documents
validated in this process (``report_dict`` + ``json_report``: what the endpoint
computes, without HTTP), one after another.  Printed per round and in total:

* requests/s over HTTP and documents/s in-process, and their ratio (median of rounds);
* latency p50 / p99 of the HTTP requests (client-side, queueing included);
* the server's RSS after each round and its peak (VmHWM), summed over its processes:
  flat means the last rounds'
  RSS is within 10 % + 20 MB of the first round's;
* requests lost or failed: every answer must be 200 and its bytes must be exactly the
  in-process report of that document (checked for every request).

The machine has 2 cores: the clients and the server share them, so the ratio is what
one HTTP hop + uvicorn + Starlette cost on top of validation on this machine.

    python bench/serve.py                        # 10,000 requests, 8 clients (several minutes)
    python bench/serve.py --requests 1000 --clients 4
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def documents() -> list[tuple[str, bytes]]:
    docs = [(p.name, p.read_bytes()) for p in sorted((ROOT / "fixtures").glob("*.xml"))]
    gib = SHARED / "gib" / "UBLTR_1.2.1_Paketi" / "xml"
    if gib.is_dir():
        docs += [(p.name, p.read_bytes()) for p in sorted(gib.glob("*.xml")) if p.stat().st_size < 2_000_000]
    return docs


def tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's --workers processes)."""
    out = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            out += tree(int(child))
    return out


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB, summed over the server's processes."""
    rss = hwm = 0
    for p in tree(pid):
        for line in Path(f"/proc/{p}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key == "VmRSS":
                rss += int(value.split()[0])
            elif key == "VmHWM":
                hwm += int(value.split()[0])
    return rss, hwm


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FAILURES: list[str] = []


async def http_round(url: str, docs: list[tuple[str, bytes]], expected: list[bytes], start: int, count: int,
                     clients: int) -> tuple[float, list[float], int]:
    import httpx

    latencies: list[float] = []
    failed = 0
    next_index = start
    end = start + count

    async def client(c: httpx.AsyncClient) -> None:
        nonlocal next_index, failed
        while next_index < end:
            i = next_index
            next_index += 1
            name, data = docs[i % len(docs)]
            t0 = time.perf_counter()
            try:
                r = await c.post(url + "/validate", content=data, params={"name": name})
                ok = r.status_code == 200 and r.content == expected[i % len(docs)]
                why = f"{r.status_code} {r.content[:300]!r}"
            except httpx.HTTPError as exc:
                ok, why = False, f"{type(exc).__name__}: {exc}"
            latencies.append(time.perf_counter() - t0)
            if not ok:
                failed += 1
                FAILURES.append(f"request {i} ({name}): {why}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=120, limits=limits) as c:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(c) for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    return count / elapsed, latencies, failed


def inprocess_round(docs: list[tuple[str, bytes]], start: int, count: int) -> float:
    from ubltr.commands.validate import json_report, report_dict

    t0 = time.perf_counter()
    for i in range(start, start + count):
        name, data = docs[i % len(docs)]
        json_report([report_dict(data, name=name)])
    return count / (time.perf_counter() - t0)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=10_000, help="HTTP requests in all")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1, help="server processes (ubltr serve --workers)")
    ap.add_argument("--concurrency", type=int, default=os.cpu_count() or 1, help="the server's work slots")
    ap.add_argument("--inprocess-share", type=float, default=0.2,
                    help="in-process documents per round, as a share of the round's HTTP requests")
    args = ap.parse_args()

    from ubltr.commands.validate import json_report, report_dict
    from ubltr.validation import warm_up

    docs = documents()
    warm_up()
    expected = [json_report([report_dict(data, name=name)]).encode("utf-8") for name, data in docs]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "ubltr.cli", "serve", "--port", str(port),
                               "--concurrency", str(args.concurrency), "--workers", str(args.workers)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                print("the server did not start", file=sys.stderr)
                return 2
            time.sleep(0.2)
        # warm the server the same way this process is warm (rules compiled, first requests)
        asyncio.run(http_round(url, docs, expected, 0, len(docs), args.clients))
        print(f"{len(docs)} documents ({sum(len(d) for _, d in docs) // len(docs)} bytes on average), "
              f"{args.clients} clients, {args.workers} server process(es) x {args.concurrency} slots, {os.cpu_count()} CPUs")
        per_round = args.requests // args.rounds
        # whole passes over the documents, so that both sides see the same mix
        inproc_n = len(docs) * max(1, round(per_round * args.inprocess_share / len(docs)))
        ratios, lat_all, rss = [], [], []
        failed_total = done = 0
        print(f"{'round':>5} {'HTTP req/s':>11} {'in-proc doc/s':>14} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'server RSS MB':>13} {'failed':>6}")
        for k in range(args.rounds):
            http_rate, lat, failed = asyncio.run(http_round(url, docs, expected, done, per_round, args.clients))
            done += per_round
            local_rate = inprocess_round(docs, 0, inproc_n)
            ratios.append(http_rate / local_rate)
            lat_all += lat
            failed_total += failed
            now, peak = rss_kb(server.pid)
            rss.append(now)
            print(f"{k + 1:>5} {http_rate:>11.1f} {local_rate:>14.1f} {http_rate / local_rate:>6.2f} "
                  f"{pct(lat, .5) * 1000:>7.1f} {pct(lat, .99) * 1000:>7.1f} {now / 1024:>13.1f} {failed:>6}")
        _, peak = rss_kb(server.pid)
        flat = rss[-1] <= rss[0] * 1.10 + 20 * 1024
        print()
        print(f"requests: {done}, failed or wrong bytes: {failed_total}")
        for line in FAILURES[:10]:
            print("  " + line)
        print(f"ratio HTTP/in-process (median of {args.rounds} rounds): {statistics.median(ratios):.2f} "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
        print(f"latency p50 {pct(lat_all, .5) * 1000:.1f} ms, p99 {pct(lat_all, .99) * 1000:.1f} ms")
        print(f"server RSS: first round {rss[0] / 1024:.1f} MB, last {rss[-1] / 1024:.1f} MB, peak (VmHWM) "
              f"{peak / 1024:.1f} MB: {'flat' if flat else 'GROWING'}")
        return 0 if failed_total == 0 and flat else 1
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
