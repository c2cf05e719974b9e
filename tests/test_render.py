"""ubltr render: the view read from the XML, the Karekod payload against GİB's guide,
the embedded-XSLT sandbox, and the CLI.  (The real-browser checks are in
test_render_browser.py.)"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from conftest import shared
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ubltr import qr, view

NS = view.NS
GIB_XML = ("gib", "UBLTR_1.2.1_Paketi", "xml")


def gib_samples() -> list[Path]:
    return sorted(shared(*GIB_XML).glob("*.xml"))


def other_samples() -> list[Path]:
    return sorted(shared("samples").rglob("*.xml"))


def all_samples() -> list[Path]:
    return gib_samples() + other_samples()


def tree_of(path: Path) -> etree._ElementTree:
    return view.load_xml(path.read_bytes())


def parse_tr(text: str) -> Decimal:
    """Turkish digits back to a Decimal: '1.234,56' -> 1234.56 (independent of tr_number)."""
    return Decimal(text.replace(".", "").replace(",", "."))


def is_invoice(t: etree._ElementTree) -> bool:
    return etree.QName(t.getroot()).localname == "Invoice"


# ----------------------------------------------------------------------------- every sample


def test_every_sample_renders_with_our_template_and_shows_its_own_payable() -> None:
    """All 43 GİB samples and every sample under shared/samples, any root, through our
    template: no crash, the number is on the page, and for invoices the payable amount
    printed equals the document's own PayableAmount."""
    paths = all_samples()
    assert len(paths) >= 43
    invoices = 0
    for path in paths:
        tree = tree_of(path)
        html = view.render_html(path.read_bytes(), use_embedded=False).html.decode("utf-8")
        number = tree.getroot().findtext("cbc:ID", namespaces=NS)
        if number:
            assert number.strip() in html, path
        payable = tree.getroot().findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS)
        if payable and is_invoice(tree):
            invoices += 1
            m = re.search(r'id="payable">([-0-9.,]+)', html)
            assert m, path
            assert parse_tr(m.group(1)) == Decimal(payable.strip()), path
    assert invoices >= 40


def test_embedded_xslt_used_when_present_and_fallback_explained() -> None:
    used = fell_back = 0
    for path in gib_samples() + other_samples():
        tree = tree_of(path)
        try:
            has = view.embedded_xslt(tree) is not None
        except view.XsltError:
            has = True  # present but broken (e.g. IHRACAT.xml's empty attachment)
        r = view.render_html(path.read_bytes(), timeout=None)
        if r.source == "embedded":
            used += 1
            assert has
            assert b"<html" in r.html.lower() or b"<body" in r.html.lower(), path
        else:
            assert not has or r.warnings, path
            fell_back += bool(r.warnings)
    assert used >= 30  # GİB's YTB/HKS/IDIS samples and the providers' documents
    assert fell_back >= 2  # IHRACAT.xml and YOLCUBERABER.xml carry an empty XSLT


def test_view_of_withholding_invoice_is_the_documents_numbers() -> None:
    v = view.read_view(tree_of(shared(*GIB_XML, "TEVKIFAT.xml")))
    assert v.title == "e-FATURA" and v.type_code == "TEVKIFAT"
    assert v.supplier and v.supplier.vkn_tckn == "0890890895"
    assert v.customer and v.customer.tax_office == "Büyük Mükellefler"
    (w,) = v.totals.withholdings
    assert (w.code, w.percent, w.amount and w.amount.value) == ("606", Decimal(90), Decimal(3240))
    assert v.totals.payable and v.totals.payable.value == Decimal(20360)
    html = view.render_default(v)
    assert "Hesaplanan KDV Tevkifat(%90)" in html and "3.240,00 TL" in html
    assert "20.360,00 TL" in html and "e-FATURA" in html


def test_earsiv_title_and_words_note_preferred() -> None:
    v = view.read_view(tree_of(shared("samples", "signed", "ACI2022000000920.xml")))
    assert v.amount_in_words.startswith("# Yalnız")  # the document's own words, verbatim
    assert v.amount_in_words not in v.notes
    ea = view.read_view(tree_of(shared(*GIB_XML, "YTB_Satıs_EArşiv.xml")))
    assert ea.title == "e-ARŞİV FATURA"


def test_words_from_the_tax_engine_when_the_document_has_none() -> None:
    calc = pytest.importorskip("ubltr.calc")
    if not hasattr(calc, "amount_in_words"):
        pytest.skip("ubltr.calc.amount_in_words not available")
    v = view.read_view(tree_of(shared(*GIB_XML, "OTV.xml")))
    assert v.totals.payable is not None
    assert v.amount_in_words == calc.amount_in_words(v.totals.payable.value, "TRY")


def test_missing_optional_parts_do_not_crash() -> None:
    root = tree_of(shared(*GIB_XML, "TEVKIFAT.xml")).getroot()
    bare = etree.Element(root.tag, nsmap=root.nsmap)
    for keep in ("cbc:ProfileID", "cbc:ID", "cbc:InvoiceTypeCode"):
        bare.append(copy.deepcopy(root.find(keep, NS)))
    line = etree.SubElement(bare, f"{{{NS['cac']}}}InvoiceLine")
    etree.SubElement(line, f"{{{NS['cbc']}}}ID").text = "1"
    data = etree.tostring(bare)
    r = view.render_html(data)
    assert r.source == "default" and b"SRM2012000086985" in r.html
    v = view.read_view(view.load_xml(data))
    assert v.supplier is None and v.totals.payable is None and v.qr is not None


def test_autoescape_keeps_markup_in_notes_inert() -> None:
    root = tree_of(shared(*GIB_XML, "TEVKIFAT.xml")).getroot()
    note = etree.Element(f"{{{NS['cbc']}}}Note")
    note.text = '<script>alert("x")</script>'
    root.find("cbc:InvoiceTypeCode", NS).addnext(note)
    html = view.render_html(etree.tostring(root)).html.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


# ----------------------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
        b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><r>&b;</r>',
        b"<r><unclosed></r>",
        b"not xml at all",
    ],
)
def test_unsafe_or_broken_input_is_refused(data: bytes) -> None:
    with pytest.raises(view.DocumentError):
        view.load_xml(data)


def _with_xslt(stylesheet: str) -> bytes:
    import base64

    root = tree_of(shared(*GIB_XML, "TEVKIFAT.xml")).getroot()
    ref = etree.SubElement(root, f"{{{NS['cac']}}}AdditionalDocumentReference")
    etree.SubElement(ref, f"{{{NS['cbc']}}}ID").text = "x"
    att = etree.SubElement(ref, f"{{{NS['cac']}}}Attachment")
    obj = etree.SubElement(att, f"{{{NS['cbc']}}}EmbeddedDocumentBinaryObject", filename="x.xslt")
    obj.text = base64.b64encode(stylesheet.encode()).decode()
    root.find("cbc:InvoiceTypeCode", NS).addprevious(ref)  # position does not matter for the finder
    return etree.tostring(root)


XSL = 'xmlns:xsl="http://www.w3.org/1999/XSL/Transform"'


def test_embedded_xslt_cannot_read_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text("<s>TOPSECRET</s>")
    data = _with_xslt(
        f'<xsl:stylesheet version="1.0" {XSL}><xsl:template match="/">'
        f'<html><body><xsl:value-of select="document(\'{secret.as_uri()}\')"/></body></html>'
        "</xsl:template></xsl:stylesheet>"
    )
    r = view.render_html(data, timeout=None)
    assert b"TOPSECRET" not in r.html
    assert r.source == "default" and r.warnings


def test_embedded_xslt_cannot_write_files(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    data = _with_xslt(
        f'<xsl:stylesheet version="1.0" {XSL} xmlns:exsl="http://exslt.org/common" '
        'extension-element-prefixes="exsl"><xsl:template match="/">'
        f'<exsl:document href="{target.as_uri()}"><x>pwned</x></exsl:document><html/>'
        "</xsl:template></xsl:stylesheet>"
    )
    r = view.render_html(data, timeout=None)
    assert not target.exists()
    assert r.source == "default" and r.warnings


def test_runaway_embedded_xslt_is_stopped() -> None:
    data = _with_xslt(
        f'<xsl:stylesheet version="1.0" {XSL}><xsl:template match="/">'
        '<html><xsl:for-each select="//node()"><xsl:for-each select="//node()">'
        '<xsl:for-each select="//node()"><xsl:value-of select="count(//node())"/>'
        "</xsl:for-each></xsl:for-each></xsl:for-each></html></xsl:template></xsl:stylesheet>"
    )
    r = view.render_html(data, timeout=1.0)
    assert r.source == "default"
    assert any("did not finish" in w for w in r.warnings)


def test_working_embedded_xslt_is_applied() -> None:
    data = _with_xslt(
        f'<xsl:stylesheet version="1.0" {XSL} '
        'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        '<xsl:output method="html" encoding="UTF-8"/><xsl:template match="/">'
        '<html><body>OWN VIEW <xsl:value-of select="//cbc:ID[1]"/></body></html>'
        "</xsl:template></xsl:stylesheet>"
    )
    r = view.render_html(data)  # with the default (forked, time-limited) runner
    assert r.source == "embedded" and b"OWN VIEW" in r.html


# ----------------------------------------------------------------------------- Karekod


KEY_ORDER_HEAD = ["vkntckn", "avkntckn"]
KEY_ORDER_MID = ["senaryo", "tip", "tarih", "no", "ettn", "parabirimi", "malhizmettoplam"]


def guide_examples() -> list[dict[str, str]]:
    """The example Karekod JSONs printed in GİB's Karekod Standardı Kılavuzu V1.2 for
    e-Fatura (§2.1) and Yolcu Beraber e-Fatura (§2.1.1)."""
    text = shared("gib", "docs", "Karekod_Standardi_Kilavuzu_V.1.2.txt").read_text(encoding="utf-8")
    found = [m.group(0) for m in re.finditer(r'\{"vkntckn".*?\}', text, re.S)]
    return [json.loads(" ".join(f.split())) for f in found[:2]]


def _set(root: etree._Element, path: str, value: str) -> None:
    el = root.find(path, NS)
    assert el is not None, path
    el.text = value


def test_payload_matches_the_guides_own_examples() -> None:
    examples = guide_examples()
    assert len(examples) == 2 and "pasaportno" in examples[1]
    for example, sample in zip(examples, ("TemelFaturaOrnegi.xml", "YOLCUBERABER.xml"), strict=True):
        root = tree_of(shared(*GIB_XML, sample)).getroot()
        _set(root, "cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID", example["vkntckn"])
        _set(root, "cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID", example["avkntckn"])
        _set(root, "cbc:ProfileID", example["senaryo"])
        _set(root, "cbc:InvoiceTypeCode", example["tip"])
        _set(root, "cbc:IssueDate", example["tarih"])
        _set(root, "cbc:ID", example["no"])
        _set(root, "cbc:UUID", example["ettn"])
        _set(root, "cbc:DocumentCurrencyCode", example["parabirimi"])
        _set(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount", example["malhizmettoplam"])
        _set(root, "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", example["vergidahil"])
        _set(root, "cac:LegalMonetaryTotal/cbc:PayableAmount", example["odenecek"])
        total = root.find("cac:TaxTotal", NS)
        subs = total.findall("cac:TaxSubtotal", NS)
        for extra in subs[1:]:
            total.remove(extra)
        sub = subs[0]
        (pkey,) = [k for k in example if k.startswith("kdvmatrah(")]
        percent = pkey[len("kdvmatrah("):-1]
        _set(sub, "cbc:TaxableAmount", example[pkey])
        _set(sub, "cbc:TaxAmount", example[f"hesaplanankdv({percent})"])
        if sub.find("cbc:Percent", NS) is None:
            etree.SubElement(sub, f"{{{NS['cbc']}}}Percent").text = percent
            sub.append(sub.find("cac:TaxCategory", NS))  # keep the schema's element order
        else:
            _set(sub, "cbc:Percent", percent)
        if "pasaportno" in example:
            _set(root, "cac:BuyerCustomerParty/cac:Party/cac:Person/cac:IdentityDocumentReference/cbc:ID",
                 example["pasaportno"])
            _set(root, "cac:TaxRepresentativeParty/cac:PartyIdentification/cbc:ID", example["aracikurumvkn"])
        payload = view.read_view(root.getroottree()).qr
        assert payload is not None
        assert list(payload.items()) == list(example.items())


def test_payload_follows_the_guide_on_every_invoice_sample() -> None:
    """For every invoice sample: the guide's key set in the guide's order, formats as
    the guide shows them, and each value equal to the document's own field."""
    checked = 0
    for p in all_samples():
        tree = tree_of(p)
        if not is_invoice(tree):
            continue
        root = tree.getroot()
        payload = view.read_view(tree).qr
        assert payload is not None
        keys = list(payload)
        head = KEY_ORDER_HEAD + (["pasaportno", "aracikurumvkn"]
                                 if root.findtext("cbc:ProfileID", namespaces=NS) == "YOLCUBERABERFATURA"
                                 or root.xpath("cac:TaxRepresentativeParty/cac:PartyIdentification/"
                                               "cbc:ID[@schemeID='ARACIKURUMVKN']", namespaces=NS) else [])
        assert keys[: len(head)] == head, p
        assert keys[len(head): len(head) + len(KEY_ORDER_MID)] == KEY_ORDER_MID, p
        rest = keys[len(head) + len(KEY_ORDER_MID):]
        assert rest[-2:] == ["vergidahil", "odenecek"], p
        mid = rest[:-2]
        bases = [k for k in mid if k.startswith("kdvmatrah(")]
        taxes = [k for k in mid if k.startswith("hesaplanankdv(")]
        assert mid == bases + taxes and len(bases) == len(taxes), p
        assert [k[len("kdvmatrah("):] for k in bases] == [k[len("hesaplanankdv("):] for k in taxes]
        for k in bases:
            assert re.fullmatch(r"kdvmatrah\((\d+(\.\d+)?)?\)", k), (p, k)
        # values are the document's own
        ids = {
            "vkntckn": "cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='{}']",
            "avkntckn": "cac:AccountingCustomerParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='{}']",
        }
        for key, xp in ids.items():
            found = [root.findtext(xp.format(s), namespaces=NS) for s in ("VKN", "TCKN")]
            found = [f.strip() for f in found if f]
            assert payload[key] == (found[0] if found else ""), (p, key)
        for key, xp in (("senaryo", "cbc:ProfileID"), ("tip", "cbc:InvoiceTypeCode"), ("tarih", "cbc:IssueDate"),
                        ("no", "cbc:ID"), ("ettn", "cbc:UUID"), ("parabirimi", "cbc:DocumentCurrencyCode")):
            assert payload[key] == (root.findtext(xp, namespaces=NS) or "").strip(), (p, key)
        for key, xp in (("malhizmettoplam", "cac:LegalMonetaryTotal/cbc:LineExtensionAmount"),
                        ("vergidahil", "cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount"),
                        ("odenecek", "cac:LegalMonetaryTotal/cbc:PayableAmount")):
            raw = root.findtext(xp, namespaces=NS)
            if raw:
                assert re.fullmatch(r"-?\d+\.\d{2,}", payload[key]), (p, key, payload[key])
                assert Decimal(payload[key]) == Decimal(raw.strip()), (p, key)
        kdv = root.xpath("cac:TaxTotal/cac:TaxSubtotal[cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode='0015']",
                         namespaces=NS)
        assert sum((Decimal(payload[k]) for k in taxes), Decimal(0)) == sum(
            (Decimal(s.findtext("cbc:TaxAmount", namespaces=NS)) for s in kdv), Decimal(0)), p
        checked += 1
    assert checked >= 40


def _rasterize_qr_svg(svg: str, scale: int = 4) -> "Any":
    """The SVG drawn by ubltr.qr as a grayscale numpy image, from its viewBox and the
    stroked path (unit-wide strokes along 'Mx y.5' rows, 'hN' draws N modules, 'mN 0'
    skips N); anything else in the path fails here, so the decoder reads exactly what
    a browser paints."""
    np = pytest.importorskip("numpy")
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))  # type: ignore[union-attr]
    dark = re.search(r'<path stroke="#000" d="([^"]*)"', svg).group(1)  # type: ignore[union-attr]
    img = np.full((size * scale, size * scale), 255, dtype=np.uint8)
    pos, x, y = 0, 0, 0
    for m in re.finditer(r"M(\d+) (\d+)\.5|h(\d+)|m(\d+) 0", dark):
        assert m.start() == pos, dark[pos:pos + 40]
        if m.group(1) is not None:
            x, y = int(m.group(1)), int(m.group(2))
        elif m.group(3) is not None:
            w = int(m.group(3))
            img[y * scale:(y + 1) * scale, x * scale:(x + w) * scale] = 0
            x += w
        else:
            x += int(m.group(4))
        pos = m.end()
    assert pos == len(dark) > 0
    return img


def test_qr_svg_decodes_to_gibs_karekod_fields() -> None:
    """Every GİB invoice sample: the SVG ubltr draws, decoded by OpenCV's QR reader (not
    the encoder ubltr uses), is the Karekod JSON, and its fields are the document's own
    (number, ETTN, date, VKNs, payable) read here with XPath."""
    cv2 = pytest.importorskip("cv2")
    detectors = (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector())  # OpenCV's two readers; either may miss one
    checked = 0
    for p in gib_samples():
        t = tree_of(p)
        if not is_invoice(t):
            continue
        root = t.getroot()
        text = view.qr_text(view.read_view(t).qr)
        img = _rasterize_qr_svg(qr.svg(text))
        decoded = next((d for d in (det.detectAndDecode(img)[0] for det in detectors) if d), "")
        assert decoded, f"{p.name}: OpenCV could not read the Karekod"
        fields = json.loads(decoded)
        assert decoded == text, p.name
        for key, xp in (("no", "cbc:ID"), ("ettn", "cbc:UUID"), ("tarih", "cbc:IssueDate"),
                        ("parabirimi", "cbc:DocumentCurrencyCode")):
            assert fields[key] == root.findtext(xp, namespaces=NS).strip(), (p.name, key)
        supplier_ids = root.xpath("cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID"
                                  "[@schemeID='VKN' or @schemeID='TCKN']/text()", namespaces=NS)
        assert fields["vkntckn"] in [i.strip() for i in supplier_ids], p.name
        payable = root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS)
        assert Decimal(fields["odenecek"]) == Decimal(payable.strip()), p.name
        checked += 1
    assert checked >= 25, checked  # 28 of the 43 GİB samples are invoices


def test_qr_of_non_ascii_text_says_its_charset() -> None:
    """Text outside ASCII carries an ECI header, so a reader decodes it exactly
    (zxing-cpp's reader here: OpenCV does not read ECI)."""
    zxingcpp = pytest.importorskip("zxingcpp")
    np = pytest.importorskip("numpy")
    for text in ('{"no":"ABC2026000000001"}', '{"pasaportno":"Ğüşİ çö"}', '{"x":"€ ж"}'):
        img = _rasterize_qr_svg(qr.svg(text))
        (hit,) = zxingcpp.read_barcodes(np.ascontiguousarray(img))
        assert hit.text == text


# ----------------------------------------------------------------------------- formatting


@given(st.integers(0, 6).flatmap(lambda places: st.decimals(
    min_value=Decimal("-1e15"), max_value=Decimal("1e15"), places=places, allow_nan=False, allow_infinity=False)))
def test_turkish_numbers_round_trip(d: Decimal) -> None:
    text = view.tr_number(d)
    assert re.fullmatch(r"-?\d{1,3}(\.\d{3})*,\d{2,}", text), text
    assert parse_tr(text) == d


def test_money_keeps_the_documents_text_when_not_a_number() -> None:
    for weird in ("1E+999999999", "NaN", "-Infinity", "1e-99999", "12,50"):
        assert view._dec(weird) is None
    assert view.tr_money(view.Money(None, "TRY", "12,5abc")) == "12,5abc"
    assert view.tr_money(view.Money(Decimal("1234.5"), "TRY", "1234.5")) == "1.234,50 TL"
    assert view.tr_money(view.Money(Decimal("-0.5"), "USD", "-0.5")) == "-0,50 USD"
    assert view.tr_percent(Decimal("18.00")) == "%18" and view.tr_percent(Decimal("0.5")) == "%0,5"


def test_amounts_longer_than_the_decimal_context_keep_every_digit(tmp_path: Path) -> None:
    """Amounts of 29-30 digits (within what the view reads as numbers) are printed and
    put in the Karekod digit for digit: they were rounded to Decimal's 28-digit context
    (abs) or raised InvalidOperation (quantize), a traceback from ``ubltr render``."""
    root = etree.fromstring((Path(__file__).parents[1] / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes())
    total = root.find("cac:LegalMonetaryTotal", NS)
    total.find("cbc:TaxInclusiveAmount", NS).text = "1234567890123456789012345678.91"
    total.find("cbc:PayableAmount", NS).text = "12345678901234567890123456789"
    data = etree.tostring(root)
    html = view.render_html(data, use_embedded=False).html.decode("utf-8")
    assert "1.234.567.890.123.456.789.012.345.678,91 TL" in html
    assert 'id="payable">12.345.678.901.234.567.890.123.456.789,00 TL<' in html
    payload = view.read_view(view.load_xml(data)).qr
    assert payload is not None
    assert payload["vergidahil"] == "1234567890123456789012345678.91"
    assert payload["odenecek"] == "12345678901234567890123456789.00"
    src = tmp_path / "long.xml"
    src.write_bytes(data)
    r = ubltr("render", "--default-template", str(src), "-o", str(tmp_path / "long.html"))
    assert r.returncode == 0 and b"Traceback" not in r.stderr, r.stderr


# ----------------------------------------------------------------------------- CLI


def ubltr(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "ubltr.cli", *args], capture_output=True, input=stdin,
                          env={**os.environ, **(env or {})}, check=False)


def test_cli_renders_file_and_reports_fallback(tmp_path: Path) -> None:
    out = tmp_path / "o.html"
    r = ubltr("render", str(shared(*GIB_XML, "IHRACAT.xml")), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert b"default template" in r.stderr and b"Traceback" not in r.stderr
    assert "Ödenecek Tutar" in out.read_text(encoding="utf-8")


def test_cli_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>')
    for args in (["render", str(bad)], ["render", str(tmp_path / "missing.xml")]):
        r = ubltr(*args)
        assert r.returncode == 2 and b"Traceback" not in r.stderr and r.stderr.strip(), r.stderr


def test_cli_pdf_without_browser_exits_2(tmp_path: Path) -> None:
    r = ubltr("render", str(shared(*GIB_XML, "TEVKIFAT.xml")), "-o", str(tmp_path / "o.html"), "--pdf",
              env={"UBLTR_CHROMIUM": str(tmp_path / "no-such-browser")})
    assert r.returncode == 2 and b"Chromium" in r.stderr and b"Traceback" not in r.stderr
    assert not (tmp_path / "o.html").exists()


# ----------------------------------------------------------------------------- robustness


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_damaged_invoices_still_render(data: st.DataObject) -> None:
    """Drop arbitrary elements and put arbitrary text into others: the view and the
    template never crash, and whatever payable text is left is what the page shows."""
    name = data.draw(st.sampled_from(["TEVKIFAT.xml", "OTV.xml", "YOLCUBERABER.xml", "TemelFaturaOrnegi.xml"]))
    root = tree_of(shared(*GIB_XML, name)).getroot()
    elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    for el in data.draw(st.lists(st.sampled_from(elements), max_size=12)):
        if el.getparent() is not None:
            el.getparent().remove(el)
    leaves = [e for e in root.iter() if isinstance(e.tag, str) and len(e) == 0 and e is not root]
    for el in data.draw(st.lists(st.sampled_from(leaves), max_size=6)) if leaves else []:
        el.text = data.draw(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12))
    r = view.render_html(etree.tostring(root), use_embedded=False)
    html = r.html.decode("utf-8")
    assert "</html>" in html
    payable = root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=NS)
    if payable and payable.strip() and view._dec(payable.strip()) is not None:
        m = re.search(r'id="payable">([^<]*)<', html)
        assert m and parse_tr(m.group(1).split()[0]) == Decimal(payable.strip())


# ----------------------------------------------------------------------------- the line reader


def _spec_line(el: etree._Element, currency: str) -> view.Line:
    """What each field of a line means, stated with lxml's ElementPath (``find``: the
    first match in document order): the one-pass reader must read the same."""

    def text(node: etree._Element | None, path: str | None = None) -> str:
        if node is not None and path:
            node = node.find(path, NS)
        return " ".join(node.text.split()) if node is not None and node.text else ""

    def money(node: etree._Element | None, path: str) -> view.Money | None:
        found = node.find(path, NS) if node is not None else None
        if found is None or not (found.text or "").strip():
            return None
        raw = found.text.strip()
        return view.Money(view._dec(raw), found.get("currencyID") or currency, raw)

    def total(items: list[view.Money | None]) -> view.Money | None:
        vals = [m for m in items if m is not None]
        if not vals or any(m.value is None for m in vals):
            return None
        s = sum((m.value for m in vals if m.value is not None), Decimal(0))
        return view.Money(s, vals[0].currency or currency, str(s))

    def taxes(path: str) -> list[view.Tax]:
        out = []
        for sub in el.findall(path + "/cac:TaxSubtotal", NS):
            code = text(sub, "cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode")
            out.append(view.Tax(
                code=code, name=view._tax_name(code, text(sub, "cac:TaxCategory/cac:TaxScheme/cbc:Name")),
                percent=view._dec(text(sub, "cbc:Percent") or text(sub, "cac:TaxCategory/cbc:Percent")),
                amount=money(sub, "cbc:TaxAmount"), taxable=money(sub, "cbc:TaxableAmount"),
                exemption_code=text(sub, "cac:TaxCategory/cbc:TaxExemptionReasonCode"),
                exemption_reason=text(sub, "cac:TaxCategory/cbc:TaxExemptionReason")))
        return out

    qty = next((c for c in el if isinstance(c.tag, str) and c.tag.startswith(f"{{{NS['cbc']}}}")
                and c.tag.endswith("Quantity")), None)
    qty_raw = (qty.text or "").strip() if qty is not None else ""
    acs = el.findall("cac:AllowanceCharge", NS)
    allowances = [a for a in acs if text(a, "cbc:ChargeIndicator") != "true"]
    factor = view._dec(text(allowances[0], "cbc:MultiplierFactorNumeric")) if len(allowances) == 1 else None
    line_taxes = taxes("cac:TaxTotal")
    kdv = [t for t in line_taxes if t.code == "0015"]
    item = el.find("cac:Item", NS)
    extra = " ".join(p for p in (text(item, "cbc:BrandName"), text(item, "cbc:ModelName")) if p)
    name = text(item, "cbc:Name")
    return view.Line(
        no=text(el, "cbc:ID"),
        name=(f"{name} ({extra})" if name else extra) if extra else name,
        description=text(item, "cbc:Description"),
        quantity=view._dec(qty_raw), quantity_raw=qty_raw,
        unit=(qty.get("unitCode") or "") if qty is not None else "",
        unit_price=money(el, "cac:Price/cbc:PriceAmount"),
        discount=total([money(a, "cbc:Amount") for a in allowances]),
        discount_rate=factor * 100 if factor is not None else None,
        charge=total([money(a, "cbc:Amount") for a in acs if a not in allowances]),
        kdv_percent=kdv[0].percent if len(kdv) == 1 else None,
        kdv_amount=total([t.amount for t in kdv]) if kdv else None,
        other_taxes=tuple(t for t in line_taxes if t.code != "0015"),
        withholdings=tuple(taxes("cac:WithholdingTaxTotal")),
        amount=money(el, "cbc:LineExtensionAmount"),
        notes=tuple(t for t in (text(n) for n in el.findall("cbc:Note", NS)) if t),
    )


_FIXTURES = Path(__file__).parents[1] / "fixtures"
_LINE_TEXTS = st.sampled_from(["", " ", "true", "false", "0015", "9015", "4080", "602", "KDV", "ÖTV", "20", "18.00",
                               "0.05", "-1", "1E+3", "abc", "12.5", " 7 ", "2024-01-31", "a  b\tc"])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_line_reader_reads_what_find_reads_on_untidy_lines(data: st.DataObject) -> None:
    """Lines with elements duplicated (first one wins), moved to the wrong parent
    (ignored), deleted, re-texted or with comments inside: the one-pass line reader
    (each element visited once, in document order) gives the Line that ``find`` paths
    give, field by field, and makes every field of the dataclass."""
    import dataclasses

    name = data.draw(st.sampled_from(["TEMELFATURA-SATIS.xml", "TEMELFATURA-TEVKIFAT.xml",
                                      "TEMELFATURA-KONAKLAMAVERGISI.xml", "EARSIVFATURA-IADE.xml"]))
    root = etree.fromstring((_FIXTURES / name).read_bytes())
    line = copy.deepcopy(root.find("cac:InvoiceLine", NS))
    for _ in range(data.draw(st.integers(1, 8))):
        elements = [e for e in line.iter() if isinstance(e.tag, str) and e is not line]
        if not elements:
            break
        el = data.draw(st.sampled_from(elements))
        op = data.draw(st.sampled_from(["duplicate", "move", "comment", "delete", "text"]))
        if op == "duplicate":
            twin = copy.deepcopy(el)
            for leaf in twin.iter():
                if isinstance(leaf.tag, str) and len(leaf) == 0:
                    leaf.text = data.draw(_LINE_TEXTS)
            (el.addprevious if data.draw(st.booleans()) else el.addnext)(twin)
        elif op == "move":
            targets = [t for t in line.iter() if isinstance(t.tag, str) and t is not el
                       and el not in t.iterancestors()]
            target = data.draw(st.sampled_from(targets))
            target.insert(data.draw(st.integers(0, len(target))), el)
        elif op == "comment":
            el.insert(data.draw(st.integers(0, len(el))), etree.Comment("x"))
        elif op == "delete":
            el.getparent().remove(el)
        elif len(el) == 0:
            el.text = data.draw(_LINE_TEXTS)
    read = view._Reader("TRY").line(line)
    assert {f.name for f in dataclasses.fields(view.Line)} == set(vars(read))
    spec = _spec_line(line, "TRY")
    for f in dataclasses.fields(view.Line):
        assert getattr(read, f.name) == getattr(spec, f.name), (f.name, etree.tostring(line).decode())
    assert read == spec


def test_an_amount_split_by_a_comment_or_a_pi_is_shown_whole() -> None:
    """Issue #11's case on GİB's own sample: PayableAmount written as
    ``5<!---->7494.67`` (or with a PI inside) is one amount, as XPath's string() reads
    it; the view showed the first text node alone.  The caller's tree is not changed."""
    tree = tree_of(shared("gib", "UBLTR_1.2.1_Paketi", "xml", "TemelFaturaOrnegi.xml"))
    payable = tree.getroot().find("cac:LegalMonetaryTotal/cbc:PayableAmount", NS)
    whole = payable.xpath("string(.)").strip()
    assert len(whole) >= 3
    for splitter in (etree.Comment(""), etree.ProcessingInstruction("x", "y")):
        payable.text = whole[:1]
        splitter.tail = whole[1:]
        payable.append(splitter)
        assert payable.xpath("string(.)") == whole  # XPath, not ubltr, says what the amount is
        v = view.read_view(tree)
        assert v.totals.payable is not None and v.totals.payable.raw == whole
        assert len(payable) == 1  # the caller's tree is untouched
        html = view.render_html(etree.tostring(tree), use_embedded=False).html.decode("utf-8")
        assert view.tr_number(Decimal(whole)) in html
        payable.remove(splitter)
        payable.text = whole


def _invoice_with_address_pieces_fax_and_line_notes() -> dict[str, Any]:
    """A minimal invoice of our own (the fixture's parties, one line) with what issue
    #11 added to the model, in the JSON contract's names (README): lines[].notes,
    address room / block_name / building_name / region, a party's fax."""
    d = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))
    d["lines"] = d["lines"][:1]
    d["lines"][0]["notes"] = ["Teslimat 3 iş günü içinde", "Seri no: SN-0042 <kutu>"]
    d["supplier"]["address"].update(room="7", block_name="B2", building_name="Moda Plaza", region="Marmara")
    d["supplier"]["fax"] = "+90 216 000 00 01"
    d["customer"]["address"].update(room="18", block_name="C", building_name="Kule İş Merkezi", region="İç Anadolu")
    d["customer"]["phone"] = "+90 312 000 00 03"
    d["customer"]["fax"] = "+90 312 000 00 02"
    return d


#: What the page must say for each piece, as GİB's general.xslt prints it (building name
#: before "No:", the room as "Kapı No:", "Tel: ... Fax: ..."); the block and the region,
#: which general.xslt leaves out, where GİB's appResponse.xslt puts them.
SHOWN_AS = (
    "Moda Cad. Blok:B2 Moda Plaza No:12", "Kapı No:7", "34710 Kadıköy / İstanbul, Marmara",
    "Tel: +90 216 000 00 00 Fax: +90 216 000 00 01",
    "Atatürk Bulvarı Blok:C Kule İş Merkezi No:101", "Kapı No:18", "Çankaya / Ankara, İç Anadolu",
    "Tel: +90 312 000 00 03 Fax: +90 312 000 00 02",
    "Teslimat 3 iş günü içinde", "Seri no: SN-0042 <kutu>",
)


def _page_text(html: bytes) -> str:
    """The text a reader sees: tags dropped, entities decoded, whitespace (and GİB's
    no-break spaces) folded, as lxml's HTML parser reads the page."""
    doc = etree.fromstring(html, etree.HTMLParser())
    return " ".join("".join(doc.itertext()).replace("\xa0", " ").split())


def test_view_shows_line_notes_address_pieces_and_fax_as_gib_does() -> None:
    """Built by ubltr from neutral JSON, rendered by our template: each piece is on the
    page in GİB's form, and GİB's own general.xslt (run by lxml on the same document)
    prints the pieces it shows in that same form; the Karekod still decodes."""
    import ubltr

    xml = ubltr.build(ubltr.load(_invoice_with_address_pieces_fax_and_line_notes()))
    ours = _page_text(view.render_html(xml, use_embedded=False).html)
    for piece in SHOWN_AS:
        assert piece in ours, piece
    assert "Daire:" not in ours  # the room was "Daire:" before; GİB says "Kapı No:"
    general = shared("gib", "UBLTR_1.2.1_Paketi", "xml", "general.xslt")
    gib = _page_text(bytes(etree.XSLT(etree.parse(str(general)))(etree.fromstring(xml))))
    for piece in ("Moda Plaza No:12", "Kule İş Merkezi No:101", "Kapı No:18",
                  "Tel: +90 216 000 00 00 Fax: +90 216 000 00 01", "Tel: +90 312 000 00 03 Fax: +90 312 000 00 02"):
        assert piece in gib, piece  # GİB's viewer prints them so (not the line notes, block or region)
    cv2 = pytest.importorskip("cv2")
    text = view.qr_text(view.read_view(view.load_xml(xml)).qr)
    img = _rasterize_qr_svg(qr.svg(text))
    decoded = next((d for d in (det.detectAndDecode(img)[0]
                                for det in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector())) if d), "")
    assert decoded == text and json.loads(decoded)["odenecek"] == "57000.00"


def test_an_unforeseen_rendering_error_is_reported_for_its_document_and_the_batch_goes_on(tmp_path, monkeypatch) -> None:
    """A failure that is not the document's (a bug in the view, a template error) used to
    abort render_files, and with it every document after it; now that one document is
    reported as "render" and the others are written."""
    from ubltr import viewfiles

    root = Path(__file__).resolve().parents[1]
    jobs = []
    for i in range(3):
        src = tmp_path / f"in{i}.xml"
        src.write_bytes((root / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes())
        jobs.append(viewfiles.ViewJob(src, html=tmp_path / f"out{i}.html"))
    real = view.render_html
    calls = []

    def flaky(data: bytes, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise KeyError("a bug")
        return real(data, **kw)

    monkeypatch.setattr(view, "render_html", flaky)
    outcomes = {o.job.source.name: o for o in viewfiles.render_files(jobs)}
    assert len(outcomes) == 3
    bad = outcomes["in1.xml"]
    assert bad.kind == "render" and "KeyError" in (bad.error or "")
    assert outcomes["in0.xml"].error is None and outcomes["in2.xml"].error is None
    assert (tmp_path / "out0.html").exists() and (tmp_path / "out2.html").exists()
    assert not (tmp_path / "out1.html").exists()


@pytest.mark.parametrize("page, scripted", [
    ("<p>düz</p>", False), ("<SCRIPT>1</SCRIPT>", True), ('<body onload="x()">', True),
    ("<body\nONLOAD = x>", True), ('<a href="JavaScript:void(0)">', True),
    ("<p>bonus=1, on=2</p>", False), ("<p>Kampanya onay = evet</p>", True),
])
def test_pages_with_a_script_or_handler_are_not_written_into_the_tab(page: str, scripted: bool) -> None:
    """What ``PdfPrinter.print_html`` prints by navigation instead (a script, an inline
    handler in any case, a javascript: link); text that only looks like a handler
    ("onay = evet") is taken for one: the page is then navigated to, which is only
    slower."""
    from ubltr.chromium import _scripted

    assert _scripted(page) is scripted
