"""The neutral invoice: frozen dataclasses and the loader that builds them.

``load(data)`` accepts a dict (or JSON text / bytes) shaped as
``../shared/spec/neutral-invoice.md`` describes and returns an :class:`Invoice`.
Every problem in the input is collected and raised at once as
:class:`InvoiceInputError`, each with the JSON path it concerns
(``lines[2].taxes[0].percent: ...``).  Amounts are ``Decimal`` from the first byte:
JSON numbers are read from their text, never through ``float``.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import uuid as _uuid
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from . import codes

__all__ = [
    "Address", "Party", "Tax", "Withholding", "Exemption", "AllowanceCharge",
    "Package", "LineDelivery", "Line", "DocumentReference", "Payment", "Delivery",
    "Carrier", "InternetSale", "EArchive", "Period", "Invoice", "InputProblem",
    "InvoiceInputError", "load", "loads", "to_dict", "vkn_valid", "tckn_valid", "UNIDENTIFIED_TCKN",
]

# --------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class Address:
    district: str
    city: str
    street: str | None = None
    building_number: str | None = None
    postal_code: str | None = None
    country: str = "Türkiye"
    country_code: str = "TR"
    room: str | None = None           # cbc:Room (kapı no)
    block_name: str | None = None     # cbc:BlockName (blok)
    building_name: str | None = None  # cbc:BuildingName (bina adı)
    region: str | None = None         # cbc:Region (semt / bölge)


@dataclass(frozen=True, slots=True)
class Party:
    address: Address
    vkn: str | None = None
    tckn: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    tax_office: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    ids: tuple[tuple[str, str], ...] = ()
    alias: str | None = None
    fax: str | None = None  # Contact/Telefax

    @property
    def tax_id(self) -> str:
        return self.vkn or self.tckn or ""

    @property
    def tax_id_scheme(self) -> str:
        return "VKN" if self.vkn else "TCKN"

    @property
    def display_name(self) -> str:
        if self.name:
            return self.name
        return " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True, slots=True)
class Tax:
    """A tax on a line: by ``percent`` of its base, or a per-unit ``amount``.

    ``base``: a stated taxable amount instead of the line's own (özel matrah: KDV on a
    special base, KDV Kanunu md. 23); with ``percent`` only."""

    code: str
    percent: Decimal | None = None
    amount: Decimal | None = None
    base: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Withholding:
    code: str
    percent: Decimal


@dataclass(frozen=True, slots=True)
class Exemption:
    code: str
    reason: str | None = None


def default_exemption_reason(code: str) -> str:
    """The TaxExemptionReason text written when an exemption has no reason of its own
    (GİB requires a non-empty one); ``parse`` reads it back as "no reason"."""
    return f"{code} kodlu KDV istisnası"


@dataclass(frozen=True, slots=True)
class AllowanceCharge:
    """An allowance (``is_charge=False``) or charge; by ``amount`` or ``rate`` (percent).

    ``base``: with ``rate``, the amount the rate applies to when it is not the line's
    quantity × price (cascaded discounts: 20 % then 18 % of what is left, ...)."""

    is_charge: bool
    amount: Decimal | None = None
    rate: Decimal | None = None
    reason: str | None = None
    base: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Package:
    kind: str
    count: Decimal | None = None


@dataclass(frozen=True, slots=True)
class LineDelivery:
    incoterms: str | None = None
    gtip: str | None = None
    package: Package | None = None
    transport_mode: str | None = None
    address: Address | None = None


@dataclass(frozen=True, slots=True)
class Line:
    name: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    taxes: tuple[Tax, ...]
    description: str | None = None
    code: str | None = None
    brand: str | None = None
    model: str | None = None
    allowances: tuple[AllowanceCharge, ...] = ()
    charges: tuple[AllowanceCharge, ...] = ()
    withholding: Withholding | None = None
    exemption: Exemption | None = None
    delivery: LineDelivery | None = None
    item_ids: tuple[tuple[str, str], ...] = ()   # AdditionalItemIdentification by scheme (KUNYENO, ILAC, ...)
    classification: str | None = None            # CommodityClassification/ItemClassificationCode
    product_trace_id: str | None = None          # ItemInstance/ProductTraceID
    serial_id: str | None = None                 # ItemInstance/SerialID
    notes: tuple[str, ...] = ()                  # InvoiceLine/Note, in order


@dataclass(frozen=True, slots=True)
class DocumentReference:
    id: str
    issue_date: _dt.date
    scheme: str | None = None       # cbc:ID/@schemeID (YTBNO, ESURaporID, ...)
    type_code: str | None = None    # cbc:DocumentTypeCode


@dataclass(frozen=True, slots=True)
class Period:
    start_date: _dt.date
    end_date: _dt.date
    start_time: _dt.time | None = None
    end_time: _dt.time | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    means_code: str | None = None
    due_date: _dt.date | None = None
    iban: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    incoterms: str | None = None
    address: Address | None = None
    transport_mode: str | None = None


@dataclass(frozen=True, slots=True)
class Carrier:
    vkn: str
    name: str


@dataclass(frozen=True, slots=True)
class InternetSale:
    web_address: str
    payment_type: str
    payment_date: _dt.date
    carrier: Carrier | None = None


@dataclass(frozen=True, slots=True)
class EArchive:
    send_type: str = "ELEKTRONIK"
    internet_sale: InternetSale | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    profile: str
    type: str
    issue_date: _dt.date
    supplier: Party
    customer: Party
    lines: tuple[Line, ...]
    id: str | None = None
    series: str | None = None
    uuid: str | None = None
    issue_time: _dt.time | None = None
    currency: str = "TRY"
    exchange_rate: Decimal | None = None
    notes: tuple[str, ...] = ()
    buyer_customer: Party | None = None
    tax_representative: Party | None = None
    allowances: tuple[AllowanceCharge, ...] = ()
    charges: tuple[AllowanceCharge, ...] = ()
    billing_references: tuple[DocumentReference, ...] = ()
    order_reference: DocumentReference | None = None
    despatch_references: tuple[DocumentReference, ...] = ()
    payment: Payment | None = None
    delivery: Delivery | None = None
    earchive: EArchive | None = None
    rounding: Decimal = Decimal("0")
    invoice_period: Period | None = None
    contract_reference: DocumentReference | None = None
    additional_references: tuple[DocumentReference, ...] = ()

    def with_identity(self, *, id: str | None = None, uuid: str | None = None) -> "Invoice":
        """A copy with ``id`` / ``uuid`` filled (a fresh UUID4 when neither has one);
        ``self`` when that changes nothing (the invoice is immutable, so no copy is needed)."""
        new_id = id or self.id
        new_uuid = uuid or self.uuid or str(_uuid.uuid4())
        if new_id == self.id and new_uuid == self.uuid:
            return self
        return replace(self, id=new_id, uuid=new_uuid)


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True, slots=True)
class InputProblem:
    path: str
    message: str

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return text if text.isascii() else _printable(text)


class InvoiceInputError(ValueError):
    """Raised by :func:`load` with *every* problem of the input, each with its path."""

    def __init__(self, problems: Iterable[InputProblem]):
        self.problems: tuple[InputProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --------------------------------------------------------------------------- checks


def vkn_valid(vkn: str) -> bool:
    """GİB's checksum for a 10-digit vergi kimlik numarası."""
    if not re.fullmatch(r"\d{10}", vkn or ""):
        return False
    digits = [int(c) for c in vkn]
    total = 0
    for i in range(9):
        tmp = (digits[i] + 9 - i) % 10
        if tmp == 0:
            v = 0
        else:
            v = (tmp * 2 ** (9 - i)) % 9
            if v == 0:
                v = 9
        total += v
    return (10 - total % 10) % 10 == digits[9]


def tckn_valid(tckn: str) -> bool:
    """The checksum of an 11-digit T.C. kimlik numarası."""
    if not re.fullmatch(r"[1-9]\d{10}", tckn or ""):
        return False
    d = [int(c) for c in tckn]
    if ((sum(d[0:9:2]) * 7 - sum(d[1:8:2])) % 10) != d[9]:
        return False
    return sum(d[:10]) % 10 == d[10]


# --------------------------------------------------------------------------- JSON


class _BadNumber:
    """A JSON number we refuse (exponent, NaN, Infinity); reported at its path."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


class _JsonNumber(str):
    """The exact text of a JSON number, so that 0.1 stays 0.1."""


#: the largest JSON document :func:`parse_json` reads
MAX_JSON_BYTES = 64 * 1024 * 1024


def loads(text: str | bytes) -> "Invoice":
    """Parse JSON text and :func:`load` it."""
    return load(parse_json(text))


def parse_json(text: str | bytes) -> Any:
    """JSON → Python with numbers kept as their exact text (never ``float``)."""
    if len(text) > MAX_JSON_BYTES:
        raise InvoiceInputError([InputProblem("", f"input is larger than {MAX_JSON_BYTES} bytes")])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvoiceInputError([InputProblem(
                "", f"not UTF-8 text (byte {exc.start}: {text[exc.start:exc.start + 1]!r}); save the JSON as UTF-8")]) from None
    try:
        return json.loads(
            text,
            parse_float=_number_hook,
            parse_int=_number_hook,
            parse_constant=_BadNumber,
        )
    except json.JSONDecodeError as exc:
        raise InvoiceInputError(
            [InputProblem("", f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")]
        ) from None
    except RecursionError:
        raise InvoiceInputError([InputProblem("", "JSON nested too deeply")]) from None


def _number_hook(text: str) -> Any:
    if "e" in text or "E" in text:
        return _BadNumber(text)
    return _JsonNumber(text)


_DECIMAL_RE = re.compile(r"-?\d+(\.\d+)?")
_PLAIN_DECIMAL_RE = re.compile(r"\d{1,15}(\.\d+)?")  # non-negative, within the digit limit
_MAX_INT_DIGITS = 15
#: GİB's decimalCheck-1 (as its rules run it): at most 17 digits before the point
MAX_AMOUNT_DIGITS = 17
MAX_AMOUNT = Decimal(10) ** MAX_AMOUNT_DIGITS


class _Reader:
    """Walks the input dict, collecting problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[InputProblem] = []

    def err(self, path: str, message: str) -> None:
        self.problems.append(InputProblem(path, message))

    # -- primitives
    def obj(self, value: Any, path: str, allowed: Iterable[str]) -> dict | None:
        if type(value) is not dict:
            if not isinstance(value, Mapping):
                self.err(path, f"must be an object, got {_kind(value)}")
                return None
            value = dict(value)
        extra = value.keys() - allowed
        if extra:
            allowed = set(allowed)
            for key in value:  # in input order
                if key in extra:
                    hint = _close(key, allowed) if isinstance(key, str) else None
                    self.err(_join(path, str(key)), "unknown key" + (f" (did you mean '{hint}'?)" if hint else ""))
        return value

    def text(self, d: dict, key: str, path: str, required: bool = False,
             max_len: int | None = None) -> str | None:
        v = d.get(key)
        if type(v) is str and max_len is None and _CTRL_RE.search(v) is None and (not required or v.strip()):
            return v  # the common case, without building the path
        if v is None:  # the next most common case: an optional key left out
            if required:
                self.err(_join(path, key), "is required")
            return None
        p = _join(path, key)
        if isinstance(v, (_JsonNumber,)):
            v = str(v)
        if not isinstance(v, str):
            self.err(p, f"must be a string, got {_kind(v)}")
            return None
        bad = _control_char(v)
        if bad is not None:
            self.err(p, _bad_char_message(bad))
            return None
        if required and not v.strip():
            self.err(p, "must not be empty")
            return None
        if max_len is not None and len(v) > max_len:
            self.err(p, f"is {len(v)} characters long, at most {max_len} allowed")
        return v

    def decimal(self, d: dict, key: str, path: str, required: bool = False,
                positive: bool = False, non_negative: bool = False,
                allow_negative: bool = False) -> Decimal | None:
        v = d.get(key)
        if (type(v) is str or type(v) is _JsonNumber) and _PLAIN_DECIMAL_RE.fullmatch(v):
            out = Decimal(v)  # the common case: plain digits, at most 15 before the point, >= 0
            if not positive or out > 0:
                return out
        if v is None:
            if required:
                self.err(_join(path, key), "is required")
            return None
        p = _join(path, key)
        value = self.decimal_value(v, p)
        if value is None:
            return None
        out = value
        if positive and out <= 0:
            self.err(p, f"must be greater than 0, got {v}")
            return None
        if (non_negative or not allow_negative) and out < 0 and not positive:
            self.err(p, f"must not be negative, got {v}")
            return None
        return out

    def decimal_value(self, v: Any, p: str) -> Decimal | None:
        if isinstance(v, _BadNumber):
            self.err(p, f"number {v.text} is not allowed (exponents, NaN and Infinity are refused; write the digits out)")
            return None
        if isinstance(v, bool) or not isinstance(v, (str, int, Decimal)):
            self.err(p, f"must be a decimal string such as \"1250.50\", got {_kind(v)}")
            return None
        if isinstance(v, float):  # pragma: no cover - guarded above
            self.err(p, "floats are refused")
            return None
        s = str(v).strip() if not isinstance(v, Decimal) else str(v)
        if isinstance(v, Decimal) and not v.is_finite():
            self.err(p, f"{v} is not a finite number")
            return None
        if not _DECIMAL_RE.fullmatch(s):
            if "," in s:
                why = "thousands separators and decimal commas are refused; write 1250.50"
            elif "e" in s.lower():
                why = "exponents are refused; write the digits out"
            else:
                why = "must be a decimal number such as \"1250.50\""
            self.err(p, f"'{s}': {why}")
            return None
        int_digits = len(s.lstrip("-").split(".")[0].lstrip("0"))
        if int_digits > _MAX_INT_DIGITS:
            self.err(p, f"'{s}' has more than {_MAX_INT_DIGITS} integer digits")
            return None
        try:
            return Decimal(s)
        except InvalidOperation:  # pragma: no cover - regex guards it
            self.err(p, f"'{s}' is not a number")
            return None

    def date(self, d: dict, key: str, path: str, required: bool = False) -> _dt.date | None:
        p = _join(path, key)
        s = self.text(d, key, path, required)
        if s is None:
            return None
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
            self.err(p, f"'{s}' must be a date YYYY-MM-DD")
            return None
        try:
            return _dt.date.fromisoformat(s)
        except ValueError:
            self.err(p, f"'{s}' is not a real calendar date")
            return None

    def time(self, d: dict, key: str, path: str) -> _dt.time | None:
        p = _join(path, key)
        s = self.text(d, key, path)
        if s is None:
            return None
        if not re.fullmatch(r"\d{2}:\d{2}:\d{2}", s):
            self.err(p, f"'{s}' must be a time HH:MM:SS")
            return None
        try:
            return _dt.time.fromisoformat(s)
        except ValueError:
            self.err(p, f"'{s}' is not a real time of day")
            return None

    def code(self, d: dict, key: str, path: str, allowed: frozenset[str], what: str,
             required: bool = False) -> str | None:
        s = self.text(d, key, path, required)
        if s is None:
            return None
        if s not in allowed:
            hint = _close(s, allowed)
            self.err(_join(path, key), f"'{s}' is not a {what} in GİB's code list"
                     + (f" (did you mean '{hint}'?)" if hint else ""))
            return None
        return s

    def items(self, d: dict, key: str, path: str, required: bool = False) -> list[tuple[str, Any]]:
        v = d.get(key)
        if v is None:
            if required:
                self.err(_join(path, key), "is required")
            return []
        p = _join(path, key)
        if not isinstance(v, list):
            self.err(p, f"must be a list, got {_kind(v)}")
            return []
        if required and not v:
            self.err(p, "must contain at least one entry")
        return [(f"{p}[{i}]", item) for i, item in enumerate(v)]


def _join(path: str, key: str) -> str:
    if not key.isascii():
        key = _printable(key)
    return f"{path}.{key}" if path else key


def _printable(s: str) -> str:
    """``s`` with what cannot be printed as UTF-8 (lone surrogates, control characters)
    written as \\uXXXX, so that an error message naming it can always be printed."""
    if _CTRL_RE.search(s) is None:
        return s
    return _CTRL_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", s)


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, (_JsonNumber, int, Decimal)):
        return "a number"
    if isinstance(v, _BadNumber):
        return f"the number {v.text}"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, Mapping):
        return "an object"
    return type(v).__name__


def _close(word: str, options: Iterable[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(word, list(options), n=1, cutoff=0.75)
    return found[0] if found else None


# control characters XML 1.0 cannot carry, U+FFFE/U+FFFF, and lone surrogates (not
# characters at all: UTF-8 cannot encode them, so they would fail in build or print)
_CTRL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _bad_char_message(ch: str) -> str:
    if "\ud800" <= ch <= "\udfff":
        return f"contains a lone surrogate U+{ord(ch):04X}, which is not a character (UTF-8 and XML cannot carry it)"
    return f"contains control character U+{ord(ch):04X}, which XML 1.0 cannot carry"


def _control_char(s: str) -> str | None:
    m = _CTRL_RE.search(s)
    return m.group(0) if m else None


# --------------------------------------------------------------------------- loader


def _turkey_today() -> _dt.date:
    """Today's date in Turkey (UTC+03:00, no daylight saving since 2016)."""
    return (_dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(hours=3)).date()


_DOC_KEYS = {
    "profile", "type", "id", "series", "uuid", "issue_date", "issue_time", "currency",
    "exchange_rate", "notes", "supplier", "customer", "buyer_customer",
    "tax_representative", "lines", "allowances", "charges", "billing_references",
    "order_reference", "despatch_references", "payment", "delivery", "earchive",
    "rounding", "invoice_period", "contract_reference", "additional_references",
}
_PARTY_KEYS = {"vkn", "tckn", "name", "first_name", "last_name", "tax_office", "address",
               "email", "phone", "website", "ids", "alias", "fax"}
_ADDRESS_KEYS = {"street", "building_number", "district", "city", "postal_code", "country",
                 "country_code", "room", "block_name", "building_name", "region"}
_LINE_KEYS = {"name", "description", "code", "brand", "model", "quantity", "unit",
              "unit_price", "allowances", "charges", "taxes", "withholding", "exemption",
              "delivery", "item_ids", "classification", "product_trace_id", "serial_id", "notes"}
_TAX_KEYS = frozenset({"code", "percent", "amount", "base"})
# AdditionalItemIdentification schemes: GİB's list plus ETIKETNO (IDIS, GİB IdisEtiketNoCheck-1)
_ITEM_ID_SCHEMES_EXTRA = frozenset({"ETIKETNO"})

ID_RE = re.compile(r"[A-Z0-9]{3}20\d{2}\d{9}")
UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

# invoice types whose lines may carry 0 % KDV without an exemption reason
# (GİB TaxExemptionReasonCheck-1)
_ZERO_KDV_WITHOUT_REASON = {"IADE", "TEVKIFATIADE", "YTBIADE", "YTBTEVKIFATIADE",
                            "IHRACKAYITLI", "OZELMATRAH", "SGK", "KONAKLAMAVERGISI"}
# GİB: a TaxTypeCode 4171 (ÖTV tevkifatı) only on these invoice types
_OTV_WITHHOLDING_TYPES = frozenset({"TEVKIFAT", "IADE", "SGK", "YTBIADE"})
RETURN_TYPES = frozenset({"IADE", "TEVKIFATIADE", "YTBIADE", "YTBTEVKIFATIADE"})
WITHHOLDING_TYPES = frozenset({"TEVKIFAT", "TEVKIFATIADE", "YTBTEVKIFAT", "YTBTEVKIFATIADE", "SGK"})


def load(data: Mapping[str, Any] | str | bytes) -> Invoice:
    """Turn a neutral-invoice dict (or JSON text) into an :class:`Invoice`.

    Raises :class:`InvoiceInputError` listing every problem with its JSON path.
    """
    if isinstance(data, (str, bytes)):
        data = parse_json(data)
    r = _Reader()
    inv = _invoice(r, data)
    if r.problems:
        raise InvoiceInputError(r.problems)
    assert inv is not None
    return inv


def _invoice(r: _Reader, raw: Any) -> Invoice | None:
    d = r.obj(raw, "", _DOC_KEYS)
    if d is None:
        return None
    profile = r.code(d, "profile", "", codes.profiles(), "profile", required=True)
    type_ = r.code(d, "type", "", codes.invoice_types(), "invoice type", required=True)
    if profile and type_ and not codes.type_allowed(profile, type_):
        allowed = ", ".join(sorted(codes.profile_types().get(profile, ())))
        r.err("type", f"GİB does not allow type {type_} in profile {profile} (allowed: {allowed})")

    inv_id = r.text(d, "id", "")
    if inv_id is not None and not ID_RE.fullmatch(inv_id):
        r.err("id", f"'{inv_id}' must be 16 characters: 3-character series, 4-digit year, 9-digit sequence (ABC2026000000001)")
    series = r.text(d, "series", "")
    if series is not None and not re.fullmatch(r"[A-Z0-9]{3}", series):
        r.err("series", f"'{series}' must be 3 capital letters or digits")
    uid = r.text(d, "uuid", "")
    if uid is not None and not UUID_RE.fullmatch(uid):
        r.err("uuid", f"'{uid}' is not a UUID (8-4-4-4-12 hexadecimal digits)")
    issue_date = r.date(d, "issue_date", "", required=True)
    if inv_id and issue_date and ID_RE.fullmatch(inv_id) and inv_id[3:7] != f"{issue_date.year:04d}":
        r.err("id", f"the year in '{inv_id}' ({inv_id[3:7]}) differs from issue_date's year ({issue_date.year})")
    if issue_date is not None:
        today = _turkey_today()
        if issue_date > today:
            r.err("issue_date", f"{issue_date} is after today ({today}, Turkey time); GİB refuses future invoices (TimeCheck-1)")
        elif issue_date < _dt.date(2005, 1, 1):
            r.err("issue_date", f"{issue_date} is before 2005-01-01, GİB's earliest invoice date")
    issue_time = r.time(d, "issue_time", "")
    currency = r.code(d, "currency", "", codes.currencies(), "currency") or "TRY"
    rate = r.decimal(d, "exchange_rate", "", positive=True)
    if currency != "TRY" and rate is None and d.get("exchange_rate") is None:  # (a bad value: reported above)
        r.err("exchange_rate", f"is required when currency is {currency} (TRY per 1 {currency})")
    notes = []
    for p, n in r.items(d, "notes", ""):
        if not isinstance(n, str):
            r.err(p, f"must be a string, got {_kind(n)}")
        elif (bad := _control_char(n)) is not None:
            r.err(p, _bad_char_message(bad))
        else:
            notes.append(n)

    supplier = _party(r, d.get("supplier"), "supplier", required=True)
    customer = _party(r, d.get("customer"), "customer", required=True,
                      unidentified_ok=profile == "EARSIVFATURA")
    foreign_buyer = profile in {"IHRACAT", "YOLCUBERABERFATURA"}
    buyer = _party(r, d.get("buyer_customer"), "buyer_customer", tax_id_required=not foreign_buyer)
    taxrep = _party(r, d.get("tax_representative"), "tax_representative")

    lines = []
    for p, raw_line in r.items(d, "lines", "", required=True):
        ln = _line(r, raw_line, p, type_)
        if ln is not None:
            lines.append(ln)

    allowances = tuple(_allowance(r, x, p, False) for p, x in r.items(d, "allowances", ""))
    charges = tuple(_allowance(r, x, p, True) for p, x in r.items(d, "charges", ""))
    billing = tuple(x for x in (_docref(r, x, p) for p, x in r.items(d, "billing_references", "")) if x)
    if type_ in RETURN_TYPES and not billing:
        r.err("billing_references", f"a {type_} invoice must name the invoices it returns")
    order = _docref(r, d.get("order_reference"), "order_reference") if d.get("order_reference") is not None else None
    despatch = tuple(x for x in (_docref(r, x, p) for p, x in r.items(d, "despatch_references", "")) if x)
    payment = _payment(r, d.get("payment"), "payment", profile)
    delivery = _delivery(r, d.get("delivery"), "delivery")
    earchive = _earchive(r, d.get("earchive"), "earchive")
    rounding = r.decimal(d, "rounding", "", allow_negative=True)
    period = _period(r, d.get("invoice_period"), "invoice_period")
    contract = (_docref(r, d["contract_reference"], "contract_reference", extended=True)
                if d.get("contract_reference") is not None else None)
    additional = tuple(x for x in (_docref(r, x, p, extended=True)
                                   for p, x in r.items(d, "additional_references", "")) if x)

    _profile_rules(r, profile, type_, customer, buyer, taxrep, lines, delivery, earchive, payment,
                   supplier_office_missing=supplier is not None and not supplier.tax_office)
    _sector_rules(r, profile, type_, supplier, customer, lines, period, contract, additional)
    if r.problems:
        return None
    # every required field that is None has recorded a problem above
    assert (profile is not None and type_ is not None and issue_date is not None and supplier is not None
            and customer is not None)
    return Invoice(
        profile=profile, type=type_, issue_date=issue_date, supplier=supplier,
        customer=customer, lines=tuple(lines), id=inv_id, series=series, uuid=uid,
        issue_time=issue_time, currency=currency, exchange_rate=rate, notes=tuple(notes),
        buyer_customer=buyer, tax_representative=taxrep, allowances=allowances,
        charges=charges, billing_references=billing, order_reference=order,
        despatch_references=despatch, payment=payment, delivery=delivery,
        earchive=earchive, rounding=rounding if rounding is not None else Decimal("0"),
        invoice_period=period, contract_reference=contract, additional_references=additional,
    )


def _profile_rules(r: _Reader, profile, type_, customer, buyer, taxrep, lines, delivery,
                   earchive, payment, supplier_office_missing=False) -> None:
    if profile == "EARSIVFATURA" and earchive is None:
        r.err("earchive", "is required for EARSIVFATURA (send_type ELEKTRONIK or KAGIT)")
    if profile != "EARSIVFATURA" and earchive is not None:
        r.err("earchive", f"applies only to EARSIVFATURA, not {profile}")
    if profile in {"IHRACAT", "YOLCUBERABERFATURA"} and buyer is None:
        r.err("buyer_customer", f"is required for {profile} (the foreign buyer / passenger)")
    if profile == "IHRACAT" and supplier_office_missing:
        r.err("supplier.tax_office", "is required for IHRACAT (GİB PartyVDCheck-1)")
    if profile == "YOLCUBERABERFATURA" and buyer is not None and not dict(buyer.ids).get("PASAPORTNO"):
        r.err("buyer_customer.ids.PASAPORTNO", "is required for YOLCUBERABERFATURA (the passenger's passport number)")
    if profile == "IHRACAT" and buyer is not None and not buyer.name:
        r.err("buyer_customer.name", "is required for IHRACAT (PartyLegalEntity/RegistrationName)")
    if profile == "YOLCUBERABERFATURA" and taxrep is None:
        r.err("tax_representative", "is required for YOLCUBERABERFATURA (the intermediary: vkn and alias)")
    if profile == "YOLCUBERABERFATURA" and taxrep is not None and not taxrep.alias:
        r.err("tax_representative.alias", "is required for YOLCUBERABERFATURA (ARACIKURUMETIKET)")
    if profile == "KAMU" and buyer is None:
        r.err("buyer_customer", "is required for KAMU (the public body that pays)")
    if profile == "KAMU" and (payment is None or not payment.iban):
        r.err("payment.iban", "is required for KAMU (the payee account, a Turkish IBAN)")
    if profile == "IHRACAT":
        for i, ln in enumerate(lines):
            dl = ln.delivery
            base = f"lines[{i}].delivery"
            inc = (dl and dl.incoterms) or (delivery and delivery.incoterms)
            if not inc:
                r.err(base + ".incoterms", "is required for IHRACAT (here or in the document's delivery)")
            if not (dl and dl.gtip):
                r.err(base + ".gtip", "is required for IHRACAT (12-digit GTİP customs code)")
            if not ((dl and dl.transport_mode) or (delivery and delivery.transport_mode)):
                r.err(base + ".transport_mode", "is required for IHRACAT (here or in the document's delivery)")
            if not ((dl and dl.address) or (delivery and delivery.address)):
                r.err(base + ".address", "is required for IHRACAT (here or in the document's delivery)")
            if not (dl and dl.package):
                r.err(base + ".package", "is required for IHRACAT ({\"kind\": ..., \"count\": ...})")


def _sector_rules(r: _Reader, profile, type_, supplier, customer, lines, period, contract,
                  additional) -> None:
    """What GİB's sector profiles need (HKS, ILAC_TIBBICIHAZ, IDIS, YATIRIMTESVIK, ENERJI,
    TEKNOLOJIDESTEK), said in terms of the neutral JSON; GİB's rule ids in brackets."""
    def need_item_id(schemes: set[str], what: str, rule: str, check=lambda v: True) -> None:
        for i, ln in enumerate(lines):
            ids = dict(ln.item_ids)
            if not any(k in ids and check(ids[k]) for k in schemes):
                r.err(f"lines[{i}].item_ids", f"{profile}/{type_} needs {what} [{rule}]")

    if profile == "HKS":
        need_item_id({"KUNYENO"}, "a 19-character KUNYENO", "HKSInvioceCheck-1", lambda v: len(v.strip()) == 19)
    if profile == "ILAC_TIBBICIHAZ":
        need_item_id({"ILAC", "TIBBICIHAZ", "DIGER"}, "an ILAC, TIBBICIHAZ or DIGER id",
                     "IlacTibbiCihazAdditionalItemIdentificationCheck-1")
    if profile == "IDIS":
        need_item_id({"ETIKETNO"}, "an ETIKETNO of 2 letters and 7 digits", "IdisEtiketNoCheck-1",
                     lambda v: bool(re.fullmatch(r"[A-Za-z]{2}\d{7}", v)))
        sev = [v for p_ in (supplier, customer) if p_ for k, v in p_.ids if k == "SEVKIYATNO"]
        if not any(re.fullmatch(r"(SE|ES)-\d{7}", v) for v in sev):
            r.err("supplier.ids.SEVKIYATNO", "IDIS needs a shipment number SE-0000000 or ES-0000000 [IdisSevkiyatNoCheck-1]")
    if type_ == "TEKNOLOJIDESTEK":
        need_item_id({"TELEFON", "TABLET_PC"}, "a TELEFON or TABLET_PC id", "TeknolojiDestekAdditionalItemIdentificationCheck-1")
        if customer is not None and not customer.tckn:
            r.err("customer.tckn", "TEKNOLOJIDESTEK needs a customer with a TCKN [PartyIdentificationTEKNOLOJIDESTEKCheck-1]")
    if profile == "YATIRIMTESVIK" or (type_ or "").startswith("YTB"):
        if contract is None or contract.scheme != "YTBNO" or not re.fullmatch(r"\d{6}", contract.id):
            r.err("contract_reference", "YATIRIMTESVIK needs {\"id\": <6-digit incentive number>, \"scheme\": \"YTBNO\", \"issue_date\": ...} [YatirimTesvikContractDocumentReferenceIDCheck-1]")
        allowed = codes.code_list("YatirimTesvikItemClassificationCodeList")
        for i, ln in enumerate(lines):
            if ln.classification not in allowed:
                r.err(f"lines[{i}].classification", f"YATIRIMTESVIK needs a spending type ({', '.join(sorted(allowed))}) [YatirimTesvikItemClassificationCodeCheck-1]")
            elif ln.classification == "01" and not (ln.model and ln.product_trace_id and ln.serial_id):
                r.err(f"lines[{i}]", "spending type 01 (machinery) needs model, product_trace_id and serial_id [YatirimTesvikItemInstanceCheck-1]")
    if type_ in {"SARJ", "SARJANLIK"}:
        if period is None or period.start_time is None or period.end_time is None:
            r.err("invoice_period", f"{type_} needs start_date, start_time, end_date and end_time [EnerjiInvoicePeriodCheck-1]")
        if customer is not None and not any(k == "PLAKA" for k, _ in customer.ids):
            r.err("customer.ids.PLAKA", f"{type_} needs the vehicle plate [EnerjiPartyIdentificationPlakaCheck-1]")
        if type_ == "SARJ" and not any(a.scheme == "ESURaporID" and UUID_RE.fullmatch(a.id) for a in additional):
            r.err("additional_references", "SARJ needs the charging report {\"id\": <UUID>, \"scheme\": \"ESURaporID\", \"issue_date\": ...} [EnerjiESURaporIDCheck-1]")
        if type_ == "SARJANLIK" and not any(ln.serial_id for ln in lines):
            r.err("lines[0].serial_id", "SARJANLIK needs the charger's serial number on a line [EnerjiItemInstanceSerialIDCheck-1]")


def _address(r: _Reader, raw: Any, path: str, required: bool = True) -> Address | None:
    if raw is None:
        if required:
            r.err(path, "is required")
        return None
    d = r.obj(raw, path, _ADDRESS_KEYS)
    if d is None:
        return None
    district = r.text(d, "district", path, required=True)
    city = r.text(d, "city", path, required=True)
    cc = r.code(d, "country_code", path, codes.countries(), "country code") or "TR"
    country = r.text(d, "country", path) or ("Türkiye" if cc == "TR" else None)
    if country is None:
        r.err(_join(path, "country"), f"is required when country_code is {cc}")
    if district is None or city is None or country is None:
        return None
    return Address(
        district=district, city=city, street=r.text(d, "street", path),
        building_number=r.text(d, "building_number", path),
        postal_code=r.text(d, "postal_code", path), country=country, country_code=cc,
        room=r.text(d, "room", path), block_name=r.text(d, "block_name", path),
        building_name=r.text(d, "building_name", path), region=r.text(d, "region", path),
    )


#: the TCKN an e-Arşiv invoice names for a consumer who gives none (GİB's e-Arşiv
#: guide; GİB's rules accept it although its checksum does not hold)
UNIDENTIFIED_TCKN = "11111111111"


def _party(r: _Reader, raw: Any, path: str, required: bool = False,
           tax_id_required: bool = True, unidentified_ok: bool = False) -> Party | None:
    if raw is None:
        if required:
            r.err(path, "is required")
        return None
    d = r.obj(raw, path, _PARTY_KEYS)
    if d is None:
        return None
    vkn = r.text(d, "vkn", path)
    tckn = r.text(d, "tckn", path)
    if vkn is not None and tckn is not None:
        r.err(path, "give either vkn or tckn, not both")
    if vkn is None and tckn is None and tax_id_required:
        r.err(_join(path, "vkn"), "a party needs a vkn (10 digits) or a tckn (11 digits)")
    if vkn is None and tckn is None and not tax_id_required and not (d.get("name") or d.get("last_name")):
        r.err(_join(path, "name"), "a party without vkn/tckn needs a name (or first_name and last_name)")
    if vkn is not None and not vkn_valid(vkn):
        r.err(_join(path, "vkn"), f"'{vkn}' is not a valid VKN (10 digits with GİB's checksum)")
    if tckn is not None and not tckn_valid(tckn) and not (unidentified_ok and tckn == UNIDENTIFIED_TCKN):
        r.err(_join(path, "tckn"), f"'{tckn}' is not a valid TCKN (11 digits with the national-id checksum)")
    name = r.text(d, "name", path)
    first = r.text(d, "first_name", path)
    last = r.text(d, "last_name", path)
    if vkn is not None and not (name and name.strip()):
        r.err(_join(path, "name"), "is required with a vkn (the company title)")
    if tckn is not None and not name and not (first and last):
        r.err(_join(path, "first_name"), "first_name and last_name are required with a tckn")
    ids: list[tuple[str, str]] = []
    raw_ids = d.get("ids")
    if raw_ids is not None:
        if not isinstance(raw_ids, Mapping):
            r.err(_join(path, "ids"), f"must be an object of scheme: value, got {_kind(raw_ids)}")
        else:
            for scheme, value in raw_ids.items():
                p = _join(f"{path}.ids", str(scheme))
                if scheme not in codes.party_id_schemes() or scheme in {"VKN", "TCKN"}:
                    r.err(p, f"'{scheme}' is not a party identification scheme in GİB's list"
                          + (" (use vkn / tckn)" if scheme in {"VKN", "TCKN"} else ""))
                elif not isinstance(value, str) or not value.strip():
                    r.err(p, "must be a non-empty string")
                elif (bad := _control_char(value)) is not None:
                    r.err(p, _bad_char_message(bad))
                else:
                    ids.append((scheme, value))
    address = _address(r, d.get("address"), _join(path, "address"))
    email = r.text(d, "email", path)
    if email is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        r.err(_join(path, "email"), f"'{email}' is not an e-mail address")
    alias = r.text(d, "alias", path)
    if address is None:
        return None
    return Party(
        address=address, vkn=vkn, tckn=tckn, name=name, first_name=first, last_name=last,
        tax_office=r.text(d, "tax_office", path), email=email,
        phone=r.text(d, "phone", path), website=r.text(d, "website", path),
        ids=tuple(ids), alias=alias, fax=r.text(d, "fax", path),
    )


def _allowance(r: _Reader, raw: Any, path: str, is_charge: bool) -> AllowanceCharge:
    d = r.obj(raw, path, {"reason", "amount", "rate", "base"}) or {}
    amount = r.decimal(d, "amount", path)
    rate = r.decimal(d, "rate", path)
    base = r.decimal(d, "base", path)
    given = [k for k in ("amount", "rate") if d.get(k) is not None]
    if len(given) != 1:
        r.err(path, "give exactly one of amount or rate")
    if rate is not None and rate > 100:
        r.err(_join(path, "rate"), f"{rate} is more than 100 percent")
    if d.get("base") is not None and d.get("rate") is None:
        r.err(_join(path, "base"), "applies to a rate: give rate with base")
    return AllowanceCharge(is_charge=is_charge, amount=amount, rate=rate,
                           reason=r.text(d, "reason", path), base=base)


def _docref(r: _Reader, raw: Any, path: str, extended: bool = False) -> DocumentReference | None:
    d = r.obj(raw, path, {"id", "issue_date", "scheme", "type_code"} if extended else {"id", "issue_date"})
    if d is None:
        return None
    i = r.text(d, "id", path, required=True)
    dt = r.date(d, "issue_date", path, required=True)
    scheme = r.text(d, "scheme", path)
    type_code = r.text(d, "type_code", path)
    if type_code in {"SendingType", "INTERNET_SATIS"}:
        r.err(_join(path, "type_code"), f"'{type_code}' is written by ubltr from \"earchive\"; use that key")
    if i is None or dt is None:
        return None
    return DocumentReference(id=i, issue_date=dt, scheme=scheme, type_code=type_code)


def _period(r: _Reader, raw: Any, path: str) -> Period | None:
    if raw is None:
        return None
    d = r.obj(raw, path, {"start_date", "start_time", "end_date", "end_time"})
    if d is None:
        return None
    start = r.date(d, "start_date", path, required=True)
    end = r.date(d, "end_date", path, required=True)
    st_, et = r.time(d, "start_time", path), r.time(d, "end_time", path)
    if start and end and (end, et or _dt.time(0)) < (start, st_ or _dt.time(0)):
        r.err(path, "ends before it starts")
    if start is None or end is None:
        return None
    return Period(start_date=start, end_date=end, start_time=st_, end_time=et)


def _payment(r: _Reader, raw: Any, path: str, profile: str | None) -> Payment | None:
    if raw is None:
        return None
    d = r.obj(raw, path, {"means_code", "due_date", "iban", "note"})
    if d is None:
        return None
    means = r.code(d, "means_code", path, codes.payment_means(), "payment means code")
    iban = r.text(d, "iban", path)
    if iban is not None:
        compact = iban.replace(" ", "")
        if not _iban_valid(compact):
            r.err(_join(path, "iban"), f"'{iban}' is not a valid IBAN (country, check digits, mod-97)")
        elif profile == "KAMU" and not re.fullmatch(r"TR\d{7}[A-Z0-9]{17}", compact):
            r.err(_join(path, "iban"), "KAMU needs a Turkish IBAN (TR + 24 characters)")
        iban = compact
    return Payment(means_code=means, due_date=r.date(d, "due_date", path), iban=iban,
                   note=r.text(d, "note", path))


def _iban_valid(iban: str) -> bool:
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", iban):
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _delivery(r: _Reader, raw: Any, path: str) -> Delivery | None:
    if raw is None:
        return None
    d = r.obj(raw, path, {"incoterms", "address", "transport_mode"})
    if d is None:
        return None
    return Delivery(
        incoterms=r.code(d, "incoterms", path, codes.incoterms(), "delivery term (INCOTERMS)"),
        address=_address(r, d.get("address"), _join(path, "address"), required=False),
        transport_mode=r.code(d, "transport_mode", path, codes.transport_modes(), "transport mode"),
    )


def _line_delivery(r: _Reader, raw: Any, path: str) -> LineDelivery | None:
    if raw is None:
        return None
    d = r.obj(raw, path, {"incoterms", "gtip", "package", "transport_mode", "address"})
    if d is None:
        return None
    gtip = r.text(d, "gtip", path)
    if gtip is not None and not re.fullmatch(r"\d{12}", gtip):
        r.err(_join(path, "gtip"), f"'{gtip}' must be a 12-digit GTİP code")
    package = None
    if d.get("package") is not None:
        pp = _join(path, "package")
        pd = r.obj(d["package"], pp, {"kind", "count"})
        if pd is not None:
            kind = r.code(pd, "kind", pp, codes.package_types(), "package type", required=True)
            count = r.decimal(pd, "count", pp, positive=True)
            if kind:
                package = Package(kind=kind, count=count)
    return LineDelivery(
        incoterms=r.code(d, "incoterms", path, codes.incoterms(), "delivery term (INCOTERMS)"),
        gtip=gtip, package=package,
        transport_mode=r.code(d, "transport_mode", path, codes.transport_modes(), "transport mode"),
        address=_address(r, d.get("address"), _join(path, "address"), required=False),
    )


def _line(r: _Reader, raw: Any, path: str, type_: str | None) -> Line | None:
    d = r.obj(raw, path, _LINE_KEYS)
    if d is None:
        return None
    name = r.text(d, "name", path, required=True)
    qty = r.decimal(d, "quantity", path, required=True, positive=True)
    unit = r.code(d, "unit", path, codes.units(), "unit code", required=True)
    price = r.decimal(d, "unit_price", path, required=True, non_negative=True)

    taxes: list[Tax] = []
    seen: set[str] = set()
    for tp, traw in r.items(d, "taxes", path):
        td = r.obj(traw, tp, _TAX_KEYS)
        if td is None:
            continue
        code = r.code(td, "code", tp, codes.tax_codes(), "tax code", required=True)
        pct = r.decimal(td, "percent", tp)
        amt = r.decimal(td, "amount", tp)
        tbase = r.decimal(td, "base", tp)
        if td.get("base") is not None and td.get("percent") is None:
            r.err(_join(tp, "base"), "a stated base (özel matrah) goes with a percent")
        if pct is not None and pct > 100:
            r.err(_join(tp, "percent"), f"{pct} is more than 100 percent")
        if (td.get("percent") is not None) + (td.get("amount") is not None) != 1:
            r.err(tp, "give exactly one of percent or amount (per unit)")
        if code == "0015" and amt is not None:
            r.err(_join(tp, "amount"), "KDV (0015) is a percent, not a per-unit amount")
        if code in seen:
            r.err(_join(tp, "code"), f"tax {code} appears twice on this line")
        if code == "4171" and type_ is not None and type_ not in _OTV_WITHHOLDING_TYPES:
            r.err(_join(tp, "code"), f"ÖTV tevkifatı (4171) needs type {', '.join(sorted(_OTV_WITHHOLDING_TYPES))}, "
                                     f"not {type_} [GİB GeneralWithholdingTaxTotalCheck]")
        if code:
            seen.add(code)
            taxes.append(Tax(code=code, percent=pct, amount=amt, base=tbase))

    exemption = None
    if d.get("exemption") is not None:
        ep = _join(path, "exemption")
        ed = r.obj(d["exemption"], ep, {"code", "reason"})
        if ed is not None:
            allowed = codes.exemption_codes_for(type_) if type_ else codes.exemption_codes()
            ecode = r.text(ed, "code", ep, required=True)
            if ecode is not None:
                if ecode not in codes.exemption_codes():
                    r.err(_join(ep, "code"), f"'{ecode}' is not an exemption code in GİB's code list")
                elif ecode not in allowed:
                    r.err(_join(ep, "code"), f"exemption code {ecode} is not allowed on a {type_} invoice")
                else:
                    exemption = Exemption(code=ecode, reason=r.text(ed, "reason", ep))

    kdv = next((t for t in taxes if t.code == "0015"), None)
    if kdv is None and "taxes" in d:
        if exemption is not None:
            taxes.append(Tax(code="0015", percent=Decimal("0")))  # documented: exemption implies KDV 0 %
            kdv = taxes[-1]
        elif not any(p.path.startswith(_join(path, "taxes")) for p in r.problems):
            r.err(_join(path, "taxes"), "a line needs a KDV entry {\"code\": \"0015\", \"percent\": ...}")
    elif "taxes" not in d:
        if exemption is not None:
            taxes.append(Tax(code="0015", percent=Decimal("0")))
            kdv = taxes[-1]
        else:
            r.err(_join(path, "taxes"), "is required: a line needs at least KDV {\"code\": \"0015\", \"percent\": ...}")
    if exemption is not None and exemption.code == "555" and kdv is not None and not kdv.percent:
        r.err(_join(path, "exemption"), "code 555 (demirbaş KDV) needs a KDV rate above 0 [DemirbasKDVTaxExemptionCheck-2]")
    if kdv is not None and kdv.percent == 0 and exemption is None and type_ not in _ZERO_KDV_WITHOUT_REASON:
        r.err(_join(path, "exemption"), "is required when KDV is 0 % (GİB exemption code and reason)")

    withholding = None
    if d.get("withholding") is not None:
        wp = _join(path, "withholding")
        wd = r.obj(d["withholding"], wp, {"code", "percent"})
        if wd is not None:
            wcode = r.code(wd, "code", wp, codes.withholding_codes(), "withholding (tevkifat) code", required=True)
            wpct = r.decimal(wd, "percent", wp)
            if wcode is not None:
                allowed_pct = codes.withholding_percents().get(wcode, frozenset())
                if wpct is None:
                    wpct = codes.default_withholding_percent(wcode)
                    if wpct is None:
                        r.err(_join(wp, "percent"), f"code {wcode} has several rates in GİB's table ({', '.join(str(x) for x in sorted(allowed_pct))}); give one")
                elif wpct.normalize() not in {p.normalize() for p in allowed_pct}:
                    r.err(_join(wp, "percent"), f"{wpct} is not a rate GİB allows for code {wcode} (allowed: {', '.join(str(x) for x in sorted(allowed_pct))})")
                    wpct = None
                if wpct is not None:
                    withholding = Withholding(code=wcode, percent=wpct)
        if type_ is not None and type_ not in WITHHOLDING_TYPES:
            r.err(wp, f"withholding (tevkifat) needs type TEVKIFAT or TEVKIFATIADE, not {type_}")
        if kdv is not None and kdv.percent == 0:
            r.err(wp, "withholding applies to KDV; this line's KDV is 0 %")

    allowances = tuple(_allowance(r, x, p, False) for p, x in r.items(d, "allowances", path))
    charges = tuple(_allowance(r, x, p, True) for p, x in r.items(d, "charges", path))
    raw_delivery = d.get("delivery")
    delivery = _line_delivery(r, raw_delivery, _join(path, "delivery")) if raw_delivery is not None else None
    item_ids: list[tuple[str, str]] = []
    raw_ids = d.get("item_ids")
    if raw_ids is not None:
        if not isinstance(raw_ids, Mapping):
            r.err(_join(path, "item_ids"), f"must be an object of scheme: value, got {_kind(raw_ids)}")
        else:
            allowed_schemes = codes.code_list("AdditionalItemIdentificationIDType") | _ITEM_ID_SCHEMES_EXTRA
            for scheme, value in raw_ids.items():
                ip = _join(f"{path}.item_ids", str(scheme))
                if scheme not in allowed_schemes:
                    r.err(ip, f"'{scheme}' is not an item identification scheme GİB knows ({', '.join(sorted(allowed_schemes))})")
                elif not isinstance(value, str) or not value.strip():
                    r.err(ip, "must be a non-empty string")
                elif (bad := _control_char(value)) is not None:
                    r.err(ip, _bad_char_message(bad))
                else:
                    item_ids.append((scheme, value))
    classification = r.text(d, "classification", path)
    line_notes = []
    for p, n in r.items(d, "notes", path):
        if not isinstance(n, str):
            r.err(p, f"must be a string, got {_kind(n)}")
        elif (bad := _control_char(n)) is not None:
            r.err(p, _bad_char_message(bad))
        else:
            line_notes.append(n)
    if qty is not None and price is not None and qty * price >= MAX_AMOUNT:
        # GİB refuses such an amount, so ubltr does not write it (the rounding of the default
        # context cannot carry a product across 10^17 by more than 10^-10)
        r.err(path, f"quantity × unit_price has {len(str(int(qty * price)))} digits before the point; GİB accepts "
                    f"amounts of at most {MAX_AMOUNT_DIGITS} (decimalCheck-1)")
    if name is None or qty is None or unit is None or price is None:
        return None
    return Line(
        name=name, quantity=qty, unit=unit, unit_price=price, taxes=tuple(taxes),
        description=r.text(d, "description", path), code=r.text(d, "code", path),
        brand=r.text(d, "brand", path), model=r.text(d, "model", path),
        allowances=allowances, charges=charges, withholding=withholding,
        exemption=exemption, delivery=delivery, item_ids=tuple(item_ids),
        classification=classification, product_trace_id=r.text(d, "product_trace_id", path),
        serial_id=r.text(d, "serial_id", path), notes=tuple(line_notes),
    )


def _earchive(r: _Reader, raw: Any, path: str) -> EArchive | None:
    if raw is None:
        return None
    d = r.obj(raw, path, {"send_type", "internet_sale"})
    if d is None:
        return None
    st = r.text(d, "send_type", path) or "ELEKTRONIK"
    if st not in {"ELEKTRONIK", "KAGIT"}:
        r.err(_join(path, "send_type"), f"'{st}' must be ELEKTRONIK or KAGIT")
    sale = None
    if d.get("internet_sale") is not None:
        sp = _join(path, "internet_sale")
        sd = r.obj(d["internet_sale"], sp, {"web_address", "payment_type", "payment_date", "carrier"})
        if sd is not None:
            web = r.text(sd, "web_address", sp, required=True)
            ptype = r.text(sd, "payment_type", sp, required=True)
            if ptype is not None and ptype not in _INTERNET_PAYMENT_TYPES:
                r.err(_join(sp, "payment_type"), f"'{ptype}' must be one of {', '.join(sorted(_INTERNET_PAYMENT_TYPES))}")
            pdate = r.date(sd, "payment_date", sp, required=True)
            carrier = None
            if sd.get("carrier") is not None:
                cp = _join(sp, "carrier")
                cd = r.obj(sd["carrier"], cp, {"vkn", "name"})
                if cd is not None:
                    cv = r.text(cd, "vkn", cp, required=True)
                    cn = r.text(cd, "name", cp, required=True)
                    if cv is not None and not (vkn_valid(cv) or tckn_valid(cv)):
                        r.err(_join(cp, "vkn"), f"'{cv}' is not a valid VKN or TCKN")
                    if cv and cn:
                        carrier = Carrier(vkn=cv, name=cn)
            if web and ptype and pdate:
                sale = InternetSale(web_address=web, payment_type=ptype, payment_date=pdate, carrier=carrier)
    return EArchive(send_type=st, internet_sale=sale)


# GİB e-Arşiv guide: internet sale payment types
_INTERNET_PAYMENT_TYPES = {"KREDIKARTI/BANKAKARTI", "EFT/HAVALE", "KAPIDAODEME", "ODEMEARACISI", "DIGER"}


# --------------------------------------------------------------------------- dump


def to_dict(inv: Invoice) -> dict[str, Any]:
    """The neutral JSON shape of ``inv`` (decimals as strings, defaults omitted):
    ``load(to_dict(x)) == x``."""
    return _dump(inv)


def _dump(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, (_dt.date, _dt.time)):
        return obj.isoformat()
    if isinstance(obj, tuple) and obj and isinstance(obj[0], tuple):  # Party.ids
        return {k: v for k, v in obj}
    if isinstance(obj, tuple):
        return [_dump(x) for x in obj]
    if hasattr(obj, "__dataclass_fields__"):
        out: dict[str, Any] = {}
        for f in fields(obj):
            v = getattr(obj, f.name)
            if v is None or v == () or (f.default is not None and f.default is not field and v == f.default
                                          and f.name not in {"send_type"}):
                continue
            if isinstance(obj, AllowanceCharge) and f.name == "is_charge":
                continue
            out[f.name] = _dump(v)
        if isinstance(obj, Invoice):
            # allowances / charges are split by key in the neutral shape
            pass
        return out
    return obj
