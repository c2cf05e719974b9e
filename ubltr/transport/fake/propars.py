"""A fake Propars (sale invoices), as ``../shared/provider-docs/propars-sale-invoice.md`` describes it.

* every request needs ``Authorization: Token <token>`` (the document is silent on
  authentication; Propars' ``/api/v1/.../`` paths are Django REST framework's, whose
  token scheme this is), else 401 ``{"detail": ...}``;
* a sale carries at most one invoice: the sale code is the idempotency key.
  ``invoice_html_for_sale`` creates the invoice when the sale has none;
  ``send_invoice_for_sale`` creates-and-sends, or sends the created one, and refuses
  (400) a sale whose invoice was already sent;
* ``get_signed_xml_for_sale`` answers the signed XML of a sent invoice, 404 otherwise;
* ``cancel_invoice_by_code`` cancels an e-Arşiv invoice, or an e-Fatura not yet sent.
  Which sales are e-Fatura is a property of the real account; here sale codes that
  start with ``EF-`` are e-Fatura sales, all others e-Arşiv.

Every sale code is taken to exist (the harness does not pre-register sales); a sale
code of ``MISSING-...`` answers 404 like an unknown sale.
"""

from __future__ import annotations

import datetime as _dt
import html
import re
import uuid as _uuid

from ..propars import CANCEL_PATH, PREVIEW_PATH, SEND_PATH, SIGNED_XML_PATH
from .server import FakeRequest, FakeResponse, Handler

__all__ = ["ProparsFake"]

_UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_NUMBER = re.compile(r"[A-Z0-9]{3}20\d{2}\d{9}")


def _signed_xml(rec: dict) -> bytes:
    """A minimal UBL invoice standing in for the signed document (identity only)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" '
        'xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
        f'<cbc:ProfileID>{"TEMELFATURA" if rec["kind"] == "efatura" else "EARSIVFATURA"}</cbc:ProfileID>'
        f'<cbc:ID>{rec["invoice_number"]}</cbc:ID><cbc:UUID>{rec["uuid"]}</cbc:UUID>'
        f'<cbc:IssueDate>{rec["invoice_date"][:10]}</cbc:IssueDate></Invoice>'
    ).encode()


class ProparsFake(Handler):
    name = "propars"
    idempotency = "sale_code"
    default_credentials = {"token": "test-token"}

    # ------------------------------------------------------------------ framework hooks
    def error(self, status: int, code: str, message: str) -> FakeResponse:
        return FakeResponse.json(status, {"detail": message, "code": code})

    def key_of(self, req: FakeRequest) -> str | None:
        return req.param("sale_code") or req.param("sale_id")

    def is_send(self, req: FakeRequest) -> bool:
        return req.method == "POST" and req.path == SEND_PATH

    # ------------------------------------------------------------------ routes
    def handle(self, req: FakeRequest) -> FakeResponse:
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        if scheme != "Token" or not token:
            return FakeResponse.json(401, {"detail": "Authentication credentials were not provided."})
        if token.strip() != self.ctx.credentials.get("token"):
            return FakeResponse.json(401, {"detail": "Invalid token."})
        routes = {("GET", PREVIEW_PATH): self._preview, ("POST", SEND_PATH): self._send,
                  ("GET", SIGNED_XML_PATH): self._signed_xml, ("PATCH", CANCEL_PATH): self._cancel}
        route = routes.get((req.method, req.path))
        if route is None:
            if any(req.path == p for _, p in routes):
                return FakeResponse.json(405, {"detail": f'Method "{req.method}" not allowed.'})
            return FakeResponse.json(404, {"detail": "Not found."})
        code = req.param("sale_code") or req.param("sale_id")
        if not code:
            return FakeResponse.json(400, {"sale_code": ["sale_code veya sale_id gereklidir."]})
        if code.startswith("MISSING-"):
            return FakeResponse.json(404, {"detail": "Not found."})
        return route(req, code)

    def _params(self, req: FakeRequest) -> tuple[dict[str, list[str]], dict[str, str | None]]:
        errors: dict[str, list[str]] = {}
        uuid = req.param("invoice_uuid")
        if uuid is not None and not _UUID4.fullmatch(uuid.lower()):
            errors["invoice_uuid"] = ["uuid version 4 formatında olmalıdır."]
        number = req.param("invoice_number")
        if number is not None and not _NUMBER.fullmatch(number):
            errors["invoice_number"] = ["Fatura numarası 16 karakter olmalıdır (ABC2026000000001)."]
        date = req.param("invoice_date")
        if date is not None:
            try:
                _dt.datetime.strptime(date, "%Y-%m-%dT%H:%M:%S%z")
            except ValueError:
                errors["invoice_date"] = ["Tarih formatı 2018-05-02T09:00:00+0300 olmalıdır."]
        return errors, {"uuid": uuid, "invoice_number": number, "invoice_date": date}

    def _new(self, code: str, p: dict[str, str | None]) -> dict:
        serial = self.ctx.ledger.next_serial()
        return {"id": serial, "sale_code": code, "uuid": (p["uuid"] or str(_uuid.uuid4())).lower(),
                "invoice_number": p["invoice_number"] or f"PRP{_dt.date.today().year}{serial:09d}",
                "invoice_date": p["invoice_date"] or _dt.datetime.now(_dt.timezone.utc).isoformat(),
                "kind": "efatura" if code.startswith("EF-") else "earsiv", "status": "created"}

    @staticmethod
    def _public(rec: dict) -> dict:
        return {k: rec[k] for k in ("id", "sale_code", "uuid", "invoice_number", "invoice_date", "status")} | {
            "type": "e-fatura" if rec["kind"] == "efatura" else "e-arsiv"}

    def _preview(self, req: FakeRequest, code: str) -> FakeResponse:
        errors, p = self._params(req)
        if errors:
            return FakeResponse.json(400, errors)
        _, rec = self.ctx.ledger.create(code, self._new(code, p), dedup=True)
        body = (f"<html><body><h1>Fatura {html.escape(rec['invoice_number'])}</h1>"
                f"<p>ETTN {html.escape(rec['uuid'])}</p></body></html>").encode()
        return FakeResponse(200, body, content_type="text/html; charset=utf-8")

    def _send(self, req: FakeRequest, code: str) -> FakeResponse:
        errors, p = self._params(req)
        if errors:
            return FakeResponse.json(400, errors)
        with self.ctx.ledger.lock:
            created, rec = self.ctx.ledger.create(code, self._new(code, p), dedup=True)
            if not created and rec["status"] != "created":
                return FakeResponse.json(400, {"detail": f"{code} siparişinin faturası zaten gönderilmiş."})
            rec["status"] = "sent"
            self.ctx.ledger.save(code)
            return FakeResponse.json(200, self._public(rec))

    def _signed_xml(self, req: FakeRequest, code: str) -> FakeResponse:
        rec = self.ctx.ledger.get(code)
        if rec is None or rec["status"] not in ("sent", "cancelled"):
            return FakeResponse.json(404, {"detail": "Not found."})
        return FakeResponse(200, _signed_xml(rec), content_type="application/xml")

    def _cancel(self, req: FakeRequest, code: str) -> FakeResponse:
        with self.ctx.ledger.lock:
            rec = self.ctx.ledger.get(code)
            if rec is None:
                return FakeResponse.json(404, {"detail": "Not found."})
            if rec["status"] == "cancelled":
                return FakeResponse.json(400, {"detail": "Fatura zaten iptal edilmiş."})
            if rec["kind"] == "efatura" and rec["status"] == "sent":
                return FakeResponse.json(400, {"detail": "Yalnızca e-arşiv faturaları iptal edilebilir."})
            rec["status"] = "cancelled"
            self.ctx.ledger.save(code)
            return FakeResponse.json(200, self._public(rec))
