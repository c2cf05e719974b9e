"""A fake BizimHesap ``addinvoice`` (``../shared/provider-docs/bizimhesap-addinvoice.md``).

* the credential is the body's ``firmId`` ("Bizimhesap tarafından verilecek özel
  tekil ID"); a wrong one is refused;
* answers are the document's shape, ``{"error": "...", "guid": "...", "url": "..."}``,
  with HTTP 200 for business errors (the document shows bodies only);
* field names are matched case-insensitively (the document's table writes
  ``FirmID`` / ``customers``, its example ``firmId`` / ``customer``); amounts are read
  as exact decimals, from JSON numbers or from strings such as the example's
  ``"2,400.00"``;
* what it checks: invoice type (3/5), currency (TL, USD, EUR, CHF, GBP: the
  document's "Hatalı para birimi"), dates, customer title, and that the amounts add
  up: per line gross = quantity x unit price (kuruş), net = gross - discount,
  tax = net x rate (kuruş, half-up), total = net + tax; document sums of the lines;
* **no idempotency**: the document names no key, so posting the same invoice twice
  creates two invoices.  The ledger counts them under ``invoiceNo`` (or a digest of
  the body when there is none) so the reliability test can see a duplicate.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import uuid as _uuid
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..bizimhesap import ADDINVOICE_PATH
from .server import FakeRequest, FakeResponse, Handler

__all__ = ["BizimHesapFake"]

CENT = Decimal("0.01")
CURRENCIES = frozenset({"TL", "USD", "EUR", "CHF", "GBP"})


def _lower(obj: Any) -> Any:
    """Keys lower-cased, recursively (the provider's binder ignores case)."""
    if isinstance(obj, dict):
        return {str(k).lower(): _lower(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_lower(v) for v in obj]
    return obj


def _dec(v: Any) -> Decimal | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, Decimal)):
        return Decimal(v)
    if isinstance(v, str):
        try:
            d = Decimal(v.replace(",", "").strip())
        except InvalidOperation:
            return None
        return d if d.is_finite() else None
    return None


def _date(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        _dt.datetime.fromisoformat(v)
    except ValueError:
        return False
    return True


class BizimHesapFake(Handler):
    name = "bizimhesap"
    idempotency = None
    default_credentials = {"firm_id": "485E152158494BE590B5F72403398765"}

    def error(self, status: int, code: str, message: str) -> FakeResponse:
        return FakeResponse.json(status, {"error": message, "guid": "", "url": ""})

    def _refuse(self, message: str) -> FakeResponse:
        return FakeResponse.json(200, {"error": message, "guid": "", "url": ""})

    def _body(self, req: FakeRequest) -> dict[str, Any] | None:
        try:
            body = json.loads(req.body.decode("utf-8"), parse_float=Decimal)
        except (UnicodeDecodeError, ValueError):
            return None
        return _lower(body) if isinstance(body, dict) else None

    def key_of(self, req: FakeRequest) -> str | None:
        body = self._body(req)
        if body is None:
            return None
        number = body.get("invoiceno")
        return str(number) if number else "sha256:" + hashlib.sha256(req.body).hexdigest()[:16]

    def is_send(self, req: FakeRequest) -> bool:
        return req.method == "POST" and req.path == ADDINVOICE_PATH

    def handle(self, req: FakeRequest) -> FakeResponse:
        if req.path != ADDINVOICE_PATH:
            return FakeResponse.json(404, {"error": "Bulunamadı", "guid": "", "url": ""})
        if req.method != "POST":
            return FakeResponse.json(405, {"error": "Yalnızca POST", "guid": "", "url": ""})
        body = self._body(req)
        if body is None:
            return FakeResponse.json(400, {"error": "Geçersiz JSON", "guid": "", "url": ""})
        if str(body.get("firmid") or "") != self.ctx.credentials.get("firm_id"):
            return self._refuse("Geçersiz FirmID")
        problem = self._check(body)
        if problem:
            return self._refuse(problem)
        guid = _uuid.uuid4().hex.upper()
        key = self.key_of(req) or guid
        self.ctx.ledger.create(key, {"guid": guid, "body": body}, dedup=False)
        return FakeResponse.json(200, {"error": "", "guid": guid,
                                       "url": f"http://127.0.0.1/fatura/{guid}"})

    def _check(self, b: dict[str, Any]) -> str | None:
        if str(b.get("invoicetype")) not in ("3", "5"):
            return "Hatalı fatura tipi (3: Satış, 5: Alış)"
        dates = b.get("dates")
        if not isinstance(dates, dict) or not _date(dates.get("invoicedate")):
            return "Hatalı fatura tarihi"
        for key in ("duedate", "deliverydate"):
            if dates.get(key) is not None and not _date(dates[key]):
                return f"Hatalı tarih: {key}"
        customer = b.get("customer") or b.get("customers")
        if not isinstance(customer, dict) or not str(customer.get("title") or "").strip():
            return "Müşteri ünvanı gerekli"
        amounts = b.get("amounts")
        if not isinstance(amounts, dict):
            return "Tutar bilgisi gerekli"
        if amounts.get("currency") not in CURRENCIES:
            return "Hatalı para birimi"
        details = b.get("details")
        if not isinstance(details, list) or not details:
            return "Ürün bilgisi gerekli"
        sums = {k: Decimal(0) for k in ("gross", "discount", "net", "tax", "total")}
        for i, d in enumerate(details, start=1):
            if not isinstance(d, dict) or not str(d.get("productname") or "").strip():
                return f"{i}. satır: ürün adı gerekli"
            v = {k: _dec(d.get(k)) for k in ("taxrate", "quantity", "unitprice", "grossprice", "discount",
                                             "net", "tax", "total")}
            if v["discount"] is None and d.get("discount") in (None, ""):
                v["discount"] = Decimal(0)
            missing = [k for k, x in v.items() if x is None]
            if missing:
                return f"{i}. satır: hatalı sayı ({', '.join(missing)})"
            n = {k: x for k, x in v.items() if x is not None}  # every value present
            if n["quantity"] <= 0 or n["unitprice"] < 0 or not 0 <= n["taxrate"] <= 100:
                return f"{i}. satır: hatalı miktar, fiyat veya KDV oranı"
            if n["grossprice"] != (n["quantity"] * n["unitprice"]).quantize(CENT, ROUND_HALF_UP):
                return f"{i}. satır: brüt tutar miktar x birim fiyat değil"
            if n["net"] != n["grossprice"] - n["discount"]:
                return f"{i}. satır: net tutar brüt - indirim değil"
            if n["tax"] != (n["net"] * n["taxrate"] / 100).quantize(CENT, ROUND_HALF_UP):
                return f"{i}. satır: vergi tutarı KDV oranına uymuyor"
            if n["total"] != n["net"] + n["tax"]:
                return f"{i}. satır: toplam net + vergi değil"
            for k in ("gross", "discount", "net", "tax", "total"):
                sums[k] += n["grossprice" if k == "gross" else k]
        for k in ("gross", "discount", "net", "tax", "total"):
            got = _dec(amounts.get(k))
            if got is None or got != sums[k]:
                return f"Fatura {k} toplamı satırlarla tutmuyor ({got} != {sums[k]})"
        return None
