"""Envelopes (ZARF): every document inside, by position, for parse, validate and render.

The truth: GİB's envelope samples (e-FaturaPaketi) read with plain XPath, and GİB's rules
run by saxonche on each document taken out of its envelope (the findings ubltr assigns to
a position must be exactly the oracle's for that document alone)."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner
from lxml import etree

from conftest import ROOT, SHARED, shared
from ubltr import envelope
from ubltr.cli import cli
from ubltr.validation import validate

EFP = SHARED / "gib" / "e-FaturaPaketi" / "xml"
SH = envelope.SH
_KIND_OF_TYPE = {"INVOICE": {"invoice"}, "APPLICATIONRESPONSE": {"application-response", "system-response"},
                 "PROCESSUSERACCOUNT": {"user-account"}, "CANCELUSERACCOUNT": {"user-account"}}


def _zarfs() -> list[str]:
    if not EFP.is_dir():
        return ["<absent>"]
    return sorted(p.name for p in EFP.glob("*.xml") if envelope.is_envelope(p.read_bytes()))


@pytest.mark.parametrize("name", _zarfs())
def test_gib_envelopes_open_with_every_document(name: str) -> None:
    data = shared("gib", "e-FaturaPaketi", "xml", name).read_bytes()
    root = etree.fromstring(data)
    env = envelope.open_envelope(data)
    blocks = root.findall(f"{{{envelope.EF}}}Package/Elements")
    expected = [(b.findtext("ElementType"), el) for b in blocks for el in b.find("ElementList") if isinstance(el.tag, str)]
    assert len(env.items) == len(expected) == sum(int(b.findtext("ElementCount")) for b in blocks)
    assert [it.position for it in env.items] == list(range(1, len(expected) + 1))
    for it, (etype, el) in zip(env.items, expected):
        assert it.element_type == etype and it.kind in _KIND_OF_TYPE[etype]
        assert it.element.tag == el.tag and it.line == el.sourceline
    assert env.header.type == root.findtext(f".//{{{SH}}}DocumentIdentification/{{{SH}}}Type")
    assert env.header.instance_id == root.findtext(f".//{{{SH}}}InstanceIdentifier")
    assert [(p, k, e.tag) for p, k, e in envelope.documents(data)] == [(i.position, i.kind, i.element.tag) for i in env.items]


@pytest.mark.parametrize("name", _zarfs())
def test_findings_by_position_are_gibs_for_each_document(oracle, name: str) -> None:
    """Validating the envelope and splitting its findings by position gives, for each
    document, exactly the GİB rules saxonche reports on that document taken out of it
    (user-account documents are judged with the envelope's sender, so only invoices and
    answers are compared)."""
    data = shared("gib", "e-FaturaPaketi", "xml", name).read_bytes()
    report = validate(data).to_dict()
    positions = envelope.position_reports(data, report["findings"])
    assert sum(len(p["findings"]) for p in positions) == len(report["findings"])
    env = envelope.open_envelope(data)
    for it in env.items:
        if it.kind == "user-account":
            continue
        ours = {f["rule"] for f in positions[it.position]["findings"] if f["source"] == "gib"}
        ref = {rid for rid, _ in oracle.schematron(it.xml())}
        assert ours == ref, (it.position, sorted(ours ^ ref))


def _two_invoice_envelope(break_second: bool) -> bytes:
    """A SENDERENVELOPE around two of ubltr's fixture invoices (the second optionally
    without its cbc:UUID), built on GİB's own envelope sample."""
    base = etree.parse(str(shared("gib", "e-FaturaPaketi", "xml", "2_TICARI_FATURA_ZARF.xml"))).getroot()
    elements = base.find(f"{{{envelope.EF}}}Package/Elements")
    lst = elements.find("ElementList")
    for el in list(lst):
        lst.remove(el)
    for i, fx in enumerate(("TICARIFATURA-SATIS.xml", "TICARIFATURA-ISTISNA.xml")):
        inv = etree.parse(str(ROOT / "fixtures" / fx)).getroot()
        if break_second and i == 1:
            inv.remove(inv.find("{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}UUID"))
        lst.append(copy.deepcopy(inv))
    elements.find("ElementCount").text = "2"
    return etree.tostring(base, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def test_a_defect_is_reported_at_its_position(tmp_path) -> None:
    path = tmp_path / "zarf.xml"
    path.write_bytes(_two_invoice_envelope(break_second=True))
    r = CliRunner().invoke(cli, ["validate", "--format", "json", str(path)])
    assert r.exit_code == 1, r.output
    out = json.loads(r.output)
    pos = {p["position"]: p for p in out["positions"]}
    assert set(pos) == {0, 1, 2}
    assert pos[2]["errors"] > 0 and not pos[2]["valid"]
    assert any("UUID" in f["message"] or "UUID" in f["rule"] for f in pos[2]["findings"])
    assert not any("UUID" in f["rule"] for f in pos[1]["findings"])
    text = CliRunner().invoke(cli, ["validate", str(path)]).output
    assert "#2 Invoice" in text and "#1 Invoice" in text


def test_render_shows_every_document_of_an_envelope(tmp_path) -> None:
    """It used to print a blank page with exit 0."""
    data = _two_invoice_envelope(break_second=False)
    path = tmp_path / "zarf.xml"
    path.write_bytes(data)
    r = CliRunner().invoke(cli, ["render", str(path), "-o", str(tmp_path / "zarf.html")])
    assert r.exit_code == 0, r.output
    html = (tmp_path / "zarf.html").read_text(encoding="utf-8")
    env = envelope.open_envelope(data)
    for it in env.items:
        assert f'id="document-{it.position}"' in html
        assert it.number and it.number in html
        # the document's own page (its total, its parties) is inside its frame
        root = etree.fromstring(it.xml())
        party = root.findtext(".//{*}AccountingCustomerParty//{*}PartyName/{*}Name")
        assert party and party.replace("&", "&amp;") in html
    assert env.header.instance_id in html


@pytest.mark.parametrize("name", _zarfs())
def test_render_gib_envelopes(tmp_path, name: str) -> None:
    data = shared("gib", "e-FaturaPaketi", "xml", name).read_bytes()
    r = CliRunner().invoke(cli, ["render", "-", "-o", str(tmp_path / "out.html")], input=data)
    assert r.exit_code == 0, r.output
    html = (tmp_path / "out.html").read_text(encoding="utf-8")
    for it in envelope.open_envelope(data).items:
        assert f'id="document-{it.position}"' in html and (it.uuid or it.number or it.root) in html


def test_not_an_envelope_is_said_so() -> None:
    with pytest.raises(envelope.EnvelopeError, match="not sh:StandardBusinessDocument"):
        envelope.open_envelope((ROOT / "fixtures" / "TICARIFATURA-SATIS.xml").read_bytes())
    with pytest.raises(envelope.EnvelopeError, match="line"):
        envelope.open_envelope(b"<sh:StandardBusinessDocument xmlns:sh='x'>")
