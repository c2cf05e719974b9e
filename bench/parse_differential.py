"""Differential run for changes to ``ubltr.parsing`` that must not change what it
answers: every document of a corpus is read by ``parse``, ``check_totals`` and
``unread``, and what each answers (``repr`` of the result, or the error's type and
message) is stored, then compared with a later run.

    python bench/parse_differential.py make DIR [--mutants 3000] [--generated 300] [--seed 21]
    python bench/parse_differential.py run DIR OUT.json          # answers of the code as it is
    python bench/parse_differential.py run DIR NEW.json --against OUT.json

``make`` writes the corpus once (so that every run reads the same bytes): GİB's
package and the real-world samples (../shared/gib, ../shared/samples), fixtures/,
``--extra`` directories (e.g. a held-out corpus, read, never written), builder
invoices from ``ubltr.testing``'s strategies, and mutants of all of these (a number
written otherwise, an element removed, repeated or emptied, a comment splitting a
text, a ChargeIndicator spelt ``1``, a line's TaxTotal dropped, an attribute
changed), each seeded, so ``make`` writes the same mutants for the same seed.
``run --against`` prints how many answers are identical and the first differences,
and exits 1 when any differs.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import random
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

SHARED = ROOT.parent / "shared"


def _sources(extra: list[str]) -> list[Path]:
    dirs = [SHARED / "gib", SHARED / "samples", ROOT / "fixtures", *map(Path, extra)]
    out: list[Path] = []
    for d in dirs:
        if d.is_dir():
            out += sorted(p for p in d.rglob("*") if p.is_file() and p.suffix.lower() == ".xml")
    return out


_NUMBER_FORMS = (
    lambda s: s + "000",                       # 1.80 -> 1.80000
    lambda s: " " + s + "\n",                  # whitespace around
    lambda s: s.split(".")[0],                 # fraction dropped
    lambda s: "-" + s,
    lambda s: "",
    lambda s: "0",
    lambda s: s + "1",
    lambda s: "12345678901234.5678",
    lambda s: s.replace(".", ","),             # not a number
    lambda s: str((Decimal(s) * 3).quantize(Decimal("0.0001"))) if s.replace(".", "", 1).isdigit() else s,
)


def _is_number(text: str | None) -> bool:
    t = (text or "").strip()
    return bool(t) and t.replace(".", "", 1).replace("-", "", 1).isdigit()


def _mutate(root: etree._Element, rng: random.Random) -> str:
    els = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    if not els:
        return "nothing"
    kind = rng.randrange(10)
    if kind <= 2:  # a number written otherwise
        nums = [e for e in els if len(e) == 0 and _is_number(e.text)]
        if nums:
            e = rng.choice(nums)
            e.text = rng.choice(_NUMBER_FORMS)(e.text.strip())
            return f"number {etree.QName(e).localname}"
    if kind == 3:  # an element removed
        e = rng.choice(els)
        parent = e.getparent()
        if parent is not None:
            parent.remove(e)
            return f"removed {etree.QName(e).localname}"
    if kind == 4:  # an element repeated
        e = rng.choice(els)
        e.addnext(copy.deepcopy(e))
        return f"repeated {etree.QName(e).localname}"
    if kind == 5:  # a text split by a comment, or emptied
        leaves = [e for e in els if len(e) == 0 and (e.text or "").strip()]
        if leaves:
            e = rng.choice(leaves)
            t = e.text
            if rng.random() < 0.7 and len(t) > 1:
                cut = rng.randrange(1, len(t))
                e.text = t[:cut]
                c = etree.Comment("x")
                c.tail = t[cut:]
                e.append(c)
                return f"split {etree.QName(e).localname}"
            e.text = rng.choice(["", "  ", None])
            return f"emptied {etree.QName(e).localname}"
    if kind == 6:  # ChargeIndicator spelt otherwise
        cis = [e for e in els if etree.QName(e).localname == "ChargeIndicator"]
        if cis:
            e = rng.choice(cis)
            e.text = rng.choice(["1", "0", " TRUE ", "false", "yes", "true"])
            return "charge indicator"
    if kind == 7:  # a line's (or every line's) TaxTotal dropped
        lines = [e for e in els if etree.QName(e).localname == "InvoiceLine"]
        if lines:
            for ln in (lines if rng.random() < 0.5 else [rng.choice(lines)]):
                for tt in ln.findall("{*}TaxTotal"):
                    ln.remove(tt)
            return "line TaxTotal dropped"
    if kind == 8:  # an attribute changed
        with_attrs = [e for e in els if e.attrib]
        if with_attrs:
            e = rng.choice(with_attrs)
            name = rng.choice(list(e.attrib))
            e.set(name, rng.choice(["", "X", "TCKN", "VKN", "USD", "C62", e.get(name) + " "]))
            return f"attribute {name}"
    # the text of one element given to another of the same name elsewhere
    e = rng.choice(els)
    same = [x for x in els if x.tag == e.tag and x is not e and len(x) == 0 and len(e) == 0]
    if same:
        e.text = rng.choice(same).text
        return f"swapped {etree.QName(e).localname}"
    return "none"


def make(out: Path, mutants: int, generated: int, seed: int, extra: list[str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    bases: list[tuple[str, bytes]] = [(str(p), p.read_bytes()) for p in _sources(extra)]
    if generated:
        from hypothesis import HealthCheck, given, seed as hseed, settings

        from ubltr.render import build
        from ubltr.testing import invoices, tax_edge_invoices

        made: list[bytes] = []
        for strategy in (invoices(), tax_edge_invoices()):
            @hseed(seed)
            @settings(max_examples=generated // 2, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(strategy)
            def collect(inv):  # type: ignore[no-untyped-def]
                made.append(build(inv))
            collect()
        bases += [(f"generated-{i}", x) for i, x in enumerate(made)]
    rng = random.Random(seed)
    written = 0
    for i, (name, data) in enumerate(bases):
        (out / f"base-{i:04d}.xml").write_bytes(data)
        written += 1
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=True)
    parsed = []
    for name, data in bases:
        try:
            parsed.append(etree.fromstring(data, parser))
        except etree.XMLSyntaxError:
            continue
    for j in range(mutants):
        root = copy.deepcopy(rng.choice(parsed))
        what = [_mutate(root, rng) for _ in range(rng.choice((1, 1, 2, 3)))]
        (out / f"mutant-{j:05d}.xml").write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        written += 1
        del what
    print(f"{len(bases)} documents and {mutants} mutants written to {out}")


def _answer(fn, xml: bytes) -> str:  # type: ignore[no-untyped-def]
    try:
        return repr(fn(xml))
    except Exception as exc:  # noqa: BLE001  (the answer, whatever it is, is what is compared)
        return f"{type(exc).__name__}: {exc}"


def run(corpus: Path, out: Path, against: Path | None) -> int:
    from ubltr.parsing import check_totals, parse, unread

    answers: dict[str, list[str]] = {}
    for p in sorted(corpus.glob("*.xml")):
        xml = p.read_bytes()
        answers[p.name] = [_answer(parse, xml), _answer(check_totals, xml), _answer(unread, xml)]
    out.write_text(json.dumps(answers, ensure_ascii=False, indent=0), encoding="utf-8")
    digest = hashlib.sha256(out.read_bytes()).hexdigest()[:16]
    print(f"{len(answers)} documents read, answers in {out} (sha256 {digest})")
    kinds = [a[0].split(":")[0] if not a[0].startswith("Invoice(") else "Invoice" for a in answers.values()]
    print("parse answers:", {k: kinds.count(k) for k in sorted(set(kinds))})
    if against is None:
        return 0
    old = json.loads(against.read_text(encoding="utf-8"))
    same = sum(1 for k, v in answers.items() if old.get(k) == v)
    print(f"identical: {same} of {len(answers)} (old run: {len(old)} documents)")
    shown = 0
    for k, v in answers.items():
        if old.get(k) != v and shown < 5:
            shown += 1
            for what, a, b in zip(("parse", "check_totals", "unread"), old.get(k, ["", "", ""]), v):
                if a != b:
                    print(f"--- {k} {what}\nold: {a[:600]}\nnew: {b[:600]}")
    return 0 if same == len(answers) == len(old) else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("--mutants", type=int, default=3000)
    m.add_argument("--generated", type=int, default=300)
    m.add_argument("--seed", type=int, default=21)
    m.add_argument("--extra", action="append", default=[])
    r = sub.add_parser("run")
    r.add_argument("dir")
    r.add_argument("out")
    r.add_argument("--against")
    a = ap.parse_args()
    if a.cmd == "make":
        make(Path(a.dir), a.mutants, a.generated, a.seed, a.extra)
        return 0
    return run(Path(a.dir), Path(a.out), Path(a.against) if a.against else None)


if __name__ == "__main__":
    sys.exit(main())
