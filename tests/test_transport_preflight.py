"""`ubltr validate --provider NAME` for all five providers: what each provider documents
beyond GİB (what its fields cannot carry, lengths, required fields, enumerations,
numbering), with the provider's own code where its documents give one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ubltr import model, render
from ubltr.cli import cli
from ubltr.validation import known_providers, validate

ROOT = Path(__file__).resolve().parent.parent
PROVIDERS = ["nilvera", "hepsiburada", "propars", "bizimhesap", "logo"]


def xml_of(name: str, **change) -> bytes:
    n = json.loads((ROOT / "fixtures" / f"{name}.json").read_text(encoding="utf-8"))
    n.update(change)
    return render.build(model.load(n))


def rules(xml: bytes, provider: str) -> dict[str, tuple]:
    r = validate(xml, provider=provider)
    return {f.rule: f.provider_codes for f in r.findings if f.rule.startswith(f"UBLTR-{provider.upper()}")}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_is_known_to_validate(provider, tmp_path):
    # old code: only gib and nilvera; the other three were "unknown provider" (exit 2)
    assert provider in known_providers()
    r = CliRunner().invoke(cli, ["validate", "--provider", provider, "-q", str(ROOT / "fixtures" / "TEMELFATURA-SATIS.xml")])
    assert r.exit_code in (0, 1) and "unknown provider" not in r.output


def test_logo_preflight_names_what_maxiapi_cannot_carry_and_its_lengths():
    found = rules(xml_of("TEMELFATURA-IADE"), "logo")
    assert "UBLTR-LOGO-TYPE" in found and "UBLTR-LOGO-BILLING_REFERENCE" in found
    n = json.loads((ROOT / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))
    for ln in n["lines"]:
        ln.pop("allowances", None)
    n.pop("allowances", None)
    n["lines"][0]["code"] = "K" * 26                      # ItemCode: 25 characters (the page's Uzunluk)
    n["lines"][0]["unit"] = "BX"                          # no Logo unit set for it
    found = rules(render.build(model.load(n)), "logo")
    assert set(found) == {"UBLTR-LOGO-LENGTH", "UBLTR-LOGO-UNIT"}, found
    n["lines"][0]["code"] = "K" * 25
    n["lines"][0]["unit"] = "C62"
    assert rules(render.build(model.load(n)), "logo") == {}


def test_bizimhesap_preflight_uses_its_own_words_where_it_has_them():
    found = rules(xml_of("IHRACAT-ISTISNA"), "bizimhesap")
    assert {"UBLTR-BIZIMHESAP-EXCHANGE_RATE", "UBLTR-BIZIMHESAP-EXEMPTION", "UBLTR-BIZIMHESAP-PROFILE"} <= set(found)
    jpy = rules(xml_of("TEMELFATURA-SATIS", currency="JPY", exchange_rate="0.21"), "bizimhesap")
    own = [codes for codes in jpy.values() if codes]
    assert (("bizimhesap", "Hatalı para birimi"),) in own     # the document's own refusal text


def test_propars_preflight_wants_a_version_4_uuid():
    found = rules(xml_of("TEMELFATURA-SATIS"), "propars")   # the fixtures' UUIDs are version 5
    assert "UBLTR-PROPARS-UUID4" in found
    ok = rules(xml_of("TEMELFATURA-SATIS", uuid="0f8fad5b-d9cb-469f-a165-70867728950e"), "propars")
    assert ok == {}


def test_nilvera_numbering_and_hepsiburada_adds_nothing_beyond_gib():
    from ubltr.transport.fake.server import with_identity

    good = xml_of("TEMELFATURA-SATIS")
    uuid = json.loads((ROOT / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))["uuid"]
    bad = with_identity(good, uuid, "ABC2025000000001")   # the year in the number is not the issue year
    assert rules(bad, "nilvera") == {"UBLTR-NILVERA-SERIES-YEAR": (("nilvera", "SerieAndDocumentYearMismatch"),)}
    assert rules(bad, "hepsiburada") == {}          # the number's form is GİB's rule there (InvoiceIDCheck)
    assert rules(xml_of("TEMELFATURA-SATIS"), "nilvera") == {}


def test_preflight_is_only_run_with_provider():
    assert not [f for f in validate(xml_of("TEMELFATURA-IADE")).findings if f.rule.startswith("UBLTR-LOGO")]
