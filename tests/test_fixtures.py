"""fixtures/: every neutral example reproduces its golden XML byte for byte, and
that XML passes GİB's XSD and GİB's schematron (saxonche); the totals printed in
the XML are the engine's."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from ubltr.calc import compute
from ubltr.model import load
from ubltr.render import build

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures").glob("*.json"))
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}


def test_there_is_a_fixture_per_required_profile_and_type():
    names = {f.stem for f in FIXTURES}
    for profile in ["TEMELFATURA", "TICARIFATURA", "EARSIVFATURA", "KAMU"]:
        for type_ in ["SATIS", "TEVKIFAT", "ISTISNA", "OZELMATRAH", "IHRACKAYITLI", "SGK"]:
            assert f"{profile}-{type_}" in names
    for extra in ["TEMELFATURA-IADE", "TEMELFATURA-TEVKIFATIADE", "IHRACAT-ISTISNA", "YOLCUBERABERFATURA-ISTISNA"]:
        assert extra in names


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_golden_xml_is_reproduced(path):
    inv = load(json.loads(path.read_text(encoding="utf-8")))
    assert build(inv) == path.with_suffix(".xml").read_bytes()


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_golden_xml_passes_gib_rules(path, oracle):
    result = oracle.check(path.with_suffix(".xml").read_bytes())
    assert result.ok, str(result)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_xml_carries_the_engines_totals(path):
    inv = load(json.loads(path.read_text(encoding="utf-8")))
    t = compute(inv)
    doc = etree.fromstring(path.with_suffix(".xml").read_bytes())
    lmt = doc.find("cac:LegalMonetaryTotal", NS)
    assert Decimal(lmt.findtext("cbc:PayableAmount", namespaces=NS)) == t.payable
    assert Decimal(lmt.findtext("cbc:TaxInclusiveAmount", namespaces=NS)) == t.tax_inclusive
    assert Decimal(doc.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=NS)) == t.tax_total
    notes = doc.findall("cbc:Note", NS)
    assert notes[0].text == t.words


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_parse_reads_the_fixture_back(path):
    from ubltr.parsing import parse

    inv = load(json.loads(path.read_text(encoding="utf-8")))
    assert parse(path.with_suffix(".xml").read_bytes()) == inv


def test_sector_profiles_have_fixtures():
    names = {f.stem for f in FIXTURES}
    assert {"HKS-HKSSATIS", "ENERJI-SARJ", "ILAC_TIBBICIHAZ-SATIS", "YATIRIMTESVIK-SATIS", "IDIS-SATIS",
            "OZELFATURA-ISTISNA", "EARSIVFATURA-TEKNOLOJIDESTEK"} <= names
