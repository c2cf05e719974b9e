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
        ("matches(cbc:ID,'^(A|B)$')", "ub:matches(string(cbc:ID), '^(A|B)$')"),
        ("matches(cbc:ID,'^[A-Z]$')",
         "((string-length(string(cbc:ID)) = 1 and translate(substring(string(cbc:ID), 1, 1), "
         "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '') = ''))"),
        ("not(exists(cac:X))", "not(boolean(cac:X))"),
        ("not(normalize-space(cbc:T) castable as xs:time)", "not(ub:castable-time(string(normalize-space(cbc:T))))"),
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
    "src, call",
    [
        (". castable as xs:date", "ub:castable-date(string(.))"),
        ("xs:date(.) le xs:date(current-date())", "ub:date-le(string(.), string(ub:current-date()))"),
        ("xs:date('2005-01-01+04:00')  le xs:date(normalize-space(cbc:D))",
         "ub:date-le('2005-01-01+04:00', string(normalize-space(cbc:D)))"),
    ],
)
def test_translate_dates(src: str, call: str) -> None:
    """Date casts and comparisons become calls, each behind an XPath 1.0 test for a
    plain date (tests below hold the pair to Saxon)."""
    out = translate(src)
    assert out.startswith("(string-length(") and out.endswith(f" or {call})"), out


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


# ------------------------------------------- GİB's patterns as XPath 1.0 tests (issue #18)

def _gib_patterns() -> list[str]:
    """Every anchored pattern GİB's schematron passes to matches(), as written."""
    import re

    from ubltr import official

    text = official.gib_schematron().decode("utf-8")
    return sorted({m.group(2) for m in re.finditer(r"matches\(([^'\"]*?),\s*'(\^[^']*\$)'", text)})


def _xpath1_test(pattern: str) -> tuple[etree.XPath, bool] | None:
    found = xpath2.regex_test(pattern, "$s")
    return None if found is None else (etree.XPath(found[0]), found[1])


def test_most_of_gibs_patterns_become_xpath_tests() -> None:
    """The patterns GİB's rules test on every invoice (amounts, the invoice number, the
    UUID) no longer call into Python, or do only for what the XPath test leaves open."""
    patterns = _gib_patterns()
    done = {p: xpath2.regex_test(p, "$s") for p in patterns}
    assert len(patterns) >= 8, patterns
    for p in (r"^[A-Z0-9]{3}20[0-9]{2}[0-9]{9}$",
              r"^[a-fA-F0-9]{8}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{4}-[a-fA-F0-9]{12}$"):
        assert done[p] is not None and done[p][1], p  # exact: the call is gone
    amount = r"^(\s)*?[0-9][0-9]{0,16}(,[0-9]{3})*(\.[0-9]{1,2}(\s)*?)?(\s)*?$"
    assert done[amount] is not None and not done[amount][1]
    assert sum(v is not None for v in done.values()) >= len(patterns) * 2 // 3, done
    compiled = translate(f"matches(cbc:ID, '{amount}') and matches(cbc:UUID, '^[A-F]{{2}}$')")
    assert compiled.count("ub:matches(") == 1  # the amount keeps its call behind the test
    assert compiled.index("translate(") < compiled.index("ub:matches(")


def _near(pattern: str) -> st.SearchStrategy[str]:
    """Strings that match ``pattern`` and strings one edit away from one that does."""
    import re

    py = xpath2.xsd_regex(pattern).pattern
    matching = st.from_regex(re.compile(py), fullmatch=True)
    alphabet = "09AZaf.,-_ \t\n\u00a0\u0663TRurn:%"

    def edit(s: str, i: int, c: str, how: int) -> str:
        i = i % (len(s) + 1)
        return (s[:i] + c + s[i:], s[:i] + s[i + 1:], s[:i] + c + s[i + 1:])[how]

    edited = st.builds(edit, matching, st.integers(0, 40), st.sampled_from(alphabet), st.integers(0, 2))
    return st.one_of(matching, edited, st.text(alphabet=alphabet, max_size=40))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_gibs_patterns_as_xpath_tests_agree_with_saxon(data: st.DataObject) -> None:
    """For each of GİB's patterns the XPath 1.0 test accepts exactly the strings Saxon's
    matches() accepts when it is exact, and never one Saxon refuses when it is not."""
    patterns = [p for p in _gib_patterns() if xpath2.regex_test(p, "$s") is not None]
    pattern = data.draw(st.sampled_from(patterns))
    text = data.draw(_near(pattern))
    proc, xp = _saxon()
    xp.set_parameter("s", proc.make_string_value(text))
    xp.set_parameter("p", proc.make_string_value(pattern))
    want = xp.effective_boolean_value("matches($s, $p)")
    test, exact = _xpath1_test(pattern)  # type: ignore[misc]
    got = bool(test(etree.Element("x"), s=text))
    if exact:
        assert got == want, (pattern, text)
    else:
        assert not got or want, (pattern, text)


@pytest.mark.parametrize("pattern", [
    r"^[A-Z]+$", r"^a{2,3}b$", r"^(ab){2}$", r"^x?y*$", r"^[0-9]+\.[0-9]{2}$", r"^[a-c-]{0,2}:[a-c]+$",
    r"^(0[1-9]|1[0-2])$", r"^.{3}$", r"^[^a]$", r"^a|b$", r"abc", r"^\w+$",
])
def test_pattern_translation_refuses_what_it_cannot_say(pattern: str) -> None:
    """Alternatives, any-character, negated classes, \\w, unanchored patterns and two
    variable-length parts with no separator between them stay with the call; what is
    translated agrees with Python's re on a few strings."""
    import re

    found = xpath2.regex_test(pattern, "$s")
    if pattern in (r"^(0[1-9]|1[0-2])$", r"^.{3}$", r"^[^a]$", r"^a|b$", r"abc", r"^\w+$", r"^x?y*$"):
        assert found is None
        return
    assert found is not None
    test = etree.XPath(found[0])
    rx = xpath2.xsd_regex(pattern)
    for s in ["", "A", "AB", "aab", "aaab", "abab", "ab", "xyy", "y", "12.34", "1.2", "a-:bc", "-:", "a:", ":a"]:
        got = bool(test(etree.Element("x"), s=s))
        if found[1]:
            assert got == bool(rx.search(s)), (pattern, s)
        else:
            assert not got or rx.search(s), (pattern, s)


# ------------------------------------------------ GİB's date tests in XPath 1.0 (issue #18)

def _ub_xpath(expr: str) -> etree.XPath:
    return etree.XPath(expr, namespaces={"ub": xpath2.EXT_NS},
                       extensions={(xpath2.EXT_NS, k): v for k, v in xpath2.FUNCTIONS.items()})


def _today_number() -> int:
    return int(xpath2.FUNCTIONS["current-date"](None)[:10].replace("-", ""))


def _dates_around(day: "__import__('datetime').date") -> st.SearchStrategy[str]:
    import datetime as dt

    near = st.integers(-3, 3).map(lambda k: (day + dt.timedelta(days=k)).isoformat())
    return st.one_of(
        near, near.map(lambda s: " " + s), st.builds(lambda s, z: s + z, near, _zone), _date_like,
        st.sampled_from(["2005-02-29", "2004-02-29", "2005-01-31", "2005-04-31", "1999-12-31", "2005-1-1", "",
                         "2005-02-30", "2005-06-31", "2005-07-31", "2005-11-30", "2005-12-31", "2005-09-31"]),
        st.builds("2005-{:02d}-{:02d}".format, st.integers(0, 13), st.integers(0, 32)))


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_gibs_date_tests_agree_with_saxon(data: st.DataObject) -> None:
    """GİB's three date checks as translated (an XPath 1.0 test before each call) say
    what Saxon says: castable as xs:date, not after today, not before 2005-01-01+04:00,
    for dates around today and 2005-01-01 in every timezone and none."""
    import datetime as dt

    which = data.draw(st.sampled_from(["castable", "today", "2005"]))
    around = dt.date.today() if which == "today" else dt.date(2005, 1, 1)
    text = data.draw(_dates_around(around))
    if which == "castable":
        src, saxon = ". castable as xs:date", f"'{text}' castable as xs:date"
    elif which == "today":
        src, saxon = "xs:date(.) le xs:date(current-date())", f"xs:date('{text}') le current-date()"
    else:
        src, saxon = "xs:date('2005-01-01+04:00') le xs:date(.)", f"xs:date('2005-01-01+04:00') le xs:date('{text}')"
    if which != "castable" and xpath2.parse_date(text) is None:
        return  # GİB guards these with castable; XPath raises on a non-date
    expr = translate(src)
    assert "0000-00-00" in expr  # the XPath test is in front of the call
    el = etree.Element("d")
    el.text = text
    got = bool(_ub_xpath(expr)(el, **{xpath2.TODAY_VARIABLE: _today_number()}))
    assert got == _saxon_bool(saxon), (src, text)


def test_a_plain_date_is_decided_without_python() -> None:
    """The usual IssueDate, written plainly, needs no call: the test alone decides it
    (the calls are counted), and today's date is one call per document."""
    import datetime as dt

    calls: list[str] = []
    funcs = {(xpath2.EXT_NS, k): (lambda *a, _k=k, _f=v: calls.append(_k) or _f(*a)) for k, v in xpath2.FUNCTIONS.items()}
    expr = translate("not(not(. castable as xs:date) or (xs:date(.) le xs:date(current-date()))) or "
                     "not(not(. castable as xs:date) or (xs:date('2005-01-01+04:00') le xs:date(.)))")
    el = etree.Element("d")
    el.text = dt.date(dt.date.today().year - 1, 12, 31).isoformat()
    xp = etree.XPath(expr, namespaces={"ub": xpath2.EXT_NS}, extensions=funcs)
    assert xp(el, **{xpath2.TODAY_VARIABLE: _today_number()}) is False
    assert calls == []
    compiled = __import__("ubltr.validation.engine", fromlist=["program"]).program(("gib", "ubltr")).compiled.xslt
    assert compiled.count(b'name="ubltr-today"') == 1
