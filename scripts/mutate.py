"""Mutation testing of ubltr's money code: one small change at a time in calc.py,
render.py, templates/invoice.xml.j2 or schematron/ubltr.sch, then the tests that
judge that file; a mutant the tests let through is a change to a tax amount (or to a
rule) nobody would notice.

    python scripts/mutate.py                      # every mutant (slow: an hour or more)
    python scripts/mutate.py --sample 80 --seed 7 # 80 mutants drawn with seed 7
    python scripts/mutate.py --list               # the mutants, without running them
    python scripts/mutate.py --only calc.py:123   # the mutants of one line

It runs outside CI's budget by design (each mutant is a pytest run).  For each mutant
the tests that judge from outside ubltr run first (``OUTSIDE``: hand-written numbers,
the tax oracle of tests/tax_oracle.py, the wrong-invoice corpus with hand-written
expectations); only if they all pass do the others run (``INSIDE``: tests that compare
ubltr with ubltr, golden files, round trips).  The report gives both scores:

* killed: the tests fail (or time out) with the mutant;
* killed from outside: already the outside tests fail;
* survived: every test passes.  docs/mutation.md lists each survivor as equivalent
  (with the reason) or names the test added to kill it; ``EQUIVALENT`` below holds the
  ids of the equivalent ones, so the score is killed / (mutants - equivalent).

A mutant id is ``file:line:column:operator`` and does not depend on the seed; the
source file is restored after each mutant (and on Ctrl-C).  Hypothesis examples are
reduced through ``UBLTR_MUTATION_EXAMPLES`` (tests/test_tax_oracle.py reads it).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: file -> (outside tests, inside tests); pytest arguments
SUITES: dict[str, tuple[list[str], list[str]]] = {
    "ubltr/calc.py": (["tests/test_tax_oracle.py", "-k", "not gib_rules"],
                      ["tests/test_calc.py", "tests/test_properties.py", "-k", "not gib_rules"]),
    "ubltr/render.py": (["tests/test_tax_oracle.py", "-k", "not gib_rules"],
                        ["tests/test_render.py", "tests/test_properties.py", "-k",
                         "not gib_rules and not sample and not embedded_xslt"]),
    "templates/invoice.xml.j2": (["tests/test_tax_oracle.py", "-k", "not gib_rules"],
                                 ["tests/test_render.py", "tests/test_properties.py", "tests/test_fixtures.py", "-k",
                                  "not gib_rules and not sample and not embedded_xslt"]),
    "schematron/ubltr.sch": (["tests/test_ubltr_rules.py"], ["tests/test_validate.py", "tests/test_properties.py",
                                                            "-k", "not gib_rules"]),
}

#: mutants shown equivalent in docs/mutation.md, by id (the schematron's tolerance
#: boundary is recognised by :func:`_sch_mutants` itself)
EQUIVALENT: dict[str, str] = {
    "render.py:191:78:not->": "_xml_escape's fast path then returns unescaped only strings whose one special "
                              "character is an apostrophe, which needs no escaping in element text or in a "
                              "double-quoted attribute: the same XML infoset",
}

_BOUNDARY = ("the tolerance's boundary: `< $eps` and `<= $eps` (or `>= $eps` and `> $eps`) differ only "
             "when the double-precision difference equals the double nearest 0.0051")


@dataclass(frozen=True)
class Mutant:
    file: str
    line: int
    col: int
    op: str
    old: str
    new: str
    start: int  # offset in the file's text
    end: int
    #: why the mutant, if it survives, is equivalent (docs/mutation.md), or ""
    equivalent: str = ""

    @property
    def id(self) -> str:
        return f"{Path(self.file).name}:{self.line}:{self.col}:{self.op}"

    def apply(self, text: str) -> str:
        assert text[self.start:self.end] == self.old, (self.id, text[self.start:self.end], self.old)
        return text[:self.start] + self.new + text[self.end:]


# ----------------------------------------------------------------- Python mutants

_PY_SWAPS = {
    "+": ["-"], "-": ["+"], "*": ["/"], "/": ["*"], "//": ["/"],
    "<": ["<="], "<=": ["<"], ">": [">="], ">=": [">"], "==": ["!="], "!=": ["=="],
    "and": ["or"], "or": ["and"],
    # the rounding constants are strings ('ROUND_HALF_EVEN'): a literal needs no import
    "ROUND_HALF_UP": ['"ROUND_HALF_EVEN"', "ROUND_DOWN"], "ROUND_DOWN": ["ROUND_HALF_UP", '"ROUND_UP"'],
    "True": ["False"], "False": ["True"],
    '"true"': ['"false"'], '"false"': ['"true"'],
    "min": ["max"], "max": ["min"],
}
_NUMBERS = re.compile(r"^\d+$")


def _py_mutants(path: str, text: str) -> list[Mutant]:
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))
    out: list[Mutant] = []
    in_doc = False
    prev: tokenize.TokenInfo | None = None
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.STRING and prev is not None and prev.type in (tokenize.INDENT, tokenize.NEWLINE,
                                                                                tokenize.NL, tokenize.DEDENT):
            in_doc = True  # a docstring or a bare string: no mutants
        else:
            in_doc = False
        (r, c), (r2, c2) = tok.start, tok.end
        if r > len(lines) or tok.type in (tokenize.ENDMARKER, tokenize.NEWLINE, tokenize.NL):
            prev = tok
            continue
        start, end = offsets[r - 1] + c, offsets[r2 - 1] + c2
        line_text = lines[r - 1]
        prev = tok
        if in_doc or line_text.lstrip().startswith(("#", "import", "from", "__all__", "def ", "class ", "@")):
            continue
        if tok.type == tokenize.COMMENT:
            continue
        news = _PY_SWAPS.get(tok.string, [])
        if tok.type == tokenize.NUMBER and _NUMBERS.match(tok.string):
            news = [str(int(tok.string) + 1)] + (["0"] if tok.string != "0" else [])
        if tok.type == tokenize.STRING and tok.string in ('"0.01"', '"100"'):
            news = ['"0.1"'] if tok.string == '"0.01"' else ['"10"']
        for new in news:
            out.append(Mutant(path, r, c, f"{tok.string}->{new}", tok.string, new, start, end))
        # a unary minus dropped, a "not" dropped
        if tok.string == "not" and tok.type == tokenize.NAME:
            out.append(Mutant(path, r, c, "not->", "not ", "", start, end + 1))
    return out


# ----------------------------------------------------------------- template mutants

#: pairs of amounts the template could confuse; each occurrence swapped alone
_J2_SWAPS = [
    ("d.allowance_total", "d.charge_total"), ("d.tax_exclusive", "d.tax_inclusive"),
    ("d.line_extension", "d.tax_exclusive"), ("d.payable", "d.tax_inclusive"), ("d.tax_total", "d.withholding_total"),
    ("d.rounding", "d.payable"), ("s.base", "s.amount"), ("w.base", "w.amount"), ("a.base", "a.amount"),
    ("lv.net", "lv.price"), ("lv.tax_amount", "lv.net"), ("a.indicator", "'true'"), ("t.words_try", "t.words"),
    ("s.percent", "s.per_unit"), ("w.percent", "w.amount"), ("lv.qty", "lv.net"),
]


def _j2_mutants(path: str, text: str) -> list[Mutant]:
    out = []
    for a, b in _J2_SWAPS:
        for old, new in ((a, b), (b, a)):
            for m in re.finditer(re.escape(old) + r"(?![\w.])", text):
                line = text.count("\n", 0, m.start()) + 1
                col = m.start() - (text.rfind("\n", 0, m.start()) + 1)
                out.append(Mutant(path, line, col, f"{old}->{new}", old, new, m.start(), m.end()))
    # a conditional element dropped: {% if X %} -> {% if false %}
    for m in re.finditer(r"\{%-? if (t\.rounding|t\.words_try|a\.base|a\.factor|t\.withholding_subtotals[^%]*)%\}", text):
        line = text.count("\n", 0, m.start()) + 1
        col = m.start() - (text.rfind("\n", 0, m.start()) + 1)
        new = m.group(0).replace(m.group(1), "false ", 1)
        out.append(Mutant(path, line, col, "if->false", m.group(0), new, m.start(), m.end()))
    return out


# ----------------------------------------------------------------- schematron mutants

_SCH_SWAPS = [
    (r"&lt;", ["&gt;", "&lt;="]), (r"&gt;=", ["&gt;", "&lt;"]), (r" - ", [" + "]), (r" \+ ", [" - "]),
    (r" \* ", [" div "]), (r" and ", [" or "]), (r" or ", [" and "]), (r"'false'", ["'true'"]),
    (r"'true'", ["'false'"]), (r"\$eps", ["0.02", "0"]), (r"div 100", ["div 10"]), (r"'0015'", ["'0016'"]),
    (r"not\(", ["("]),
]


def _sch_mutants(path: str, text: str) -> list[Mutant]:
    out = []
    # only inside test="..." and value="..." of asserts and lets of the arithmetic patterns
    stop = text.find('<sch:pattern id="party-ids">')
    for attr in re.finditer(r'\b(test|value)="([^"]*)"', text[:stop if stop > 0 else len(text)]):
        body_start = attr.start(2)
        body = attr.group(2)
        for pat, news in _SCH_SWAPS:
            for m in re.finditer(pat, body):
                s, e = body_start + m.start(), body_start + m.end()
                line = text.count("\n", 0, s) + 1
                col = s - (text.rfind("\n", 0, s) + 1)
                after = body[m.end():].lstrip()
                for new in news:
                    boundary = (m.group(0), new) in (("&lt;", "&lt;="), ("&gt;=", "&gt;")) and after.startswith("$eps")
                    out.append(Mutant(path, line, col, f"{m.group(0).strip()}->{new.strip()}", m.group(0), new, s, e,
                                      _BOUNDARY if boundary else ""))
    return out


def mutants(files: list[str]) -> list[Mutant]:
    out: list[Mutant] = []
    for f in files:
        text = (ROOT / f).read_text(encoding="utf-8")
        if f.endswith(".py"):
            out += _py_mutants(f, text)
        elif f.endswith(".j2"):
            out += _j2_mutants(f, text)
        else:
            out += _sch_mutants(f, text)
    return out


# ----------------------------------------------------------------- running

def _pytest(args: list[str], env: dict[str, str], timeout: float) -> tuple[bool, str]:
    """(passed, last lines of output)."""
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header",
           "-o", "addopts=", *args]
    try:
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, "timeout"
    tail = [ln for ln in r.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))][:1]
    return r.returncode == 0, (tail[0] if tail else r.stdout.strip().splitlines()[-1:] and r.stdout.strip().splitlines()[-1])


def run(selected: list[Mutant], timeout: float, out_path: Path | None) -> dict:
    env = dict(os.environ)
    env.setdefault("UBLTR_MUTATION_EXAMPLES", "15")
    env["UBLTR_CACHE_DIR"] = tempfile.mkdtemp(prefix="ubltr-mutate-")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    results = []
    t0 = time.time()
    for i, m in enumerate(selected, 1):
        path = ROOT / m.file
        original = path.read_text(encoding="utf-8")
        try:
            path.write_text(m.apply(original), encoding="utf-8")
            outside, inside = SUITES[m.file]
            ok_out, why = _pytest(outside, env, timeout)
            status = "killed-outside" if not ok_out else ""
            if ok_out:
                ok_in, why = _pytest(inside, env, timeout)
                status = "killed-inside" if not ok_in else "survived"
        finally:
            path.write_text(original, encoding="utf-8")
        reason = m.equivalent or EQUIVALENT.get(m.id, "")
        if status == "survived" and reason:
            status = "equivalent"
        results.append({"id": m.id, "op": m.op, "status": status,
                        "by": why if status.startswith("killed") else reason})
        print(f"[{i}/{len(selected)} {time.time() - t0:6.0f}s] {status:15} {m.id}  {why if status != 'survived' else ''}",
              flush=True)
    counted = [r for r in results if r["status"] != "equivalent"]
    killed = sum(r["status"].startswith("killed") for r in counted)
    outside = sum(r["status"] == "killed-outside" for r in counted)
    summary = {"mutants": len(results), "equivalent": len(results) - len(counted), "killed": killed,
               "killed_outside": outside, "survived": [r["id"] for r in counted if r["status"] == "survived"],
               "score": killed / len(counted) if counted else 1.0,
               "score_outside": outside / len(counted) if counted else 1.0, "results": results}
    if out_path:
        out_path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(f"\n{killed}/{len(counted)} killed ({summary['score']:.0%}), {outside} from outside "
          f"({summary['score_outside']:.0%}); {len(results) - len(counted)} equivalent; survivors:")
    for s in summary["survived"]:
        print("  ", s)
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", nargs="*", default=list(SUITES))
    ap.add_argument("--sample", type=int, help="run this many mutants, drawn at random")
    ap.add_argument("--seed", type=int, default=None, help="seed of the draw (default: a new one, printed)")
    ap.add_argument("--only", action="append", default=[], help="file:line (e.g. calc.py:123), or a mutant id")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--out", type=Path, help="write the results as JSON")
    args = ap.parse_args()
    ms = mutants(args.files)
    if args.only:
        ms = [m for m in ms if any(m.id == o or m.id.startswith(o + ":") for o in args.only)]
    if args.sample and args.sample < len(ms):
        seed = args.seed if args.seed is not None else random.randrange(10**6)
        print(f"seed {seed}: {args.sample} of {len(ms)} mutants")
        ms = random.Random(seed).sample(ms, args.sample)
        ms.sort(key=lambda m: (m.file, m.line, m.col, m.op))
    if args.list:
        for m in ms:
            print(m.id, "  (equivalent if it survives: the tolerance's boundary)" if m.equivalent else "")
        print(len(ms), "mutants")
        return
    run(ms, args.timeout, args.out)


if __name__ == "__main__":
    main()
