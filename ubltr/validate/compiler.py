"""A small ISO Schematron → XSLT 1.0 compiler (lxml/libxslt runs the result).

Supported: ``sch:ns``, top-level and rule-level ``sch:let``, ``sch:pattern`` /
``sch:rule`` (``context``) / ``sch:assert`` / ``sch:report`` with ``id``, ``role``,
``flag``, and in messages ``sch:value-of``, ``sch:name`` and inline text.  Schematron
semantics kept: within one pattern, a node is handled by the *first* rule whose
context matches it (later rules with the same context never fire); every pattern
sees every node.  Expressions go through :mod:`ubltr.validate.xpath2`, so GİB's
XPath 2.0 rules compile unchanged.  Includes / abstract rules are not supported (GİB's
package ships them already flattened; our own rules do not use them).

The generated stylesheet produces::

    <r><f n="ASSERT-INDEX" l="LINE" p="XPATH">message</f>...</r>
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable

from lxml import etree

from . import xpath2

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
XSL_NS = "http://www.w3.org/1999/XSL/Transform"
_S = "{" + SCH_NS + "}"
_X = "{" + XSL_NS + "}"

#: bumped whenever the generated XSLT changes shape (part of every cache key)
COMPILER_VERSION = "3"



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


@dataclass(frozen=True, slots=True)
class Compiled:
    xslt: bytes
    assertions: tuple[Assertion, ...]
    source_sha256: str


def _local(el: etree._Element) -> str | None:
    return etree.QName(el).localname if isinstance(el.tag, str) else None


def _context_anchors(context: str) -> set[str] | None:
    """First step QNames that every match of ``context`` must have as an ancestor-or-self,
    or None when the context can match anywhere (``//x``, ``@x``, ``*``...)."""
    anchors: set[str] = set()
    for alt in context.split("|"):
        alt = alt.strip()
        if not alt or alt[0] in "/@*." or "(" in alt.split("/")[0]:
            return None
        first = alt.split("/")[0].split("[")[0].strip()
        if not first or "*" in first:
            return None
        anchors.add(first)
    return anchors


def _message(el: etree._Element, out: etree._Element, hoisted: dict[str, str]) -> str:
    """Copy the message of ``el`` into ``out`` as XSLT; return a plain template."""
    plain = []
    if el.text:
        _text(out, el.text)
        plain.append(el.text)
    for child in el:
        name = _local(child)
        if name == "value-of":
            sel = xpath2.hoist_root_paths(xpath2.translate(child.get("select", ".")), hoisted)
            etree.SubElement(out, _X + "value-of", select=sel)
            plain.append("{" + child.get("select", ".") + "}")
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


def _text(parent: etree._Element, text: str) -> None:
    t = etree.SubElement(parent, _X + "text")
    t.text = text


def compile_schematron(
    source: bytes, *, label: str = "schematron", exclude_patterns: Iterable[str] = ()
) -> Compiled:
    """Compile schematron ``source`` (bytes of an ISO schematron document).

    ``exclude_patterns``: ids of patterns left out (documents we never validate)."""
    excluded = set(exclude_patterns)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
    root = etree.fromstring(source, parser)
    if root.tag != _S + "schema":
        raise SchematronCompileError(f"{label}: root element is not sch:schema")
    for bad in ("include", "extends"):
        if root.find(".//" + _S + bad) is not None:
            raise SchematronCompileError(f"{label}: sch:{bad} is not supported; flatten first")

    nsmap = {"ub": xpath2.EXT_NS}
    for ns in root.iter(_S + "ns"):
        nsmap[ns.get("prefix")] = ns.get("uri")
    xsl = etree.Element(_X + "stylesheet", nsmap={"xsl": XSL_NS, **nsmap}, version="1.0")
    xsl.set("exclude-result-prefixes", " ".join(p for p in nsmap))
    etree.SubElement(xsl, _X + "output", method="xml", encoding="UTF-8", indent="no")

    hoisted: dict[str, str] = {}
    tops: dict[str, str] = {}
    ups: dict[str, str] = {}

    def expr(x: str) -> str:
        return xpath2.lift_parent_steps(xpath2.hoist_root_paths(xpath2.translate(x), hoisted), tops, ups)
    for let in root.findall(_S + "let"):
        etree.SubElement(
            xsl, _X + "param", name=let.get("name"),
            select=xpath2.translate(let.get("value")),
        )

    patterns = [
        p for p in root.iter(_S + "pattern")
        if p.get("abstract") != "true" and p.get("id") not in excluded
    ]
    main = etree.SubElement(xsl, _X + "template", match="/")
    result = etree.SubElement(main, "r")
    assertions: list[Assertion] = []

    for k, pattern in enumerate(patterns):
        mode = f"p{k}"
        rules = [r for r in pattern.findall(_S + "rule") if r.get("abstract") != "true"]
        if not rules:
            continue
        anchors: set[str] | None = set()
        wants_attributes = False
        for rule in rules:
            ctx = rule.get("context") or ""
            a = _context_anchors(ctx)
            anchors = None if a is None or anchors is None else anchors | a
            if "@" in ctx.split("[")[0]:
                wants_attributes = True
        walk = "*|@*" if wants_attributes else "*"
        # run the pattern only when something it can match exists
        if anchors:
            guard = " or ".join(sorted({f"/{a}" for a in anchors} | {f"//{a}" for a in anchors}, key=lambda s: (s.startswith("//"), s)))
            holder = etree.SubElement(result, _X + "if", test=guard)
        else:
            holder = result
        etree.SubElement(holder, _X + "apply-templates", select="/*", mode=mode)

        for j, rule in enumerate(rules):
            ctx = rule.get("context")
            tpl = etree.SubElement(
                xsl, _X + "template", match=ctx, mode=mode, priority=str(len(rules) - j + 1)
            )
            ups.clear()
            for item in rule:
                name = _local(item)
                if name == "let":
                    etree.SubElement(
                        tpl, _X + "variable", name=item.get("name"),
                        select=expr(item.get("value")),
                    )
                elif name in ("assert", "report"):
                    test = expr(item.get("test"))
                    cond = f"not({test})" if name == "assert" else test
                    fire = etree.SubElement(tpl, _X + "if", test=cond)
                    f = etree.SubElement(fire, "f", n=str(len(assertions)), l="{ub:line(.)}", p="{ub:path(.)}")
                    msg = _message(item, f, hoisted)
                    assertions.append(
                        Assertion(
                            index=len(assertions),
                            id=item.get("id") or f"{pattern.get('id') or mode}-{j + 1}",
                            kind=name,
                            role=item.get("role"),
                            flag=item.get("flag"),
                            test=item.get("test"),
                            context=ctx,
                            pattern=pattern.get("id") or mode,
                            message=msg,
                        )
                    )
                elif name in (None, "title", "p"):
                    continue
                else:
                    raise SchematronCompileError(f"{label}: unsupported sch:{name} in a rule")
            for chain, var in sorted(ups.items(), reverse=True):
                tpl.insert(0, etree.Element(
                    _X + "variable", name=var, select=f"boolean({chain}/..) and not({chain}/../..)"))
            # attributes have no children to walk
            if not ctx.strip().split("/")[-1].startswith("@"):
                etree.SubElement(tpl, _X + "apply-templates", select=walk, mode=mode)
        default = etree.SubElement(xsl, _X + "template", match="*", mode=mode, priority="-10")
        etree.SubElement(default, _X + "apply-templates", select=walk, mode=mode)
        etree.SubElement(xsl, _X + "template", match="@*|text()", mode=mode, priority="-10")

    # absolute paths used inside rules, evaluated once per document
    first_template = xsl.find(_X + "template")
    for path, name in hoisted.items():
        var = etree.Element(_X + "variable", name=name, select=path)
        first_template.addprevious(var)
    for element, name in tops.items():
        first_template.addprevious(etree.Element(_X + "variable", name=name, select=f"/*/{element}"))

    return Compiled(
        xslt=etree.tostring(xsl, xml_declaration=True, encoding="UTF-8"),
        assertions=tuple(assertions),
        source_sha256=hashlib.sha256(source).hexdigest(),
    )


def assertion_ids(compiled: Compiled) -> Iterable[str]:
    return (a.id for a in compiled.assertions)
