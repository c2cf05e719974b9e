"""UBL-TR XML → the neutral model: ``parse(xml) -> Invoice``.

Reads any UBL-TR 1.2 invoice (ours, GİB's samples, other integrators') leniently:
the parser takes what the document says and does not re-validate it (that is
:mod:`ubltr.validation`'s job), so a real-world invoice with an old tax rate or an
invalid VKN still parses.  ``parse(build(x)) == x`` for every invoice ``x`` that
``load`` accepts with ``id`` and ``uuid`` set.

What the builder adds and the parser removes again, so that the identity holds:
the amount-in-words notes (exactly the words of PayableAmount, and of its TRY
equivalent for a foreign currency; a user's own "Yalnız ..." note is kept), the default
exemption reason text, document delivery terms repeated on each IHRACAT line, and
the payment means written for an e-Arşiv internet sale.

Other software's documents are read for what they charge (README, "Reading what the
world sends"): element text whole, lines without taxes bearing the document's,
cascaded and implied discounts, özel matrah bases, stopaj and tevkifat line taxes.
:func:`check_totals` compares ``compute(parse(x))`` with the document's own totals
and names where the document disagrees with itself.  ``parse`` raises only
:class:`ParseError`; it accepts an ``Invoice`` element anywhere (e.g. in an envelope).

Parsing is safe by construction: no DTD, no entity expansion, no network, and a
size limit (:data:`MAX_BYTES`).
"""

from __future__ import annotations

import datetime as _dt
import decimal
import re
import threading
from contextvars import ContextVar
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from lxml import etree

from . import xmlsafe
from .calc import Totals, compute, deducted, in_kdv_base, kdv_not_added, withheld_otv

from .model import (
    Address, AllowanceCharge, Carrier, Delivery, DocumentReference, EArchive, Exemption,
    InternetSale, Invoice, Line, default_exemption_reason, LineDelivery, Package, Party, Payment, Period, Tax, Withholding,
)

__all__ = ["parse", "ParseError", "MAX_BYTES", "safe_parser", "check_totals", "TotalsCheck", "Difference",
           "unread", "Unread", "DERIVED"]

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


_DECLARATION = re.compile(r"""\A\s*<\?xml\s[^>]*?\?>""")


def _root(source: bytes | str | Path | etree._Element) -> etree._Element:
    if isinstance(source, etree._Element):
        return source
    if isinstance(source, etree._ElementTree):
        return source.getroot()
    if isinstance(source, str) and source.lstrip("\ufeff \t\r\n").startswith("<"):
        # XML text: already characters, so its declared encoding (ISO-8859-9, ...) says
        # how it *was* stored, not how to read it now; drop a BOM and the declaration
        # and hand libxml2 the text as UTF-8 (never re-decoded as Latin-5: no mojibake)
        text = _DECLARATION.sub("", source.lstrip("\ufeff \t\r\n"), count=1)
        try:
            source = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ParseError(f"the text contains U+{ord(exc.object[exc.start]):04X} at character {exc.start}, "
                             "which is not a character (a lone surrogate)") from None
    elif isinstance(source, (str, Path)):
        p = Path(source)
        try:
            if p.stat().st_size > MAX_BYTES:
                raise ParseError(f"{p}: larger than {MAX_BYTES} bytes")
            source = p.read_bytes()
        except OSError as exc:
            raise ParseError(f"{p}: cannot be read ({exc.strerror or exc})") from None
        except ValueError as exc:  # an embedded NUL in the name
            raise ParseError(f"not XML text and not a file name ({exc})") from None
    if not isinstance(source, (bytes, bytearray)):
        raise ParseError(f"cannot parse a {type(source).__name__}: give bytes, XML text, a path or an lxml element")
    try:
        return xmlsafe.fromstring(bytes(source), max_bytes=MAX_BYTES)
    except xmlsafe.UnsafeXML as exc:
        raise ParseError(str(exc)) from None


def _text(el: etree._Element) -> str:
    """The element's whole text: a value split by a comment or a processing
    instruction (``2<!---->5894.83``) or written partly as CDATA is one value."""
    if len(el) == 0:
        return el.text or ""
    return "".join(el.itertext())


class _Reading:
    """What one reading of a document has learnt: each element's children by tag,
    read once (``_kids``), and, when asked for (:func:`unread`), the elements whose
    content went into the model or into the totals check (``taken``)."""

    __slots__ = ("kids", "taken")

    def __init__(self, track: bool = False) -> None:
        self.kids: dict[etree._Element, dict[str, list[etree._Element]]] = {}
        self.taken: set[etree._Element] | None = set() if track else None


_READING: ContextVar[_Reading | None] = ContextVar("ubltr_parsing_reading", default=None)
#: how many readings that record what they take are running (in any thread): while
#: none is, ``_take`` costs one global lookup
_TRACKING = 0
_TRACKING_LOCK = threading.Lock()

#: "cac:Item/cbc:Name" -> ("{cac-ns}Item", "{cbc-ns}Name")
_STEPS: dict[str, tuple[str, ...]] = {}


def _steps(path: str) -> tuple[str, ...]:
    steps = _STEPS.get(path)
    if steps is None:
        steps = tuple("{%s}%s" % (NS[prefix], local) for prefix, local in (step.split(":") for step in path.split("/")))
        _STEPS[path] = steps
    return steps


def _kids(el: etree._Element) -> dict[str, list[etree._Element]]:
    """``el``'s child elements by tag (comments and processing instructions left
    out), in document order: each element's children are read once per reading."""
    reading = _READING.get()
    if reading is not None:
        kids = reading.kids.get(el)
        if kids is not None:
            return kids
    kids = {}
    for child in el:
        tag = child.tag
        if tag.__class__ is str:
            same = kids.get(tag)
            if same is None:
                kids[tag] = [child]
            else:
                same.append(child)
    if reading is not None:
        reading.kids[el] = kids
    return kids


def _first(kids: dict[str, list[etree._Element]], steps: tuple[str, ...], i: int = 0) -> etree._Element | None:
    """The first element at ``steps[i:]`` below an element whose children are ``kids``
    (``find``'s answer: the first match in document order)."""
    found = kids.get(steps[i])
    if not found:
        return None
    if i == len(steps) - 1:
        return found[0]
    for child in found:
        hit = _first(_kids(child), steps, i + 1)
        if hit is not None:
            return hit
    return None


def _find(el: etree._Element, path: str) -> etree._Element | None:
    """``el.find(path, NS)`` (the first match in document order), from the children
    already read."""
    return _first(_kids(el), _STEPS.get(path) or _steps(path))


_A_LINE_WITHHOLDS = etree.XPath("boolean(cac:InvoiceLine/cac:WithholdingTaxTotal)", namespaces=NS)
_LINES_WITHOUT_TAXES = etree.XPath("cac:InvoiceLine[not(cac:TaxTotal)]", namespaces=NS)


def _findall(el: etree._Element, path: str) -> list[etree._Element]:
    """``el.findall(path, NS)``, from the children already read."""
    found = [el]
    for tag in _steps(path):
        nxt: list[etree._Element] = []
        for parent in found:
            same = _kids(parent).get(tag)
            if same:
                nxt.extend(same)
        if not nxt:
            return nxt
        found = nxt
    return found


_P_AC = _steps("cac:AllowanceCharge")
_P_CHARGE = _steps("cbc:ChargeIndicator")


#: A reading plan: what to take from an element's children, by tag, read in one pass
#: (:func:`_compiled` turns a plan into the function that reads it).  An entry is a slot name (a leaf: the first such element, as
#: ``find`` answers), ``(name, plan)`` (an aggregate: the first one under ``name``, and
#: its children read by ``plan``, merged over repeats in document order, as a path
#: ``find`` is), ``[name]`` (every such element, in order, read by its own reader), or
#: ``[name, plan]`` (every such element, in order, under ``name``, and each one's
#: children read by ``plan`` into a dict of its own, in order, under ``name + "_k"``).
_Plan = dict[Any, Any]


def _compiled(plan: _Plan) -> Callable[[etree._Element, dict[str, Any]], dict[str, Any]]:
    """The function reading ``plan``: one pass over an element's children (and, by the
    plan, theirs), each child's tag looked up once; children the plan does not name are
    not read (they are what :func:`unread` reports when nothing else took them).  The
    plan's nesting is written out as nested loops (Python source made from the plan, as
    ``dataclasses`` makes ``__init__``), so that a line, its taxes and its allowances are
    read in one call.  tests/test_parse.py holds every plan's answer to lxml's own
    ``find``/``findall`` at the same paths."""
    src: list[str] = ["def gather(el, out):"]
    tables: dict[str, dict[Any, Any]] = {}

    def emit(plan: _Plan, var: str, target: str, pad: str) -> None:
        # leaves by a table of their own (tag -> slot: one lookup, no comparisons),
        # aggregates and lists by a second table (tag -> their place in an if-chain)
        leaves = f"t{len(tables)}"
        tables[leaves] = {tag: entry for tag, entry in plan.items() if isinstance(entry, str)}
        others = [(tag, entry) for tag, entry in plan.items() if not isinstance(entry, str)]
        table = f"t{len(tables)}"
        tables[table] = {tag: i for i, (tag, _) in enumerate(others)}
        c, e = f"c{len(tables)}", f"e{len(tables)}"
        src.append(f"{pad}for {c} in {var}:")
        src.append(f"{pad}    tag = {c}.tag")
        if tables[leaves]:
            src.append(f"{pad}    {e} = {leaves}.get(tag)")
            src.append(f"{pad}    if {e} is not None:")
            src.append(f"{pad}        if {e} not in {target}:")
            src.append(f"{pad}            {target}[{e}] = {c}")
            src.append(f"{pad}        continue")
        if not others:
            return
        src.append(f"{pad}    {e} = {table}.get(tag)")
        src.append(f"{pad}    if {e} is None:")
        src.append(f"{pad}        continue")
        for i, (_, entry) in enumerate(others):
            src.append(f"{pad}    {'if' if i == 0 else 'elif'} {e} == {i}:")
            body = pad + "        "
            if isinstance(entry, tuple):
                src.append(f"{body}if {entry[0]!r} not in {target}:")
                src.append(f"{body}    {target}[{entry[0]!r}] = {c}")
                emit(entry[1], c, target, body)
            else:
                name = entry[0]
                src.append(f"{body}found = {target}.get({name!r})")
                src.append(f"{body}if found is None:")
                src.append(f"{body}    {target}[{name!r}] = [{c}]")
                src.append(f"{body}else:")
                src.append(f"{body}    found.append({c})")
                if len(entry) > 1:
                    own = f"k{len(tables)}"
                    src.append(f"{body}{own} = {{}}")
                    emit(entry[1], c, own, body)
                    src.append(f"{body}found = {target}.get({name + '_k'!r})")
                    src.append(f"{body}if found is None:")
                    src.append(f"{body}    {target}[{name + '_k'!r}] = [{own}]")
                    src.append(f"{body}else:")
                    src.append(f"{body}    found.append({own})")

    emit(plan, "el", "out", "    ")
    src.append("    return out")
    namespace: dict[str, Any] = dict(tables)
    exec("\n".join(src), namespace)  # noqa: S102  (source made above from the plan's own names)
    fn: Callable[[etree._Element, dict[str, Any]], dict[str, Any]] = namespace["gather"]
    return fn


def _tags(plan: dict[str, Any]) -> _Plan:
    """A plan written with prefixed names ("cbc:Name") as one keyed by lxml tags."""
    out: _Plan = {}
    for name, entry in plan.items():
        tag = _steps(name)[0]
        if isinstance(entry, tuple):
            entry = (entry[0], _tags(entry[1]))
        elif isinstance(entry, list) and len(entry) > 1:
            entry = [entry[0], _tags(entry[1])]
        out[tag] = entry
    return out


_AC_FIELDS = {"cbc:ChargeIndicator": "charge", "cbc:MultiplierFactorNumeric": "factor", "cbc:Amount": "amount",
              "cbc:BaseAmount": "base", "cbc:AllowanceChargeReason": "reason"}
_AC_PLAN = _tags(_AC_FIELDS)
_SUBTOTAL_FIELDS = {
    "cbc:TaxableAmount": "base", "cbc:TaxAmount": "amount", "cbc:Percent": "pct", "cbc:PerUnitAmount": "per_unit",
    "cac:TaxCategory": ("category", {
        "cac:TaxScheme": ("scheme", {"cbc:TaxTypeCode": "code"}),
        "cbc:TaxExemptionReasonCode": "ecode", "cbc:TaxExemptionReason": "ereason", "cbc:Percent": "cat_pct"}),
}
_SUBTOTAL_PLAN = _tags(_SUBTOTAL_FIELDS)
#: a line, with each of its allowances ("acs_k") and tax subtotals ("subtotals_k") read
#: in the same pass
_LINE_PLAN = _tags({
    "cbc:InvoicedQuantity": "qty", "cbc:LineExtensionAmount": "lea", "cbc:Note": ["notes"],
    "cac:Price": ("price_", {"cbc:PriceAmount": "price", "cbc:BaseQuantity": "base_qty"}),
    "cac:AllowanceCharge": ["acs", _AC_FIELDS],
    "cac:TaxTotal": ("tax_total", {"cac:TaxSubtotal": ["subtotals", _SUBTOTAL_FIELDS]}),
    "cac:WithholdingTaxTotal": ("wh_total", {"cac:TaxSubtotal": ["wsts"]}),
    "cac:Delivery": ["deliveries"],
    "cac:Item": ("item", {
        "cbc:Name": "name", "cbc:Description": "description", "cbc:BrandName": "brand", "cbc:ModelName": "model",
        "cac:SellersItemIdentification": ("sellers_", {"cbc:ID": "code"}),
        "cac:AdditionalItemIdentification": ("additional_", {"cbc:ID": ["item_ids"]}),
        "cac:CommodityClassification": ("classification_", {"cbc:ItemClassificationCode": "classification"}),
        "cac:ItemInstance": ("instance_", {"cbc:ProductTraceID": "product_trace_id", "cbc:SerialID": "serial_id"}),
    }),
})


_gather_line = _compiled(_LINE_PLAN)
_gather_ac = _compiled(_AC_PLAN)
_gather_subtotal = _compiled(_SUBTOTAL_PLAN)

_ADDRESS_PLAN = _tags({
    "cbc:CitySubdivisionName": "subdivision", "cbc:District": "district", "cbc:CityName": "city",
    "cbc:StreetName": "street", "cbc:BuildingNumber": "building", "cbc:PostalZone": "postal",
    "cbc:Room": "room", "cbc:BlockName": "block_name", "cbc:BuildingName": "building_name", "cbc:Region": "region",
    "cac:Country": ("country_", {"cbc:Name": "country", "cbc:IdentificationCode": "country_code"}),
})
_PARTY_PLAN = _tags({
    "cac:PartyIdentification": ("identification_", {"cbc:ID": ["ids"]}),
    "cac:PostalAddress": "address",
    "cac:PartyName": ("party_name_", {"cbc:Name": "name"}),
    "cac:PartyLegalEntity": ("legal_entity_", {"cbc:RegistrationName": "registration_name"}),
    "cac:Person": ("person_", {"cbc:FirstName": "first_name", "cbc:FamilyName": "last_name"}),
    "cac:PartyTaxScheme": ("party_tax_scheme_", {"cac:TaxScheme": ("tax_scheme_", {"cbc:Name": "tax_office"})}),
    "cac:Contact": ("contact_", {"cbc:ElectronicMail": "email", "cbc:Telephone": "phone", "cbc:Telefax": "fax"}),
    "cbc:WebsiteURI": "website",
})


_ROOT_PLAN = _tags({
    "cbc:ProfileID": "profile", "cbc:ID": "id", "cbc:UUID": "uuid", "cbc:IssueDate": "issue_date",
    "cbc:IssueTime": "issue_time", "cbc:InvoiceTypeCode": "type", "cbc:DocumentCurrencyCode": "currency",
    "cbc:Note": ["notes"],
    "cac:InvoicePeriod": "period",
    "cac:OrderReference": ["order_refs"],
    "cac:BillingReference": ("billing_", {"cac:InvoiceDocumentReference": ["billing_refs"]}),
    "cac:DespatchDocumentReference": ["despatch_refs"],
    "cac:ContractDocumentReference": ["contract_refs"],
    "cac:AdditionalDocumentReference": ["adrs"],
    "cac:AccountingSupplierParty": ("supplier_", {"cac:Party": "supplier"}),
    "cac:AccountingCustomerParty": ("customer_", {"cac:Party": "customer"}),
    "cac:BuyerCustomerParty": ("buyer_", {"cac:Party": "buyer"}),
    "cac:TaxRepresentativeParty": "tax_representative",
    "cac:Delivery": ["deliveries"],
    "cac:PaymentMeans": ["payment_means"],
    "cac:AllowanceCharge": ["acs"],
    "cac:PricingExchangeRate": ("pricing_rate_", {"cbc:CalculationRate": "pricing_rate"}),
    "cac:TaxExchangeRate": ("tax_rate_", {"cbc:CalculationRate": "tax_rate"}),
    "cac:PaymentExchangeRate": ("payment_rate_", {"cbc:CalculationRate": "payment_rate"}),
    "cac:TaxTotal": ("tax_total_", {"cac:TaxSubtotal": ["tax_subtotals"]}),
    "cac:WithholdingTaxTotal": ("withholding_total_", {"cac:TaxSubtotal": ["withholding_subtotals"]}),
    "cac:LegalMonetaryTotal": ("totals_", {"cbc:PrepaidAmount": "prepaid", "cbc:PayableAmount": "payable",
                                           "cbc:PayableRoundingAmount": "rounding",
                                           "cbc:LineExtensionAmount": "line_extension",
                                           "cbc:AllowanceTotalAmount": "allowance_total"}),
    "cac:InvoiceLine": ["lines"],
})


_gather_address = _compiled(_ADDRESS_PLAN)
_gather_party = _compiled(_PARTY_PLAN)
_gather_root = _compiled(_ROOT_PLAN)


def _take(el: etree._Element) -> None:
    """``el``'s content is in the model (or was compared with what the model implies)."""
    if not _TRACKING:
        return
    reading = _READING.get()
    if reading is not None and reading.taken is not None:
        reading.taken.add(el)


def _taken_text(el: etree._Element) -> str:
    _take(el)
    return _text(el)


def _s(el: etree._Element | None) -> str | None:
    """An element's whole text, kept exactly (nothing the document says is changed);
    ``None`` for no element or a blank one."""
    if el is None:
        return None
    if len(el):
        text = "".join(el.itertext())
    else:
        text = el.text
        if text is None:
            return None
    if not text or text.isspace():  # str.strip's whitespace, without building the stripped copy
        return None
    if _TRACKING:
        _take(el)
    return text


def _d(el: etree._Element | None) -> Decimal | None:
    """An element's number (``None`` for no element or a blank one): ``_s`` and
    ``_number`` in one call (a number already read is one lookup by its text).  Its
    first lines repeat ``_s``'s reading of the text on purpose: a line reads six to
    eight numbers, and a call fewer each is about 2 % of parse."""
    if el is None:
        return None
    if len(el):
        text = "".join(el.itertext())
    else:
        text = el.text
        if text is None:
            return None
    known = _NUMBERS.get(text)  # only numbers are kept: a text found here is not blank
    if known is None:
        if not text or text.isspace():
            return None
        known = _number(text, el)
    if _TRACKING:
        _take(el)
    return known


def _t(el: etree._Element | None, path: str) -> str | None:
    if el is None:
        return None
    return _s(_first(_kids(el), _STEPS.get(path) or _steps(path)))


#: an xs:decimal as UBL writes amounts: optional sign, digits, optional fraction
_DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
#: longer numbers are refused (no invoice needs them; they would only cost time)
MAX_NUMBER_CHARS = 60


#: numbers already read, by their text (a document repeats its rates, quantities and
#: prices; a Decimal is immutable and exact whatever the context): bounded, cleared when full
_NUMBERS: dict[str, Decimal] = {}
_NUMBERS_MAX = 4096


def _number(text: str, el: etree._Element, what: str | None = None) -> Decimal:
    known = _NUMBERS.get(text)
    if known is not None:
        return known
    s = text.strip()
    if len(s) > MAX_NUMBER_CHARS or not _DECIMAL.fullmatch(s):
        shown = s if len(s) <= 40 else s[:37] + "..."
        raise ParseError(f"line {el.sourceline}: {what or etree.QName(el).localname} '{shown}' "
                         "is not a decimal number") from None
    value = Decimal(s)
    if len(text) <= MAX_NUMBER_CHARS:  # only short texts are kept (no document's padding)
        if len(_NUMBERS) >= _NUMBERS_MAX:
            _NUMBERS.clear()
        _NUMBERS[text] = value
    return value


def _dec(el: etree._Element | None, path: str) -> Decimal | None:
    if el is None:
        return None
    return _d(_first(_kids(el), _STEPS.get(path) or _steps(path)))


def _date(el, path: str) -> _dt.date | None:
    return _date_of(None if el is None else _find(el, path))


def _date_of(found: etree._Element | None) -> _dt.date | None:
    if found is None:
        return None
    s = _text(found)
    if not s.strip():
        return None
    _take(found)
    s = s.strip()
    try:
        return _dt.date.fromisoformat(s[:10])
    except ValueError:
        raise ParseError(f"line {found.sourceline}: '{s}' is not a date") from None


def _time(el, path: str) -> _dt.time | None:
    return _time_of(None if el is None else _find(el, path))


_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")


def _time_of(found: etree._Element | None) -> _dt.time | None:
    """A time as hh:mm[:ss]; one that is not is not read (``unread`` reports it)."""
    if found is None:
        return None
    s = _text(found)
    m = _TIME.match(s.strip())
    if not m:
        return None
    _take(found)
    return _dt.time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))


def _address(el: etree._Element | None) -> Address | None:
    if el is None:
        return None
    k = _gather_address(el, {})
    return Address(
        district=_s(k.get("subdivision")) or _s(k.get("district")) or "",
        city=_s(k.get("city")) or "",
        street=_s(k.get("street")),
        building_number=_s(k.get("building")),
        postal_code=_s(k.get("postal")),
        country=_s(k.get("country")) or "Türkiye",
        country_code=_s(k.get("country_code")) or "TR",
        room=_s(k["room"]) if "room" in k else None,
        block_name=_s(k["block_name"]) if "block_name" in k else None,
        building_name=_s(k["building_name"]) if "building_name" in k else None,
        region=_s(k["region"]) if "region" in k else None,
    )


_SKIP_SCHEMES = {"VKN", "TCKN", "PARTYTYPE", "ARACIKURUMVKN", "ARACIKURUMETIKET"}


def _party(p: etree._Element | None) -> Party | None:
    if p is None:
        return None
    k = _gather_party(p, {})
    vkn = tckn = None
    ids: list[tuple[str, str]] = []
    for pid in k.get("ids", ()):
        scheme = (pid.get("schemeID") or "").strip()
        value = (pid.text or "").strip()
        _take(pid)
        if scheme == "VKN" and vkn is None:
            vkn = value
        elif scheme == "TCKN" and tckn is None:
            tckn = value
        elif scheme and scheme not in _SKIP_SCHEMES and value:
            ids.append((scheme, value))
    return Party(
        address=_address(k.get("address")) or Address(district="", city=""),
        vkn=vkn, tckn=tckn,
        name=_s(k.get("name")) or _s(k.get("registration_name")),
        first_name=_s(k.get("first_name")),
        last_name=_s(k.get("last_name")),
        tax_office=_s(k.get("tax_office")),
        email=_s(k.get("email")),
        phone=_s(k.get("phone")),
        website=_s(k.get("website")),
        ids=tuple(ids),
        fax=_s(k["fax"]) if "fax" in k else None,
    )


def _tax_rep(el: etree._Element | None) -> Party | None:
    if el is None:
        return None
    tid = alias = None
    for pid in _findall(el, "cac:PartyIdentification/cbc:ID"):
        _take(pid)
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


_CENT = Decimal("0.01")
_ONE = Decimal(1)
_ZERO = Decimal(0)


def _kurus(d: Decimal) -> Decimal:
    return d.quantize(_CENT, rounding=ROUND_HALF_UP)


def _same(a: Decimal, b: Decimal) -> bool:
    """Equal to the kuruş (a document may write 1.8000000000 for 1.80)."""
    return _kurus(a) == _kurus(b)


def _true(el: etree._Element | None) -> bool:
    """An xs:boolean such as ``ChargeIndicator``: ``true`` or ``1`` (any case, spaces around)."""
    return (_s(el) or "false").strip().lower() in {"true", "1"}


def _is_charge(ac: etree._Element) -> bool:
    return _true(_first(_kids(ac), _P_CHARGE))


def _allowances(parent: etree._Element, gross: Decimal | None,
                elements: Sequence[etree._Element] | None = None,
                gathered: list[dict[str, Any]] | None = None) -> tuple[tuple[AllowanceCharge, ...], tuple[AllowanceCharge, ...]]:
    """The allowances and charges of a line (``gross`` = quantity × price) or of the
    document (``gross`` = Σ line amounts).  One given by ``MultiplierFactorNumeric`` is
    read as a rate when its ``Amount`` is the rate of ``gross`` (ubltr's way), of its
    stated ``BaseAmount``, or of what the previous steps left (cascaded discounts:
    20 % then 18 % of the rest ...); the base is then kept.  When the document's
    Amount is none of these, the Amount is what the document charges, and is kept.
    ``elements``: the AllowanceCharge children of ``parent`` when already gathered;
    ``gathered``: each of them read by ``_AC_PLAN``, when already read."""
    allow: list[AllowanceCharge] = []
    charge: list[AllowanceCharge] = []
    left = gross
    gross_k = _kurus(gross) if gross is not None else None  # gross to the kuruş, once
    if elements is None:
        elements = _kids(parent).get(_P_AC[0], [])
    for i, ac in enumerate(elements):
        k = gathered[i] if gathered is not None else _gather_ac(ac, {})
        is_charge = _true(k.get("charge"))
        factor = _d(k.get("factor"))
        stated = _d(k.get("amount"))
        base = _d(k.get("base"))
        reason = _s(k.get("reason"))
        rate = None
        if factor is not None:
            rate = (factor * 100).normalize()
            if rate == rate.to_integral_value():
                rate = rate.quantize(_ONE)
        item: AllowanceCharge
        if rate is not None and stated is None:
            item = AllowanceCharge(is_charge=is_charge, rate=rate, reason=reason,
                                   base=base if base is not None and gross is not None and not _same(base, gross) else None)
        elif rate is not None and stated is not None and base is not None and gross_k is not None \
                and _kurus(base) != gross_k and _same(base * rate / 100, stated):
            item = AllowanceCharge(is_charge=is_charge, rate=rate, reason=reason, base=base)
        elif rate is not None and stated is not None and gross_k is not None and _same(gross_k * rate / 100, stated):
            item = AllowanceCharge(is_charge=is_charge, rate=rate, reason=reason)
        elif rate is not None and stated is not None and left is not None and gross is not None \
                and not _same(left, gross) and _same(_kurus(left) * rate / 100, stated):
            item = AllowanceCharge(is_charge=is_charge, rate=rate, reason=reason, base=_kurus(left))
        elif rate is not None and stated is not None and gross is None:
            item = AllowanceCharge(is_charge=is_charge, rate=rate, reason=reason)
        else:
            item = AllowanceCharge(is_charge=is_charge, amount=stated if stated is not None else Decimal("0"),
                                   reason=reason)
        if left is not None:
            step = stated if stated is not None else _kurus(_kurus(item.base if item.base is not None else gross or Decimal(0))
                                                            * (rate or Decimal(0)) / 100)
            left = left + step if is_charge else left - step
        (charge if is_charge else allow).append(item)
    return tuple(allow), tuple(charge)


@dataclass(slots=True)
class _DocTax:
    """A document-level TaxSubtotal, applied to lines that carry no TaxTotal."""

    code: str
    percent: Decimal | None
    per_unit: Decimal | None
    base: Decimal | None
    amount: Decimal | None
    exemption: Exemption | None


def _subtotal(st: etree._Element, k: dict[str, Any] | None = None) -> _DocTax | None:
    """One TaxSubtotal as a tax: by percent, or per unit.  A ``PerUnitAmount`` of 0
    beside a ``Percent`` is a percent tax (the per-unit 0 is only a filler); a
    subtotal without a TaxTypeCode but with an exemption code is KDV (0015).  ``k``:
    the subtotal already read by ``_SUBTOTAL_PLAN`` (with its line)."""
    if k is None:
        k = _gather_subtotal(st, {})
    code = _s(k.get("code"))
    ecode = _s(k["ecode"]) if "ecode" in k else None
    if code is None:
        if ecode is None:
            # which tax this is, is not said: dropping it would silently lose its amount
            name = _t(st, "cac:TaxCategory/cac:TaxScheme/cbc:Name") or _t(st, "cac:TaxCategory/cbc:Name")
            stated = (_t(st, "cbc:TaxAmount") or "").strip()
            raise ParseError(f"line {st.sourceline}: a TaxSubtotal ("
                             + (f"TaxAmount {stated}" if stated else "no TaxAmount")
                             + (f", named {name.strip()!r}" if name else "")
                             + ") has no cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode: which tax it is, is not stated")
        code = "0015"
    code = code.strip()
    pct = _d(k.get("pct"))
    if pct is None:  # UBL also has a Percent in the TaxCategory, which some software fills instead
        pct = _d(k.get("cat_pct"))
    per_unit = _d(k["per_unit"]) if "per_unit" in k else None
    if per_unit is not None and per_unit == 0 and pct is not None:
        per_unit = None
    if per_unit is not None:
        pct = None
    if code == "0015":
        per_unit = None  # KDV is a percent; a per-unit amount beside it is not KDV's
    base = _d(k.get("base"))
    amount = _d(k.get("amount"))
    if pct is None and per_unit is None:
        pct = Decimal(0)
        # a subtotal without Percent: the percent its own amounts imply, when a whole
        # or two-decimal percent reproduces its TaxAmount (else 0, and the totals check says so)
        if base and amount:
            guess = (amount / base * 100).quantize(_CENT)
            if guess == guess.to_integral_value():
                guess = guess.quantize(Decimal(1))
            if 0 < guess <= 100 and _same(base * guess / 100, amount):
                pct = guess
    exemption = None
    if ecode and code == "0015":
        ecode = ecode.strip()
        reason = _s(k.get("ereason"))
        exemption = Exemption(code=ecode, reason=None if reason == default_exemption_reason(ecode) else reason)
    return _DocTax(code=code, percent=pct, per_unit=per_unit, base=base, amount=amount, exemption=exemption)


#: exemption codes of özel matrah (KDV on a special base)
def _special_base(code: str, exemption: Exemption | None, inv_type: str) -> bool:
    return code == "0015" and (inv_type == "OZELMATRAH" or (exemption is not None and exemption.code.startswith("8")))


def _line(ln: etree._Element, doc_delivery: Delivery | None, doc_withholding: Withholding | None,
          doc_taxes: list[_DocTax] | None = None, inv_type: str = "", special_ok: bool = True,
          k: dict[str, Any] | None = None) -> Line:
    """One InvoiceLine.  ``k``: the line already gathered by ``_LINE_PLAN`` (read in one
    pass); its ``stated_net`` is set to the line's LineExtensionAmount as read, and its
    ``net`` to the line's amount as calc computes it (``_line_net``) where that is
    known without computing it again."""
    if k is None:
        k = _gather_line(ln, {})  # the line read in one pass; each field below is a lookup
    qty_el = k.get("qty")
    qty = _d(qty_el) or Decimal("0")
    price = _d(k.get("price")) or Decimal("0")
    bq = k.get("base_qty")
    base_qty = _d(bq) if bq is not None else None
    if base_qty is not None and base_qty != 1:
        # a price per BaseQuantity units (12.50 per 100): the model's price is per unit,
        # which says the same when the division is exact (0.125); otherwise refused
        assert bq is not None
        per_unit = price / base_qty if base_qty > 0 else None
        if per_unit is None or per_unit * base_qty != price or len(str(per_unit)) > MAX_NUMBER_CHARS:
            raise ParseError(f"line {bq.sourceline}: cac:Price/cbc:BaseQuantity {base_qty}: a price of {price} per "
                             f"{base_qty} units is not a per-unit price with finitely many decimals "
                             "(the model's unit_price is per unit)")
        price = per_unit.quantize(Decimal(1)) if per_unit == per_unit.to_integral_value() else per_unit
    gross = qty * price
    acs = k.get("acs")
    allow, charge = _allowances(ln, gross, acs, k["acs_k"]) if acs else ((), ())
    stated_net = k["stated_net"] = _d(k.get("lea"))
    taxes: list[Tax] = []
    exemption = None
    seen: set[str] = set()
    sts = k.get("subtotals")
    subtotals = [x for x in map(_subtotal, sts, k["subtotals_k"]) if x is not None] if sts else []
    if "tax_total" not in k and doc_taxes is not None:
        subtotals = doc_taxes  # a line without taxes of its own bears the document's
    in_base = sum((x.amount for x in subtotals if x.code != "0015" and x.amount is not None
                   and ((in_kdv_base(x.code) and not deducted(x.code))
                        or withheld_otv(x.code, (y.code for y in subtotals)))), Decimal(0)) if len(subtotals) > 1 or (
        subtotals and subtotals[0].code != "0015") else _ZERO
    for x in subtotals:
        if x.code in seen:
            raise ParseError(f"line {ln.sourceline}: tax {x.code} appears twice on this line; the model holds one of each")
        seen.add(x.code)
        base = None
        if (special_ok and x.percent and x.base is not None and x.amount is not None and stated_net is not None
                and _special_base(x.code, x.exemption, inv_type) and not _same(x.base, stated_net + in_base)
                and _same(x.base * x.percent / 100, x.amount)):
            base = x.base  # özel matrah: KDV on the stated special base, not on the line amount
        taxes.append(Tax(code=x.code, percent=x.percent, amount=x.per_unit, base=base))
        if x.exemption is not None:
            exemption = x.exemption
    # KDV last, as the builder writes it and as the loader keeps the input order otherwise
    withholding = None
    wsts = k.get("wsts", ())
    if len(wsts) > 1:
        raise ParseError(f"line {wsts[1].sourceline}: a second withholding (tevkifat) subtotal on one line; "
                         "the model holds one per line")
    if wsts:
        wst = wsts[0]
        wcode = _t(wst, "cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode")
        wpct = _dec(wst, "cbc:Percent")
        if wcode and wpct is not None:
            withholding = Withholding(code=wcode.strip(), percent=wpct)
        else:
            raise ParseError(f"line {wst.sourceline}: a withholding subtotal needs a TaxTypeCode and a Percent")
    elif doc_withholding is not None and any(t.code == "0015" and (t.percent or 0) > 0 for t in taxes):
        withholding = doc_withholding
    delivery = None
    d = k["deliveries"][0] if "deliveries" in k else None
    if d is not None:
        pkg = _find(d, "cac:Shipment/cac:TransportHandlingUnit/cac:ActualPackage")
        package = None
        kind = _t(pkg, "cbc:PackagingTypeCode") if pkg is not None else None
        if kind:
            package = Package(kind=kind, count=_dec(pkg, "cbc:Quantity"))
        inc = _t(d, "cac:DeliveryTerms/cbc:ID")
        tm = _t(d, "cac:Shipment/cac:ShipmentStage/cbc:TransportModeCode")
        addr = _address(_find(d, "cac:DeliveryAddress"))
        if doc_delivery is not None:  # the builder repeats the document's delivery on each line
            inc = None if inc == doc_delivery.incoterms else inc
            tm = None if tm == doc_delivery.transport_mode else tm
            addr = None if addr == doc_delivery.address else addr
        delivery = LineDelivery(incoterms=inc, gtip=_t(d, "cac:Shipment/cac:GoodsItem/cbc:RequiredCustomsID"),
                                package=package, transport_mode=tm, address=addr)
    line = Line(
        name=_s(k.get("name")) or "",
        quantity=qty,
        unit=(qty_el.get("unitCode") if qty_el is not None else None) or "C62",
        unit_price=price,
        taxes=tuple(sorted(taxes, key=lambda t: t.code == "0015")) if len(taxes) > 1 else tuple(taxes),
        # optional item details: read only where the line has them
        description=_s(k["description"]) if "description" in k else None,
        code=_s(k["code"]) if "code" in k else None,
        brand=_s(k["brand"]) if "brand" in k else None,
        model=_s(k["model"]) if "model" in k else None,
        allowances=allow, charges=charge, withholding=withholding, exemption=exemption,
        delivery=delivery,
        item_ids=tuple((el.get("schemeID") or "", _taken_text(el)) for el in k["item_ids"]) if "item_ids" in k else (),
        classification=_s(k["classification"]) if "classification" in k else None,
        product_trace_id=_s(k["product_trace_id"]) if "product_trace_id" in k else None,
        serial_id=_s(k["serial_id"]) if "serial_id" in k else None,
        notes=tuple(_taken_text(n) for n in k["notes"]) if "notes" in k else (),
    )
    # the line's amount as calc computes it (_line_net), once: for the price rounding and
    # for the document-level checks (an adjusted line's amount is the stated one)
    net = _kurus(gross) if not allow and not charge else _line_net(line)
    # the document's amount is calc's (the usual case): nothing to adjust
    out = line if stated_net == net else _with_price_rounding(line, stated_net, net)
    k["net"] = net if out is line else _line_net(out)
    return out


def _with_price_rounding(line: Line, stated_net: Decimal | None, net: Decimal | None = None) -> Line:
    """A price written rounded (3 × 33.33 = 99.99 where the software charged 100.00,
    from a price of 33.3333...): the document's LineExtensionAmount is what it
    charges, and the difference lies within the rounding of the price as written
    (half a unit of its last digit per unit of quantity).  The line keeps the price
    as written plus an allowance or charge by amount of exactly that difference, so
    the line's amount is the document's.  ``net``: ``_line_net(line)`` when known."""
    if stated_net is None or line.quantity == 0:
        return line
    if net is None:
        net = _line_net(line)
    gap = _kurus(stated_net) - net
    if gap == 0:
        return line
    exp = line.unit_price.as_tuple().exponent
    if not isinstance(exp, int):
        return line
    slack = abs(line.quantity) * Decimal(1).scaleb(exp) / 2 + _CENT / 2
    if abs(gap) > slack:
        return line
    if gap > 0:
        return replace(line, charges=line.charges + (AllowanceCharge(is_charge=True, amount=gap),))
    return replace(line, allowances=line.allowances + (AllowanceCharge(is_charge=False, amount=-gap),))


def _refs(els: Iterable[etree._Element], extended: bool = False) -> tuple[DocumentReference, ...]:
    out = []
    for el in els:
        i = _t(el, "cbc:ID")
        d = _date(el, "cbc:IssueDate")
        if i and d:
            if extended:
                id_el = _find(el, "cbc:ID")
                assert id_el is not None  # it has a text: i
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
    if not any(text.startswith("Yalnız ") for text in texts):
        return tuple(texts)  # no note can be the words, which start so: they need not be computed
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


def _withheld_lines(wst: etree._Element, line_els: list[etree._Element], lines: tuple[Line, ...]) -> tuple[Line, ...]:
    """A document-level withholding with no line saying whether it is withheld: every
    line with KDV bears it, unless the withholding's stated TaxableAmount (the KDV it is
    withheld from) is the KDV of exactly one other set of lines (a TEVKIFAT invoice of
    services, withheld, and goods, not withheld): then those lines alone."""
    base = _dec(wst, "cbc:TaxableAmount")
    kdv: list[Decimal | None] = []
    for el, ln in zip(line_els, lines):
        amounts = [x.amount for x in (_subtotal(st) for st in _findall(el, "cac:TaxTotal/cac:TaxSubtotal"))
                   if x is not None and x.code == "0015"]
        kdv.append(amounts[0] if amounts and amounts[0] is not None and ln.withholding is not None else None)
    candidates = [i for i, k in enumerate(kdv) if k is not None and k > 0]
    if base is None or not candidates or len(candidates) > 16:
        return lines
    if _same(sum((kdv[i] or Decimal(0) for i in candidates), Decimal(0)), base):
        return lines
    found = []
    for mask in range(1, 1 << len(candidates)):
        chosen = [candidates[j] for j in range(len(candidates)) if mask >> j & 1]
        if _same(sum((kdv[i] or Decimal(0) for i in chosen), Decimal(0)), base):
            found.append(set(chosen))
            if len(found) > 1:
                return lines  # ambiguous: several sets of lines fit
    if len(found) != 1:
        return lines
    return tuple(ln if i in found[0] or i not in candidates else replace(ln, withholding=None)
                 for i, ln in enumerate(lines))


def _line_net(ln: Line) -> Decimal:
    """A parsed line's amount as calc computes it (allowances by rate on their base)."""
    gross = ln.quantity * ln.unit_price
    base = _kurus(gross)
    out = gross
    for a in ln.allowances + ln.charges:
        amt = a.amount if a.amount is not None else _kurus((a.base if a.base is not None else base) * (a.rate or 0) / 100)
        out = out + amt if a.is_charge else out - amt
    return _kurus(out)


def _with_implied_allowances(root: etree._Element, line_els: list[etree._Element],
                             lines: tuple[Line, ...], stated: list[Decimal | None] | None = None,
                             nets: list[Decimal | None] | None = None,
                             totals: tuple[etree._Element | None, etree._Element | None] | None = None) -> tuple[Line, ...]:
    """Some software writes a line's discount only into its LineExtensionAmount (no
    AllowanceCharge), and reports it in the document's AllowanceTotalAmount, with
    LineExtensionAmount = Σ quantity × price.  When the document's totals say exactly
    that, each such line gets the discount as an allowance by amount (the difference
    between quantity × price and its LineExtensionAmount), so that nothing the
    document charges is lost."""
    if totals is None:  # LegalMonetaryTotal's LineExtensionAmount and AllowanceTotalAmount elements
        totals = (_find(root, "cac:LegalMonetaryTotal/cbc:LineExtensionAmount"),
                  _find(root, "cac:LegalMonetaryTotal/cbc:AllowanceTotalAmount"))
    le, at = _d(totals[0]), _d(totals[1])
    if le is None or at is None or not lines:
        return lines
    if stated is None:  # the lines' LineExtensionAmount, when the caller has not read them already
        stated = [_dec(el, "cbc:LineExtensionAmount") for el in line_els]
    if any(x is None for x in stated):
        return lines
    if nets is None:  # each line's _line_net, where the caller knows it already
        nets = [None] * len(lines)
    gaps = [(_line_net(ln) if net is None else net) - x for ln, x, net in zip(lines, stated, nets) if x is not None]
    if all(g == 0 for g in gaps):
        return lines
    doc_allow = sum((_dec(ac, "cbc:Amount") or Decimal(0) for ac in _findall(root, "cac:AllowanceCharge")
                     if not _is_charge(ac)), Decimal(0))
    grosses = sum((_line_net(ln) for ln in lines), Decimal(0))
    if not (_same(le, grosses) and _same(at, sum(gaps, Decimal(0)) + doc_allow)):
        return lines
    out = []
    for ln, gap in zip(lines, gaps):
        if gap > 0:
            ln = replace(ln, allowances=ln.allowances + (AllowanceCharge(is_charge=False, amount=gap),))
        elif gap < 0:
            ln = replace(ln, charges=ln.charges + (AllowanceCharge(is_charge=True, amount=-gap),))
        out.append(ln)
    return tuple(out)


def _without_restated_line_allowances(root: etree._Element, lines: tuple[Line, ...],
                                      allow: tuple[AllowanceCharge, ...], charge: tuple[AllowanceCharge, ...],
                                      nets_sum: Decimal | None) -> tuple[tuple[AllowanceCharge, ...], tuple[AllowanceCharge, ...]]:
    """Some software repeats the sum of the *line* allowances as a document-level
    AllowanceCharge (and reports LineExtensionAmount before them).  Such a document
    allowance lowers nothing a second time: the document's own TaxExclusiveAmount is
    the sum of the lines' amounts after their allowances.  It is recognised by exactly
    that (amounts equal to the kuruş, TaxExclusiveAmount = Σ line LineExtensionAmount,
    or = Σ quantity × price - the line allowances + charges where the lines state their
    amounts before their allowances) and left out."""
    if not allow and not charge:
        return allow, charge
    if any(a.amount is None for a in allow + charge):
        return allow, charge
    tax_excl = _dec(root, "cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount")
    if tax_excl is None:
        return allow, charge
    doc_net = sum((a.amount or Decimal(0) for a in allow), Decimal(0)) - sum((c.amount or Decimal(0) for c in charge), Decimal(0))
    line_net = Decimal(0)
    grosses = Decimal(0)
    for ln in lines:
        gross = ln.quantity * ln.unit_price
        grosses += _kurus(gross)
        for a in ln.allowances:
            line_net += a.amount if a.amount is not None else _kurus((a.base if a.base is not None else _kurus(gross)) * (a.rate or 0) / 100)
        for c in ln.charges:
            line_net -= c.amount if c.amount is not None else _kurus((c.base if c.base is not None else _kurus(gross)) * (c.rate or 0) / 100)
    # within a kuruş per line: software that rounds only when it writes states each line
    # amount, allowance and total rounded on its own (json2ubl-ts).  Only for line
    # allowances larger than that: a document allowance or charge of a few kuruş is not
    # taken for a restatement of (nearly) nothing
    tolerance = _CENT * max(1, len(lines)) if abs(_kurus(line_net)) > _CENT * max(1, len(lines)) else Decimal(0)

    def near(a: Decimal, b: Decimal) -> bool:
        return abs(_kurus(a) - _kurus(b)) <= tolerance

    if not ((nets_sum is not None and near(tax_excl, nets_sum)) or near(tax_excl, grosses - line_net)):
        # line allowances of a few kuruş, restated to the kuruş: the stated
        # TaxExclusiveAmount decides which reading the document follows, when it is
        # within a kuruş per line of the restating one and nearer to it than to the other
        per_line = _CENT * max(1, len(lines))
        if doc_net != 0 and nets_sum is not None and _kurus(doc_net) == _kurus(line_net):
            restated, applied = abs(tax_excl - nets_sum), abs(tax_excl - (nets_sum - doc_net))
            if restated <= per_line and restated < applied:
                return (), ()
        return allow, charge
    if doc_net != 0 and near(doc_net, line_net):
        return (), ()
    return allow, charge


#: numbers are at most MAX_NUMBER_CHARS digits: products and sums of a few of them fit
_CONTEXT = decimal.Context(prec=8 * MAX_NUMBER_CHARS, rounding=ROUND_HALF_UP, Emax=999999, Emin=-999999,
                           traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow])


def parse(source: bytes | str | Path | etree._Element) -> Invoice:
    """Read a UBL-TR invoice (bytes, XML text, a path, or a parsed element: an
    ``Invoice`` element anywhere, e.g. inside an envelope, reads the same).

    Raises only :class:`ParseError`, naming the element's line where it can."""
    return _read(_root(source), _Reading())


def _read(root: etree._Element, reading: _Reading) -> Invoice:
    """``_parse`` with ``reading`` as the document's reading state (children read once)."""
    token = _READING.set(reading)
    try:
        with decimal.localcontext(_CONTEXT):
            try:
                return _parse(root)
            except decimal.DecimalException as exc:  # pragma: no cover - numbers are bounded above
                raise ParseError(f"an amount cannot be read exactly ({type(exc).__name__})") from None
    finally:
        _READING.reset(token)


def parse_each(source: bytes | str | Path | etree._Element) -> list[tuple[int, Invoice]]:
    """Every invoice of a document: ``[(0, invoice)]`` for a bare invoice; for an envelope
    (ZARF, :mod:`ubltr.envelope`) each ``Invoice`` inside it with its position (1, 2, ...).
    Other documents of an envelope (application and system responses) are read by
    :func:`ubltr.answer.parse`.  Raises only :class:`ParseError`, naming the position."""
    root = _root(source)
    from .envelope import EnvelopeError, documents

    if root.tag != _ENVELOPE:
        return [(0, parse(root))]
    out: list[tuple[int, Invoice]] = []
    try:
        for position, kind, element in documents(root):
            if kind != "invoice":
                continue
            try:
                out.append((position, parse(element)))
            except ParseError as exc:
                raise ParseError(f"envelope document #{position}: {exc}") from None
    except EnvelopeError as exc:
        raise ParseError(f"envelope: {exc}") from None
    if not out:
        raise ParseError("the envelope holds no invoice (its documents are read by ubltr.answer.parse)")
    return out


#: a ZARF's root (ubltr.envelope.ROOT), compared per document without importing envelope
_ENVELOPE = "{http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader}StandardBusinessDocument"


class Unread(NamedTuple):
    """An element of the document that the model does not hold (:func:`unread`)."""

    path: str           #: element names from the invoice down, e.g. ``InvoiceLine/Note``
    text: str           #: its text (whitespace collapsed; shortened past 80 characters)
    line: int | None    #: its line in the XML


#: What the document states that ubltr derives again rather than reads: the totals
#: (``calc`` computes them; :func:`check_totals` compares them with the document's),
#: the line numbers and counts, tax names given by their code, the signature and its
#: reference (``ubltr.sign`` writes them), and UBL's version and customization IDs.
#: Paths from the invoice, element names without prefixes; each covers its subtree.
DERIVED = frozenset({
    "UBLExtensions", "UBLVersionID", "CustomizationID", "CopyIndicator", "LineCountNumeric", "Signature",
    "TaxTotal", "WithholdingTaxTotal", "LegalMonetaryTotal",
    "InvoiceLine/ID", "InvoiceLine/TaxTotal/TaxAmount",
    "InvoiceLine/Delivery/Shipment/TransportHandlingUnit/ActualPackage/ID",
    "InvoiceLine/TaxTotal/TaxSubtotal/CalculationSequenceNumeric",
    "InvoiceLine/TaxTotal/TaxSubtotal/TaxCategory/TaxScheme/Name",
    "InvoiceLine/WithholdingTaxTotal/TaxAmount",
    "InvoiceLine/WithholdingTaxTotal/TaxSubtotal/TaxableAmount",
    "InvoiceLine/WithholdingTaxTotal/TaxSubtotal/TaxAmount",
    "InvoiceLine/WithholdingTaxTotal/TaxSubtotal/CalculationSequenceNumeric",
    "InvoiceLine/WithholdingTaxTotal/TaxSubtotal/TaxCategory/TaxScheme/Name",
})


def unread(source: bytes | str | Path | etree._Element) -> tuple[Unread, ...]:
    """The elements of an invoice that ``parse`` does not take into the model, in
    document order: nothing is dropped silently.  An element is reported when neither
    it nor anything inside it was read, its parent's content was otherwise read, and it
    holds some text; what ubltr derives again (:data:`DERIVED`) is not reported.
    Raises only :class:`ParseError` (what ``parse`` raises)."""
    return _read_tracked(_root(source))[1]


def _read_tracked(root: etree._Element) -> tuple[Invoice, tuple[Unread, ...]]:
    """``parse`` recording what it takes, and the elements it did not."""
    global _TRACKING
    if root.tag == _ENVELOPE:  # its one invoice (parse refuses an envelope of several)
        found = list(root.iter("{%s}Invoice" % NS["inv"]))
        if len(found) == 1:
            root = found[0]
    reading = _Reading(track=True)
    with _TRACKING_LOCK:
        _TRACKING += 1
    try:
        inv = _read(root, reading)
    finally:
        with _TRACKING_LOCK:
            _TRACKING -= 1
    assert reading.taken is not None
    _take_derived(root, inv, reading.taken)  # outside the reading: what it looks at is not taken by looking
    return inv, tuple(_untaken(root, reading.taken))


def _take_derived(root: etree._Element, inv: Invoice, taken: set[etree._Element]) -> None:
    """What the document writes that is the model's content said again, the way
    ``build`` writes it: taken, since nothing is lost by not reading it."""
    def same(el: etree._Element | None, value: object) -> None:
        if el is not None and value is not None and _text(el).strip() == str(value):
            taken.add(el)

    for a in _findall(root, "cac:AdditionalDocumentReference"):
        if _t(a, "cbc:DocumentTypeCode") == "SendingType":  # e-Arşiv's send type (read), the ID is the UUID
            taken.add(a)
    sale = inv.earchive.internet_sale if inv.earchive is not None else None
    if sale is not None:  # the payment means the builder writes for an internet sale
        for pm in _findall(root, "cac:PaymentMeans"):
            if _t(pm, "cbc:InstructionNote") in _INTERNET_TYPES:
                taken.add(pm)
        for cp in _findall(root, "cac:Delivery/cac:CarrierParty/cac:PostalAddress"):
            if _address(cp) == inv.supplier.address:
                taken.add(cp)
    for ref in _findall(root, "cac:BillingReference/cac:InvoiceDocumentReference"):
        same(_find(ref, "cbc:DocumentTypeCode"), "IADE" if "IADE" in inv.type else None)
    for path, party in (("cac:AccountingSupplierParty/cac:Party", inv.supplier),
                        ("cac:AccountingCustomerParty/cac:Party", inv.customer),
                        ("cac:BuyerCustomerParty/cac:Party", inv.buyer_customer),
                        ("cac:TaxRepresentativeParty", inv.tax_representative)):
        el = _find(root, path)
        if el is None or party is None:
            continue
        same(_find(el, "cac:PartyLegalEntity/cbc:RegistrationName"), party.name)
        same(_find(el, "cac:Person/cbc:NationalityID"), party.address.country_code)
        passport = _find(el, "cac:Person/cac:IdentityDocumentReference")
        if passport is not None and _t(passport, "cbc:ID") == dict(party.ids).get("PASAPORTNO"):
            taken.add(passport)
    for rate in _findall(root, "cac:PricingExchangeRate"):
        same(_find(rate, "cbc:SourceCurrencyCode"), inv.currency)
        same(_find(rate, "cbc:TargetCurrencyCode"), "TRY")
        same(_find(rate, "cbc:Date"), inv.issue_date.isoformat())
    for account in _findall(root, "cac:PaymentMeans/cac:PayeeFinancialAccount"):
        if _find(account, "cbc:ID") in taken:  # the account of the payment means read (not of another)
            same(_find(account, "cbc:CurrencyCode"), inv.currency)


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _untaken(root: etree._Element, taken: set[etree._Element]) -> list[Unread]:
    out: list[Unread] = []

    def read_in(el: etree._Element, path: str) -> bool:
        """Whether anything in ``el`` was taken; reports the children that were not
        when some were."""
        if el in taken:
            return True
        left: list[tuple[etree._Element, str]] = []
        any_taken = False
        for child in el:
            tag = child.tag
            if tag.__class__ is not str:
                continue
            child_path = f"{path}/{_local(tag)}" if path else _local(tag)
            if child_path in DERIVED or read_in(child, child_path):
                any_taken = True
            else:
                left.append((child, child_path))
        if any_taken or not path:
            for child, child_path in left:
                text = " ".join(" ".join(child.itertext()).split())
                if text:
                    out.append(Unread(child_path, text if len(text) <= 80 else text[:77] + "...", child.sourceline))
        return any_taken

    read_in(root, "")
    out.sort(key=lambda u: u.line or 0)
    return out


def _parse(root: etree._Element) -> Invoice:
    if root.tag == _ENVELOPE:  # a ZARF: its one invoice, or a pointer to parse_each
        found = [inv for _, inv in parse_each(root)]
        if len(found) == 1:
            return found[0]
        raise ParseError(f"the envelope holds {len(found)} invoices: read them with ubltr.parsing.parse_each")
    if root.tag != "{%s}Invoice" % NS["inv"]:
        raise ParseError(f"the root element is {root.tag}, not a UBL Invoice")

    r = _gather_root(root, {})  # the document's children read in one pass
    adrs = r.get("adrs", [])
    earchive = None
    sale_ref = next((a for a in adrs if _t(a, "cbc:DocumentTypeCode") == "INTERNET_SATIS"), None)
    send_ref = next((a for a in adrs if _t(a, "cbc:DocumentTypeCode") == "SendingType"), None)
    doc_delivery_el = r["deliveries"][0] if "deliveries" in r else None
    carrier = None
    if doc_delivery_el is not None and _find(doc_delivery_el, "cac:CarrierParty") is not None:
        cp = _find(doc_delivery_el, "cac:CarrierParty")
        cid = _t(cp, "cac:PartyIdentification/cbc:ID")
        if cid:
            carrier = Carrier(vkn=cid, name=_t(cp, "cac:PartyName/cbc:Name") or "")
    profile_el = r.get("profile")
    if profile_el is not None and _TRACKING:
        _take(profile_el)
    if send_ref is not None or (profile_el is not None and (profile_el.text or "") == "EARSIVFATURA"):
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
        addr = _address(_find(doc_delivery_el, "cac:DeliveryAddress"))
        if inc or tm or addr:
            delivery = Delivery(incoterms=inc, address=addr, transport_mode=tm)

    payment = None
    for pm in r.get("payment_means", ()):
        note = _t(pm, "cbc:InstructionNote")
        if sale_ref is not None and note in _INTERNET_TYPES:
            continue  # written by the builder for the internet sale
        code = _t(pm, "cbc:PaymentMeansCode")
        payment = Payment(means_code=code, due_date=_date(pm, "cbc:PaymentDueDate"),
                          iban=_t(pm, "cac:PayeeFinancialAccount/cbc:ID"), note=note)
        break

    doc_wh = None
    wst = r.get("withholding_subtotals", [])
    line_els = r.get("lines", [])
    # which lines carry taxes and withholdings of their own, found by libxml2 (each line
    # is read once, below, and let go as soon as it is in the model)
    any_line_wh = bool(_A_LINE_WITHHOLDS(root))
    if len(wst) == 1:
        wcode = _t(wst[0], "cac:TaxCategory/cac:TaxScheme/cbc:TaxTypeCode")
        wpct = _dec(wst[0], "cbc:Percent")
        if wcode and wpct is not None:
            doc_wh = Withholding(code=wcode.strip(), percent=wpct)
    elif len(wst) > 1 and not any_line_wh:
        raise ParseError(f"line {wst[1].sourceline}: the document withholds at several rates but no line says "
                         "which rate is its own (no line has a WithholdingTaxTotal)")

    # the document's taxes, for lines that carry no TaxTotal of their own (GİB's
    # HASTANE, OTV, TEVKIFAT, ISTISNA samples): each tax applies to every such line,
    # unless the document has several rates of one tax (then which line bears which is not said)
    taxless = _LINES_WITHOUT_TAXES(root) if line_els else []
    assert isinstance(taxless, list)
    doc_taxes: list[_DocTax] | None = None
    if taxless:
        doc_taxes = []
        for st in r.get("tax_subtotals", ()):
            x = _subtotal(st)
            if x is None:
                continue
            if any(y.code == x.code for y in doc_taxes):
                raise ParseError(f"line {taxless[0].sourceline}: this line has no TaxTotal and the document's TaxTotal "
                                 f"has several subtotals of tax {x.code}; which one applies to the line is not stated")
            doc_taxes.append(x)
    special_ok = len(line_els) == 1 or not taxless

    for tag in ("PrepaidAmount",):
        el = r.get("prepaid")
        if el is not None and _text(el).strip() and _number(_text(el), el, tag) != 0:
            raise ParseError(f"line {el.sourceline}: cbc:{tag} {_text(el).strip()}: prepaid amounts are not supported "
                             "(the model has no place for them)")

    inv_type = _s(r.get("type")) or ""
    line_wh = None if any_line_wh else doc_wh
    read: list[Line] = []
    stated_nets: list[Decimal | None] = []
    nets: list[Decimal | None] = []
    for ln in line_els:
        k = _gather_line(ln, {})  # the line read in one pass
        read.append(_line(ln, delivery, line_wh, doc_taxes, inv_type, special_ok, k))
        stated_nets.append(k["stated_net"])
        nets.append(k.get("net"))
    lines = tuple(read)
    if doc_wh is not None and not any_line_wh:
        lines = _withheld_lines(wst[0], line_els, lines)
    lines = _with_implied_allowances(root, line_els, lines, stated_nets, nets,
                                     (r.get("line_extension"), r.get("allowance_total")))
    nets_sum = sum((n for n in stated_nets if n is not None), Decimal(0)) if all(n is not None for n in stated_nets) else None
    allow, charge = _allowances(root, nets_sum, r.get("acs", ()))
    allow, charge = _without_restated_line_allowances(root, lines, allow, charge, nets_sum)
    currency = _s(r.get("currency")) or "TRY"
    rate = _d(r.get("pricing_rate"))
    if rate is None and currency != "TRY":
        rate = _d(r.get("tax_rate")) or _d(r.get("payment_rate"))
    note_els = r.get("notes", [])
    for n in note_els:
        _take(n)
    notes = _user_notes([n.text or "" for n in note_els],
                        _d(r.get("payable")), currency, rate)
    return Invoice(
        profile=_s(profile_el) or "",
        type=_s(r.get("type")) or "",
        issue_date=_date_of(r.get("issue_date")) or _dt.date(1970, 1, 1),
        supplier=_party(r.get("supplier")) or Party(address=Address("", "")),
        customer=_party(r.get("customer")) or Party(address=Address("", "")),
        lines=lines,
        id=_s(r.get("id")),
        uuid=_s(r.get("uuid")),
        issue_time=_time_of(r.get("issue_time")),
        currency=currency,
        exchange_rate=rate if currency != "TRY" else None,
        notes=notes,
        buyer_customer=_party(r.get("buyer")),
        tax_representative=_tax_rep(r.get("tax_representative")),
        allowances=allow, charges=charge,
        billing_references=_refs(r.get("billing_refs", ())),
        order_reference=(_refs(r.get("order_refs", ())) or (None,))[0],
        despatch_references=_refs(r.get("despatch_refs", ())),
        payment=payment, delivery=delivery, earchive=earchive,
        rounding=_d(r.get("rounding")) or Decimal("0"),
        invoice_period=_period(r.get("period")),
        contract_reference=(_refs(r.get("contract_refs", ()), extended=True) or (None,))[0],
        additional_references=_refs(
            (a for a in adrs if _t(a, "cbc:DocumentTypeCode") not in {"SendingType", "INTERNET_SATIS"}
             and _find(a, "cac:Attachment") is None), extended=True),
    )


# ------------------------------------------------------------------ the document's own totals


@dataclass(frozen=True)
class Difference:
    """One amount: what the document states and what it should be."""

    what: str                 # e.g. "LegalMonetaryTotal/PayableAmount", "InvoiceLine[2]/LineExtensionAmount"
    stated: Decimal
    expected: Decimal
    line: int | None = None   # the element's line in the XML
    why: str = ""             # what ``expected`` is (for an inconsistency: from which of the document's numbers)

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        off = self.stated - self.expected
        return (f"{where}{self.what} is {self.stated}, expected {self.expected}"
                + (f" ({self.why})" if self.why else "") + f"; off by {off:+}")


@dataclass(frozen=True)
class TotalsCheck:
    """``check_totals``' answer.  ``verdict``:

    - ``"reproduced"``: ``compute(parse(x))`` gives every total the document states
      (``policy`` says how: ``"line"``, ubltr's per-line rounding, exact; ``"group"``,
      rounded per tax group, exact under ``compute(..., tax_rounding="group")``; or
      ``"kuruş per line"``: each stated total within a kuruş per rounded amount of
      ubltr's (a line's amount and each of its taxes: software that rounds every
      amount only when it writes it), the differences listed in ``differences``);
      ``conventions`` names the known ways of writing totals the document follows;
    - ``"inconsistent"``: the document's own numbers disagree with each other
      (``inconsistencies`` says which amounts and by how much);
    - ``"differs"``: the document is consistent but ubltr computes otherwise
      (``differences``): a finding, for ubltr or for the document."""

    verdict: str
    policy: str
    conventions: tuple[str, ...]
    differences: tuple[Difference, ...]
    inconsistencies: tuple[Difference, ...]
    totals: Totals
    #: amounts the document states (elements with a currencyID) that are in no total
    #: ubltr reads or computes, e.g. an export's Shipment/InsuranceValueAmount:
    #: (element path, text, line), reported rather than silently passed over
    unread: tuple[tuple[str, str, int | None], ...] = ()


def _sum_of(root: etree._Element, path: str) -> tuple[Decimal | None, int | None]:
    els = _findall(root, path)
    vals = [_number(_text(e), e) for e in els if _text(e).strip()]
    if not vals:
        return None, None
    return sum(vals, Decimal(0)), els[0].sourceline


def check_totals(source: bytes | str | Path | etree._Element) -> TotalsCheck:
    """Parse ``source``, compute its totals and compare them with the totals the
    document states (LegalMonetaryTotal, TaxTotal, WithholdingTaxTotal).  Raises only
    :class:`ParseError` or :class:`~ubltr.calc.CalcError` (a document ubltr cannot
    read or compute, for the reason given)."""
    root = _root(source)
    reading = _Reading()
    inv = _read(root, reading)
    token = _READING.set(reading)  # the totals are read from the children parse read
    try:
        with decimal.localcontext(_CONTEXT):
            return _check_totals(root, inv)
    finally:
        _READING.reset(token)


def _check_totals(root: etree._Element, inv: Invoice) -> TotalsCheck:
    stated: dict[str, tuple[Decimal, int | None]] = {}
    for tag in ("LineExtensionAmount", "TaxExclusiveAmount", "TaxInclusiveAmount", "AllowanceTotalAmount",
                "ChargeTotalAmount", "PayableRoundingAmount", "PayableAmount"):
        v, ln = _sum_of(root, f"cac:LegalMonetaryTotal/cbc:{tag}")
        if v is not None:
            stated[tag] = (v, ln)
    if "PayableAmount" not in stated:  # nothing to reproduce: no verdict would mean anything
        raise ParseError(f"line {root.sourceline}: the invoice states no cac:LegalMonetaryTotal/cbc:PayableAmount, "
                         "so it has no totals to check")
    for tag, path in (("TaxTotal", "cac:TaxTotal/cbc:TaxAmount"),
                      ("WithholdingTaxTotal", "cac:WithholdingTaxTotal/cbc:TaxAmount")):
        v, ln = _sum_of(root, path)
        if v is not None:
            stated[tag] = (v, ln)

    # a kuruş per line, or per rounded amount where a line has several taxes (each
    # rounded on its own by software that rounds only when it writes)
    tolerance = _CENT * max(1, sum(max(1, len(ln.taxes)) for ln in inv.lines))
    best: tuple[int, str, tuple[str, ...], list[Difference], Totals] | None = None
    for policy in ("line", "group"):
        t = compute(inv, tax_rounding=policy, gib_checks=False)
        conventions, diffs = _compare(t, stated, [any(x.code == "0015" and x.base is not None for x in ln.taxes)
                                                  for ln in inv.lines], _shipping(root), tolerance)
        if best is None or len(diffs) < best[0]:
            best = (len(diffs), policy, conventions, diffs, t)
        if not diffs:
            break
    assert best is not None
    _, policy, conventions, diffs, t = best
    inconsistencies = tuple(_inconsistencies(root, stated, tolerance))
    if diffs and all(abs(d.stated - d.expected) <= tolerance for d in diffs) and not inconsistencies:
        # rounded otherwise than per line or per group (e.g. line taxes from unrounded
        # line amounts): within a kuruş per line, what GİB's rounding allows; the
        # differences stay listed
        policy = "kuruş per line"
        verdict = "reproduced"
    elif not diffs:
        verdict = "reproduced"
    elif inconsistencies:
        verdict = "inconsistent"
    else:
        verdict = "differs"
    return TotalsCheck(verdict=verdict, policy=policy, conventions=conventions, differences=tuple(diffs),
                       inconsistencies=inconsistencies, totals=t, unread=_unread_amounts(root))


#: (parent, element) of the amounts parse and check_totals read
_READ_AMOUNTS = {
    ("TaxSubtotal", "TaxAmount"), ("TaxSubtotal", "TaxableAmount"), ("TaxSubtotal", "PerUnitAmount"),
    ("TaxTotal", "TaxAmount"), ("WithholdingTaxTotal", "TaxAmount"), ("InvoiceLine", "LineExtensionAmount"),
    ("Price", "PriceAmount"), ("AllowanceCharge", "Amount"), ("AllowanceCharge", "BaseAmount"),
    ("LegalMonetaryTotal", "LineExtensionAmount"), ("LegalMonetaryTotal", "TaxExclusiveAmount"),
    ("LegalMonetaryTotal", "TaxInclusiveAmount"), ("LegalMonetaryTotal", "AllowanceTotalAmount"),
    ("LegalMonetaryTotal", "ChargeTotalAmount"), ("LegalMonetaryTotal", "PayableRoundingAmount"),
    ("LegalMonetaryTotal", "PayableAmount"), ("LegalMonetaryTotal", "PrepaidAmount"),
}


#: every element with a currencyID, in document order (found by libxml2, not by
#: visiting each element from Python)
_AMOUNTS = etree.XPath("descendant-or-self::*[@currencyID]")


def _unread_amounts(root: etree._Element) -> tuple[tuple[str, str, int | None], ...]:
    out = []
    found = _AMOUNTS(root)
    assert isinstance(found, list)
    for el in found:
        parent = el.getparent()
        pair = (_local(parent.tag) if parent is not None else "", _local(el.tag))
        if pair not in _READ_AMOUNTS:
            path = "/".join(etree.QName(a).localname for a in reversed(list(el.iterancestors())) if a is not root)
            out.append((f"{path}/{pair[1]}", _text(el).strip(), el.sourceline))
    return tuple(out)


_SHIPPING = "export insurance and freight (Delivery/Shipment) added to the amount"
_SPECIAL = "özel matrah KDV not added to the amount"
#: özel matrah whose line amounts already contain the KDV (tobacco, KDV Kanunu md. 23):
#: TaxExclusiveAmount = LineExtensionAmount - that KDV, and the payable is the line amounts
_SPECIAL_INSIDE = "özel matrah KDV inside the line amounts (TaxExclusiveAmount net of it)"
#: TaxTotal/TaxAmount = Σ every TaxSubtotal, the deducted stopaj / tevkifat taxes included
#: (TaxInclusiveAmount then nets them out: integrators' stopaj invoices)
_WITH_DEDUCTED = "TaxTotal with the deducted taxes"
#: ÖTV tevkifatı 4171 standing for the ÖTV (no 0071 beside it) charged in TaxInclusiveAmount
#: but not deducted again from PayableAmount (json2ubl-ts: Payable = TaxInclusive - KDV
#: withholding); by law the buyer withholds it, so ubltr deducts it
_OTV_NOT_DEDUCTED = "ÖTV tevkifatı (4171) not deducted from PayableAmount"


def _shipping(root: etree._Element) -> Decimal:
    """An export document's insurance and freight (document Delivery/Shipment
    InsuranceValueAmount + DeclaredForCarriageValueAmount), which GİB's ISTISNA-1 and
    integrators' export samples add to TaxExclusiveAmount and the payable amount."""
    total = Decimal(0)
    for tag in ("InsuranceValueAmount", "DeclaredForCarriageValueAmount"):
        for el in _findall(root, f"cac:Delivery/cac:Shipment/cbc:{tag}"):
            if _text(el).strip():
                total += _number(_text(el), el, tag)
    return total


def _compare(t: Totals, stated: dict[str, tuple[Decimal, int | None]],
             special_kdv: list[bool], shipping: Decimal = Decimal(0),
             tolerance: Decimal = Decimal(0)) -> tuple[tuple[str, ...], list[Difference]]:
    """Stated totals against computed ones, allowing the ways of writing them that
    real software uses (each a named convention, listed in the README)."""
    line_allow = sum((a for ln in t.lines for a in ln.allowances), ZERO_)
    special = sum((ln.kdv.amount for ln, spec in zip(t.lines, special_kdv) if spec), ZERO_)
    line_charge = sum((c for ln in t.lines for c in ln.charges), ZERO_)
    otv_withheld = sum((s.amount for s in t.subtotals if s.charged), ZERO_)
    # the deducted taxes that are not charged first (stopaj, 9015): 4171 standing for the
    # ÖTV is already in TaxTotal and TaxInclusiveAmount
    withheld = t.deducted_total - otv_withheld
    # name -> [(convention, value)], the first is ubltr's (GİB's) own way
    options: dict[str, list[tuple[str, Decimal]]] = {
        "LineExtensionAmount": [("", t.line_extension),
                                ("line amounts before line allowances", t.line_extension + line_allow - line_charge)],
        "AllowanceTotalAmount": [("", t.allowance_total),
                                 ("line allowances in AllowanceTotalAmount", t.allowance_total + line_allow)],
        "ChargeTotalAmount": [("", t.charge_total),
                              ("line charges in ChargeTotalAmount", t.charge_total + line_charge)],
        "TaxExclusiveAmount": [("", t.tax_exclusive),
                               ("stopaj deducted in TaxExclusiveAmount", t.tax_exclusive - withheld),
                               (_SHIPPING, t.tax_exclusive + shipping),
                               (_SPECIAL_INSIDE, t.tax_exclusive - special)],
        "TaxTotal": [("", t.tax_total),
                     ("TaxTotal net of the withheld KDV", t.tax_total - t.withholding_total),
                     ("TaxTotal net of deducted taxes", t.tax_total - withheld),
                     (_WITH_DEDUCTED, t.tax_total + withheld)],
        "TaxInclusiveAmount": [("", t.tax_inclusive),
                               ("TaxInclusiveAmount net of the withheld KDV", t.tax_inclusive - t.withholding_total),
                               ("TaxInclusiveAmount net of deducted taxes", t.tax_inclusive - withheld),
                               ("TaxInclusiveAmount net of deducted taxes, with the rounding",
                                t.tax_inclusive - withheld + t.rounding),
                               (_SPECIAL, t.tax_inclusive - special),
                               (_SHIPPING, t.tax_inclusive + shipping)],
        "WithholdingTaxTotal": [("", t.withholding_total)],
        "PayableAmount": [("", t.payable), (_SPECIAL, t.payable - special),
                          (_SHIPPING, t.payable + shipping), (_OTV_NOT_DEDUCTED, t.payable + otv_withheld)],
    }
    used: list[str] = []
    matched: dict[str, str] = {}
    diffs: list[Difference] = []
    for name, opts in options.items():
        if name not in stated:
            continue
        value, line = stated[name]
        usable = [(conv, v) for conv, v in opts if (conv not in (_SPECIAL, _SPECIAL_INSIDE) or special != 0)
                  and (conv != _SHIPPING or shipping != 0)
                  and (conv != _OTV_NOT_DEDUCTED or otv_withheld != 0)
                  and (conv != _WITH_DEDUCTED or withheld != 0)]
        match = next((conv for conv, v in usable if _same(value, v)), None)
        if match is None and tolerance:
            # each total rounded on its own from unrounded amounts (software that rounds
            # only when it writes): the nearest way of writing within a kuruş per line,
            # the kuruş listed as a difference
            near = sorted(((abs(_kurus(value) - _kurus(v)), k) for k, (conv, v) in enumerate(usable)
                           if abs(_kurus(value) - _kurus(v)) <= tolerance))
            if near:
                match, v = usable[near[0][1]]
                what = name if name in {"TaxTotal", "WithholdingTaxTotal"} else f"LegalMonetaryTotal/{name}"
                diffs.append(Difference(what=what + ("/TaxAmount" if name in {"TaxTotal", "WithholdingTaxTotal"} else ""),
                                        stated=value, expected=_kurus(v), line=line,
                                        why="computed by ubltr" + (f", with {match}" if match else "")))
        if match is None:
            what = name if name in {"TaxTotal", "WithholdingTaxTotal"} else f"LegalMonetaryTotal/{name}"
            diffs.append(Difference(what=f"{what}" + ("/TaxAmount" if name in {"TaxTotal", "WithholdingTaxTotal"} else ""),
                                    stated=value, expected=_kurus(opts[0][1]), line=line, why="computed by ubltr"))
        elif match:
            used.append(match)
            matched[name] = match
    # an amount added to (or left out of) the total is so in every total after it
    for conv, fields in ((_SHIPPING, ("TaxExclusiveAmount", "TaxInclusiveAmount", "PayableAmount")),
                         (_SPECIAL, ("TaxInclusiveAmount", "PayableAmount"))):
        if conv in used:
            for name in fields:
                if name in stated and matched.get(name) != conv:
                    value, line = stated[name]
                    expected = dict(options[name]).get(conv, options[name][0][1])
                    diffs.append(Difference(what=f"LegalMonetaryTotal/{name}", stated=value, expected=_kurus(expected),
                                            line=line, why=f"computed by ubltr, with {conv} as the other totals"))
    if matched.get("TaxTotal") == _WITH_DEDUCTED and "TaxInclusiveAmount" in stated and not str(
            matched.get("TaxInclusiveAmount", "")).startswith("TaxInclusiveAmount net of deducted taxes"):
        # a TaxTotal with the stopaj in it is written so only when TaxInclusiveAmount nets it out again
        value, line = stated["TaxInclusiveAmount"]
        diffs.append(Difference(what="LegalMonetaryTotal/TaxInclusiveAmount", stated=value,
                                expected=_kurus(t.tax_inclusive - withheld), line=line,
                                why=f"computed by ubltr, with {_WITH_DEDUCTED} in TaxTotal"))
    if _SPECIAL_INSIDE in used:  # KDV inside the line amounts: it is not added on top of them either
        for name in ("TaxInclusiveAmount", "PayableAmount"):
            if name in stated and matched.get(name) != _SPECIAL:
                value, line = stated[name]
                diffs.append(Difference(what=f"LegalMonetaryTotal/{name}", stated=value,
                                        expected=_kurus(dict(options[name])[_SPECIAL]), line=line,
                                        why=f"computed by ubltr, with {_SPECIAL_INSIDE}"))
    return tuple(dict.fromkeys(used)), diffs


ZERO_ = Decimal("0.00")


def _inconsistencies(root: etree._Element, stated: dict[str, tuple[Decimal, int | None]],
                     tolerance: Decimal = Decimal(0)) -> list[Difference]:
    """Where the document's own numbers disagree with each other (whatever ubltr
    computes): totals that do not add up, lines whose amount is not quantity × price
    less allowances, tax amounts that are not base × percent.  A document that rounds
    each amount on its own from unrounded values (software that rounds only when it
    writes) may be off by a kuruş per line in a total (``tolerance``) and by a kuruş in
    a line: that is rounding, not a disagreement."""
    out: list[Difference] = []

    def _near(a: Decimal, b: Decimal, within: Decimal = tolerance) -> bool:
        return abs(_kurus(a) - _kurus(b)) <= within

    def v(name: str) -> Decimal:
        return stated[name][0] if name in stated else Decimal(0)

    def ln_(name: str) -> int | None:
        return stated[name][1] if name in stated else None

    le, ae, ce = v("LineExtensionAmount"), v("AllowanceTotalAmount"), v("ChargeTotalAmount")
    te, ti, tt, wt = v("TaxExclusiveAmount"), v("TaxInclusiveAmount"), v("TaxTotal"), v("WithholdingTaxTotal")
    ship = _shipping(root)
    subs = [x for x in (_subtotal(st) for st in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)) if x is not None]
    kdv = [x for x in subs if x.code == "0015"]
    special = (_t(root, "cbc:InvoiceTypeCode") or "").strip() == "OZELMATRAH" or any(
        x.exemption is not None and x.exemption.code.startswith("8") for x in kdv)
    kdv_sum = sum((x.amount or Decimal(0) for x in kdv), Decimal(0))
    # AllowanceTotalAmount / ChargeTotalAmount that also count the line allowances / charges
    # (a way of writing totals, named by check_totals): the document's own amounts then
    # leave those out of TaxExclusiveAmount
    if "TaxExclusiveAmount" in stated and not (_near(te, le - ae + ce) or (ship and _near(te, le - ae + ce + ship))
                                               or (special and _near(te, le - ae + ce - kdv_sum))):
        # read only here, where the document's own amounts do not add up (a pass over
        # every line's allowances, which the usual invoice does not need)
        line_ac = [(_dec(ac, "cbc:Amount") or Decimal(0), _is_charge(ac))
                   for ac in root.findall("cac:InvoiceLine/cac:AllowanceCharge", NS)]
        line_allow = sum((a for a, charge in line_ac if not charge), Decimal(0))
        line_charge = sum((a for a, charge in line_ac if charge), Decimal(0))
        if not (line_ac and _near(te, le - (ae - line_allow) + (ce - line_charge))):
            out.append(Difference("LegalMonetaryTotal/TaxExclusiveAmount", te, le - ae + ce, ln_("TaxExclusiveAmount"),
                                  "LineExtensionAmount - AllowanceTotalAmount + ChargeTotalAmount"))
    sub_sum = sum((x.amount or Decimal(0) for x in subs if not deducted(x.code)
                   and not (x.exemption is not None and kdv_not_added(x.exemption.code))), Decimal(0))
    ded_sum = sum((x.amount or Decimal(0) for x in subs if deducted(x.code)), Decimal(0))
    # 4171 standing for the ÖTV (no ÖTV subtotal beside it): in the KDV base and charged
    otv_withheld = sum((x.amount or Decimal(0) for x in subs if withheld_otv(x.code, (y.code for y in subs))),
                       Decimal(0))
    # a TaxTotal that includes the deducted taxes (stopaj): the amount inclusive of taxes
    # nets them out again, so it is TaxExclusive + the charged taxes - the deducted ones
    if "TaxInclusiveAmount" in stated and not (_near(ti, te + tt) or _near(ti, le - ae + ce + tt)
                                               or (ded_sum and _near(tt, sub_sum + ded_sum)
                                                   and _near(ti, te + sub_sum - ded_sum + 2 * otv_withheld))):
        out.append(Difference("LegalMonetaryTotal/TaxInclusiveAmount", ti, te + tt, ln_("TaxInclusiveAmount"),
                              "TaxExclusiveAmount + TaxTotal/TaxAmount"))
    if "TaxTotal" in stated and subs and not any(_near(tt, c) for c in (sub_sum, sub_sum - wt, sub_sum - ded_sum)
                                                 + ((sub_sum + ded_sum,) if ded_sum else ())
                                                 + ((sub_sum + otv_withheld,) if otv_withheld else ())):
        out.append(Difference("TaxTotal/TaxAmount", tt, sub_sum, ln_("TaxTotal"),
                              "Σ its TaxSubtotal/TaxAmount" + (" without the deducted taxes (stopaj, tevkifat: "
                                                               f"{ded_sum} more with them)" if ded_sum else "")))
    if "PayableAmount" in stated:
        p = v("PayableAmount")
        r = v("PayableRoundingAmount")
        if not any(_near(p, c) for c in (ti - wt - ded_sum + r, ti - wt - ded_sum, ti - wt + r, ti - wt, ti + r, ti)):
            out.append(Difference("LegalMonetaryTotal/PayableAmount", p, ti - wt - ded_sum + r, ln_("PayableAmount"),
                                  "TaxInclusiveAmount - WithholdingTaxTotal - deducted taxes + PayableRoundingAmount"))
    if kdv and "TaxExclusiveAmount" in stated and not special and all(x.base is not None for x in kdv):
        kdv_bases = sum((x.base or Decimal(0) for x in kdv), Decimal(0))
        inside = sum((x.amount or Decimal(0) for x in subs if x.code != "0015" and in_kdv_base(x.code)
                      and not deducted(x.code)), Decimal(0))
        if not any(_near(kdv_bases, b + extra) for b in (te, le - ae + ce)
                   for extra in ((inside, inside + otv_withheld) if otv_withheld else (inside,))):
            out.append(Difference("TaxTotal/TaxSubtotal(0015)/TaxableAmount", kdv_bases, te + inside,
                                  ln_("TaxTotal"),
                                  "Σ of the KDV bases = TaxExclusiveAmount + taxes inside the KDV base"))
    lines = _findall(root, "cac:InvoiceLine")
    leas: list[Decimal] = []
    grosses: list[Decimal] = []
    for i, ln in enumerate(lines, 1):
        k = _gather_line(ln, {})  # the line read in one pass
        lea = _d(k.get("lea"))
        qty = _d(k.get("qty")) or Decimal(0)
        price = _d(k.get("price")) or Decimal(0)
        acs = Decimal(0)
        for a in k.get("acs_k", ()):  # each AllowanceCharge as the line plan read it
            amt = _d(a.get("amount")) or Decimal(0)
            acs += amt if _true(a.get("charge")) else -amt
        grosses.append(_kurus(qty * price))
        if lea is None:
            continue
        leas.append(lea)
        sts = k.get("subtotals", [])
        xs = [_subtotal(st, sk) for st, sk in zip(sts, k.get("subtotals_k", ()))]
        # an amount before the line's allowances, the tax base after them: the line's
        # numbers agree (the document's LineExtensionAmount then says which it sums)
        before = acs != 0 and _same(lea, qty * price) and any(
            (b := _d(sk.get("base"))) is not None and _same(b, qty * price + acs)
            for sk in k.get("subtotals_k", ()))
        if not _near(lea, qty * price + acs, _CENT) and not before:
            out.append(Difference(f"InvoiceLine[{i}]/LineExtensionAmount", lea, _kurus(qty * price + acs), ln.sourceline,
                                  "InvoicedQuantity × PriceAmount - allowances + charges"))
        line_kdv = [x for x in xs if x is not None and x.code == "0015" and x.base is not None and x.amount is not None]
        if line_kdv:
            kdv_base = sum((x.base or Decimal(0) for x in line_kdv), Decimal(0))
            kdv_amount = sum((x.amount or Decimal(0) for x in line_kdv), Decimal(0))
            if kdv_amount > 0 and not _same(lea, kdv_base) and _same(lea - kdv_base, kdv_amount):
                # retail software's price with the KDV in it: the line amount is its KDV base + its KDV
                out.append(Difference(f"InvoiceLine[{i}]/LineExtensionAmount", lea, kdv_base, ln.sourceline,
                                      f"its KDV TaxableAmount: the line amount includes its KDV {kdv_amount}, "
                                      "where line amounts are without taxes"))
        for st, x in zip(sts, xs):
            if x is None or x.amount is None or x.base is None or x.percent is None or x.per_unit is not None:
                continue
            if abs(x.amount - x.base * x.percent / 100) > Decimal("0.01"):
                out.append(Difference(f"InvoiceLine[{i}]/TaxSubtotal({x.code})/TaxAmount", x.amount,
                                      _kurus(x.base * x.percent / 100), st.sourceline, "TaxableAmount × Percent / 100"))
    if "LineExtensionAmount" in stated and lines and len(leas) == len(lines):
        if not (_near(le, sum(leas, Decimal(0))) or _near(le, sum(grosses, Decimal(0)))):
            out.append(Difference("LegalMonetaryTotal/LineExtensionAmount", le, _kurus(sum(leas, Decimal(0))),
                                  ln_("LineExtensionAmount"), "Σ InvoiceLine/LineExtensionAmount"))
    return out
