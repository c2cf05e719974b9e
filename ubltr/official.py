"""GİB's official artifacts, loaded from the pinned ``efatura-kontrol`` package.

Nothing official is copied into this repository.  ``xsd/lock.json`` records the
package version and the sha256 of every file we load; :func:`path` refuses a file
whose bytes differ from the lock, so a silently changed upstream artifact can never
change our verdicts.  Updating GİB's rules is: bump the pin, run
``python -m ubltr.official --relock``, review the diff of ``xsd/lock.json``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

PACKAGE = "efatura-kontrol"


class OfficialArtifactError(RuntimeError):
    """An official artifact is missing or does not match ``xsd/lock.json``."""


def _lock_path() -> Path:
    from .resources import folder

    return folder("xsd") / "lock.json"


@cache
def lock() -> dict:
    return json.loads(_lock_path().read_text(encoding="utf-8"))


@cache
def _root() -> Path:
    import efatura_kontrol

    return Path(efatura_kontrol.__file__).resolve().parent / "ekler"


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@cache
def path(name: str) -> Path:
    """Absolute path of official artifact ``name`` (relative to the package's
    ``ekler/`` folder), after checking its sha256 against the lock."""
    entry = lock()
    installed = metadata.version(PACKAGE)
    if installed != entry["version"]:
        raise OfficialArtifactError(
            f"{PACKAGE} {installed} is installed but xsd/lock.json pins {entry['version']}"
        )
    want = entry["files"].get(name)
    if want is None:
        raise OfficialArtifactError(f"{name} is not listed in xsd/lock.json")
    p = _root() / name
    if not p.is_file():
        raise OfficialArtifactError(f"{name} is missing from {PACKAGE} {installed}")
    got = _sha256(p)
    if got != want:
        raise OfficialArtifactError(f"{name}: sha256 {got} does not match the lock ({want})")
    return p


_XS = "{http://www.w3.org/2001/XMLSchema}"


@cache
def schema_path(name: str) -> Path:
    """:func:`path` for an XSD, checking also every file it includes or imports
    (recursively, by ``schemaLocation``) against the lock: libxml2 reads those from
    disk by itself, so checking only the entry file would leave them unchecked."""
    from lxml import etree

    from . import xmlsafe

    root = _root()
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
            if el.tag in (_XS + "include", _XS + "import", _XS + "redefine") and el.get("schemaLocation"):
                target = (p.parent / el.get("schemaLocation")).resolve()
                try:
                    rel = target.relative_to(root.resolve())
                except ValueError:
                    raise OfficialArtifactError(f"{cur} loads {el.get('schemaLocation')}, outside {PACKAGE}") from None
                todo.append(rel.as_posix())
    return path(name)


def verify_all() -> list[str]:
    """Check every locked file; returns the list of names checked."""
    return [str(path(n)) and n for n in lock()["files"]]


def _relock() -> None:
    root = _root()
    files = {
        str(p.relative_to(root)): _sha256(p)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in {".xsd", ".sch", ".xsl", ".json"}
    }
    data = {"package": PACKAGE, "version": metadata.version(PACKAGE), "files": files}
    out = Path(__file__).resolve().parent.parent / "xsd" / "lock.json"
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(files)} files)")


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    if sys.argv[1:] == ["--relock"]:
        _relock()
    else:
        print("\n".join(verify_all()))
