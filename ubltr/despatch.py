"""e-İrsaliye: the neutral despatch advice and receipt advice, and their loader.

``load_despatch(data)`` / ``load_receipt(data)`` accept a dict (or JSON text / bytes)
shaped as the README's "e-İrsaliye" section describes and return a :class:`Despatch` /
:class:`Receipt`.  As for invoices, every problem is collected and raised at once as
:class:`~ubltr.model.InvoiceInputError` (the same class, so callers and the CLI handle
one error type), each with its JSON path (``shipment.vehicle_plates[0].id: ...``), and
with GİB's rule id where a GİB rule is what the input would break.  Quantities are
``Decimal`` from the first byte.  ``load_document`` chooses by the ``"document"`` key.

Parties and addresses are the invoice's (:class:`ubltr.model.Party`,
:class:`ubltr.model.Address`), read by the invoice loader's own functions, so a party
is checked the same way in every document.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, Iterable, Mapping

from . import codes
from .model import (
    ID_RE,
    UUID_RE,
    Address,
    InputProblem,
    InvoiceInputError,
    Party,
    _address,
    _control_char,
    _dump,
    _join,
    _kind,
    _party,
    _Reader,
    parse_json,
)

__all__ = [
    "Plate", "Driver", "Reference", "Shipment", "DespatchLine", "Despatch",
    "ReceiptLine", "Receipt", "DespatchReference", "load_despatch", "load_receipt",
    "load_document", "loads_document", "document_kind", "to_dict", "receipt_for",
    "DESPATCH_PROFILES", "DESPATCH_TYPES",
]

DESPATCH_PROFILES = ("TEMELIRSALIYE", "HKSIRSALIYE", "IDISIRSALIYE")
DESPATCH_TYPES = ("SEVK", "MATBUDAN")

# ------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Plate:
    """A vehicle plate (``LicensePlateID``: PLAKA, YABANCIPLAKA) or a trailer plate
    (``TransportEquipment/ID``: DORSEPLAKA, DORSE, YABANCIDORSEPLAKA, YABANCIDORSE)."""

    id: str
    scheme: str


@dataclass(frozen=True, slots=True)
class Driver:
    first_name: str
    last_name: str
    nationality_id: str  #: T.C. kimlik no of a Turkish driver, else passport / foreign id
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Reference:
    """An order reference or an additional document reference."""

    id: str
    issue_date: _dt.date
    type_code: str | None = None
    type: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Shipment:
    despatch_date: _dt.date
    despatch_time: _dt.time
    #: DeliveryAddress; the loader requires it (GİB DespatchAddressCheck), a parsed
    #: document may lack it (GİB's own 1.2.1 samples do)
    delivery_address: Address | None
    carrier: Party | None = None
    drivers: tuple[Driver, ...] = ()
    vehicle_plates: tuple[Plate, ...] = ()
    trailer_plates: tuple[Plate, ...] = ()
    id: str | None = None
    goods_value: Decimal | None = None  #: the declared value of the goods (GoodsItem/ValueAmount)
    currency: str = "TRY"


@dataclass(frozen=True, slots=True)
class DespatchLine:
    name: str
    quantity: Decimal  #: DeliveredQuantity
    unit: str
    outstanding_quantity: Decimal | None = None
    outstanding_reason: str | None = None
    oversupply_quantity: Decimal | None = None
    order_line_id: str = ""  #: OrderLineReference/LineID (the loader's default: the line number)
    description: str | None = None
    brand: str | None = None
    model: str | None = None
    seller_code: str | None = None
    buyer_code: str | None = None
    manufacturer_code: str | None = None
    #: AdditionalItemIdentification as (scheme, value), schemes may repeat (IDIS ETIKETNO)
    item_ids: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    id: str = ""  #: the line's cbc:ID, a number (the loader's default: the line number)


@dataclass(frozen=True, slots=True)
class Despatch:
    profile: str
    type: str
    id: str
    issue_date: _dt.date
    issue_time: _dt.time
    supplier: Party  #: DespatchSupplierParty
    customer: Party  #: DeliveryCustomerParty
    shipment: Shipment
    lines: tuple[DespatchLine, ...]
    uuid: str | None = None
    buyer: Party | None = None  #: BuyerCustomerParty
    seller: Party | None = None  #: SellerSupplierParty
    originator: Party | None = None  #: OriginatorCustomerParty
    supplier_contact: str | None = None  #: DespatchContact/Name
    customer_contact: str | None = None  #: DeliveryContact/Name
    notes: tuple[str, ...] = ()
    order_references: tuple[Reference, ...] = ()
    additional_references: tuple[Reference, ...] = ()

    def with_identity(self, *, uuid: str | None = None) -> "Despatch":
        from dataclasses import replace
        import uuid as _uuid

        return replace(self, uuid=uuid or self.uuid or str(_uuid.uuid4()).upper())


@dataclass(frozen=True, slots=True)
class DespatchReference:
    """The despatch a receipt answers: its ETTN (UUID), number and date."""

    uuid: str
    issue_date: _dt.date
    id: str | None = None


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    name: str
    unit: str
    received_quantity: Decimal | None = None
    rejected_quantity: Decimal | None = None
    reject_reason: str | None = None
    short_quantity: Decimal | None = None
    oversupply_quantity: Decimal | None = None
    timing_complaint: str | None = None
    despatch_line_id: str = ""  #: DespatchLineReference/LineID (the loader's default: the line number)
    order_line_id: str | None = None
    seller_code: str | None = None
    buyer_code: str | None = None
    item_ids: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    id: str = ""  #: the line's cbc:ID, a number (the loader's default: the line number)


@dataclass(frozen=True, slots=True)
class Receipt:
    id: str
    issue_date: _dt.date
    despatch: DespatchReference
    supplier: Party  #: DespatchSupplierParty (who sent the goods)
    customer: Party  #: DeliveryCustomerParty (who answers)
    lines: tuple[ReceiptLine, ...]
    profile: str = "TEMELIRSALIYE"
    issue_time: _dt.time | None = None
    uuid: str | None = None
    buyer: Party | None = None
    seller: Party | None = None
    delivery_date: _dt.date | None = None
    delivery_time: _dt.time | None = None
    notes: tuple[str, ...] = ()
    order_references: tuple[Reference, ...] = ()

    type: str = "SEVK"

    def with_identity(self, *, uuid: str | None = None) -> "Receipt":
        from dataclasses import replace
        import uuid as _uuid

        return replace(self, uuid=uuid or self.uuid or str(_uuid.uuid4()).upper())


def receipt_for(despatch: Despatch, *, id: str, issue_date: _dt.date, issue_time: _dt.time | None = None,
                uuid: str | None = None, delivery_date: _dt.date | None = None,
                delivery_time: _dt.time | None = None, notes: Iterable[str] = ()) -> Receipt:
    """The receipt advice answering ``despatch`` with every line received in full: the
    despatch's parties (its delivery customer answers and signs), its ETTN, number and
    date, and per line the delivered quantity as ``received_quantity`` with the line's
    ids and codes.  Record what differs with :func:`dataclasses.replace` on the lines
    (``rejected_quantity`` + ``reject_reason``, ``short_quantity``, ...).

    ``despatch.uuid`` must be set (the receipt refers to it); ``id`` is the receipt's
    own number (``ABC2026000000001``)."""
    if not despatch.uuid:
        raise ValueError("the despatch has no uuid (ETTN): a receipt advice refers to it")
    if not ID_RE.fullmatch(id):
        raise ValueError(f"id {id!r} must be 16 characters: series, year, sequence (IRY2026000000001)")
    lines = tuple(
        ReceiptLine(name=ln.name, unit=ln.unit, received_quantity=ln.quantity, despatch_line_id=ln.id or str(i),
                    order_line_id=ln.order_line_id or None, seller_code=ln.seller_code, buyer_code=ln.buyer_code,
                    item_ids=ln.item_ids, id=str(i))
        for i, ln in enumerate(despatch.lines, 1)
    )
    return Receipt(
        id=id, issue_date=issue_date, issue_time=issue_time, uuid=uuid, profile=despatch.profile,
        despatch=DespatchReference(uuid=despatch.uuid, issue_date=despatch.issue_date, id=despatch.id),
        supplier=despatch.supplier, customer=despatch.customer, buyer=despatch.buyer, seller=despatch.seller,
        delivery_date=delivery_date, delivery_time=delivery_time, notes=tuple(notes),
        order_references=despatch.order_references, lines=lines,
    )


# ------------------------------------------------------------------------ loader

_DESPATCH_KEYS = {
    "document", "profile", "type", "id", "uuid", "issue_date", "issue_time", "notes",
    "supplier", "customer", "buyer", "seller", "originator", "supplier_contact",
    "customer_contact", "shipment", "lines", "order_references", "additional_references",
}
_SHIPMENT_KEYS = {"id", "despatch_date", "despatch_time", "delivery_address", "carrier",
                  "drivers", "vehicle_plates", "trailer_plates", "goods_value", "currency"}
_DRIVER_KEYS = {"first_name", "last_name", "nationality_id", "title"}
_PLATE_KEYS = {"id", "scheme"}
_REF_KEYS = {"id", "issue_date", "type_code", "type", "description"}
_DLINE_KEYS = {"id", "name", "quantity", "unit", "outstanding_quantity", "outstanding_reason",
               "oversupply_quantity", "order_line_id", "description", "brand", "model",
               "seller_code", "buyer_code", "manufacturer_code", "item_ids", "notes"}
_RECEIPT_KEYS = {"document", "profile", "type", "id", "uuid", "issue_date", "issue_time", "notes",
                 "despatch", "supplier", "customer", "buyer", "seller", "delivery_date",
                 "delivery_time", "lines", "order_references"}
_DESPATCH_REF_KEYS = {"uuid", "id", "issue_date"}
_RLINE_KEYS = {"id", "name", "unit", "received_quantity", "rejected_quantity", "reject_reason",
               "short_quantity", "oversupply_quantity", "timing_complaint", "despatch_line_id",
               "order_line_id", "seller_code", "buyer_code", "item_ids", "notes"}

#: GİB LicensePlateIDSchemeIDCheck / TransportEquipmentIDSchemeIDCheck (20260701)
TR_PLATE_RE = re.compile(r"(0[1-9]|[1-7][0-9]|8[01])[A-Z]+[0-9]+")
FOREIGN_PLATE_RE = re.compile(r"[A-Z0-9_-]+")
TR_POSTAL_RE = re.compile(r"((0[1-9])|([1-7][0-9])|(8[0-1]))[0-9]{3}")
_KUNYE_LEN = 19
_ETIKET_RE = re.compile(r"[A-Za-z]{2}[0-9]{7}")
_SEVKIYAT_RE = re.compile(r"(SE|ES)-[0-9]{7}")
#: AdditionalItemIdentification schemes: GİB's list plus ETIKETNO (İDİS)
_ITEM_SCHEMES_EXTRA = frozenset({"ETIKETNO"})


def document_kind(data: Mapping[str, Any]) -> str:
    """``"invoice"`` (no ``document`` key), ``"despatch"`` or ``"receipt"``;
    :class:`InvoiceInputError` for anything else."""
    kind = data.get("document", "invoice") if isinstance(data, Mapping) else "invoice"
    if kind not in ("invoice", "despatch", "receipt"):
        raise InvoiceInputError([InputProblem(
            "document", f"{kind!r} is not a document kind ubltr builds (invoice, despatch, receipt)")])
    return str(kind)


def load_document(data: Mapping[str, Any] | str | bytes) -> Any:
    """An :class:`~ubltr.model.Invoice`, :class:`Despatch` or :class:`Receipt`, by
    ``data["document"]`` (absent: an invoice)."""
    parsed: Any = parse_json(data) if isinstance(data, (str, bytes)) else data
    kind = document_kind(parsed)
    if kind == "despatch":
        return load_despatch(parsed)
    if kind == "receipt":
        return load_receipt(parsed)
    from .model import load

    return load(parsed)


def loads_document(text: str | bytes) -> Any:
    """Parse JSON text and :func:`load_document` it."""
    return load_document(parse_json(text))


def load_despatch(data: Mapping[str, Any] | str | bytes) -> Despatch:
    """Turn a neutral despatch dict (or JSON text) into a :class:`Despatch`; raises
    :class:`~ubltr.model.InvoiceInputError` listing every problem with its JSON path."""
    if isinstance(data, (str, bytes)):
        data = parse_json(data)
    r = _Reader()
    out = _despatch(r, data)
    if r.problems:
        raise InvoiceInputError(r.problems)
    assert out is not None
    return out


def load_receipt(data: Mapping[str, Any] | str | bytes) -> Receipt:
    """Turn a neutral receipt-advice dict (or JSON text) into a :class:`Receipt`."""
    if isinstance(data, (str, bytes)):
        data = parse_json(data)
    r = _Reader()
    out = _receipt(r, data)
    if r.problems:
        raise InvoiceInputError(r.problems)
    assert out is not None
    return out


def _dparty(r: _Reader, raw: Any, path: str, required: bool = False) -> Party | None:
    """A party as the invoice loader reads it, without ``alias``: a despatch or receipt
    advice has no element for it, and no transport sends one (so it would be dropped)."""
    if isinstance(raw, Mapping) and "alias" in raw:
        r.err(_join(path, "alias"), "is not part of a despatch or receipt advice (no element carries it)")
        raw = {k: v for k, v in raw.items() if k != "alias"}
    return _party(r, raw, path, required=required)


def _person_names(r: _Reader, party: Party | None, path: str) -> None:
    """GİB PartyIdentificationPartyNamePersonCheck-5/6 (despatch and receipt supplier and
    customer): a TCKN party is a person with a first and a family name (a name alone is
    not enough, as it is on an invoice)."""
    where = _join(path, "first_name")
    if any(p.path == where for p in r.problems):
        return  # the party reader said it already
    if party is not None and party.tckn and not (party.first_name and party.first_name.strip()
                                                 and party.last_name and party.last_name.strip()):
        r.err(where, "first_name and last_name are required with a tckn "
                                         "[GİB PartyIdentificationPartyNamePersonCheck]")


def _kind_key(r: _Reader, d: dict, want: str) -> None:
    kind = d.get("document")
    if kind is not None and kind != want:
        r.err("document", f"must be '{want}' here, got {kind!r}")


def _header(r: _Reader, d: dict) -> tuple[str | None, str | None, _dt.date | None]:
    doc_id = r.text(d, "id", "", required=True)
    if doc_id is not None and not ID_RE.fullmatch(doc_id):
        r.err("id", f"'{doc_id}' must be 16 characters: 3-character series, 4-digit year, "
                    "9-digit sequence (IRS2026000000001) [GİB InvoiceIDCheck]")
    uid = r.text(d, "uuid", "")
    if uid is not None and not UUID_RE.fullmatch(uid):
        r.err("uuid", f"'{uid}' is not a UUID (8-4-4-4-12 hexadecimal digits)")
    issue_date = r.date(d, "issue_date", "", required=True)
    if doc_id and issue_date and ID_RE.fullmatch(doc_id) and doc_id[3:7] != f"{issue_date.year:04d}":
        r.err("id", f"the year in '{doc_id}' ({doc_id[3:7]}) differs from issue_date's year ({issue_date.year})")
    return doc_id, uid, issue_date


def _strings(r: _Reader, d: dict, key: str, path: str) -> tuple[str, ...]:
    out = []
    for p, n in r.items(d, key, path):
        if not isinstance(n, str):
            r.err(p, f"must be a string, got {_kind(n)}")
        elif (bad := _control_char(n)) is not None:
            r.err(p, f"contains control character U+{ord(bad):04X}, which XML 1.0 cannot carry")
        elif not n.strip():
            r.err(p, "must not be empty")
        else:
            out.append(n)
    return tuple(out)


def _ref(r: _Reader, raw: Any, path: str) -> Reference | None:
    d = r.obj(raw, path, _REF_KEYS)
    if d is None:
        return None
    rid = r.text(d, "id", path, required=True)
    date = r.date(d, "issue_date", path, required=True)
    type_code = r.text(d, "type_code", path)
    type_ = r.text(d, "type", path)
    desc = r.text(d, "description", path)
    if rid is None or date is None:
        return None
    return Reference(id=rid, issue_date=date, type_code=type_code, type=type_, description=desc)


def _refs(r: _Reader, d: dict, key: str) -> tuple[Reference, ...]:
    return tuple(x for x in (_ref(r, raw, p) for p, raw in r.items(d, key, "")) if x)


def _plate(r: _Reader, raw: Any, path: str, schemes: frozenset[str], default: str,
           tr_schemes: frozenset[str], rule: str) -> Plate | None:
    if isinstance(raw, str):
        raw = {"id": raw}
    d = r.obj(raw, path, _PLATE_KEYS)
    if d is None:
        return None
    pid = r.text(d, "id", path, required=True)
    given = r.text(d, "scheme", path)
    scheme = default if given is None else given
    if scheme not in schemes:
        r.err(_join(path, "scheme"), f"'{scheme}' is not one of GİB's schemes here ({', '.join(sorted(schemes))}) [GİB {rule}]")
        return None
    if pid is None:
        return None
    if pid != pid.strip() or " " in pid:
        r.err(_join(path, "id"), f"'{pid}' contains spaces; write the plate without them ('34 ABC 123' as '34ABC123')")
        return None
    if scheme in tr_schemes:
        if not TR_PLATE_RE.fullmatch(pid):
            r.err(_join(path, "id"), f"'{pid}' is not a Turkish plate (province 01-81, capital letters, digits: 34ABC123); "
                                     f"a foreign plate needs scheme {'YABANCIPLAKA' if scheme == 'PLAKA' else 'YABANCI' + scheme} [GİB {rule}]")
            return None
    elif not FOREIGN_PLATE_RE.fullmatch(pid):
        r.err(_join(path, "id"), f"'{pid}' may contain only capital letters, digits, '-' and '_' [GİB {rule}]")
        return None
    return Plate(id=pid, scheme=scheme)


def _driver(r: _Reader, raw: Any, path: str) -> Driver | None:
    d = r.obj(raw, path, _DRIVER_KEYS)
    if d is None:
        return None
    first = r.text(d, "first_name", path, required=True)
    last = r.text(d, "last_name", path, required=True)
    nid = r.text(d, "nationality_id", path, required=True)
    title = r.text(d, "title", path)
    if first is None or last is None or nid is None:
        return None
    return Driver(first_name=first, last_name=last, nationality_id=nid, title=title)


def _delivery_address(r: _Reader, raw: Any, path: str) -> Address | None:
    if raw is None:
        r.err(path, "is required: where the goods go (district, city, postal_code) [GİB DespatchAddressCheck]")
        return None
    addr = _address(r, raw, path)
    if addr is None:
        return None
    if addr.postal_code is None or not TR_POSTAL_RE.fullmatch(addr.postal_code):
        shown = "is required" if addr.postal_code is None else f"'{addr.postal_code}' is not"
        r.err(_join(path, "postal_code"),
              f"{shown} a Turkish postal code (5 digits, province 01-81) [GİB DespatchAddressCheck-4]")
        return None
    return addr


def _shipment(r: _Reader, raw: Any, path: str) -> Shipment | None:
    if raw is None:
        r.err(path, "is required (despatch date and time, delivery address, carrier or drivers)")
        return None
    d = r.obj(raw, path, _SHIPMENT_KEYS)
    if d is None:
        return None
    date = r.date(d, "despatch_date", path, required=True)
    time = r.time(d, "despatch_time", path)
    if time is None and d.get("despatch_time") is None:
        r.err(_join(path, "despatch_time"), "is required [GİB DespatchTimeCheck]")
    address = _delivery_address(r, d.get("delivery_address"), _join(path, "delivery_address"))
    carrier = _dparty(r, d.get("carrier"), _join(path, "carrier"))
    drivers = tuple(x for x in (_driver(r, v, p) for p, v in r.items(d, "drivers", path)) if x)
    vehicle = tuple(x for x in (
        _plate(r, v, p, codes.code_list("LicensePlateIDSchemeIDType"), "PLAKA",
               frozenset({"PLAKA"}), "LicensePlateIDSchemeIDCheck")
        for p, v in r.items(d, "vehicle_plates", path)) if x)
    trailer = tuple(x for x in (
        _plate(r, v, p, codes.code_list("TransportEquipmentIDSchemeIDType"), "DORSEPLAKA",
               frozenset({"DORSE", "DORSEPLAKA"}), "TransportEquipmentIDSchemeIDCheck")
        for p, v in r.items(d, "trailer_plates", path)) if x)
    if d.get("carrier") is None and not d.get("drivers"):
        r.err(_join(path, "carrier"), "a despatch names a carrier or at least one driver [GİB DespatchCarrierDriverCheck-1]")
    if d.get("drivers") and not d.get("vehicle_plates"):
        r.err(_join(path, "vehicle_plates"), "with drivers, the vehicle's plate is required [GİB LicensePlateIDCheck]")
    value = r.decimal(d, "goods_value", path, non_negative=True)
    currency = r.code(d, "currency", path, codes.currencies(), "currency") or "TRY"
    sid = r.text(d, "id", path)
    if sid is not None and not sid.strip():
        r.err(_join(path, "id"), "must not be empty (leave it out for none)")
    if date is None or time is None or address is None:
        return None
    return Shipment(despatch_date=date, despatch_time=time, delivery_address=address, carrier=carrier,
                    drivers=drivers, vehicle_plates=vehicle, trailer_plates=trailer, id=sid,
                    goods_value=value, currency=currency)


def _item_ids(r: _Reader, d: dict, path: str) -> tuple[tuple[str, str], ...]:
    raw = d.get("item_ids")
    if raw is None:
        return ()
    p = _join(path, "item_ids")
    if not isinstance(raw, Mapping):
        r.err(p, f"must be an object of scheme: value (or a list of values), got {_kind(raw)}")
        return ()
    allowed = codes.code_list("AdditionalItemIdentificationIDType") | _ITEM_SCHEMES_EXTRA
    out: list[tuple[str, str]] = []
    for scheme, value in raw.items():
        ip = f"{p}.{scheme}"
        if scheme not in allowed:
            r.err(ip, f"'{scheme}' is not an item identification scheme GİB knows ({', '.join(sorted(allowed))})")
            continue
        values = value if isinstance(value, list) else [value]
        if not values:
            r.err(ip, "must not be an empty list")
        for i, v in enumerate(values):
            vp = f"{ip}[{i}]" if isinstance(value, list) else ip
            if not isinstance(v, str) or not v.strip():
                r.err(vp, "must be a non-empty string")
            elif (bad := _control_char(v)) is not None:
                r.err(vp, f"contains control character U+{ord(bad):04X}")
            else:
                out.append((scheme, v))
    return tuple(out)


def _unit(r: _Reader, d: dict, path: str) -> str | None:
    return r.code(d, "unit", path, codes.units(), "unit code", required=True)


_LINE_ID_RE = re.compile(r"[0-9]+(\.[0-9]+)?")


def _line_id(r: _Reader, d: dict, path: str, number: int) -> str:
    v = r.text(d, "id", path)
    if v is None:
        return str(number)
    if not _LINE_ID_RE.fullmatch(v):
        r.err(_join(path, "id"), f"'{v}' must be a number (GİB reads it as one) [GİB DespatchLineIdCheck]")
    return v


def _dline(r: _Reader, raw: Any, path: str, number: int) -> DespatchLine | None:
    d = r.obj(raw, path, _DLINE_KEYS)
    if d is None:
        return None
    name = r.text(d, "name", path, required=True)
    qty = r.decimal(d, "quantity", path, required=True, non_negative=True)
    unit = _unit(r, d, path)
    out_q = r.decimal(d, "outstanding_quantity", path, non_negative=True)
    out_reason = r.text(d, "outstanding_reason", path)
    if out_reason is not None and out_q is None and d.get("outstanding_quantity") is None:
        r.err(_join(path, "outstanding_quantity"), "is required with outstanding_reason")
    over = r.decimal(d, "oversupply_quantity", path, non_negative=True)
    order_line = r.text(d, "order_line_id", path)
    if order_line is not None and not order_line.strip():
        r.err(_join(path, "order_line_id"), "must not be empty")
    order_line = order_line or str(number)
    line_id = _line_id(r, d, path, number)
    ids = _item_ids(r, d, path)
    notes = _strings(r, d, "notes", path)
    if name is None or qty is None or unit is None:
        return None
    return DespatchLine(
        name=name, quantity=qty, unit=unit, outstanding_quantity=out_q, outstanding_reason=out_reason,
        oversupply_quantity=over, order_line_id=order_line, id=line_id,
        description=r.text(d, "description", path), brand=r.text(d, "brand", path),
        model=r.text(d, "model", path), seller_code=r.text(d, "seller_code", path),
        buyer_code=r.text(d, "buyer_code", path), manufacturer_code=r.text(d, "manufacturer_code", path),
        item_ids=ids, notes=notes,
    )


def _despatch(r: _Reader, raw: Any) -> Despatch | None:
    d = r.obj(raw, "", _DESPATCH_KEYS)
    if d is None:
        return None
    _kind_key(r, d, "despatch")
    profile = r.code(d, "profile", "", codes.code_list("ProfileIDTypeDespatchAdvice"), "despatch profile", required=True)
    type_ = r.code(d, "type", "", codes.code_list("DespatchAdviceTypeCodeList"), "despatch type", required=True)
    doc_id, uid, issue_date = _header(r, d)
    issue_time = r.time(d, "issue_time", "")
    if issue_time is None and d.get("issue_time") is None:
        r.err("issue_time", "is required (a despatch advice carries its time of issue)")
    notes = _strings(r, d, "notes", "")
    supplier = _dparty(r, d.get("supplier"), "supplier", required=True)
    customer = _dparty(r, d.get("customer"), "customer", required=True)
    _person_names(r, supplier, "supplier")
    _person_names(r, customer, "customer")
    buyer = _dparty(r, d.get("buyer"), "buyer")
    seller = _dparty(r, d.get("seller"), "seller")
    originator = _dparty(r, d.get("originator"), "originator")
    shipment = _shipment(r, d.get("shipment"), "shipment")
    numbered = [(i - 1, x) for i, (p, v) in enumerate(r.items(d, "lines", "", required=True), 1)
                if (x := _dline(r, v, p, i)) is not None]  # (index in the JSON, line)
    lines = tuple(x for _, x in numbered)
    orders = _refs(r, d, "order_references")
    additional = _refs(r, d, "additional_references")
    if type_ == "MATBUDAN" and not additional and d.get("additional_references") is None:
        r.err("additional_references", "a MATBUDAN despatch names the printed despatch it replaces "
                                       "(id and issue_date) [GİB DespatchAdviceTypeCodeCheck-2]")
    said = {p.path for p in r.problems}  # a line whose item_ids were refused above is not told twice
    if profile == "HKSIRSALIYE":
        for i, ln in numbered:
            if any(x.startswith(f"lines[{i}].item_ids") for x in said):
                continue
            kunye = [v for s, v in ln.item_ids if s == "KUNYENO" and len(" ".join(v.split())) == _KUNYE_LEN]  # normalize-space
            if not kunye:
                r.err(f"lines[{i}].item_ids.KUNYENO", f"HKSIRSALIYE needs a {_KUNYE_LEN}-character HKS künye number on every line [GİB DespatchAdviceHKSKunyeCheck]")
    if profile == "IDISIRSALIYE":
        for i, ln in numbered:
            if any(x.startswith(f"lines[{i}].item_ids") for x in said):
                continue
            if not any(s == "ETIKETNO" and _ETIKET_RE.fullmatch(v) for s, v in ln.item_ids):
                r.err(f"lines[{i}].item_ids.ETIKETNO", "IDISIRSALIYE needs an İDİS label number on every line: "
                                                       "2 letters and 7 digits (AB1234567) [GİB DespatchIdisEtiketNoCheck]")
        if supplier is not None and "supplier.ids.SEVKIYATNO" not in said \
                and not any(s == "SEVKIYATNO" and _SEVKIYAT_RE.fullmatch(v) for s, v in supplier.ids):
            r.err("supplier.ids.SEVKIYATNO", "IDISIRSALIYE needs the İDİS shipment number SE-0000000 or ES-0000000 "
                                             "[GİB DespatchIdisSevkiyatNoCheck]")
    if r.problems:
        return None
    assert (profile and type_ and doc_id and issue_date and issue_time and supplier and customer and shipment)
    return Despatch(
        profile=profile, type=type_, id=doc_id, issue_date=issue_date, issue_time=issue_time,
        supplier=supplier, customer=customer, shipment=shipment, lines=lines, uuid=uid,
        buyer=buyer, seller=seller, originator=originator,
        supplier_contact=r.text(d, "supplier_contact", ""), customer_contact=r.text(d, "customer_contact", ""),
        notes=notes, order_references=orders, additional_references=additional,
    )


def _rline(r: _Reader, raw: Any, path: str, number: int) -> ReceiptLine | None:
    d = r.obj(raw, path, _RLINE_KEYS)
    if d is None:
        return None
    name = r.text(d, "name", path, required=True)
    unit = _unit(r, d, path)
    qs = {k: r.decimal(d, k, path, non_negative=True)
          for k in ("received_quantity", "rejected_quantity", "short_quantity", "oversupply_quantity")}
    if all(d.get(k) is None for k in qs):
        r.err(_join(path, "received_quantity"), "a receipt line gives at least one of received_quantity, "
                                                "rejected_quantity, short_quantity, oversupply_quantity")
    reason = r.text(d, "reject_reason", path)
    if reason is not None and d.get("rejected_quantity") is None:
        r.err(_join(path, "rejected_quantity"), "is required with reject_reason")
    dl = r.text(d, "despatch_line_id", path)
    if dl is not None and not dl.strip():
        r.err(_join(path, "despatch_line_id"), "must not be empty")
    dl = dl or str(number)
    line_id = _line_id(r, d, path, number)
    ol = r.text(d, "order_line_id", path)
    ids = _item_ids(r, d, path)
    notes = _strings(r, d, "notes", path)
    if name is None or unit is None:
        return None
    return ReceiptLine(name=name, unit=unit, reject_reason=reason, despatch_line_id=dl, order_line_id=ol, id=line_id,
                       timing_complaint=r.text(d, "timing_complaint", path),
                       seller_code=r.text(d, "seller_code", path), buyer_code=r.text(d, "buyer_code", path),
                       item_ids=ids, notes=notes, **qs)


def _receipt(r: _Reader, raw: Any) -> Receipt | None:
    d = r.obj(raw, "", _RECEIPT_KEYS)
    if d is None:
        return None
    _kind_key(r, d, "receipt")
    profile = r.code(d, "profile", "", codes.code_list("ProfileIDTypeDespatchAdvice"), "despatch profile") or "TEMELIRSALIYE"
    type_ = r.code(d, "type", "", codes.code_list("ReceiptAdviceTypeCodeList"), "receipt type") or "SEVK"
    doc_id, uid, issue_date = _header(r, d)
    issue_time = r.time(d, "issue_time", "")
    notes = _strings(r, d, "notes", "")
    despatch = None
    raw_desp = d.get("despatch")
    if raw_desp is None:
        r.err("despatch", "is required: the despatch answered (its uuid and issue_date, optionally its id)")
    else:
        dd = r.obj(raw_desp, "despatch", _DESPATCH_REF_KEYS)
        if dd is not None:
            duid = r.text(dd, "uuid", "despatch", required=True)
            if duid is not None and not UUID_RE.fullmatch(duid):
                r.err("despatch.uuid", f"'{duid}' is not a UUID: DespatchDocumentReference carries the despatch's ETTN")
                duid = None
            ddate = r.date(dd, "issue_date", "despatch", required=True)
            did = r.text(dd, "id", "despatch")
            if did is not None and not ID_RE.fullmatch(did):
                r.err("despatch.id", f"'{did}' is not a document number (ABC2026000000001)")
            if duid and ddate:
                despatch = DespatchReference(uuid=duid, issue_date=ddate, id=did)
    supplier = _dparty(r, d.get("supplier"), "supplier", required=True)
    customer = _dparty(r, d.get("customer"), "customer", required=True)
    _person_names(r, supplier, "supplier")
    _person_names(r, customer, "customer")
    buyer = _dparty(r, d.get("buyer"), "buyer")
    seller = _dparty(r, d.get("seller"), "seller")
    ddate2 = r.date(d, "delivery_date", "")
    dtime = r.time(d, "delivery_time", "")
    if dtime is not None and ddate2 is None:
        r.err("delivery_date", "is required with delivery_time")
    lines = tuple(x for x in (_rline(r, v, p, i) for i, (p, v) in enumerate(r.items(d, "lines", "", required=True), 1)) if x)
    orders = _refs(r, d, "order_references")
    if r.problems:
        return None
    assert doc_id and issue_date and despatch and supplier and customer
    return Receipt(id=doc_id, issue_date=issue_date, despatch=despatch, supplier=supplier, customer=customer,
                   lines=lines, profile=profile, type=type_, issue_time=issue_time, uuid=uid, buyer=buyer,
                   seller=seller, delivery_date=ddate2, delivery_time=dtime, notes=notes, order_references=orders)


# -------------------------------------------------------------------------- dump

def to_dict(doc: Despatch | Receipt) -> dict[str, Any]:
    """The neutral JSON shape of a despatch or receipt (decimals as strings, defaults
    omitted, ``document`` set): ``load_document(to_dict(x)) == x``."""
    out = {"document": "despatch" if isinstance(doc, Despatch) else "receipt"}
    out.update(_dump_doc(doc))
    return out


def _dump_doc(obj: Any) -> Any:
    if isinstance(obj, (DespatchLine, ReceiptLine)):
        d: dict[str, Any] = {}
        for f in fields(obj):
            v = getattr(obj, f.name)
            if v is None or v == ():
                continue
            if f.name == "item_ids":
                grouped: dict[str, list[str]] = {}
                for s, val in v:
                    grouped.setdefault(s, []).append(val)
                d[f.name] = {s: (vals[0] if len(vals) == 1 else vals) for s, vals in grouped.items()}
            else:
                d[f.name] = _dump(v)
        return d
    if isinstance(obj, Party):
        return _dump(obj)
    if isinstance(obj, tuple):
        return [_dump_doc(x) for x in obj]
    if hasattr(obj, "__dataclass_fields__"):
        d = {}
        for f in fields(obj):
            v = getattr(obj, f.name)
            if v is None or v == () or (f.default is not None and not callable(f.default) and v == f.default
                                          and isinstance(f.default, str)):
                continue
            d[f.name] = _dump_doc(v)
        return d
    return _dump(obj)

