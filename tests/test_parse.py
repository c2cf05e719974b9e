"""parse(): every invoice among GİB's samples and the integrators' samples reads into
the model; what it reads agrees with what the document says; unsafe input is refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from conftest import SHARED
from ubltr.parsing import NS, ParseError, parse

INV = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"


def _invoices():
    if not SHARED.exists():
        return []
    files = sorted(SHARED.glob("gib/UBLTR_1.2.1_Paketi/xml/*.xml")) + sorted(SHARED.glob("samples/**/*.xml")) \
        + sorted(SHARED.glob("gib/e-FaturaPaketi/xml/*.xml"))
    out = []
    for f in files:
        try:
            root = etree.parse(str(f), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
        except etree.XMLSyntaxError:
            continue
        if root.tag == INV:
            out.append(f)
    return out


INVOICES = _invoices()


def test_the_corpus_is_there():
    if not SHARED.exists():
        pytest.skip("../shared not present")
    assert len(INVOICES) >= 40


@pytest.mark.parametrize("path", INVOICES, ids=lambda p: p.name)
def test_real_invoice_parses_and_agrees_with_the_document(path):
    inv = parse(path.read_bytes())
    root = etree.fromstring(path.read_bytes(), etree.XMLParser(resolve_entities=False, no_network=True))
    assert inv.id == root.findtext("cbc:ID", namespaces=NS)
    assert inv.profile == (root.findtext("cbc:ProfileID", namespaces=NS) or "").strip()
    assert len(inv.lines) == len(root.findall("cac:InvoiceLine", NS))
    for ln, el in zip(inv.lines, root.findall("cac:InvoiceLine", NS)):
        q = el.findtext("cbc:InvoicedQuantity", namespaces=NS)
        if q and q.strip():
            assert ln.quantity == Decimal(q.strip())


def test_non_invoices_and_unsafe_documents_are_refused():
    with pytest.raises(ParseError, match="not a UBL Invoice"):
        parse(b"<a/>")
    with pytest.raises(ParseError, match="not well-formed"):
        parse(b"<Invoice")
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&a;</Invoice>'
    with pytest.raises(ParseError, match="DOCTYPE"):
        parse(bomb)


@pytest.mark.parametrize("fixture", ["TEMELFATURA-SATIS.json", "IHRACAT-ISTISNA.json"])
def test_a_users_own_yalniz_note_survives_the_round_trip(fixture):
    """Only the amount-in-words notes the builder writes (the words of PayableAmount and,
    for a foreign currency, of its TRY equivalent) are dropped by parse; a user's note
    that merely starts with "Yalnız ", or even repeats those words, is kept."""
    import json
    from pathlib import Path

    from ubltr import compute, load
    from ubltr.render import build

    data = json.loads((Path(__file__).resolve().parent.parent / "fixtures" / fixture).read_text(encoding="utf-8"))
    inv = load(data)
    totals = compute(inv)
    own = ("Yalnız nakit ödeme kabul edilir", totals.words)
    data["notes"] = list(data.get("notes", [])) + list(own)
    inv = load(data)
    back = parse(build(inv))
    assert back.notes == inv.notes
    assert back == inv


def test_internet_sale_payment_date_comes_from_the_reference_or_payment_means():
    """The INTERNET_SATIS reference's IssueDate is the payment date; without it,
    PaymentMeans' PaymentDueDate (ubltr writes both); without either, a ParseError
    naming the line, not a model holding None."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "fixtures" / "EARSIVFATURA-ISTISNA.xml"
    root = etree.fromstring(path.read_bytes())
    ref = next(a for a in root.findall("cac:AdditionalDocumentReference", NS)
               if a.findtext("cbc:DocumentTypeCode", namespaces=NS) == "INTERNET_SATIS")
    date = parse(root).earchive.internet_sale.payment_date
    ref.remove(ref.find("cbc:IssueDate", NS))
    assert parse(root).earchive.internet_sale.payment_date == date
    due = root.find("cac:PaymentMeans/cbc:PaymentDueDate", NS)
    due.getparent().remove(due)
    with pytest.raises(ParseError, match=rf"line {ref.sourceline}: the INTERNET_SATIS .* no cbc:IssueDate"):
        parse(root)
