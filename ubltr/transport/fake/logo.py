"""A fake Logo MaxiApi ``InvoiceTransfer`` (``../shared/provider-docs/logo-maxiapi-producer-invoice.md``).

* ``POST /MaxiApi/Invoice/InvoiceTransfer`` with the document's list of
  ``{"FirmID", "PeriodNo", "MainParams": [...]}``; answers
  ``{"TransferStatus", "TransferMessage", "Responseline": [{"SourceID", "Isucceed",
  "RecordRef", "RecordFicheNo", "ResponseMsg"}]}``;
* "auth": the document names none.  The fake knows one firm/period (credentials
  ``firm_id`` / ``period_no``); another firm answers ``TransferStatus: false``.  When
  an ``authorization`` credential is configured the ``Authorization`` header must
  carry it (401 otherwise);
* it checks each invoice against the document's columns: the lengths ("Uzunluk"),
  ``InvoiceDate`` / ``DocumentDate`` as ``YYYY-MM-DD``, ``InvoiceTime`` ``HH:MM:SS``,
  integer ``InvoiceType``, ``ClientCode`` present, ``InvoiceRefNo`` 0 (new) or an
  existing ``RecordRef`` (update), and per item line ``ItemCode``, ``Quantity`` > 0,
  ``UnitCode``, ``UnitPrice``, ``VatRate``; a ``LineTotal`` must be quantity x unit
  price to the kuruş (it only absorbs rounding);
* the company knows InvoiceType 26 and 8 only, and the unit sets of ``logo.UNIT_CODES``
  ("Logo da Açılan Birim setlere göre girilmelidir"): anything else is refused;
* **no idempotency**: ``InvoiceRefNo: 0`` always makes a new record, so the same
  invoice posted twice is booked twice.  The ledger counts records under
  ``InvoiceNo`` (or ``SourceID`` when the number is left to Logo).
"""

from __future__ import annotations

import datetime as _dt
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ..logo import LENGTHS, PRODUCER_INVOICE, SALES_INVOICE, TRANSFER_PATH, UNIT_CODES

#: the invoice types this fake company knows: 26 ("Fatura Tipi (Sabit 26)") and the
#: sales type the client sends (8; not in the shared page)
INVOICE_TYPES = frozenset({PRODUCER_INVOICE, SALES_INVOICE})
#: "Birim Set (Logo da Açılan Birim setlere göre girilmelidir)": the unit sets opened in this company
UNIT_SETS = frozenset(UNIT_CODES.values())
from .server import FakeRequest, FakeResponse, Handler

__all__ = ["LogoFake"]

CENT = Decimal("0.01")


def _num(v: Any) -> Decimal | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, str) and v.strip():
        try:
            d = Decimal(v.strip())
        except ArithmeticError:
            return None
        return d if d.is_finite() else None
    return None


def _int(v: Any) -> int | None:
    d = _num(v)
    return int(d) if d is not None and d == d.to_integral_value() else None


def _fmt(v: Any, fmt: str) -> bool:
    try:
        _dt.datetime.strptime(str(v), fmt)
    except ValueError:
        return False
    return True


class LogoFake(Handler):
    name = "logo"
    idempotency = None
    default_credentials = {"firm_id": "1", "period_no": "1"}

    def error(self, status: int, code: str, message: str) -> FakeResponse:
        return FakeResponse.json(status, {"TransferStatus": False, "TransferMessage": message,
                                          "Responseline": []})

    def _body(self, req: FakeRequest) -> Any:
        try:
            return json.loads(req.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            return None

    @staticmethod
    def _mains(body: Any) -> list[dict[str, Any]]:
        out = []
        for firm in body if isinstance(body, list) else []:
            if isinstance(firm, dict):
                out += [m for m in firm.get("MainParams") or [] if isinstance(m, dict)]
        return out

    @staticmethod
    def _key(main: dict[str, Any]) -> str:
        return str(main.get("InvoiceNo") or "") or f"source:{main.get('SourceID')}"

    def key_of(self, req: FakeRequest) -> str | None:
        mains = self._mains(self._body(req))
        return self._key(mains[0]) if mains else None

    def is_send(self, req: FakeRequest) -> bool:
        return req.method == "POST" and req.path == TRANSFER_PATH

    def handle(self, req: FakeRequest) -> FakeResponse:
        if req.path != TRANSFER_PATH:
            return FakeResponse.json(404, {"Message": "No HTTP resource was found that matches the request URI."})
        if req.method != "POST":
            return FakeResponse.json(405, {"Message": "The requested resource does not support this method."})
        wanted = self.ctx.credentials.get("authorization")
        if wanted and req.headers.get("authorization") != wanted:
            return FakeResponse.json(401, {"Message": "Authorization has been denied for this request."})
        body = self._body(req)
        if not isinstance(body, list) or not body:
            return FakeResponse.json(400, {"TransferStatus": False,
                                           "TransferMessage": "İstek bir firma listesi olmalıdır", "Responseline": []})
        lines = []
        for firm in body:
            if not isinstance(firm, dict):
                return self.error(400, "", "Firma bilgisi nesne olmalıdır")
            if (str(_int(firm.get("FirmID"))) != self.ctx.credentials.get("firm_id")
                    or str(_int(firm.get("PeriodNo"))) != self.ctx.credentials.get("period_no")):
                return FakeResponse.json(200, {"TransferStatus": False,
                                               "TransferMessage": "Firma/dönem bulunamadı", "Responseline": []})
            for main in firm.get("MainParams") or []:
                lines.append(self._transfer(main if isinstance(main, dict) else {}))
        return FakeResponse.json(200, {"TransferStatus": True, "TransferMessage": "Transfer Completed!",
                                       "Responseline": lines})

    def _transfer(self, m: dict[str, Any]) -> dict[str, Any]:
        source = str(m.get("SourceID") or "")
        problem = self._check(m)
        if problem:
            return {"SourceID": source, "Isucceed": False, "RecordRef": "", "RecordFicheNo": "",
                    "ResponseMsg": problem}
        ref_no = _int(m.get("InvoiceRefNo"))
        with self.ctx.ledger.lock:
            if ref_no:  # an update of an earlier record
                for key, rec in self.ctx.ledger.records.items():
                    if rec["ref"] == ref_no:
                        rec["main"] = m
                        self.ctx.ledger.save(key)
                        return {"SourceID": source, "Isucceed": True, "RecordRef": str(ref_no),
                                "RecordFicheNo": rec["fiche"], "ResponseMsg": "Güncelleme Başarılı"}
                return {"SourceID": source, "Isucceed": False, "RecordRef": "", "RecordFicheNo": "",
                        "ResponseMsg": f"{ref_no} referanslı fatura bulunamadı"}
            ref = self.ctx.ledger.next_serial()
            fiche = str(m.get("InvoiceNo") or "") or f"{ref:08d}"
            self.ctx.ledger.create(self._key(m), {"ref": ref, "fiche": fiche, "main": m}, dedup=False)
        return {"SourceID": source, "Isucceed": True, "RecordRef": str(ref), "RecordFicheNo": fiche,
                "ResponseMsg": "Aktarım Başarılı"}

    def _check(self, m: dict[str, Any]) -> str | None:
        for key, limit in LENGTHS.items():
            v = m.get(key)
            if v is not None and len(str(v)) > limit:
                return f"{key} en fazla {limit} karakter olabilir"
        if _int(m.get("InvoiceRefNo", 0)) is None:
            return "InvoiceRefNo sayı olmalıdır"
        if not str(m.get("ClientCode") or "").strip():
            return "ClientCode (Cari Hesap Kodu) zorunludur"
        if not _fmt(m.get("InvoiceDate"), "%Y-%m-%d"):
            return "InvoiceDate YYYY-MM-DD formatında olmalıdır"
        if m.get("InvoiceTime") is not None and not _fmt(m.get("InvoiceTime"), "%H:%M:%S"):
            return "InvoiceTime HH:MM:SS formatında olmalıdır"
        if m.get("DocumentDate") is not None and not _fmt(m.get("DocumentDate"), "%Y-%m-%d"):
            return "DocumentDate YYYY-MM-DD formatında olmalıdır"
        if _int(m.get("InvoiceType")) is None:
            return "InvoiceType sayı olmalıdır"
        if _int(m.get("InvoiceType")) not in INVOICE_TYPES:
            return f"InvoiceType {m.get('InvoiceType')} bu firmada tanımlı değil ({', '.join(map(str, sorted(INVOICE_TYPES)))})"
        lines = m.get("LineParams")
        if not isinstance(lines, list) or not lines:
            return "LineParams zorunludur"
        for i, ln in enumerate(lines, start=1):
            if not isinstance(ln, dict):
                return f"{i}. satır nesne olmalıdır"
            for key, limit in LENGTHS.items():
                v = ln.get(key)
                if v is not None and len(str(v)) > limit:
                    return f"{i}. satır: {key} en fazla {limit} karakter olabilir"
            line_type = _int(ln.get("LineType"))
            if line_type is None:
                return f"{i}. satır: LineType zorunludur"
            if line_type == 2:   # a discount line
                continue
            q, p, vat = _num(ln.get("Quantity")), _num(ln.get("UnitPrice")), _num(ln.get("VatRate"))
            if not str(ln.get("ItemCode") or "").strip() or not str(ln.get("UnitCode") or "").strip():
                return f"{i}. satır: ItemCode ve UnitCode zorunludur"
            if str(ln.get("UnitCode")) not in UNIT_SETS:
                return f"{i}. satır: {ln.get('UnitCode')} birim setinde yok"
            if q is None or q <= 0 or p is None or p < 0 or vat is None or not 0 <= vat <= 100:
                return f"{i}. satır: Quantity, UnitPrice veya VatRate hatalı"
            total = ln.get("LineTotal")
            if total is not None:
                t = _num(total)
                if t is None or abs(t - (q * p).quantize(CENT, ROUND_HALF_UP)) > CENT:
                    return f"{i}. satır: LineTotal miktar x birim fiyat ile tutmuyor"
        return None
