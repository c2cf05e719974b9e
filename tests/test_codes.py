"""Code lists come from GİB's schematron shipped in ubltr, checksummed; the profile × type
matrix agrees with GİB's own rules."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ubltr import codes, official
from ubltr.calc import deducted, in_kdv_base, unsupported_line_tax, _policy
from ubltr.model import load
from ubltr.render import build

ROOT = Path(__file__).resolve().parent.parent


def test_every_locked_official_file_matches_its_checksum():
    assert len(official.verify_all()) == len(official.lock()["files"]) > 30


def test_a_changed_official_file_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "schematron"
    (fake / "gib").mkdir(parents=True)
    (fake / "gib" / "UBL-TR_Codelist.xml").write_text("<schema/>")
    official.path.cache_clear()
    monkeypatch.setattr(official, "_root", lambda name: fake)
    try:
        with pytest.raises(official.OfficialArtifactError, match="does not match"):
            official.path("schematron/gib/UBL-TR_Codelist.xml")
    finally:
        official.path.cache_clear()


def test_lists_are_gibs():
    assert "TEMELFATURA" in codes.profiles() and "EARSIVFATURA" in codes.profiles()
    assert {"SATIS", "IADE", "TEVKIFAT", "ISTISNA", "SGK"} <= codes.invoice_types()
    assert "0015" in codes.tax_codes() and "C62" in codes.units() and "TRY" in codes.currencies()
    assert codes.default_withholding_percent("602") == 90
    assert codes.default_withholding_percent("650") is None  # several rates: must be given


def test_every_gib_tax_code_is_classified_by_the_tax_policy():
    policy = _policy()
    classified = set(policy["in_kdv_base"]) | set(policy["outside_kdv_base"]) | set(policy["deducted"]) | {"0015"}
    assert codes.tax_codes() <= classified, codes.tax_codes() - classified
    assert in_kdv_base("0071") and not in_kdv_base("1047") and unsupported_line_tax("9015") is None
    assert deducted("0003") and deducted("0011") and deducted("9015") and deducted("4171") and not deducted("0071")


def test_every_gib_tax_code_has_a_name():
    missing = {c for c in codes.tax_codes() if codes.tax_short_name(c) == c}
    assert missing <= {"0059"}, missing


def test_matrix_profiles_and_types_are_gibs():
    for profile, types in codes.profile_types().items():
        assert profile in codes.profiles()
        assert types <= codes.invoice_types()


BASES = {"TEMELFATURA": "TEMELFATURA-SATIS", "TICARIFATURA": "TICARIFATURA-SATIS",
         "EARSIVFATURA": "EARSIVFATURA-SATIS", "KAMU": "KAMU-SATIS"}
# HKSSATIS / HKSKOMISYONCU are left out: GİB restricts them to the HKS profile in its guide,
# not in its schematron (documented in ubltr/data/profile_types.json).
TYPES = ["SATIS", "IADE", "TEVKIFAT", "TEVKIFATIADE", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK",
         "KOMISYONCU", "KONAKLAMAVERGISI", "TEKNOLOJIDESTEK", "SARJ", "SARJANLIK"]


@pytest.mark.parametrize("profile", sorted(BASES))
def test_pairs_we_forbid_are_pairs_gib_forbids(profile, oracle):
    base = load(json.loads((ROOT / "fixtures" / f"{BASES[profile]}.json").read_text(encoding="utf-8")))
    refs = load(json.loads((ROOT / "fixtures" / "TEMELFATURA-IADE.json").read_text(encoding="utf-8"))).billing_references
    for type_ in TYPES:
        inv = dataclasses.replace(base, type=type_, billing_references=refs)
        fired = oracle.check(build(inv)).rule_ids
        type_rules = {r for r in fired if r.startswith("InvoiceTypeCodeCheck")}
        if codes.type_allowed(profile, type_):
            assert not type_rules, (profile, type_, fired)
        else:
            assert type_rules, (profile, type_, "we forbid it but GİB's rules do not", fired)


def test_schema_path_checks_every_imported_xsd(tmp_path, monkeypatch) -> None:
    """The Invoice XSD pulls ~15 files through xs:import/xs:include; a change to any of
    them (not only to the entry file) is refused before libxml2 reads it."""
    import shutil

    real = official._root("xsd/lock.json")
    copy = tmp_path / "xsd"
    shutil.copytree(real, copy)
    monkeypatch.setattr(official, "_root", lambda name: copy)
    official.path.cache_clear()
    official.schema_path.cache_clear()
    try:
        assert official.schema_path("xsd/maindoc/UBL-Invoice-2.1.xsd") == copy / "maindoc/UBL-Invoice-2.1.xsd"
        official.path.cache_clear()
        official.schema_path.cache_clear()
        target = copy / "common/UBL-CommonBasicComponents-2.1.xsd"
        target.write_bytes(target.read_bytes().replace(b"</xsd:schema>", b"<!-- edited --></xsd:schema>"))
        with pytest.raises(official.OfficialArtifactError, match="UBL-CommonBasicComponents"):
            official.schema_path("xsd/maindoc/UBL-Invoice-2.1.xsd")
    finally:
        official.path.cache_clear()
        official.schema_path.cache_clear()
