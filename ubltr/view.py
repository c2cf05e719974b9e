"""What a person sees of a UBL-TR document: XML in, HTML (or PDF) out.

The viewer shows the document's own numbers, never recomputed ones: every amount on
the page is read from the XML as it stands (a :class:`Money` keeps the original text
beside its :class:`~decimal.Decimal`), and only display sums over the document's own
figures are made (e.g. the lines that carry withholding).

Pipeline::

    load_xml(bytes) ──► read_view(tree) ──► DocumentView ──► jinja2 (templates/html/)
             │
             └──► embedded_xslt(tree) ──► apply_xslt(...)   (the document's own viewer)

:func:`render_html` ties these together the way GİB's viewer does: the document's
own embedded XSLT when it has one and it runs, else our template.  :func:`qr_payload`
builds the Karekod content of GİB's *Karekod Standardı Kılavuzu V1.2*.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

from lxml import etree

from . import xmlsafe

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_CAC = "{%s}" % NS["cac"]
_CBC = "{%s}" % NS["cbc"]

#: Largest XML document we agree to read: ubltr's one document limit (GİB's own samples
#: with embedded XSLT are < 1 MB).
MAX_XML_BYTES = xmlsafe.MAX_BYTES
#: Largest embedded XSLT we agree to run (GİB's general.xslt is about 210 kB).
MAX_XSLT_BYTES = 2 * 1024 * 1024
#: Largest HTML an embedded XSLT may produce.
MAX_OUTPUT_BYTES = 20 * 1024 * 1024
#: Seconds an embedded XSLT may run before we give up on it and use our template.
XSLT_TIMEOUT = 20.0
#: Memory (bytes) an embedded XSLT may allocate beyond what the process held when it
#: started (RLIMIT_AS of the child that runs it); GİB's general.xslt needs a few MB.
XSLT_MEMORY = 512 * 1024 * 1024


class DocumentError(ValueError):
    """The input is not a readable XML document (bad XML, DOCTYPE, too large)."""


class XsltError(RuntimeError):
    """The document's embedded XSLT could not be decoded, compiled or run."""


class BrowserMissing(RuntimeError):
    """No headless Chromium/Chrome was found on this machine."""


# --------------------------------------------------------------------------- loading


def load_xml(data: bytes) -> etree._ElementTree:
    """Parse ``data`` safely: no DTD, no entities, no network, no huge trees.

    Raises :class:`DocumentError` naming the problem (and line) on bad input.
    """
    try:
        return xmlsafe.fromstring(data, max_bytes=MAX_XML_BYTES).getroottree()
    except xmlsafe.UnsafeXML as exc:
        raise DocumentError(str(exc)) from None


# --------------------------------------------------------------------------- view model


@dataclass(frozen=True)
class Money:
    """An amount exactly as the document states it.

    ``value`` is ``None`` when the text is not a number (then ``raw`` is shown as is).
    """

    value: Decimal | None
    currency: str
    raw: str


@dataclass(frozen=True)
class Party:
    name: str
    ids: tuple[tuple[str, str], ...] = ()  #: (schemeID, value), e.g. ("VKN", "1234567890")
    address: tuple[str, ...] = ()
    tax_office: str = ""
    phones: tuple[str, ...] = ()  #: Contact/Telephone
    emails: tuple[str, ...] = ()
    website: str = ""
    fax: str = ""  #: Contact/Telefax, shown as GİB's general.xslt does: "Tel: ... Fax: ..."

    @property
    def vkn_tckn(self) -> str:
        """The party's VKN or TCKN (the id whose schemeID is VKN or TCKN), or ``""``."""
        for scheme, value in self.ids:
            if scheme.upper() in ("VKN", "TCKN"):
                return value
        return ""

    @property
    def vkn_tckn_label(self) -> str:
        for scheme, _ in self.ids:
            if scheme.upper() in ("VKN", "TCKN"):
                return scheme.upper()
        return "VKN/TCKN"

    @property
    def other_ids(self) -> tuple[tuple[str, str], ...]:
        return tuple((s, v) for s, v in self.ids if s.upper() not in ("VKN", "TCKN"))


@dataclass(frozen=True)
class Tax:
    """One tax subtotal (document or line level) as the document states it."""

    code: str
    name: str
    percent: Decimal | None
    amount: Money | None
    taxable: Money | None = None
    exemption_code: str = ""
    exemption_reason: str = ""


@dataclass(frozen=True)
class Line:
    no: str
    name: str
    description: str = ""
    quantity: Decimal | None = None
    quantity_raw: str = ""
    unit: str = ""
    unit_price: Money | None = None
    discount: Money | None = None  #: sum of the line's allowances (ChargeIndicator false)
    discount_rate: Decimal | None = None  #: MultiplierFactorNumeric × 100 when one allowance
    charge: Money | None = None  #: sum of the line's charges (ChargeIndicator true)
    kdv_percent: Decimal | None = None
    kdv_amount: Money | None = None
    other_taxes: tuple[Tax, ...] = ()
    withholdings: tuple[Tax, ...] = ()
    amount: Money | None = None  #: LineExtensionAmount
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Totals:
    line_extension: Money | None = None
    allowance_total: Money | None = None
    charge_total: Money | None = None
    tax_exclusive: Money | None = None
    tax_inclusive: Money | None = None
    payable_rounding: Money | None = None
    payable: Money | None = None
    taxes: tuple[Tax, ...] = ()
    withholdings: tuple[Tax, ...] = ()
    #: display sum of LineExtensionAmount over lines that carry withholding (GİB's viewer shows it)
    withholding_base: Money | None = None
    #: display sum of the withholding subtotals' TaxableAmount (the KDV the withholding applies to)
    withholding_taxable: Money | None = None


@dataclass(frozen=True)
class Reference:
    label: str
    id: str
    date: str = ""


@dataclass(frozen=True)
class DocumentView:
    """Everything the default template shows, read straight from the XML."""

    root: str  #: local name of the root element: Invoice, DespatchAdvice, ...
    customization: str  #: CustomizationID, e.g. TR1.2
    title: str  #: e-FATURA, e-ARŞİV FATURA, e-İRSALİYE, ...
    profile: str
    type_code: str
    number: str
    uuid: str
    issue_date: str
    issue_time: str
    currency: str
    exchange_rate: Decimal | None
    supplier: Party | None
    customer: Party | None
    others: tuple[tuple[str, Party], ...]  #: (role label, party) for buyer, tax representative, ...
    lines: tuple[Line, ...]
    totals: Totals
    notes: tuple[str, ...]
    amount_in_words: str
    references: tuple[Reference, ...]
    payment: tuple[str, ...]
    qr: Mapping[str, str] | None = field(default=None)
    #: e-İrsaliye facts as (label, value) rows: despatch date, plates, trailers, drivers,
    #: delivery address (DespatchAdvice), the despatch answered and delivery date (ReceiptAdvice)
    shipment: tuple[tuple[str, str], ...] = field(default=())

    @property
    def is_invoice(self) -> bool:
        return self.root == "Invoice"

    @cached_property  # asked once per line by the template: computed once, not once per line
    def has_other_taxes(self) -> bool:
        return any(line.other_taxes for line in self.lines)

    @cached_property
    def has_withholding(self) -> bool:
        return bool(self.totals.withholdings) or any(line.withholdings for line in self.lines)


# --------------------------------------------------------------------------- small readers


@cache
def _steps(path: str) -> tuple[str, ...] | None:
    """``cac:A/cbc:B`` as Clark names, or None for a path that is not plain child steps."""
    out = []
    for step in path.split("/"):
        prefix, _, local = step.partition(":")
        if prefix not in NS or not local.isidentifier():
            return None
        out.append("{%s}%s" % (NS[prefix], local))
    return tuple(out)


def _find_steps(el: etree._Element, steps: tuple[str, ...]) -> etree._Element | None:
    for child in el.iterchildren(steps[0]):
        if len(steps) == 1:
            return child
        found = _find_steps(child, steps[1:])
        if found is not None:
            return found
    return None


def _find(el: etree._Element, path: str) -> etree._Element | None:
    """``el.find(path, NS)`` (the first match in document order), walking the children
    with lxml's C iterator: about 10x cheaper than ElementPath, which matters at
    ~30 fields a line."""
    steps = _steps(path)
    return el.find(path, NS) if steps is None else _find_steps(el, steps)


def _text(el: etree._Element | None, path: str | None = None) -> str:
    if el is None:
        return ""
    node = _find(el, path) if path else el
    if node is None or node.text is None:
        return ""
    return " ".join(node.text.split())


#: a plain decimal with at most 30 digits before and after the point: always within the
#: bounds :func:`_dec` checks, so it is read with no further test (most amounts are)
_PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]{1,30}(?:\.[0-9]{0,30})?").fullmatch


def _dec(text: str) -> Decimal | None:
    if not text:
        return None
    if _PLAIN_DECIMAL(text):
        return Decimal(text)
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        return None
    if not d.is_finite() or abs(d.adjusted()) > 30 or d.as_tuple().exponent < -30:  # type: ignore[operator]
        return None  # not an amount a document can mean; shown as its raw text
    return d


def _money(el: etree._Element | None, path: str, default_currency: str) -> Money | None:
    if el is None:
        return None
    node = _find(el, path)
    if node is None or node.text is None or not node.text.strip():
        return None
    raw = node.text.strip()
    return Money(_dec(raw), node.get("currencyID") or default_currency, raw)


def _money_sum(items: Iterable[Money | None], currency: str) -> Money | None:
    vals = [m for m in items if m is not None]
    if not vals or any(m.value is None for m in vals):
        return None
    total = sum((m.value for m in vals if m.value is not None), Decimal(0))
    return Money(total, vals[0].currency or currency, str(total))


_INVOICE_TITLES = {"EARSIVFATURA": "e-ARŞİV FATURA"}
_ROOT_TITLES = {
    "Invoice": "e-FATURA",
    "DespatchAdvice": "e-İRSALİYE",
    "ReceiptAdvice": "e-İRSALİYE YANITI",
    "ApplicationResponse": "UYGULAMA YANITI",
    "CreditNote": "e-MÜSTAHSİL MAKBUZU",
    "FreelancerVoucher": "e-SERBEST MESLEK MAKBUZU",
    "Voucher": "e-BELGE",
}

#: (role label, party paths) per role; the first path found wins.
_SUPPLIER_PATHS = (
    "cac:AccountingSupplierParty/cac:Party",
    "cac:DespatchSupplierParty/cac:Party",
    "cac:SenderParty",
)
_CUSTOMER_PATHS = (
    "cac:AccountingCustomerParty/cac:Party",
    "cac:DeliveryCustomerParty/cac:Party",
    "cac:ReceiverParty",
)
_OTHER_PARTIES = (
    ("Alıcı (Buyer)", "cac:BuyerCustomerParty/cac:Party"),
    ("Satıcı (Seller)", "cac:SellerSupplierParty/cac:Party"),
    ("Vergi Temsilcisi / Aracı Kurum", "cac:TaxRepresentativeParty"),
    ("Teslim Alan", "cac:Delivery/cac:DeliveryParty"),
    ("Taşıyıcı", "cac:Shipment/cac:Delivery/cac:CarrierParty"),
)


def _party(el: etree._Element | None) -> Party | None:
    if el is None:
        return None
    name = _text(el, "cac:PartyName/cbc:Name")
    person = el.find("cac:Person", NS)
    if person is not None:
        full = " ".join(
            p for p in (_text(person, "cbc:Title"), _text(person, "cbc:FirstName"),
                        _text(person, "cbc:MiddleName"), _text(person, "cbc:FamilyName")) if p
        )
        if full and not name:
            name = full
        elif full and full != name:
            name = f"{name} — {full}"
    ids = tuple(
        (i.get("schemeID") or "", " ".join((i.text or "").split()))
        for i in el.findall("cac:PartyIdentification/cbc:ID", NS)
    )
    if person is not None:
        for doc in person.findall("cac:IdentityDocumentReference/cbc:ID", NS):
            ids += (("PASAPORT", " ".join((doc.text or "").split())),)
    addr = el.find("cac:PostalAddress", NS)
    lines: list[str] = []
    if addr is not None:
        # as GİB's general.xslt prints an address: street, building name, "No:" number;
        # the room on its own line as "Kapı No:"; then postal zone, district / city.
        # What general.xslt leaves out is shown too, as GİB's appResponse.xslt places
        # it: the block after the street, the region after the city (", Region").
        block, number = _text(addr, "cbc:BlockName"), _text(addr, "cbc:BuildingNumber")
        street = " ".join(
            p for p in (
                _text(addr, "cbc:District"),
                _text(addr, "cbc:StreetName"),
                ("Blok:" + block) if block else "",
                _text(addr, "cbc:BuildingName"),
                ("No:" + number) if number else "",
            ) if p
        )
        if street:
            lines.append(street)
        room = _text(addr, "cbc:Room")
        if room:
            lines.append("Kapı No:" + room)
        city = " ".join(
            p for p in (_text(addr, "cbc:PostalZone"), _text(addr, "cbc:CitySubdivisionName")) if p
        )
        city_name = _text(addr, "cbc:CityName")
        if city_name:
            city = f"{city} / {city_name}" if city else city_name
        region = _text(addr, "cbc:Region")
        if region:
            city = f"{city}, {region}" if city else region
        if city:
            lines.append(city)
        country = _text(addr, "cac:Country/cbc:Name")
        if country:
            lines.append(country)
    contact = el.find("cac:Contact", NS)
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    fax = ""
    if contact is not None:
        phones = tuple(t for t in (_text(contact, "cbc:Telephone"),) if t)
        fax = _text(contact, "cbc:Telefax")
        emails = tuple(t for t in (_text(contact, "cbc:ElectronicMail"),) if t)
    return Party(
        name=name,
        ids=ids,
        address=tuple(lines),
        tax_office=_text(el, "cac:PartyTaxScheme/cac:TaxScheme/cbc:Name"),
        phones=phones,
        emails=emails,
        website=_text(el, "cbc:WebsiteURI"),
        fax=fax,
    )


def _first(root: etree._Element, paths: Iterable[str]) -> etree._Element | None:
    for p in paths:
        el = root.find(p, NS)
        if el is not None:
            return el
    return None


def _tax_name(code: str, given: str) -> str:
    if given:
        return given
    try:
        from . import codes

        return codes.tax_short_name(code) if code else ""
    except Exception:  # the code lists are a nicety here, never a reason to fail
        return code


def _norm(el: etree._Element | None) -> str:
    """The element's text with its whitespace collapsed (``""`` for none): what
    :func:`_text` returns for an element already found."""
    if el is None:
        return ""
    text = el.text
    return " ".join(text.split()) if text else ""


# Clark names of the elements the line and tax readers dispatch on (one pass over the
# children of each element; the first of a kind in document order is the one shown,
# as ``find`` and GİB's xsl:value-of take it)
_ID = _CBC + "ID"
_NOTE = _CBC + "Note"
_NAME = _CBC + "Name"
_PERCENT = _CBC + "Percent"
_AMOUNT = _CBC + "Amount"
_TAX_AMOUNT = _CBC + "TaxAmount"
_TAXABLE_AMOUNT = _CBC + "TaxableAmount"
_LINE_EXTENSION = _CBC + "LineExtensionAmount"
_PRICE_AMOUNT = _CBC + "PriceAmount"
_CHARGE_INDICATOR = _CBC + "ChargeIndicator"
_MULTIPLIER = _CBC + "MultiplierFactorNumeric"
_TAX_TYPE_CODE = _CBC + "TaxTypeCode"
_EXEMPTION_CODE = _CBC + "TaxExemptionReasonCode"
_EXEMPTION_REASON = _CBC + "TaxExemptionReason"
_BRAND = _CBC + "BrandName"
_MODEL = _CBC + "ModelName"
_DESCRIPTION = _CBC + "Description"
_TAX_TOTAL = _CAC + "TaxTotal"
_WITHHOLDING_TOTAL = _CAC + "WithholdingTaxTotal"
_TAX_SUBTOTAL = _CAC + "TaxSubtotal"
_TAX_CATEGORY = _CAC + "TaxCategory"
_TAX_SCHEME = _CAC + "TaxScheme"
_ALLOWANCE_CHARGE = _CAC + "AllowanceCharge"
_ITEM = _CAC + "Item"
_PRICE = _CAC + "Price"

#: the fields of a tax subtotal the view reads, in the order of :meth:`_Reader._tax`'s record
_SUBTOTAL_FIELDS = ("cbc:Percent", "cbc:TaxAmount", "cbc:TaxableAmount", "cac:TaxCategory/cbc:Percent",
                    "cac:TaxCategory/cbc:TaxExemptionReasonCode", "cac:TaxCategory/cbc:TaxExemptionReason",
                    "cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode", "cac:TaxCategory/cac:TaxScheme/cbc:Name")

# what :meth:`_Reader.line` dispatches on (where the element is decides what it means)
(_K_ID, _K_LINE_EXTENSION, _K_ALLOWANCE_CHARGE, _K_TAX_TOTAL, _K_WITHHOLDING_TOTAL, _K_ITEM, _K_PRICE, _K_NOTE,
 _K_CHARGE_INDICATOR, _K_AMOUNT, _K_MULTIPLIER, _K_TAX_SUBTOTAL, _K_PERCENT, _K_TAX_AMOUNT, _K_TAXABLE_AMOUNT,
 _K_TAX_CATEGORY, _K_TAX_SCHEME, _K_TAX_TYPE_CODE, _K_NAME, _K_EXEMPTION_CODE, _K_EXEMPTION_REASON, _K_BRAND,
 _K_MODEL, _K_DESCRIPTION, _K_PRICE_AMOUNT) = range(25)
_LINE_KINDS: dict[Any, int] = {
    _ID: _K_ID, _LINE_EXTENSION: _K_LINE_EXTENSION, _ALLOWANCE_CHARGE: _K_ALLOWANCE_CHARGE,
    _TAX_TOTAL: _K_TAX_TOTAL, _WITHHOLDING_TOTAL: _K_WITHHOLDING_TOTAL, _ITEM: _K_ITEM, _PRICE: _K_PRICE,
    _NOTE: _K_NOTE, _CHARGE_INDICATOR: _K_CHARGE_INDICATOR, _AMOUNT: _K_AMOUNT, _MULTIPLIER: _K_MULTIPLIER,
    _TAX_SUBTOTAL: _K_TAX_SUBTOTAL, _PERCENT: _K_PERCENT, _TAX_AMOUNT: _K_TAX_AMOUNT,
    _TAXABLE_AMOUNT: _K_TAXABLE_AMOUNT, _TAX_CATEGORY: _K_TAX_CATEGORY, _TAX_SCHEME: _K_TAX_SCHEME,
    _TAX_TYPE_CODE: _K_TAX_TYPE_CODE, _NAME: _K_NAME, _EXEMPTION_CODE: _K_EXEMPTION_CODE,
    _EXEMPTION_REASON: _K_EXEMPTION_REASON, _BRAND: _K_BRAND, _MODEL: _K_MODEL, _DESCRIPTION: _K_DESCRIPTION,
    _PRICE_AMOUNT: _K_PRICE_AMOUNT,
}


_T = TypeVar("_T")
_ZERO = Decimal(0)
_new_object = object.__new__
_set_attribute = object.__setattr__


def _frozen(cls: type[_T], fields: dict[str, Any]) -> _T:
    """``cls(**fields)`` for one of the frozen dataclasses here, without the
    generated ``__init__`` (one ``object.__setattr__`` per field: ~2 µs of the ~15 a
    line costs).  ``fields`` names every field (tests/test_render.py checks it)."""
    obj = _new_object(cls)
    _set_attribute(obj, "__dict__", fields)  # the dict itself: no copy
    return obj


class _Reader:
    """Reads the amounts, tax subtotals and lines of one document, each element's
    children once, dispatching on their tag (the first of a kind in document order is
    the one shown, as ``find`` and GİB's ``xsl:value-of`` take it).

    An amount is one :class:`Money` per (text, currency) in the document: a long
    invoice repeats its prices, percents and amounts, and a frozen Money read twice is
    the same Money, so it is made once (and formatted once, see :func:`_line_rows`).
    """

    __slots__ = ("currency", "_monies", "_sums", "_taxes", "_decimals")

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self._monies: dict[tuple[str, str], Money] = {}
        self._sums: dict[int, Money | None] = {}
        self._taxes: dict[tuple[int | str | None, ...], Tax] = {}
        self._decimals: dict[str, Decimal | None] = {}

    def dec(self, text: str) -> Decimal | None:
        """:func:`_dec`, once per distinct text (quantities and percents repeat)."""
        d = self._decimals.get(text, self)
        if d is self:
            d = self._decimals[text] = _dec(text)
        return d  # type: ignore[return-value]

    def money(self, node: etree._Element | None) -> Money | None:
        """:func:`_money` of an element already found."""
        if node is None:
            return None
        text = node.text
        if text is None:
            return None
        raw = text.strip()
        if not raw:
            return None
        key = (raw, node.get("currencyID") or self.currency)
        m = self._monies.get(key)
        if m is None:
            m = self._monies[key] = _frozen(Money, {"value": _dec(raw), "currency": key[1], "raw": raw})
        return m

    def total(self, items: list[Money | None]) -> Money | None:
        """:func:`_money_sum` of ``items``; the total of one amount read by :meth:`money`
        is made once per document."""
        if len(items) != 1 or items[0] is None:
            return _money_sum(items, self.currency)
        one = items[0]
        total = self._sums.get(id(one), self)  # the Money is kept alive by self._monies
        if total is self:
            if one.value is None:
                total = None
            else:  # what _money_sum makes of one amount
                value = _ZERO + one.value
                total = _frozen(Money, {"value": value, "currency": one.currency or self.currency, "raw": str(value)})
            self._sums[id(one)] = total
        return total  # type: ignore[return-value]

    def subtotal(self, sub: etree._Element) -> Tax:
        """One ``cac:TaxSubtotal`` (document level: one loop per level)."""
        record: list[etree._Element | None] = [None] * 8  # see _SUBTOTAL_FIELDS
        categories = []
        for c in sub:
            tag = c.tag
            if tag == _PERCENT:
                if record[0] is None:
                    record[0] = c
            elif tag == _TAX_AMOUNT:
                if record[1] is None:
                    record[1] = c
            elif tag == _TAXABLE_AMOUNT:
                if record[2] is None:
                    record[2] = c
            elif tag == _TAX_CATEGORY:
                categories.append(c)
        for category in categories:  # in document order: the first match of each path wins
            for c in category:
                tag = c.tag
                if tag == _TAX_SCHEME:
                    for s in c:
                        tag = s.tag
                        if tag == _TAX_TYPE_CODE:
                            if record[6] is None:
                                record[6] = s
                        elif tag == _NAME:
                            if record[7] is None:
                                record[7] = s
                elif tag == _PERCENT:
                    if record[3] is None:
                        record[3] = c
                elif tag == _EXEMPTION_CODE:
                    if record[4] is None:
                        record[4] = c
                elif tag == _EXEMPTION_REASON:
                    if record[5] is None:
                        record[5] = c
        return self._tax(record)

    def _tax(self, record: list[etree._Element | None]) -> Tax:
        """The Tax of a subtotal's elements (:data:`_SUBTOTAL_FIELDS`); a subtotal
        whose amounts (one Money per text) and texts repeat one read before is the
        same Tax (a long invoice's lines mostly share their rate and often their amounts)."""
        percent, amount, taxable, category_percent, exemption_code, exemption_reason, code, name = record
        tax_amount = self.money(amount)
        taxable_amount = self.money(taxable)
        key = (id(tax_amount), id(taxable_amount),  # both kept alive by self._monies (or None)
               None if percent is None else percent.text, None if code is None else code.text,
               None if name is None else name.text,
               None if category_percent is None else category_percent.text,
               None if exemption_code is None else exemption_code.text,
               None if exemption_reason is None else exemption_reason.text)
        tax = self._taxes.get(key)
        if tax is None:
            code_text = _norm(code)
            tax = self._taxes[key] = _frozen(Tax, {
                "code": code_text,
                "name": _tax_name(code_text, _norm(name)),
                "percent": self.dec(_norm(percent) or _norm(category_percent)),
                "amount": tax_amount,
                "taxable": taxable_amount,
                "exemption_code": _norm(exemption_code),
                "exemption_reason": _norm(exemption_reason),
            })
        return tax

    def taxes(self, el: etree._Element, tag: str) -> tuple[Tax, ...]:
        """The subtotals of every ``tag`` child (cac:TaxTotal, cac:WithholdingTaxTotal) of ``el``."""
        return tuple(self.subtotal(sub) for total in el.iterchildren(tag) for sub in total if sub.tag == _TAX_SUBTOTAL)

    def line(self, el: etree._Element) -> Line:
        """One document line, in one pass over its elements in document order.

        An element counts when its parent is the line, or the line's current
        allowance, tax total, subtotal, category, scheme, item or price: in document
        order a container's children come before its next sibling, so "the current
        one" is the one an element belongs to (and the first of each kind wins, as
        ``find`` takes it).  A 1,000-line invoice is ~30,000 elements; one lookup per
        field was most of the time of its view, and a loop per level twice this one."""
        no = qty = amount = item = price = None
        allowance: list[etree._Element | None] = []  # the current one's ChargeIndicator, Amount, MultiplierFactorNumeric
        allowances: list[list[etree._Element | None]] = []
        subtotal: list[etree._Element | None] = []  # the current one's _SUBTOTAL_FIELDS
        subtotals: list[tuple[bool, list[etree._Element | None]]] = []  # (withholding?, record)
        notes = []
        name = brand = model = description = None
        in_allowance = in_total = in_subtotal = in_category = in_scheme = in_price = None
        withholding = False
        kind_of = _LINE_KINDS.get
        elements = el.iter()
        next(elements)  # the line itself
        for c in elements:
            tag = c.tag
            kind = kind_of(tag)
            if kind is None:
                if qty is None and type(tag) is str and tag.endswith("Quantity") and tag.startswith(_CBC) \
                        and c.getparent() is el:
                    qty = c  # InvoicedQuantity, DeliveredQuantity, CreditedQuantity...: the first one
                continue
            parent = c.getparent()
            # the kind says which container the element must be in (two for Percent and Name)
            if kind < _K_CHARGE_INDICATOR:  # children of the line
                if parent is not el:
                    continue
                if kind == _K_ID:
                    if no is None:
                        no = c
                elif kind == _K_LINE_EXTENSION:
                    if amount is None:
                        amount = c
                elif kind == _K_ALLOWANCE_CHARGE:
                    in_allowance = c
                    allowance = [None, None, None]
                    allowances.append(allowance)
                elif kind == _K_TAX_TOTAL or kind == _K_WITHHOLDING_TOTAL:
                    in_total = c
                    withholding = kind == _K_WITHHOLDING_TOTAL
                elif kind == _K_ITEM:
                    if item is None:
                        item = c
                elif kind == _K_PRICE:
                    in_price = c
                else:  # _K_NOTE
                    notes.append(c)
            elif kind < _K_TAX_SUBTOTAL:  # ChargeIndicator, Amount, MultiplierFactorNumeric of an allowance
                if parent is in_allowance:
                    i = kind - _K_CHARGE_INDICATOR
                    if allowance[i] is None:
                        allowance[i] = c
            elif kind < _K_TAX_SCHEME:  # TaxSubtotal and what a subtotal holds
                if kind == _K_TAX_SUBTOTAL:
                    if parent is in_total:
                        in_subtotal = c
                        subtotal = [None] * 8
                        subtotals.append((withholding, subtotal))
                elif parent is in_subtotal:
                    if kind == _K_TAX_CATEGORY:
                        in_category = c
                    else:  # Percent, TaxAmount, TaxableAmount: record[0..2]
                        i = kind - _K_PERCENT
                        if subtotal[i] is None:
                            subtotal[i] = c
                elif kind == _K_PERCENT and parent is in_category:
                    if subtotal[3] is None:
                        subtotal[3] = c
            elif kind < _K_BRAND:  # TaxScheme, TaxTypeCode, Name, TaxExemptionReasonCode, TaxExemptionReason
                if kind == _K_TAX_SCHEME:
                    if parent is in_category:
                        in_scheme = c
                elif kind == _K_TAX_TYPE_CODE:
                    if parent is in_scheme and subtotal[6] is None:
                        subtotal[6] = c
                elif kind == _K_NAME:
                    if parent is in_scheme:
                        if subtotal[7] is None:
                            subtotal[7] = c
                    elif parent is item and name is None:
                        name = c
                elif parent is in_category:  # the exemption's code and reason: record[4], record[5]
                    i = kind - _K_EXEMPTION_CODE + 4
                    if subtotal[i] is None:
                        subtotal[i] = c
            elif kind == _K_PRICE_AMOUNT:
                if parent is in_price and price is None:
                    price = c  # the first cbc:PriceAmount of the line's cac:Price elements
            elif parent is item:  # BrandName, ModelName, Description
                if kind == _K_BRAND:
                    if brand is None:
                        brand = c
                elif kind == _K_MODEL:
                    if model is None:
                        model = c
                elif description is None:
                    description = c
        qty_raw = (qty.text or "").strip() if qty is not None else ""

        discounts: list[Money | None] = []
        charges: list[Money | None] = []
        factor = None
        for indicator, ac_amount, multiplier in allowances:
            if _norm(indicator) == "true":
                charges.append(self.money(ac_amount))
            else:
                discounts.append(self.money(ac_amount))
                factor = multiplier
        rate = None
        if len(discounts) == 1:
            f = self.dec(_norm(factor))
            rate = f * 100 if f is not None else None

        kdv = []
        others = []
        withholdings = []
        for is_withholding, record in subtotals:
            tax = self._tax(record)
            if is_withholding:
                withholdings.append(tax)
            elif tax.code == "0015":
                kdv.append(tax)
            else:
                others.append(tax)

        name_text = _norm(name)
        brand_text = _norm(brand)
        model_text = _norm(model)
        if brand_text or model_text:
            extra = f"{brand_text} {model_text}" if brand_text and model_text else brand_text or model_text
            name_text = f"{name_text} ({extra})" if name_text else extra
        return _frozen(Line, {
            "no": _norm(no),
            "name": name_text,
            "description": _norm(description),
            "quantity": self.dec(qty_raw),
            "quantity_raw": qty_raw,
            "unit": (qty.get("unitCode") or "") if qty is not None else "",
            "unit_price": self.money(price),
            "discount": self.total(discounts) if discounts else None,
            "discount_rate": rate,
            "charge": self.total(charges) if charges else None,
            "kdv_percent": kdv[0].percent if len(kdv) == 1 else None,
            "kdv_amount": self.total([t.amount for t in kdv]) if kdv else None,
            "other_taxes": tuple(others),
            "withholdings": tuple(withholdings),
            "amount": self.money(amount),
            "notes": tuple([text for text in map(_norm, notes) if text]) if notes else (),
        })


def _taxes(total: etree._Element | None, currency: str) -> tuple[Tax, ...]:
    if total is None:
        return ()
    reader = _Reader(currency)
    return tuple(reader.subtotal(sub) for sub in total.iterchildren(_TAX_SUBTOTAL))


def _all_taxes(el: etree._Element, tag: str, currency: str) -> tuple[Tax, ...]:
    out: tuple[Tax, ...] = ()
    steps = _steps(tag)
    for total in el.iterchildren(steps[0]) if steps and len(steps) == 1 else el.findall(tag, NS):
        out += _taxes(total, currency)
    return out


def _line(el: etree._Element, currency: str) -> Line:
    return _Reader(currency).line(el)


def _is_words_note(note: str) -> bool:
    folded = note.replace("ı", "i").replace("İ", "i").replace("I", "i").lower()
    return "yalniz" in folded


def _words_from_calc(amount: Decimal | None, currency: str) -> str:
    """The lead's number-to-words function, when it exists in this build."""
    if amount is None:
        return ""
    try:
        from . import calc
    except Exception:
        return ""
    fn = getattr(calc, "amount_in_words", None)
    if fn is None:
        return ""
    try:
        return str(fn(amount, currency))
    except Exception:
        return ""


def read_view(tree: etree._ElementTree | etree._Element) -> DocumentView:
    """Read the view of any UBL-TR document; missing optional parts are simply absent."""
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    if next(root.iter(etree.Comment, etree.ProcessingInstruction), None) is not None:
        # a value split by a comment or a PI (2<!---->5894.83) is one value: read a copy
        # without them (the caller's tree is not changed; most documents have none)
        root = copy.deepcopy(root)
        etree.strip_tags(root, etree.Comment, etree.ProcessingInstruction)
    local = etree.QName(root).localname
    profile = _text(root, "cbc:ProfileID")
    currency = _text(root, "cbc:DocumentCurrencyCode")
    type_code = next(
        (_text(c) for c in root if isinstance(c.tag, str) and c.tag.startswith(_CBC) and c.tag.endswith("TypeCode")),
        "",
    )
    title = _INVOICE_TITLES.get(profile, "") if local == "Invoice" else ""
    title = title or _ROOT_TITLES.get(local, local)

    reader = _Reader(currency)
    lines = tuple(
        reader.line(c)
        for c in root
        if isinstance(c.tag, str) and c.tag.startswith(_CAC) and c.tag.endswith("Line")
    )
    mt = _first(root, ("cac:LegalMonetaryTotal", "cac:RequestedMonetaryTotal"))
    wh_lines = [ln for ln in lines if ln.withholdings]
    totals = Totals(
        line_extension=_money(mt, "cbc:LineExtensionAmount", currency),
        allowance_total=_money(mt, "cbc:AllowanceTotalAmount", currency),
        charge_total=_money(mt, "cbc:ChargeTotalAmount", currency),
        tax_exclusive=_money(mt, "cbc:TaxExclusiveAmount", currency),
        tax_inclusive=_money(mt, "cbc:TaxInclusiveAmount", currency),
        payable_rounding=_money(mt, "cbc:PayableRoundingAmount", currency),
        payable=_money(mt, "cbc:PayableAmount", currency),
        taxes=_all_taxes(root, "cac:TaxTotal", currency),
        withholdings=_all_taxes(root, "cac:WithholdingTaxTotal", currency),
        withholding_base=_money_sum((ln.amount for ln in wh_lines), currency) if wh_lines else None,
    )
    if totals.withholdings and all(t.taxable is not None for t in totals.withholdings):
        from dataclasses import replace as _replace

        totals = _replace(
            totals, withholding_taxable=_money_sum((t.taxable for t in totals.withholdings), currency)
        )

    notes = tuple(n for n in (_text(e) for e in root.findall("cbc:Note", NS)) if n)
    words = next((n for n in notes if _is_words_note(n)), "")
    if not words and local == "Invoice" and totals.payable is not None:
        words = _words_from_calc(totals.payable.value, totals.payable.currency or currency)

    refs: list[Reference] = []
    for label, path in (
        ("Sipariş", "cac:OrderReference"),
        ("İrsaliye", "cac:DespatchDocumentReference"),
        ("İade Edilen Fatura", "cac:BillingReference/cac:InvoiceDocumentReference"),
        ("Alındı", "cac:ReceiptDocumentReference"),
        ("Sözleşme", "cac:ContractDocumentReference"),
        ("Belge", "cac:DocumentReference"),
    ):
        for r in root.findall(path, NS):
            if _text(r, "cbc:ID"):
                refs.append(Reference(label, _text(r, "cbc:ID"), _text(r, "cbc:IssueDate")))
    for r in root.findall("cac:AdditionalDocumentReference", NS):
        if r.find("cac:Attachment", NS) is not None:
            continue  # attachments (the XSLT, images) are not references a person reads
        label = _text(r, "cbc:DocumentType") or _text(r, "cbc:DocumentTypeCode") or "Ek Belge"
        if _text(r, "cbc:ID"):
            refs.append(Reference(label, _text(r, "cbc:ID"), _text(r, "cbc:IssueDate")))

    payment: list[str] = []
    for pm in root.findall("cac:PaymentMeans", NS):
        parts = [
            p for p in (
                ("Ödeme şekli: " + _text(pm, "cbc:PaymentMeansCode")) if _text(pm, "cbc:PaymentMeansCode") else "",
                ("Son ödeme: " + _text(pm, "cbc:PaymentDueDate")) if _text(pm, "cbc:PaymentDueDate") else "",
                ("Hesap: " + _text(pm, "cac:PayeeFinancialAccount/cbc:ID")) if _text(pm, "cac:PayeeFinancialAccount/cbc:ID") else "",
                _text(pm, "cbc:InstructionNote"),
            ) if p
        ]
        if parts:
            payment.append(" · ".join(parts))
    for pt in root.findall("cac:PaymentTerms", NS):
        if _text(pt, "cbc:Note"):
            payment.append("Ödeme koşulu: " + _text(pt, "cbc:Note"))

    others = tuple(
        (label, p) for label, p in ((label, _party(root.find(path, NS))) for label, path in _OTHER_PARTIES)
        if p is not None
    )
    view = DocumentView(
        root=local,
        customization=_text(root, "cbc:CustomizationID"),
        title=title,
        profile=profile,
        type_code=type_code,
        number=_text(root, "cbc:ID"),
        uuid=_text(root, "cbc:UUID"),
        issue_date=_text(root, "cbc:IssueDate"),
        issue_time=_text(root, "cbc:IssueTime"),
        currency=currency,
        exchange_rate=_dec(_text(root, "cac:PricingExchangeRate/cbc:CalculationRate")),
        supplier=_party(_first(root, _SUPPLIER_PATHS)),
        customer=_party(_first(root, _CUSTOMER_PATHS)),
        others=others,
        lines=lines,
        totals=totals,
        notes=tuple(n for n in notes if n != words),
        amount_in_words=words,
        references=tuple(refs),
        payment=tuple(payment),
    )
    if local == "Invoice":
        view = _with_qr(view, root)
    elif local in ("DespatchAdvice", "ReceiptAdvice"):
        view = _with_shipment(view, root)
    return view


# --------------------------------------------------------------------------- e-İrsaliye

#: line quantities besides the first (which the Miktar column shows), as GİB's viewer names them
_LINE_QUANTITIES = (
    ("OutstandingQuantity", "Kalan (sonra gönderilecek)"),
    ("OversupplyQuantity", "Fazla"),
    ("ShortQuantity", "Eksik"),
    ("RejectedQuantity", "Reddedilen"),
)


def _with_shipment(view: DocumentView, root: etree._Element) -> DocumentView:
    """Add the despatch's logistics (or the receipt's answer) and each line's other
    quantities (outstanding, over-supplied, short, rejected with the reason)."""
    rows: list[tuple[str, str]] = []
    sh = root.find("cac:Shipment", NS)
    if sh is not None:
        d = sh.find("cac:Delivery/cac:Despatch", NS)
        if d is not None and _text(d, "cbc:ActualDespatchDate"):
            rows.append(("Sevk Tarihi", " ".join(p for p in (_text(d, "cbc:ActualDespatchDate"), _text(d, "cbc:ActualDespatchTime")) if p)))
        delivery = sh.find("cac:Delivery", NS)
        if delivery is not None and _text(delivery, "cbc:ActualDeliveryDate"):
            rows.append(("Teslim Tarihi", " ".join(p for p in (_text(delivery, "cbc:ActualDeliveryDate"), _text(delivery, "cbc:ActualDeliveryTime")) if p)))
        for pl in sh.findall("cac:ShipmentStage/cac:TransportMeans/cac:RoadTransport/cbc:LicensePlateID", NS):
            rows.append(("Araç Plakası", f"{_text(pl)} ({pl.get('schemeID') or '-'})"))
        for te in sh.findall("cac:TransportHandlingUnit/cac:TransportEquipment/cbc:ID", NS):
            rows.append(("Dorse Plakası", f"{_text(te)} ({te.get('schemeID') or '-'})"))
        for dp in sh.findall("cac:ShipmentStage/cac:DriverPerson", NS):
            name = " ".join(p for p in (_text(dp, "cbc:FirstName"), _text(dp, "cbc:FamilyName")) if p)
            nid = _text(dp, "cbc:NationalityID")
            rows.append(("Şoför", f"{name} ({nid})" if nid else name))
        addr = sh.find("cac:Delivery/cac:DeliveryAddress", NS)
        if addr is not None:
            parts = [_text(addr, "cbc:StreetName"), _text(addr, "cbc:BuildingNumber"), _text(addr, "cbc:PostalZone"),
                     " / ".join(p for p in (_text(addr, "cbc:CitySubdivisionName"), _text(addr, "cbc:CityName")) if p),
                     _text(addr, "cac:Country/cbc:Name")]
            rows.append(("Teslimat Adresi", " ".join(p for p in parts if p)))
        value = sh.find("cac:GoodsItem/cbc:ValueAmount", NS)
        if value is not None and _text(value):
            rows.append(("Malların Değeri", f"{_text(value)} {value.get('currencyID') or ''}".strip()))
    ref = root.find("cac:DespatchDocumentReference", NS)
    if _local_name(root) == "ReceiptAdvice" and ref is not None:
        rows.append(("Yanıtlanan İrsaliye ETTN", _text(ref, "cbc:ID")))
    lines = []
    elements = [c for c in root if isinstance(c.tag, str) and c.tag.startswith(_CAC) and c.tag.endswith("Line")]
    for line, el in zip(view.lines, elements):
        extra = []
        for tag, label in _LINE_QUANTITIES:
            q = el.find(f"cbc:{tag}", NS)
            if q is not None and _text(q) and q is not _first_quantity(el):
                extra.append(f"{label}: {_text(q)} {q.get('unitCode') or ''}".strip())
        for tag in ("OutstandingReason", "RejectReason", "TimingComplaint"):
            for r in el.findall(f"cbc:{tag}", NS):
                if _text(r):
                    extra.append(_text(r))
        for i in el.findall("cac:Item/cac:AdditionalItemIdentification/cbc:ID", NS):
            if _text(i):
                extra.append(f"{i.get('schemeID') or 'ID'}: {_text(i)}")
        lines.append(replace(line, notes=line.notes + tuple(extra)) if extra else line)
    return replace(view, shipment=tuple(rows), lines=tuple(lines))


def _local_name(el: etree._Element) -> str:
    return etree.QName(el).localname


def _first_quantity(el: etree._Element) -> etree._Element | None:
    return next((c for c in el if isinstance(c.tag, str) and c.tag.startswith(_CBC) and c.tag.endswith("Quantity")), None)


# --------------------------------------------------------------------------- Karekod


def _plain(m: Money | None) -> str:
    """An amount for the Karekod: dot decimal, at least two decimals, no grouping."""
    if m is None:
        return ""
    if m.value is None:
        return m.raw
    whole, _, decimals = format(m.value, "f").partition(".")  # every digit: no context rounding
    return f"{whole}.{decimals.ljust(2, '0')}"


def _percent_key(p: Decimal | None) -> str:
    if p is None:
        return ""
    s = f"{p.normalize():f}"
    return s


def _with_qr(view: DocumentView, root: etree._Element) -> DocumentView:
    from dataclasses import replace

    return replace(view, qr=qr_payload(view, root))


def _has_araci_kurum(root: etree._Element) -> bool:
    return any(
        (i.get("schemeID") or "").upper() == "ARACIKURUMVKN"
        for i in root.findall("cac:TaxRepresentativeParty/cac:PartyIdentification/cbc:ID", NS)
    )


def qr_payload(view: DocumentView, root: etree._Element | None = None) -> dict[str, str]:
    """The Karekod content of an e-Fatura / e-Arşiv invoice, per GİB's Karekod
    Standardı Kılavuzu V1.2 §2.1, §2.1.1 and §2.2, in the guide's key order.

    ``kdvmatrah(P)`` / ``hesaplanankdv(P)`` come from the document's KDV (0015)
    subtotals, one pair per percent (subtotals sharing a percent are added up, since
    JSON keys are unique).  For a Yolcu Beraber invoice (profile YOLCUBERABERFATURA,
    or an intermediary with schemeID ARACIKURUMVKN: the guide's own §2.1.1 example
    carries senaryo TEMELFATURA) the passport number and the intermediary's VKN
    follow the two VKNs (§2.1.1).
    """
    out: dict[str, str] = {}
    sup = view.supplier.vkn_tckn if view.supplier else ""
    cus = view.customer.vkn_tckn if view.customer else ""
    out["vkntckn"] = sup
    out["avkntckn"] = cus
    if root is not None and (view.profile == "YOLCUBERABERFATURA" or _has_araci_kurum(root)):
        out["pasaportno"] = _text(
            root, "cac:BuyerCustomerParty/cac:Party/cac:Person/cac:IdentityDocumentReference/cbc:ID"
        )
        rep = root.find("cac:TaxRepresentativeParty", NS)
        rep_id = ""
        if rep is not None:
            for i in rep.findall("cac:PartyIdentification/cbc:ID", NS):
                if (i.get("schemeID") or "").upper() in ("ARACIKURUMVKN", "VKN"):
                    rep_id = _text(i)
                    break
        out["aracikurumvkn"] = rep_id
    out["senaryo"] = view.profile
    out["tip"] = view.type_code
    out["tarih"] = view.issue_date
    out["no"] = view.number
    out["ettn"] = view.uuid
    out["parabirimi"] = view.currency
    out["malhizmettoplam"] = _plain(view.totals.line_extension)
    bases: dict[str, Money | None] = {}
    amounts: dict[str, Money | None] = {}
    # a document-level KDV subtotal without a percent: take the lines' KDV percent when
    # the lines state exactly one (read from the document, not derived from amounts)
    # (equal Decimals are one set member, so each distinct percent is normalized once)
    line_percents = {p.normalize() for p in {ln.kdv_percent for ln in view.lines} if p is not None}
    only_line_percent = next(iter(line_percents)) if len(line_percents) == 1 else None
    for t in view.totals.taxes:
        if t.code != "0015":
            continue
        key = _percent_key(t.percent if t.percent is not None else only_line_percent)
        bases[key] = _money_sum((bases.get(key), t.taxable), view.currency) if key in bases else t.taxable
        amounts[key] = _money_sum((amounts.get(key), t.amount), view.currency) if key in amounts else t.amount
    for key in bases:
        out[f"kdvmatrah({key})"] = _plain(bases[key])
    for key in amounts:
        out[f"hesaplanankdv({key})"] = _plain(amounts[key])
    out["vergidahil"] = _plain(view.totals.tax_inclusive)
    out["odenecek"] = _plain(view.totals.payable)
    return out


def qr_text(payload: Mapping[str, str]) -> str:
    """The string encoded in the QR code: compact JSON, non-ASCII kept as UTF-8."""
    return json.dumps(dict(payload), ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------- embedded XSLT


def embedded_xslt(tree: etree._ElementTree | etree._Element) -> bytes | None:
    """The document's own XSLT (base64 in an AdditionalDocumentReference attachment
    whose filename ends in .xslt/.xsl), decoded; ``None`` when it has none.

    Raises :class:`XsltError` when an XSLT attachment is there but cannot be decoded.
    """
    root = tree.getroot() if isinstance(tree, etree._ElementTree) else tree
    for obj in root.findall(
        "cac:AdditionalDocumentReference/cac:Attachment/cbc:EmbeddedDocumentBinaryObject", NS
    ):
        name = (obj.get("filename") or "").lower()
        if not name.endswith((".xslt", ".xsl")):
            continue
        text = "".join((obj.text or "").split())
        if not text:
            raise XsltError(f"embedded XSLT {obj.get('filename')!r} is empty")
        if len(text) > MAX_XSLT_BYTES * 4 // 3 + 4:
            raise XsltError(f"embedded XSLT {obj.get('filename')!r} is larger than {MAX_XSLT_BYTES} bytes")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise XsltError(f"embedded XSLT {obj.get('filename')!r} is not valid base64 ({exc})") from None
    return None


def _transform(tree: etree._ElementTree, xslt: bytes) -> bytes:
    try:
        style = xmlsafe.fromstring(xslt, max_bytes=MAX_XSLT_BYTES, what="embedded XSLT")
    except xmlsafe.UnsafeXML as exc:
        raise XsltError(str(exc)) from None
    try:
        transform = etree.XSLT(style, access_control=etree.XSLTAccessControl.DENY_ALL)
        result = transform(tree)
    except (etree.XSLTParseError, etree.XSLTApplyError, etree.XSLTError) as exc:
        raise XsltError(f"embedded XSLT failed under XSLT 1.0: {exc}") from None
    out = bytes(result)
    if not out.strip():
        raise XsltError("embedded XSLT produced no output")
    if len(out) > MAX_OUTPUT_BYTES:
        raise XsltError(f"embedded XSLT produced more than {MAX_OUTPUT_BYTES} bytes")
    return out


def _vm_size(field: bytes = b"VmSize:") -> int | None:
    """This process's virtual memory size (or ``VmPeak:``, its peak) in bytes (Linux), else None."""
    try:
        with open("/proc/self/status", "rb") as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _limit_child(timeout: float, memory: int | None, parent: int) -> int | None:
    """In the forked child: die with the parent, at most ``timeout`` s of CPU, and at
    most ``memory`` bytes of address space more than the fork inherited."""
    import resource

    from ._process import die_with_parent

    die_with_parent(parent)
    cpu = int(timeout) + 2
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    if memory is not None:
        base = _vm_size()
        if base is not None:
            resource.setrlimit(resource.RLIMIT_AS, (base + memory, base + memory))
            return base + memory
        resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))  # no /proc: bound the heap instead
    return None


def apply_xslt(tree: etree._ElementTree, xslt: bytes, *, timeout: float | None = XSLT_TIMEOUT,
               memory: int | None = XSLT_MEMORY) -> bytes:
    """Run an embedded XSLT (XSLT 1.0, lxml) with no file or network access and no
    extension functions; the output as bytes in the stylesheet's own encoding.

    With ``timeout`` the transform runs in a forked child process that is killed
    after that many seconds (an embedded XSLT is untrusted code that may loop) and may
    allocate at most ``memory`` bytes beyond what it inherited (RLIMIT_AS; ``None``: no
    memory limit); the child also dies with this process.  Either limit reached: an
    :class:`XsltError` (and :func:`render_html` falls back to ubltr's template).
    """
    if len(xslt) > MAX_XSLT_BYTES:
        raise XsltError(f"embedded XSLT is larger than {MAX_XSLT_BYTES} bytes")
    if timeout is None or not hasattr(os, "fork"):
        return _transform(tree, xslt)
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    parent = os.getpid()

    def child() -> None:
        limit = None
        try:
            limit = _limit_child(timeout, memory, parent)
            send.send(("ok", _transform(tree, xslt)))
        except MemoryError:
            send.send(("err", f"embedded XSLT needed more than its memory limit of {memory} bytes"))
        except XsltError as exc:  # libxslt reports a refused allocation as a failed evaluation
            peak = _vm_size(b"VmPeak:")
            if limit is not None and peak is not None and peak > limit - 32 * 1024 * 1024:
                send.send(("err", f"{exc} (it reached its memory limit of {memory} bytes)"))
            else:
                send.send(("err", str(exc)))
        except BaseException as exc:  # pragma: no cover - defensive
            send.send(("err", f"embedded XSLT crashed: {exc!r}"))
        finally:
            send.close()

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    send.close()
    try:
        if not recv.poll(timeout):
            raise XsltError(f"embedded XSLT did not finish within {timeout:g} s")
        status, value = recv.recv()
    except EOFError:
        proc.join(1)
        why = f" (exit {proc.exitcode})" if proc.exitcode else ""
        if memory is not None:
            why += f"; its limits: {timeout:g} s, {memory} bytes of memory"
        raise XsltError(f"embedded XSLT process ended without output{why}") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(1)
        recv.close()
    if status != "ok":
        raise XsltError(value)
    return value


# --------------------------------------------------------------------------- HTML


def tr_number(value: Decimal, min_decimals: int = 2) -> str:
    """Turkish digits: ``1.234,56`` (thousands '.', decimal ','), keeping every decimal
    the value has and at least ``min_decimals``."""
    text = str(value)  # every digit the value has: no rounding to the context's precision
    if "E" in text:
        text = format(value, "f")  # 1E+3 -> 1000, 1E-7 -> 0.0000001
    sign = ""
    if text[0] == "-":
        text = text[1:]
        if value:
            sign = "-"
    whole, _, decimals = text.partition(".")
    if not whole.isdigit():  # NaN, Infinity: not a number a document can mean
        raise ValueError(f"not a finite number: {value}")
    if len(decimals) < min_decimals:
        decimals = decimals.ljust(min_decimals, "0")
    if len(whole) > 3:
        whole = whole[:-3] + "." + whole[-3:] if len(whole) <= 6 else f"{int(whole):,}".replace(",", ".")
    return f"{sign}{whole},{decimals}" if decimals else sign + whole


def tr_money(m: Money | None, *, currency: bool = True) -> str:
    """``1.234,56 TL`` (TRY prints as TL, other currencies by their code)."""
    if m is None:
        return ""
    if m.value is None:
        return m.raw
    cur = "TL" if m.currency in ("TRY", "TL") else m.currency
    num = tr_number(m.value)
    return f"{num} {cur}" if currency and cur else num


def tr_quantity(q: Decimal | None, raw: str = "") -> str:
    if q is None:
        return raw
    return tr_number(q.normalize() if q == q.to_integral() else q, 0)


def tr_percent(p: Decimal | None) -> str:
    if p is None:
        return ""
    p = p.normalize()
    return "%" + tr_number(p, 0)


#: UN/ECE Rec 20 unit codes common on Turkish invoices, as printouts name them;
#: any other code is shown as it is.
UNIT_NAMES: Mapping[str, str] = {
    "C62": "Adet", "NIU": "Adet", "H87": "Adet", "PR": "Çift", "SET": "Set", "PA": "Paket",
    "BX": "Kutu", "KGM": "kg", "GRM": "g", "TNE": "ton", "LTR": "lt", "MLT": "ml", "MTQ": "m³",
    "MTK": "m²", "MTR": "m", "CMT": "cm", "KMT": "km", "KWH": "kWh", "MWH": "MWh", "KWT": "kW",
    "HUR": "Saat", "MIN": "Dakika", "DAY": "Gün", "WEE": "Hafta", "MON": "Ay", "ANN": "Yıl",
    "D61": "Dakika", "D62": "Saniye", "SM3": "Sm³", "B32": "kg·m²",
}


def tr_unit(code: str) -> str:
    return UNIT_NAMES.get(code, code)


def tr_date(iso: str) -> str:
    """``2024-01-31`` → ``31-01-2024`` (as GİB's viewer prints it); other text unchanged."""
    parts = iso.split("-")
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
        return f"{parts[2]}-{parts[1]}-{parts[0]}"
    return iso


@cache
def _environment() -> Any:
    import jinja2

    from .resources import folder

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder("templates") / "html")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=tr_money, qty=tr_quantity, pct=tr_percent, date=tr_date, num=tr_number, unit=tr_unit
    )
    return env


def _escape(text: str) -> str:
    """What the template's autoescape writes for ``text`` (markupsafe's escape), as str."""
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        from markupsafe import escape

        return str(escape(text))
    return text


def _line_rows(view: DocumentView, full: bool) -> str:
    """The ``<tbody>`` rows of the lines table, HTML-escaped, exactly as the template's
    row markup would write them (the line loop is the hot path of a long invoice:
    built here with string operations, each distinct amount, percent and quantity
    formatted once)."""
    formatted: dict[int, str] = {}  # id(Money) -> its escaped Turkish form; the view keeps each alive

    def money(m: Money | None) -> str:
        if m is None:
            return ""
        text = formatted.get(id(m))
        if text is None:
            text = formatted[id(m)] = _escape(tr_money(m))
        return text

    percents: dict[Decimal | None, str] = {None: ""}  # tr_percent is a function of the value

    def pct(p: Decimal | None) -> str:
        text = percents.get(p)
        if text is None:
            text = percents[p] = _escape(tr_percent(p))
        return text

    quantities: dict[tuple[int, str], str] = {}  # (id(quantity), raw) -> "3 Adet"

    other = view.has_other_taxes
    rows = []
    for ln in view.lines:
        q = ln.quantity
        key = (id(q), ln.unit if q is not None else ln.unit + "\0" + ln.quantity_raw)
        quantity = quantities.get(key)
        if quantity is None:
            quantity = quantities[key] = f"{_escape(tr_quantity(q, ln.quantity_raw))} {_escape(tr_unit(ln.unit))}"
        name = _escape(ln.name)
        if ln.description:
            name += f'<div class="desc">{_escape(ln.description)}</div>'
        for n in ln.notes:
            name += f'<div class="desc">{_escape(n)}</div>'
        for w in ln.withholdings:
            name += f'<div class="desc">Tevkifat {_escape(w.code)} {pct(w.percent)}: {money(w.amount)}</div>'
        if not full:
            rows.append(f'    <tr>\n      <td class="c">{_escape(ln.no)}</td>\n      <td>{name}      </td>\n'
                        f'      <td class="n">{quantity}</td>\n    </tr>\n')
            continue
        discount = money(ln.discount)
        if ln.discount_rate is not None:
            discount = f"{pct(ln.discount_rate)} {discount}"
        if ln.charge:
            discount = f"{discount}<div>+{money(ln.charge)}</div>"
        taxes = ""
        if other:
            taxes = "".join([f"<div>{_escape(t.name)} {pct(t.percent)} {money(t.amount)}</div>" for t in ln.other_taxes])
            taxes = f'      <td class="n">{taxes}</td>\n'
        rows.append(
            f'    <tr>\n      <td class="c">{_escape(ln.no)}</td>\n      <td>{name}      </td>\n'
            f'      <td class="n">{quantity}</td>\n      <td class="n">{money(ln.unit_price)}</td>\n'
            f'      <td class="n">{discount}</td>\n      <td class="n">{pct(ln.kdv_percent)}</td>\n'
            f'      <td class="n">{money(ln.kdv_amount)}</td>\n{taxes}      <td class="n">{money(ln.amount)}</td>\n'
            "    </tr>\n"
        )
    return "".join(rows)


def render_default(view: DocumentView) -> str:
    """Our own printout of ``view`` (templates/html/invoice.html.j2)."""
    from markupsafe import Markup

    from . import qr

    svg = qr.svg(qr_text(view.qr)) if view.qr else ""
    full = view.is_invoice or view.root == "CreditNote" or any(ln.amount for ln in view.lines)
    return _environment().get_template("invoice.html.j2").render(
        v=view, qr_svg=Markup(svg), qr_json=qr_text(view.qr) if view.qr else "",
        full=full, line_rows=Markup(_line_rows(view, full)),
    )


@dataclass(frozen=True)
class Rendered:
    html: bytes
    source: Literal["embedded", "default"]
    warnings: tuple[str, ...] = ()


def render_html(
    data: bytes,
    *,
    use_embedded: bool = True,
    timeout: float | None = XSLT_TIMEOUT,
    memory: int | None = XSLT_MEMORY,
) -> Rendered:
    """XML bytes → HTML bytes, as GİB's viewer does it.

    The document's own embedded XSLT is applied when it has one and it runs under
    lxml (XSLT 1.0, sandboxed); otherwise, or with ``use_embedded=False``, our
    template renders the document.  Why the embedded XSLT was not used is in
    ``warnings``.  Raises :class:`DocumentError` on unreadable input.
    """
    tree = load_xml(data)
    warnings: list[str] = []
    if use_embedded:
        try:
            xslt = embedded_xslt(tree)
            if xslt is not None:
                return Rendered(apply_xslt(tree, xslt, timeout=timeout, memory=memory), "embedded")
        except XsltError as exc:
            warnings.append(f"{exc}; using ubltr's default template instead")
    view = read_view(tree)
    return Rendered(render_default(view).encode("utf-8"), "default", tuple(warnings))


# --------------------------------------------------------------------------- browser


_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_browser() -> str | None:
    """Path of a headless-capable Chromium/Chrome (``$UBLTR_CHROMIUM`` first), or ``None``."""
    env = os.environ.get("UBLTR_CHROMIUM")
    if env:
        return env if Path(env).exists() or shutil.which(env) else None
    for name in _BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_args(profile_dir: str) -> list[str]:
    """Flags for a quiet, offline, throw-away headless run."""
    return [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile_dir}",
    ]


def run_browser(extra: list[str], url: str, *, timeout: float = 60.0) -> subprocess.CompletedProcess[bytes]:
    """Run the headless browser once on ``url`` with ``extra`` flags (fresh profile)."""
    exe = find_browser()
    if exe is None:
        raise BrowserMissing(
            "no Chromium found (install it: apt-get install chromium, or set UBLTR_CHROMIUM)"
        )
    with tempfile.TemporaryDirectory(prefix="ubltr-chromium-") as profile:
        return subprocess.run(
            [exe, *browser_args(profile), *extra, url],
            capture_output=True,
            timeout=timeout,
            check=False,
        )


def html_to_pdf(html_path: Path, pdf_path: Path, *, timeout: float = 60.0) -> None:
    """Print an HTML file to PDF with headless Chromium (A4, no header/footer)."""
    pdf_path = pdf_path.resolve()
    proc = run_browser(
        ["--no-pdf-header-footer", f"--print-to-pdf={pdf_path}"],
        html_path.resolve().as_uri(),
        timeout=timeout,
    )
    if not pdf_path.exists() or pdf_path.stat().st_size == 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise RuntimeError("Chromium did not write the PDF: " + " | ".join(tail))
