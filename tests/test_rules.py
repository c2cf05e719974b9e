"""GİB's rules as ubltr ships them (ubltr/official.py, xsd/lock.json, schematron/gib/),
which release they are, how reports name them, and installing a GİB release
(ubltr/rulestore.py, `ubltr rules`).

Judged against what nobody here wrote: GİB's files in ../shared/gib (their sha256, the
20260701 README's list of changes) and efatura-kontrol's own flattened copy of the same
release (the oracle's files, a test dependency).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from lxml import etree

from conftest import ROOT, shared
from gib_oracle import kontrol_path
from ubltr import official, rulestore
from ubltr.cli import cli
from ubltr.validation import engine, validate

SCH = "{http://purl.oclc.org/dsdl/schematron}"
SAMPLE = ROOT / "fixtures" / "TEMELFATURA-SATIS.xml"


@pytest.fixture
def store(tmp_path, monkeypatch):
    """An empty rule store of its own (and a rule cache of its own)."""
    monkeypatch.setenv("UBLTR_RULES_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("UBLTR_CACHE_DIR", str(tmp_path / "cache"))
    rulestore._clear()
    _clear_engine()
    yield tmp_path / "store"
    rulestore._clear()
    _clear_engine()


def _clear_engine() -> None:
    engine.ruleset.cache_clear()
    engine.program.cache_clear()
    from ubltr import codes

    codes._official_lists.cache_clear()


# ----------------------------------------------------------------- the packaged files

def test_packaged_files_are_gibs_own_bytes():
    """Every locked file has the sha256 of the file it names in GİB's release."""
    gib = shared("gib")
    files = official.lock()["files"]
    assert len(files) == 37
    for name, entry in files.items():
        assert official.sha256_file(gib / entry["source"]) == entry["sha256"], name
        assert entry["release"] and "edition" in entry


def test_packaged_schematron_has_the_checksums_of_gibs_20260701_readme():
    readme = shared("gib", "e-FaturaPaketi-20260701", "schematron", "README.md").read_text(encoding="utf-8")
    published = dict((name.split(" ")[0], sha) for sha, _blob, name in re.findall(r"^([0-9a-f]{64})  ([0-9a-f]{40})  (.+)$", readme, re.M))
    rules = official.packaged_rules()
    for name in (*official.RULE_FILES, official.HISTORY):
        assert rules.files[name] == published[name], name


def test_flattened_rules_are_byte_identical_to_efatura_kontrols_copy():
    """efatura-kontrol flattened GİB's same release on its own; ubltr flattens the
    original files it ships.  The two must be the same bytes."""
    ours = official.gib_schematron(official.packaged_rules())
    assert ours == kontrol_path("sematron/efatura.sch").read_bytes()


def test_code_lists_are_efatura_kontrols():
    from ubltr import codes

    theirs = json.loads(kontrol_path("kodlar.json").read_text(encoding="utf-8"))["listeler"]
    assert official.code_lists(official.gib_schematron(official.packaged_rules())) == theirs
    assert codes.list_names() == sorted(theirs)


def test_packaged_xsds_are_efatura_kontrols_but_one_rewrite():
    """efatura-kontrol copied the same XSDs; its one edit is Package_1_2.xsd's paths to
    the maindocs, which ubltr serves through the lock's redirects instead."""
    for name in official.lock()["files"]:
        if not name.startswith("xsd/"):
            continue
        ours = official.path(name).read_bytes()
        theirs = kontrol_path(name).read_bytes()
        if name == "xsd/zarf/Package_1_2.xsd":
            for red in official.lock()["redirects"]:
                base = red.rsplit("/", 1)[1]
                ours = ours.replace(f'schemaLocation="{base}"'.encode(), f'schemaLocation="../maindoc/{base}"'.encode())
        assert ours == theirs, name


def test_envelope_schema_loads_the_maindocs_through_the_redirects():
    env = shared("gib", "e-FaturaPaketi", "xml", "1_TEMEL_FATURA_ZARF.xml")
    schema = official.xml_schema("xsd/zarf/PackageProxy_1_2.xsd")
    # the invoice inside the envelope is schema-checked (processContents=strict): break it
    tree = etree.parse(str(env))
    inv = tree.find(".//{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice")
    assert inv is not None
    ok = schema.validate(tree)
    etree.SubElement(inv, "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}NoSuchElement")
    assert not schema.validate(tree)
    assert any("NoSuchElement" in e.message for e in schema.error_log), (ok, schema.error_log)


# ----------------------------------------------------------------- which release (#17)

def test_release_is_derived_from_the_loaded_rules_and_has_the_20260701_changes():
    """Derived from the rules the engine runs (History.txt, the code lists and the
    compiled assertions), not from a constant: a changed dependency or file cannot
    silently change the release a report names."""
    rules = official.active_rules()
    history = official.read_history(rules.folder / official.HISTORY)
    assert official.release_of_history(history) == rules.release == "20260701"
    # History.txt's 20260701 entries, and the README's list of changes against 20260312
    listed = re.findall(r"^\d+\) (\w+) ", history.split("20260701", 1)[1], re.M)
    assert len(listed) == 17
    lists = official.code_lists(official.gib_schematron(rules))
    compiled = engine.ruleset("gib").compiled.assertions
    ids = {a.id.rsplit("-", 1)[0] for a in compiled}
    for name in listed:
        assert name in ids or name in lists, f"20260701 names {name}; the loaded rules have no such check or list"
    tests = {a.id: a.test for a in compiled}
    assert "233" in lists["TaxExemptionReasonCodeType"]                       # exemption code 233 added
    assert lists["YatirimTesvikTaxExemptionReasonCodeType"] == ["308", "339"]  # 308/339 only under YTB
    assert any("'KAMU'" in t and "'IADE'" in t for t in tests.values())        # IADE allowed under KAMU
    for check in ("EnerjiInvoicePeriodCheck", "EnerjiESURaporIDCheck", "EnerjiPartyIdentificationPlakaCheck",
                  "EnerjiItemInstanceSerialIDCheck"):
        assert check in ids
    assert "erreceipt" in lists["ReservedAliases"]
    assert any("'ES-'" in t and "'SE-'" in t for t in tests.values())          # SEVKIYATNO: SE- or ES-
    # current edition (21.08.2026), not the first one (27.07.2026)
    assert lists["LicensePlateIDSchemeIDType"] == ["PLAKA", "YABANCIPLAKA"]
    assert "TransportEquipmentIDSchemeIDType" in lists and "TransportEquipmentIDSchemeIDCheck" in ids
    first = shared("gib", "e-FaturaPaketi-20260701", "schematron-edition-A", "UBL-TR_Codelist.xml").read_text(encoding="utf-8")
    assert "TransportEquipmentIDSchemeIDType" not in first  # (so this check can tell the editions apart)
    assert rules.edition == "21.08.2026"


def test_every_report_names_the_rules():
    r = validate(SAMPLE.read_bytes())
    rules = dict(r.rules)
    assert rules["gib"] == "20260701 edition 21.08.2026" and rules["xsd"] == "UBL-TR 1.2.1"
    assert official.sha256_file(ROOT / "schematron" / "ubltr.sch")[:12] in rules["ubltr"]
    assert r.to_dict()["rules"] == rules
    assert "rules: GİB 20260701 edition 21.08.2026; XSD UBL-TR 1.2.1; ubltr " in r.to_text()
    unreadable = validate(b"<not-xml")
    assert dict(unreadable.rules) == rules  # even a report on unreadable input says what would have judged it
    run = CliRunner().invoke(cli, ["validate", str(SAMPLE)])
    assert "rules: GİB 20260701 edition 21.08.2026" in run.output
    junit = CliRunner().invoke(cli, ["validate", "--format", "junit", str(SAMPLE)])
    props = etree.fromstring(junit.output.encode()).find("properties")
    assert props is not None and {p.get("name"): p.get("value") for p in props} == {
        f"rules.{k}": v for k, v in rules.items()}
    js = json.loads(CliRunner().invoke(cli, ["validate", "--format", "json", str(SAMPLE)]).output)
    assert js["rules"] == rules


def test_version_and_rules_command_name_the_release():
    out = CliRunner().invoke(cli, ["--version"]).output
    assert "GİB schematron 20260701, edition 21.08.2026 (packaged)" in out and "XSD UBL-TR 1.2.1" in out
    d = json.loads(CliRunner().invoke(cli, ["rules", "--json"]).output)
    assert d["gib"]["release"] == "20260701" and set(d) >= {"gib", "xsd", "ubltr", "store"}
    assert d["gib"]["files"]["UBL-TR_Main_Schematron.xml"] == official.sha256_file(
        ROOT / "schematron" / "gib" / "UBL-TR_Main_Schematron.xml")
    text = CliRunner().invoke(cli, ["rules"]).output
    assert text.startswith("gib    GİB schematron release 20260701, edition 21.08.2026")


# ----------------------------------------------------------------- the rule store (#22)

def _gib_zip(tmp_path: Path, folder: Path, name: str = "e-FaturaPaketi.zip", **extra: bytes) -> Path:
    """A zip laid out as GİB's e-FaturaPaketi.zip, from one of GİB's releases."""
    z = tmp_path / name
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, "e-FaturaPaketi/" + p.relative_to(folder).as_posix())
        for arc, data in extra.items():
            zf.writestr(arc.replace("__", "/"), data)
    return z


def test_install_a_gib_release_then_go_back_to_packaged(store, tmp_path):
    older = shared("gib", "e-FaturaPaketi")  # GİB's release 20260312, as GİB published it
    z = _gib_zip(tmp_path, older)
    res = CliRunner().invoke(cli, ["rules", "install", str(z)])
    assert res.exit_code == 0, res.output
    assert "GİB schematron 20260312" in res.output
    (installed,) = rulestore.installed()
    assert installed.release == "20260312"
    assert installed.files["UBL-TR_Main_Schematron.xml"] == official.sha256_file(older / "schematron" / "UBL-TR_Main_Schematron.xml")
    assert list((installed.folder / "compiled").glob("gib+ubltr-*.json.gz"))  # compiled into the store
    _clear_engine()
    r = validate(SAMPLE.read_bytes())
    assert dict(r.rules)["gib"].startswith("20260312 ") and dict(r.rules)["gib"].endswith("(installed)")
    # the code lists follow the rules in use: 20260701 added exemption code 233 and the YTB list
    from ubltr import codes

    assert "YatirimTesvikTaxExemptionReasonCodeType" not in codes.list_names()
    assert "20260312" in CliRunner().invoke(cli, ["--version"]).output
    assert CliRunner().invoke(cli, ["rules", "use", "packaged"]).exit_code == 0
    _clear_engine()
    assert dict(validate(SAMPLE.read_bytes()).rules)["gib"] == "20260701 edition 21.08.2026"
    assert "YatirimTesvikTaxExemptionReasonCodeType" in codes.list_names()
    res = CliRunner().invoke(cli, ["rules", "use", "20260312"])
    assert res.exit_code == 0 and "20260312" in res.output
    rulestore.use_release("packaged")


@pytest.mark.parametrize("case", ["not-a-zip", "foreign", "twice", "broken-xml", "not-schematron", "unsafe-path",
                                  "no-history-release"])
def test_a_bad_zip_is_refused_and_nothing_is_installed(store, tmp_path, case):
    pkg = shared("gib", "e-FaturaPaketi-20260701", "schematron")
    src = tmp_path / "src"
    (src / "schematron").mkdir(parents=True)
    for f in pkg.iterdir():
        (src / "schematron" / f.name).write_bytes(f.read_bytes())
    extra: dict[str, bytes] = {}
    if case == "not-a-zip":
        z = tmp_path / "e-FaturaPaketi.zip"
        z.write_bytes(b"PK\x03\x04 this is not a zip")
    else:
        if case == "foreign":
            for f in (src / "schematron").iterdir():
                f.unlink()
            (src / "schematron" / "readme.txt").write_text("hello")
        elif case == "twice":
            extra["other__UBL-TR_Main_Schematron.xml"] = (pkg / "UBL-TR_Main_Schematron.xml").read_bytes()
        elif case == "broken-xml":
            (src / "schematron" / "UBL-TR_Common_Schematron.xml").write_text("<sch:schema")
        elif case == "not-schematron":
            (src / "schematron" / "UBL-TR_Main_Schematron.xml").write_text("<html><body>GİB</body></html>")
        elif case == "unsafe-path":
            extra["..__..__UBL-TR_Codelist.xml"] = b"<x/>"
        elif case == "no-history-release":
            (src / "schematron" / "History.txt").write_text("no release here")
        z = _gib_zip(tmp_path, src, **extra)
    res = CliRunner().invoke(cli, ["rules", "install", str(z)])
    assert res.exit_code == 2, res.output
    assert res.output.startswith("rules install: ") and len(res.output.strip().splitlines()) == 1, res.output
    assert "Traceback" not in res.output
    left = [p.name for p in store.iterdir()] if store.exists() else []
    assert left == [], left  # nothing half-installed, no active.json
    assert rulestore.active() is None


def test_using_a_release_that_is_not_installed_is_refused(store):
    res = CliRunner().invoke(cli, ["rules", "use", "20991231"])
    assert res.exit_code == 2 and res.output.startswith("rules use: no installed release '20991231'")
    assert rulestore.active() is None


def test_a_store_of_another_version_is_one_line_and_exit_2(store, tmp_path):
    store.mkdir(parents=True)
    (store / "active.json").write_text(json.dumps({"format": 99, "use": "x"}))
    rulestore._clear()
    res = CliRunner().invoke(cli, ["validate", str(SAMPLE)])
    assert res.exit_code == 2
    assert res.output.strip().count("\n") == 0 and "format 99" in res.output and "rules use packaged" in res.output


def _caches(codes):
    return [official.path, official.packaged_rules, official.rules_summary] + [
        f for f in vars(codes).values() if callable(getattr(f, "cache_clear", None))]


def test_a_packaged_file_that_differs_from_the_lock_is_one_line_and_exit_2(store, monkeypatch):
    """e.g. an installation whose data files were changed or mixed with another version's:
    ``ubltr build`` (which reads GİB's code lists) names the file, exit 2, no traceback."""
    from ubltr import codes

    lock = json.loads(json.dumps(official.lock()))
    lock["files"]["schematron/gib/UBL-TR_Codelist.xml"]["sha256"] = "0" * 64
    monkeypatch.setattr(official, "lock", lambda: lock)
    for f in _caches(codes):  # every derived code list too, whatever ran before in this process
        f.cache_clear()
    try:
        res = CliRunner().invoke(cli, ["build", str(ROOT / "fixtures" / "TEMELFATURA-SATIS.json")])
        assert res.exit_code == 2, res.output
        assert res.output.count("\n") == 1 and "UBL-TR_Codelist.xml" in res.output and "does not match" in res.output
        assert "Traceback" not in res.output
    finally:
        monkeypatch.undo()
        for f in _caches(codes):
            f.cache_clear()


def test_an_altered_installed_release_is_refused(store, tmp_path):
    rules = rulestore.install(_gib_zip(tmp_path, shared("gib", "e-FaturaPaketi")))
    p = rules.folder / "UBL-TR_Codelist.xml"
    p.write_bytes(p.read_bytes().replace(b"SATIS", b"SATIX", 1))
    rulestore._clear()
    res = CliRunner().invoke(cli, ["validate", str(SAMPLE)])
    assert res.exit_code == 2 and "does not match its installation record" in res.output


# ----------------------------------------------------------------- compiled ahead of time

def test_compiled_rules_shipped_with_the_package_are_used_without_compiling(tmp_path, monkeypatch):
    """What the wheel build does (setup.py: engine.compile_into), then a fresh process
    state with an empty user cache: nothing is compiled again."""
    from ubltr.validation import compiler

    monkeypatch.setenv("UBLTR_CACHE_DIR", str(tmp_path / "build-cache"))
    built = tmp_path / "compiled"
    names = engine.compile_into(built)
    assert any(n.startswith("gib+ubltr-") for n in names)
    monkeypatch.setenv("UBLTR_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(engine, "_packaged_compiled", lambda: built)

    def no(*a, **k):
        raise AssertionError("compiled again")

    monkeypatch.setattr(compiler, "compile_many", no)
    monkeypatch.setattr(compiler, "compile_schematron", no)
    engine.program.cache_clear()
    try:
        assert validate(SAMPLE.read_bytes()).valid
    finally:
        engine.program.cache_clear()
    assert not (tmp_path / "empty-cache").exists()


# ----------------------------------------------------------------- small and quick

def _fresh(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=env, cwd=ROOT).stdout


HEAVY = ("lxml", "jinja2", "cryptography", "httpx", "segno", "ubltr.calc", "ubltr.model", "ubltr.validation",
         "ubltr.official")


def test_import_ubltr_and_help_load_none_of_the_stages():
    loaded = _fresh("import sys, ubltr; print(' '.join(sys.modules))").split()
    assert not [m for m in HEAVY if m in loaded]
    loaded = _fresh("import sys\nfrom ubltr.cli import main\ntry:\n main(['--help'])\nexcept SystemExit:\n pass\n"
                    "print(' '.join(sys.modules), file=sys.stderr)".replace("file=sys.stderr", "file=sys.stdout"))
    assert not [m for m in HEAVY if m in loaded.split()]
    # and every public name still works
    assert _fresh("import ubltr; print(ubltr.validate(b'<x').valid, ubltr.Report.__name__, callable(ubltr.sign))").split() == [
        "False", "Report", "True"]


def test_help_reads_the_same_commands_the_modules_define():
    """``ubltr --help`` reads command names and help from the sources; importing every
    command module must give the same."""
    import importlib
    import pkgutil

    from ubltr import commands
    from ubltr._command_index import _declared

    for info in pkgutil.iter_modules(commands.__path__):
        if info.name.startswith("_"):
            continue
        declared = _declared(str(Path(commands.__path__[0]) / f"{info.name}.py"))
        real = importlib.import_module(f"ubltr.commands.{info.name}").COMMANDS
        if declared is None:
            continue
        assert [n for n, _ in declared] == [c.name for c in real], info.name
        for (name, help_), cmd in zip(declared, real):
            for limit in (45, 60, 120):
                assert click.Command(name, help=help_).get_short_help_str(limit) == cmd.get_short_help_str(limit)


def test_the_wheels_commands_index_is_used_only_for_unchanged_modules(tmp_path, monkeypatch):
    from ubltr import _command_index, cli as cli_module

    _command_index.build_index(tmp_path / "_index.json")
    index = json.loads((tmp_path / "_index.json").read_text(encoding="utf-8"))
    assert index["validate"]["commands"][0][0] == "validate" and "rules" in index
    index["validate"]["commands"] = [["validate", "STALE HELP"]]
    monkeypatch.setattr(cli_module, "_read_index", lambda folder: index)
    group = cli_module._LazyGroup(name="t")
    assert group._index()["validate"][1] == "STALE HELP"  # same sha256: the index is believed
    index["validate"]["sha256"] = "0" * 64
    group = cli_module._LazyGroup(name="t2")
    assert group._index()["validate"][1] != "STALE HELP"  # the module changed: read again


def test_testing_module_says_which_extra_it_needs():
    code = ("import sys; sys.modules['hypothesis'] = None\n"
            "try:\n import ubltr.testing\nexcept ImportError as e:\n print(e)")
    assert "pip install 'ubltr[testing]'" in _fresh(code)


def test_example_prints_every_fixture_scenario():
    names = CliRunner().invoke(cli, ["example", "--list"]).output.split()
    assert names == sorted(p.stem for p in (ROOT / "fixtures").glob("*.json"))
    for n in names:
        out = CliRunner().invoke(cli, ["example", n.lower()]).output
        assert out == (ROOT / "fixtures" / f"{n}.json").read_text(encoding="utf-8")
    res = CliRunner().invoke(cli, ["example", "NOPE-SATIS"])
    assert res.exit_code == 2 and "no scenario 'NOPE-SATIS'" in res.output
