"""The XPath 2.0 → 1.0 translator and its runtime functions, checked against Saxon
(the reference XPath 2.0 processor) wherever the answer is a value, not a string."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from lxml import etree

from ubltr.validation import xpath2
from ubltr.validation.xpath2 import UnsupportedXPath, hoist_root_paths, translate


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
        # a path step that calls normalize-space (GİB's user-account rules)
        ("normalize-space(hr:U) = following-sibling::node()/normalize-space(hr:U)",
         "normalize-space(hr:U) = ub:normalize-each(following-sibling::node(), following-sibling::node()/hr:U, 1)"),
        ("hr:P/normalize-space(hr:F) = following::node()/hr:P/normalize-space(hr:F)",
         "ub:normalize-each(hr:P, hr:P/hr:F, 1) = ub:normalize-each(following::node()/hr:P, following::node()/hr:P/hr:F, 1)"),
        ("a[b = 'x/normalize-space(y)']/normalize-space(c/d[@k = 'v/w'])",
         "ub:normalize-each(a[b = 'x/normalize-space(y)'], a[b = 'x/normalize-space(y)']/c/d[@k = 'v/w'], 2)"),
        ("$v/normalize-space()", "ub:normalize-each($v, $v, 0)"),
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
        "hr:A/upper-case(hr:B) = 'x'",
        "hr:A/normalize-space(../hr:B) = 'x'",
        "hr:A/normalize-space(string(hr:B)) = 'x'",
        "hr:A/normalize-space(hr:B, hr:C) = 'x'",
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
    # XSD 1.1 years, as Saxon reads them: 0000, negative, more than four digits, leap days
    st.builds(lambda sign, year, md: f"{sign}{year}-{md}",
              st.sampled_from(["", "-"]),
              st.one_of(st.sampled_from(["0000", "0001", "0004", "0100", "0400", "01000", "2147483647",
                                         "2147483648", "9999", "10000"]),
                        st.integers(0, 10**11).map(lambda y: f"{y:04d}")),
              st.sampled_from(["01-01", "02-28", "02-29", "12-31", "04-31", "13-01", "00-10"])),
)


@settings(max_examples=150, deadline=None)
@given(_date_like)
def test_castable_date_agrees_with_saxon(text: str) -> None:
    want = _saxon_bool(f"'{text}' castable as xs:date")
    assert xpath2.FUNCTIONS["castable-date"](None, text) == want, text


_years = st.one_of(st.sampled_from(["0000", "-0000", "-0001", "-0004", "0001", "1970", "2005", "9999", "10000"]),
                   st.integers(-(10**6), 10**6).map(lambda y: f"-{-y:04d}" if y < 0 else f"{y:04d}"))
_day = st.builds(lambda y, md: f"{y}-{md}", _years, st.sampled_from(["01-01", "02-28", "02-29", "06-15", "12-31"])
                 ).filter(lambda t: xpath2.parse_date(t) is not None)
_zone = st.sampled_from(["", "Z", "+14:00", "-14:00", "+03:00", "-10:30"])


@settings(max_examples=100, deadline=None)
@given(_day, _zone, _day, _zone)
def test_date_comparison_agrees_with_saxon(a: str, za: str, b: str, zb: str) -> None:
    """ub:date-le / ub:date-ge (GİB's `xs:date(x) le xs:date(y)`) order dates as Saxon
    does: across timezones (none = the implicit one), year 0000, negative and
    five-digit-plus years."""
    a, b = a + za, b + zb
    assert xpath2.FUNCTIONS["date-le"](None, a, b) == _saxon_bool(f"xs:date('{a}') le xs:date('{b}')"), (a, b)
    assert xpath2.FUNCTIONS["date-ge"](None, a, b) == _saxon_bool(f"xs:date('{a}') ge xs:date('{b}')"), (a, b)


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


# ----------------------------------------------------------------- P/normalize-space(R)

_MAPPED = [
    "normalize-space(n) = following-sibling::node()/normalize-space(n)",
    "p/normalize-space(n) = following::node()/p/normalize-space(n)",
    "following-sibling::node()/normalize-space(n) = ''",
    "count(following-sibling::node()/normalize-space(n))",
    "count(following::node()/p/normalize-space(n))",
    "count(p/normalize-space(n[2]))",
    "count(*/normalize-space()) + count(following-sibling::*/normalize-space(p/n))",
    "following-sibling::u/normalize-space(p/n) = normalize-space(p/n)",
    "string(count(../u[normalize-space(n) = current()/following-sibling::u/normalize-space(n)]))",
]


def _stylesheet(exprs: list[str]) -> str:
    body = "".join(f'<c><xsl:value-of select="{e}"/></c>' for e in exprs)
    return (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
        f'xmlns:ub="{xpath2.EXT_NS}">'
        f'<xsl:template match="/"><r><xsl:for-each select="//u"><u>{body}</u></xsl:for-each></r></xsl:template>'
        "</xsl:stylesheet>"
    )


def _run_saxon(xml: str, exprs: list[str]) -> list[list[str]]:
    saxonche = pytest.importorskip("saxonche")
    proc = saxonche.PySaxonProcessor(license=False)
    exe = proc.new_xslt30_processor().compile_stylesheet(stylesheet_text=_stylesheet(exprs))
    out = etree.fromstring(exe.transform_to_string(xdm_node=proc.parse_xml(xml_text=xml)).encode())
    return [[c.text or "" for c in u] for u in out]


def _run_lxml(xml: str, exprs: list[str]) -> list[list[str]]:
    ext = {(xpath2.EXT_NS, k): v for k, v in xpath2.FUNCTIONS.items()}
    xslt = etree.XSLT(etree.fromstring(_stylesheet([translate(e) for e in exprs])), extensions=ext)
    out = xslt(etree.fromstring(xml)).getroot()
    return [[c.text or "" for c in u] for u in out]


_space = st.sampled_from(["", " ", "  ", "\n\t", "\u00a0"])
_word = st.sampled_from(["", "A", "B", "A B", "A  B"])
_n = st.builds(lambda a, w, b: f"<n>{a}{w}{b}</n>", _space, _word, _space)
_p = st.lists(_n, max_size=2).map(lambda ns: "<p>" + "".join(ns) + "</p>")
_u = st.builds(
    lambda ns, ps, sp: sp + "<u>" + "".join(ns) + "".join(ps) + "</u>",
    st.lists(_n, max_size=2), st.lists(_p, max_size=2), st.sampled_from(["", " ", "<!--c-->", "<x/>", "t"]),
)


@settings(max_examples=120, deadline=None)
@given(st.lists(_u, min_size=1, max_size=4))
def test_normalize_space_steps_agree_with_saxon(us: list[str]) -> None:
    """Mapped normalize-space steps, run as an XSLT 1.0 stylesheet (XPath 1.0
    backwards-compatible mode, as GİB's efatura.xsl runs): Saxon on the original,
    libxslt on the translation.  Covers missing and repeated children, whitespace
    (including a no-break space, which normalize-space keeps), text and comment
    siblings, and identical values on several nodes."""
    xml = "<r>" + "".join(us) + " </r>"
    assert _run_lxml(xml, _MAPPED) == _run_saxon(xml, _MAPPED), xml


def test_normalize_space_is_xml_whitespace_only() -> None:
    assert xpath2.normalize_space(" \t a \n\r b  ") == "a b"
    assert xpath2.normalize_space("\u00a0a\u2003b") == "\u00a0a\u2003b"


def test_a_year_of_thousands_of_digits_is_not_a_date_and_not_a_crash() -> None:
    """Python's int() refuses strings over 4,300 digits: such a 'year' used to raise out
    of the rule engine, so validate() raised instead of reporting."""
    from ubltr.validation import validate

    year = "1" * 5000
    assert xpath2.parse_date(f"{year}-01-01") is None
    assert xpath2.parse_date("2147483647-01-01") is not None  # ten digits, at the limit
    raw = (Path(__file__).resolve().parent.parent / "fixtures" / "TEMELFATURA-SATIS.xml").read_text(encoding="utf-8")
    start = raw.index("<cbc:IssueDate>") + len("<cbc:IssueDate>")
    data = (raw[:start] + f"{year}-01-01" + raw[raw.index("</cbc:IssueDate>"):]).encode()
    r = validate(data)
    assert not r.valid and "TarihBicimi-1" in r.failed_rules("gib")
