"""The XPath 2.0 → 1.0 translator and its runtime functions, checked against Saxon
(the reference XPath 2.0 processor) wherever the answer is a value, not a string."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st
from lxml import etree

from ubltr.validate import xpath2
from ubltr.validate.xpath2 import UnsupportedXPath, hoist_root_paths, translate


@pytest.mark.parametrize(
    "src, want",
    [
        ("matches(cbc:ID,'^[A-Z]$')", "ub:matches(string(cbc:ID), '^[A-Z]$')"),
        ("not(exists(cac:X))", "not(boolean(cac:X))"),
        (". castable as xs:date", "ub:castable-date(string(.))"),
        ("not(normalize-space(cbc:T) castable as xs:time)", "not(ub:castable-time(string(normalize-space(cbc:T))))"),
        ("xs:date(.) le xs:date(current-date())", "ub:date-le(string(.), string(ub:current-date()))"),
        ("xs:date('2005-01-01+04:00')  le xs:date(normalize-space(cbc:D))", "ub:date-le('2005-01-01+04:00', string(normalize-space(cbc:D)))"),
        ("contains($L, concat(',', 'matches(', ','))", "contains($L, concat(',', 'matches(', ','))"),
    ],
)
def test_translate(src: str, want: str) -> None:
    assert translate(src) == want


@pytest.mark.parametrize(
    "src",
    [
        "if (a) then b else c",
        "for $x in a return $x",
        "a eq 'x'",
        "tokenize(a, ',')",
        "hr:A/normalize-space(hr:B) = 'x'",
        "xs:date(.) = xs:date('2020-01-01')",
        "upper-case(a)",
    ],
)
def test_unknown_xpath2_fails_loudly(src: str) -> None:
    with pytest.raises(UnsupportedXPath):
        translate(src)


def test_hoist_only_context_free_paths() -> None:
    v: dict[str, str] = {}
    out = hoist_root_paths("not(//cbc:UBLVersionID = '2.1') or a//b or ($x//c) or //d[e = '//f']", v)
    assert "//cbc:UBLVersionID" in v and "//d[e = '//f']" in v
    assert "a//b" in out and "$x//c" in out and "//" not in out.replace("a//b", "").replace("$x//c", "")


def _saxon():
    saxonche = pytest.importorskip("saxonche")
    proc = saxonche.PySaxonProcessor(license=False)
    return proc, proc.new_xpath_processor()


def _saxon_bool(expr: str) -> bool:
    proc, xp = _saxon()
    xp.declare_namespace("xs", "http://www.w3.org/2001/XMLSchema")
    return xp.effective_boolean_value(expr)


_date_like = st.one_of(
    st.dates(min_value=__import__("datetime").date(1, 1, 1)).map(lambda d: d.isoformat()),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}(Z|[+-][0-9]{2}:[0-9]{2})?\Z"),
    st.from_regex(r"\A ?[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,3} ?\Z"),
)


@settings(max_examples=150, deadline=None)
@given(_date_like)
def test_castable_date_agrees_with_saxon(text: str) -> None:
    want = _saxon_bool(f"'{text}' castable as xs:date")
    assert xpath2.FUNCTIONS["castable-date"](None, text) == want, text


@settings(max_examples=100, deadline=None)
@given(st.from_regex(r"\A[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,3})?(Z|[+-][0-9]{2}:[0-9]{2})?\Z"))
def test_castable_time_agrees_with_saxon(text: str) -> None:
    want = _saxon_bool(f"'{text}' castable as xs:time")
    assert xpath2.FUNCTIONS["castable-time"](None, text) == want, text


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([
    r"^[A-Z0-9]{3}20[0-9]{2}[0-9]{9}$",
    r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$",
    r"^(\s)*?[0-9][0-9]{0,16}(,[0-9]{3})*(\.[0-9]{1,2}(\s)*?)?(\s)*?$",
    r"^TR\d{7}[A-Z0-9]{17}$",
]), st.text(alphabet="ABC0123456789.,- \n\t\u00a0abcfTR", max_size=30))
def test_matches_agrees_with_saxon(pattern: str, text: str) -> None:
    proc, xp = _saxon()
    xp.set_parameter("s", proc.make_string_value(text))
    xp.set_parameter("p", proc.make_string_value(pattern))
    want = xp.effective_boolean_value("matches($s, $p)")
    assert xpath2.FUNCTIONS["matches"](None, text, pattern) == want, (pattern, text)


def test_node_set_arguments_use_first_node() -> None:
    root = etree.fromstring("<r><a>ABC2026000000001</a><a>x</a></r>")
    assert xpath2.FUNCTIONS["matches"](None, root.findall("a"), r"^[A-Z0-9]{3}20[0-9]{2}[0-9]{9}$")
    assert not xpath2.FUNCTIONS["matches"](None, [], "x")
