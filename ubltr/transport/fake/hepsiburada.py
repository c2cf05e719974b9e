"""A fake Hepsiburada e-faturam (Uyumsoft JSON action API) on the fake-server framework.

``POST /`` with ``{"Action", "parameters": {..., "userInfo"}}``; answers are
``{"IsSucceded", "Message", "Value"}``.  The invoice's JSON object form is turned back
into UBL-TR (the inverse of the client's codec) and checked with our validator, as the
platform checks what it queues.  Duplicates: a ``LocalDocumentId`` or UUID already
held is refused (``IsSucceded: false``) — "Gönderici e-faturada kullandığı bir
LocalDocumentId'yi bir önceki hata almadığı sürece tekrar sisteme gönderemez".
Refused credentials answer HTTP 401 in the same shape (see the client's assumptions).
Stored invoices are ``Approved`` (1000) at once; e-Arşiv ones too.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

from ..hepsiburada import codec
from .server import FakeRequest, FakeResponse, Handler

#: what the platform puts first when it signs (our validator accepts this placeholder)
PLACEHOLDER_EXTENSIONS = (
    b'<ext:UBLExtensions xmlns:ext="urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2">'
    b'<ext:UBLExtension><ext:ExtensionContent><ubltr:Unsigned xmlns:ubltr="urn:ubltr:draft"/>'
    b'</ext:ExtensionContent></ext:UBLExtension></ext:UBLExtensions>')

#: VKN/TCKN -> aliases registered as e-Fatura users (the documents' sample parties)
EINVOICE_USERS = {
    "9000500394": {"urn:mail:defaultpk@uyumsoft.com.tr"},
    "9876543217": {"urn:mail:defaultpk@alici.com.tr"},
    "1288331521": {"urn:mail:defaultpk@gib.gov.tr"},
}


def _answer(ok: bool, message: str | None = None, value: Any = None, status: int = 200) -> FakeResponse:
    return FakeResponse.json(status, {"IsSucceded": ok, "Message": message, "Value": value})


class HepsiburadaFake(Handler):
    name = "hepsiburada"
    idempotency = "LocalDocumentId"
    default_credentials = {"username": "HBTest1", "password": "HBTest1"}

    def error(self, status: int, code: str, message: str) -> FakeResponse:
        return _answer(False, f"{code}: {message}", status=status)

    @staticmethod
    def _body(req: FakeRequest) -> dict[str, Any] | None:
        body = req.json()
        return body if isinstance(body, dict) else None

    def is_send(self, req: FakeRequest) -> bool:
        body = self._body(req)
        return body is not None and body.get("Action") == "SendInvoice"

    def key_of(self, req: FakeRequest) -> str | None:
        body = self._body(req) or {}
        params = body.get("parameters") or {}
        if body.get("Action") == "SendInvoice":
            try:
                return str(params["invoices"][0]["Invoice"]["Uuid"]["value"]).lower()
            except (KeyError, IndexError, TypeError):
                return None
        ids = params.get("invoiceIds")
        return str(ids[0]).lower() if isinstance(ids, list) and ids else None

    def handle(self, req: FakeRequest) -> FakeResponse:
        if req.method != "POST":
            return _answer(False, "Only POST is served", status=405)
        body = self._body(req)
        if body is None or not isinstance(body.get("parameters"), dict):
            return _answer(False, 'expected {"Action": ..., "parameters": {...}}', status=400)
        params = body["parameters"]
        user = params.get("userInfo") or {}
        creds = self.ctx.credentials
        if user.get("Username") != creds.get("username") or user.get("Password") != creds.get("password"):
            return _answer(False, "Kullanıcı adı veya şifre hatalı", status=401)
        action = body.get("Action")
        if action == "SendInvoice":
            return self._send(params)
        if action == "QueryOutboxInvoiceStatus":
            return self._status(params)
        if action == "IsEInvoiceUser":
            vkn = str(params.get("vknTckn") or "")
            alias = str(params.get("alias") or "")
            aliases = EINVOICE_USERS.get(vkn, set())
            return _answer(True, None, bool(aliases) and (not alias or alias in aliases))
        if action == "CancelEArchiveInvoice":
            return self._cancel(params)
        if action in ("GetOutboxInvoicePdf", "GetOutboxInvoiceData"):
            return self._data(action, params)
        return _answer(False, f"Bilinmeyen işlem: {action}", status=400)

    # ------------------------------------------------------------------ SendInvoice
    def _send(self, params: dict[str, Any]) -> FakeResponse:
        infos = params.get("invoices")
        if not isinstance(infos, list) or not infos:
            return _answer(False, "invoices boş olamaz")
        prepared = []
        for i, info in enumerate(infos):
            if not isinstance(info, dict) or not isinstance(info.get("Invoice"), dict):
                return _answer(False, f"invoices[{i}].Invoice eksik")
            try:
                xml = codec().to_xml(info["Invoice"], PLACEHOLDER_EXTENSIONS)
            except ValueError as exc:
                return _answer(False, f"invoices[{i}].Invoice: {exc}")
            verdict = self.ctx.validate(xml)
            if not verdict.valid:
                first = verdict.findings[0] if verdict.findings else None
                detail = f"{first.rule}: {first.message}" if first else "geçersiz fatura"
                return _answer(False, f"invoices[{i}]: şema/şematron hatası — {detail}")
            inv = info["Invoice"]
            try:
                uuid = str(inv["Uuid"]["value"]).lower()
            except (KeyError, TypeError):
                return _answer(False, f"invoices[{i}].Invoice.Uuid: the fake needs the sender's UUID")
            number = str((inv.get("Id") or {}).get("value") or "")
            profile = str((inv.get("ProfileId") or {}).get("value") or "")
            scenario = info.get("Scenario", 0)
            if scenario not in (0, 1, 2):
                return _answer(False, f"invoices[{i}].Scenario: 0, 1 or 2")
            if scenario == 2 and profile != "EARSIVFATURA" or scenario == 1 and profile == "EARSIVFATURA":
                return _answer(False, f"invoices[{i}]: Scenario ile ProfileId uyuşmuyor")
            local = str(info.get("LocalDocumentId") or "")
            prepared.append((uuid, number, profile, local, xml))
        ledger = self.ctx.ledger
        with ledger.lock:  # all or nothing, like one queued batch
            for uuid, number, _, local, _ in prepared:
                if ledger.get(uuid) is not None:
                    return _answer(False, f"Bu UUID ile fatura daha önce gönderilmiş: {uuid}")
                if local and local in ledger.indexes["local"]:
                    return _answer(False, f"LocalDocumentId daha önce kullanılmış: {local}")
                if number and number in ledger.indexes["number"]:
                    return _answer(False, f"Fatura numarası daha önce kullanılmış: {number}")
            value = []
            for uuid, number, profile, local, xml in prepared:
                if not number:
                    number = f"HBF{_dt.date.today().year}{ledger.next_serial():09d}"
                ledger.create(uuid, {"uuid": uuid, "number": number, "local": local, "code": 1000,
                                     "scenario": "earchive" if profile == "EARSIVFATURA" else "einvoice",
                                     "xml": xml})   # what the platform holds (from its JSON form)
                if local:
                    ledger.indexes["local"].add(local)
                ledger.indexes["number"].add(number)
                value.append({"Id": uuid, "Number": number,
                              "InvoiceScenario": "earchive" if profile == "EARSIVFATURA" else "einvoice"})
        return _answer(True, None, value)

    # ------------------------------------------------------------------ QueryOutboxInvoiceStatus
    def _status(self, params: dict[str, Any]) -> FakeResponse:
        ids = params.get("invoiceIds")
        if not isinstance(ids, list):
            return _answer(False, "invoiceIds bir liste olmalı")
        names = {1000: "Approved", 10: "Canceled", 1400: "eArchiveCanceled"}
        out = []
        for raw in ids[:100]:
            rec = self.ctx.ledger.get(str(raw).lower())
            if rec is None:
                continue
            out.append({"InvoiceId": rec["uuid"], "Number": rec["number"], "Status": names.get(rec["code"], "Queued"),
                        "StatusCode": rec["code"], "Message": None})
        return _answer(True, None, out)


    # ------------------------------------------------------------------ CancelEArchiveInvoice, GetOutbox...
    def _cancel(self, params: dict[str, Any]) -> FakeResponse:
        """Manual 4.4.1: e-Arşiv invoices only; an already cancelled one is refused."""
        items = params.get("invoices")
        if not isinstance(items, list) or not items:
            return _answer(False, "invoices bir liste olmalı")
        ledger = self.ctx.ledger
        with ledger.lock:
            for item in items:
                uuid = str((item or {}).get("InvoiceId") or "").lower() if isinstance(item, dict) else ""
                if not (isinstance(item, dict) and item.get("CancelDate")):
                    return _answer(False, "InvoiceId ve CancelDate zorunludur")
                rec = ledger.get(uuid)
                if rec is None:
                    return _answer(False, f"Fatura bulunamadı: {uuid}")
                if rec.get("scenario") != "earchive":
                    return _answer(False, "Yalnızca e-Arşiv faturaları iptal edilebilir")
                if rec["code"] in (10, 1400):
                    return _answer(False, "Fatura zaten iptal edilmiş")
            for item in items:
                ledger.update(str(item["InvoiceId"]).lower(), code=1400)
        return _answer(True, None, True)

    def _data(self, action: str, params: dict[str, Any]) -> FakeResponse:
        import base64

        rec = self.ctx.ledger.get(str(params.get("invoiceId") or "").lower())
        if rec is None:
            return _answer(False, "Fatura bulunamadı")
        data = rec.get("xml") or b""
        if action == "GetOutboxInvoicePdf":
            data = b"%PDF-1.4\n% ubltr fake: " + str(rec["number"]).encode() + b"\n%%EOF\n"
        return _answer(True, None, {"Data": base64.b64encode(data).decode("ascii")})


__all__ = ["HepsiburadaFake"]


# ====================================================================== inbox (issue #13)
# The receiving side of Uyumsoft's manual (§2.2): GetInboxInvoices, GetInboxInvoiceData,
# SetInvoicesTaken, SendDocumentResponse, QueryDocumentResponseStatus.  A separate
# handler so the sending fake stays as it is; tests seed it with receive().

import base64 as _base64  # noqa: E402

from ..base import Document as _Document  # noqa: E402
from .inbox import Incoming  # noqa: E402

_RESPONSE_STATUS = {1: "RED", 2: "KABUL"}


class HepsiburadaInboxFake(HepsiburadaFake):
    """:class:`HepsiburadaFake` plus the incoming invoices of the account."""

    def __init__(self, ctx: Any) -> None:
        super().__init__(ctx)
        self.incoming = Incoming()

    def receive(self, xml: bytes) -> str:
        uuid = _Document.from_xml(xml).uuid.lower()
        self.incoming.add(uuid, xml)
        return uuid

    def is_send(self, req: FakeRequest) -> bool:
        body = self._body(req)
        return super().is_send(req) or (body is not None and body.get("Action") == "SendDocumentResponse")

    def handle(self, req: FakeRequest) -> FakeResponse:
        body = self._body(req) if req.method == "POST" else None
        action = body.get("Action") if body else None
        handler = {"GetInboxInvoices": self._inbox, "GetInboxInvoiceData": self._inbox_data,
                   "SetInvoicesTaken": self._taken, "SendDocumentResponse": self._respond,
                   "QueryDocumentResponseStatus": self._response_status}.get(str(action))
        if handler is None or body is None:
            return super().handle(req)
        params = body.get("parameters")
        if not isinstance(params, dict):
            return _answer(False, 'expected {"Action": ..., "parameters": {...}}', status=400)
        user = params.get("userInfo") or {}
        creds = self.ctx.credentials
        if user.get("Username") != creds.get("username") or user.get("Password") != creds.get("password"):
            return _answer(False, "Kullanıcı adı veya şifre hatalı", status=401)
        return handler(params)

    def _inbox(self, params: dict[str, Any]) -> FakeResponse:
        q = params.get("query") or {}
        try:
            size = max(1, min(100, int(q.get("PageSize") or 20)))
            index = max(0, int(q.get("PageIndex") or 0))
        except (TypeError, ValueError):
            return _answer(False, "PageSize/PageIndex sayı olmalı")
        with self.incoming.lock:
            items = [i for i in self.incoming.invoices.values() if not (q.get("OnlyNewestInvoices") and i.taken)]
            chunk = items[index * size:(index + 1) * size]
            if q.get("SetTaken"):
                for i in chunk:
                    i.taken = True
        return _answer(True, None, {"Items": [{"Invoice": codec().to_json(i.xml)} for i in chunk],
                                    "TotalCount": len(items), "TotalPages": (len(items) + size - 1) // size,
                                    "PageIndex": index, "PageSize": size})

    def _inbox_data(self, params: dict[str, Any]) -> FakeResponse:
        inv = self.incoming.get(str(params.get("invoiceId") or ""))
        if inv is None:
            return _answer(False, "Fatura bulunamadı")
        return _answer(True, None, {"Data": _base64.b64encode(inv.xml).decode("ascii")})

    def _taken(self, params: dict[str, Any]) -> FakeResponse:
        ids = params.get("invoiceIds")
        if not isinstance(ids, list):
            return _answer(False, "invoiceIds bir liste olmalı")
        unknown = self.incoming.take(ids)
        return _answer(not unknown, f"Bilinmeyen faturalar: {', '.join(unknown)}" if unknown else None, not unknown)

    def _respond(self, params: dict[str, Any]) -> FakeResponse:
        items = params.get("responses")
        if not isinstance(items, list) or not items:
            return _answer(False, "responses boş olamaz")
        for item in items:
            if not isinstance(item, dict) or item.get("Status") not in _RESPONSE_STATUS:
                return _answer(False, "Status 1 (Declined) ya da 2 (Approved) olmalı")
        results = [self.incoming.answer(str(i.get("InvoiceId") or ""), _RESPONSE_STATUS[i["Status"]], i.get("Reason"))
                   for i in items]
        if any(r != "ok" for r in results):
            return _answer(False, "Faturaya daha önce yanıt verilmiş ya da fatura bulunamadı", False)
        return _answer(True, None, True)

    def _response_status(self, params: dict[str, Any]) -> FakeResponse:
        ids = params.get("invoiceIds")
        if not isinstance(ids, list):
            return _answer(False, "invoiceIds bir liste olmalı")
        out = []
        with self.incoming.lock:
            for raw in ids[:100]:
                inv = self.incoming.invoices.get(str(raw).lower())
                if inv is not None and inv.answer:
                    out.append({"InvoiceId": inv.uuid, "Status": "Success", "Message": None})
        return _answer(True, None, out)


__all__ = ["HepsiburadaFake", "HepsiburadaInboxFake"]
