"""ubltr.validate from several threads at once reports what it reports alone (the XSD
layer's shared schema used to lose errors to another thread's run: ubltr serve found it)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import ubltr

ROOT = Path(__file__).resolve().parents[1]


def test_threads_see_the_same_findings_as_one_call() -> None:
    good = (ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes()
    bad = good.replace(b"<cbc:IssueDate>", b"<cbc:Bogus>x</cbc:Bogus><cbc:IssueDate>", 1)  # an XSD error
    docs = [good, bad] * 150
    expected = {d: [(f.rule, f.line) for f in ubltr.validate(d).findings] for d in (good, bad)}
    assert any(r.startswith("xsd:") for r, _ in expected[bad])
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda d: [(f.rule, f.line) for f in ubltr.validate(d).findings], docs))
    wrong = sum(1 for d, g in zip(docs, got) if g != expected[d])
    assert wrong == 0, f"{wrong} of {len(docs)} reports differ from the single-threaded one"
