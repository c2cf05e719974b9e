"""Mechanical translation of the XPath 2.0 constructs used by GİB's schematron into
XPath 1.0 plus a few extension functions that lxml/libxslt can run.

GİB's rules are XPath 1.0 except for a handful of XPath 2.0 constructs.  GİB (and the
reference XSLT run by Saxon) evaluates them in XPath 1.0 *backwards-compatible* mode,
so function arguments that receive a node-set take its first node's string value,
comparisons convert like XPath 1.0, and so on.  That lets us keep every expression
as it is and rewrite only the following, textually and outside string literals:

=====================================  =========================================
XPath 2.0                              XPath 1.0 + extension (namespace ``EXT_NS``)
=====================================  =========================================
``matches(s, re)``                     ``ub:matches(s, re)`` (XSD regex semantics)
``exists(x)``                          ``boolean(x)``
``E castable as xs:date``              ``ub:castable-date(E)``
``E castable as xs:time``              ``ub:castable-time(E)``
``xs:date(A) le xs:date(B)``           ``ub:date-le(A, B)`` (also ``ge``)
``current-date()``                     ``ub:current-date()``
``P/normalize-space(R)``               ``ub:normalize-each(P, P/R, k)``
=====================================  =========================================

``P/normalize-space(R)`` is a path step that calls a function (GİB's user-account
rules compare ``following::node()/hr:PersonName/normalize-space(hr:FormattedName)``):
one string per node ``n`` of ``P``, in document order, ``normalize-space((n/R)[1])``
(``""`` when ``n`` has no ``R``, so text nodes of ``following-sibling::node()`` give
``""`` too).  ``R`` must be ``k`` >= 0 child steps; the extension gets ``P`` and
``P/R`` and pairs each node of ``P/R`` with its ``k``-th ancestor.  The result is a
node-set of text nodes, so ``=`` compares it existentially like XPath 2.0 does.

and one pure performance rewrite: a location path that starts at the root
(``//cbc:UBLVersionID`` inside a rule that fires once per line) does not depend on
the context node, so it is hoisted into a global variable evaluated once per
document.  Anything else that looks like XPath 2.0 raises :class:`UnsupportedXPath`
so that a new GİB release with new constructs fails loudly at compile time instead of
silently disagreeing with GİB.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone
from functools import lru_cache
from time import monotonic
from typing import Any, Callable

EXT_NS = "urn:ubltr:xpath-ext"
EXT_PREFIX = "ub"


class UnsupportedXPath(ValueError):
    """An expression uses an XPath 2.0 construct the translator does not know."""


# --------------------------------------------------------------------------- lexing

_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")


def _split_literals(expr: str) -> list[tuple[bool, str]]:
    """Split ``expr`` into (is_literal, text) chunks so rewrites never touch strings."""
    out: list[tuple[bool, str]] = []
    pos = 0
    for m in _STRING.finditer(expr):
        if m.start() > pos:
            out.append((False, expr[pos : m.start()]))
        out.append((True, m.group(0)))
        pos = m.end()
    if pos < len(expr):
        out.append((False, expr[pos:]))
    return out


def _mask(expr: str) -> str:
    """``expr`` with the inside of string literals replaced by ``_`` (same length),
    so that structural searches (parentheses, keywords) can ignore literals."""
    return "".join(t if not lit else t[0] + "_" * (len(t) - 2) + t[-1] for lit, t in _split_literals(expr))


def _matching_paren(masked: str, open_at: int) -> int:
    depth = 0
    for i in range(open_at, len(masked)):
        c = masked[i]
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
    raise UnsupportedXPath(f"unbalanced parentheses in {masked!r}")


def _matching_open(masked: str, close_at: int) -> int:
    """Index of the ``(`` or ``[`` that opens the bracket closing at ``close_at``
    (scanning backwards; literals are masked)."""
    depth = 0
    for j in range(close_at, -1, -1):
        if masked[j] in ")]":
            depth += 1
        elif masked[j] in "([":
            depth -= 1
            if depth == 0:
                return j
    raise UnsupportedXPath(f"unbalanced brackets in {masked!r}")


def _operand_before(masked: str, end: int) -> int:
    """Start index of the primary/path expression that ends just before ``end``
    (used for the left operand of ``castable as``)."""
    i = end
    while i > 0 and masked[i - 1].isspace():
        i -= 1
    stop = i
    if stop and masked[stop - 1] == ")":
        i = _matching_open(masked, stop - 1)
    # a function name or path steps directly before
    while i > 0 and (masked[i - 1].isalnum() or masked[i - 1] in "_-.:/@*$[]"):
        i -= 1
    if i == stop:
        raise UnsupportedXPath("no operand before 'castable as'")
    return i


# --------------------------------------------------------------------------- rewrites

_CASTABLE = re.compile(r"\bcastable\s+as\s+xs:(date|time)\b")
_DATE_CMP = re.compile(r"xs:date\s*\(")
_STEP = r"[A-Za-z_*@.][\w.\-]*(?::[\w.\-*]+)?(?:\[[^\[\]]*\])*"
#: one child step: a (prefixed) name or ``*``, with optional predicates (no axis, no ``//``)
_STEP_NAME = r"(?:\*|[A-Za-z_][\w.\-]*(?::(?:\*|[A-Za-z_][\w.\-]*))?)(?:\[[^\[\]]*\])*"
_ROOT_PATH = re.compile(r"(?:^|(?<=[\s(,=!<>|]))(//?" + _STEP + r"(?://?" + _STEP + r")*)(?![\w:(\[/])")
_FORBIDDEN = re.compile(
    r"\s(?:eq|ne|lt|gt|le|ge|idiv|except|intersect|instance\s+of|treat\s+as|cast\s+as|castable\s+as)\s"
    r"|(?<![\w:\-])(?:if\s*\(|(?:for|some|every)\s+\$)"
    r"|(?<![\w:\-])(?:xs:[a-zA-Z]+|tokenize|replace|upper-case|lower-case|string-join|distinct-values|"
    r"ends-with|abs|empty|exists|matches|current-date|current-dateTime|current-time|format-number|"
    r"min|max|avg|reverse|subsequence|index-of|compare|codepoints-to-string|string-to-codepoints)\s*\("
    r"|/\s*(?!(?:node|text|comment|processing-instruction)\s*\()[A-Za-z][\w\-]*(?::[\w\-]+)?\s*\("
)


def _rewrite_castable(expr: str) -> str:
    while True:
        masked = _mask(expr)
        m = _CASTABLE.search(masked)
        if not m:
            return expr
        start = _operand_before(masked, m.start())
        operand = expr[start : m.start()].rstrip()
        expr = f"{expr[:start]}{EXT_PREFIX}:castable-{m.group(1)}({operand}){expr[m.end():]}"


def _rewrite_date_compare(expr: str) -> str:
    """``xs:date(A) le xs:date(B)`` → ``ub:date-le(A, B)`` (``ge`` likewise)."""
    while True:
        masked = _mask(expr)
        m = _DATE_CMP.search(masked)
        if not m:
            return expr
        a_open = m.end() - 1
        a_close = _matching_paren(masked, a_open)
        rest = masked[a_close + 1 :]
        op = re.match(r"\s*(le|ge)\s+xs:date\s*\(", rest)
        if not op:
            raise UnsupportedXPath(f"xs:date(...) outside a date comparison: {expr!r}")
        b_open = a_close + 1 + op.end() - 1
        b_close = _matching_paren(masked, b_open)
        a = expr[a_open + 1 : a_close].strip()
        b = expr[b_open + 1 : b_close].strip()
        expr = f"{expr[:m.start()]}{EXT_PREFIX}:date-{op.group(1)}({a}, {b}){expr[b_close + 1:]}"


_MAPPED_STEP = re.compile(r"/\s*normalize-space\s*\(")
_CHILD_STEPS = re.compile(r"\s*(?:" + _STEP_NAME + r"(?:\s*/\s*" + _STEP_NAME + r")*)?\s*")


def _path_before(masked: str, end: int) -> int:
    """Start of the location path that ends just before ``end`` (names, axes, ``/``,
    predicates and node tests such as ``node()``), scanning backwards."""
    i = end
    while i > 0:
        c = masked[i - 1]
        if c in ")]":
            i = _matching_open(masked, i - 1)
        elif c.isalnum() or c in "_-.:/@*$":
            i -= 1
        else:
            break
    if i == end:
        raise UnsupportedXPath(f"no path before a function step in {masked!r}")
    return i


def _rewrite_mapped_steps(expr: str) -> str:
    """``P/normalize-space(R)`` → ``ub:normalize-each(P, P/R, k)`` (see the module doc)."""
    while True:
        masked = _mask(expr)
        m = _MAPPED_STEP.search(masked)
        if not m:
            return expr
        start = _path_before(masked, m.start())
        close = _matching_paren(masked, m.end() - 1)
        path = expr[start : m.start()].strip()
        rel = expr[m.end() : close].strip()
        if not _CHILD_STEPS.fullmatch(_mask(rel)):
            raise UnsupportedXPath(f"normalize-space() step over {rel!r} (only child steps are supported): {expr!r}")
        depth = len(_split_steps(rel)) if rel else 0
        values = f"{path}/{rel}" if rel else path
        expr = f"{expr[:start]}{EXT_PREFIX}:normalize-each({path}, {values}, {depth}){expr[close + 1:]}"


def _split_steps(rel: str) -> list[str]:
    """The ``/``-separated steps of a relative path (``/`` inside predicates ignored)."""
    masked, out, depth, start = _mask(rel), [], 0, 0
    for i, c in enumerate(masked):
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
        elif c == "/" and depth == 0:
            out.append(rel[start:i])
            start = i + 1
    out.append(rel[start:])
    return [s.strip() for s in out]


def _rewrite_calls(expr: str) -> str:
    out = []
    for lit, text in _split_literals(expr):
        if not lit:
            text = re.sub(r"(?<![\w:\-])matches\s*\(", f"{EXT_PREFIX}:matches(", text)
            text = re.sub(r"(?<![\w:\-])exists\s*\(", "boolean(", text)
            text = re.sub(r"(?<![\w:\-])current-date\s*\(\s*\)", f"{EXT_PREFIX}:current-date()", text)
        out.append(text)
    return "".join(out)


_EXT_CALL = re.compile(EXT_PREFIX + r":(?:matches|castable-date|castable-time|date-le|date-ge)\s*\(")


def _string_arguments(expr: str) -> str:
    """Pass extension functions strings, not node-sets: ``ub:matches(cbc:ID, re)`` →
    ``ub:matches(string(cbc:ID), re)``.  Same value (backwards-compatible mode takes the
    first node's string value, which is what ``string()`` does), but libxslt hands
    Python a plain string instead of building element proxies: a cheaper call."""
    calls = list(_EXT_CALL.finditer(_mask(expr)))
    for m in reversed(calls):  # right to left: earlier offsets stay valid
        masked = _mask(expr)
        close = _matching_paren(masked, m.end() - 1)
        args, depth, start = [], 0, m.end()
        for i in range(m.end(), close):
            c = masked[i]
            if c in "([":
                depth += 1
            elif c in ")]":
                depth -= 1
            elif c == "," and depth == 0:
                args.append(expr[start:i])
                start = i + 1
        args.append(expr[start:close])
        wrapped = [
            a.strip() if not a.strip() or _STRING.fullmatch(a.strip()) or a.strip().startswith("string(") and
            _matching_paren(_mask(a.strip()), 6) == len(a.strip()) - 1 else f"string({a.strip()})"
            for a in args
        ]
        expr = expr[: m.end()] + ", ".join(wrapped) + expr[close:]
    return expr


def translate(expr: str) -> str:
    """Translate one XPath 2.0 (GİB subset) expression into XPath 1.0 + extensions."""
    expr = _rewrite_castable(expr)
    expr = _rewrite_date_compare(expr)
    expr = _rewrite_mapped_steps(expr)
    expr = _rewrite_calls(expr)
    expr = _string_arguments(expr)
    bad = _FORBIDDEN.search(_mask(expr))
    if bad:
        raise UnsupportedXPath(f"unsupported XPath 2.0 construct {bad.group(0)!r} in {expr!r}")
    return expr


def hoist_root_paths(expr: str, variables: dict[str, str]) -> str:
    """Replace context-independent absolute location paths (``//a/b``, ``/a/b``) by
    variables collected in ``variables`` (path → variable name)."""
    masked = _mask(expr)
    out = []
    pos = 0
    for m in _ROOT_PATH.finditer(masked):
        path = expr[m.start(1) : m.end(1)]
        name = variables.get(path)
        if name is None:
            name = f"ubltr-root-{len(variables) + 1}"
            variables[path] = name
        out.append(expr[pos : m.start(1)])
        out.append("$" + name)
        pos = m.end(1)
    out.append(expr[pos:])
    return "".join(out)


_PARENT_CHILD = re.compile(
    r"(?:^|(?<=[\s(,=!<>|]))((?:\.\./)*\.\.)/([A-Za-z_][\w.\-]*:[A-Za-z_][\w.\-]*|[A-Za-z_][\w.\-]*)(?![\w:(\-])"
)


def lift_parent_steps(expr: str, tops: dict[str, str], ups: dict[str, str]) -> str:
    """Make ``../name`` (``../../name``...) linear when the parent is the root element.

    ``../cbc:ProfileID`` evaluated once per invoice line scans all children of the
    invoice, i.e. every line: quadratic.  When the step's parent is the document
    element the result is exactly ``/*/name``, a global evaluated once per document;
    otherwise the original step is kept.  The rewrite is
    ``($top-name[$up] | CHAIN[not($up)]/name)`` where ``$up`` (a template variable,
    collected in ``ups``: chain -> variable) says whether CHAIN is the root element,
    and ``$top-name`` (a global, collected in ``tops``: name -> variable) is ``/*/name``."""
    masked = _mask(expr)
    out = []
    pos = 0
    for m in _PARENT_CHILD.finditer(masked):
        chain = expr[m.start(1) : m.end(1)]
        name = expr[m.start(2) : m.end(2)]
        top = tops.setdefault(name, f"ubltr-top-{len(tops) + 1}")
        up = ups.setdefault(chain, f"ubltr-up-{chain.count('..')}")
        out.append(expr[pos : m.start(1)])
        guarded = chain[:-2] + f"parent::node()[not(${up})]"  # '..' cannot take a predicate
        out.append(f"(${top}[${up}] | {guarded}/{name})")
        pos = m.end(2)
    out.append(expr[pos:])
    return "".join(out)


def resolve_parent_steps(expr: str, depth: int, tops: dict[str, str]) -> str:
    """Like :func:`lift_parent_steps`, for a context node whose depth is known statically
    (``depth`` = 1 for the root element): ``CHAIN/name`` whose CHAIN climbs to the root
    element becomes the per-document global ``$top-name``, one that climbs to the
    document node becomes ``/name``; other parent steps are left as they are."""
    masked = _mask(expr)
    out = []
    pos = 0
    for m in _PARENT_CHILD.finditer(masked):
        chain = expr[m.start(1) : m.end(1)]
        name = expr[m.start(2) : m.end(2)]
        level = depth - chain.count("..")
        if level == 1:
            new = "$" + tops.setdefault(name, f"ubltr-top-{len(tops) + 1}")
        elif level == 0:
            new = "/" + name
        else:
            continue
        out.append(expr[pos : m.start(1)])
        out.append(new)
        pos = m.end(2)
    out.append(expr[pos:])
    return "".join(out)


# --------------------------------------------------------------------------- runtime

def _string(value: Any) -> str:
    """XPath 1.0 / backwards-compatible string value: first node of a node-set."""
    if isinstance(value, list):
        if not value:
            return ""
        value = value[0]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    # an element
    return "".join(value.itertext()) if hasattr(value, "itertext") else str(value)


@lru_cache(maxsize=256)
def xsd_regex(pattern: str) -> re.Pattern[str]:
    """Compile an XSD/XPath regular expression with Python ``re``, keeping XPath's
    meaning: ``$`` is end of string only, ``\\s`` is XML whitespace only."""
    out = []
    i = 0
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "s":
                out.append(" \\t\\n\\r" if in_class else "[ \\t\\n\\r]")
            elif nxt == "S":
                if in_class:
                    raise UnsupportedXPath(f"\\S inside a character class: {pattern!r}")
                out.append("[^ \\t\\n\\r]")
            else:
                out.append(c + nxt)
            i += 2
            continue
        if c == "[" and not in_class:
            in_class = True
        elif c == "]" and in_class:
            in_class = False
        elif c == "$" and not in_class:
            out.append(r"(?!\n)\Z")
            i += 1
            continue
        out.append(c)
        i += 1
    return re.compile("".join(out))


def _matches(_ctx: Any, value: Any, pattern: Any) -> bool:
    return xsd_regex(_string(pattern)).search(_string(value)) is not None


_TZ = r"(Z|[+-](?:(?:0\d|1[0-3]):[0-5]\d|14:00))?"
_DATE = re.compile(r"(-?)(\d{4,})-(\d{2})-(\d{2})" + _TZ)
_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(\.\d+)?" + _TZ)


def _tz(text: str | None) -> timezone | None:
    if not text:
        return None
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))


#: (monotonic time, implicit timezone, current-date) read from the clock at most once a
#: second: GİB's date rules ask for both several times per IssueDate of every document
_CLOCK: list[Any] = [float("-inf"), None, ""]


def _clock() -> tuple[timezone, str]:
    t = monotonic()
    if t - _CLOCK[0] >= 1.0:
        now = datetime.now().astimezone()
        off = now.utcoffset() or timedelta(0)
        minutes = int(off.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        minutes = abs(minutes)
        text = f"{now.date().isoformat()}{sign}{minutes // 60:02d}:{minutes % 60:02d}"
        _CLOCK[:] = [t, timezone(off), text]
    return _CLOCK[1], _CLOCK[2]


def _implicit_tz() -> timezone:
    """The processor's implicit timezone: like Saxon, the machine's local offset."""
    return _clock()[0]


_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_YEAR_LIMIT = 2**31 - 1  # Saxon's: |year| up to 2147483647 (beyond, not castable)


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a date of the proleptic Gregorian calendar, for any
    year, 0 and negative ones included (astronomical numbering, as XSD 1.1)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


@lru_cache(maxsize=4096)
def parse_date(text: str) -> tuple[int, timezone | None] | None:
    """An ``xs:date`` lexical value (whitespace-collapsed, as a cast does) → (days from
    1970-01-01, its timezone or None), or None when it is not castable.  As Saxon (XSD
    1.1 dates): year 0000 and negative years exist (-0001 is the year before 0000, a
    leap year every 4 as usual), at least four year digits and no leading zero beyond
    four, |year| < 2^31."""
    m = _DATE.fullmatch(text.strip(" \t\n\r"))
    if not m:
        return None
    digits = m.group(2)
    if len(digits) > 10 or (len(digits) > 4 and digits[0] == "0"):
        return None  # (over ten digits is past the year limit; and int() refuses > 4,300 digits)
    year = -int(digits) if m.group(1) else int(digits)
    month, day = int(m.group(3)), int(m.group(4))
    if abs(year) > _YEAR_LIMIT or not 1 <= month <= 12:
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= day <= (29 if month == 2 and leap else _MONTH_DAYS[month]):
        return None
    return _days_from_civil(year, month, day), _tz(m.group(5))


def _castable_date(_ctx: Any, value: Any) -> bool:
    return parse_date(_string(value)) is not None


def _castable_time(_ctx: Any, value: Any) -> bool:
    m = _TIME.fullmatch(_string(value).strip(" \t\n\r"))
    if not m:
        return False
    h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if h == 24:
        return mi == 0 and s == 0 and not (m.group(4) or "").strip(".0")
    try:
        time(h, mi, s)
    except ValueError:
        return False
    return True


def _instant(value: Any) -> int:
    """The start of an ``xs:date`` as seconds from 1970-01-01T00:00Z (its own timezone,
    else the implicit one), which is how XPath compares dates."""
    parsed = parse_date(_string(value))
    if parsed is None:
        # XPath would raise a dynamic error (FORG0001); the rules guard with castable
        raise ValueError(f"not an xs:date: {_string(value)!r}")
    days, tz = parsed
    offset = (tz or _implicit_tz()).utcoffset(None) or timedelta(0)
    return days * 86400 - int(offset.total_seconds())


def _date_le(_ctx: Any, a: Any, b: Any) -> bool:
    return _instant(a) <= _instant(b)


def _date_ge(_ctx: Any, a: Any, b: Any) -> bool:
    return _instant(a) >= _instant(b)


def _current_date(_ctx: Any) -> str:
    return _clock()[1]


_XML_SPACE = re.compile(r"[ \t\n\r]+")


def normalize_space(text: str) -> str:
    """XPath ``normalize-space``: XML whitespace only (not Python's Unicode set)."""
    return _XML_SPACE.sub(" ", text).strip(" ")


def _normalize_each(_ctx: Any, nodes: Any, values: Any, depth: Any) -> list[str]:
    """``ub:normalize-each(P, P/R, k)``: for each node of ``P`` (document order), the
    normalized string value of the first node of ``P/R`` whose ``k``-th ancestor it is,
    or ``""``.  Returned as a list of strings, which lxml hands libxslt as a node-set
    of text nodes."""
    nodes = nodes if isinstance(nodes, list) else [nodes]
    k = int(depth)
    if k == 0:
        return [normalize_space(_string(n)) for n in nodes]
    first: dict[Any, Any] = {}
    for v in values if isinstance(values, list) else [values]:
        owner = v
        for _ in range(k):
            owner = owner.getparent() if owner is not None else None
        if owner is not None:
            first.setdefault(owner, v)  # lxml keeps one proxy per node: identity works
    return [normalize_space(_string(first[n])) if hasattr(n, "tag") and n in first else "" for n in nodes]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "normalize-each": _normalize_each,
    "matches": _matches,
    "castable-date": _castable_date,
    "castable-time": _castable_time,
    "date-le": _date_le,
    "date-ge": _date_ge,
    "current-date": _current_date,
}
