"""Issue #15, verdicts: what ``ubltr validate`` says by default is what GİB and the
providers say.  Arithmetic a provider refuses is an error by default; ``--gib-only`` is
exactly GİB's verdict (held against GİB's rules run by saxonche); ``--strict`` makes every
ubltr rule an error; every finding says who refuses it."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from lxml import etree

from conftest import ROOT
from ubltr.cli import cli
from ubltr.validation import validate

GOOD = ROOT / "fixtures" / "TEMELFATURA-SATIS.xml"
NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
      "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}


def _mutate(xpath: str, value: str) -> bytes:
    root = etree.fromstring(GOOD.read_bytes())
    root.xpath(xpath, namespaces=NS)[0].text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@pytest.fixture()
def wrong_payable(tmp_path):
    p = tmp_path / "payable.xml"
    p.write_bytes(_mutate("/*/cac:LegalMonetaryTotal/cbc:PayableAmount", "1.00"))
    return p


def test_wrong_payable_fails_by_default_and_passes_gib_only(wrong_payable, oracle) -> None:
    data = wrong_payable.read_bytes()
    assert oracle.check(data).ok  # GİB's own rules accept it ...
    run = CliRunner().invoke
    res = run(cli, ["validate", str(wrong_payable)])
    assert res.exit_code == 1, res.output  # ... a provider does not: invalid by default
    assert "ERROR   ubltr:UBLTR-TOTAL-PAYABLE" in res.output
    assert "refused by: nilvera (PaymentAmountDoesntMatch)" in res.output
    res = run(cli, ["validate", "--gib-only", str(wrong_payable)])
    assert res.exit_code == 0, res.output  # exactly GİB's verdict
    assert "WARNING ubltr:UBLTR-TOTAL-PAYABLE" in res.output
    assert run(cli, ["validate", "--strict", str(wrong_payable)]).exit_code == 1
    assert run(cli, ["validate", "--strict", "--gib-only", str(wrong_payable)]).exit_code == 2


def test_stdin_and_json_carry_the_default_verdict(wrong_payable) -> None:
    res = CliRunner().invoke(cli, ["validate", "--format", "json", "-"], input=wrong_payable.read_bytes())
    assert res.exit_code == 1, res.output
    doc = json.loads(res.output)
    f = next(f for f in doc["findings"] if f["rule"] == "UBLTR-TOTAL-PAYABLE")
    assert f["severity"] == "error" and f["refused_by"] == ["nilvera"]


def test_every_warning_says_who_refuses_it() -> None:
    # an amount-in-words note removed: nobody refuses that; a wrong line tax: a provider does
    root = etree.fromstring(GOOD.read_bytes())
    for note in root.findall("cbc:Note", NS):
        root.remove(note)
    report = validate(etree.tostring(root), gib_only=True)
    warnings = [f for f in report.findings if f.severity == "warning"]
    assert warnings and report.valid
    text = report.to_text()
    assert text.count("refused by:") >= len(warnings)
    words = next(f for f in warnings if f.rule == "UBLTR-AMOUNT-IN-WORDS")
    assert words.refused_by == () and "nobody documented" in words.who_refuses()


def test_strict_still_means_more_than_the_default() -> None:
    """A rule no provider refuses (the VKN checksum) is a warning by default and an error
    with strict: --strict keeps a meaning of its own."""
    data = _mutate("/*/cac:AccountingCustomerParty//cbc:ID[@schemeID='VKN']", "1234567891")
    plain = validate(data)
    f = next(f for f in plain.findings if f.rule == "UBLTR-VKN-CHECKSUM")
    assert f.severity == "warning" and f.refused_by == ()
    assert not validate(data, strict=True).valid


def test_gib_only_equals_gib_on_gib_samples(oracle) -> None:
    from conftest import shared

    n = 0
    for p in sorted(shared("gib", "UBLTR_1.2.1_Paketi", "xml").glob("*.xml")):
        data = p.read_bytes()
        report = validate(data, gib_only=True)
        if report.document != "Invoice":
            continue
        assert report.valid == oracle.check(data).ok, p.name
        n += 1
    assert n >= 10
