"""Benchmark: what the payload check adds to a field-based send.

For 1-, 10- and 1000-line invoices (BizimHesap's mapping of a TEMELFATURA-SATIS
document), in one run, alternating rounds:
  - map   : ``BizimHesapClient.body_for`` (load the neutral invoice, compute, map, serialise)
  - check : ``payload_check.check_payload`` + ``is_signed`` (XPath over the XML, payload parse, compare)
  - parse : lxml parse of the same XML (the reference: the cheapest thing one can do with it)
Prints per-document times and the ratios check/map and check/parse.

    python bench/payload_check.py [--rounds 5] [--seconds 1]
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

import httpx  # noqa: E402
from lxml import etree  # noqa: E402

from ubltr import model  # noqa: E402
from ubltr.render import build  # noqa: E402
from ubltr.transport import payload_check  # noqa: E402
from ubltr.transport.base import Document  # noqa: E402
from ubltr.transport.bizimhesap import BizimHesapClient  # noqa: E402


def document(lines: int) -> Document:
    base = json.loads((ROOT / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))
    proto = base["lines"]
    base["lines"] = [dict(copy.deepcopy(proto[i % len(proto)]), name=f"Ürün {i}") for i in range(lines)]
    inv = model.load(base)
    return Document.from_xml(build(inv), neutral=model.to_dict(inv))


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
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0)
    args = ap.parse_args()
    client = BizimHesapClient(httpx.Client(), firm_id="F")
    print(f"{'lines':>6} {'map ms':>9} {'check ms':>9} {'parse ms':>9} {'check/map':>10} {'check/parse':>12}")
    for lines in (1, 10, 1000):
        doc = document(lines)
        body = client.body_for(doc)

        def check() -> None:
            payload_check.is_signed(doc.xml)
            payload_check.check_payload("bizimhesap", doc.xml, body)

        fns = {"map": lambda: client.body_for(doc), "check": check,
               "parse": lambda: etree.fromstring(doc.xml)}
        best = {k: float("inf") for k in fns}
        for _ in range(args.rounds):          # alternating rounds: the machine is shared
            for k, fn in fns.items():
                best[k] = min(best[k], per_call(fn, args.seconds / len(fns)))
        print(f"{lines:>6} {best['map'] * 1e3:>9.2f} {best['check'] * 1e3:>9.2f} {best['parse'] * 1e3:>9.2f} "
              f"{best['check'] / best['map']:>10.2f} {best['check'] / best['parse']:>12.1f}")


if __name__ == "__main__":
    main()
