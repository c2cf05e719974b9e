"""The user's rule store: GİB rule releases installed from GİB's own zip.

GİB publishes new schematron releases several times a year, as ``e-FaturaPaketi.zip``.
``ubltr rules install e-FaturaPaketi.zip`` checks the zip (a zip, within size limits,
GİB's three schematron files and History.txt exactly once, each a schematron that
flattens and compiles), copies the rule files into the store and makes that release the
one in use; reports then name it.  ``ubltr rules use packaged`` goes back to the rules
shipped with ubltr.  Nothing is half-installed: a release is written into a temporary
folder and renamed into place only when every check passed.

The store is ``$UBLTR_RULES_DIR``, else ``$XDG_DATA_HOME/ubltr/rules``, else
``~/.local/share/ubltr/rules``::

    <store>/active.json              {"format": 1, "use": "20261001-1a2b3c4d5e6f"}
    <store>/20261001-1a2b3c4d5e6f/   UBL-TR_Main_Schematron.xml, ..., History.txt,
                                     installed.json (release, edition, sha256 per file)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from . import official
from .official import HISTORY, RULE_FILES, GibRules, OfficialArtifactError, RulesVersionError

STORE_FORMAT = 1
#: GİB's e-FaturaPaketi.zip is ~3 MB; anything near these limits is not GİB's package
MAX_ZIP_BYTES = 64 * 1024 * 1024
MAX_ENTRIES = 5000
MAX_RULE_FILE_BYTES = 8 * 1024 * 1024
PACKAGED = "packaged"


class RuleInstallError(ValueError):
    """The zip is not a GİB schematron release ubltr can use (nothing was installed)."""


def store_dir() -> Path:
    env = os.environ.get("UBLTR_RULES_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base) if base else Path.home() / ".local" / "share") / "ubltr" / "rules"


def _read_json(p: Path) -> dict[str, Any]:
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OfficialArtifactError(f"{p}: unreadable ({exc}); run `ubltr rules use packaged`") from None
    if not isinstance(data, dict) or data.get("format") != STORE_FORMAT:
        raise RulesVersionError(
            f"{p}: rule store format {data.get('format') if isinstance(data, dict) else None!r}, "
            f"this ubltr reads format {STORE_FORMAT}; run `ubltr rules use packaged` or reinstall the rules")
    return data


def _load(folder: Path) -> GibRules:
    meta = _read_json(folder / "installed.json")
    files: dict[str, str] = meta["files"]
    for name, want in files.items():
        p = folder / name
        got = official.sha256_file(p) if p.is_file() else "missing"
        if got != want:
            raise OfficialArtifactError(
                f"{p}: sha256 {got} does not match its installation record; reinstall the release or "
                "run `ubltr rules use packaged`")
    return GibRules(meta["release"], meta.get("edition", ""), str(folder), folder, files, meta.get("source", ""))


def installed() -> list[GibRules]:
    root = store_dir()
    if not root.is_dir():
        return []
    out = []
    for d in sorted(root.iterdir()):
        if d.is_dir() and (d / "installed.json").is_file() and not d.name.startswith("."):
            out.append(_load(d))
    return out


@cache
def _active(marker: str) -> GibRules | None:
    if not marker:
        return None
    p = Path(marker)
    data = _read_json(p)
    folder = p.parent / str(data.get("use", ""))
    if not (folder / "installed.json").is_file():
        raise OfficialArtifactError(f"{p} names {data.get('use')!r}, which is not installed; "
                                    "run `ubltr rules use packaged`")
    return _load(folder)


def active() -> GibRules | None:
    """The installed release in use, or None for the packaged rules."""
    p = store_dir() / "active.json"
    return _active(str(p) if p.is_file() else "")


def _clear() -> None:
    _active.cache_clear()
    official.rules_summary.cache_clear()


def _pick(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise RuleInstallError(f"the zip has {len(infos)} entries; GİB's package has a few dozen")
    wanted = {*RULE_FILES, HISTORY}
    found: dict[str, list[zipfile.ZipInfo]] = {n: [] for n in wanted}
    for info in infos:
        pp = PurePosixPath(info.filename.replace("\\", "/"))
        if info.is_dir() or pp.name not in wanted:
            continue
        if pp.is_absolute() or ".." in pp.parts:
            raise RuleInstallError(f"the zip entry {info.filename!r} has an unsafe path")
        found[pp.name].append(info)
    missing = sorted(n for n, v in found.items() if not v)
    if missing:
        raise RuleInstallError(
            "not GİB's e-FaturaPaketi.zip: it has no " + ", ".join(missing)
            + " (expected in its schematron/ folder)")
    double = sorted(n for n, v in found.items() if len(v) > 1)
    if double:
        raise RuleInstallError(f"the zip holds {double[0]} more than once; ubltr cannot tell which is the release")
    folders = {str(PurePosixPath(v[0].filename.replace('\\', '/')).parent) for v in found.values()}
    if len(folders) != 1:
        raise RuleInstallError("the schematron files are in different folders of the zip (GİB ships them together)")
    out = {n: v[0] for n, v in found.items()}
    for n, info in out.items():
        if info.file_size > MAX_RULE_FILE_BYTES:
            raise RuleInstallError(f"{n} is {info.file_size} bytes in the zip; GİB's is well under 1 MB")
    return out


def install(zip_path: str | os.PathLike[str], *, use: bool = True) -> GibRules:
    """Check GİB's ``e-FaturaPaketi.zip`` at ``zip_path``, install its schematron into
    the store and (``use``) make it the release in use.  Raises
    :class:`RuleInstallError` naming the problem; nothing is left behind then."""
    from .validation import compiler

    zp = Path(zip_path)
    try:
        size = zp.stat().st_size
    except OSError as exc:
        raise RuleInstallError(f"{zp}: {exc.strerror or exc}") from None
    if size > MAX_ZIP_BYTES:
        raise RuleInstallError(f"{zp}: {size} bytes; GİB's e-FaturaPaketi.zip is a few MB")
    zip_sha = hashlib.sha256(zp.read_bytes()).hexdigest()
    root = store_dir()
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".install-", dir=root))
    except OSError as exc:
        raise RuleInstallError(f"cannot write the rule store {root}: {exc.strerror or exc}") from None
    try:
        try:
            with zipfile.ZipFile(zp) as zf:
                picked = _pick(zf)
                for name, info in picked.items():
                    data = zf.read(info)
                    if len(data) != info.file_size:
                        raise RuleInstallError(f"{name}: the zip entry is damaged")
                    (tmp / name).write_bytes(data)
                dates = [picked[n].date_time for n in RULE_FILES]
        except zipfile.BadZipFile as exc:
            raise RuleInstallError(f"{zp}: not a readable zip file ({exc})") from None
        except (zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError) as exc:
            raise RuleInstallError(f"{zp}: cannot read this zip ({exc})") from None
        try:
            release = official.release_of_history(official.read_history(tmp / HISTORY))
        except OfficialArtifactError as exc:
            raise RuleInstallError(str(exc)) from None
        try:
            sch = official.flatten(tmp / official.MAIN)
            lists = official.code_lists(sch)
            compiled = compiler.compile_schematron(sch, label="gib", params=("type",))
        except Exception as exc:  # any failure here means: not a schematron ubltr can run
            raise RuleInstallError(f"the zip's schematron cannot be used: {type(exc).__name__}: {exc}") from None
        if "InvoiceTypeCodeList" not in lists or not compiled.assertions:
            raise RuleInstallError("the zip's schematron has no invoice rules (InvoiceTypeCodeList): not GİB's UBL-TR rules")
        y, m, d = max(dates)[:3]
        files = {n: official.sha256_file(tmp / n) for n in (*RULE_FILES, HISTORY)}
        probe = GibRules(release, f"{d:02}.{m:02}.{y}", "", tmp, files)
        name = f"{release}-{probe.digest[:12]}"
        meta = {"format": STORE_FORMAT, "release": release, "edition": probe.edition,
                "edition_from": "the newest date of the three rule files inside the zip",
                "source": f"{zp.name} (sha256 {zip_sha})", "assertions": len(compiled.assertions),
                "files": files}
        (tmp / "installed.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        final = root / name
        if final.exists():
            shutil.rmtree(tmp)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    rules = _load(final)
    if use:
        use_release(name)
    return rules


def use_release(name: str) -> GibRules | None:
    """Make ``name`` (an installed folder name or release, or ``packaged``) the rules in use."""
    root = store_dir()
    marker = root / "active.json"
    if name == PACKAGED:
        marker.unlink(missing_ok=True)
        _clear()
        return None
    matches = [r for r in installed() if Path(r.origin).name == name or r.release == name]
    if not matches:
        have = ", ".join(Path(r.origin).name for r in installed()) or "none"
        raise RuleInstallError(f"no installed release {name!r} (installed: {have}; or 'packaged')")
    chosen = matches[-1]
    fd, tmp = tempfile.mkstemp(dir=root, suffix=".part")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"format": STORE_FORMAT, "use": Path(chosen.origin).name}, fh)
    os.replace(tmp, marker)
    _clear()
    return chosen
