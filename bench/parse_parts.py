"""Where ``ubltr.parse``'s time goes beside its floor, by part, in µs per line (issue #21:
what stands between parse and 1.5x of the floor).  Each row is a prefix of what parse
does, timed in the same alternating rounds (minimum of the rounds: the least the
neighbours added), so the difference between two rows is the cost of one part:

- ``lxml parse``: the bytes to a tree (``xmlsafe.fromstring``, what parse calls);
- ``+ read the lines``: the document's children and each line (its price, item,
  allowances and tax subtotals) read by the compiled plans, no model built;
- ``+ build the lines``: each line read into the model (``_line``: numbers, taxes,
  allowances, the Line object, its amount);
- ``parse``: the whole of it (parties, notes, references, the document's checks that
  look at every line, the Invoice);
- ``floor``: lxml parse + reading every text, tail and attribute (bench/parse.py).

Then, on the lines already read (no tree work), the parts of building a line:
``_subtotal`` per line, ``_allowances`` per line, and the ``Line`` object itself
(the frozen dataclass's ``__init__`` with a parsed line's fields).

    python bench/parse_parts.py [--lines 1000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from build import doc  # noqa: E402
from parse import floor  # noqa: E402
from ubltr import parsing as P  # noqa: E402
from ubltr import xmlsafe  # noqa: E402
from ubltr.model import Line, load  # noqa: E402
from ubltr.render import build  # noqa: E402

LINE = P._CAC + "InvoiceLine"


def best(fns: list[Callable[[], object]], rounds: int, budget: float) -> list[float]:
    """The least seconds per call of each of ``fns`` over ``rounds`` alternating rounds."""
    out = [float("inf")] * len(fns)
    for r in range(rounds):
        order = list(range(len(fns)))[:: -1 if r % 2 else 1]
        for i in order:
            n, start = 0, time.process_time()
            while True:
                fns[i]()
                n += 1
                spent = time.process_time() - start
                if spent >= budget and n >= 3:
                    break
            out[i] = min(out[i], spent / n)
    return out


def steps(xml: bytes) -> dict[str, Callable[[], None]]:
    """The rows this bench times, each a prefix of what parse does (and the floor), by
    name; bench/parse_native_probe.py times some of them beside its own reader."""

    def lxml() -> None:
        xmlsafe.fromstring(xml)

    def read() -> None:
        root = xmlsafe.fromstring(xml)
        P._gather_root(root, {})
        for ln in root.iterchildren(LINE):
            P._gather_line(ln, {})

    def lines() -> None:
        root = xmlsafe.fromstring(xml)
        P._gather_root(root, {})
        for ln in root.iterchildren(LINE):
            P._line(ln, None, None, None, "", True, P._gather_line(ln, {}))

    def whole() -> None:
        P.parse(xml)

    def fl() -> None:
        floor(xml)

    return {"lxml parse": lxml, "+ read the lines": read, "+ build the lines": lines, "parse": whole, "floor": fl}


def arguments(description: str | None) -> argparse.Namespace:
    """``--lines``, ``--rounds``, ``--budget`` (this bench's and bench/parse_native_probe.py's)."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--budget", type=float, default=0.2)
    return ap.parse_args()


def main() -> None:
    args = arguments(__doc__)
    xml = build(load(doc(args.lines)))
    n = args.lines

    fns = steps(xml)
    names = list(fns)
    t = best(list(fns.values()), args.rounds, args.budget)
    print(f"{n} lines, {len(xml) / 1024:.0f} KiB; least of {args.rounds} alternating rounds, CPU time")
    print(f"{'':>20} {'ms':>8} {'µs/line':>8} {'part µs/line':>13}")
    prev = 0.0
    for name, x in zip(names, t):
        part = "" if name == "floor" else f"{(x - prev) * 1e6 / n:>13.2f}"
        print(f"{name:>20} {x * 1e3:>8.3f} {x * 1e6 / n:>8.2f} {part}")
        if name != "floor":
            prev = x
    print(f"{'parse / floor':>20} {t[3] / t[4]:>8.2f}x   (1.5x would be {1.5 * t[4] * 1e3:.3f} ms, "
          f"{1.5 * t[4] * 1e6 / n:.2f} µs/line)")

    # the parts of building a line, on lines already read
    root = xmlsafe.fromstring(xml)
    els = list(root.iterchildren(LINE))
    ks = [P._gather_line(ln, {}) for ln in els]
    parsed = [P._line(ln, None, None, None, "", True, dict(k)) for ln, k in zip(els, ks)]
    fields = [{f: getattr(x, f) for f in Line.__dataclass_fields__} for x in parsed]

    def subtotals() -> None:
        for k in ks:
            for st, sk in zip(k.get("subtotals", ()), k.get("subtotals_k", ())):
                P._subtotal(st, sk)

    def allowances() -> None:
        for ln, k, x in zip(els, ks, parsed):
            if "acs" in k:
                P._allowances(ln, x.quantity * x.unit_price, k["acs"], k["acs_k"])

    def objects() -> None:
        for f in fields:
            Line(**f)

    def build_all() -> None:
        for ln, k in zip(els, ks):
            P._line(ln, None, None, None, "", True, dict(k))

    t = best([subtotals, allowances, objects, build_all], args.rounds, args.budget)
    print("building a line, on lines already read (µs/line):")
    for name, x in zip(["_subtotal", "_allowances", "Line(...)", "all of _line"], t):
        print(f"{name:>20} {x * 1e6 / n:>8.2f}")


if __name__ == "__main__":
    main()
