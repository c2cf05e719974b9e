"""``ubltr.parse`` beside its floor in instructions (callgrind): a measure the machine's
other work does not move, for a shared machine where bench/parse.py's CPU times swing
by 2x between runs.  Instructions are not time (lxml's parse and the tree's memory
cost more per instruction than Python's bytecode does); bench/parse.py measures time.

For each size, one process under valgrind runs, twice each: the floor (lxml parse +
reading every text, tail and attribute, as bench/parse.py's ``floor``) inside
``min()``, ``parse`` inside ``sorted()`` and, with ``--against REV``, the parse of
``ubltr/parsing.py`` at that git revision inside ``max()``; callgrind's inclusive
cost of each of those three builtins is the cost of what ran inside them.

    python bench/parse_callgrind.py [--against REV] [SIZE ...]   # default 1 10 100
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: builtins that parse, calc and model never call, so that each one's inclusive cost is
#: that of the one function run inside it (a marker also called inside would be counted twice)
MARKERS = {"floor": "filter_next", "parse": "functools_reduce", "before": "starmap_next"}


def _child(lines: int, against: str | None) -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from build import doc  # bench/build.py

    from parse import floor, parsing_at  # bench/parse.py
    from ubltr.model import load
    from ubltr.parsing import parse
    from ubltr.render import build

    GIB = ROOT.parent / "shared" / "gib" / "UBLTR_1.2.1_Paketi" / "xml"
    xml = (GIB / f"{lines}.xml").read_bytes() if not str(lines).isdigit() else build(load(doc(int(lines))))
    before = parsing_at(against).parse if against else None
    parse(xml), floor(xml)  # warm: imports, caches
    if before is not None:
        before(xml)
    list(filter(lambda i: floor(xml), [0, 1]))
    functools.reduce(lambda a, i: parse(xml), [0, 1], None)
    if before is not None:
        list(itertools.starmap(lambda i: before(xml), [(0,), (1,)]))


def instructions(lines: str, against: str | None) -> dict[str, int]:
    """Instructions per call of each function measured (the mean of the two counted)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__,
               "--child", lines] + (["--against", against] if against else [])
        # one hash seed: dict and set layouts (and so the instructions) the same in every run
        subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                             capture_output=True, text=True, check=True).stdout
    found: dict[str, int] = {}
    for name, marker in MARKERS.items():
        m = re.search(r"^\s*([\d,]+)\s.*\b" + marker + r"\b", ann, re.M)
        if m is not None:
            found[name] = int(m.group(1).replace(",", "")) // 2
    return found


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        ap = argparse.ArgumentParser()
        ap.add_argument("--child")
        ap.add_argument("--against")
        a = ap.parse_args()
        _child(a.child, a.against)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", default=["1", "10", "100"],
                    help="lines of the builder invoice, or the name of a GİB sample (TEVKIFAT)")
    ap.add_argument("--against", metavar="REV")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed")
    print(f"{'document':>18} {'floor':>9} {'parse':>9} {'parse/floor':>11}"
          + (f" {args.against:>10} {'its /floor':>10} {'parse/it':>9}" if args.against else "")
          + "   (millions of instructions per call)")
    for n in args.sizes:
        i = instructions(n, args.against)
        row = f"{n:>18} {i['floor'] / 1e6:>9.3f} {i['parse'] / 1e6:>9.3f} {i['parse'] / i['floor']:>10.2f}x"
        if args.against:
            row += f" {i['before'] / 1e6:>10.3f} {i['before'] / i['floor']:>9.2f}x {i['parse'] / i['before']:>8.3f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
