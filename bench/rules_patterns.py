"""Where ubltr's own rules spend their time, in time (issue #18): the combined GİB +
ubltr program is compiled once whole and once without each pattern of
``schematron/ubltr.sch``, and each is timed on the same builder invoice (bench/validate.py's,
N lines) in alternating rounds, least CPU time of each; a pattern's cost is what leaving
it out saves.  ``--sch OLD.sch`` times the program compiled from another ubltr.sch (an
older revision: ``git show REV:schematron/ubltr.sch > OLD.sch``) against the current one
instead, per fixture invoice, min and median.

    python bench/rules_patterns.py 1000
    python bench/rules_patterns.py 100 --sch /tmp/old-ubltr.sch

At 1,000 lines identical programs differ by up to ±2 ms between runs (cache effects of a
1 MB tree): read differences below that as noise.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from lxml import etree  # noqa: E402

import validate as bench  # noqa: E402  (bench/validate.py: the builder invoices)
from ubltr import model, render  # noqa: E402
from ubltr.validation import compiler, engine  # noqa: E402


def _program(sources: list[compiler.RuleSource], exclude: tuple[str, ...] = (), sch: bytes | None = None) -> etree.XSLT:
    out = []
    for s in sources:
        if s.label == "ubltr":
            s = dataclasses.replace(s, exclude_patterns=tuple(s.exclude_patterns) + exclude,
                                    source=sch if sch is not None else s.source)
        out.append(s)
    return engine._stylesheet(compiler.compile_many(out))


def _time(variants: dict[str, tuple[etree.XSLT, dict]], trees: list, rounds: int) -> dict[str, list[float]]:
    res: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for k, (x, params) in variants.items():
            t0 = time.process_time()
            for t in trees:
                x(t, **params)
            res[k].append((time.process_time() - t0) / len(trees))
    return res


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("lines", type=int, nargs="?", default=1000)
    ap.add_argument("--sch", type=Path, help="an older ubltr.sch to time against the current one")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    _, sources = engine._cache_name(("gib", "ubltr"), True)
    params = {k: etree.XSLT.strparam("efatura" if k.endswith("-type") else "")
              for k in engine.program(("gib", "ubltr")).compiled.params}
    if args.sch:
        fixtures = sorted(bench.FIXTURES.glob("*.json"))
        trees = [etree.ElementTree(etree.fromstring(render.build(model.load(bench.invoice_dict(args.lines, f)))))
                 for f in fixtures[: max(1, 200 // args.lines)] * max(1, min(20, 200 // len(fixtures)))]
        res = _time({"current": (_program(sources), params),
                     args.sch.name: (_program(sources, sch=args.sch.read_bytes()), params)}, trees, args.rounds)
        print(f"{args.lines} lines, {len(trees)} fixture invoices, CPU time per invoice (min / median of {args.rounds})")
        for k, v in res.items():
            print(f"  {k:20s} {min(v) * 1e6:10.1f} / {statistics.median(v) * 1e6:10.1f} µs")
        return
    tree = etree.ElementTree(etree.fromstring(bench.make_invoice(args.lines)))
    gib = [s for s in sources if s.label == "gib"]
    patterns = [p.get("id") for p in etree.fromstring(next(s.source for s in sources if s.label == "ubltr"))
                .iter(f"{{{compiler.SCH_NS}}}pattern")]
    variants = {"full": (_program(sources), params),
                "GİB only": (engine._stylesheet(compiler.compile_many(gib)),
                             {k: v for k, v in params.items() if k.startswith("gib-")})}
    for p in patterns:
        variants[f"without {p}"] = (_program(sources, (p,)), params)
    res = _time(variants, [tree] * max(1, 2000 // args.lines), args.rounds)
    full, gib_only = min(res["full"]), min(res["GİB only"])
    print(f"{args.lines} lines: GİB + ubltr {full * 1e3:.3f} ms, GİB alone {gib_only * 1e3:.3f} ms, "
          f"ubltr's rules {(full - gib_only) * 1e3:.3f} ms (least CPU time of {args.rounds} alternating rounds)")
    for p in patterns:
        print(f"  leaving out {p:22s} saves {(full - min(res[f'without {p}'])) * 1e3:7.3f} ms")


if __name__ == "__main__":
    main()
