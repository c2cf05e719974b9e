"""Benchmark: documents per second for building UBL-TR XML from neutral invoices.

For 1-, 10- and 1000-line invoices, in one run:
  - load   : neutral dict -> Invoice (the loader with all its checks)
  - compute: Invoice -> Totals
  - build  : Invoice -> XML bytes (compute + jinja2 template)
  - parse  : lxml parse of the produced XML (the reference: the cheapest thing one can do with it)
Prints per-document times, documents/s, ratios against the lxml parse of the same
documents, and peak memory (RSS) of the process.

    python bench/build.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from ubltr.calc import compute  # noqa: E402
from ubltr.model import load  # noqa: E402
from ubltr.render import build  # noqa: E402


def doc(lines: int) -> dict:
    base = json.loads((ROOT / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))
    proto = base["lines"]
    base["lines"] = [dict(copy.deepcopy(proto[i % len(proto)]), name=f"Ürün {i}") for i in range(lines)]
    return base


def rate(fn, seconds: float) -> float:
    """Seconds per call, over at least `seconds` of wall time (best of 3 rounds)."""
    best = float("inf")
    for _ in range(3):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t0
            if el >= seconds / 3 and n >= 3:
                break
        best = min(best, el / n)
    return best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args()
    print(f"{'lines':>6} {'load ms':>9} {'compute ms':>11} {'build ms':>9} {'parse ms':>9} {'docs/s (load+build)':>20} {'build/parse':>12}")
    for n in (1, 10, 1000):
        d = doc(n)
        inv = load(d)
        xml = build(inv)
        t_load = rate(lambda: load(d), args.seconds)
        t_comp = rate(lambda: compute(inv), args.seconds)
        t_build = rate(lambda: build(inv), args.seconds)
        t_parse = rate(lambda: etree.fromstring(xml), args.seconds)
        print(f"{n:>6} {t_load*1e3:>9.3f} {t_comp*1e3:>11.3f} {t_build*1e3:>9.3f} {t_parse*1e3:>9.3f} "
              f"{1/(t_load+t_build):>20.0f} {t_build/t_parse:>11.1f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {rss:.0f} MB (1000-line XML is {len(build(load(doc(1000))))/1024:.0f} KiB)")


if __name__ == "__main__":
    main()
