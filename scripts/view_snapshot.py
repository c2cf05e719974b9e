"""Before/after check of the HTML view: every XML under ../shared/gib, ../shared/samples
and fixtures/, and bench/render.py's builder invoices (1, 10, 100, 1,000 lines, and
1,000 whose every amount differs), rendered with ubltr's template (the embedded XSLT is not used: that page
is the sender's), written to a directory; a second run compares.

    python scripts/view_snapshot.py save /tmp/view-before        # on the old code
    python scripts/view_snapshot.py compare /tmp/view-before     # on the new: what differs

``compare`` prints each document whose page changed with the lines that differ
(unified diff, at most ``--context`` lines each), and a count.  A document that
cannot be rendered is recorded by its error, so an error that appears or goes
away is a difference too.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ubltr import view  # noqa: E402

SOURCES = (ROOT.parent / "shared" / "gib", ROOT.parent / "shared" / "samples", ROOT / "fixtures")


BENCH = ((1, False), (10, False), (100, False), (1000, False), (1000, True))


def documents() -> list[Path]:
    return sorted(p for src in SOURCES if src.is_dir() for p in src.rglob("*.xml")) + [
        ROOT / "bench" / f"invoice-{n}{'-distinct' if d else ''}.xml" for n, d in BENCH]


def source(path: Path) -> bytes:
    if path.parent == ROOT / "bench":  # built, not read
        sys.path.insert(0, str(ROOT / "bench"))
        import render

        n, distinct = BENCH[[f"invoice-{n}{'-distinct' if d else ''}.xml" for n, d in BENCH].index(path.name)]
        return render.invoice(n, distinct=distinct)
    return path.read_bytes()


def page(path: Path) -> bytes:
    try:
        return view.render_html(source(path), use_embedded=False).html
    except view.DocumentError as exc:
        return f"ERROR {exc}\n".encode()


def key(path: Path) -> str:
    """A file name for ``path``'s page: its place under ROOT's parent, hashed, plus its stem."""
    rel = str(path.resolve().relative_to(ROOT.parent.resolve()))
    return f"{hashlib.sha1(rel.encode()).hexdigest()[:12]}-{path.stem}.html"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["save", "compare"])
    ap.add_argument("directory", type=Path)
    ap.add_argument("--context", type=int, default=12, help="diff lines shown per changed document")
    args = ap.parse_args()
    docs = documents()
    if args.mode == "save":
        args.directory.mkdir(parents=True, exist_ok=True)
        for p in docs:
            (args.directory / key(p)).write_bytes(page(p))
        print(f"{len(docs)} pages saved into {args.directory}")
        return 0
    changed = missing = 0
    for p in docs:
        before_file = args.directory / key(p)
        if not before_file.exists():
            missing += 1
            print(f"{p}: no saved page")
            continue
        before, after = before_file.read_bytes(), page(p)
        if before == after:
            continue
        changed += 1
        diff = difflib.unified_diff(before.decode().splitlines(), after.decode().splitlines(), lineterm="", n=0)
        shown = [d for d in diff if not d.startswith(("---", "+++", "@@"))][: args.context]
        print(f"{p.relative_to(ROOT.parent)}:")
        for d in shown:
            print("    " + d.strip()[:200])
    print(f"{len(docs)} documents: {len(docs) - changed - missing} identical, {changed} changed, {missing} not saved")
    return 1 if changed or missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
