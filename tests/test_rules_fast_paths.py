"""Fast paths of ubltr's own rules (issue #18): what the compiler does with
``ubltr:passes`` and with ``.//@name`` at the root element, and that
schematron/ubltr.sch's fast paths never hide a finding.

A fast path (``<sch:rule ubltr:passes="EXPR">``) lets a rule's loop skip the nodes EXPR
proves valid: one XPath per invoice line instead of every let and test.  The rules as
written stay the judges: the same schematron with its fast paths taken out must find
exactly the same things, on every document at hand and on invoices whose amounts sit
around the half-kuruş tolerance (where a wrong margin in a fast path would show).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from conftest import ROOT, SHARED
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ubltr import model, render
from ubltr.validation import compiler, engine

UBLTR_SCH = ROOT / "schematron" / "ubltr.sch"
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}


def _run(xslt: etree.XSLT, tree: etree._ElementTree, provider: str = "") -> list[tuple[str, ...]]:
    result = xslt(tree, type=etree.XSLT.strparam("efatura"), provider=etree.XSLT.strparam(provider))
    root = result.getroot()
    return sorted((f.get("n"), f.get("l"), f.get("p"), " ".join("".join(f.itertext()).split()))
                  for f in (root if root is not None else []))


def _compiled(source: bytes) -> etree.XSLT:
    c = compiler.compile_schematron(source, label="ubltr", params=("type", "provider"))
    return engine._stylesheet(c)


def _without_fast_paths(source: bytes) -> bytes:
    doc = etree.fromstring(source)
    n = 0
    for rule in doc.iter(f"{{{compiler.SCH_NS}}}rule"):
        rule.attrib.pop(compiler.PASSES_BELOW, None)
        if rule.attrib.pop(compiler.PASSES, None) is not None:
            n += 1
    assert n >= 3  # the line rule and the two line-subtotal rules have one
    return etree.tostring(doc)


_FAST = _PLAIN = None


def _both() -> tuple[etree.XSLT, etree.XSLT]:
    global _FAST, _PLAIN
    if _FAST is None:
        src = UBLTR_SCH.read_bytes()
        _FAST, _PLAIN = _compiled(src), _compiled(_without_fast_paths(src))
    return _FAST, _PLAIN  # type: ignore[return-value]


# ---------------------------------------------------------------- the compiler

_TOY = b"""<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" xmlns:ubltr="urn:ubltr:schematron">
  <sch:pattern id="p">
    <sch:rule context="a" ubltr:passes="true()">
      <sch:assert id="A" test="@v &gt; 0">a</sch:assert>
    </sch:rule>
    <sch:rule context="*">
      <sch:assert id="B" test="false()">b</sch:assert>
    </sch:rule>
  </sch:pattern>
</sch:schema>"""


def test_a_fast_path_skips_nodes_and_the_next_rule_still_does_not_see_them() -> None:
    """The loop of a rule with ``ubltr:passes`` visits only nodes where it is false (a
    deliberately wrong fast path, ``true()``, hides the failing ``a``: the schematron
    author's promise is taken as given), while "first matching rule wins" is decided by
    the context alone: rule B never fires on an ``a``."""
    c = compiler.compile_schematron(_TOY)
    xslt = engine._stylesheet(c)
    doc = etree.fromstring(b"<r><a v='1'/><a v='-1'/><b/></r>")
    fired = [c.assertions[int(f.get("n"))].id for f in xslt(doc).getroot()]
    assert sorted(fired) == ["B", "B"]  # r and b; not the a's, not A
    explained = next(a for a in c.assertions if a.id == "A")
    assert explained.context == "a"  # the rule's own context, as written


_TOY_BELOW = b"""<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" xmlns:ubltr="urn:ubltr:schematron">
  <sch:pattern id="p">
    <sch:rule context="r/a" ubltr:passes="@ok" ubltr:passes-below="true">
      <sch:assert id="A" test="@ok or @v &gt; 0">a</sch:assert>
    </sch:rule>
    <sch:rule context="r/a/b" ubltr:passes="false()">
      <sch:assert id="B" test="false()">b</sch:assert>
    </sch:rule>
    <sch:rule context="r/c/b">
      <sch:assert id="C" test="false()">c</sch:assert>
    </sch:rule>
  </sch:pattern>
</sch:schema>"""


def test_passes_below_starts_the_rules_below_from_the_nodes_left() -> None:
    """With ``ubltr:passes-below``, the rules whose context lies below the rule's run
    only under the nodes its fast path did not pass (one global holds them), and the
    rule itself loops over that global; other rules are untouched."""
    c = compiler.compile_schematron(_TOY_BELOW)
    text = c.xslt.decode()
    assert text.count('name="ubltr-suspect-1"') == 1
    assert 'for-each select="$ubltr-suspect-1/b' in text
    doc = etree.fromstring(b"<r><a ok='1'><b/></a><a v='1'><b/></a><a v='-1'><b/></a><c><b/></c></r>")
    fired = [(c.assertions[int(f.get("n"))].id, f.get("p")) for f in engine._stylesheet(c)(doc).getroot()]
    assert sorted(fired) == [("A", "/r/a[3]"), ("B", "/r/a[2]/b"), ("B", "/r/a[3]/b"), ("C", "/r/c/b")]


def test_root_descendant_attributes_are_read_once_for_both_rule_sets() -> None:
    """ubltr's currency rule (``.//@currencyID`` from the invoice) and GİB's value-decided
    ``@currencyID`` check read the same global: the combined program walks the tree for
    them once (it walked twice: one of the costliest parts of ubltr's rules)."""
    xslt = engine.program(("gib", "ubltr")).compiled.xslt.decode()
    assert len(re.findall(r'select="//\*/@currencyID"', xslt)) == 1
    assert ".//@currencyID" not in xslt.split('<xsl:if test="$ubltr-any-1[parent::*]">')[0]


@pytest.mark.parametrize("expr, rewritten", [
    ("not(.//@currencyID != $cur)", True),
    ("(.//@currencyID[. != $cur])[1]", True),
    (".//@currencyID[1]", False),  # positional: the first per element
    (".//@currencyID[$n]", False),
    (".//@a[position() = 1]", False),
    ("x.//@a", False),
    ("..//@a", False),
])
def test_only_plain_descendant_attribute_paths_are_shared(expr: str, rewritten: bool) -> None:
    out = compiler._Program().root_attr_sets(expr)
    assert ("$ubltr-attrs-1" in out) == rewritten
    assert (".//@" in out) != rewritten


# ---------------------------------------------------------------- ubltr.sch's fast paths

def _documents_at_hand() -> list[etree._ElementTree]:
    paths = sorted((ROOT / "fixtures").glob("*.xml"))
    if SHARED.exists():
        paths += sorted((SHARED / "samples").rglob("*.xml"))
    out = []
    for p in paths:
        tree, _, _ = engine.load(str(p))
        if tree is not None:
            out.append(tree)
    return out


def test_fast_paths_find_what_the_rules_find_on_every_document_at_hand() -> None:
    fast, plain = _both()
    n = findings = 0
    for tree in _documents_at_hand():
        got = _run(fast, tree, "nilvera")
        assert got == _run(plain, tree, "nilvera"), tree.docinfo.URL
        n += 1
        findings += len(got)
    assert n >= 40 and findings >= 40, (n, findings)


def _base(with_charge: bool) -> etree._Element:
    import json

    d = json.loads((ROOT / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))
    if with_charge:
        d["lines"][1]["charges"] = [{"amount": "12.34", "reason": "Ambalaj"}]
    return etree.fromstring(render.build(model.load(d)))


_BASES = {k: etree.tostring(_base(k)) for k in (False, True)}

#: offsets around the tolerance (0.0051) and the fast paths' margin (0.5 / 98.04)
_NEAR = st.sampled_from(["0", "0", "0.0049", "-0.0049", "0.005", "-0.005", "0.00509", "-0.00509",
                         "0.0050999", "-0.0050999", "0.0051", "-0.0051", "0.0051001", "-0.0051001",
                         "0.01", "-0.01", "0.0001", "-0.0001"])
_EDITS = [
    "cbc:LineExtensionAmount", "cac:Price/cbc:PriceAmount", "cbc:InvoicedQuantity",
    "cac:AllowanceCharge/cbc:Amount", "cac:AllowanceCharge/cbc:BaseAmount",
    "cac:AllowanceCharge/cbc:MultiplierFactorNumeric", "cac:TaxTotal/cbc:TaxAmount",
    "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxableAmount",
    "cac:TaxTotal/cac:TaxSubtotal/cbc:Percent",
]


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_fast_paths_hide_no_finding_around_the_tolerance(data: st.DataObject) -> None:
    """Random line amounts moved by offsets around half a kuruş (and the fast paths'
    own margin), some values removed or made unreadable: the rules with and without
    their fast paths report the same findings, messages, lines and locations."""
    fast, plain = _both()
    root = etree.fromstring(_BASES[data.draw(st.booleans())])
    lines = root.findall("cac:InvoiceLine", NS)
    for _ in range(data.draw(st.integers(1, 4))):
        line = data.draw(st.sampled_from(lines))
        els = line.xpath(data.draw(st.sampled_from(_EDITS)), namespaces=NS)
        if not els:
            continue
        el = els[0]
        how = data.draw(st.sampled_from(["move", "move", "move", "remove", "text"]))
        if how == "remove":
            el.getparent().remove(el)
        elif how == "text":
            el.text = data.draw(st.sampled_from(["", "abc", "1,5", " 12 "]))
        elif re.fullmatch(r"-?\d+(\.\d+)?", (el.text or "").strip()):
            el.text = str(Decimal(el.text) + Decimal(data.draw(_NEAR)))
    tree = etree.ElementTree(etree.fromstring(etree.tostring(root)))
    assert _run(fast, tree) == _run(plain, tree)


def _line_shapes() -> dict[str, bytes]:
    """Lines whose tax totals are shaped otherwise than once per line: the line fast path
    holds only for exactly one cac:TaxTotal (``cac:TaxTotal[last() = 1]``) and sums every
    cbc:TaxAmount in it; each shape below has a finding that a fast path reading only the
    first TaxTotal or the first TaxAmount would hide."""
    out = {}
    for name in ("second-total", "no-total", "second-amount", "second-total-right"):
        root = etree.fromstring(_BASES[False])
        line = root.find("cac:InvoiceLine", NS)
        total = line.find("cac:TaxTotal", NS)
        if name == "no-total":
            line.remove(total)
        elif name == "second-amount":
            extra = etree.fromstring(etree.tostring(total.find("cbc:TaxAmount", NS)))
            total.insert(1, extra)
        else:
            twin = etree.fromstring(etree.tostring(total))
            if name == "second-total":
                for amount in twin.iter(f"{{{NS['cbc']}}}TaxAmount"):
                    amount.text = str(Decimal(amount.text) + 1)
                twin.find("cbc:TaxAmount", NS).text = "0.00"
            total.addnext(twin)
        out[name] = etree.tostring(root)
    return out


@pytest.mark.parametrize("shape", ["second-total", "no-total", "second-amount", "second-total-right"])
def test_the_line_fast_path_holds_only_for_one_tax_total(shape: str) -> None:
    fast, plain = _both()
    tree = etree.ElementTree(etree.fromstring(_line_shapes()[shape]))
    got = _run(fast, tree)
    assert got == _run(plain, tree)
    fired = {f[0] for f in got}
    if shape in ("second-total", "second-amount"):
        assert fired, shape  # the doubled tax is found, with or without the fast path
    # and what is found is what the rules' exact-decimal reading finds (tests/rules_decimal.py)
    import rules_decimal

    found = engine._rule_findings(engine.ruleset("ubltr"), tree, {"type": "efatura", "provider": ""}, strict=True)
    assert sorted({f.rule for f in found}) == sorted({rule for rule, _, _ in rules_decimal.evaluate(tree)}), shape
    if shape in ("second-total", "second-amount"):
        assert "UBLTR-LINE-TAXTOTAL" in {f.rule for f in found}, shape


def _doubled_values() -> dict[str, bytes]:
    """Lines carrying a value the rules read as a number twice: XPath takes the first in
    document order (``number(node-set)``), and so must the line fast path, which reads
    such values as ``X[1]`` (a child scan that stops at the first match).  In each shape
    the first value is wrong and the second would make the line add up, so a fast path
    reading any value but the first hides the finding; and a Price without PriceAmount
    before the real one, where the rules read the second Price's amount (the fast
    path's ``cac:Price[1]/cbc:PriceAmount[1]`` is empty there: it hands the line to the
    rules, which pass it)."""
    cbc = f"{{{NS['cbc']}}}"
    doubled = {"second-quantity": "cbc:InvoicedQuantity", "second-percent": "cac:TaxTotal/cac:TaxSubtotal/cbc:Percent",
               "second-line-amount": "cbc:LineExtensionAmount"}
    out = {}
    for name in (*doubled, "price-without-amount-first"):
        root = etree.fromstring(_BASES[True])  # line 2 has a charge: the allowance branch too
        for line in root.findall("cac:InvoiceLine", NS):
            if name in doubled:
                value = line.find(doubled[name], NS)
                twin = etree.fromstring(etree.tostring(value))  # the second one, right
                value.text = str(Decimal(value.text) + 1)  # the first one, wrong
                value.addnext(twin)
            else:
                price = line.find("cac:Price", NS)
                empty = etree.SubElement(line, f"{{{NS['cac']}}}Price")
                etree.SubElement(empty, cbc + "BaseQuantity").text = "1"
                price.addprevious(empty)
        out[name] = etree.tostring(root)
    return out


@pytest.mark.parametrize("shape", ["second-quantity", "second-percent", "second-line-amount",
                                   "price-without-amount-first"])
def test_the_line_fast_path_reads_the_first_of_a_doubled_value(shape: str) -> None:
    fast, plain = _both()
    tree = etree.ElementTree(etree.fromstring(_doubled_values()[shape]))
    got = _run(fast, tree)
    assert got == _run(plain, tree), shape
    expected = {"second-quantity": "UBLTR-LINE-AMOUNT", "second-line-amount": "UBLTR-LINE-AMOUNT",
                "second-percent": "UBLTR-LINE-TAX-PERCENT"}.get(shape)
    import rules_decimal

    found = engine._rule_findings(engine.ruleset("ubltr"), tree, {"type": "efatura", "provider": ""}, strict=True)
    rules = {f.rule for f in found}
    assert rules == {rule for rule, _, _ in rules_decimal.evaluate(tree)}, shape
    if expected:
        assert expected in rules, (shape, rules)
    else:
        assert not {r for r in rules if r.startswith("UBLTR-LINE")}, (shape, rules)
