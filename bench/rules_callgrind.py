"""What ubltr's own rules cost, in instructions (callgrind): a measure the machine's other
work does not move, for a shared machine where bench/validate.py's differences of
medians swing by 2x between runs (issue #18).

For each size, the invoice of bench/validate.py (builder output, N lines) is validated
by the compiled program of GİB's rules alone and by GİB's + ubltr's (the one transform
``ubltr validate`` runs); valgrind counts the instructions of the transforms only
(``--toggle-collect=xsltApplyStylesheetUser``).  ubltr's share is the difference, and
``ubltr/GİB`` the ratio issue #18 targets (<= 0.5).  Instructions are not time: at
10,000 lines the passes over a tree larger than the caches cost more per instruction
(bench/validate.py measures time), and a call into Python (``ub:matches``, the date
functions) runs at several times the instructions per second of libxml2's string
functions: replacing GİB's pattern and date calls by XPath 1.0 tests took 27 % of a
one-line invoice's instructions away and made it slower in time (docs/validate.md).
Decide a change by time in alternating rounds; use this to see where instructions go.

    python bench/rules_callgrind.py              # 1, 10, 100 lines (about a minute)
    python bench/rules_callgrind.py 1000         # sizes of your choice
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _child(which: str, lines: int) -> None:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import validate as bench  # bench/validate.py
    from lxml import etree

    from ubltr.validation import engine

    prog = engine.program(("gib", "ubltr") if which == "all" else ("gib",))
    tree = etree.ElementTree(etree.fromstring(bench.make_invoice(lines)))
    params = {k: etree.XSLT.strparam("efatura" if k.endswith("-type") else "") for k in prog.compiled.params}
    prog.xslt(tree, **params)  # warm: the second run is the one counted with the first
    prog.xslt(tree, **params)


def instructions(which: str, lines: int) -> int:
    """Instructions of one transform (the mean of the two counted)."""
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         "--toggle-collect=xsltApplyStylesheetUser", sys.executable, __file__, "--child", which, str(lines)],
        capture_output=True, text=True, check=True)
    m = re.search(r"Collected : ([\d,]+)", out.stderr)
    if m is None:
        raise RuntimeError(out.stderr[-2000:])
    return int(m.group(1).replace(",", "")) // 2


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        _child(sys.argv[2], int(sys.argv[3]))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed")
    sizes = [int(a) for a in sys.argv[1:]] or [1, 10, 100]
    print(f"{'lines':>6} {'GİB':>10} {'GİB+ubltr':>11} {'ubltr':>10} {'ubltr/GİB':>9}   (instructions per transform)")
    for n in sizes:
        g, a = instructions("gib", n), instructions("all", n)
        print(f"{n:>6} {g / 1e6:>9.2f}M {a / 1e6:>10.2f}M {(a - g) / 1e6:>9.2f}M {(a - g) / g:>9.2f}")


if __name__ == "__main__":
    main()
