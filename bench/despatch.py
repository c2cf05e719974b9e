"""Benchmark: e-İrsaliye despatch advices, load / build / parse per document.

For 1-, 10- and 1000-line despatches (fixtures/despatch/TEMELIRSALIYE-SEVK.json with
its lines repeated), in one run, in alternating rounds:
  - load  : neutral dict -> Despatch (the loader with all its checks)
  - build : Despatch -> XML bytes (jinja2 template)
  - parse : XML bytes -> Despatch (ubltr.despatch_parse)
  - lxml  : lxml parse of the same XML (the reference: the cheapest thing one can do with it)
Prints milliseconds per document and the ratios against the lxml parse.

    python bench/despatch.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from ubltr.despatch import load_despatch  # noqa: E402
from ubltr.despatch_build import build_despatch  # noqa: E402
from ubltr.despatch_parse import parse_despatch  # noqa: E402


def doc(lines: int) -> dict:
    base = json.loads((ROOT / "fixtures" / "despatch" / "TEMELIRSALIYE-SEVK.json").read_text(encoding="utf-8"))
    proto = base["lines"]
    base["lines"] = [dict(copy.deepcopy(proto[i % len(proto)]), name=f"Ürün {i}") for i in range(lines)]
    return base


def per_call(fn, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds and n >= 3:
            return el / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"{'lines':>6} {'load ms':>9} {'build ms':>9} {'parse ms':>9} {'lxml ms':>9} {'build/lxml':>11} {'parse/lxml':>11}")
    for n in (1, 10, 1000):
        d = doc(n)
        desp = load_despatch(d)
        xml = build_despatch(desp)
        assert parse_despatch(xml) == desp
        fns = {"load": lambda: load_despatch(d), "build": lambda: build_despatch(desp),
               "parse": lambda: parse_despatch(xml), "lxml": lambda: etree.fromstring(xml)}
        best = {k: float("inf") for k in fns}
        slot = args.seconds / len(fns) / args.rounds
        for _ in range(args.rounds):  # alternate, so load on the shared machine hits all alike
            for k, fn in fns.items():
                best[k] = min(best[k], per_call(fn, slot))
        ms = {k: v * 1000 for k, v in best.items()}
        print(f"{n:>6} {ms['load']:>9.3f} {ms['build']:>9.3f} {ms['parse']:>9.3f} {ms['lxml']:>9.3f} "
              f"{ms['build'] / ms['lxml']:>10.1f}× {ms['parse'] / ms['lxml']:>10.1f}×")


if __name__ == "__main__":
    main()
