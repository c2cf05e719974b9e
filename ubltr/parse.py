"""UBL-TR XML → the neutral model: ``parse(xml) -> Invoice``.

Reads any UBL-TR 1.2 invoice (ours, GİB's samples, other integrators') leniently:
the parser takes what the document says and does not re-validate it (that is
:mod:`ubltr.validate`'s job), so a real-world invoice with an old tax rate or an
invalid VKN still parses.  ``parse(build(x)) == x`` for every invoice ``x`` that
``load`` accepts with ``id`` and ``uuid`` set.

What the builder adds and the parser removes again, so that the identity holds:
the amount-in-words notes (exactly the words of PayableAmount, and of its TRY
equivalent for a foreign currency; a user's own "Yalnız ..." note is kept), the default
exemption reason text, document delivery terms repeated on each IHRACAT line, and
the payment means written for an e-Arşiv internet sale.

Parsing is safe by construction: no DTD, no entity expansion, no network, and a
size limit (:data:`MAX_BYTES`).
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Iterable

from lxml import etree

from . import xmlsafe

from .model import (
    Address, AllowanceCharge, Carrier, Delivery, DocumentReference, EArchive, Exemption,
    InternetSale, Invoice, Line, default_exemption_reason, LineDelivery, Package, Party, Payment, Period, Tax, Withholding,
)

__all__ = ["parse", "ParseError", "MAX_BYTES", "safe_parser"]

MAX_BYTES = xmlsafe.MAX_BYTES  # ubltr's one document size limit

NS = {
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_CAC = "{%s}" % NS["cac"]
_CBC = "{%s}" % NS["cbc"]
_INTERNET_TYPES = {"KREDIKARTI/BANKAKARTI", "EFT/HAVALE", "KAPIDAODEME", "ODEMEARACISI", "DIGER"}


class ParseError(ValueError):
    """The bytes are not a UBL-TR invoice we can read (with the line where known)."""


def safe_parser() -> etree.XMLParser:
    return xmlsafe.parser()


def _root(source: bytes | str | Path | etree._Element) -> etree._Element:
    if isinstance(source, etree._Element):
        return source
    if isinstance(source, etree._ElementTree):
        return source.getroot()
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("<")):
        p = Path(source)
        if p.stat().st_size > MAX_BYTES:
            raise ParseError(f"{p}: larger than {MAX_BYTES} bytes")
        source = p.read_bytes()
    if isinstance(source, str):
        source = source.encode("utf-8")
    try:
        return xmlsafe.fromstring(source, max_bytes=MAX_BYTES)
    except xmlsafe.UnsafeXML as exc:
        raise ParseError(str(exc)) from None


def _t(el: etree._Element | None, path: str) -> str | None:
    if el is None:
        return None
    found = el.find(path, NS)
    if found is None or found.text is None or not found.text.strip():
        return None
    return found.text  # kept exactly: nothing the document says is changed


def _dec(el: etree._Element | None, path: str) -> Decimal | None:
    s = _t(el, path)
    if s is None or el is None:
        return None
    s = s.strip()
    try:
        return Decimal(s)
    except InvalidOperation:
        raise ParseError(f"line {el.find(path, NS).sourceline}: '{s}' is not a number") from None


def _date(el, path: str) -> _dt.date | None:
    s = _t(el, path)
    if s is None:
        return None
    s = s.strip()
    try:
        return _dt.date.fromisoformat(s[:10])
    except ValueError:
        raise ParseError(f"line {el.find(path, NS).sourceline}: '{s}' is not a date") from None


def _time(el, path: str) -> _dt.time | None:
    s = _t(el, path)
    if s is None:
        return None
    m = re.match(r"(\d{2}):(\d{2})(?::(\d{2}))?", s.strip())
    if not m:
        return None
    return _dt.time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def _address(el: etree._Element | None) -> Address | None:
    if el is None:
        return None
    return Address(
        district=_t(el, "cbc:CitySubdivisionName") or _t(el, "cbc:District") or "",
        city=_t(el, "cbc:CityName") or "",
        street=_t(el, "cbc:StreetName"),
        building_number=_t(el, "cbc:BuildingNumber"),
        postal_code=_t(el, "cbc:PostalZone"),
        country=_t(el, "cac:Country/cbc:Name") or "Türkiye",
        country_code=_t(el, "cac:Country/cbc:IdentificationCode") or "TR",
    )


_SKIP_SCHEMES = {"VKN", "TCKN", "PARTYTYPE", "ARACIKURUMVKN", "ARACIKURUMETIKET"}


def _party(p: etree._Element | None) -> Party | None:
    if p is None:
        return None
    vkn = tckn = None
    ids: list[tuple[str, str]] = []
    for pid in p.findall("cac:PartyIdentification/cbc:ID", NS):
        scheme = (pid.get("schemeID") or "").strip()
        value = (pid.text or "").strip()
        if scheme == "VKN" and vkn is None:
            vkn = value
        elif scheme == "TCKN" and tckn is None:
            tckn = value
        elif scheme and scheme not in _SKIP_SCHEMES and value:
            ids.append((scheme, value))
    return Party(
        address=_address(p.find("cac:PostalAddress", NS)) or Address(district="", city=""),
        vkn=vkn, tckn=tckn,
        name=_t(p, "cac:PartyName/cbc:Name") or _t(p, "cac:PartyLegalEntity/cbc:RegistrationName"),
        first_name=_t(p, "cac:Person/cbc:FirstName"),
        last_name=_t(p, "cac:Person/cbc:FamilyName"),
        tax_office=_t(p, "cac:PartyTaxScheme/cac:TaxScheme/cbc:Name"),
        email=_t(p, "cac:Contact/cbc:ElectronicMail"),
        phone=_t(p, "cac:Contact/cbc:Telephone"),
        website=_t(p, "cbc:WebsiteURI"),
        ids=tuple(ids),
    )


def _tax_rep(el: etree._Element | None) -> Party | None:
    if el is None:
        return None
    tid = alias = None
    for pid in el.findall("cac:PartyIdentification/cbc:ID", NS):
        if pid.get("schemeID") == "ARACIKURUMVKN":
            tid = (pid.text or "").strip()
        elif pid.get("schemeID") == "ARACIKURUMETIKET":
            alias = (pid.text or "").strip()
    base = _party(el)
    assert base is not None
    if tid:
        base = Party(**{**_fields(base), "vkn": tid if len(tid) == 10 else None,
                        "tckn": tid if len(tid) == 11 else None})
    return Party(**{**_fields(base), "alias": alias})


def _fields(obj) -> dict:
    return {f: getattr(obj, f) for f in obj.__dataclass_fields__}


def _allowances(parent: etree._Element) -> tuple[tuple[AllowanceCharge, ...], tuple[AllowanceCharge, ...]]:
    allow: list[AllowanceCharge] = []
    charge: list[AllowanceCharge] = []
    for ac in parent.findall("cac:AllowanceCharge", NS):
        is_charge = (_t(ac, "cbc:ChargeIndicator") or "false").lower() == "true"
        factor = _dec(ac, "cbc:MultiplierFactorNumeric")
        rate = (factor * 100).normalize() if factor is not None else None
        if rate is not None and rate == rate.to_integral_value():
            rate = rate.quantize(Decimal(1))
        amount = None if rate is not None else (_dec(ac, "cbc:Amount") or Decimal("0"))
        item = AllowanceCharge(is_charge=is_charge, amount=amount, rate=rate,
                               reason=_t(ac, "cbc:AllowanceChargeReason"))
        (charge if is_charge else allow).append(item)
    return tuple(allow), tuple(charge)


def _line(ln: etree._Element, doc_delivery: Delivery | None, doc_withholding: Withholding | None) -> Line:
    taxes: list[Tax] = []
    exemption = None
    for st in ln.findall("cac:TaxTotal/cac:TaxSubtotal", NS):
        code = _t(st, "cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode")
        if code is None:
            continue
        pct = _dec(st, "cbc:Percent")
        per_unit = _dec(st, "cbc:PerUnitAmount")
        taxes.append(Tax(code=code, percent=pct if per_unit is None else None, amount=per_unit))
        ecode = _t(st, "cac:TaxCategory/cbc:TaxExemptionReasonCode")
        if code == "0015" and ecode:
            reason = _t(st, "cac:TaxCategory/cbc:TaxExemptionReason")
            exemption = Exemption(code=ecode, reason=None if reason == default_exemption_reason(ecode) else reason)
    # KDV last, as the builder writes it and as the loader keeps the input order otherwise
    withholding = None
    wst = ln.find("cac:WithholdingTaxTotal/cac:TaxSubtotal", NS)
    if wst is not None:
        wcode = _t(wst, "cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode")
        wpct = _dec(wst, "cbc:Percent")
        if wcode and wpct is not None:
            withholding = Withholding(code=wcode, percent=wpct)
    elif doc_withholding is not None and any(t.code == "0015" and (t.percent or 0) > 0 for t in taxes):
        withholding = doc_withholding
    allow, charge = _allowances(ln)
    qty_el = ln.find("cbc:InvoicedQuantity", NS)
    delivery = None
    d = ln.find("cac:Delivery", NS)
    if d is not None:
        pkg = d.find("cac:Shipment/cac:TransportHandlingUnit/cac:ActualPackage", NS)
        package = None
        kind = _t(pkg, "cbc:PackagingTypeCode") if pkg is not None else None
        if kind:
            package = Package(kind=kind, count=_dec(pkg, "cbc:Quantity"))
        inc = _t(d, "cac:DeliveryTerms/cbc:ID")
        tm = _t(d, "cac:Shipment/cac:ShipmentStage/cbc:TransportModeCode")
        addr = _address(d.find("cac:DeliveryAddress", NS))
        if doc_delivery is not None:  # the builder repeats the document's delivery on each line
            inc = None if inc == doc_delivery.incoterms else inc
            tm = None if tm == doc_delivery.transport_mode else tm
            addr = None if addr == doc_delivery.address else addr
        delivery = LineDelivery(incoterms=inc, gtip=_t(d, "cac:Shipment/cac:GoodsItem/cbc:RequiredCustomsID"),
                                package=package, transport_mode=tm, address=addr)
    return Line(
        name=_t(ln, "cac:Item/cbc:Name") or "",
        quantity=_dec(ln, "cbc:InvoicedQuantity") or Decimal("0"),
        unit=(qty_el.get("unitCode") if qty_el is not None else None) or "C62",
        unit_price=_dec(ln, "cac:Price/cbc:PriceAmount") or Decimal("0"),
        taxes=tuple(sorted(taxes, key=lambda t: t.code == "0015")),
        description=_t(ln, "cac:Item/cbc:Description"),
        code=_t(ln, "cac:Item/cac:SellersItemIdentification/cbc:ID"),
        brand=_t(ln, "cac:Item/cbc:BrandName"),
        model=_t(ln, "cac:Item/cbc:ModelName"),
        allowances=allow, charges=charge, withholding=withholding, exemption=exemption,
        delivery=delivery,
        item_ids=tuple((el.get("schemeID") or "", el.text or "")
                       for el in ln.findall("cac:Item/cac:AdditionalItemIdentification/cbc:ID", NS)),
        classification=_t(ln, "cac:Item/cac:CommodityClassification/cbc:ItemClassificationCode"),
        product_trace_id=_t(ln, "cac:Item/cac:ItemInstance/cbc:ProductTraceID"),
        serial_id=_t(ln, "cac:Item/cac:ItemInstance/cbc:SerialID"),
    )


def _refs(els: Iterable[etree._Element], extended: bool = False) -> tuple[DocumentReference, ...]:
    out = []
    for el in els:
        i = _t(el, "cbc:ID")
        d = _date(el, "cbc:IssueDate")
        if i and d:
            if extended:
                id_el = el.find("cbc:ID", NS)
                out.append(DocumentReference(id=i, issue_date=d, scheme=id_el.get("schemeID"),
                                             type_code=_t(el, "cbc:DocumentTypeCode")))
            else:
                out.append(DocumentReference(id=i, issue_date=d))
    return tuple(out)


def _period(el: etree._Element | None) -> Period | None:
    if el is None:
        return None
    start, end = _date(el, "cbc:StartDate"), _date(el, "cbc:EndDate")
    if start is None or end is None:
        return None
    return Period(start_date=start, end_date=end, start_time=_time(el, "cbc:StartTime"),
                  end_time=_time(el, "cbc:EndTime"))


def _user_notes(texts: list[str], payable: Decimal | None, currency: str, rate: Decimal | None) -> tuple[str, ...]:
    """The notes without the amount-in-words notes the builder writes: exactly
    ``amount_in_words(PayableAmount)`` and, for a foreign currency, the TRY one, once
    each.  Any other note, even one that starts with "Yalnız ", is the user's and kept."""
    from .calc import amount_in_words, try_equivalent

    expected: list[str] = []
    if payable is not None and payable >= 0:
        try:
            expected.append(amount_in_words(payable, currency))
            if currency != "TRY" and rate is not None and rate > 0:
                expected.append(amount_in_words(try_equivalent(payable, rate), "TRY"))
        except ValueError:  # an amount beyond 10^18: no words were written
            expected = []
    out = []
    for text in texts:
        if text in expected:
            expected.remove(text)
            continue
        out.append(text)
    return tuple(out)


def parse(source: bytes | str | Path | etree._Element) -> Invoice:
    """Read a UBL-TR invoice (bytes, XML text, a path, or a parsed element)."""
    root = _root(source)
    if root.tag != "{%s}Invoice" % NS["inv"]:
        raise ParseError(f"the root element is {root.tag}, not a UBL Invoice")

    adrs = root.findall("cac:AdditionalDocumentReference", NS)
    earchive = None
    sale_ref = next((a for a in adrs if _t(a, "cbc:DocumentTypeCode") == "INTERNET_SATIS"), None)
    send_ref = next((a for a in adrs if _t(a, "cbc:DocumentTypeCode") == "SendingType"), None)
    doc_delivery_el = root.find("cac:Delivery", NS)
    carrier = None
    if doc_delivery_el is not None and doc_delivery_el.find("cac:CarrierParty", NS) is not None:
        cp = doc_delivery_el.find("cac:CarrierParty", NS)
        cid = _t(cp, "cac:PartyIdentification/cbc:ID")
        if cid:
            carrier = Carrier(vkn=cid, name=_t(cp, "cac:PartyName/cbc:Name") or "")
    if send_ref is not None or root.findtext("cbc:ProfileID", namespaces=NS) == "EARSIVFATURA":
        sale = None
        if sale_ref is not None:
            # the payment date: the reference's IssueDate, else PaymentMeans' due date
            # (ubltr writes both); without either the model has no payment date to hold
            paid = _date(sale_ref, "cbc:IssueDate") or _date(root, "cac:PaymentMeans/cbc:PaymentDueDate")
            if paid is None:
                raise ParseError(f"line {sale_ref.sourceline}: the INTERNET_SATIS AdditionalDocumentReference has no "
                                 "cbc:IssueDate (the payment date), nor does PaymentMeans have a PaymentDueDate")
            sale = InternetSale(web_address=_t(sale_ref, "cbc:ID") or "",
                                payment_type=_t(sale_ref, "cbc:DocumentType") or "DIGER",
                                payment_date=paid, carrier=carrier)
        earchive = EArchive(send_type=(_t(send_ref, "cbc:DocumentType") if send_ref is not None else None) or "ELEKTRONIK",
                            internet_sale=sale)

    delivery = None
    if doc_delivery_el is not None:
        inc = _t(doc_delivery_el, "cac:DeliveryTerms/cbc:ID")
        tm = _t(doc_delivery_el, "cac:Shipment/cac:ShipmentStage/cbc:TransportModeCode")
        addr = _address(doc_delivery_el.find("cac:DeliveryAddress", NS))
        if inc or tm or addr:
            delivery = Delivery(incoterms=inc, address=addr, transport_mode=tm)

    payment = None
    for pm in root.findall("cac:PaymentMeans", NS):
        note = _t(pm, "cbc:InstructionNote")
        if sale_ref is not None and note in _INTERNET_TYPES:
            continue  # written by the builder for the internet sale
        code = _t(pm, "cbc:PaymentMeansCode")
        payment = Payment(means_code=code, due_date=_date(pm, "cbc:PaymentDueDate"),
                          iban=_t(pm, "cac:PayeeFinancialAccount/cbc:ID"), note=note)
        break

    doc_wh = None
    wst = root.findall("cac:WithholdingTaxTotal/cac:TaxSubtotal", NS)
    if len(wst) == 1:
        wcode = _t(wst[0], "cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode")
        wpct = _dec(wst[0], "cbc:Percent")
        if wcode and wpct is not None:
            doc_wh = Withholding(code=wcode, percent=wpct)
    any_line_wh = root.find("cac:InvoiceLine/cac:WithholdingTaxTotal", NS) is not None

    allow, charge = _allowances(root)
    currency = _t(root, "cbc:DocumentCurrencyCode") or "TRY"
    rate = _dec(root, "cac:PricingExchangeRate/cbc:CalculationRate")
    if rate is None and currency != "TRY":
        rate = _dec(root, "cac:TaxExchangeRate/cbc:CalculationRate") or _dec(root, "cac:PaymentExchangeRate/cbc:CalculationRate")
    notes = _user_notes([n.text or "" for n in root.findall("cbc:Note", NS)],
                        _dec(root, "cac:LegalMonetaryTotal/cbc:PayableAmount"), currency, rate)
    return Invoice(
        profile=_t(root, "cbc:ProfileID") or "",
        type=_t(root, "cbc:InvoiceTypeCode") or "",
        issue_date=_date(root, "cbc:IssueDate") or _dt.date(1970, 1, 1),
        supplier=_party(root.find("cac:AccountingSupplierParty/cac:Party", NS)) or Party(address=Address("", "")),
        customer=_party(root.find("cac:AccountingCustomerParty/cac:Party", NS)) or Party(address=Address("", "")),
        lines=tuple(_line(ln, delivery, None if any_line_wh else doc_wh)
                    for ln in root.findall("cac:InvoiceLine", NS)),
        id=_t(root, "cbc:ID"),
        uuid=_t(root, "cbc:UUID"),
        issue_time=_time(root, "cbc:IssueTime"),
        currency=currency,
        exchange_rate=rate if currency != "TRY" else None,
        notes=notes,
        buyer_customer=_party(root.find("cac:BuyerCustomerParty/cac:Party", NS)),
        tax_representative=_tax_rep(root.find("cac:TaxRepresentativeParty", NS)),
        allowances=allow, charges=charge,
        billing_references=_refs(root.findall("cac:BillingReference/cac:InvoiceDocumentReference", NS)),
        order_reference=(_refs(root.findall("cac:OrderReference", NS)) or (None,))[0],
        despatch_references=_refs(root.findall("cac:DespatchDocumentReference", NS)),
        payment=payment, delivery=delivery, earchive=earchive,
        rounding=_dec(root, "cac:LegalMonetaryTotal/cbc:PayableRoundingAmount") or Decimal("0"),
        invoice_period=_period(root.find("cac:InvoicePeriod", NS)),
        contract_reference=(_refs(root.findall("cac:ContractDocumentReference", NS), extended=True) or (None,))[0],
        additional_references=_refs(
            (a for a in adrs if _t(a, "cbc:DocumentTypeCode") not in {"SendingType", "INTERNET_SATIS"}
             and a.find("cac:Attachment", NS) is None), extended=True),
    )


from ._callable import callable_module as _callable_module  # noqa: E402

_callable_module(__name__, parse)  # ubltr.parse(xml) calls parse()
