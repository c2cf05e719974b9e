"""API, safety layer, ubltr rules and CLI of ubltr.validate."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from conftest import ROOT
from ubltr.cli import cli
from ubltr.testing import tckns, vkns
from ubltr.validation import Finding, Report, validate

GOOD = ROOT / "fixtures" / "TEMELFATURA-SATIS.xml"


def test_valid_fixture_from_bytes_path_and_tree() -> None:
    data = GOOD.read_bytes()
    for src in (data, str(GOOD), GOOD, etree.ElementTree(etree.fromstring(data))):
        r = validate(src)
        assert isinstance(r, Report) and r.valid, r.to_text()
        assert r.layers == ("xml", "xsd", "gib", "ubltr")


def test_findings_are_frozen() -> None:
    r = validate(b"<x/>")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.findings[0].rule = "other"  # type: ignore[misc]
    assert isinstance(r.findings[0], Finding)


@pytest.mark.parametrize(
    "data, rule",
    [
        (b"", "xml:not-xml"),
        (b"%PDF-1.4 ...", "xml:not-xml"),
        (b"<Invoice><unclosed></Invoice>", "xml:syntax"),
        ('<?xml version="1.0" encoding="UTF-8"?><a>\u0131</a>'.encode("iso-8859-9"), "xml:encoding"),
        (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', "xml:doctype"),
        (b'<!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><a>&b;</a>', "xml:doctype"),
        (b"<Invoice/>", "xml:root"),
        (b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-1"/>', "xml:root"),
    ],
)
def test_unsafe_or_unreadable_input_is_a_report_not_an_exception(data: bytes, rule: str) -> None:
    r = validate(data)
    assert not r.valid
    assert [f.rule for f in r.findings] == [rule]
    assert r.findings[0].source == "xml"


def test_xxe_never_resolved(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    data = f'<!DOCTYPE a [<!ENTITY x SYSTEM "{secret.as_uri()}">]><a>&x;</a>'.encode()
    r = validate(data)
    assert "TOPSECRET" not in json.dumps(r.to_dict())


def _mutate(xpath: str, value: str) -> bytes:
    root = etree.fromstring(GOOD.read_bytes())
    ns = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
          "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
    root.xpath(xpath, namespaces=ns)[0].text = value
    return etree.tostring(root)


def test_gib_finding_has_id_line_location_messages_and_provider_codes() -> None:
    r = validate(_mutate("/*/cbc:ID", "BAD1"))
    f = next(f for f in r.findings if f.rule == "InvoiceIDCheck-1")
    assert f.source == "gib" and f.severity == "error"
    assert f.line and f.location == "/Invoice"
    assert "cbc:ID" in f.gib_message and f.message and f.fix
    assert f.provider_code("gib") == "1150" and f.provider_code("nilvera") == "SchemaSchematronError"


def test_arithmetic_a_provider_refuses_is_an_error_by_default_gib_only_is_gibs_verdict() -> None:
    data = _mutate("/*/cac:LegalMonetaryTotal/cbc:PayableAmount", "1.00")
    plain = validate(data)
    assert not plain.valid  # Nilvera answers PaymentAmountDoesntMatch: refused
    f = next(f for f in plain.findings if f.rule == "UBLTR-TOTAL-PAYABLE")
    assert f.severity == "error" and f.provider_code("nilvera") == "PaymentAmountDoesntMatch"
    assert f.refused_by == ("nilvera",)
    gib = validate(data, gib_only=True)
    assert gib.valid  # GİB accepts it
    assert any(f.rule == "UBLTR-TOTAL-PAYABLE" and f.severity == "warning" for f in gib.findings)
    assert validate(data, provider="gib").valid  # GİB, named as the provider, accepts it too
    assert not validate(data, provider="nilvera").valid
    assert not validate(data, strict=True).valid


@pytest.mark.parametrize("value, ok", [("1234567890", True), ("9876543217", True), ("1234567891", False)])
def test_vkn_checksum(value: str, ok: bool) -> None:
    r = validate(_mutate("/*/cac:AccountingCustomerParty//cbc:ID[@schemeID='VKN']", value), strict=True)
    assert ("UBLTR-VKN-CHECKSUM" not in r.failed_rules()) == ok


def test_line_arithmetic_and_amount_in_words() -> None:
    r = validate(_mutate("/*/cac:InvoiceLine[1]/cbc:LineExtensionAmount", "1.00"), strict=True)
    assert {"UBLTR-LINE-AMOUNT", "UBLTR-TOTAL-LINES"} <= r.failed_rules("ubltr")
    r = validate(_mutate("/*/cbc:Note[1]", "no words"))
    assert any(f.rule == "UBLTR-AMOUNT-IN-WORDS" and f.severity == "warning" for f in r.findings)


def test_type_parameter_follows_profile_and_can_be_forced() -> None:
    r = validate(GOOD.read_bytes(), schematron_type="earchive")
    assert r.schematron_type == "earchive" and "ProfileIDCheck-2" in r.failed_rules("gib")


def test_cli_exit_codes_and_formats(tmp_path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.xml"
    bad.write_bytes(_mutate("/*/cbc:ID", "BAD1"))
    junk = tmp_path / "junk.xml"
    junk.write_bytes(b"not xml")
    assert runner.invoke(cli, ["validate", str(GOOD)]).exit_code == 0
    res = runner.invoke(cli, ["validate", "--format", "json", str(bad)])
    assert res.exit_code == 1 and json.loads(res.output)["valid"] is False
    assert runner.invoke(cli, ["validate", str(junk)]).exit_code == 2
    assert runner.invoke(cli, ["validate", str(tmp_path / "missing.xml")]).exit_code == 2
    assert runner.invoke(cli, ["validate", "--provider", "nope", str(GOOD)]).exit_code == 2
    res = runner.invoke(cli, ["validate", "--format", "junit", str(GOOD), str(bad)])
    assert res.exit_code == 1 and 'failures="1"' in res.output
    res = runner.invoke(cli, ["validate", "-q", "--workers", "2", str(ROOT / "fixtures")])
    assert res.exit_code == 0, res.output
    assert "documents:" in res.output


def test_cli_explain() -> None:
    res = CliRunner().invoke(cli, ["explain", "InvoiceIDCheck-1"])
    assert res.exit_code == 0 and "1150" in res.output and "SchemaSchematronError" in res.output
    assert CliRunner().invoke(cli, ["explain", "NoSuchRule-9"]).exit_code == 2


def _party_id_doc(scheme: str, value: str) -> bytes:
    return (
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"'
        ' xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"'
        ' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        '<cac:AccountingCustomerParty><cac:Party><cac:PartyIdentification>'
        f'<cbc:ID schemeID="{scheme}">{value}</cbc:ID>'
        '</cac:PartyIdentification></cac:Party></cac:AccountingCustomerParty></Invoice>'
    ).encode()


_DIGITS = "0123456789"


@settings(max_examples=300, deadline=None)
@given(st.one_of(vkns(), st.text(_DIGITS, min_size=10, max_size=10), st.text(_DIGITS + "A ", min_size=8, max_size=11)))
def test_vkn_rule_equals_the_model_checksum(value: str) -> None:
    """The schematron's table-driven checksum (schematron/ubltr.sch) says exactly what
    ubltr.model.vkn_valid says, for valid numbers, random digit strings and junk."""
    from ubltr.model import vkn_valid
    from ubltr.validation import engine

    r = engine.run(_party_id_doc("VKN", value), layers=("ubltr",), strict=True)
    plain = " ".join(value.split())
    applies = len(plain) == 10 and plain.isdigit()
    assert ("UBLTR-VKN-CHECKSUM" in r.failed_rules()) == (applies and not vkn_valid(plain))


@settings(max_examples=300, deadline=None)
@given(st.one_of(tckns(), st.text(_DIGITS, min_size=11, max_size=11)))
def test_tckn_rule_equals_the_model_checksum(value: str) -> None:
    from ubltr.model import tckn_valid
    from ubltr.validation import engine

    r = engine.run(_party_id_doc("TCKN", value), layers=("ubltr",), strict=True)
    assert ("UBLTR-TCKN-CHECKSUM" in r.failed_rules()) == (not tckn_valid(value))


_NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
       "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}
_CODE = "cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode"


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_tax_subtotals_versus_lines_once_per_code(data: st.DataObject) -> None:
    """UBLTR-TAXTOTAL-LINES: for each tax code of the document's subtotals, their sum
    equals the lines' subtotals of that code.  Random codes on the document's and the
    lines' subtotals and random errors in the document's amounts; the expected findings
    are computed here with Decimal: exactly one per code whose sums differ."""
    from decimal import Decimal

    from ubltr.validation import engine

    root = etree.fromstring(GOOD.read_bytes())
    doc_subs = root.xpath("/*/cac:TaxTotal/cac:TaxSubtotal", namespaces=_NS)
    line_subs = root.xpath("/*/cac:InvoiceLine/cac:TaxTotal/cac:TaxSubtotal", namespaces=_NS)
    codes = st.sampled_from(["0015", "0071", "9040"])
    for sub in line_subs:
        sub.xpath(_CODE, namespaces=_NS)[0].text = data.draw(codes)
    for sub in doc_subs:
        sub.xpath(_CODE, namespaces=_NS)[0].text = data.draw(codes)
        amount = sub.find("cbc:TaxAmount", _NS)
        error = data.draw(st.sampled_from(["0", "0", "0.01", "-0.01", "0.004", "12.34"]))
        amount.text = str(Decimal(amount.text) + Decimal(error))

    def sums(subs: list) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for s in subs:
            code = s.xpath(_CODE, namespaces=_NS)[0].text
            out[code] = out.get(code, Decimal(0)) + Decimal(s.find("cbc:TaxAmount", _NS).text)
        return out

    doc, lines = sums(doc_subs), sums(line_subs)
    expected = sorted(c for c in doc if abs(doc[c] - lines.get(c, Decimal(0))) >= Decimal("0.0051"))
    r = engine.run(etree.ElementTree(root), layers=("ubltr",), strict=True)
    found = [f for f in r.findings if f.rule == "UBLTR-TAXTOTAL-LINES"]
    assert sorted(f.message.split(":")[0].removeprefix("Tax ") for f in found) == expected


@settings(max_examples=150, deadline=None)
@given(base=st.one_of(st.none(), st.decimals("0", "100000", places=2)),
       factor=st.one_of(st.none(), st.decimals("0", "1", places=4)),
       error=st.sampled_from(["0", "0", "0.004", "0.01", "-0.01", "-3.50"]))
def test_line_allowance_rate(base, factor, error) -> None:
    """UBLTR-LINE-ALLOWANCE-RATE flags a line allowance exactly when it has both
    BaseAmount and MultiplierFactorNumeric and its Amount is a kuruş or more away
    from their product (expected value computed here with Decimal)."""
    from decimal import Decimal

    from ubltr.validation import engine

    root = etree.fromstring(GOOD.read_bytes())
    ac = root.find("cac:InvoiceLine/cac:AllowanceCharge", _NS)
    for tag, value in (("MultiplierFactorNumeric", factor), ("BaseAmount", base)):
        el = ac.find(f"cbc:{tag}", _NS)
        if value is None:
            ac.remove(el)
        else:
            el.text = str(value)
    product = (base or Decimal(0)) * (factor or Decimal(0))
    ac.find("cbc:Amount", _NS).text = str((product + Decimal(error)).quantize(Decimal("0.0001")))
    r = engine.run(etree.ElementTree(root), layers=("ubltr",), strict=True)
    expected = base is not None and factor is not None and abs(Decimal(error)) >= Decimal("0.0051")
    assert ("UBLTR-LINE-ALLOWANCE-RATE" in r.failed_rules()) == expected
