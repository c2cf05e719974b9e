"""e-İrsaliye for people: ubltr's own template (``ubltr render``) shows a despatch's
logistics and a receipt's answer, and GİB's own viewers (irsaliye.xslt,
irsaliyeyaniti.xslt from the 1.2.1 package, embedded the way senders embed them) run on
the documents ubltr builds.  The browser half is checked in headless Chromium and skips
when it is absent."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from lxml import etree
from lxml import html as lhtml

from conftest import ROOT, shared
from ubltr import view

FIXTURES = ROOT / "fixtures" / "despatch"
CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"


def text_of(html: bytes) -> str:
    return " ".join(lhtml.fromstring(html).text_content().split())


def with_gib_xslt(xml: bytes, xslt_name: str) -> bytes:
    """The document with GİB's viewer attached as senders do (AdditionalDocumentReference
    / Attachment / EmbeddedDocumentBinaryObject, base64)."""
    xslt = shared("gib", "UBLTR_1.2.1_Paketi", "xml", xslt_name).read_bytes()
    root = etree.fromstring(xml)
    ref = etree.Element(CAC + "AdditionalDocumentReference")
    etree.SubElement(ref, CBC + "ID").text = root.findtext(CBC + "ID")
    etree.SubElement(ref, CBC + "IssueDate").text = root.findtext(CBC + "IssueDate")
    etree.SubElement(ref, CBC + "DocumentType").text = "XSLT"
    att = etree.SubElement(ref, CAC + "Attachment")
    obj = etree.SubElement(att, CBC + "EmbeddedDocumentBinaryObject", characterSetCode="UTF-8",
                           encodingCode="Base64", filename=xslt_name, mimeCode="application/xml")
    obj.text = base64.b64encode(xslt).decode()
    root.find(CAC + "Signature").addprevious(ref)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def expected_despatch_texts(name: str) -> list[str]:
    """What a reader must find, taken from the neutral JSON (not from the XML)."""
    d = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    s = d["shipment"]
    out = [d["id"], d["customer"].get("name") or d["customer"]["last_name"]]
    out += [p["id"] for p in s.get("vehicle_plates", []) + s.get("trailer_plates", [])]
    out += [f'{x["first_name"]} {x["last_name"]}' for x in s.get("drivers", [])]
    out += [ln["name"] for ln in d["lines"]]
    return out


@pytest.mark.parametrize("name", ["TEMELIRSALIYE-SEVK", "TEMELIRSALIYE-SEVK-YABANCIPLAKA", "IDISIRSALIYE-MATBUDAN"])
def test_our_template_shows_the_shipment(name: str) -> None:
    result = view.render_html((FIXTURES / f"{name}.xml").read_bytes())
    assert result.source == "default"
    text = text_of(result.html)
    for want in expected_despatch_texts(name):
        assert want in text, want
    d = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    assert d["shipment"]["delivery_address"]["postal_code"] in text
    for ln in d["lines"]:
        if "outstanding_quantity" in ln:
            assert f'Kalan (sonra gönderilecek): {ln["outstanding_quantity"]}' in text
            assert ln["outstanding_reason"] in text
        for v in ln.get("item_ids", {}).values():
            for label in (v if isinstance(v, list) else [v]):
                assert label in text


def test_our_template_shows_the_receipts_answer() -> None:
    d = json.loads((FIXTURES / "RECEIPT-KISMI.json").read_text(encoding="utf-8"))
    text = text_of(view.render_html((FIXTURES / "RECEIPT-KISMI.xml").read_bytes()).html)
    assert "e-İRSALİYE YANITI" in text and d["despatch"]["uuid"] in text
    first, second = d["lines"]
    assert f'Reddedilen: {first["rejected_quantity"]}' in text and first["reject_reason"] in text
    assert f'Eksik: {first["short_quantity"]}' in text
    assert f'Fazla: {second["oversupply_quantity"]}' in text and second["timing_complaint"] in text


@pytest.mark.parametrize("name, xslt", [("TEMELIRSALIYE-SEVK", "irsaliye.xslt"), ("RECEIPT-KISMI", "irsaliyeyaniti.xslt")])
def test_gibs_own_viewer_runs_on_our_documents(name: str, xslt: str) -> None:
    result = view.render_html(with_gib_xslt((FIXTURES / f"{name}.xml").read_bytes(), xslt))
    assert result.source == "embedded" and not result.warnings
    d = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    html = result.html.decode("utf-8")
    assert d["id"] in html and d["lines"][0]["name"] in html


# ------------------------------------------------------------------ headless Chromium

browser = pytest.mark.skipif(view.find_browser() is None, reason="headless Chromium not installed")


def dom_text(page: Path) -> str:
    proc = view.run_browser(["--dump-dom", "--virtual-time-budget=3000"], page.resolve().as_uri())
    dom = proc.stdout.decode("utf-8", "replace")
    assert "<body" in dom.lower(), proc.stderr.decode("utf-8", "replace")[-500:]
    return " ".join(lhtml.fromstring(dom).text_content().split())


@browser
@pytest.mark.parametrize("name, embedded", [("TEMELIRSALIYE-SEVK", None), ("TEMELIRSALIYE-SEVK", "irsaliye.xslt"),
                                            ("TEMELIRSALIYE-SEVK-YABANCIPLAKA", None)])
def test_despatch_in_chromium(name: str, embedded: str | None, tmp_path: Path) -> None:
    data = (FIXTURES / f"{name}.xml").read_bytes()
    if embedded:
        data = with_gib_xslt(data, embedded)
    result = view.render_html(data)
    page = tmp_path / "page.html"
    page.write_bytes(result.html)
    text = dom_text(page)
    wanted = expected_despatch_texts(name)  # GİB's viewer shows these too (number, parties, plates, drivers, lines)
    for want in wanted:
        assert want in text, want
    pdf = tmp_path / "page.pdf"
    view.html_to_pdf(page, pdf)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000
