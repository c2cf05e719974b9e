"""Payload equals document: what a field-based provider receives is checked against the
UBL-TR document itself, before any request.

BizimHesap (``addinvoice``) and Logo MaxiApi (``InvoiceTransfer``) do not receive the
UBL-TR document: they receive fields (quantities, prices, line and document amounts)
and issue or book their own invoice from them.  Those fields are mapped from ubltr's
model (for an XML input: what :mod:`ubltr.parsing` read), so anything lost or re-derived
on the way would reach the provider silently.  Here the payload's amounts are set
against amounts read from the XML **by XPath, not through the model**:

per line
    quantity, unit price, gross (``LineExtensionAmount`` + line allowances − line
    charges), discount (gross − net), net (the line's KDV ``TaxableAmount``, i.e. after
    its share of document allowances), KDV rate, tax (the line's ``TaxTotal``), total
    (net + tax), withholding
per document
    currency, exchange rate, gross (Σ line gross), discount (gross − net), net
    (``TaxExclusiveAmount``), tax (``TaxTotal/TaxAmount``), total
    (``TaxInclusiveAmount``), withholding and what is payable (``PayableAmount``)

and must agree to the kuruş.  Where the document contradicts itself (its lines do not
add up to its totals, quantity × price is not its gross ...) there is no single amount a
provider could be given: that is refused too, saying it is the document's doing.  A
field the provider has no place for (BizimHesap's exchange rate, withholding) counts
as a difference when the document has a value for it.

A **signed** document cannot travel to such a provider: the provider issues a new
invoice from the fields, and the signature over the original bytes stays behind.
Such a send is refused unless the client's ``reissue_signed`` is set (``ubltr send
--reissue-signed``).

Every refusal raises :class:`PayloadRefused` (a ``ValueError`` with an ``error_code``)
from inside the client's mapping step, so the client answers ``REJECTED`` without
making a request and the outbox records the code and the message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from typing import Any

__all__ = ["PayloadRefused", "Figures", "LineFigures", "Difference", "document_figures",
           "bizimhesap_figures", "logo_figures", "hepsiburada_figures", "compare", "is_signed", "check_payload",
           "check_signed", "signed_refusal", "checked", "SIGNED", "MISMATCH", "FIGURE_READERS"]

#: ``error_code`` of a signed document refused by a provider that re-issues from fields
SIGNED = "ubltr:signed-reissue"
#: ``error_code`` of a payload whose amounts differ from the document's
MISMATCH = "ubltr:payload-mismatch"

_NS = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
       "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
       "ds": "http://www.w3.org/2000/09/xmldsig#"}
_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")
_KDV = "0015"


class PayloadRefused(ValueError):
    """The send is refused before any request; ``problems`` name each field and both values."""

    #: the message stays under this many characters (the outbox keeps 1000): whole
    #: problems up to it, then how many more there are (all of them are in ``problems``)
    MAX_MESSAGE = 950

    def __init__(self, error_code: str, summary: str, problems: Sequence[str] = ()) -> None:
        self.error_code = error_code
        self.problems = list(problems)
        text = summary
        for i, p in enumerate(self.problems):
            more = len(self.problems) - i
            piece = (": " if i == 0 else "; ") + p
            tail = f"; and {more - 1} more" if more > 1 else ""
            if len(text) + len(piece) + len(tail) > self.MAX_MESSAGE and i:
                text += f"; and {more} more"
                break
            text += piece
        super().__init__(text)


def _kurus(x: Decimal) -> Decimal:
    return x.quantize(_CENT, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- figures

@dataclass(frozen=True, slots=True)
class LineFigures:
    """One line's money; each value paired with where it came from (``names``)."""

    quantity: Decimal | None
    unit_price: Decimal | None
    gross: Decimal | None
    discount: Decimal | None
    net: Decimal | None
    tax_rate: Decimal | None
    tax: Decimal | None
    withholding: Decimal | None
    total: Decimal | None
    names: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Figures:
    """A document's (or a payload's) money, comparable field by field."""

    currency: str | None
    exchange_rate: Decimal | None
    gross: Decimal | None
    discount: Decimal | None
    net: Decimal | None
    tax: Decimal | None
    withholding: Decimal | None
    total: Decimal | None
    payable: Decimal | None
    lines: tuple[LineFigures, ...]
    names: Mapping[str, str]


LINE_FIELDS = ("quantity", "unit_price", "gross", "discount", "net", "tax_rate", "tax", "withholding", "total")
DOC_FIELDS = ("currency", "exchange_rate", "gross", "discount", "net", "tax", "withholding", "total", "payable")


# --------------------------------------------------------------------------- the document, by XPath

@cache
def _xpath(path: str) -> Any:
    """A compiled XPath (compiling is most of the cost of a one-off ``el.xpath``)."""
    from lxml import etree

    return etree.XPath(path, namespaces=_NS)


class _Reader:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def dec(self, el: Any, path: str, where: str, default: Decimal | None = None) -> Decimal | None:
        nodes = _xpath(path)(el)
        if not nodes:
            return default
        total = Decimal(0)
        for n in nodes:
            text = (n.text or "").strip()
            try:
                v = Decimal(text)
            except InvalidOperation:
                v = Decimal("NaN")
            if not v.is_finite():
                self.problems.append(f"{where}: {text!r} is not a number")
                return None
            total += v
        return total


def _signed_sum(values: Sequence[Decimal | None]) -> Decimal | None:
    if any(v is None for v in values):
        return None
    return sum((v for v in values if v is not None), Decimal(0))


def document_figures(xml: bytes) -> tuple[Figures, list[str]]:
    """The document's own amounts, read by XPath from the UBL-TR ``xml``, and where the
    document contradicts itself (a list of messages; empty when it adds up)."""
    from .base import parse_xml

    root = parse_xml(xml)
    r = _Reader()
    out: list[str] = r.problems
    currency = root.xpath("string(cbc:DocumentCurrencyCode)", namespaces=_NS).strip() or None
    rate = r.dec(root, "cac:PricingExchangeRate/cbc:CalculationRate", "PricingExchangeRate/CalculationRate")
    lines: list[LineFigures] = []
    line_els = root.xpath("cac:InvoiceLine", namespaces=_NS)
    # a line's KDV TaxableAmount is its net only when KDV is its only tax (ÖTV & co. sit in the KDV base)
    only_kdv = not root.xpath(f"cac:InvoiceLine/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory/cac:TaxScheme"
                              f"[normalize-space(cbc:TaxTypeCode)!='{_KDV}']", namespaces=_NS)
    for n, el in enumerate(line_els, start=1):
        at = f"InvoiceLine[{n}]"
        qty = r.dec(el, "cbc:InvoicedQuantity", f"{at}/InvoicedQuantity")
        price = r.dec(el, "cac:Price/cbc:PriceAmount", f"{at}/Price/PriceAmount")
        ext = r.dec(el, "cbc:LineExtensionAmount", f"{at}/LineExtensionAmount")
        allow = r.dec(el, "cac:AllowanceCharge[normalize-space(cbc:ChargeIndicator)='false']/cbc:Amount",
                      f"{at}/AllowanceCharge/Amount", _ZERO)
        charge = r.dec(el, "cac:AllowanceCharge[normalize-space(cbc:ChargeIndicator)='true']/cbc:Amount",
                       f"{at}/AllowanceCharge/Amount", _ZERO)
        kdv_path = f"cac:TaxTotal/cac:TaxSubtotal[cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode='{_KDV}']"
        kdv_subs = _xpath(kdv_path)(el)
        taxable = r.dec(el, f"{kdv_path}/cbc:TaxableAmount", f"{at} KDV TaxableAmount") if kdv_subs else ext
        rates = {r.dec(s, "cbc:Percent", f"{at} KDV Percent") for s in kdv_subs}
        if len(rates) > 1:
            out.append(f"{at}: more than one KDV rate on one line ({', '.join(str(x) for x in rates)})")
        kdv_rate = next(iter(rates)) if len(rates) == 1 else (None if kdv_subs else _ZERO)
        tax = r.dec(el, "cac:TaxTotal/cbc:TaxAmount", f"{at}/TaxTotal/TaxAmount", _ZERO)
        sub_tax = r.dec(el, "cac:TaxTotal/cac:TaxSubtotal/cbc:TaxAmount", f"{at}/TaxTotal/TaxSubtotal/TaxAmount", _ZERO)
        wh = r.dec(el, "cac:WithholdingTaxTotal/cbc:TaxAmount", f"{at}/WithholdingTaxTotal/TaxAmount", _ZERO)
        gross = None if ext is None or allow is None or charge is None else ext + allow - charge
        if tax is not None and sub_tax is not None and tax != sub_tax:
            out.append(f"{at}: TaxTotal/TaxAmount {tax} is not the sum of its TaxSubtotal amounts {sub_tax}")
        if qty is not None and price is not None and gross is not None and _kurus(qty * price) != gross:
            out.append(f"{at}: InvoicedQuantity × PriceAmount = {qty} × {price} = {_kurus(qty * price)}, but "
                       f"LineExtensionAmount + allowances − charges = {gross}")
        net = taxable
        lines.append(LineFigures(
            quantity=qty, unit_price=price, gross=gross,
            discount=None if gross is None or net is None else gross - net, net=net, tax_rate=kdv_rate,
            tax=tax, withholding=wh, total=None if net is None or tax is None else net + tax,
            names={"quantity": f"{at}/InvoicedQuantity", "unit_price": f"{at}/Price/PriceAmount",
                   "gross": f"{at} LineExtensionAmount + allowances − charges",
                   "discount": f"{at} gross − KDV TaxableAmount", "net": f"{at} KDV TaxableAmount",
                   "tax_rate": f"{at} KDV Percent", "tax": f"{at}/TaxTotal/TaxAmount",
                   "withholding": f"{at}/WithholdingTaxTotal/TaxAmount", "total": f"{at} KDV TaxableAmount + TaxAmount"}))

    lmt = "cac:LegalMonetaryTotal/cbc:"
    line_ext = r.dec(root, lmt + "LineExtensionAmount", "LegalMonetaryTotal/LineExtensionAmount")
    excl = r.dec(root, lmt + "TaxExclusiveAmount", "LegalMonetaryTotal/TaxExclusiveAmount")
    incl = r.dec(root, lmt + "TaxInclusiveAmount", "LegalMonetaryTotal/TaxInclusiveAmount")
    allow_total = r.dec(root, lmt + "AllowanceTotalAmount", "LegalMonetaryTotal/AllowanceTotalAmount", _ZERO)
    charge_total = r.dec(root, lmt + "ChargeTotalAmount", "LegalMonetaryTotal/ChargeTotalAmount", _ZERO)
    rounding = r.dec(root, lmt + "PayableRoundingAmount", "LegalMonetaryTotal/PayableRoundingAmount", _ZERO)
    payable = r.dec(root, lmt + "PayableAmount", "LegalMonetaryTotal/PayableAmount")
    tax = r.dec(root, "cac:TaxTotal/cbc:TaxAmount", "TaxTotal/TaxAmount", _ZERO)
    doc_allow = r.dec(root, "cac:AllowanceCharge[normalize-space(cbc:ChargeIndicator)='false']/cbc:Amount",
                      "AllowanceCharge/Amount", _ZERO)
    doc_charge = r.dec(root, "cac:AllowanceCharge[normalize-space(cbc:ChargeIndicator)='true']/cbc:Amount",
                       "AllowanceCharge/Amount", _ZERO)
    doc_wh = r.dec(root, "cac:WithholdingTaxTotal/cbc:TaxAmount", "WithholdingTaxTotal/TaxAmount")
    lines_wh = _signed_sum([ln.withholding for ln in lines])
    withholding = doc_wh if doc_wh is not None else lines_wh   # TEVKIFATIADE: on the lines only

    def differ(what: str, a: Decimal | None, b_what: str, b: Decimal | None) -> None:
        if a is not None and b is not None and a != b:
            out.append(f"{what} = {a}, but {b_what} = {b}")

    if not line_els:
        out.append("the document has no InvoiceLine")
    differ("LegalMonetaryTotal/LineExtensionAmount", line_ext, "Σ InvoiceLine/LineExtensionAmount",
           _signed_sum([r.dec(el, "cbc:LineExtensionAmount", "") for el in line_els]))
    differ("AllowanceTotalAmount", allow_total, "Σ document AllowanceCharge (allowances)", doc_allow)
    differ("ChargeTotalAmount", charge_total, "Σ document AllowanceCharge (charges)", doc_charge)
    if line_ext is not None and allow_total is not None and charge_total is not None:
        differ("TaxExclusiveAmount", excl, "LineExtensionAmount − AllowanceTotalAmount + ChargeTotalAmount",
               line_ext - allow_total + charge_total)
    if only_kdv:
        differ("TaxExclusiveAmount", excl, "Σ lines' KDV TaxableAmount", _signed_sum([ln.net for ln in lines]))
    differ("TaxTotal/TaxAmount", tax, "Σ InvoiceLine/TaxTotal/TaxAmount", _signed_sum([ln.tax for ln in lines]))
    if excl is not None and tax is not None:
        differ("TaxInclusiveAmount", incl, "TaxExclusiveAmount + TaxTotal/TaxAmount", excl + tax)
    if doc_wh is not None:
        differ("WithholdingTaxTotal/TaxAmount", doc_wh, "Σ InvoiceLine/WithholdingTaxTotal/TaxAmount", lines_wh)
    if incl is not None and withholding is not None and rounding is not None:
        differ("PayableAmount", payable, "TaxInclusiveAmount − withholding + PayableRoundingAmount",
               incl - withholding + rounding)
    out.sort(key=lambda m: m.startswith("InvoiceLine["))   # the document's totals first, then its lines
    gross = _signed_sum([ln.gross for ln in lines])
    figures = Figures(
        currency=currency, exchange_rate=rate, gross=gross,
        discount=None if gross is None or excl is None else gross - excl, net=excl, tax=tax,
        withholding=withholding, total=incl, payable=payable, lines=tuple(lines),
        names={"currency": "DocumentCurrencyCode", "exchange_rate": "PricingExchangeRate/CalculationRate",
               "gross": "Σ lines' gross", "discount": "Σ lines' gross − TaxExclusiveAmount",
               "net": "LegalMonetaryTotal/TaxExclusiveAmount", "tax": "TaxTotal/TaxAmount",
               "withholding": "WithholdingTaxTotal/TaxAmount", "total": "LegalMonetaryTotal/TaxInclusiveAmount",
               "payable": "LegalMonetaryTotal/PayableAmount"})
    return figures, out


def is_signed(xml: bytes) -> bool:
    """Whether the document carries an XML signature (``ds:Signature``, GİB's XAdES)."""
    from .base import parse_xml

    return bool(parse_xml(xml).xpath("boolean(//ds:Signature)", namespaces=_NS))


# --------------------------------------------------------------------------- payloads

def _lower(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k).lower(): _lower(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_lower(v) for v in obj]
    return obj


def _num(v: Any) -> Decimal | None:
    """A payload number as the provider reads it: JSON number or decimal text."""
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, float):  # never produced by dumps_exact; read exactly if it ever is
        return Decimal(repr(v))
    if isinstance(v, str):
        try:
            d = Decimal(v.replace(",", "").strip())
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def _json(body: bytes) -> Any:
    import json

    return json.loads(body.decode("utf-8"), parse_float=Decimal, parse_int=Decimal)


def bizimhesap_figures(body: bytes) -> Figures:
    """What BizimHesap's ``addinvoice`` body says (field names case-insensitive, as
    its binder reads them).  It has no exchange-rate, withholding or rounding field:
    its ``amounts.total`` ("Fatura dip toplamı") is also what is payable."""
    from .bizimhesap import CURRENCIES

    b = _lower(_json(body))
    amounts = b.get("amounts") or {}
    theirs = {v: k for k, v in CURRENCIES.items()}
    cur = amounts.get("currency")
    lines = []
    for i, d in enumerate(b.get("details") or []):
        at = f"details[{i}]"
        lines.append(LineFigures(
            quantity=_num(d.get("quantity")), unit_price=_num(d.get("unitprice")), gross=_num(d.get("grossprice")),
            discount=_num(d.get("discount")) if d.get("discount") not in (None, "") else _ZERO,
            net=_num(d.get("net")), tax_rate=_num(d.get("taxrate")), tax=_num(d.get("tax")),
            withholding=_ZERO, total=_num(d.get("total")),
            names={"quantity": f"{at}.quantity", "unit_price": f"{at}.unitPrice", "gross": f"{at}.grossPrice",
                   "discount": f"{at}.discount", "net": f"{at}.net", "tax_rate": f"{at}.taxRate",
                   "tax": f"{at}.tax", "withholding": f"({at}: BizimHesap has no withholding field)",
                   "total": f"{at}.total"}))
    total = _num(amounts.get("total"))
    return Figures(
        currency=theirs.get(str(cur), str(cur)) if cur is not None else None, exchange_rate=None,
        gross=_num(amounts.get("gross")), discount=_num(amounts.get("discount")), net=_num(amounts.get("net")),
        tax=_num(amounts.get("tax")), withholding=_ZERO, total=total, payable=total, lines=tuple(lines),
        names={"currency": "amounts.currency", "exchange_rate": "(BizimHesap has no exchange-rate field)",
               "gross": "amounts.gross", "discount": "amounts.discount", "net": "amounts.net",
               "tax": "amounts.tax", "withholding": "(BizimHesap has no withholding field)",
               "total": "amounts.total", "payable": "amounts.total (BizimHesap's only total: what is paid)"})


def logo_figures(body: bytes) -> Figures:
    """What a MaxiApi ``InvoiceTransfer`` body books.  MaxiApi carries quantity, unit
    price, ``VatRate`` and ``LineTotal`` (the net line amount) but no VAT or total
    amount: those are what Logo computes from them (LineTotal × VatRate to the kuruş,
    half-up; withholding = VAT × DeducationPart1 / DeducationPart2), and that is what
    is compared.  No currency field is sent: the transfer is in TRY."""
    b = _lower(_json(body))
    main = ((b[0] if isinstance(b, list) and b else {}).get("mainparams") or [{}])[0]
    lines = []
    for i, p in enumerate(main.get("lineparams") or []):
        at = f"LineParams[{i}]"
        q, price, rate, net = (_num(p.get("quantity")), _num(p.get("unitprice")), _num(p.get("vatrate")),
                               _num(p.get("linetotal")))
        gross = _kurus(q * price) if q is not None and price is not None else None
        tax = _kurus(net * rate / 100) if net is not None and rate is not None else None
        wh: Decimal | None = _ZERO
        if str(p.get("deducation") or "") == "1" and tax is not None:
            part1, part2 = _num(p.get("deducationpart1")), _num(p.get("deducationpart2"))
            wh = _kurus(tax * part1 / part2) if part1 is not None and part2 else None
        lines.append(LineFigures(
            quantity=q, unit_price=price, gross=gross,
            discount=None if gross is None or net is None else gross - net, net=net, tax_rate=rate, tax=tax,
            withholding=wh, total=None if net is None or tax is None else net + tax,
            names={"quantity": f"{at}.Quantity", "unit_price": f"{at}.UnitPrice",
                   "gross": f"{at} Quantity × UnitPrice", "discount": f"{at} Quantity × UnitPrice − LineTotal",
                   "net": f"{at}.LineTotal", "tax_rate": f"{at}.VatRate",
                   "tax": f"{at} VAT (LineTotal × VatRate, as Logo computes it)",
                   "withholding": f"{at} withholding (VAT × DeducationPart1/DeducationPart2)",
                   "total": f"{at} LineTotal + VAT"}))
    gross = _signed_sum([ln.gross for ln in lines])
    net = _signed_sum([ln.net for ln in lines])
    tax = _signed_sum([ln.tax for ln in lines])
    withholding = _signed_sum([ln.withholding for ln in lines])
    total = None if net is None or tax is None else net + tax
    return Figures(
        currency="TRY", exchange_rate=None, gross=gross,
        discount=None if gross is None or net is None else gross - net, net=net, tax=tax, withholding=withholding,
        total=total, payable=None if total is None or withholding is None else total - withholding,
        lines=tuple(lines),
        names={"currency": "(MaxiApi transfer without currency fields: TRY)",
               "exchange_rate": "(MaxiApi transfer without CurrRate)", "gross": "Σ Quantity × UnitPrice",
               "discount": "Σ (Quantity × UnitPrice − LineTotal)", "net": "Σ LineTotal", "tax": "Σ VAT",
               "withholding": "Σ withholding", "total": "Σ (LineTotal + VAT)",
               "payable": "Σ (LineTotal + VAT − withholding)"})


def hepsiburada_figures(body: bytes) -> Figures:
    """What a Hepsiburada ``SendInvoice`` ``InvoiceInfo`` carries: the invoice in
    Uyumsoft's JSON object form, turned back into XML by the schema-driven codec and
    read by the same XPath as the document (names prefixed ``InvoiceInfo.Invoice``)."""
    from dataclasses import replace

    from .hepsiburada import codec

    info = _json(body)
    figures, _ = document_figures(codec().to_xml(info["Invoice"]))

    def named(names: Mapping[str, str]) -> dict[str, str]:
        return {k: f"InvoiceInfo.Invoice {v}" for k, v in names.items()}
    return replace(figures, names=named(figures.names),
                   lines=tuple(replace(ln, names=named(ln.names)) for ln in figures.lines))


#: providers that receive the whole document (in another form), not fields to re-issue from
WHOLE_DOCUMENT = frozenset({"hepsiburada"})

#: provider name -> reader of its payload's figures
FIGURE_READERS: dict[str, Callable[[bytes], Figures]] = {
    "bizimhesap": bizimhesap_figures,
    "logo": logo_figures,
    "hepsiburada": hepsiburada_figures,
}


# --------------------------------------------------------------------------- comparison

@dataclass(frozen=True, slots=True)
class Difference:
    field: str          # the payload's field
    sent: Any
    where: str          # the document's element(s)
    document: Any
    line: int | None = None   # 0-based line index, None for a document-level field

    def __str__(self) -> str:
        if self.field.startswith("("):   # a field the provider does not have
            return f"{self.where} = {_show(self.document)} in the document, but {self.field[1:-1]}"
        return f"{self.field} = {_show(self.sent)} in the payload, {_show(self.document)} in the document ({self.where})"


def _show(v: Any) -> str:
    return "nothing" if v is None else str(v)


def _same(a: Any, b: Any) -> bool:
    return bool(a == b)   # Decimals numerically (18.00 == 18), text exactly


def compare(sent: Figures, doc: Figures) -> list[Difference]:
    """Every field where the payload and the document differ (numerically exact)."""
    out: list[Difference] = []
    for f in DOC_FIELDS:
        a, b = getattr(sent, f), getattr(doc, f)
        if f == "exchange_rate" and doc.currency == "TRY":
            continue   # a TRY document's rate (if any) is 1 by definition
        if not _same(a, b):
            out.append(Difference(sent.names[f], a, doc.names[f], b))
    if len(sent.lines) != len(doc.lines):
        out.append(Difference("lines", len(sent.lines), "InvoiceLine count", len(doc.lines)))
    for i, (ls, ld) in enumerate(zip(sent.lines, doc.lines)):
        for f in LINE_FIELDS:
            a, b = getattr(ls, f), getattr(ld, f)
            if not _same(a, b):
                out.append(Difference(ls.names[f], a, ld.names[f], b, line=i))
    return out


def check_payload(provider: str, xml: bytes, body: bytes | Mapping[str, Any]) -> None:
    """Raise :class:`PayloadRefused` (:data:`MISMATCH`) unless ``body``, what
    ``provider`` would receive (bytes, or a JSON-ready mapping), carries the document's
    own amounts to the kuruş."""
    if not isinstance(body, bytes):
        import json

        body = json.dumps(body, ensure_ascii=False).encode("utf-8")
    reader = FIGURE_READERS[provider]
    try:
        doc, contradictions = document_figures(xml)
    except ValueError as exc:
        raise PayloadRefused(MISMATCH, f"the document's amounts cannot be read ({exc})") from None
    if provider in WHOLE_DOCUMENT:
        contradictions = []   # the document itself travels: its own arithmetic is GİB's business
    found = compare(reader(body), doc)
    diffs = [str(d) for d in found]
    if diffs or contradictions:
        parts = []
        if diffs:
            parts.append(f"{len(diffs)} payload field(s) differ from the document")
        if contradictions:
            parts.append(f"the document contradicts itself in {len(contradictions)} place(s), so no payload "
                         "can carry its amounts")
        # the document's totals first, then where the document contradicts itself, then the lines
        raise PayloadRefused(MISMATCH, f"not sent to {provider}: " + " and ".join(parts),
                             [str(d) for d in found if d.line is None] + [f"document: {c}" for c in contradictions]
                             + [str(d) for d in found if d.line is not None])


#: what a provider issues its own invoice from, when not from the payload's fields
_REISSUED_FROM = {"propars": "the sale it holds (only our ETTN, number and date are sent)"}


def check_signed(client: Any, doc: Any) -> None:
    """Raise :class:`PayloadRefused` (:data:`SIGNED`) for a signed document unless
    ``client.reissue_signed``: ``client`` issues its own invoice, so the signature over
    the document's bytes cannot travel."""
    if doc.xml and not getattr(client, "reissue_signed", False) and is_signed(doc.xml):
        source = _REISSUED_FROM.get(client.name, "the fields it receives")
        raise PayloadRefused(
            SIGNED, f"not sent to {client.name}: the document is signed, and {client.name} issues its own "
            f"invoice from {source}, so the signature cannot travel with it; send the unsigned document, "
            "or allow the re-issue explicitly (ubltr send --reissue-signed; reissue_signed=True in Python)")


def signed_refusal(client: Any, doc: Any) -> Any:
    """:func:`check_signed` as a ``REJECTED`` :class:`~ubltr.transport.base.SendResult`
    (or ``None`` when the document may go), for a send path without a mapping step."""
    from .base import Outcome, SendResult

    try:
        check_signed(client, doc)
    except ValueError as exc:
        return SendResult(Outcome.REJECTED, client.name, doc.uuid,
                          error_code=getattr(exc, "error_code", SIGNED), message=str(exc)[:1000])
    return None


def checked(client: Any, body_for: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    """``body_for`` with the two guards around it, for a client's send path:
    a signed document is refused unless ``client.reissue_signed``; the mapped body is
    then compared with the document (:func:`check_payload`)."""
    def body(doc: Any) -> bytes:
        check_signed(client, doc)
        out = body_for(doc)
        check_payload(client.name, doc.xml or _built(doc), out)
        return out
    return body


def _built(doc: Any) -> bytes:
    """The UBL-TR document of a :class:`~ubltr.transport.base.Document` given without
    XML (only its neutral invoice): the one :func:`ubltr.render.build` writes for it."""
    from .. import model, render

    if doc.neutral is None:
        raise PayloadRefused(MISMATCH, "no document to compare the payload with (neither XML nor neutral invoice)")
    return render.build(model.load(doc.neutral))
