"""BizimHesap ``addinvoice`` client (``../shared/provider-docs/bizimhesap-addinvoice.md``).

BizimHesap takes a JSON invoice (amounts and lines, not XML) at
``POST /api/b2b/addinvoice`` and answers ``{"error": "", "guid": "...", "url": "..."}``.
The document gives **no idempotency key** (``InvoiceNo`` is "isteğe bağlı" and nothing
says it is unique) and **no status lookup**, so this client declares
``supports_status = False`` and ``idempotency_key = None``: an answer that never
arrives leaves the invoice UNKNOWN, and it must be reconciled by a person, never
resent blindly (the outbox's "needs reconciliation" state).

Amounts come from our tax engine, never recomputed here: :func:`amounts_from_totals`
turns :func:`ubltr.calc.compute` output into :class:`Amounts`, and
:func:`to_addinvoice` writes them as exact decimal text (:func:`dumps_exact`).
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from collections.abc import Mapping
from typing import Any

import httpx

from .. import model
from . import payload_check
from . import mapping as _mapping
from .base import BaseClient, Document, Outcome, ProviderError, SendResult, check_secret, http_failure
from .mapping import MappingError  # re-exported: every client's refusal is this one class

__all__ = ["BizimHesapClient", "Amounts", "LineAmounts", "MappingError", "amounts_from_totals",
           "to_addinvoice", "dumps_exact", "ADDINVOICE_PATH", "CURRENCIES"]

BASE_URL = "https://bizimhesap.com"
ADDINVOICE_PATH = "/api/b2b/addinvoice"
#: "Fatura para birimi (TL, USD, EUR, CHF, GBP)", our ISO code -> theirs
CURRENCIES = {"TRY": "TL", "USD": "USD", "EUR": "EUR", "CHF": "CHF", "GBP": "GBP"}
KDV = "0015"




# --------------------------------------------------------------------------- exact JSON


def dumps_exact(obj: Any) -> bytes:
    """JSON with every ``Decimal`` written as its exact decimal text (a JSON number).

    ``json`` has no Decimal support and going through ``float`` would round; this writes
    ``Decimal("2400.00")`` as ``2400.00``.  Non-finite decimals are refused.
    """
    out: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, Decimal):
            if not v.is_finite():
                raise ValueError(f"non-finite decimal {v!r}")
            out.append(format(v, "f"))
        elif v is None or isinstance(v, (bool, int, str)):
            out.append(json.dumps(v, ensure_ascii=False))
        elif isinstance(v, float):
            raise TypeError("floats are not allowed in provider JSON; use Decimal")
        elif isinstance(v, dict):
            out.append("{")
            for i, (k, item) in enumerate(v.items()):
                if i:
                    out.append(",")
                out.append(json.dumps(str(k), ensure_ascii=False))
                out.append(":")
                walk(item)
            out.append("}")
        elif isinstance(v, (list, tuple)):
            out.append("[")
            for i, item in enumerate(v):
                if i:
                    out.append(",")
                walk(item)
            out.append("]")
        else:
            raise TypeError(f"cannot serialise {type(v).__name__}")

    walk(obj)
    return "".join(out).encode("utf-8")


# --------------------------------------------------------------------------- amounts


@dataclass(frozen=True, slots=True)
class LineAmounts:
    """One line's money as our engine computed it (document currency)."""

    gross: Decimal        # quantity x unit price, in kuruş
    discount: Decimal     # line allowances + the line's share of document allowances
    net: Decimal          # the taxable amount (what the KDV was computed on)
    kdv_percent: Decimal  # the 0015 rate
    kdv: Decimal          # the line's KDV amount
    total: Decimal        # net + kdv


@dataclass(frozen=True, slots=True)
class Amounts:
    lines: tuple[LineAmounts, ...]
    gross: Decimal        # sum of line gross
    discount: Decimal     # sum of line discounts (line + document allowances)
    net: Decimal          # TaxExclusiveAmount
    tax: Decimal          # TaxInclusive - TaxExclusive
    total: Decimal        # TaxInclusiveAmount


def _q(v: Decimal) -> Decimal:
    return v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def amounts_from_totals(invoice: model.Invoice, totals: Any) -> Amounts:
    """Adapt :func:`ubltr.calc.compute` output (:class:`ubltr.calc.Totals`) to
    :class:`Amounts`; nothing is recomputed, only regrouped.

    A line's ``net`` is its *taxable* amount (LineExtensionAmount minus its share of
    the document allowances, which is what its KDV was computed on), its ``discount``
    is whatever separates that from its gross in kuruş (line allowances plus the
    share), so ``gross - discount = net`` and ``net + tax = total`` hold exactly on
    every line and on the document.
    """
    if totals.charge_total or any(lt.charges for lt in totals.lines):
        raise MappingError("charges: BizimHesap has no charge field")
    lines = []
    for i, lt in enumerate(totals.lines):
        kdv = [t for t in lt.taxes if t.code == KDV]
        if len(kdv) != 1 or len(lt.taxes) != 1:
            raise MappingError(f"lines[{i}].taxes: only one KDV (0015) tax fits TaxRate/Tax")
        gross = lt.base   # calc's line_base rounding point (quantity × price to the kuruş)
        lines.append(LineAmounts(gross=gross, discount=gross - lt.taxable, net=lt.taxable,
                                 kdv_percent=kdv[0].percent, kdv=kdv[0].amount,
                                 total=lt.taxable + kdv[0].amount))
    if len(lines) != len(invoice.lines):
        raise MappingError("totals do not belong to this invoice (line count differs)")
    gross = sum((la.gross for la in lines), Decimal("0.00"))
    return Amounts(lines=tuple(lines), gross=gross,
                   discount=sum((la.discount for la in lines), Decimal("0.00")),
                   net=totals.tax_exclusive, tax=totals.tax_total, total=totals.tax_inclusive)


def compute_amounts(invoice: model.Invoice) -> Amounts:
    """Our engine's amounts for ``invoice`` (imports :mod:`ubltr.calc` lazily)."""
    from .. import calc  # the engine; a later stage must not be imported at module load

    return amounts_from_totals(invoice, calc.compute(invoice))


# --------------------------------------------------------------------------- mapping


def _check_mappable(inv: model.Invoice) -> None:
    # the mapping table (ubltr/data/provider_mappings.json): profile x type x currency rows
    _mapping.refuse("bizimhesap", inv)
    problems = []
    if inv.currency not in CURRENCIES:
        problems.append(f"currency: BizimHesap takes only {', '.join(CURRENCIES.values())}")
    if inv.type not in ("SATIS", "ISTISNA"):
        problems.append(f"type: {inv.type} has no BizimHesap InvoiceType (3 Satış, 5 Alış only)")
    if inv.charges:
        problems.append("charges: BizimHesap's Amounts have no charge field")
    for i, line in enumerate(inv.lines):
        if line.charges:
            problems.append(f"lines[{i}].charges: BizimHesap lines have no charge field")
        if any(t.code != KDV for t in line.taxes):
            problems.append(f"lines[{i}].taxes: only KDV (0015) fits TaxRate/Tax")
        if line.withholding:
            problems.append(f"lines[{i}].withholding: BizimHesap has no withholding field")
    if problems:
        raise MappingError("; ".join(problems))


def _address(p: model.Party) -> str:
    a = p.address
    street = " ".join(x for x in (a.street, a.building_number) if x)
    parts = [street, a.district, " ".join(x for x in (a.postal_code, a.city) if x)]
    if a.country_code != "TR":
        parts.append(a.country)
    return ", ".join(x for x in parts if x)


def _stamp(day: _dt.date, t: _dt.time | None) -> str:
    """``2017-07-08T18:45:52+03:00``: the document's example format, Turkey time."""
    return f"{day.isoformat()}T{(t or _dt.time(0)).strftime('%H:%M:%S')}+03:00"


def to_addinvoice(inv: model.Invoice, amounts: Amounts, *, firm_id: str) -> dict[str, Any]:
    """The ``addinvoice`` body for ``inv``, with ``amounts`` from our engine.

    Field names follow the document's request example (camelCase, ``customer``);
    decimals stay ``Decimal`` (serialise with :func:`dumps_exact`).
    """
    _check_mappable(inv)
    if len(amounts.lines) != len(inv.lines):
        raise MappingError("amounts do not belong to this invoice (line count differs)")
    c = inv.customer
    customer: dict[str, Any] = {"customerId": c.tax_id, "title": c.display_name, "address": _address(c)}
    for key, val in (("taxOffice", c.tax_office), ("taxNo", c.tax_id), ("email", c.email),
                     ("phone", c.phone)):
        if val:
            customer[key] = val
    due = inv.payment.due_date if inv.payment and inv.payment.due_date else inv.issue_date
    dates = {"invoiceDate": _stamp(inv.issue_date, inv.issue_time), "dueDate": _stamp(due, None)}
    details = []
    for i, (line, la) in enumerate(zip(inv.lines, amounts.lines)):
        d: dict[str, Any] = {"productId": line.code or f"{i + 1}", "productName": line.name}
        if line.description:
            d["note"] = line.description
        d.update({"taxRate": la.kdv_percent, "quantity": line.quantity, "unitPrice": line.unit_price,
                  "grossPrice": la.gross, "discount": format(la.discount, "f"),
                  "net": la.net, "tax": la.kdv, "total": la.total})
        details.append(d)
    body: dict[str, Any] = {"firmId": firm_id, "invoiceType": 3}
    if inv.id:
        body["invoiceNo"] = inv.id
    if inv.notes:
        body["note"] = "\n".join(inv.notes)
    body.update({
        "dates": dates, "customer": customer,
        "amounts": {"currency": CURRENCIES[inv.currency], "gross": amounts.gross,
                    "discount": amounts.discount, "net": amounts.net, "tax": amounts.tax,
                    "total": amounts.total},
        "details": details,
    })
    return body


# --------------------------------------------------------------------------- client


class BizimHesapClient(BaseClient):
    """POST invoices to BizimHesap's ``addinvoice``.

    ``http`` is an ``httpx.Client``; ``base_url`` is ``https://bizimhesap.com`` (the
    document's host) or the fake's URL;
    ``firm_id`` is the "Bizimhesap tarafından verilecek özel tekil ID", which is the
    only credential the document names (it travels in the body).
    """

    name = "bizimhesap"
    supports_status = False
    #: the document names no idempotency key: a second POST creates a second invoice
    idempotent = False
    idempotency_key = None
    secret_keys = ("firm_id",)

    def __init__(self, http: httpx.Client, *, firm_id: str, base_url: str = BASE_URL) -> None:
        if not firm_id:
            raise ProviderError("bizimhesap: firm_id is required (UBLTR_BIZIMHESAP_FIRM_ID)")
        check_secret(self.name, "firm_id", firm_id)
        self._http = http
        self._firm_id = firm_id
        self._base = base_url.rstrip("/")

    @classmethod
    def from_config(cls, config: Mapping[str, Any], http: httpx.Client) -> BizimHesapClient:
        """Keys: ``firm_id`` (secret), ``base_url`` (default ``https://bizimhesap.com``)."""
        return cls(http, firm_id=str(config.get("firm_id") or ""),
                   base_url=str(config.get("base_url") or BASE_URL))

    def _result(self, outcome: Outcome, uuid: str, **kw: Any) -> SendResult:
        return SendResult(outcome=outcome, provider=self.name, uuid=uuid, **kw)

    def body_for(self, doc: Document) -> bytes:
        """The exact bytes :meth:`send` posts for ``doc`` (raises MappingError /
        InvoiceInputError on input that cannot be mapped)."""
        if doc.neutral is None:
            raise MappingError("BizimHesap needs the neutral invoice (Document.neutral)")
        inv = model.load(doc.neutral)
        return dumps_exact(to_addinvoice(inv, compute_amounts(inv), firm_id=self._firm_id))

    def send(self, doc: Document) -> SendResult:
        return self._send_mapped(
            doc, payload_check.checked(self, self.body_for), self._base + ADDINVOICE_PATH,
            {"Content-Type": "application/json; charset=utf-8"}, self.interpret,
            no_lookup_hint="no answer; BizimHesap has no lookup: reconcile by hand, never resend")

    def interpret(self, uuid: str, resp: httpx.Response) -> SendResult:
        """One :class:`SendResult` out of an ``addinvoice`` answer."""
        code = resp.status_code
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            found = http_failure(self.name, uuid, resp)
            if found is not None:
                return found
            if code == 200:
                return self._result(Outcome.UNKNOWN, uuid, http_status=code, error_code=str(code),
                                    message=f"unreadable answer (HTTP {code}); reconcile by hand")
            return self._result(Outcome.REJECTED, uuid, http_status=code, error_code=str(code),
                                message=resp.text[:300])
        error = str(body.get("error") or "")
        guid = str(body.get("guid") or "")
        if code >= 500 or code == 429:   # 429/503 retryable, other 5xx unknown
            found = http_failure(self.name, uuid, resp, message=error or None)
            if found is not None:
                return found
        if code == 200 and not error and guid:
            return self._result(Outcome.ACCEPTED, uuid, provider_id=guid, http_status=code,
                                raw={"guid": guid, "url": body.get("url") or ""})
        if error and code < 500:
            return self._result(Outcome.REJECTED, uuid, http_status=code, message=error[:300],
                                error_code=None if code == 200 else str(code), raw=body)
        return self._result(Outcome.UNKNOWN, uuid, http_status=code, error_code=str(code),
                            message=(error or "answer without guid")[:300] + "; reconcile by hand",
                            raw=body)
