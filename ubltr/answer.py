"""Application responses (GİB's *uygulama yanıtı*, UBL ``ApplicationResponse``): the
receiver's KABUL, RED or IADE of a TICARIFATURA.

    answer = ubltr.answer.load({...})              # neutral JSON → Answer (path-named errors)
    answer = ubltr.answer.from_invoice(xml, "RED", reason="...")   # from the invoice at hand
    xml = ubltr.answer.build(answer)               # UBL-TR 1.2 bytes (templates/application-response.xml.j2)
    ubltr.answer.parse(xml) == answer              # and back
    html = ubltr.answer.render_html(xml)           # for people

What GİB refuses is refused here too, before anything is built (:class:`AnswerRefused`):

- answering anything but a TICARIFATURA: GİB's schematron (ApplicationResponseProfileIDCheck-3)
  allows KABUL/RED/IADE only with ProfileID TICARIFATURA or IHRACAT, an IHRACAT invoice is
  answered by the customs (GTB), not by its buyer, and a TEMELFATURA is never answered
  (*e-Belge Özel Entegratörleri Bilgi Sistemleri Denetimi Kılavuzu*, control J23:
  "Gelen temel faturalara uygulama yanıtı oluşturulmasına izin verilmemekte mi?");
- answering after the legal period: eight days from the day the invoice was received,
  the eighth day counted to 23:59 Turkey time, the hour of receipt not considered
  (*e-Fatura Uygulaması Entegrasyon Kılavuzu v1.10*, §4 "Posta kutusu, uygulama yanıtını,
  faturayı aldıktan sonra sekiz gün içerisinde göndericiye yollamalıdır. Uygulama yanıtının
  fatura alındıktan sekiz gün sonra dönülmesi engellenmelidir."; Denetim Kılavuzu J24-J26);
- answering twice (same guide: "uygulama yanıtının birden fazla gönderilmesi
  engellenmelidir"; Denetim Kılavuzu J27): checked against a store of answers
  (:mod:`ubltr.inbox`), since a single document cannot know it.

The answered invoice is referenced by its UUID (ETTN) in ``cac:DocumentReference/cbc:ID``
and its type in ``cbc:DocumentTypeCode`` / ``cbc:DocumentType``, as in GİB's
``e-FaturaPaketi`` samples (2_UYGULAMA_YANITI_KABUL.xml); its number, when known, in
``cbc:DocumentDescription``.  The answering party (the invoice's customer) is
``cac:SenderParty`` and signs; the invoice's supplier is ``cac:ReceiverParty``.
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid as _uuid
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, Mapping

import jinja2
from lxml import etree

from . import model, xmlsafe
from .model import Address, InputProblem
from .resources import folder

__all__ = [
    "Answer", "AnswerParty", "AnsweredInvoice", "LineAnswer", "AnswerInputError", "AnswerRefused",
    "AnswerReadError", "load", "from_invoice", "build", "parse", "render_html", "check_deadline",
    "deadline", "RESPONSES", "ANSWER_PERIOD_DAYS", "SYSTEM_RESPONSE_CODES", "system_status",
]

#: what a receiver may answer (GİB's ResponseCodeType, without the system codes)
RESPONSES = ("KABUL", "RED", "IADE")
#: days after receipt during which an answer may be given (the 8th day counts to 23:59)
ANSWER_PERIOD_DAYS = 8

APR = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
INV = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS = {
    "apr": APR,
    "inv": INV,
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class AnswerInputError(ValueError):
    """The answer's input is wrong; ``problems`` lists every one with its JSON path."""

    def __init__(self, problems: list[InputProblem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class AnswerRefused(ValueError):
    """GİB does not allow this answer (a TEMELFATURA, too late, already answered)."""


class AnswerReadError(ValueError):
    """The XML is not an invoice / application response ubltr can read (names the line)."""


@dataclass(frozen=True, slots=True)
class AnswerParty:
    """A party of the answer, as the neutral invoice contract spells parties (the
    address is required on input: GİB's UBL-TR schema wants cac:PostalAddress)."""

    vkn: str | None = None
    tckn: str | None = None
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    tax_office: str | None = None
    address: Address | None = None
    ids: tuple[tuple[str, str], ...] = ()

    @property
    def tax_id(self) -> str:
        return self.vkn or self.tckn or ""

    @property
    def tax_id_scheme(self) -> str:
        return "VKN" if self.vkn else "TCKN"

    @property
    def display_name(self) -> str:
        return self.name or " ".join(p for p in (self.first_name, self.last_name) if p)


@dataclass(frozen=True, slots=True)
class AnsweredInvoice:
    """The invoice being answered."""

    uuid: str
    issue_date: _dt.date
    supplier: AnswerParty  #: who issued the invoice: receives the answer
    customer: AnswerParty  #: who received the invoice: sends (and signs) the answer
    id: str | None = None  #: the invoice number (ABC2026000000001), when known
    profile: str = "TICARIFATURA"
    type: str = "SATIS"
    received_date: _dt.date | None = None  #: the day it reached the customer (default: issue_date)


@dataclass(frozen=True, slots=True)
class LineAnswer:
    """A line-level response (``cac:LineResponse``), as GİB's samples carry one."""

    line_id: str
    response: str
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    invoice: AnsweredInvoice
    response: str  #: KABUL, RED or IADE (a parsed document may carry another code)
    uuid: str
    issue_date: _dt.date
    issue_time: _dt.time
    reason: str | None = None  #: cbc:Description of the response: required for RED and IADE
    notes: tuple[str, ...] = ()
    id: str | None = None  #: cbc:ID of the answer (default: its UUID, as GİB's sample)
    lines: tuple[LineAnswer, ...] = ()
    profile: str = "TICARIFATURA"

    @property
    def number(self) -> str:
        return self.id or self.uuid

    @property
    def sender(self) -> AnswerParty:
        return self.invoice.customer

    @property
    def receiver(self) -> AnswerParty:
        return self.invoice.supplier


# --------------------------------------------------------------------------- the law


def deadline(received: _dt.date) -> _dt.date:
    """The last day an answer may be given for an invoice received on ``received``."""
    return received + _dt.timedelta(days=ANSWER_PERIOD_DAYS)


def check_deadline(invoice: AnsweredInvoice, today: _dt.date | None = None) -> None:
    """Raise :class:`AnswerRefused` when the legal period to answer ``invoice`` is over."""
    received = invoice.received_date or invoice.issue_date
    today = today or model._turkey_today()
    last = deadline(received)
    if today > last:
        raise AnswerRefused(
            f"invoice {invoice.id or invoice.uuid} was received on {received.isoformat()}; an answer may be "
            f"given for {ANSWER_PERIOD_DAYS} days, until {last.isoformat()} 23:59 (GİB e-Fatura Entegrasyon "
            f"Kılavuzu v1.10 §4), and today is {today.isoformat()}")


def check_answerable(invoice: AnsweredInvoice) -> None:
    """Raise :class:`AnswerRefused` for an invoice GİB does not let its receiver answer."""
    if invoice.profile == "TICARIFATURA":
        return
    if invoice.profile == "TEMELFATURA":
        raise AnswerRefused(
            f"invoice {invoice.id or invoice.uuid} is a TEMELFATURA: GİB does not allow an application "
            "response to a basic invoice (only a TICARIFATURA is accepted or rejected; Denetim Kılavuzu J23)")
    if invoice.profile == "IHRACAT":
        raise AnswerRefused(
            f"invoice {invoice.id or invoice.uuid} is an IHRACAT invoice: it is answered by the customs "
            "administration (GTB), not by its buyer")
    raise AnswerRefused(
        f"invoice {invoice.id or invoice.uuid} has profile {invoice.profile}: GİB allows KABUL/RED/IADE "
        "only for a TICARIFATURA (ApplicationResponseProfileIDCheck-3)")


def _check_response(response: str, reason: str | None) -> list[tuple[str, str]]:
    out = []
    if response not in RESPONSES:
        out.append(("response", f"'{response}' is not an answer; use one of {', '.join(RESPONSES)}"))
    elif response in ("RED", "IADE") and not (reason and reason.strip()):
        out.append(("reason", f"is required for {response} (the reason is sent to the supplier)"))
    return out


# --------------------------------------------------------------------------- neutral JSON

_ANSWER_KEYS = {"invoice", "response", "reason", "notes", "uuid", "id", "issue_date", "issue_time", "lines"}
_INVOICE_KEYS = {"uuid", "id", "issue_date", "profile", "type", "supplier", "customer", "received_date"}
_PARTY_KEYS = {"vkn", "tckn", "name", "first_name", "last_name", "tax_office", "address", "ids"}
_LINE_KEYS = {"line_id", "response", "description"}


def _now_tr() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(hours=3)


def _party(r: Any, raw: Any, path: str) -> AnswerParty | None:
    if raw is None:
        r.err(path, "is required")
        return None
    d = r.obj(raw, path, _PARTY_KEYS)
    if d is None:
        return None
    vkn = r.text(d, "vkn", path)
    tckn = r.text(d, "tckn", path)
    if vkn is not None and tckn is not None:
        r.err(path, "give either vkn or tckn, not both")
    if vkn is None and tckn is None:
        r.err(model._join(path, "vkn"), "a party needs a vkn (10 digits) or a tckn (11 digits)")
    if vkn is not None and not model.vkn_valid(vkn):
        r.err(model._join(path, "vkn"), f"'{vkn}' is not a valid VKN (10 digits with GİB's checksum)")
    if tckn is not None and not model.tckn_valid(tckn):
        r.err(model._join(path, "tckn"), f"'{tckn}' is not a valid TCKN (11 digits with the national-id checksum)")
    name = r.text(d, "name", path)
    first = r.text(d, "first_name", path)
    last = r.text(d, "last_name", path)
    if vkn is not None and not (name and name.strip()):
        r.err(model._join(path, "name"), "is required with a vkn (the company title; GİB ARPartyIdentificationPartyNamePersonCheck-3)")
    if tckn is not None and not (first and first.strip() and last and last.strip()):
        r.err(model._join(path, "first_name"), "first_name and last_name are required with a tckn (GİB ARPartyIdentificationPartyNamePersonCheck-5)")
    ids: list[tuple[str, str]] = []
    raw_ids = d.get("ids")
    if raw_ids is not None:
        if not isinstance(raw_ids, Mapping):
            r.err(model._join(path, "ids"), "must be an object of scheme: value")
        else:
            for scheme, value in raw_ids.items():
                if scheme in {"VKN", "TCKN"}:
                    r.err(f"{path}.ids.{scheme}", "use vkn / tckn")
                elif not isinstance(value, str) or not value.strip():
                    r.err(f"{path}.ids.{scheme}", "must be a non-empty string")
                else:
                    ids.append((str(scheme), value))
    # GİB's UBL-TR schema requires cac:PostalAddress in every party (and in SignatoryParty)
    address = model._address(r, d.get("address"), model._join(path, "address"), required=True)
    return AnswerParty(vkn=vkn, tckn=tckn, name=name, first_name=first, last_name=last,
                       tax_office=r.text(d, "tax_office", path), address=address, ids=tuple(ids))


def load(data: Mapping[str, Any] | str | bytes, *, today: _dt.date | None = None,
         check_period: bool = True) -> Answer:
    """Neutral answer JSON (dict or text) → :class:`Answer`.

    Raises :class:`AnswerInputError` listing every problem with its JSON path, and
    :class:`AnswerRefused` for an answer GİB does not allow (not a TICARIFATURA, past
    the eight days on ``today`` (default: the later of today in Turkey and the answer's
    issue date); ``check_period=False`` skips the latter, e.g. to rebuild an old answer).
    """
    if isinstance(data, (str, bytes)):
        try:
            data = model.parse_json(data)
        except ValueError as exc:
            raise AnswerInputError([InputProblem("$", f"not JSON: {exc}")]) from None
    r = model._Reader()
    d = r.obj(data, "", _ANSWER_KEYS) if data is not None else None
    if d is None:
        raise AnswerInputError(r.problems or [InputProblem("$", "must be an object")])
    inv = None
    raw_inv = d.get("invoice")
    if raw_inv is None:
        r.err("invoice", "is required (the invoice answered: uuid, issue_date, supplier, customer)")
    else:
        di = r.obj(raw_inv, "invoice", _INVOICE_KEYS)
        if di is not None:
            iuuid = r.text(di, "uuid", "invoice", required=True)
            if iuuid is not None and not _UUID_RE.fullmatch(iuuid):
                r.err("invoice.uuid", f"'{iuuid}' is not a UUID (the invoice's ETTN)")
            idate = r.date(di, "issue_date", "invoice", required=True)
            received = r.date(di, "received_date", "invoice")
            if idate and received and received < idate:
                r.err("invoice.received_date", f"{received} is before the invoice's issue_date {idate}")
            supplier = _party(r, di.get("supplier"), "invoice.supplier")
            customer = _party(r, di.get("customer"), "invoice.customer")
            profile = r.text(di, "profile", "invoice") or "TICARIFATURA"
            type_ = r.text(di, "type", "invoice") or "SATIS"
            if iuuid and idate and supplier and customer:
                inv = AnsweredInvoice(uuid=iuuid, id=r.text(di, "id", "invoice"), issue_date=idate,
                                      profile=profile, type=type_, supplier=supplier, customer=customer,
                                      received_date=received)
    response = r.text(d, "response", "", required=True)
    reason = r.text(d, "reason", "")
    if response is not None:
        for key, msg in _check_response(response, reason):
            r.err(key, msg)
    notes: list[str] = []
    for p, n in r.items(d, "notes", ""):
        if not isinstance(n, str):
            r.err(p, "must be a string")
        else:
            notes.append(n)
    lines: list[LineAnswer] = []
    for p, raw_line in r.items(d, "lines", ""):
        dl = r.obj(raw_line, p, _LINE_KEYS)
        if dl is None:
            continue
        lid = r.text(dl, "line_id", p, required=True)
        lresp = r.text(dl, "response", p) or response
        if lid and lresp:
            lines.append(LineAnswer(lid, lresp, r.text(dl, "description", p)))
    auuid = r.text(d, "uuid", "")
    if auuid is not None and not _UUID_RE.fullmatch(auuid):
        r.err("uuid", f"'{auuid}' is not a UUID")
    now = _now_tr()
    adate = r.date(d, "issue_date", "")
    atime = r.time(d, "issue_time", "")
    if r.problems:
        raise AnswerInputError(r.problems)
    assert inv is not None and response is not None
    answer = Answer(
        invoice=inv, response=response, reason=reason, notes=tuple(notes),
        uuid=auuid or str(_uuid.uuid4()), id=r.text(d, "id", ""),
        issue_date=adate or now.date(), issue_time=atime or now.time().replace(microsecond=0),
        lines=tuple(lines),
    )
    check_answerable(inv)
    if adate and adate < (inv.received_date or inv.issue_date):
        raise AnswerInputError([InputProblem("issue_date", f"{adate} is before the invoice was received")])
    if check_period:  # when it is issued or, if that is in the past, now (an answer is not backdated past the period)
        check_deadline(inv, today or max(model._turkey_today(), answer.issue_date))
    return answer


# --------------------------------------------------------------------------- from XML


def _root(source: bytes | str | Path | etree._Element, what: str) -> etree._Element:
    if isinstance(source, etree._Element):
        return source
    if isinstance(source, (str, Path)):
        source = Path(source).read_bytes()
    try:
        return xmlsafe.fromstring(source, what=what)
    except xmlsafe.UnsafeXML as exc:
        raise AnswerReadError(str(exc)) from None


def _t(el: etree._Element | None, path: str) -> str | None:
    if el is None:
        return None
    node = el.find(path, NS)
    if node is None or node.text is None or not node.text.strip():
        return None
    return node.text  # as written: a name or reason with spaces keeps them


def _date(el: etree._Element, path: str, what: str) -> _dt.date:
    text = _t(el, path)
    node = el.find(path, NS)
    line = node.sourceline if node is not None else el.sourceline
    try:
        return _dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise AnswerReadError(f"line {line}: {what} {path} is {text!r}, not a date (YYYY-MM-DD)") from None


def _read_party(p: etree._Element | None) -> AnswerParty:
    if p is None:
        return AnswerParty()
    vkn = tckn = None
    ids: list[tuple[str, str]] = []
    for pid in p.findall("cac:PartyIdentification/cbc:ID", NS):
        scheme = (pid.get("schemeID") or "").strip()
        value = (pid.text or "").strip()
        if scheme == "VKN" and vkn is None:
            vkn = value
        elif scheme == "TCKN" and tckn is None:
            tckn = value
        elif scheme and value:
            ids.append((scheme, value))
    a = p.find("cac:PostalAddress", NS)
    address = None
    if a is not None:
        address = Address(
            district=_t(a, "cbc:CitySubdivisionName") or "", city=_t(a, "cbc:CityName") or "",
            street=_t(a, "cbc:StreetName"), building_number=_t(a, "cbc:BuildingNumber"),
            postal_code=_t(a, "cbc:PostalZone"), country=_t(a, "cac:Country/cbc:Name") or "Türkiye",
            country_code=_t(a, "cac:Country/cbc:IdentificationCode") or "TR",
            room=_t(a, "cbc:Room"), block_name=_t(a, "cbc:BlockName"), building_name=_t(a, "cbc:BuildingName"),
            region=_t(a, "cbc:Region"),
        )
    return AnswerParty(
        vkn=vkn, tckn=tckn,
        name=_t(p, "cac:PartyName/cbc:Name") or _t(p, "cac:PartyLegalEntity/cbc:RegistrationName"),
        first_name=_t(p, "cac:Person/cbc:FirstName"), last_name=_t(p, "cac:Person/cbc:FamilyName"),
        tax_office=_t(p, "cac:PartyTaxScheme/cac:TaxScheme/cbc:Name"), address=address, ids=tuple(ids),
    )


def read_invoice(source: bytes | str | Path | etree._Element,
                 received_date: _dt.date | None = None) -> AnsweredInvoice:
    """What an answer needs of an invoice (read leniently; raises :class:`AnswerReadError`)."""
    root = _root(source, "invoice")
    if root.tag != f"{{{INV}}}Invoice":
        raise AnswerReadError(f"line {root.sourceline}: the root is {etree.QName(root).localname}, "
                              "not a UBL Invoice: only an invoice can be answered")
    def code(path: str) -> str:
        return (_t(root, path) or "").strip()

    uuid = code("cbc:UUID")
    if not uuid:
        raise AnswerReadError(f"line {root.sourceline}: the invoice has no cbc:UUID (ETTN) to answer")
    return AnsweredInvoice(
        uuid=uuid, id=code("cbc:ID") or None, issue_date=_date(root, "cbc:IssueDate", "the invoice's"),
        profile=code("cbc:ProfileID"), type=code("cbc:InvoiceTypeCode"),
        supplier=_read_party(root.find("cac:AccountingSupplierParty/cac:Party", NS)),
        customer=_read_party(root.find("cac:AccountingCustomerParty/cac:Party", NS)),
        received_date=received_date,
    )


def from_invoice(source: bytes | str | Path | etree._Element, response: str, *, reason: str | None = None,
                 notes: tuple[str, ...] = (), received_date: _dt.date | None = None,
                 uuid: str | None = None, id: str | None = None, now: _dt.datetime | None = None,
                 check_period: bool = True) -> Answer:
    """An answer to the invoice at hand (its XML).  ``now``: Turkey time of the answer
    (default: now).  Raises :class:`AnswerInputError`, :class:`AnswerRefused` or
    :class:`AnswerReadError`."""
    inv = read_invoice(source, received_date)
    problems = [InputProblem(k, m) for k, m in _check_response(response, reason)]
    for key, text in [("reason", reason)] + [(f"notes[{i}]", n) for i, n in enumerate(notes)]:
        bad = model._control_char(text) if text else None
        if bad is not None:
            problems.append(InputProblem(key, f"contains control character U+{ord(bad):04X}, which XML 1.0 cannot carry"))
    for role, p in (("supplier", inv.supplier), ("customer", inv.customer)):
        if not p.tax_id:
            problems.append(InputProblem(f"invoice.{role}", "the invoice names no VKN/TCKN for this party"))
        elif not re.fullmatch(r"\d{10}" if p.vkn else r"\d{11}", p.tax_id):
            # the invoice's fault; an answer repeating it fails GİB's PartyIdentificationTCKNVKNCheck-1
            problems.append(InputProblem(
                f"invoice.{role}.{p.tax_id_scheme.lower()}",
                f"the invoice's {p.tax_id_scheme} {p.tax_id!r} is not {10 if p.vkn else 11} digits; "
                "GİB would refuse an answer naming it"))
        if p.address is None:
            problems.append(InputProblem(f"invoice.{role}", "the invoice gives no cac:PostalAddress for this party"))
    if problems:
        raise AnswerInputError(problems)
    check_answerable(inv)
    when = now or _now_tr()
    if check_period:
        check_deadline(inv, when.date())
    return Answer(invoice=inv, response=response, reason=reason, notes=tuple(notes),
                  uuid=uuid or str(_uuid.uuid4()), id=id, issue_date=when.date(),
                  issue_time=when.time().replace(microsecond=0, tzinfo=None))


# --------------------------------------------------------------------------- build


@cache
def _env() -> jinja2.Environment:
    from .render import _xml_escape

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder("templates"))), autoescape=False,
        finalize=_xml_escape, trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined,
    )


def build(answer: Answer) -> bytes:
    """The answer as UBL-TR 1.2 ``ApplicationResponse`` bytes, unsigned (an
    ``ubltr:Unsigned`` placeholder where :func:`ubltr.sign` puts the seal)."""
    text = _env().get_template("application-response.xml.j2").render(a=answer)
    return text.encode("utf-8")


# --------------------------------------------------------------------------- parse


def parse(source: bytes | str | Path | etree._Element) -> Answer:
    """An ``ApplicationResponse`` (ours, GİB's samples, integrators') back into an
    :class:`Answer`.  Raises :class:`AnswerReadError` naming the line of what is missing."""
    root = _root(source, "application response")
    if root.tag != f"{{{APR}}}ApplicationResponse":
        raise AnswerReadError(f"line {root.sourceline}: the root is {etree.QName(root).localname}, "
                              "not an ApplicationResponse")
    dr = root.find("cac:DocumentResponse", NS)
    if dr is None:
        raise AnswerReadError(f"line {root.sourceline}: no cac:DocumentResponse")
    code = (_t(dr, "cac:Response/cbc:ResponseCode") or "").strip()
    if not code:
        raise AnswerReadError(f"line {dr.sourceline}: no cac:Response/cbc:ResponseCode")
    ref = dr.find("cac:DocumentReference", NS)
    if ref is None or not _t(ref, "cbc:ID"):
        raise AnswerReadError(f"line {dr.sourceline}: no cac:DocumentReference/cbc:ID (the answered invoice)")
    uuid = (_t(root, "cbc:UUID") or "").strip()
    if not uuid:
        raise AnswerReadError(f"line {root.sourceline}: no cbc:UUID")
    time_text = (_t(root, "cbc:IssueTime") or "00:00:00").strip()
    try:
        issue_time = _dt.time.fromisoformat(time_text[:8])
    except ValueError:
        raise AnswerReadError(f"line {root.sourceline}: cbc:IssueTime {time_text!r} is not a time") from None
    ref_type = _t(ref, "cbc:DocumentTypeCode") or ""
    inv = AnsweredInvoice(
        uuid=(_t(ref, "cbc:ID") or "").strip(), id=_t(ref, "cbc:DocumentDescription"),
        issue_date=_date(ref, "cbc:IssueDate", "the answered invoice's"),
        profile=_t(root, "cbc:ProfileID") or "", type=ref_type,
        supplier=_read_party(root.find("cac:ReceiverParty", NS)),
        customer=_read_party(root.find("cac:SenderParty", NS)),
    )
    lines = tuple(
        LineAnswer(_t(lr, "cac:LineReference/cbc:LineID") or "", _t(lr, "cac:Response/cbc:ResponseCode") or "",
                   _t(lr, "cac:Response/cbc:Description"))
        for lr in dr.findall("cac:LineResponse", NS)
    )
    aid = (_t(root, "cbc:ID") or "").strip() or None
    return Answer(
        invoice=inv, response=code, reason=_t(dr, "cac:Response/cbc:Description"),
        notes=tuple(n.text for n in root.findall("cbc:Note", NS) if n.text and n.text.strip()),
        uuid=uuid, id=None if aid == uuid else aid, issue_date=_date(root, "cbc:IssueDate", "the answer's"),
        issue_time=issue_time, lines=lines, profile=_t(root, "cbc:ProfileID") or "",
    )


def to_dict(answer: Answer) -> dict[str, Any]:
    """The neutral JSON of an answer (what :func:`load` reads)."""
    def party(p: AnswerParty) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(p, k) for k in ("vkn", "tckn", "name", "first_name", "last_name", "tax_office")
                               if getattr(p, k)}
        if p.address:
            out["address"] = {k: getattr(p.address, k) for k in ("street", "building_number", "district", "city",
                                                                 "postal_code", "country", "country_code")
                              if getattr(p.address, k)}
        if p.ids:
            out["ids"] = dict(p.ids)
        return out

    inv = answer.invoice
    d: dict[str, Any] = {
        "invoice": {"uuid": inv.uuid, "issue_date": inv.issue_date.isoformat(), "profile": inv.profile,
                    "type": inv.type, "supplier": party(inv.supplier), "customer": party(inv.customer)},
        "response": answer.response, "uuid": answer.uuid, "issue_date": answer.issue_date.isoformat(),
        "issue_time": answer.issue_time.isoformat(),
    }
    if inv.id:
        d["invoice"]["id"] = inv.id
    if inv.received_date:
        d["invoice"]["received_date"] = inv.received_date.isoformat()
    if answer.reason:
        d["reason"] = answer.reason
    if answer.notes:
        d["notes"] = list(answer.notes)
    if answer.id:
        d["id"] = answer.id
    if answer.lines:
        d["lines"] = [{"line_id": ln.line_id, "response": ln.response, **({"description": ln.description} if ln.description else {})}
                      for ln in answer.lines]
    return d


# --------------------------------------------------------------------------- system responses

#: GİB's system-response status codes (Ek-2 e-Fatura Uygulaması Sistem Yanıtı Şema Yapısı
#: v1.5, §4): code -> (GİB's text, what it means for the envelope: pending, failed, done)
SYSTEM_RESPONSE_CODES: dict[str, tuple[str, str]] = {
    "1000": ("ZARF KUYRUGA EKLENDI", "pending"), "1100": ("ZARF ISLENIYOR", "pending"),
    "1110": ("ZIP DOSYASI DEGIL", "failed"), "1111": ("ZARF ID UZUNLUGU GECERSIZ", "failed"),
    "1120": ("ZARF ARSIVDEN_KOPYALANAMADI", "failed"), "1130": ("ZIP ACILAMADI", "failed"),
    "1131": ("ZIP BIR DOSYA ICERMELI", "failed"), "1132": ("XML DOSYASI DEGIL", "failed"),
    "1133": ("ZARF ID VE XML DOSYASININ ADI AYNI OLMALI", "failed"), "1140": ("DOKUMAN AYRISTIRILAMADI", "failed"),
    "1141": ("ZARF ID YOK", "failed"), "1142": ("ZARF ID VE ZIP DOSYASI ADI AYNI OLMALI", "failed"),
    "1143": ("GECERSIZ VERSIYON", "failed"), "1150": ("SCHEMATRON KONTROL SONUCU HATALI", "failed"),
    "1160": ("XML SEMA KONTROLUNDEN GECEMEDI", "failed"), "1161": ("IMZA SAHIBI TCKN VKN ALINAMADI", "failed"),
    "1162": ("IMZA KAYDEDILEMEDI", "failed"),
    "1163": ("GONDERILEN ZARF SISTEMDE DAHA ONCE KAYITLI OLAN BIR FATURAYI ICERMEKTEDIR", "failed"),
    "1164": ("GONDERILEN ZARF SISTEMDE DAHA ONCE KAYITLI OLAN BIR BELGEYI ICERMEKTEDIR", "failed"),
    "1170": ("YETKI KONTROL EDILEMEDI", "failed"), "1171": ("GONDERICI BIRIM YETKISI YOK", "failed"),
    "1172": ("POSTA KUTUSU YETKISI YOK", "failed"), "1175": ("IMZA YETKISI KONTROL EDILEMEDI", "failed"),
    "1176": ("IMZA SAHIBI YETKISIZ", "failed"), "1177": ("GEÇERSİZ İMZA", "failed"),
    "1180": ("ADRES KONTROL EDILEMEDI", "failed"), "1181": ("ADRES BULUNAMADI", "failed"),
    "1182": ("KULLANICI EKLENEMEDİ", "failed"), "1183": ("KULLANICI SİLENEMEDİ", "failed"),
    "1190": ("SISTEM YANITI HAZIRLANAMADI", "failed"), "1195": ("SISTEM HATASI", "failed"),
    "1200": ("ZARF BASARIYLA ISLENDI", "done"), "1210": ("DOKUMAN BULUNAN ADRESE GONDERILEMEDI", "pending"),
    "1215": ("DOKUMAN GONDERIMI BASARISIZ. TEKRAR GONDERME SONLANDI", "failed"),
    "1220": ("HEDEFTEN SISTEM YANITI GELMEDI", "pending"), "1230": ("HEDEFTEN SISTEM YANITI BASARISIZ GELDI", "failed"),
    "1235": ("FATURA IPTAL'E KONU EDILDI", "done"), "1300": ("BASARIYLA TAMAMLANDI", "done"),
}


def system_status(code: str) -> tuple[str, str]:
    """GİB's text and ``pending`` / ``failed`` / ``done`` for a system-response code
    (``("", "unknown")`` for a code GİB's table does not list)."""
    return SYSTEM_RESPONSE_CODES.get(code.strip(), ("", "unknown"))


# --------------------------------------------------------------------------- for people

_TITLES = {"KABUL": "KABUL (Accepted)", "RED": "RED (Rejected)", "IADE": "İADE (Returned)"}


def render_html(source: bytes | str | Path | etree._Element) -> bytes:
    """An application response (or a system response) as an HTML page in Turkish:
    who answers whom, which invoice, the answer and its reason, line responses, notes.
    Raises :class:`AnswerReadError` for what is not a readable ApplicationResponse."""
    a = parse(source)
    system = a.response == "S_APR" or a.profile == "UBL-TR-PROFILE-1"
    html = _env().get_template("html/application-response.html.j2").render(
        a=a, title=_TITLES.get(a.response, a.response), system=system, status=system_status)
    return html.encode("utf-8")


def with_received(answer: Answer, received: _dt.date) -> Answer:
    return replace(answer, invoice=replace(answer.invoice, received_date=received))

