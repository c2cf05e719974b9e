"""``ubltr.parse`` beside its floor, measured in the same run (alternating rounds,
medians), issue #21's target: within 1.5x of the floor at 1 to 1,000 lines.

The floor is the least any reader of the document must do: lxml parses the bytes
(``etree.fromstring``) and every element's text, tail and attributes are read once
(``for el in root.iter(): el.text, el.tail, dict(el.attrib)``).  ``parse`` does that
and builds the model from it.

Documents: builder invoices of 1, 10, 100 and 1,000 lines (``bench/build.py``'s
``doc(n)``: fixtures/TEMELFATURA-SATIS.json with its lines repeated) and GİB's own
samples (TEMELFATURA and TEVKIFAT from ../shared/gib, when present).  Times are the
process's CPU time per call (``--wall`` for wall time): on a shared machine, CPU time
is what the neighbours disturb least.  Also
``check_totals`` (parse + compute + comparing the document's totals) against the
same floor, for information.

    python bench/parse.py [--rounds 7] [--budget 0.3] [--sizes 1,10,100,1000]
    python bench/parse.py --against REV   # also parse as ubltr/parsing.py was at git REV

``--against`` loads that revision's ``ubltr/parsing.py`` beside the current one (as a
module of the ``ubltr`` package, the rest of ubltr as it is now) and times its
``parse`` in the same alternating rounds: before/after ratios from one run.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lxml import etree  # noqa: E402

from build import doc  # noqa: E402  (bench/build.py: the builder invoice of n lines)
from ubltr.model import load  # noqa: E402
from ubltr.parsing import check_totals, parse  # noqa: E402
from ubltr.render import build  # noqa: E402

GIB = ROOT.parent / "shared" / "gib" / "UBLTR_1.2.1_Paketi" / "xml"
SAMPLES = ("TemelFaturaOrnegi.xml", "TEVKIFAT.xml")
TARGET = 1.5


def floor(xml: bytes) -> None:
    """lxml parse + reading every text, tail and attribute once."""
    root = etree.fromstring(xml)
    for el in root.iter():
        el.text
        el.tail
        dict(el.attrib)


#: the clock: CPU seconds of this process by default (four engineers share two cores:
#: wall time measures the neighbours too), or wall time with --wall
CLOCK = time.process_time


def per_call(fn: Callable[[], object], budget: float) -> float:
    """Seconds per call of ``fn`` over about ``budget`` seconds (at least 3 calls)."""
    n, start = 0, CLOCK()
    while True:
        fn()
        n += 1
        elapsed = CLOCK() - start
        if elapsed >= budget and n >= 3:
            return elapsed / n


def side_by_side(fns: list[Callable[[], object]], rounds: int, budget: float) -> list[float]:
    """Medians (seconds per call) of each of ``fns`` over rounds whose order alternates
    (forwards, then backwards), so that a noisy neighbour hits all of them alike."""
    for fn in fns:
        fn()
    times: list[list[float]] = [[] for _ in fns]
    for r in range(rounds):
        order = list(range(len(fns)))
        if r % 2:
            order.reverse()
        for i in order:
            times[i].append(per_call(fns[i], budget))
    return [statistics.median(t) for t in times]


def parsing_at(rev: str):  # type: ignore[no-untyped-def]
    """``ubltr/parsing.py`` as it was at git revision ``rev``, loaded as ``ubltr._parsing_at``."""
    source = subprocess.run(["git", "show", f"{rev}:ubltr/parsing.py"], cwd=ROOT, check=True,
                            capture_output=True).stdout
    path = Path(f"/tmp/ubltr-parsing-{rev.replace('/', '_')}.py")
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("ubltr._parsing_at", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ubltr._parsing_at"] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--budget", type=float, default=0.3, help="seconds per measurement of one function in a round")
    ap.add_argument("--sizes", default="1,10,100,1000")
    ap.add_argument("--no-check", action="store_true", help="skip check_totals")
    ap.add_argument("--wall", action="store_true", help="wall-clock time instead of the process's CPU time")
    ap.add_argument("--against", metavar="REV", help="also time parse as ubltr/parsing.py was at this git revision")
    args = ap.parse_args()
    before = parsing_at(args.against) if args.against else None
    global CLOCK
    if args.wall:
        CLOCK = time.perf_counter

    docs: list[tuple[str, bytes]] = [(f"{n} lines", build(load(doc(n)))) for n in map(int, args.sizes.split(","))]
    docs += [(name, (GIB / name).read_bytes()) for name in SAMPLES if (GIB / name).exists()]
    print(f"{'document':>22} {'KiB':>6} {'floor ms':>9} {'parse ms':>9} {'parse/floor':>12} "
          f"{'check ms':>9} {'check/floor':>12}"
          + (f" {args.against + ' ms':>12} {'its /floor':>10}" if before else "")
          + (f" {'its check/floor':>13}" if before and not args.no_check else "")
          + f"   (target parse/floor <= {TARGET}x; "
          f"medians of {args.rounds} alternating rounds, {'wall' if args.wall else 'CPU'} time)")
    worst = 0.0
    for name, xml in docs:
        fns: list[Callable[[], object]] = [lambda: floor(xml), lambda: parse(xml)]
        if not args.no_check:
            fns.append(lambda: check_totals(xml))
        if before is not None:
            fns.append(lambda: before.parse(xml))
            if not args.no_check:
                fns.append(lambda: before.check_totals(xml))
        t = side_by_side(fns, args.rounds, args.budget)
        ratio = t[1] / t[0]
        worst = max(worst, ratio)
        check = f"{t[2] * 1e3:>9.3f} {t[2] / t[0]:>11.1f}x" if not args.no_check else f"{'-':>9} {'-':>12}"
        old = ""
        if before is not None:
            b = t[3] if not args.no_check else t[2]
            old = f" {b * 1e3:>12.3f} {b / t[0]:>9.2f}x" + (f" {t[4] / t[0]:>12.1f}x" if not args.no_check else "")
        print(f"{name:>22} {len(xml) / 1024:>6.0f} {t[0] * 1e3:>9.3f} {t[1] * 1e3:>9.3f} {ratio:>11.2f}x {check}{old}"
              f"   {'ok' if ratio <= TARGET else 'OVER'}")
    print(f"worst parse/floor: {worst:.2f}x (target {TARGET}x)")


if __name__ == "__main__":
    main()
