"""Read a corpus of invoices other software wrote, as the CEO's acceptance run does:
``parse_each`` + ``check_totals`` on every ``*.xml`` under the given directories
(or the given files), counted by verdict (``ubltr.corpus``):

    reproduced / inconsistent (named) / unsupported (refused for a reason the README
    lists) / refused (any other reason) / differs (off without a finding) / crash

and each invoice that is not reproduced with its one-line reason.

    .venv/bin/python bench/read_corpus.py DIR... [--all] [--json OUT]

``--all`` also lists the reproduced ones; ``--json`` writes every verdict.  The exit
status is 1 when something crashed or is off without a finding, else 0.  Files are
read in sorted order; nothing is written into the directories.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

from ubltr.corpus import KINDS, Verdict, verdicts


def _files(args: list[str]) -> list[Path]:
    out: list[Path] = []
    for a in args:
        p = Path(a)
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() == ".xml")
        else:
            out.append(p)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="directories (every *.xml below them) or files")
    ap.add_argument("--all", action="store_true", help="list the reproduced invoices too")
    ap.add_argument("--json", metavar="OUT", help="write every verdict as JSON")
    a = ap.parse_args(argv)
    files = _files(a.paths)
    roots = [Path(p) for p in a.paths if Path(p).is_dir()]
    found: list[Verdict] = []
    t0 = time.perf_counter()
    for f in files:
        base = next((r for r in roots if r in f.parents), None)
        found += verdicts(f, str(f.relative_to(base)) if base else str(f))
    elapsed = time.perf_counter() - t0
    counts = Counter(v.kind for v in found)
    for v in found:
        if a.all or v.kind != "reproduced":
            print(f"{v.kind:12} {v.name}: {v.reason}")
    n = len(found)
    print(f"\n{len(files)} files, {n} invoices, {elapsed:.1f} s")
    for kind in KINDS:
        c = counts.get(kind, 0)
        print(f"  {kind:12} {c:5}  {100 * c / n if n else 0:5.1f} %")
    if a.json:
        Path(a.json).write_text(json.dumps([v.__dict__ for v in found], ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if counts.get("crash") or counts.get("differs") else 0


if __name__ == "__main__":
    sys.exit(main())
