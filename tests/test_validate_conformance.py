"""Differential conformance: GİB's schematron as GİB runs it (XSLT 2.0 via saxonche,
tests/gib_oracle.py) against our engine (our compiler + XPath 2.0 translator, libxslt),
on GİB's samples, ../shared/samples, ubltr's fixtures and a mutation corpus (valid
invoices each broken in one way).  The set of failing GİB rules must be identical for
every document, under both values of GİB's ``type`` parameter.
"""

from __future__ import annotations

import copy
import glob
from pathlib import Path
from typing import Callable

import pytest
from lxml import etree

from conftest import ROOT, shared
from ubltr.validation import engine, validate

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS = {"cbc": CBC, "cac": CAC, "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"}


def _ours(data: bytes, type_: str) -> frozenset[str]:
    tree, _, findings = engine.load(data)
    assert tree is not None, findings
    return frozenset(f.rule for f in engine._rule_findings(engine.ruleset("gib"), tree, {"type": type_}))


def _ref(oracle, data: bytes, type_: str) -> frozenset[str]:
    return frozenset(r for r, _ in oracle.schematron(data, type_))


def _type(data: bytes) -> str:
    prof = etree.fromstring(data).findtext(f"{{{CBC}}}ProfileID")
    return "earchive" if prof == "EARSIVFATURA" else "efatura"


def _set(xpath: str, value: str) -> Callable[[etree._Element], bool]:
    def m(root: etree._Element) -> bool:
        nodes = root.xpath(xpath, namespaces=NS)
        if not nodes:
            return False
        n = nodes[0]
        if isinstance(n, etree._Element):
            n.text = value
        else:  # attribute result
            n.getparent().set(n.attrname, value)
        return True
    return m


def _drop(xpath: str) -> Callable[[etree._Element], bool]:
    def m(root: etree._Element) -> bool:
        nodes = root.xpath(xpath, namespaces=NS)
        if not nodes:
            return False
        nodes[0].getparent().remove(nodes[0])
        return True
    return m


MUTATIONS: dict[str, Callable[[etree._Element], bool]] = {
    "missing-id": _drop("/inv:Invoice/cbc:ID"),
    "missing-customization": _drop("/inv:Invoice/cbc:CustomizationID"),
    "missing-unitcode": lambda r: bool(r.xpath("//cbc:InvoicedQuantity", namespaces=NS)) and (r.xpath("//cbc:InvoicedQuantity", namespaces=NS)[0].attrib.pop("unitCode", None) is not None),
    "missing-supplier-id": _drop("/inv:Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification"),
    "missing-customer-name": _drop("/inv:Invoice/cac:AccountingCustomerParty/cac:Party/cac:PartyName"),
    "wrong-type-code": _set("/inv:Invoice/cbc:InvoiceTypeCode", "SATISX"),
    "wrong-type-iade": _set("/inv:Invoice/cbc:InvoiceTypeCode", "IADE"),
    "wrong-profile": _set("/inv:Invoice/cbc:ProfileID", "TICARI"),
    "profile-earsiv": _set("/inv:Invoice/cbc:ProfileID", "EARSIVFATURA"),
    "profile-temel": _set("/inv:Invoice/cbc:ProfileID", "TEMELFATURA"),
    "wrong-currency": _set("/inv:Invoice/cbc:DocumentCurrencyCode", "XXX"),
    "foreign-currency-no-rate": _set("/inv:Invoice/cbc:DocumentCurrencyCode", "USD"),
    "wrong-currency-attr": _set("(//@currencyID)[1]", "TL"),
    "wrong-unit": _set("(//cbc:InvoicedQuantity/@unitCode)[1]", "ZZZ"),
    "wrong-tax-code": _set("(//cac:TaxScheme/cbc:TaxTypeCode)[1]", "9999"),
    "wrong-exemption": _set("(//cbc:TaxExemptionReasonCode)[1]", "999"),
    "exemption-555": _set("(//cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode)[1]", "555"),
    "wrong-withholding-percent": _set("(//cac:WithholdingTaxTotal/cac:TaxSubtotal/cbc:Percent)[1]", "55"),
    "wrong-withholding-code": _set("(//cac:WithholdingTaxTotal//cbc:TaxTypeCode)[1]", "699"),
    "wrong-total-decimals": _set("/inv:Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount", "100.123"),
    "wrong-tax-amount-format": _set("/inv:Invoice/cac:TaxTotal/cbc:TaxAmount", "1,5"),
    "bad-id-format": _set("/inv:Invoice/cbc:ID", "AB2026000000001"),
    "bad-id-lowercase": _set("/inv:Invoice/cbc:ID", "abc2026000000001"),
    "bad-id-trailing-newline": _set("/inv:Invoice/cbc:ID", "ABC2026000000001\n"),
    "bad-uuid": _set("/inv:Invoice/cbc:UUID", "not-a-uuid"),
    "bad-date-day": _set("/inv:Invoice/cbc:IssueDate", "2026-02-30"),
    "bad-date-format": _set("/inv:Invoice/cbc:IssueDate", "20.11.2026"),
    "future-date": _set("/inv:Invoice/cbc:IssueDate", "2999-01-01"),
    "ancient-date": _set("/inv:Invoice/cbc:IssueDate", "2004-12-31"),
    "date-with-zone": _set("/inv:Invoice/cbc:IssueDate", "2005-01-01+05:00"),
    "date-padded": _set("/inv:Invoice/cbc:IssueDate", " 2026-01-02 "),
    "leap-day": _set("/inv:Invoice/cbc:IssueDate", "2024-02-29"),
    "copy-true": _set("/inv:Invoice/cbc:CopyIndicator", "true"),
    "vkn-short": _set("/inv:Invoice/cac:AccountingSupplierParty//cbc:ID[@schemeID='VKN']", "123456789"),
    "vkn-as-tckn": _set("(/inv:Invoice/cac:AccountingCustomerParty//cbc:ID/@schemeID)[1]", "TCKN"),
    "party-scheme-unknown": _set("(/inv:Invoice/cac:AccountingCustomerParty//cbc:ID/@schemeID)[1]", "VERGINO"),
    "signature-scheme": _set("/inv:Invoice/cac:Signature/cbc:ID/@schemeID", "VKN"),
    "payment-means-bad": _set("//cac:PaymentMeans/cbc:PaymentMeansCode", "ZZ"),
    "country-bad": _set("(//cbc:IdentificationCode)[1]", "XX"),
}


def _corpus_base() -> list[Path]:
    files = [Path(p) for p in sorted(glob.glob(str(ROOT / "fixtures" / "*.xml")))]
    return files


def _all_documents() -> list[tuple[str, bytes]]:
    docs: list[tuple[str, bytes]] = []
    gib = shared("gib", "UBLTR_1.2.1_Paketi", "xml")
    for p in sorted(gib.glob("*.xml")):
        docs.append((f"gib:{p.name}", p.read_bytes()))
    for p in sorted(shared("samples").rglob("*.xml")):
        docs.append((f"samples:{p.relative_to(shared('samples'))}", p.read_bytes()))
    for p in _corpus_base():
        base = p.read_bytes()
        docs.append((f"fixture:{p.name}", base))
        for name, mutate in MUTATIONS.items():
            root = copy.deepcopy(etree.fromstring(base))
            if mutate(root):
                docs.append((f"mutant:{p.stem}:{name}", etree.tostring(root, xml_declaration=True, encoding="UTF-8")))
    return docs


def test_gib_samples_are_all_present() -> None:
    gib = shared("gib", "UBLTR_1.2.1_Paketi", "xml")
    assert len(list(gib.glob("*.xml"))) == 43


def test_differential_agreement(oracle) -> None:
    docs = _all_documents()
    disagreements = []
    failing_docs = 0
    rules_seen: set[str] = set()
    for name, data in docs:
        try:
            etree.fromstring(data)
        except etree.XMLSyntaxError:
            continue
        t = _type(data)
        for type_ in (t, "earchive" if t == "efatura" else "efatura"):
            ref = _ref(oracle, data, type_)
            ours = _ours(data, type_)
            rules_seen |= ref
            if type_ == t and ref:
                failing_docs += 1
            if ref != ours:
                disagreements.append((name, type_, sorted(ref - ours), sorted(ours - ref)))
    print(f"\nconformance: {len(docs)} documents x 2 type values, "
          f"{len(docs) * 2 - len(disagreements)} agree, {len(disagreements)} disagree; "
          f"{failing_docs} documents fail GİB rules, {len(rules_seen)} distinct GİB rules fired")
    assert not disagreements, disagreements[:10]
    # the corpus must actually exercise the rules (a differential test of nothing proves nothing)
    assert failing_docs > 100 and len(rules_seen) > 40


def test_mutations_are_detected_by_gib_or_xsd() -> None:
    """Every mutation that GİB's rules or the schema reject makes report.valid False."""
    base = (ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes()
    assert validate(base).valid, validate(base).to_text()
    for name in ("missing-id", "wrong-type-code", "bad-id-format", "bad-date-day", "future-date", "vkn-short", "wrong-unit"):
        root = etree.fromstring(base)
        assert MUTATIONS[name](root), name
        r = validate(etree.tostring(root))
        assert not r.valid, name
        assert r.failed_rules() & (r.failed_rules("gib") | r.failed_rules("xsd")), name


def test_verdict_equals_oracle_on_samples(oracle) -> None:
    """report.valid with gib_only is exactly GİB's verdict: XSD + schematron."""
    for p in sorted(shared("gib", "UBLTR_1.2.1_Paketi", "xml").glob("*.xml")) + sorted(ROOT.glob("fixtures/*.xml")):
        data = p.read_bytes()
        report = validate(data, gib_only=True)
        if report.document != "Invoice":
            continue
        assert report.valid == oracle.check(data).ok, (p.name, report.to_text(), str(oracle.check(data)))


@pytest.mark.parametrize("value", ["0000-01-01", "0000-02-29", "-0001-05-05", "10000-01-01", "2026-02-29",
                                   "2147483648-01-01", " 2026-01-05 ", "2026-01-05+14:00", "1" * 5000 + "-01-01"])
@pytest.mark.parametrize("stype", ["efatura", "earchive"])
def test_issue_date_edge_values_fail_the_same_gib_rules(oracle, value: str, stype: str) -> None:
    """XSD 1.1 dates as Saxon reads them (year 0000, negative and five-digit years, leap
    days, whitespace, zones) reach GİB's date rules the same way through our engine."""
    root = etree.fromstring((ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes())
    root.find(f"{{{CBC}}}IssueDate").text = value
    data = etree.tostring(root)
    ours = engine.run(data, layers=("gib",), schematron_type=stype).failed_rules("gib")
    assert ours == {r for r, _ in oracle.schematron(data, stype)}
