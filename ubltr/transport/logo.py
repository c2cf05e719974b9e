"""Logo MaxiApi ``InvoiceTransfer`` client
(``../shared/provider-docs/logo-maxiapi-producer-invoice.md``).

MaxiApi moves invoices into a Logo company (firm / period) as JSON:
``POST {base}/MaxiApi/Invoice/InvoiceTransfer`` with a list of
``{"FirmID", "PeriodNo", "MainParams": [{..., "LineParams": [...]}]}`` and answers
``{"TransferStatus", "TransferMessage", "Responseline": [{"SourceID", "Isucceed",
"RecordRef", "RecordFicheNo", "ResponseMsg"}]}``.

The document offers **no idempotency key** (``InvoiceRefNo`` is "0 for New Records",
i.e. every 0-post is a new record; ``SourceID`` is only echoed back) and **no status
lookup**, and it carries no ETTN field, so the e-Logo PostBox status methods (which
look documents up by UUID) cannot find a MaxiApi transfer either.  Hence
``supports_status = False`` and ``idempotency_key = None``: a lost answer is UNKNOWN
and goes to reconciliation, never to a blind resend.

``invoice_type`` is MaxiApi's ``InvoiceType``: 26 (müstahsil / producer invoice) is
the value the document fixes; a sales invoice uses Logo's sales type (default 8,
wholesale sale; the shared document does not list it, see docs/transport-providers.md).
"""

from __future__ import annotations

import datetime as _dt
from decimal import Decimal
from fractions import Fraction
from collections.abc import Mapping
from typing import Any, Callable

import httpx

from .. import model
from . import payload_check
from . import mapping
from .base import (BaseClient, ConfigurationError, Document, Outcome, ProviderError, SendResult, check_secret,
                   http_failure)
from .bizimhesap import KDV, MappingError, dumps_exact

__all__ = ["LogoClient", "to_invoice_transfer", "line_params", "TRANSFER_PATH", "PRODUCER_INVOICE",
           "SALES_INVOICE", "UNIT_CODES", "source_id_for"]

TRANSFER_PATH = "/MaxiApi/Invoice/InvoiceTransfer"
PRODUCER_INVOICE = 26   # "Fatura Tipi (Sabit 26)"
SALES_INVOICE = 8       # Logo's wholesale sales invoice type (not in the shared page)
#: GİB unit codes -> Logo unit-set names (the document: "Adet, Kg vb."); extend per company
UNIT_CODES: Mapping[str, str] = {"C62": "ADET", "KGM": "KG", "LTR": "LT", "MTR": "M", "HUR": "SAAT",
                                 "GRM": "GR", "MTK": "M2", "MTQ": "M3", "TNE": "TON", "DAY": "GUN"}
#: maximum lengths from the document's "Uzunluk" column
LENGTHS = {"SourceID": 8, "InvoiceNo": 16, "ClientCode": 17, "Description1": 51, "Description2": 51,
           "Description3": 51, "ItemCode": 25, "UnitCode": 10, "Description": 50, "VatExceptCode": 5,
           "DeducationCode": 50}


def source_id_for(doc_uuid: str) -> str:
    """``SourceID`` (8 characters): the first 8 hex digits of the ETTN, used only to
    pair the answer's ``Responseline`` with the invoice we sent."""
    return doc_uuid.replace("-", "")[:8]


def _fraction(percent: Decimal) -> tuple[str, str]:
    """A withholding percent as Logo's numerator/denominator (90 -> 9/10, 50 -> 5/10)."""
    f = Fraction(percent) / 100
    if (f * 10).denominator == 1:
        return str(int(f * 10)), "10"
    return str(f.numerator), str(f.denominator)


def line_params(line: model.Line, net: Decimal, *, index: int, line_type: int = 4,
                units: Mapping[str, str] = UNIT_CODES) -> dict[str, Any]:
    """One ``LineParams`` entry; ``net`` is our engine's LineExtensionAmount for it."""
    where = f"lines[{index}]"
    if line.allowances or line.charges:
        raise MappingError(f"{where}: allowances/charges need MaxiApi's discount enumerations, "
                           "which the shared document does not give")
    kdv = [t for t in line.taxes if t.code == KDV]
    if len(kdv) != 1 or len(line.taxes) != 1 or kdv[0].percent is None:
        raise MappingError(f"{where}.taxes: only one KDV (0015) percentage fits VatRate")
    if line.unit not in units:
        raise MappingError(f"{where}.unit: no Logo unit set for {line.unit!r} (pass units=...)")
    p: dict[str, Any] = {"ItemCode": line.code or line.name, "LineType": line_type,
                         "Quantity": line.quantity, "UnitCode": units[line.unit],
                         "UnitPrice": line.unit_price, "VatRate": kdv[0].percent, "LineTotal": net}
    if line.description:
        p["Description"] = line.description
    if line.exemption:
        p["VatExceptCode"] = line.exemption.code
    if line.withholding:
        part1, part2 = _fraction(line.withholding.percent)
        p.update({"Deducation": "1", "DeducationCode": line.withholding.code,
                  "DeducationPart1": part1, "DeducationPart2": part2})
    for key, limit in LENGTHS.items():
        val = p.get(key)
        if isinstance(val, str) and len(val) > limit:
            raise MappingError(f"{where}: {key} {val!r} is longer than {limit} characters")
    return p


def to_invoice_transfer(inv: model.Invoice, nets: list[Decimal], *, firm_id: int, period_no: int,
                        invoice_type: int = SALES_INVOICE, client_code: str | None = None,
                        source_id: str, line_type: int = 4,
                        units: Mapping[str, str] = UNIT_CODES) -> list[dict[str, Any]]:
    """The ``InvoiceTransfer`` body for one invoice.

    ``nets`` are our engine's line nets (LineExtensionAmount), sent as ``LineTotal``
    ("Kdv kuruş farklarını gidermek için kullanılır") so Logo books our kuruş.
    """
    # the mapping table (ubltr/data/provider_mappings.json): a return (IADE), a foreign
    # currency, an export ... have no MaxiApi field in the shared page: refused here
    mapping.refuse("logo", inv)
    problems = []
    if inv.currency != "TRY":
        problems.append("currency: MaxiApi's UsCurrType/CurrType codes are not in the shared document")
    if inv.allowances or inv.charges:
        problems.append("allowances/charges: document-level discounts need MaxiApi enumerations "
                        "the shared document does not give")
    if problems:
        raise MappingError("; ".join(problems))
    if len(nets) != len(inv.lines):
        raise MappingError("nets do not belong to this invoice (line count differs)")
    main: dict[str, Any] = {
        "SourceID": source_id, "InvoiceRefNo": 0,
        "ClientCode": client_code or inv.customer.tax_id,
        "InvoiceDate": inv.issue_date.isoformat(),
        "InvoiceTime": (inv.issue_time or _dt.time(0)).strftime("%H:%M:%S"),
        "InvoiceType": invoice_type,
        "DocumentDate": inv.issue_date.isoformat(),
    }
    if inv.id:
        main["InvoiceNo"] = inv.id
    if len(inv.notes) > 3:
        raise MappingError(f"notes: MaxiApi has three Description fields; this invoice has {len(inv.notes)} notes")
    for n, note in enumerate(inv.notes, start=1):
        if len(note) > LENGTHS[f"Description{n}"]:
            raise MappingError(f"notes[{n - 1}]: Description{n} holds 51 characters, the note has {len(note)}")
        main[f"Description{n}"] = note
    for key, limit in LENGTHS.items():
        val = main.get(key)
        if isinstance(val, str) and len(val) > limit:
            raise MappingError(f"{key} {val!r} is longer than {limit} characters")
    main["LineParams"] = [line_params(line, net, index=i, line_type=line_type, units=units)
                          for i, (line, net) in enumerate(zip(inv.lines, nets))]
    return [{"FirmID": firm_id, "PeriodNo": period_no, "MainParams": [main]}]


class LogoClient(BaseClient):
    """Transfer invoices into Logo through MaxiApi.

    ``http`` is an ``httpx.Client``; ``base_url`` is ``http://yourdomain`` (the server
    hosting ``/MaxiApi``) or the fake's URL; ``authorization`` is sent as the
    ``Authorization`` header when given (the document names no authentication).
    """

    name = "logo"
    supports_status = False
    #: InvoiceRefNo=0 always creates a new record; nothing deduplicates
    idempotent = False
    idempotency_key = None
    secret_keys = ("authorization",)

    def __init__(self, http: httpx.Client, *, firm_id: int | str, period_no: int | str, base_url: str = "",
                 invoice_type: int = SALES_INVOICE, authorization: str | None = None,
                 client_code: Callable[[model.Invoice], str] | None = None, line_type: int = 4,
                 units: Mapping[str, str] = UNIT_CODES) -> None:
        if firm_id in (None, "") or period_no in (None, ""):
            raise ProviderError("logo: firm_id and period_no are required")
        check_secret(self.name, "authorization", authorization)
        try:
            int(firm_id), int(period_no)
        except (TypeError, ValueError):
            raise ConfigurationError("logo: firm_id and period_no must be whole numbers (Logo's FirmID / PeriodNo)") from None
        self._http = http
        self._firm_id, self._period_no = int(firm_id), int(period_no)
        self._invoice_type = int(invoice_type)
        self._base = base_url.rstrip("/")
        self._headers = {"Content-Type": "application/json; charset=utf-8"}
        if authorization:
            self._headers["Authorization"] = authorization
        self._client_code = client_code
        self._line_type = line_type
        self._units = units

    @classmethod
    def from_config(cls, config: Mapping[str, Any], http: httpx.Client) -> LogoClient:
        """Keys: ``base_url``, ``firm_id``, ``period_no``, ``invoice_type`` (8 sales /
        26 producer), ``authorization`` (secret, optional header value)."""
        return cls(http, firm_id=config.get("firm_id", ""), period_no=config.get("period_no", ""),
                   base_url=str(config.get("base_url") or ""),
                   invoice_type=int(config.get("invoice_type") or SALES_INVOICE),
                   authorization=config.get("authorization") or None)

    def _result(self, outcome: Outcome, uuid: str, **kw: Any) -> SendResult:
        return SendResult(outcome=outcome, provider=self.name, uuid=uuid, **kw)

    def body_for(self, doc: Document) -> bytes:
        """The exact bytes :meth:`send` posts (raises ValueError on unmappable input)."""
        if doc.neutral is None:
            raise MappingError("Logo MaxiApi needs the neutral invoice (Document.neutral)")
        from .. import calc

        inv = model.load(doc.neutral)
        totals = calc.compute(inv)
        body = to_invoice_transfer(
            inv, [lt.net for lt in totals.lines], firm_id=self._firm_id, period_no=self._period_no,
            invoice_type=self._invoice_type,
            client_code=self._client_code(inv) if self._client_code else None,
            source_id=source_id_for(doc.uuid), line_type=self._line_type, units=self._units)
        return dumps_exact(body)

    def send(self, doc: Document) -> SendResult:
        return self._send_mapped(
            doc, payload_check.checked(self, self.body_for), self._base + TRANSFER_PATH, self._headers, self.interpret,
            no_lookup_hint="no answer; MaxiApi has no lookup: reconcile by hand, never resend")

    def interpret(self, uuid: str, resp: httpx.Response) -> SendResult:
        """One :class:`SendResult` out of an ``InvoiceTransfer`` answer."""
        code = resp.status_code
        found = http_failure(self.name, uuid, resp)   # 429/503 retryable, other 5xx unknown
        if found is not None:
            return found
        if code in (401, 403):
            return self._result(Outcome.RETRYABLE, uuid, http_status=code, error_code=str(code),
                                message="credentials refused: nothing was transferred", retry_safe=False)
        try:
            body = resp.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "TransferStatus" not in body:
            if 400 <= code < 500:
                return self._result(Outcome.REJECTED, uuid, http_status=code, error_code=str(code),
                                    message=resp.text[:300])
            return self._result(Outcome.UNKNOWN, uuid, http_status=code, error_code=str(code),
                                message=f"unreadable answer (HTTP {code}); reconcile by hand")
        lines = body.get("Responseline") or []
        mine = [ln for ln in lines if isinstance(ln, dict) and ln.get("SourceID") == source_id_for(uuid)]
        line = mine[0] if mine else (lines[0] if len(lines) == 1 and isinstance(lines[0], dict) else None)
        if line is not None and line.get("Isucceed") is True:
            return self._result(Outcome.ACCEPTED, uuid, http_status=code,
                                provider_id=str(line.get("RecordRef") or "") or None,
                                invoice_number=str(line.get("RecordFicheNo") or "") or None,
                                message=line.get("ResponseMsg"), raw=body)
        if line is not None:
            return self._result(Outcome.REJECTED, uuid, http_status=code,
                                message=str(line.get("ResponseMsg") or body.get("TransferMessage") or "")[:300],
                                raw=body)
        if body.get("TransferStatus") is False:
            # the request was refused as a whole ("API Erişim Durumu"): nothing transferred
            return self._result(Outcome.REJECTED, uuid, http_status=code,
                                message=str(body.get("TransferMessage") or "")[:300], raw=body)
        return self._result(Outcome.UNKNOWN, uuid, http_status=code,
                            message="answer names no line for this invoice; reconcile by hand", raw=body)
