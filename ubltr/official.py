"""GİB's official artefacts, shipped inside ubltr as pinned package data.

The files are GİB's own, byte for byte, taken from GİB's releases:

* ``xsd/common``, ``xsd/maindoc``: the UBL-TR 1.2.1 XSDs (``UBLTR_1.2.1_Paketi/xsdrt``);
* ``xsd/zarf``, ``xsd/HRXML``: the envelope and user-account XSDs of the e-Fatura package;
* ``schematron/gib``: the UBL-TR schematron (Main, Common, Codelist, History) of
  release 20260701, current edition (21.08.2026).

``xsd/lock.json`` records for every file its source, release, edition and sha256;
:func:`path` refuses a file whose bytes differ from the lock, so a changed file can
never change a verdict silently.  The code lists (:func:`code_lists`) are read from the
same schematron the validator runs.

GİB's Main schematron includes Codelist and Common (``sch:include``) and builds its
rules from abstract ones (``sch:extends``); :func:`flatten` resolves both into one
schema whose assertion ids are ``<abstract rule id>-<n>`` (``InvoiceIDCheck-1``), and
guards ``xs:date(.)`` tests so that a malformed date is a finding (``TarihBicimi-1``),
not a runtime error.  That is the same flattening efatura-kontrol ships
(``efatura.sch``); the oracle tests compare the two byte for byte.

Rules installed from a newer GİB zip (``ubltr rules install``) live in the user's rule
store (:mod:`ubltr.rulestore`); :func:`active_rules` says which release is in use.

Maintenance: ``python -m ubltr.official --relock`` rewrites the lock from the packaged
files (review its diff); ``python -m ubltr.official`` checks every file.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

SCH_NS = "http://purl.oclc.org/dsdl/schematron"
_S = "{" + SCH_NS + "}"
_XS = "{http://www.w3.org/2001/XMLSchema}"
_XS_NS = "http://www.w3.org/2001/XMLSchema"

#: the three schematron files GİB publishes in ``e-FaturaPaketi.zip``/schematron
MAIN = "UBL-TR_Main_Schematron.xml"
COMMON = "UBL-TR_Common_Schematron.xml"
CODELIST = "UBL-TR_Codelist.xml"
HISTORY = "History.txt"
RULE_FILES = (MAIN, COMMON, CODELIST)

#: version of :func:`flatten`'s output format (part of every compiled-rules cache key)
FLATTEN_VERSION = "1"


class OfficialArtifactError(RuntimeError):
    """An official artefact is missing or does not match its lock."""


class RulesVersionError(OfficialArtifactError):
    """Data of another version than this ubltr expects (a compiled rule set, a rule
    store entry, the lock): the CLI reports it on one line and exits 2."""


# ----------------------------------------------------------------- the lock

def _lock_path() -> Path:
    from .resources import folder

    return folder("xsd") / "lock.json"


@cache
def lock() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_lock_path().read_text(encoding="utf-8"))
    if data.get("format") != 2:
        raise RulesVersionError(
            f"{_lock_path()}: lock format {data.get('format')!r}, this ubltr reads format 2 (reinstall ubltr)")
    return data


def _root(name: str) -> Path:
    """Folder that holds the packaged file ``name`` (``xsd/...`` or ``schematron/...``)."""
    from .resources import folder

    top, _, rest = name.partition("/")
    if top not in ("xsd", "schematron") or not rest:
        raise OfficialArtifactError(f"{name}: not an official artefact name (xsd/... or schematron/...)")
    return folder(top)


def _file(name: str) -> Path:
    return _root(name) / name.partition("/")[2]


def sha256_file(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@cache
def path(name: str) -> Path:
    """Absolute path of the packaged official artefact ``name`` (``xsd/maindoc/...``,
    ``schematron/gib/...``), after checking its sha256 against the lock."""
    entry = lock()["files"].get(name)
    if entry is None:
        raise OfficialArtifactError(f"{name} is not listed in xsd/lock.json")
    p = _file(name)
    if not p.is_file():
        raise OfficialArtifactError(f"{name} is missing from ubltr's package data ({p})")
    got = sha256_file(p)
    if got != entry["sha256"]:
        raise OfficialArtifactError(f"{name}: sha256 {got} does not match the lock ({entry['sha256']})")
    return p


def _target(cur: str, location: str) -> str:
    """Official name of ``location`` as referenced from official file ``cur``: the
    relative path, or its redirect (GİB's Package_1_2.xsd expects the UBL maindocs
    beside it; they are read from ``xsd/maindoc`` instead of being copied)."""
    parts: list[str] = cur.split("/")[:-1]
    for seg in location.replace("\\", "/").split("/"):
        if seg == "..":
            if len(parts) <= 1:
                raise OfficialArtifactError(f"{cur} loads {location}, outside the packaged XSDs")
            parts.pop()
        elif seg and seg != ".":
            parts.append(seg)
    name = "/".join(parts)
    return lock().get("redirects", {}).get(name, name)


@cache
def schema_path(name: str) -> Path:
    """:func:`path` for an XSD, checking also every file it includes or imports
    (recursively, by ``schemaLocation``) against the lock: libxml2 reads those from
    disk by itself, so checking only the entry file would leave them unchecked."""
    from lxml import etree

    from . import xmlsafe

    seen: set[str] = set()
    todo = [name]
    while todo:
        cur = todo.pop()
        if cur in seen:
            continue
        seen.add(cur)
        p = path(cur)  # checks the sha256 (and that the file is locked at all)
        doc = etree.parse(str(p), xmlsafe.parser())
        for el in doc.getroot():
            loc = el.get("schemaLocation")
            if el.tag in (_XS + "include", _XS + "import", _XS + "redefine") and loc:
                todo.append(_target(cur, loc))
    return path(name)


def _resolver() -> Any:
    from lxml import etree

    class _Redirects(etree.Resolver):
        """Serves the lock's redirects (and nothing from the network)."""

        def resolve(self, url: str, pubid: str | None, context: Any) -> Any:
            for name, target in lock().get("redirects", {}).items():
                if url and Path(url) == _file(name):
                    return self.resolve_filename(str(path(target)), context)
            return None

    return _Redirects()


def xml_schema(name: str) -> Any:
    """The compiled ``lxml.etree.XMLSchema`` of official XSD ``name`` (every file it
    loads checked against the lock)."""
    from lxml import etree

    p = schema_path(name)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    parser.resolvers.add(_resolver())
    return etree.XMLSchema(etree.parse(str(p), parser))


def verify_all() -> list[str]:
    """Check every locked file; returns the list of names checked."""
    return [str(path(n)) and n for n in lock()["files"]]


# ----------------------------------------------------------------- GİB's rules

@dataclass(frozen=True)
class GibRules:
    """One release of GİB's schematron, as ubltr loads it."""

    release: str  # History.txt's last entry, e.g. "20260701"
    edition: str  # GİB's date of these files, e.g. "21.08.2026" ("" when unknown)
    origin: str  # "packaged", or the rule store folder it was installed into
    folder: Path
    files: dict[str, str] = field(default_factory=dict)  # file name -> sha256
    source: str = ""  # what it was taken from (GİB's release folder / zip and its sha256)

    @property
    def label(self) -> str:
        ed = f", edition {self.edition}" if self.edition else ""
        where = "packaged" if self.origin == "packaged" else "installed"
        return f"GİB schematron {self.release}{ed} ({where})"

    @property
    def digest(self) -> str:
        """sha256 over the rule files' own sha256s (the identity of the rule set)."""
        h = hashlib.sha256()
        for name in RULE_FILES:
            h.update(f"{name}:{self.files[name]}\n".encode())
        return h.hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return {"release": self.release, "edition": self.edition, "origin": self.origin,
                "source": self.source, "sha256": self.digest, "files": dict(self.files)}


def release_of_history(text: str) -> str:
    """The last release named in GİB's History.txt (lines of eight digits)."""
    found = re.findall(r"^\s*(\d{8})\s*$", text, re.M)
    if not found:
        raise OfficialArtifactError("History.txt names no release (no line of eight digits)")
    return max(found)


def read_history(p: Path) -> str:
    """GİB writes History.txt in Windows-1254 (Turkish); ours reads it as such."""
    return p.read_bytes().decode("cp1254", errors="replace")


@cache
def packaged_rules() -> GibRules:
    info = lock()["schematron"]
    files = {n: lock()["files"][f"schematron/gib/{n}"]["sha256"] for n in (*RULE_FILES, HISTORY)}
    folder = path(f"schematron/gib/{MAIN}").parent
    for n in files:
        path(f"schematron/gib/{n}")
    release = release_of_history(read_history(folder / HISTORY))
    if release != info["release"]:
        raise OfficialArtifactError(f"packaged History.txt says {release}, the lock says {info['release']}")
    return GibRules(release, info["edition"], "packaged", folder, files, info["source"])


def active_rules() -> GibRules:
    """The GİB rules in use: the user's choice in the rule store, else the packaged ones."""
    from . import rulestore

    return rulestore.active() or packaged_rules()


def flatten(main: Path) -> bytes:
    """GİB's Main schematron with its includes and abstract rules resolved (see the
    module's doc).  ``main``'s includes are read from its folder."""
    from lxml import etree

    from . import xmlsafe

    tree = etree.parse(str(main), xmlsafe.parser())
    root = tree.getroot()
    if root.tag != _S + "schema":
        raise OfficialArtifactError(f"{main.name}: the root is not a schematron <schema>")
    # includes: <sch:include href="file#id"/> is replaced by the element with that id
    for inc in root.findall(_S + "include"):
        href = inc.get("href") or ""
        fname, _, frag = href.partition("#")
        src = main.parent / fname
        if "/" in fname or "\\" in fname or not src.is_file():
            raise OfficialArtifactError(f"{main.name} includes {href!r}, which is not beside it")
        sub = etree.parse(str(src), xmlsafe.parser())
        target = sub.getroot() if not frag else next(iter(sub.xpath("//*[@id=$i]", i=frag)), None)
        if target is None:
            raise OfficialArtifactError(f"{main.name} includes {href!r}: no element with id {frag!r}")
        parent = inc.getparent()
        assert parent is not None
        parent.replace(inc, target)
    # rules outside any pattern go into one pattern, "genel"
    loose = root.findall(_S + "rule")
    if loose:
        pattern = etree.Element(_S + "pattern", id="genel")
        root.insert(list(root).index(loose[0]), pattern)
        for r in loose:
            root.remove(r)
            pattern.append(r)
    # abstract rules are taken out; a pattern left without rules gives its lets to the schema
    abstracts: dict[str, Any] = {}
    for pattern in list(root.findall(_S + "pattern")):
        for r in pattern.findall(_S + "rule"):
            if r.get("abstract") == "true":
                abstracts[r.get("id")] = r
                pattern.remove(r)
        if pattern.findall(_S + "rule"):
            continue
        at = list(root).index(pattern)
        for let in pattern.findall(_S + "let"):
            pattern.remove(let)
            root.insert(at, let)
            at += 1
        root.remove(pattern)
    # ids: <abstract>-<n> for the abstract rules' assertions, <pattern>-<rule>-<n> otherwise
    for name, r in abstracts.items():
        for i, a in enumerate(r.findall(_S + "assert") + r.findall(_S + "report"), 1):
            a.set("id", f"{name}-{i}")
    for pattern in root.findall(_S + "pattern"):
        for ri, r in enumerate(pattern.findall(_S + "rule"), 1):
            for i, a in enumerate(r.findall(_S + "assert") + r.findall(_S + "report"), 1):
                if a.get("id") is None:
                    a.set("id", f"{pattern.get('id')}-{ri}-{i}")
    for r in root.iter(_S + "rule"):
        while r.findall(_S + "extends"):
            for ext in r.findall(_S + "extends"):
                base = abstracts.get(ext.get("rule"))
                if base is None:
                    raise OfficialArtifactError(f"a rule extends {ext.get('rule')!r}, which no abstract rule defines")
                at = list(r).index(ext)
                r.remove(ext)
                for child in base:
                    r.insert(at, copy.deepcopy(child))
                    at += 1
    # xs:date(.) on a malformed date: a finding (TarihBicimi-1), not a dynamic error
    for r in root.iter(_S + "rule"):
        dated = [a for a in r.findall(_S + "assert") if "xs:date(.)" in (a.get("test") or "")]
        if not dated:
            continue
        for a in dated:
            a.set("test", "not(. castable as xs:date) or (" + a.get("test") + ")")
        guard = etree.SubElement(r, _S + "assert", test=". castable as xs:date", id="TarihBicimi-1")
        guard.text = "Geçersiz tarih değeri : '"
        etree.SubElement(guard, _S + "value-of", select=".").tail = \
            "'. Tarih YYYY-AA-GG biçiminde geçerli bir gün olmalıdır."
        r.insert(0, guard)
    if not any(n.get("prefix") == "xs" for n in root.findall(_S + "ns")):
        first = root.find(_S + "ns")
        root.insert(list(root).index(first) if first is not None else 0,
                    etree.Element(_S + "ns", prefix="xs", uri=_XS_NS))
    root.set("queryBinding", "xslt2")
    return bytes(etree.tostring(tree, xml_declaration=True, encoding="UTF-8"))


@cache
def _flattened(folder: Path, digest: str) -> bytes:
    return flatten(folder / MAIN)


def gib_schematron(rules: GibRules | None = None) -> bytes:
    """The flattened schematron of ``rules`` (default: :func:`active_rules`)."""
    rules = rules or active_rules()
    return _flattened(rules.folder, rules.digest)


_LIST = re.compile(r"^\s*',(.*),'\s*$", re.S)


def code_lists(sch: bytes) -> dict[str, list[str]]:
    """GİB's code lists: every top-level ``let`` of a flattened schematron whose value
    is a literal list ``',A,B,'``."""
    from lxml import etree

    from . import xmlsafe

    root = etree.fromstring(sch, xmlsafe.parser())
    out: dict[str, list[str]] = {}
    for let in root.findall(_S + "let"):
        m = _LIST.match(let.get("value") or "")
        if m:
            out[let.get("name")] = [p.strip() for p in m.group(1).split(",") if p.strip()]
    return out


def xsd_package() -> str:
    """The XSD package's name, e.g. ``UBL-TR 1.2.1``."""
    return str(lock()["xsd"]["release"])


def describe() -> dict[str, Any]:
    """What ubltr validates with: GİB's rules, the XSDs and ubltr's own rule set."""
    from .resources import folder

    ubltr_sch = folder("schematron") / "ubltr.sch"
    return {
        "gib": active_rules().to_dict(),
        "xsd": {"release": xsd_package(), "source": lock()["xsd"]["source"],
                "files": sum(1 for n in lock()["files"] if n.startswith("xsd/"))},
        "ubltr": {"release": _ubltr_version(), "file": "ubltr.sch", "sha256": sha256_file(ubltr_sch)},
    }


def _ubltr_version() -> str:
    from . import __version__

    return __version__


@cache
def rules_summary() -> tuple[tuple[str, str], ...]:
    """((layer, name), ...) for reports: which rules judged a document."""
    d = describe()
    g = d["gib"]
    gib = f"{g['release']}" + (f" edition {g['edition']}" if g["edition"] else "") + \
        ("" if g["origin"] == "packaged" else " (installed)")
    return (("gib", gib), ("xsd", d["xsd"]["release"]),
            ("ubltr", f"ubltr {d['ubltr']['release']} ubltr.sch sha256:{d['ubltr']['sha256'][:12]}"))


# ----------------------------------------------------------------- maintenance

def _relock(shared: Path) -> None:  # pragma: no cover - maintenance entry point
    """Rewrite xsd/lock.json from the packaged files, naming each one's origin in GİB's
    releases under ``shared`` (../shared/gib); refuses a file that differs there."""
    from .resources import folder

    old = json.loads(_lock_path().read_text(encoding="utf-8"))
    sources = old["sources"]
    files: dict[str, Any] = {}
    for top in ("xsd", "schematron"):
        base = folder(top)
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(base).as_posix()
            if not p.is_file() or (top == "xsd" and rel == "lock.json") or (top == "schematron" and not rel.startswith("gib/")):
                continue
            name = f"{top}/{rel}"
            for key, src in sources.items():
                for prefix, origin in src["layout"].items():
                    if name.startswith(prefix):
                        orig = shared / src["folder"] / origin / name[len(prefix):]
                        if orig.is_file():
                            if sha256_file(orig) != sha256_file(p):
                                raise SystemExit(f"{name} differs from {orig}")
                            files[name] = {"source": f"{src['folder']}/{origin}{name[len(prefix):]}",
                                           "release": src["release"], "edition": src.get("edition", ""),
                                           "sha256": sha256_file(p)}
            if name not in files:
                raise SystemExit(f"{name}: found in none of the sources")
    old["files"] = files
    _lock_path().write_text(json.dumps(old, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {_lock_path()} ({len(files)} files)")


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    if sys.argv[1:2] == ["--relock"]:
        _relock(Path(sys.argv[2] if len(sys.argv) > 2 else "../shared/gib"))
    else:
        print("\n".join(verify_all()))
