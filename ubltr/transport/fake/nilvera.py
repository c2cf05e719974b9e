"""A fake Nilvera speaking the subset of its OpenAPI that :mod:`ubltr.transport.nilvera` uses.

Errors come in Nilvera's shape, ``{"Errors": [{"Code", "Description", "Detail"}]}``
with codes from its ``ErrorCodes`` enum; a missing or wrong API key answers ``403``
"Yetkisiz Erişim", the only authorization status Nilvera's OpenAPI documents (the
client treats 401 the same way).  The idempotency
key is the document's UUID: a second send answers ``409 UUIDAlreadySaved``.

Fake simplifications: a stored document's GİB status is ``succeed`` at once; the
marketplace ``SendStore`` treats ``OrderUUID`` as the UUID of an invoice the fake
holds; the taxpayer list is a small fixed table (the GİB samples' parties).
"""

from __future__ import annotations

import datetime as _dt
import io
import re
import uuid as _uuid
import zipfile
from typing import Any

from ..base import Document
from .server import FakeRequest, FakeResponse, Handler

_UUID_RE = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_ROUTES = [
    ("POST", re.compile(r"^/(einvoice|earchive)/Send/Xml$"), "send"),
    ("GET", re.compile(rf"^/einvoice/Sale/({_UUID_RE})/Status$"), "einvoice_status"),
    ("GET", re.compile(rf"^/earchive/Invoices/({_UUID_RE})/Status$"), "earchive_status"),
    ("GET", re.compile(rf"^/einvoice/Sale/({_UUID_RE})/(pdf|xml|html)$"), "einvoice_file"),
    ("GET", re.compile(rf"^/earchive/Invoices/({_UUID_RE})/(pdf|xml|html)$"), "earchive_file"),
    ("PUT", re.compile(rf"^/earchive/Invoices/({_UUID_RE})/Cancel$"), "cancel"),
    ("GET", re.compile(r"^/general/GlobalCompany/Check/TaxNumber/([^/]+)$"), "taxpayer"),
    ("POST", re.compile(r"^/marketplace/Invoices/SendStore$"), "send_store"),
]

#: registered e-Fatura users the fake knows (VKN -> (title, alias))
TAXPAYERS = {
    "1288331521": ("GİB Örnek Gönderici A.Ş.", "urn:mail:defaultgb@hs01.kep.tr"),
    "1234567801": ("Örnek Alıcı Ltd.", "urn:mail:defaultpk@ornek.com.tr"),
    "9000500394": ("Uyumsoft Bilgi Sistemleri", "urn:mail:defaultpk@uyumsoft.com.tr"),
}
_CREATED = "2024-01-01T00:00:00+03:00"
_MINI_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
             b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _err(status: int, code: str, description: str, detail: str | None = None) -> FakeResponse:
    return FakeResponse.json(status, {"Errors": [{"Code": code, "Description": description, "Detail": detail}]})


class NilveraFake(Handler):
    name = "nilvera"
    idempotency = "UUID"
    default_credentials = {"api_key": "test-nilvera-key"}

    def error(self, status: int, code: str, message: str) -> FakeResponse:
        return _err(status, code, message)

    def is_send(self, req: FakeRequest) -> bool:
        return req.method == "POST" and req.path.endswith("/Send/Xml")

    def key_of(self, req: FakeRequest) -> str | None:
        if self.is_send(req):
            xml = self._payload(req)
            if xml is not None:
                try:
                    return Document.from_xml(xml).uuid.lower()
                except ValueError:
                    return None
            return None
        m = re.search(_UUID_RE, req.path)
        return m.group(0).lower() if m else None

    # ------------------------------------------------------------------ dispatch
    def handle(self, req: FakeRequest) -> FakeResponse:
        if req.bearer() != self.ctx.credentials.get("api_key"):
            return _err(403, "Unauthorized", "Yetkisiz Erişim", "missing or invalid Bearer API key")
        allowed = []
        for method, pattern, action in _ROUTES:
            m = pattern.match(req.path)
            if m and req.method == method:
                return getattr(self, action)(req, *m.groups())
            if m:
                allowed.append(method)
        if allowed:
            resp = _err(405, "MethodNotAllowed", "Yöntem desteklenmiyor", f"{req.method} {req.path}")
            resp.headers["Allow"] = ", ".join(allowed)
            return resp
        return _err(404, "APINotFound", "Kayıt bulunamadı", f"{req.method} {req.path}")

    @staticmethod
    def _payload(req: FakeRequest) -> bytes | None:
        data = req.multipart_file("file")
        if data is not None and data[:2] == b"PK":  # "zipli yada açık": a zip holding one XML
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as zf:
                    names = [n for n in zf.namelist() if n.lower().endswith(".xml")]
                    if len(names) != 1 or zf.getinfo(names[0]).file_size > 20 * 1024 * 1024:
                        return None
                    return zf.read(names[0])
            except zipfile.BadZipFile:
                return None
        return data

    # ------------------------------------------------------------------ send
    def send(self, req: FakeRequest, kind: str) -> FakeResponse:
        xml = self._payload(req)
        if not xml:
            return _err(400, "FileSizeCannotBeZero", "Dosya bulunamadı", "multipart field 'file' is required")
        verdict = self.ctx.validate(xml)
        if not verdict.valid:
            errors = [{"Code": (f.provider_codes.get("nilvera") or "SchemaSchematronError"),
                       "Description": f.message, "Detail": f.rule} for f in verdict.findings[:50]]
            return FakeResponse.json(422, {"Errors": errors or [{"Code": "ValidateUblError",
                                                                 "Description": "invalid UBL", "Detail": None}]})
        doc = Document.from_xml(xml)
        try:
            key = str(_uuid.UUID(doc.uuid)).lower()
        except ValueError:
            return _err(422, "ValidateUblError", "UUID geçersiz", f"cbc:UUID {doc.uuid!r} is not a UUID")
        archive = (doc.profile or "").upper() == "EARSIVFATURA"
        if kind == "einvoice" and archive:
            return _err(422, "InvoiceScenarioEArchiveMustBeEInvoice", "e-Arşiv faturası e-Fatura ucundan gönderilemez")
        if kind == "earchive" and not archive:
            return _err(422, "FileScenarioMustBeEArchiveDocument", "Dosya senaryosu e-Arşiv olmalıdır")
        ledger = self.ctx.ledger
        with ledger.lock:
            if ledger.get(key) is not None:
                return _err(409, "UUIDAlreadySaved", "UUID daha önce kaydedilmiş", key)
            number = doc.invoice_id
            numbers = ledger.indexes["number"]
            if number and number in numbers:
                return _err(409, "InvoiceSerieAlreadyUsed", "Fatura numarası daha önce kullanılmış", number)
            if not number:
                number = f"NIL{_dt.date.today().year}{ledger.next_serial():09d}"
            numbers.add(number)
            ledger.create(key, {"uuid": key, "kind": kind, "number": number, "xml": xml,
                                "profile": (doc.profile or "TEMELFATURA").upper(), "status": "succeed",
                                "canceled": False, "alias": req.param("Alias")})
        return FakeResponse.json(200, {"UUID": key, "InvoiceNumber": number})

    # ------------------------------------------------------------------ status
    def _record(self, uuid: str, kind: str) -> dict[str, Any] | None:
        rec = self.ctx.ledger.get(uuid.lower())
        return rec if rec is not None and rec["kind"] == kind else None

    def einvoice_status(self, req: FakeRequest, uuid: str) -> FakeResponse:
        rec = self._record(uuid, "einvoice")
        if rec is None:
            return _err(404, "DocumentNotFound", "Belge bulunamadı", uuid)
        profile = rec["profile"] if rec["profile"] in {"TEMELFATURA", "TICARIFATURA", "IHRACAT", "YOLCUBERABERFATURA",
                                                       "KAMU", "HKS", "ENERJI"} else "TEMELFATURA"
        return FakeResponse.json(200, {
            "InvoiceProfile": profile,
            "IssueDate": _CREATED,
            "InvoiceStatus": {"Code": rec["status"], "Description": "Başarılı" if rec["status"] == "succeed" else None,
                              "DetailDescription": None},
            "EnvelopeInfo": {"UUID": rec["uuid"], "GIBCode": 1300, "GIBDescription": "BAŞARIYLA TAMAMLANDI",
                             "CreatedDate": _CREATED},
        })

    def earchive_status(self, req: FakeRequest, uuid: str) -> FakeResponse:
        rec = self._record(uuid, "earchive")
        if rec is None:
            return _err(404, "DocumentNotFound", "Belge bulunamadı", uuid)
        return FakeResponse.json(200, {"StatusDetail": "Başarılı", "StatusCode": rec["status"],
                                       "ReportStatus": "NotReported", "CancelStatus": bool(rec["canceled"])})

    # ------------------------------------------------------------------ files, cancel, lookup
    def _file(self, rec: dict[str, Any] | None, uuid: str, fmt: str) -> FakeResponse:
        if rec is None:
            return _err(404, "DocumentNotFound", "Belge bulunamadı", uuid)
        if fmt == "xml":
            return FakeResponse(200, rec["xml"], "application/xml")
        if fmt == "html":
            return FakeResponse(200, f"<html><body>{rec['number']}</body></html>".encode(), "text/html")
        return FakeResponse(200, _MINI_PDF, "application/pdf")

    def einvoice_file(self, req: FakeRequest, uuid: str, fmt: str) -> FakeResponse:
        return self._file(self._record(uuid, "einvoice"), uuid, fmt)

    def earchive_file(self, req: FakeRequest, uuid: str, fmt: str) -> FakeResponse:
        return self._file(self._record(uuid, "earchive"), uuid, fmt)

    def cancel(self, req: FakeRequest, uuid: str) -> FakeResponse:
        with self.ctx.ledger.lock:
            rec = self._record(uuid, "earchive")
            if rec is None:
                return _err(404, "DocumentNotFound", "Belge bulunamadı", uuid)
            if rec["canceled"]:
                return _err(422, "InvoiceAlreadyCanceled", "Fatura zaten iptal edilmiş", uuid)
            rec["canceled"] = True
            self.ctx.ledger.save(rec["uuid"])
        return FakeResponse.json(200, [f"{rec['number']} iptal edildi"])

    def taxpayer(self, req: FakeRequest, tax_number: str) -> FakeResponse:
        if tax_number not in TAXPAYERS:
            return FakeResponse.json(200, [])
        title, alias = TAXPAYERS[tax_number]
        return FakeResponse.json(200, [{"TaxNumber": tax_number, "Title": title, "FirstCreatedTime": _CREATED,
                                        "CreationTime": _CREATED, "DocumentType": "Invoice", "Name": alias,
                                        "Type": "PK"}])

    def send_store(self, req: FakeRequest) -> FakeResponse:
        """Answers 200 in every documented case (the only status the document lists):
        an unknown or missing order is ``IsSuccess: false`` with ``RecordNotFound``."""
        body = req.json() if req.body.strip() else {}  # the body is optional in the document
        if not isinstance(body, dict) or set(body) - {"OrderUUID", "StoreUUID"}:
            return _err(400, "RecordFailure", "Geçersiz istek", "expected {OrderUUID, StoreUUID}")
        rec = None
        try:
            order = str(_uuid.UUID(str(body.get("OrderUUID"))))
            _uuid.UUID(str(body.get("StoreUUID")))
            rec = self.ctx.ledger.get(order)
        except ValueError:
            order = str(body.get("OrderUUID"))
        if rec is None:
            return FakeResponse.json(200, [{"IsSuccess": False, "OrderNumber": None,  # InvoiceDetail: not nullable
                                            "ErrorDetail": [{"Code": "RecordNotFound",
                                                             "Description": "Sipariş bulunamadı", "Detail": order}]}])
        with self.ctx.ledger.lock:
            rec["upload_status"] = 2  # InvoiceUploadStatus.Success
            self.ctx.ledger.save(order)
        return FakeResponse.json(200, [{"IsSuccess": True, "OrderNumber": order[:8].upper(),
                                        "InvoiceDetail": {"InvoiceNumber": rec["number"], "UUID": rec["uuid"]},
                                        "ErrorDetail": None}])


# ====================================================================== inbox (issue #13)
# The receiving side of Nilvera's OpenAPI (einvoice.swagger.json): the purchase (incoming)
# invoices, their XML, the "Transferred" operation, SendAnswer and the purchase status.
# A separate handler so the sending fake stays as it is; tests seed it with receive().

from .inbox import Incoming  # noqa: E402

_INBOX_ROUTES = [
    ("GET", re.compile(r"^/einvoice/Purchase$"), "purchase_list"),
    ("GET", re.compile(rf"^/einvoice/Purchase/({_UUID_RE})/xml$"), "purchase_xml"),
    ("PUT", re.compile(r"^/einvoice/Purchase/Operation/(\w+)$"), "purchase_operation"),
    ("POST", re.compile(r"^/einvoice/Purchase/SendAnswer$"), "purchase_answer"),
    ("GET", re.compile(rf"^/einvoice/Purchase/({_UUID_RE})/Status$"), "purchase_status"),
]
_ANSWER_CODES = {"approved": "KABUL", "rejected": "RED"}


class NilveraInboxFake(NilveraFake):
    """:class:`NilveraFake` plus the incoming invoices of the account."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.incoming = Incoming()

    def receive(self, xml: bytes) -> str:
        """An invoice arrives in the account's inbox (for tests); returns its UUID."""
        uuid = Document.from_xml(xml).uuid.lower()
        self.incoming.add(uuid, xml)
        return uuid

    def is_send(self, req: FakeRequest) -> bool:
        return super().is_send(req) or (req.method == "POST" and req.path.endswith("/SendAnswer"))

    def handle(self, req: FakeRequest) -> FakeResponse:
        for method, pattern, action in _INBOX_ROUTES:
            m = pattern.match(req.path)
            if m and req.method == method:
                if req.bearer() != self.ctx.credentials.get("api_key"):
                    return _err(403, "Unauthorized", "Yetkisiz Erişim", "missing or invalid Bearer API key")
                return getattr(self, action)(req, *m.groups())
        return super().handle(req)

    def purchase_list(self, req: FakeRequest) -> FakeResponse:
        try:
            size = max(1, min(100, int(req.param("PageSize", "20") or 20)))
            page = max(1, int(req.param("Page", "1") or 1))
        except ValueError:
            return _err(400, "ValidationError", "Page/PageSize sayı olmalı")
        only_new = (req.param("IsTransfer") or "").lower() == "false"
        with self.incoming.lock:
            items = [i for i in self.incoming.invoices.values() if not (only_new and i.taken)]
        chunk = items[(page - 1) * size: page * size]
        return FakeResponse.json(200, {"Page": page, "PageSize": size, "TotalCount": len(items),
                                       "TotalPages": (len(items) + size - 1) // size,
                                       "Content": [{"UUID": i.uuid, "IsTransfer": i.taken} for i in chunk]})

    def purchase_xml(self, req: FakeRequest, uuid: str) -> FakeResponse:
        inv = self.incoming.get(uuid)
        if inv is None:
            return _err(404, "NotFound", "Kayıt bulunamadı", uuid)
        return FakeResponse(200, inv.xml, "application/xml")

    def purchase_operation(self, req: FakeRequest, operation: str) -> FakeResponse:
        if operation != "Transferred":
            return _err(400, "ValidationError", f"the fake serves Operation/Transferred only, not {operation}")
        ids = req.json()
        if not isinstance(ids, list):
            return _err(400, "ValidationError", "body must be a list of UUIDs")
        unknown = self.incoming.take(ids)
        if unknown:
            return _err(404, "NotFound", "Kayıt bulunamadı", ", ".join(unknown))
        return FakeResponse.json(200, [str(i) for i in ids])

    def purchase_answer(self, req: FakeRequest) -> FakeResponse:
        body = req.json()
        if not isinstance(body, dict) or body.get("AnswerCode") not in _ANSWER_CODES or not body.get("UUID"):
            return _err(400, "ValidationError", "UUID and AnswerCode (approved|rejected) are required")
        result = self.incoming.answer(str(body["UUID"]), _ANSWER_CODES[body["AnswerCode"]], body.get("RejectNote"))
        if result == "unknown":
            return _err(404, "NotFound", "Kayıt bulunamadı", str(body["UUID"]))
        if result == "answered":
            return _err(409, "AlreadyAnswered", "Faturaya daha önce yanıt verilmiş", str(body["UUID"]))
        return FakeResponse.json(200, str(body["UUID"]))

    def purchase_status(self, req: FakeRequest, uuid: str) -> FakeResponse:
        with self.incoming.lock:
            inv = self.incoming.invoices.get(uuid.lower())
            if inv is None:
                return _err(404, "NotFound", "Kayıt bulunamadı", uuid)
            code = {"KABUL": "approved", "RED": "rejected"}.get(inv.answer or "", "waitingForApproval")
            return FakeResponse.json(200, {"InvoiceProfile": "TICARIFATURA", "Answer": {"AnswerCode": code,
                                                                                        "AnswerNote": inv.reason}})
