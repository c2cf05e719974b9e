"""The validation engine: safe loading, XSD, compiled schematron rule sets.

What is checked for which document lives in ``schematron/scenarios.json``; the
engine only knows how to run an XSD and a compiled rule set and how to turn their
output into findings.  Everything expensive (schemas, compiled stylesheets, tables)
is built once per process; a compiled rule set is also cached on disk (outside the
repository) keyed by the sha256 of its source and the compiler version.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Iterable, Union

from lxml import etree

from .. import official, xmlsafe
from ..resources import folder
from . import compiler, xpath2
from .report import Finding, Report, sort_findings

Source = Union[bytes, str, os.PathLike, etree._ElementTree, etree._Element]

#: document-wide default size limit (overridden by scenarios.json ``limits``)
MAX_BYTES = 50 * 1024 * 1024


class EngineConfigError(RuntimeError):
    """scenarios.json or a rule set is broken (a bug in ubltr, not in the document)."""


# ----------------------------------------------------------------- configuration

@cache
def scenarios() -> dict[str, Any]:
    return json.loads((folder("schematron") / "scenarios.json").read_text(encoding="utf-8"))


@cache
def _table(name: str) -> dict[str, Any]:
    p = folder("schematron") / name
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}


def rule_texts() -> dict[str, dict[str, str]]:
    """English message and fix per rule id (``schematron/rule-texts.json``)."""
    return _table("rule-texts.json").get("rules", {})


def provider_table() -> dict[str, Any]:
    """The provider error-code table (``schematron/provider-codes.json``)."""
    return _table("provider-codes.json")


@cache
def provider_codes(rule: str, source: str) -> tuple[tuple[str, str], ...]:
    """((provider, code), ...) for a failed ``rule`` of layer ``source``."""
    table = provider_table()
    out: dict[str, str] = {}
    for provider, spec in table.get("providers", {}).items():
        by_rule = spec.get("rules", {})
        code = by_rule.get(rule)
        if code is None:
            code = spec.get("default_by_source", {}).get(source)
        if code is not None:
            out[provider] = code
    return tuple(sorted(out.items()))


def known_providers() -> tuple[str, ...]:
    return tuple(sorted(provider_table().get("providers", {})))


# ----------------------------------------------------------------- compiled rules

def _cache_dir() -> Path:
    base = os.environ.get("UBLTR_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base else Path.home() / ".cache"
    return (root if os.environ.get("UBLTR_CACHE_DIR") else root / "ubltr") / "rules"


def _ruleset_source(spec: dict[str, Any]) -> bytes:
    if spec.get("official") == "gib":  # GİB's rules in use: packaged, or installed (ubltr rules)
        return official.gib_schematron()
    return (folder("schematron") / spec["file"]).read_bytes()


def _packaged_compiled() -> Path:
    """Rule sets compiled when the wheel was built (``schematron/compiled``): the first
    validate after an install reads them as later ones read the user cache."""
    return folder("schematron") / "compiled"


def _runtime_params(spec: dict[str, Any]) -> tuple[str, ...]:
    """Top-level lets of a rule set that the engine sets per document: GİB's ``type``
    parameter (``param``) and, for ubltr's own rules, ``provider``."""
    out = [spec["param"]] if spec.get("param") else []
    if spec.get("source") != "gib":
        out.append("provider")
    return tuple(out)


def _rule_source(name: str) -> compiler.RuleSource:
    spec = scenarios()["rulesets"].get(name)
    if spec is None:
        raise EngineConfigError(f"unknown rule set {name!r}")
    return compiler.RuleSource(name, _ruleset_source(spec), tuple(spec.get("exclude_patterns", ())),
                               _runtime_params(spec))


def _cache_name(names: tuple[str, ...], combined: bool) -> tuple[str, list[compiler.RuleSource]]:
    """File name of a compiled rule set: its key covers the compiler, the rule sources
    (GİB's flattened schematron in use, ubltr.sch) and how they are combined."""
    sources = [_rule_source(n) for n in names]
    h = hashlib.sha256(compiler.COMPILER_VERSION.encode() + json.dumps([names, combined]).encode()
                       + Path(compiler.__file__).read_bytes() + Path(xpath2.__file__).read_bytes())
    for rs in sources:
        h.update(hashlib.sha256(rs.source).digest() + json.dumps([rs.exclude_patterns, rs.params]).encode())
    return f"{'+'.join(names)}-{h.hexdigest()[:24]}.json", sources


def _compiled_dirs() -> list[Path]:
    """Read-only folders of rule sets compiled ahead of time: those of an installed GİB
    release (``ubltr rules install``), then those built with the wheel."""
    dirs = [_packaged_compiled()]
    gib = official.active_rules()
    if gib.origin != "packaged":
        dirs.insert(0, gib.folder / "compiled")
    return dirs


def _write_compiled(path: Path, compiled: compiler.Compiled) -> None:
    """Write ``compiled`` as JSON into ``path`` (gzip-compressed when it ends in .gz:
    the ahead-of-time compiled rules, a tenth of the size), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "xslt": compiled.xslt.decode("utf-8"),
        "assertions": [
            {k: getattr(a, k) for k in compiler.Assertion.__slots__} for a in compiled.assertions
        ],
        "source_sha256": compiled.source_sha256,
        "params": list(compiled.params),
    }
    data = json.dumps(payload).encode("utf-8")
    if path.suffix == ".gz":
        data = gzip.compress(data, compresslevel=9, mtime=0)  # (mtime 0: the same rules, the same bytes)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _compile_cached(names: tuple[str, ...], combined: bool) -> compiler.Compiled:
    fname, sources = _cache_name(names, combined)
    path = _cache_dir() / fname
    for where in [*(d / (fname + ".gz") for d in _compiled_dirs()), path]:
        try:
            raw = where.read_bytes()
            data = json.loads(gzip.decompress(raw) if where.suffix == ".gz" else raw)
            return compiler.Compiled(
                xslt=data["xslt"].encode("utf-8"),
                assertions=tuple(compiler.Assertion(**a) for a in data["assertions"]),
                source_sha256=data["source_sha256"],
                params=tuple(data["params"]),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue
    if combined:
        compiled = compiler.compile_many(sources)
    else:
        rs = sources[0]
        compiled = compiler.compile_schematron(rs.source, label=rs.label, exclude_patterns=rs.exclude_patterns,
                                               params=rs.params)
    try:  # best effort: a read-only home must not break validation
        _write_compiled(path, compiled)
    except OSError:
        pass
    return compiled


def compile_into(dest: Path) -> list[str]:
    """Compile every rule set and every document's program (with the GİB rules in use)
    into ``dest``, as the engine names them; returns the file names.  The wheel build
    fills ``schematron/compiled`` with it, ``ubltr rules install`` an installed release's
    ``compiled`` folder."""
    jobs = [((n,), False) for n in scenarios()["rulesets"]]
    jobs += [(tuple(d["rulesets"]), True) for d in scenarios()["documents"]]
    out = []
    for names, combined in dict.fromkeys(jobs):
        fname, _ = _cache_name(names, combined)
        _write_compiled(dest / (fname + ".gz"), _compile_cached(names, combined))
        out.append(fname + ".gz")
    return out


def _first(nodes: Any) -> Any:
    if isinstance(nodes, list):
        return nodes[0] if nodes else None
    return nodes


def _ext_line(_ctx: Any, nodes: Any) -> str:
    n = _first(nodes)
    if n is None:
        return ""
    if not hasattr(n, "sourceline"):
        n = n.getparent()
    return str(n.sourceline or "") if n is not None else ""


def _step(el: etree._Element) -> str:
    q = etree.QName(el)
    prefix = el.prefix
    name = f"{prefix}:{q.localname}" if prefix else q.localname
    parent = el.getparent()
    if parent is None:
        return name
    same = [s for s in parent.iterchildren(el.tag)]
    return f"{name}[{same.index(el) + 1}]" if len(same) > 1 else name


def element_path(el: etree._Element) -> str:
    """A readable XPath of ``el`` using the document's own prefixes."""
    steps = [_step(a) for a in el.iterancestors()][::-1] + [_step(el)]
    return "/" + "/".join(steps)


def _ext_path(_ctx: Any, nodes: Any) -> str:
    n = _first(nodes)
    if n is None:
        return ""
    if hasattr(n, "sourceline"):
        return element_path(n)
    parent = n.getparent()
    attr = getattr(n, "attrname", "") or ""
    if attr.startswith("{"):
        attr = attr.split("}", 1)[1]
    return (element_path(parent) if parent is not None else "") + "/@" + attr


def _ext_elements(_ctx: Any, nodes: Any, *tags: str) -> list[etree._Element]:
    """``ub:elements(/*, '{ns}name', ...)``: every element with one of these names, in
    document order (what ``//a | //b ...`` selects), found in one pass."""
    root = _first(nodes)
    return list(root.iter(*tags)) if root is not None else []


#: long code lists of the loaded stylesheets (``<ub:list key=...>``), by key
_LISTS: dict[str, str] = {}


def _ext_contains_list(_ctx: Any, key: str, value: Any) -> bool:
    """``ub:contains-list('key', s)``: XPath ``contains(LIST, s)`` on a long literal."""
    return xpath2._string(value) in _LISTS[key]


def _stylesheet(compiled: compiler.Compiled) -> etree.XSLT:
    doc = etree.fromstring(compiled.xslt)
    for el in doc.iterchildren("{%s}list" % xpath2.EXT_NS):
        _LISTS[el.get("key")] = el.text or ""
    return etree.XSLT(doc, extensions=_EXTENSIONS)


_EXTENSIONS = {(xpath2.EXT_NS, k): v for k, v in xpath2.FUNCTIONS.items()}
_EXTENSIONS[(xpath2.EXT_NS, "contains-list")] = _ext_contains_list
_EXTENSIONS[(xpath2.EXT_NS, "elements")] = _ext_elements
_EXTENSIONS[(xpath2.EXT_NS, "line")] = _ext_line
_EXTENSIONS[(xpath2.EXT_NS, "path")] = _ext_path


@dataclass(frozen=True)
class RuleSet:
    """One rule set compiled on its own (its parameters under their own names)."""

    name: str
    source: str  # finding layer
    param: str | None
    advisory: bool
    compiled: compiler.Compiled
    xslt: etree.XSLT


@cache
def ruleset(name: str) -> RuleSet:
    spec = scenarios()["rulesets"].get(name)
    if spec is None:
        raise EngineConfigError(f"unknown rule set {name!r}")
    compiled = _compile_cached((name,), combined=False)
    xslt = _stylesheet(compiled)
    return RuleSet(name, spec["source"], spec.get("param"), bool(spec.get("advisory")), compiled, xslt)


@dataclass(frozen=True)
class Program:
    """Several rule sets compiled into one stylesheet: one transform per document runs
    them all (their parameters are ``<rule set>-<name>``)."""

    names: tuple[str, ...]
    compiled: compiler.Compiled
    xslt: etree.XSLT
    meta: dict[str, tuple[str, bool]]  # rule set -> (finding layer, advisory)


@cache
def program(names: tuple[str, ...]) -> Program:
    compiled = _compile_cached(names, combined=True)
    xslt = _stylesheet(compiled)
    meta = {}
    for n in names:
        spec = scenarios()["rulesets"][n]
        meta[n] = (spec["source"], bool(spec.get("advisory")))
    return Program(names, compiled, xslt, meta)


@cache
def schema(official_name: str) -> etree.XMLSchema:
    return official.xml_schema(official_name)


@cache
def _documents() -> dict[str, dict[str, Any]]:
    return {d["root"]: d for d in scenarios()["documents"]}


def warm_up() -> None:
    """Load every schema and rule set now (before forking workers, before timing)."""
    for d in scenarios()["documents"]:
        schema(d["xsd"])
        program(tuple(d["rulesets"]))


# ----------------------------------------------------------------- layer 1: safe XML

_PARSER_OPTIONS = dict(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                       remove_comments=False)
_PARSER = etree.XMLParser(huge_tree=False, **_PARSER_OPTIONS)
#: the same parser for a >10 MB text node (see ubltr/xmlsafe.py); the same options matter:
#: e.g. CDATA merged into the text around it, as GİB's Saxon sees it
_LONG_PARSER = etree.XMLParser(huge_tree=True, **_PARSER_OPTIONS)


def _xml_finding(rule: str, message: str, line: int | None = None, fix: str | None = None) -> Finding:
    return Finding(rule=f"xml:{rule}", severity="error", source="xml", message=message,
                   line=line, fix=fix, provider_codes=provider_codes(f"xml:{rule}", "xml"))


def _syntax_finding(exc: etree.XMLSyntaxError) -> Finding:
    msg = str(exc.msg if hasattr(exc, "msg") and exc.msg else exc).strip()
    line = exc.lineno if getattr(exc, "lineno", None) else None
    low = msg.lower()
    if "encoding" in low or "utf-8" in low or "bytes:" in low:
        return _xml_finding(
            "encoding", f"the bytes do not match the declared encoding: {msg}", line,
            "save the file as UTF-8 (GİB requires UTF-8) or declare its real encoding in <?xml ... encoding=...?>",
        )
    if "document is empty" in low or "start tag expected" in low:
        return _xml_finding("not-xml", f"not an XML document: {msg}", line,
                            "pass the UBL-TR XML itself (not a PDF, ZIP, HTML or JSON file)")
    if "depth" in low or "huge" in low or "amplification" in low:
        return _xml_finding("limits", f"document exceeds the parser's safety limits: {msg}", line)
    return _xml_finding("syntax", f"not well-formed XML: {msg}", line,
                        "fix the XML syntax at the given line (unclosed tag, bad character, stray '&')")


def load(source: Source, max_bytes: int | None = None) -> tuple[etree._ElementTree | None, str, list[Finding]]:
    """Parse ``source`` safely. Returns (tree or None, display name, findings)."""
    limit = max_bytes or scenarios().get("limits", {}).get("max_bytes", MAX_BYTES)
    if isinstance(source, etree._ElementTree):
        return source, "<tree>", []
    if isinstance(source, etree._Element):
        return source.getroottree(), "<tree>", []
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        try:
            size = os.path.getsize(name)
            if size > limit:
                return None, name, [_xml_finding("limits", f"file is {size} bytes; the limit is {limit}")]
            data = Path(name).read_bytes()
        except OSError as exc:
            return None, name, [_xml_finding("unreadable", f"cannot read the file: {exc.strerror or exc}")]
    elif isinstance(source, (bytes, bytearray, memoryview)):
        name, data = "<bytes>", bytes(source)
    else:
        raise TypeError(f"validate() takes bytes, a path or an lxml tree, not {type(source).__name__}")
    if len(data) > limit:
        return None, name, [_xml_finding("limits", f"document is {len(data)} bytes; the limit is {limit}")]
    if not data or data.isspace():  # (not data.strip(): no copy of a large document)
        return None, name, [_xml_finding("not-xml", "the input is empty")]
    try:
        tree = etree.ElementTree(xmlsafe.parse_bytes(data, _PARSER, _LONG_PARSER))
    except etree.XMLSyntaxError as exc:
        return None, name, [_syntax_finding(exc)]
    except ValueError as exc:  # e.g. unicode strings with encoding declarations
        return None, name, [_xml_finding("syntax", str(exc))]
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        return None, name, [_xml_finding(
            "doctype", "DOCTYPE declarations are refused (entity expansion / XXE risk); UBL-TR documents never have one",
            fix="remove the <!DOCTYPE ...> declaration",
        )]
    return tree, name, []


# ----------------------------------------------------------------- layers 2-4

_XSD_LOCK = threading.Lock()


def _xsd_findings(tree: etree._ElementTree, xsd: str) -> list[Finding]:
    s = schema(xsd)
    # one XMLSchema is shared by every thread and its error_log is the last run's: read it
    # under the same lock as the run, or another thread's run replaces it (XSD errors lost)
    with _XSD_LOCK:
        if s.validate(tree):
            return []
        errors = list(s.error_log)
    out = []
    for e in errors:
        rule = f"xsd:{e.type_name}"
        message = re.sub(r"\{[^}]*\}", "", e.message)
        out.append(Finding(
            rule=rule, severity="error", source="xsd", message=message,
            fix=rule_texts().get(rule, {}).get("fix") or "make the element order, names and values follow the UBL 2.1 schema",
            location=e.path or None, line=e.line or None,
            provider_codes=provider_codes(rule, "xsd"),
        ))
    return out


@cache
def provider_rejects(provider: str | None) -> frozenset[str]:
    """Rule ids the provider is documented to reject (its ``rejects`` list)."""
    if not provider:
        return frozenset()
    spec = provider_table().get("providers", {}).get(provider.lower(), {})
    return frozenset(spec.get("rejects", ()))


@cache
def _strparam(value: str) -> Any:
    return etree.XSLT.strparam(value)


def _findings_of(
    result: etree._XSLTResultTree, assertions: tuple[compiler.Assertion, ...],
    meta: dict[str, tuple[str, bool]], strict: bool, rejects: frozenset[str],
) -> list[Finding]:
    root = result.getroot()
    if root is None or not len(root):
        return []  # the usual case: nothing failed, nothing to build
    texts = rule_texts()
    out = []
    for f in root:
        a = assertions[int(f.get("n"))]
        source, advisory = meta[a.ruleset]
        raw = " ".join("".join(f.itertext()).split())
        sev = "error"
        if (a.role or a.flag or "").lower() in ("warning", "warn"):
            sev = "warning"
        elif (a.role or a.flag or "").lower() in ("info", "information"):
            sev = "info"
        if sev == "error" and advisory and not strict and a.id not in rejects:
            sev = "warning"
        text = texts.get(a.id, {})
        if source == "gib":
            message = text.get("en") or f"GİB rule {a.id} failed: {raw}"
            gib_message = raw
        else:
            message, gib_message = raw, None
        line = f.get("l")
        out.append(Finding(
            rule=a.id, severity=sev, source=source,  # type: ignore[arg-type]
            message=message, gib_message=gib_message, fix=text.get("fix"),
            location=f.get("p") or None, line=int(line) if line else None,
            provider_codes=provider_codes(a.id, source),
        ))
    return out


def _rule_findings(
    rs: RuleSet, tree: etree._ElementTree, params: dict[str, str],
    strict: bool = False, rejects: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Run one rule set on its own (``params`` by their let names)."""
    result = rs.xslt(tree, **{k: _strparam(v) for k, v in params.items()})
    return _findings_of(result, rs.compiled.assertions, {rs.name: (rs.source, rs.advisory)}, strict, rejects)


def _program_findings(
    prog: Program, tree: etree._ElementTree, stype: str, provider: str | None,
    strict: bool = False, rejects: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Run every rule set of ``prog`` in one transform."""
    values = {"type": stype, "provider": (provider or "").lower()}
    params = {}
    for name in prog.compiled.params:
        rs_name, let = name.split("-", 1)
        spec = scenarios()["rulesets"][rs_name]
        params[name] = _strparam(stype if let == spec.get("param") else values.get(let, ""))
    result = prog.xslt(tree, **params)
    return _findings_of(result, prog.compiled.assertions, prog.meta, strict, rejects)


def _text(root: etree._Element, tag: str | None) -> str | None:
    if not tag:
        return None
    el = next(root.iterchildren(tag), None)  # (findtext goes through ElementPath: ~5x slower)
    if el is None:
        return None
    # no children (nor comments, which len() counts): .text is the whole string value
    v = el.text if not len(el) else "".join(el.itertext())
    return v.strip() if v else None


def run(
    source: Source,
    *,
    schematron_type: str | None = None,
    provider: str | None = None,
    name: str | None = None,
    layers: Iterable[str] = ("xsd", "gib", "ubltr"),
    strict: bool = False,
) -> Report:
    """Validate one document; see :func:`ubltr.validation.validate`."""
    wanted = set(layers)
    tree, display, findings = load(source)
    display = name or display
    judged_by = official.rules_summary()
    if tree is None:
        return Report(name=display, findings=sort_findings(findings), readable=False, layers=("xml",), rules=judged_by)
    root = tree.getroot()
    doc = _documents().get(root.tag)
    if doc is None:
        known = ", ".join(
            d["name"] if d["root"].endswith("}" + d["name"]) else f"{d['name']} ({d['root'].rsplit('}', 1)[1]})"
            for d in scenarios()["documents"])
        return Report(name=display, readable=True, layers=("xml",), rules=judged_by, findings=(_xml_finding(
            "root", f"the root element is {etree.QName(root).localname} in namespace "
                    f"'{etree.QName(root).namespace or ''}'; expected one of: {known} (each in its own namespace)",
            line=root.sourceline,
            fix="check the root element's name and its xmlns (UBL 2.1, GİB envelope or HR-XML namespace)"),))
    profile = _text(root, doc.get("profile"))
    type_code = _text(root, doc.get("type_code"))
    mapping = doc.get("schematron_type", {})
    stype = schematron_type or mapping.get(profile or "", mapping.get("*", "efatura"))
    run_layers = ["xml"]
    if "xsd" in wanted:
        findings += _xsd_findings(tree, doc["xsd"])
        run_layers.append("xsd")
    rules = tuple(r for r in doc["rulesets"] if r in wanted or scenarios()["rulesets"][r]["source"] in wanted)
    if rules:
        findings += _program_findings(program(rules), tree, stype, provider, strict, provider_rejects(provider))
        run_layers += [scenarios()["rulesets"][r]["source"] for r in rules]
    if provider and "ubltr" in wanted and doc["name"] == "Invoice":
        findings += _provider_preflight(tree, provider.lower())
    return Report(
        name=display, findings=sort_findings(findings) if findings else (), document=doc["name"],
        profile=profile, type_code=type_code, schematron_type=stype, readable=True, layers=tuple(run_layers),
        rules=judged_by,
    )


def _provider_preflight(tree: etree._ElementTree, provider: str) -> list[Finding]:
    """What ``provider`` documents beyond GİB (ubltr/data/provider_mappings.json, through
    :func:`ubltr.transport.mapping.preflight`): fields it cannot carry, lengths, required
    fields, enumerations, numbering.  Rule ids are stable ``UBLTR-<PROVIDER>-...``; the
    provider's own code, where its documents give one, is in ``provider_codes``."""
    from ..transport import mapping

    if provider not in mapping.providers():
        return []
    from ..parsing import ParseError, parse

    try:
        inv = parse(tree.getroot())
    except (ParseError, ValueError, ArithmeticError) as exc:
        return [Finding(rule=f"UBLTR-{provider.upper()}-UNREADABLE", severity="error", source="ubltr",
                        message=f"{provider}: the invoice cannot be read for the provider's checks ({exc})")]
    out = []
    for p in mapping.preflight(provider, inv):
        own = not p.code.startswith("UBLTR-")
        rule = f"UBLTR-{provider.upper()}-{p.code}" if own else p.code
        rule = re.sub(r"[^A-Za-z0-9_.-]+", "-", rule)
        out.append(Finding(rule=rule, severity="error", source="ubltr",
                           message=f"{provider}: {p}", fix=f"see {p.source}", location=p.path or None,
                           provider_codes=((provider, p.code),) if own else ()))
    return out


def explain(rule: str) -> dict[str, Any] | None:
    """Everything known about ``rule``: where it applies, its test, GİB's message,
    the English text, the fix and each provider's code; None if unknown."""
    contexts: list[str] = []
    tests: list[str] = []
    gib_message = None
    source = None
    for name in scenarios()["rulesets"]:
        rs = ruleset(name)
        for a in rs.compiled.assertions:
            if a.id == rule:
                source = rs.source
                contexts.append(a.context)
                if a.test not in tests:
                    tests.append(a.test)
                gib_message = gib_message or a.message
    text = rule_texts().get(rule, {})
    if source is None:
        if rule.startswith(("xml:", "xsd:")):
            source = rule.split(":", 1)[0]
        elif not text:
            return None
        elif rule.startswith("UBLTR-"):  # a ubltr rule checked in Python (UBLTR-SEAL-VKN)
            source = "ubltr"
    return {
        "rule": rule, "source": source, "contexts": contexts, "tests": tests,
        "gib_message": gib_message if source == "gib" else None,
        "en": text.get("en") or (gib_message if source == "ubltr" else None),
        "fix": text.get("fix"), "provider_codes": provider_codes(rule, source or ""),
    }
