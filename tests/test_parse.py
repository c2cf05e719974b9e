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


# ------------------------------------------------------------------ the reading plans

def _expected(el: etree._Element, plan: dict, prefix: str = "") -> dict:
    """What a reading plan takes from ``el``, asked of lxml's own ElementPath (``find``
    and ``findall`` with the plan's paths): the first element of each slot, in document
    order, every element of a list slot, each list element's own plan read by itself."""
    out: dict = {}
    for tag, entry in plan.items():
        path = prefix + tag
        if isinstance(entry, str):
            found = el.find(path)
            if found is not None:
                out[entry] = found
        elif isinstance(entry, tuple):
            found = el.find(path)
            if found is not None:
                out[entry[0]] = found
                out.update(_expected(el, entry[1], path + "/"))
        else:
            found = el.findall(path)
            if found:
                out[entry[0]] = found
                if len(entry) > 1:
                    out[entry[0] + "_k"] = [_expected(x, entry[1]) for x in found]
    return out


_ODD_LINE = b"""<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
<cac:InvoiceLine><!-- a comment --><cbc:ID>1</cbc:ID><?pi here?>
 <cac:Price><cbc:BaseQuantity>2</cbc:BaseQuantity></cac:Price>
 <cbc:InvoicedQuantity unitCode="C62">2</cbc:InvoicedQuantity><cbc:InvoicedQuantity>3</cbc:InvoicedQuantity>
 <cac:Price><cbc:PriceAmount currencyID="TRY">10</cbc:PriceAmount><cbc:PriceAmount>11</cbc:PriceAmount></cac:Price>
 <cac:TaxTotal><cac:TaxSubtotal><cbc:Percent>20</cbc:Percent><cac:TaxCategory><cbc:Percent>18</cbc:Percent>
   <cac:TaxScheme><cbc:TaxTypeCode>0015</cbc:TaxTypeCode></cac:TaxScheme><cac:TaxScheme><cbc:TaxTypeCode>0003</cbc:TaxTypeCode>
   </cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>
 <cac:TaxTotal><cac:TaxSubtotal><cbc:TaxAmount>1</cbc:TaxAmount></cac:TaxSubtotal><cac:TaxSubtotal/></cac:TaxTotal>
 <cac:AllowanceCharge><cbc:Amount>1</cbc:Amount></cac:AllowanceCharge><cac:AllowanceCharge/>
 <cac:Item><cbc:Name>a</cbc:Name></cac:Item><cac:Item><cbc:Name>b</cbc:Name><cbc:Description>c</cbc:Description>
 <cac:AdditionalItemIdentification><cbc:ID schemeID="X">1</cbc:ID><cbc:ID>2</cbc:ID></cac:AdditionalItemIdentification></cac:Item>
 <cbc:Note>n1</cbc:Note><cbc:Note>n2</cbc:Note>
</cac:InvoiceLine></Invoice>"""


def test_each_reading_plan_takes_what_elementpath_finds():
    """The reading plans, compiled into one function each (``_compiled``), take from
    every line, party, address and document what lxml's ElementPath finds at the same
    paths: the first match in document order, over repeated aggregates (two Prices, two
    TaxTotals, two Items), comments and processing instructions passed over."""
    from ubltr import parsing as P

    docs = [_ODD_LINE] + [f.read_bytes() for f in INVOICES]
    plans = [(P._gather_line, P._LINE_PLAN, ".//cac:InvoiceLine"), (P._gather_root, P._ROOT_PLAN, "."),
             (P._gather_party, P._PARTY_PLAN, ".//cac:Party"), (P._gather_address, P._ADDRESS_PLAN, ".//cac:PostalAddress"),
             (P._gather_subtotal, P._SUBTOTAL_PLAN, ".//cac:TaxSubtotal"), (P._gather_ac, P._AC_PLAN, ".//cac:AllowanceCharge")]
    seen = 0
    for xml in docs:
        root = etree.fromstring(xml)
        for gather, plan, where in plans:
            for el in root.iterfind(where, NS) if where != "." else [root]:
                assert gather(el, {}) == _expected(el, plan), etree.tostring(el)[:300]
                seen += 1
    assert seen > (40 * 10 if INVOICES else 5)
    odd = P._gather_line(etree.fromstring(_ODD_LINE)[0], {})
    assert [odd[k].text for k in ("qty", "price", "base_qty", "name", "description")] == ["2", "10", "2", "a", "c"]
    assert odd["subtotals_k"][0]["pct"].text == "20" and odd["subtotals_k"][0]["cat_pct"].text == "18"
    assert odd["subtotals_k"][0]["code"].text == "0015" and len(odd["subtotals"]) == 3
