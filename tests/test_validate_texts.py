"""Every validation finding can be explained: English text and fix hint per rule id.

The texts live in ``schematron/rule-texts.json``; the rule ids come from the compiled
rule sets named in ``schematron/scenarios.json`` (GİB's schematron and ubltr's own).
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from lxml import etree

from conftest import ROOT
from ubltr.cli import cli
from ubltr.validation import validate
from ubltr.validation import engine

NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
}


def _assertions() -> dict[str, tuple[str, object]]:
    """rule id -> (source of its rule set, first assertion) over every rule set."""
    seen: dict[str, tuple[str, object]] = {}
    for name in engine.scenarios()["rulesets"]:
        rs = engine.ruleset(name)
        for a in rs.compiled.assertions:
            seen.setdefault(a.id, (rs.source, a))
    return seen


def test_every_rule_has_a_fix_and_every_gib_rule_an_english_text() -> None:
    texts = engine.rule_texts()
    seen = _assertions()
    assert any(src == "gib" for src, _ in seen.values()) and any(src == "ubltr" for src, _ in seen.values())
    no_fix = sorted(i for i in seen if not (texts.get(i, {}).get("fix") or "").strip())
    no_en = sorted(i for i, (src, _) in seen.items() if src == "gib" and not (texts.get(i, {}).get("en") or "").strip())
    assert not no_fix, f"{len(no_fix)} rules without a fix: {no_fix[:20]}"
    assert not no_en, f"{len(no_en)} GİB rules without an English text: {no_en[:20]}"


def test_texts_are_english_sentences_without_placeholders() -> None:
    texts = engine.rule_texts()
    for rule, (src, a) in _assertions().items():
        t = texts[rule]
        if src == "gib":
            en = t["en"]
            # a sentence: capital letter or an element name such as sh:HeaderVersion first
            assert (en[0].isupper() or re.match(r"[a-z]+:[A-Z]", en)) and en.endswith("."), (rule, en)
            # GİB's {cbc:ID}-style value-of parts belong to gib_message, not to our text
            assert "{" not in en and "$" not in en, (rule, en)
            assert en != a.message, rule  # not GİB's Turkish copied over
        assert t["fix"].strip() == t["fix"] and len(t["fix"]) > 10, rule


def test_no_text_for_an_unknown_rule() -> None:
    """A typo in a key of rule-texts.json would silently leave a rule unexplained."""
    known = set(_assertions())
    raw = json.loads((ROOT / "schematron" / "rule-texts.json").read_text(encoding="utf-8"))
    from ubltr.validation import seal

    known.add(seal.RULE)  # checked in Python, not in a rule set
    orphans = sorted(k for k in raw["rules"] if k not in known and not k.startswith(("xml:", "xsd:")))
    assert not orphans


def test_cli_explain_the_seal_rule() -> None:
    """UBLTR-SEAL-VKN is checked in Python (ubltr/validation/seal.py); explain knows it."""
    res = CliRunner().invoke(cli, ["explain", "UBLTR-SEAL-VKN"])
    assert res.exit_code == 0, res.output
    assert "UBLTR-SEAL-VKN (ubltr)" in res.output and "means:" in res.output and "--allow-seal-mismatch" in res.output


# (fixture, xpath of the element to change, new text, rule that must fire,
#  xpath of the rule's context element, whose line the finding must carry)
MUTATIONS = [
    ("KAMU-SATIS.xml", "/*/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", "TR12 3456",
     "KamuFaturaCheck-1", "/*/cbc:ProfileID"),
    ("IHRACAT-ISTISNA.xml", "/*/cac:BuyerCustomerParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName", "  ",
     "OfficelTitleCheck-1", "/*/cac:BuyerCustomerParty"),
    ("KAMU-ISTISNA.xml", "/*/cac:PaymentMeans/cbc:PaymentMeansCode", "999",
     "PaymentMeansCodeCheck-1", "/*/cac:PaymentMeans/cbc:PaymentMeansCode"),
]


@pytest.mark.parametrize("fixture, xpath, value, rule, context", MUTATIONS, ids=[m[3] for m in MUTATIONS])
def test_mutated_sample_finding_carries_english_text_and_fix(
    fixture: str, xpath: str, value: str, rule: str, context: str,
) -> None:
    path = ROOT / "fixtures" / fixture
    original = path.read_bytes()
    assert rule not in validate(original).failed_rules(), "the sample must pass this rule before the mutation"

    root = etree.fromstring(original)
    targets = root.xpath(xpath, namespaces=NS)
    assert targets, f"{fixture} has no {xpath}"
    targets[0].text = value
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    report = validate(data)

    assert not report.valid
    f = next(f for f in report.findings if f.rule == rule)
    text = engine.rule_texts()[rule]
    assert f.source == "gib" and f.severity == "error"
    assert f.message == text["en"] and not f.message.startswith("GİB rule")
    assert f.fix == text["fix"]
    assert f.gib_message and f.gib_message != f.message  # GİB's Turkish text is kept
    expected_line = etree.fromstring(data).xpath(context, namespaces=NS)[0].sourceline
    assert f.line == expected_line
    shown = report.to_text()
    assert text["en"] in shown and text["fix"] in shown
    assert f.to_dict()["fix"] == text["fix"]


@pytest.mark.parametrize("rule", ["KamuFaturaCheck-1", "EnvelopeTypeElementTypeCheck-5", "UserAccountCheck-46"])
def test_cli_explain_prints_english_text_and_fix(rule: str) -> None:
    text = engine.rule_texts()[rule]
    res = CliRunner().invoke(cli, ["explain", rule])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert f"  means:   {text['en']}" in lines
    assert f"  fix:     {text['fix']}" in lines
    assert any(line.startswith("  GİB:") for line in lines)  # GİB's own message next to ours


def test_cli_explain_ubltr_rule_prints_schematron_message_and_fix() -> None:
    rule = "UBLTR-TOTAL-PAYABLE"
    res = CliRunner().invoke(cli, ["explain", rule])
    assert res.exit_code == 0, res.output
    assert "means:" in res.output and f"fix:     {engine.rule_texts()[rule]['fix']}" in res.output


def test_xml_examples_in_fix_hints_are_well_formed() -> None:
    """A hint such as ``<cbc:CopyIndicator>false</cbc:CopyIndicator>`` must be copyable."""
    prefixes = ("cbc", "cac", "ext", "ds", "xades", "sh", "ef", "hr", "oa")
    decl = " ".join(f'xmlns:{p}="urn:test:{p}"' for p in prefixes)
    checked = 0
    for rule, text in engine.rule_texts().items():
        m = re.search(r"<[a-z]+:[A-Za-z].*>", text.get("fix") or "")
        if m:
            etree.fromstring(f"<r {decl}>{m.group()}</r>")  # raises on a broken example
            checked += 1
    assert checked > 50
