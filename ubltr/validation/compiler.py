"""A small ISO Schematron → XSLT 1.0 compiler (lxml/libxslt runs the result).

Supported: ``sch:ns``, top-level and rule-level ``sch:let``, ``sch:pattern`` /
``sch:rule`` (``context``) / ``sch:assert`` / ``sch:report`` with ``id``, ``role``,
``flag``, and in messages ``sch:value-of``, ``sch:name`` and inline text.  Expressions
go through :mod:`ubltr.validation.xpath2`, so GİB's XPath 2.0 rules compile unchanged.
Includes / abstract rules are not supported (GİB's package ships them already
flattened; our own rules do not use them).

How a rule set runs (one pass, no tree walk per pattern)
--------------------------------------------------------
Schematron says: every pattern sees every node, and within one pattern a node is
handled by the *first* rule whose context matches it.  Instead of walking the whole
tree once per pattern with ``apply-templates``, each rule becomes one
``xsl:for-each`` over exactly the nodes its context matches:

* a context is an XSLT match pattern made of child (``/``) and descendant (``//``)
  steps; ``a/b/c`` matches the same nodes as the expression ``//a/b/c`` selects, and
  ``//a`` (every ``a`` anywhere) is computed once per document as a global
  ("anchor") shared by every rule and every rule set that starts at ``a``;
* "first matching rule wins" becomes a filter: rule *j* of a pattern drops the nodes
  that an earlier rule *i* of the same pattern matches (``[not(self::c[parent::b...])]``),
  and only when the two contexts can match the same node at all (same last step);
  a rule whose context repeats an earlier one never fires and is not emitted;
* top-level lets whose value is a literal (GİB's code lists) are inlined into the
  expressions, so nothing is evaluated per document for lists a document never uses;
  lets the caller sets (``params``) stay ``xsl:param``;
* a rule may carry a fast path, ``ubltr:passes="EXPR"`` (namespace
  ``urn:ubltr:schematron``, a foreign attribute other processors ignore): EXPR, true
  at a node, proves every assertion of the rule passes there, so the rule's loop
  selects only ``...[not(EXPR)]``.  One XPath per node instead of every let and test;
  the context (for "first matching rule wins" and ``explain``) is the rule's own;
* ``.//@name`` in a rule at the root element is every ``@name`` of the document: one
  global ``//*/@name`` shared by every rule (and rule set) that reads them all.

Predicates in contexts must not be positional (``a[1]``, ``position()``, ``last()``,
a number): those would mean something else once the steps are turned around; the
compiler refuses them.  Several rule sets can be compiled into one stylesheet
(:func:`compile_many`) so that one transform runs them all and shares the anchors.

The generated stylesheet produces::

    <r><f n="ASSERT-INDEX" l="LINE" p="XPATH">message</f>...</r>
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from lxml import etree

from . import xpath2

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
XSL_NS = "http://www.w3.org/1999/XSL/Transform"
_S = "{" + SCH_NS + "}"
_X = "{" + XSL_NS + "}"
#: ubltr's own attributes on schematron elements (foreign attributes, which ISO Schematron
#: allows and other processors ignore)
UBLTR_SCH_NS = "urn:ubltr:schematron"
#: ``<sch:rule ubltr:passes="EXPR">``: EXPR, true at a context node, proves that every
#: assertion of the rule passes there, so the compiled rule skips such nodes (a fast path
#: for the usual case: one XPath per node instead of every let and test).  It only narrows
#: the nodes the rule's loop visits; the context, the tests and "first matching rule
#: wins" for later rules of the pattern are the rule's own
PASSES = "{" + UBLTR_SCH_NS + "}passes"
#: ``ubltr:passes-below="true"`` beside ``ubltr:passes``: EXPR also proves every assertion
#: of the later rules of the pattern whose contexts lie below this one (child steps on
#: from it): the nodes it leaves (``context[not(EXPR)]``, one global) are where those
#: rules start, so one pass over the invoice lines decides the line and line-subtotal rules
PASSES_BELOW = "{" + UBLTR_SCH_NS + "}passes-below"

#: bumped whenever the generated XSLT changes shape (part of every cache key)
COMPILER_VERSION = "7"

#: UBL's prefixes that nearly every step names, declared first in the stylesheet
_FREQUENT_PREFIXES = ("cbc", "cac")


class SchematronCompileError(ValueError):
    """The schematron uses something this compiler does not support."""


@dataclass(frozen=True, slots=True)
class Assertion:
    """One compiled ``assert``/``report``: what the stylesheet's ``n`` refers to."""

    index: int
    id: str
    kind: str  # "assert" | "report"
    role: str | None
    flag: str | None
    test: str
    context: str
    pattern: str
    message: str  # the message text with value-of placeholders as ``{...}``
    ruleset: str = ""  # label of the rule set (several may share one stylesheet)


@dataclass(frozen=True, slots=True)
class Compiled:
    xslt: bytes
    assertions: tuple[Assertion, ...]
    source_sha256: str
    #: xsl:param names the stylesheet takes (``type``, or ``gib-type`` in a combined one)
    params: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleSource:
    """One schematron to compile: its label, bytes, patterns left out, and the names of
    its top-level lets that the caller passes at run time."""

    label: str
    source: bytes
    exclude_patterns: tuple[str, ...] = ()
    params: tuple[str, ...] = ()


def _local(el: etree._Element) -> str | None:
    return etree.QName(el).localname if isinstance(el.tag, str) else None


# ------------------------------------------------------------------ context patterns

_NAME = re.compile(r"\s*(@?)(\*|[A-Za-z_][\w.\-]*(?::(?:\*|[A-Za-z_][\w.\-]*))?)\s*")


@dataclass(slots=True)
class _Step:
    sep: str  # "" (first step), "/" or "//"
    attr: bool
    name: str  # "pfx:local", "local", "pfx:*" or "*"
    preds: list[str] = field(default_factory=list)

    def render(self, axis: str | None = None) -> str:
        if axis is None:
            head = ("@" if self.attr else "") + self.name
        else:
            head = f"{axis}::{self.name}"
        return head + "".join(f"[{p}]" for p in self.preds)


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` where it is outside literals, brackets and parentheses."""
    masked = xpath2._mask(text)
    out, depth, start = [], 0, 0
    for i, c in enumerate(masked):
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif c == sep and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


_POSITIONAL = re.compile(r"^\s*[\d$(+\-.]|\b(?:position|last)\s*\(")


def _parse_pattern(alt: str) -> tuple[str, list[_Step]]:
    """``(lead, steps)`` of one alternative of a match pattern; lead is "", "/" or "//"."""
    masked = xpath2._mask(alt)
    pos = len(masked) - len(masked.lstrip())
    lead = ""
    if masked.startswith("//", pos):
        lead, pos = "//", pos + 2
    elif masked.startswith("/", pos):
        lead, pos = "/", pos + 1
    steps: list[_Step] = []
    sep = ""
    while True:
        m = _NAME.match(masked, pos)
        if not m or (pos + len(m.group(0)) < len(masked) and masked[m.end()] == "("):
            raise SchematronCompileError(f"unsupported rule context {alt!r}")
        step = _Step(sep, m.group(1) == "@", m.group(2))
        pos = m.end()
        while pos < len(masked) and masked[pos] == "[":
            depth, end = 0, pos
            for end in range(pos, len(masked)):
                if masked[end] == "[":
                    depth += 1
                elif masked[end] == "]":
                    depth -= 1
                    if depth == 0:
                        break
            pred = alt[pos + 1 : end]
            if _POSITIONAL.search(xpath2._mask(pred)):
                raise SchematronCompileError(f"positional predicate in rule context {alt!r}")
            step.preds.append(pred.strip())
            pos = end + 1
            while pos < len(masked) and masked[pos].isspace():
                pos += 1
        steps.append(step)
        if pos >= len(masked):
            break
        if masked.startswith("//", pos):
            sep, pos = "//", pos + 2
        elif masked[pos] == "/":
            sep, pos = "/", pos + 1
        else:
            raise SchematronCompileError(f"unsupported rule context {alt!r}")
    if any(s.attr for s in steps[:-1]) or (lead == "/" and steps[0].attr):
        raise SchematronCompileError(f"unsupported rule context {alt!r}")
    return lead, steps


def _self_test(lead: str, steps: list[_Step]) -> str:
    """An expression that is true exactly when the context node matches the pattern."""
    chain = "[not(parent::*)]" if lead == "/" else ""
    for i in range(1, len(steps)):
        axis = "parent" if steps[i].sep == "/" else "ancestor"
        chain = f"[{steps[i - 1].render(axis)}{chain}]"
    last = steps[-1]
    if last.attr:
        own = f"../@{last.name}"
        head = f"self::node()[count(. | {own}) = count({own})]"
    else:
        head = f"self::{last.name}"
    return head + "".join(f"[{p}]" for p in last.preds) + chain


# ------------------------------------------------------------------ expressions

#: literals at least this long are searched by Python (``ub:contains-list``) rather than
#: by libxml2's contains(), whose naive scan costs ~20 instructions per character
LONG_LIST = 2048


def _contains_lists(expr: str, lists: dict[str, str], keys: dict[str, str]) -> str:
    """``contains($L, X)`` where ``$L`` is a long literal let → ``ub:contains-list('key',
    string(X))`` (the same substring test, in Python's fast search)."""
    if "contains" not in expr:
        return expr
    while True:
        masked = xpath2._mask(expr)
        m = re.search(r"(?<![\w:\-])contains\s*\(\s*\$([A-Za-z_][\w.\-]*)\s*,", masked)
        while m and m.group(1) not in keys:
            m = re.compile(r"(?<![\w:\-])contains\s*\(\s*\$([A-Za-z_][\w.\-]*)\s*,").search(masked, m.end())
        if not m:
            return expr
        close = xpath2._matching_paren(masked, masked.index("(", m.start()))
        arg = expr[m.end():close].strip()
        key = keys[m.group(1)]
        expr = f"{expr[:m.start()]}{xpath2.EXT_PREFIX}:contains-list('{key}', string({arg})){expr[close + 1:]}"


def _substitute(expr: str, mapping: dict[str, str]) -> str:
    """Replace ``$name`` (outside string literals) by ``mapping[name]``."""
    if not mapping or "$" not in expr:
        return expr
    out = []
    for lit, text in xpath2._split_literals(expr):
        if not lit:
            text = re.sub(
                r"\$([A-Za-z_][\w.\-]*)(?![\w.\-])",
                lambda m: mapping.get(m.group(1), m.group(0)), text,
            )
        out.append(text)
    return "".join(out)


_CONST_CMP = re.compile(
    r"\$([A-Za-z_][\w.\-]*)\s*(!?=)\s*('[^']*'|\"[^\"]*\")"
    r"|('[^']*'|\"[^\"]*\")\s*(!?=)\s*\$([A-Za-z_][\w.\-]*)"
)
_PER_DOCUMENT = re.compile(r"ubltr-(?:top|root|any)-\d+$")


def _operand_bounds_ok(masked: str, start: int, end: int) -> bool:
    """Is ``masked[start:end]`` a whole operand of and/or, a function argument or a
    parenthesised expression (so that replacing it by a variable keeps the parse)?"""
    before = masked[:start].rstrip()
    after = masked[end:].lstrip()
    left = not before or before[-1] in "(," or re.search(r"(?:^|[\s)])(?:and|or)$", before) is not None
    right = not after or after[0] in ")," or re.match(r"(?:and|or)(?:[\s(]|$)", after) is not None
    return left and right


_TOKEN = re.compile(
    r"\s+|'[^']*'|\"[^\"]*\"|\d+(?:\.\d*)?|\.\d+|\$[A-Za-z_][\w.\-]*"
    r"|(?P<name>[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)(?P<call>\s*\()?"
    r"|\.\.|\.|!=|<=|>=|//|::|[=<>+\-*(),|/@\[\]]"
)
#: functions whose result depends only on their arguments (and, without arguments, on
#: the string value of the context node)
_VALUE_FUNCTIONS = {
    "contains", "concat", "string-length", "normalize-space", "substring", "substring-before",
    "substring-after", "translate", "starts-with", "not", "boolean", "number", "string", "true",
    "false", "floor", "ceiling", "round", "ub:matches", "ub:contains-list", "ub:castable-date",
    "ub:castable-time", "ub:date-le", "ub:date-ge", "ub:current-date",
}


def value_only(expr: str) -> bool:
    """True when ``expr`` reads nothing of the document but the string value of the
    context node (``.``): no path, no axis, no name()/position()/count().  Such a test
    gives the same answer for every node with the same string value."""
    pos, prev = 0, ""
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            return False
        tok = m.group(0)
        pos = m.end()
        if tok.isspace():
            continue
        if m.group("name"):
            if tok.split("(")[0].strip() in ("and", "or", "div", "mod") and prev and prev not in "(,":
                tok = "("  # an operator (followed by an opening parenthesis, if any)
            elif m.group("call"):
                if m.group("name") not in _VALUE_FUNCTIONS:
                    return False
                tok = "("
            elif tok not in ("and", "or", "div", "mod", "("):
                return False
        elif tok in ("..", "//", "/", "::", "@", "|", "[", "]"):
            return False
        elif tok == "*" and not (prev in (")", ".") or prev[:1] in "'\"$0123456789" and prev):
            return False
        prev = tok
    return True


def context_free(expr: str, local: set[str]) -> bool:
    """True when ``expr`` is the same for every node of a document: literals, globals
    (no variable of ``local``), pure functions with arguments; no ``.``, no path."""
    if "." in re.sub(r"\d\.\d|'[^']*'|\"[^\"]*\"|\$[\w.\-]+", "", expr):
        return False
    if re.search(r"(?<![\w:\-])(?:string|number|normalize-space|string-length)\s*\(\s*\)", expr):
        return False
    if any(v in local for v in re.findall(r"\$([A-Za-z_][\w.\-]*)", xpath2._mask(expr))):
        return False
    return value_only(expr)


def _top_level(expr: str, op: str) -> list[str]:
    """Operands of ``expr`` at the top level of the boolean operator ``op``."""
    masked = xpath2._mask(expr)
    out, depth, start, i = [], 0, 0, 0
    pat = re.compile(rf"\s{op}\s")
    while i < len(masked):
        c = masked[i]
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0 and c.isspace():
            m = pat.match(masked, i)
            if m:
                out.append(expr[start:i])
                start = i = m.end()
                continue
        i += 1
    out.append(expr[start:])
    return [o.strip() for o in out]


def _strip_not(cond: str) -> str | None:
    """``X`` when ``cond`` is exactly ``not(X)``."""
    cond = cond.strip()
    if not cond.startswith("not(") or not cond.endswith(")"):
        return None
    if xpath2._matching_paren(xpath2._mask(cond), 3) != len(cond) - 1:
        return None
    return cond[4:-1]


_LITERAL = re.compile(r"\s*(?:'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d*)?|-?\.\d+)\s*")


class _Program:
    """Accumulates one stylesheet from one or more rule sets."""

    def __init__(self) -> None:
        self.nsmap: dict[str, str] = {"ub": xpath2.EXT_NS}
        self.hoisted: dict[str, str] = {}  # absolute path -> variable
        self.tops: dict[str, str] = {}  # child name of the root element -> variable
        self.anchors: dict[str, str] = {}  # name test -> variable holding //name
        self.globals: list[tuple[str, str, str]] = []  # (kind, name, select)
        self.body: list[etree._Element] = []
        self.assertions: list[Assertion] = []
        self.params: list[str] = []
        self.constants: dict[str, str] = {}  # context-free comparison -> variable
        self.lists: dict[str, str] = {}  # key -> long literal searched by contains()
        self.by_value: list[int] = []  # numbers of the value-decided rules
        self.attr_sets: dict[str, str] = {}  # attribute name -> variable holding //*/@name
        self._mapping: dict[str, str] = {}  # the let mapping of the rule set being added
        self._long: dict[str, str] = {}  # long literal let -> list key (rule set being added)

    def hoist_constants(self, expr: str) -> str:
        """``$global = 'literal'`` (both sides the same for every node of a document:
        ``$ubltr-top-2 = 'IHRACAT'``, ``$type = 'efatura'``) becomes a boolean global
        computed once per document instead of once per node."""
        masked = xpath2._mask(expr)
        out, pos = [], 0
        for m in _CONST_CMP.finditer(masked):
            var = m.group(1) or m.group(6)
            if not (_PER_DOCUMENT.match(var) or var in self.params):
                continue
            if not _operand_bounds_ok(masked, m.start(), m.end()):
                continue
            text = " ".join(expr[m.start():m.end()].split())
            name = self.constants.setdefault(text, f"ubltr-c-{len(self.constants) + 1}")
            out.append(expr[pos:m.start()])
            out.append("$" + name)
            pos = m.end()
        out.append(expr[pos:])
        return "".join(out)

    # -- names
    def attr_set(self, name: str) -> str:
        """The global holding every ``@name`` attribute of the document (``//*/@name``),
        shared by every rule and rule set that reads them all: GİB's value-decided
        ``@currencyID`` check and ubltr's currency rule walk the tree once, not twice."""
        var = self.attr_sets.get(name)
        if var is None:
            var = self.attr_sets[name] = f"ubltr-attrs-{len(self.attr_sets) + 1}"
        return "$" + var

    _DESC_ATTR = re.compile(r"(?<![\w.\-:/)\]$@])\.//@([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)(?![\w.\-:(/])")

    def root_attr_sets(self, expr: str) -> str:
        """In a rule whose context is the root element, ``.//@name`` (every such
        attribute of the root element and its descendants) is every ``@name`` of the
        document: the shared :meth:`attr_set`.  Not with a positional predicate
        (``.//@a[1]`` is per element)."""
        if ".//@" not in expr:
            return expr
        masked = xpath2._mask(expr)
        out, pos = [], 0
        for m in self._DESC_ATTR.finditer(masked):
            if masked.startswith("[", m.end()):
                close = m.end()
                depth = 0
                for close in range(m.end(), len(masked)):
                    depth += masked[close] == "["
                    depth -= masked[close] == "]"
                    if depth == 0:
                        break
                pred = masked[m.end() + 1:close]
                # a predicate counts as boolean only with a comparison in it (a number,
                # a variable or a path alone could be positional)
                if (re.search(r"(?<![\w:\-])(?:position|last)\s*\(", pred)
                        or not re.search(r"[=<>]", pred)):
                    continue
            out.append(expr[pos:m.start()])
            out.append(self.attr_set(expr[m.start(1):m.end(1)]))
            pos = m.end()
        out.append(expr[pos:])
        return "".join(out)

    def anchor(self, name: str) -> str:
        var = self.anchors.get(name)
        if var is None:
            var = self.anchors[name] = f"ubltr-any-{len(self.anchors) + 1}"
        return "$" + var

    def _uri(self, name: str) -> tuple[str | None, str]:
        if ":" in name:
            pfx, local = name.split(":", 1)
            return self.nsmap.get(pfx, pfx), local
        return "", name

    def overlap(self, a: _Step, b: _Step) -> bool:
        """Can the last steps ``a`` and ``b`` match the same node?"""
        if a.attr != b.attr:
            return False
        if a.name == "*" or b.name == "*":
            return True
        (ua, la), (ub, lb) = self._uri(a.name), self._uri(b.name)
        return ua == ub and (la == lb or "*" in (la, lb))

    def select(self, lead: str, steps: list[_Step]) -> str:
        """The expression selecting every node the pattern matches, in document order."""
        if lead == "/":
            return "/" + "".join(s.sep + s.render() for s in steps)
        first = steps[0]
        if first.attr:  # //@x: attributes of any element
            return "//*/" + first.render()
        head = self.anchor(first.name) + "".join(f"[{p}]" for p in first.preds)
        return head + "".join(s.sep + s.render() for s in steps[1:])

    def root_path(self, path: str) -> str:
        """A hoisted absolute path, with a leading ``//name`` served by the anchor."""
        if not path.startswith("//"):
            return path
        try:
            lead, steps = _parse_pattern(path)
        except SchematronCompileError:
            return path
        if steps[0].preds:
            return path
        return self.select(lead, steps)

    # -- compilation of one rule set
    def add(self, rs: RuleSource, prefix: str) -> None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
        root = etree.fromstring(rs.source, parser)
        label = rs.label
        if root.tag != _S + "schema":
            raise SchematronCompileError(f"{label}: root element is not sch:schema")
        for bad in ("include", "extends"):
            if root.find(".//" + _S + bad) is not None:
                raise SchematronCompileError(f"{label}: sch:{bad} is not supported; flatten first")
        for ns in root.iter(_S + "ns"):
            pfx, uri = ns.get("prefix"), ns.get("uri")
            if self.nsmap.get(pfx, uri) != uri:
                raise SchematronCompileError(f"{label}: prefix {pfx!r} means {uri}, elsewhere {self.nsmap[pfx]}")
            self.nsmap[pfx] = uri

        # top-level lets: runtime parameters, inlined literals, or global variables
        mapping: dict[str, str] = {}
        lets = root.findall(_S + "let")
        global_names = {let.get("name") for let in lets}
        for let in lets:
            name, value = let.get("name"), xpath2.translate(let.get("value"))
            if name in rs.params:
                mapping[name] = f"${prefix}{name}"
            elif _LITERAL.fullmatch(value):
                v = value.strip()
                mapping[name] = v if v[0] in "'\"" else f"({v})"
            else:
                mapping[name] = f"${prefix}{name}"
        self._mapping = mapping
        self._long = {}
        for name, value in mapping.items():
            if value[0] in "'\"" and len(value) >= LONG_LIST and name not in rs.params:
                key = hashlib.sha256(value[1:-1].encode()).hexdigest()[:16]
                self.lists[key] = value[1:-1]
                self._long[name] = key
        for let in lets:
            name = let.get("name")
            value = _substitute(xpath2.translate(let.get("value")), mapping)
            if name in rs.params:
                self.params.append(prefix + name)
                self.globals.append(("param", prefix + name, value))
            elif mapping[name].startswith("$"):
                self.globals.append(("variable", prefix + name, xpath2.hoist_root_paths(value, self.hoisted)))

        def expr(x: str, mode: int | str, ups: dict[str, str]) -> str:
            """``mode``: a static depth (int), "generic" (parent steps decided per node)
            or "plain" (left as written: rare nested documents)."""
            x = _contains_lists(xpath2.translate(x), self.lists, self._long)
            x = xpath2.hoist_root_paths(_substitute(x, mapping), self.hoisted)
            if mode == 1:
                x = self.root_attr_sets(x)
            if isinstance(mode, int):
                x = xpath2.resolve_parent_steps(x, mode, self.tops)
            elif mode == "generic":
                x = xpath2.lift_parent_steps(x, self.tops, ups)
            return self.hoist_constants(x)

        excluded = set(rs.exclude_patterns)
        patterns = [
            p for p in root.iter(_S + "pattern")
            if p.get("abstract") != "true" and p.get("id") not in excluded
        ]
        for k, pattern in enumerate(patterns):
            pid = pattern.get("id") or f"p{k}"
            rules = [r for r in pattern.findall(_S + "rule") if r.get("abstract") != "true"]
            earlier: list[tuple[str, list[tuple[str, list[_Step]]]]] = []
            cover: tuple[list[_Step], str] | None = None  # (steps, global) of passes-below
            for j, rule in enumerate(rules):
                ctx = rule.get("context") or ""
                alts = [_parse_pattern(a) for a in _split_top(ctx, "|")]
                norm = " ".join(ctx.split())
                # first matching rule wins: drop what an earlier rule of the pattern matches
                dead = any(norm == e for e, _ in earlier)
                filters = []
                for _, prev in earlier:
                    if any(self.overlap(p[-1], a[-1]) for _, p in prev for _, a in alts):
                        filters.append(" or ".join(_self_test(lead, st) for lead, st in prev))
                earlier.append((norm, alts))
                indices = self._register(rule, ctx, pid, j, label, mapping)
                if dead or not indices:
                    continue
                passes = rule.get(PASSES)
                own = None  # this rule's loop is the global of its passes-below
                if passes is not None:  # the loops skip nodes the fast path proves valid
                    plain_alts = alts
                    alts = [(lead, [*st[:-1], _Step(st[-1].sep, st[-1].attr, st[-1].name,
                                                    [*st[-1].preds, f"not({passes.strip()})"])])
                            for lead, st in alts]
                    if rule.get(PASSES_BELOW) == "true" and len(alts) == 1 and alts[0][0] != "//" \
                            and all(x.sep in ("", "/") and not x.attr for x in alts[0][1]):
                        own = f"ubltr-suspect-{sum(g[1].startswith('ubltr-suspect-') for g in self.globals) + 1}"
                        self.globals.append(("variable", own, self.select("/", alts[0][1])))
                        cover = (plain_alts[0][1], own)
                # one loop per kind of node set: contexts of plain child steps are split into
                # the nodes under the root element (depth known: ../x resolved statically) and
                # those under a nested element of the same name (left as written)
                loops: dict[int | str, list[str]] = {}
                for lead, st in alts:
                    static = not st[0].attr and all(x.sep in ("", "/") and not x.attr for x in st)
                    if static and lead == "/":
                        loops.setdefault(len(st), []).append(self.select(lead, st))
                    elif static:
                        if own is not None:
                            start = "$" + own
                        elif cover is not None and len(st) > len(cover[0]) and all(
                                a.sep == b.sep and a.render() == b.render() for a, b in zip(st, cover[0])):
                            # below a passes-below rule: only under the nodes it did not pass
                            start = "$" + cover[1] + "".join(x.sep + x.render() for x in st[len(cover[0]):])
                        else:
                            start = self.select("/", st)
                        loops.setdefault(len(st), []).append(start)
                        nested = self.anchor(st[0].name) + "[parent::*]" + "".join(f"[{p}]" for p in st[0].preds)
                        loops.setdefault("plain", []).append(nested + "".join(x.sep + x.render() for x in st[1:]))
                    else:
                        loops.setdefault("generic", []).append(self.select(lead, st))
                if len(alts) > 1 and len(loops) > 1:
                    # alternatives of different kinds may match the same node: one loop
                    # over their union, parent steps decided per node
                    loops = {"generic": [self.select(lead, st) for lead, st in alts]}
                for mode, selects in loops.items():
                    select = " | ".join(selects)
                    if filters:
                        if len(selects) > 1:
                            select = f"({select})"
                        select += "".join(f"[not({f})]" for f in filters)
                    loop = self._loop(rule, select, mode, indices, expr, global_names, label)
                    for part in self._guarded(loop):
                        self.body.extend(self._by_value(part))

    def _guarded(self, loop: etree._Element) -> list[etree._Element]:
        """Take asserts out of the per-node loop when the document decides them.

        GİB's asserts are mostly ``A or B`` with ``A`` the same for every node
        (``not($ProfileID = 'IHRACAT') or ...``): the assert can only fail where
        ``not(A)`` holds, and that is known once per document.  Such asserts move to a
        copy of the loop that runs only ``<xsl:if test="not(A)">``, testing ``not(B)``."""
        local = {v.get("name") for v in loop if v.tag == _X + "variable"}
        lets = [v for v in loop if v.tag == _X + "variable"]
        groups: dict[str, list[tuple[etree._Element, str]]] = {}
        for el in list(loop):
            if el.tag != _X + "if":
                continue
            inner = _strip_not(el.get("test"))
            if inner is None:
                continue
            # the assert fails only where every or-operand of ``inner`` is false: a
            # context-free operand A must be false (not(A)); an operand not(Y1 and Y2 ..)
            # needs every Yi true, so a context-free Yi must hold
            facts = []
            for o in _top_level(inner, "or"):
                if context_free(o, local):
                    facts.append(f"not({o})")
                    continue
                y = _strip_not(o)
                if y is not None:
                    facts += [f"({c})" for c in _top_level(y, "and") if context_free(c, local)]
            if not facts:
                continue
            groups.setdefault(" and ".join(facts), []).append((el, el.get("test")))
        if not groups:
            return [loop]
        out = []
        for guard, items in groups.items():
            holder = etree.Element(_X + "if", test=guard)
            copy_ = etree.SubElement(holder, _X + "for-each", select=loop.get("select"))
            for v in lets:
                copy_.append(copy.deepcopy(v))
            for el, cond in items:
                loop.remove(el)
                el.set("test", cond)
                copy_.append(el)
            out.append(holder)
        if any(el.tag == _X + "if" for el in loop):
            out.insert(0, loop)
        return out

    def _by_value(self, loop: etree._Element) -> list[etree._Element]:
        """A rule whose tests read only the string value of the node (GİB's code-list
        checks on every ``@currencyID``, ``@unitCode``...) is decided once for the value
        of its first node when it has several; every node with that same value reuses the
        answer, the others are tested as usual.  Exact, and ~20x cheaper on the usual
        invoice where every amount carries the same currency.  A loop under a guard of
        :meth:`_guarded` (GİB's ``@unitCode`` check runs only for UBL 2.1 documents) is
        decided the same way inside its guard."""
        if loop.tag == _X + "if" and len(loop) == 1 and loop[0].tag == _X + "for-each":
            inner = loop[0]
            loop.remove(inner)
            loop.extend(self._by_value(inner))
            return [loop]
        if loop.tag != _X + "for-each":
            return [loop]
        tests = [el for el in loop if el.tag == _X + "if"]
        if len(tests) != len(loop) or not tests or not all(value_only(t.get("test")) for t in tests):
            return [loop]
        if not loop.get("select").startswith("//"):  # only contexts that match anywhere
            return [loop]
        k = len(self.by_value) + 1
        self.by_value.append(k)
        nodes, value = f"ubltr-s-{k}", f"ubltr-v-{k}"
        m = re.fullmatch(r"//\*/@([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)", loop.get("select"))
        shared = self.attr_set(m.group(1)) if m else loop.get("select")
        out = [etree.Element(_X + "variable", name=nodes, select=shared)]
        choose = etree.Element(_X + "choose")
        out.append(choose)
        many = etree.SubElement(choose, _X + "when", test=f"${nodes}[2]")
        etree.SubElement(many, _X + "variable", name=value, select=f"string(${nodes}[1])")
        plain = copy.deepcopy(loop)
        plain.set("select", f"${nodes}")
        loop.set("select", f"${nodes}")
        for i, t in enumerate(tests, 1):
            first = etree.SubElement(many, _X + "variable", name=f"ubltr-t-{k}-{i}")
            probe = etree.SubElement(etree.SubElement(first, _X + "for-each", select=f"${nodes}[1]"),
                                     _X + "if", test=t.get("test"))
            _text(probe, "1")
            # the nodes with the first node's value fail exactly when the first does: one
            # test, then (rarely) one finding per such node
            fire = etree.SubElement(many, _X + "if", test=f"$ubltr-t-{k}-{i} = '1'")
            each = etree.SubElement(fire, _X + "for-each", select=f"${nodes}[. = ${value}]")
            for part in t:
                each.append(copy.deepcopy(part))
        # the others (usually none: one predicate over the node set, in C) as written
        loop.set("select", f"${nodes}[not(. = ${value})]")
        many.append(loop)
        etree.SubElement(choose, _X + "otherwise").append(plain)
        return out

    def _register(self, rule: etree._Element, ctx: str, pid: str, j: int, label: str,
                  mapping: dict[str, str]) -> list[int]:
        """Record the rule's assertions (even for a rule that can never fire: explain
        needs them); returns their indices."""
        out = []
        for item in rule:
            name = _local(item)
            if name in ("assert", "report"):
                n = len(self.assertions)
                msg = self._message(item, etree.Element("f"), mapping)
                self.assertions.append(Assertion(
                    index=n, id=item.get("id") or f"{pid}-{j + 1}", kind=name,
                    role=item.get("role"), flag=item.get("flag"), test=item.get("test"),
                    context=ctx, pattern=pid, message=msg, ruleset=label,
                ))
                out.append(n)
            elif name not in (None, "title", "p", "let"):
                raise SchematronCompileError(f"{label}: unsupported sch:{name} in a rule")
        return out

    def _loop(self, rule: etree._Element, select: str, mode: int | str, indices: list[int],
              expr, global_names: set[str], label: str) -> etree._Element:
        loop = etree.Element(_X + "for-each", select=select)
        ups: dict[str, str] = {}
        at = iter(indices)
        for item in rule:
            name = _local(item)
            if name == "let":
                if item.get("name") in global_names:
                    raise SchematronCompileError(
                        f"{label}: rule let ${item.get('name')} shadows a top-level let")
                etree.SubElement(loop, _X + "variable", name=item.get("name"),
                                 select=expr(item.get("value"), mode, ups))
            elif name in ("assert", "report"):
                test = expr(item.get("test"), mode, ups)
                cond = f"not({test})" if name == "assert" else test
                fire = etree.SubElement(loop, _X + "if", test=cond)
                f = etree.SubElement(fire, "f", n=str(next(at)), l="{ub:line(.)}", p="{ub:path(.)}")
                self._message(item, f, self._mapping)
        for chain, var in sorted(ups.items(), reverse=True):
            loop.insert(0, etree.Element(
                _X + "variable", name=var, select=f"boolean({chain}/..) and not({chain}/../..)"))
        return loop

    def _message(self, el: etree._Element, out: etree._Element, mapping: dict[str, str]) -> str:
        """Copy the message of ``el`` into ``out`` as XSLT; return a plain template."""
        plain = []
        if el.text:
            _text(out, el.text)
            plain.append(el.text)
        for child in el:
            name = _local(child)
            if name == "value-of":
                src = child.get("select", ".")
                sel = xpath2.hoist_root_paths(_substitute(xpath2.translate(src), mapping), self.hoisted)
                etree.SubElement(out, _X + "value-of", select=sel)
                plain.append("{" + src + "}")
            elif name == "name":
                path = child.get("path")
                sel = f"name({xpath2.translate(path)})" if path else "name(.)"
                etree.SubElement(out, _X + "value-of", select=sel)
                plain.append("{name}")
            elif name in ("emph", "dir", "span"):
                text = "".join(child.itertext())
                _text(out, text)
                plain.append(text)
            elif name is not None:
                raise SchematronCompileError(f"unsupported element sch:{name} in a message")
            if child.tail:
                _text(out, child.tail)
                plain.append(child.tail)
        return " ".join("".join(plain).split())

    def stylesheet(self) -> bytes:
        # the prefixes most steps use are declared first: libxml2 resolves a step's prefix
        # at every evaluation by a linear scan of the instruction's in-scope namespaces
        # (xmlXPathNsLookup), so cbc/cac first is 3-5 % fewer instructions per transform
        # (bench/rules_callgrind.py); xsl, which no expression uses, goes last
        first = {p: self.nsmap[p] for p in _FREQUENT_PREFIXES if p in self.nsmap}
        xsl = etree.Element(_X + "stylesheet", nsmap={**first, **self.nsmap, "xsl": XSL_NS}, version="1.0")
        xsl.set("exclude-result-prefixes", " ".join(self.nsmap))
        etree.SubElement(xsl, _X + "output", method="xml", encoding="UTF-8", indent="no")
        for key, text in self.lists.items():  # read by the engine for ub:contains-list
            etree.SubElement(xsl, "{%s}list" % xpath2.EXT_NS, key=key).text = text
        for kind, name, select in self.globals:
            if kind == "param":
                etree.SubElement(xsl, _X + "param", name=name, select=select)
        # absolute paths used inside rules, evaluated once per document
        roots = [(var, self.root_path(path)) for path, var in self.hoisted.items()]
        # every //name anchor in one pass over the elements (lxml's iter, in C), instead of
        # one XPath descendant walk per name
        clark = {}
        for name in self.anchors:
            uri, local = self._uri(name)
            if "*" not in name and uri is not None and "'" not in uri:
                clark[name] = f"{{{uri}}}{local}"
        if clark:
            args = ", ".join(f"'{c}'" for c in clark.values())
            etree.SubElement(xsl, _X + "variable", name="ubltr-anchors", select=f"ub:elements(/*, {args})")
        for name, var in self.attr_sets.items():
            etree.SubElement(xsl, _X + "variable", name=var, select=f"//*/@{name}")
        for name, var in self.anchors.items():
            select = f"$ubltr-anchors/self::{name}" if name in clark else f"//{name}"
            etree.SubElement(xsl, _X + "variable", name=var, select=select)
        for var, select in roots:
            etree.SubElement(xsl, _X + "variable", name=var, select=select)
        for element, var in self.tops.items():
            etree.SubElement(xsl, _X + "variable", name=var, select=f"/*/{element}")
        for kind, name, select in self.globals:
            if kind == "variable":
                etree.SubElement(xsl, _X + "variable", name=name, select=select)
        for text, var in self.constants.items():
            etree.SubElement(xsl, _X + "variable", name=var, select=text)
        main = etree.SubElement(xsl, _X + "template", match="/")
        result = etree.SubElement(main, "r")
        result.extend(self._grouped(self.body))
        return etree.tostring(xsl, xml_declaration=True, encoding="UTF-8")

    # -- blocks that cannot select anything in this document are skipped as a group
    _FIRST = re.compile(
        r"^(?:/([A-Za-z_][\w.\-]*:[A-Za-z_][\w.\-]*)(?=[/\[]|$)|\$(ubltr-any-\d+(?:\[parent::\*\])?)(?![\w\-]))")

    def _needs(self, block: etree._Element) -> str | None:
        """A cheap test that is false only when ``block`` cannot select any node: the
        root element its select starts from (``/inv:Invoice/...``), or the anchor set it
        starts from (``$ubltr-any-3[parent::*]/...``: such an element below the root,
        the nested-document variant of a rule) being empty."""
        loop = block
        if block.tag == _X + "if" and len(block) == 1:  # a guard of _guarded
            loop = block[0]
        if loop.tag != _X + "for-each" or len(_split_top(loop.get("select"), "|")) > 1:
            return None  # a union selects from more than one start
        m = self._FIRST.match(loop.get("select"))
        if m is None:
            return None
        return f"/{m.group(1)}" if m.group(1) else f"${m.group(2)}"

    def _grouped(self, body: list[etree._Element]) -> list[etree._Element]:
        """Blocks that start from the same root element or anchor set go under one
        ``xsl:if`` of that condition, placed where the first of them was.  Exact: a block
        under a false condition selects no node, and findings are sorted afterwards, so
        their order in the output does not matter.  GİB's rule set holds the rules of
        every document kind (envelopes, application responses, despatch advices, user
        accounts ...): an invoice now skips the others' ~270 blocks with a handful of
        tests, where each select used to cost a path evaluation (bench/validate.py)."""
        out: list[etree._Element] = []
        holders: dict[str, etree._Element] = {}
        for block in body:
            need = self._needs(block)
            if need is None:
                out.append(block)
                continue
            holder = holders.get(need)
            if holder is None:
                holder = holders[need] = etree.Element(_X + "if", test=need)
                out.append(holder)
            holder.append(block)
        return out


def _text(parent: etree._Element, text: str) -> None:
    t = etree.SubElement(parent, _X + "text")
    t.text = text


def compile_many(sources: Sequence[RuleSource], *, prefix_params: bool = True) -> Compiled:
    """Compile several rule sets into one stylesheet (one transform runs them all).

    Each rule set's runtime parameters become ``<label>-<name>`` (``gib-type``) unless
    ``prefix_params`` is false; each :class:`Assertion` names its rule set."""
    prog = _Program()
    labels = [rs.label for rs in sources]
    if len(set(labels)) != len(labels):
        raise SchematronCompileError(f"duplicate rule set labels {labels}")
    for rs in sources:
        prog.add(rs, f"{rs.label}-" if prefix_params else "")
    xslt = prog.stylesheet()
    digest = hashlib.sha256(b"".join(hashlib.sha256(rs.source).digest() for rs in sources)).hexdigest()
    return Compiled(xslt=xslt, assertions=tuple(prog.assertions), source_sha256=digest,
                    params=tuple(prog.params))


def compile_schematron(
    source: bytes, *, label: str = "schematron", exclude_patterns: Iterable[str] = (),
    params: Iterable[str] = (),
) -> Compiled:
    """Compile schematron ``source`` (bytes of an ISO schematron document).

    ``exclude_patterns``: ids of patterns left out (documents we never validate).
    ``params``: names of top-level lets the caller passes at run time (kept as
    ``xsl:param`` under their own names); other literal lets are inlined."""
    compiled = compile_many(
        [RuleSource(label, source, tuple(exclude_patterns), tuple(params))], prefix_params=False)
    return Compiled(compiled.xslt, compiled.assertions, hashlib.sha256(source).hexdigest(), compiled.params)


def assertion_ids(compiled: Compiled) -> Iterable[str]:
    return (a.id for a in compiled.assertions)
