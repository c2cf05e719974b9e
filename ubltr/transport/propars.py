"""Propars sale-invoice client (``../shared/provider-docs/propars-sale-invoice.md``).

Propars invoices *sales* (orders) that already exist in its system.  Everything is
addressed by the sale code (``sale_code``): one sale carries at most one invoice, and
we fix the invoice's ETTN ourselves with ``invoice_uuid``, so the sale code is the
provider's idempotency key and ``get_signed_xml_for_sale`` is its status lookup.

Endpoints used (all from the document):

=====================  ======  ==========================================================
operation              method  path
=====================  ======  ==========================================================
create / preview       GET     ``/api/v1/finance/saleinvoice/invoice_html_for_sale/``
send                   POST    ``/api/v1/finance/saleinvoice/send_invoice_for_sale/``
signed XML (status)    GET     ``/api/v1/finance/saleinvoice/get_signed_xml_for_sale/``
cancel (e-Arşiv only)  PATCH   ``/api/v1/core/sale/cancel_invoice_by_code/``
=====================  ======  ==========================================================

The document is silent on authentication, on the fields of the returned invoice
object and on error bodies; docs/transport-providers.md lists what we chose there.

How answers map (the outbox relies on the difference between the last two):

* ``status()``: the sale's signed invoice with our ETTN -> ``ACCEPTED``; with another
  ETTN -> ``REJECTED`` (:data:`CONFLICT`, both ETTNs in the message); ``404`` ->
  ``RETRYABLE`` (Propars *answered* "no sent invoice"); anything else -- timeout,
  dropped or refused connection, 429, 5xx, 401/403, another 4xx, an unreadable
  body -- -> ``UNKNOWN``: the question went unanswered and is asked again later,
  never read as "not found".
* ``send()``: Propars' refusal of a sale that already carries a sent invoice ("zaten
  gönderilmiş") is settled by ``status()``: our ETTN -> ``ACCEPTED``, another ->
  ``REJECTED`` (:data:`CONFLICT`), lookup failed -> ``UNKNOWN``.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from typing import Any, Callable

import httpx

from .. import xmlsafe

from . import payload_check
from . import mapping
from .base import (LOCAL_ERRORS, NotFoundError, Refused, Unavailable, check_secret, operation_error)
from .base import (BaseClient, Document, Outcome, ProviderError, SendResult, Unsupported, failure_result,
                   http_failure)

__all__ = ["ProparsClient", "sale_code_for", "invoice_date_param", "SEND_PATH", "SIGNED_XML_PATH",
           "PREVIEW_PATH", "CANCEL_PATH", "CONFLICT", "ALREADY_SENT", "NotFound", "LookupFailed",
           "SaleConflict"]

PREVIEW_PATH = "/api/v1/finance/saleinvoice/invoice_html_for_sale/"
SEND_PATH = "/api/v1/finance/saleinvoice/send_invoice_for_sale/"
SIGNED_XML_PATH = "/api/v1/finance/saleinvoice/get_signed_xml_for_sale/"
CANCEL_PATH = "/api/v1/core/sale/cancel_invoice_by_code/"

_MAX_XML = 20 * 1024 * 1024
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UUID4 = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}")
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_TR = _dt.timezone(_dt.timedelta(hours=3))
#: how Propars words "this sale's invoice was already sent" (the fake: "... zaten gönderilmiş.")
_DUPLICATE = re.compile(r"zaten|already", re.IGNORECASE)
#: "already cancelled" ("Fatura zaten iptal edilmiş.")
_ALREADY_CANCELLED = re.compile(r"zaten\s+iptal|already\s+cancel", re.IGNORECASE)

#: ``error_code`` of a sale invoiced under another ETTN than ours (a genuine conflict)
CONFLICT = "ubltr:sale-conflict"
#: ``error_code`` of an ``ACCEPTED`` reached through Propars' "already sent" answer
ALREADY_SENT = "AlreadySent"


class NotFound(NotFoundError):
    """Propars answered that the sale has no sent invoice (HTTP 404)."""

    def __init__(self, message: str) -> None:
        super().__init__("propars", message.removeprefix("propars: "), http_status=404)


class LookupFailed(Unavailable):
    """The question went unanswered (timeout, dropped connection, 429, 5xx, refused
    credentials): nothing is known; ask again later.  ``http_status`` is ``None``
    when no HTTP answer arrived."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__("propars", message.removeprefix("propars: "), http_status=http_status)


class SaleConflict(Refused):
    """The sale's invoice carries another ETTN than the document's."""

    def __init__(self, message: str) -> None:
        super().__init__("propars", message.removeprefix("propars: "), codes=(CONFLICT,))


def sale_code_for(doc: Document) -> str:
    """The Propars sale code of ``doc``: the neutral ``order_reference.id`` when the
    invoice names its order, otherwise the invoice UUID (a sale created under that code).
    """
    neutral = doc.neutral or {}
    ref = neutral.get("order_reference")
    if isinstance(ref, dict) and isinstance(ref.get("id"), str) and ref["id"].strip():
        return ref["id"].strip()
    return doc.uuid


def invoice_date_param(neutral: dict[str, Any] | None) -> str | None:
    """``invoice_date`` as the document's example writes it (``2018-05-02T09:00:00+0300``)."""
    if not neutral or not neutral.get("issue_date"):
        return None
    day = _dt.date.fromisoformat(str(neutral["issue_date"]))
    t = _dt.time.fromisoformat(str(neutral.get("issue_time") or "00:00:00"))
    return _dt.datetime.combine(day, t, _TR).strftime("%Y-%m-%dT%H:%M:%S%z")


def _safe_xml_ids(data: bytes) -> tuple[str | None, str | None]:
    """(UUID, ID) of a UBL invoice, parsed without DTDs, entities or network."""
    if b"<!ENTITY" in data:
        return None, None
    try:
        root = xmlsafe.fromstring(data, max_bytes=_MAX_XML)
    except xmlsafe.UnsafeXML:
        return None, None
    uuid = root.findtext(f"{{{_CBC}}}UUID")
    number = root.findtext(f"{{{_CBC}}}ID")
    return (uuid.strip() if uuid else None), (number.strip() if number else None)


def _message(resp: httpx.Response) -> str:
    """A short text out of a Propars error body (DRF-style ``detail`` or field lists)."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text[:300]
    if isinstance(body, dict):
        if "detail" in body:
            return str(body["detail"])[:300]
        parts = []
        for key, val in body.items():
            vals = val if isinstance(val, list) else [val]
            parts.append(f"{key}: {'; '.join(str(v) for v in vals)}")
        return " | ".join(parts)[:300]
    return str(body)[:300]


def _sale_params(doc: Document, uuid: str, code: str) -> dict[str, str]:
    """Query parameters naming the sale and our invoice (send and preview alike)."""
    params = {"sale_code": code, "invoice_uuid": uuid}
    if doc.invoice_id:
        params["invoice_number"] = doc.invoice_id
    date = invoice_date_param(doc.neutral)
    if date:
        params["invoice_date"] = date
    return params


class ProparsClient(BaseClient):
    """Send, look up, fetch and cancel Propars sale invoices.

    ``http`` is an ``httpx.Client``; ``base_url`` is the Propars host (or the fake's
    URL; empty to use ``http``'s own ``base_url``).  ``token`` goes into
    ``Authorization: <scheme> <token>``.
    ``sale_code`` maps a :class:`Document` to its sale (default :func:`sale_code_for`).

    ``documents`` (optional) maps a UUID to the :class:`Document` it stands for, e.g.
    ``Outbox.document``: ``status(uuid)`` then finds the sale code of an invoice filed
    under an order reference even in a new process (the outbox asks ``status`` with
    the UUID only).  Without it, a UUID this client has not sent in this process is
    looked up as its own sale code (see docs/transport-providers.md, "status by UUID").
    """

    name = "propars"
    supports_status = True
    #: one invoice per sale: a second send for a sent sale is refused, not duplicated
    idempotent = True
    secret_keys = ("token",)
    #: the provider's own idempotency key: one invoice per sale code
    idempotency_key = "sale_code"

    def __init__(self, http: httpx.Client, *, token: str, base_url: str = "", auth_scheme: str = "Token",
                 sale_code: Callable[[Document], str] = sale_code_for,
                 documents: Callable[[str], Document | None] | None = None) -> None:
        if not token:
            raise ProviderError("propars: a token is required (UBLTR_PROPARS_TOKEN)")
        check_secret("propars", "token", token)
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"{auth_scheme} {token}", "Accept": "application/json"}
        self._sale_code = sale_code
        self._documents = documents
        # uuid (lower case) -> sale code, for status(uuid) in this process; only codes
        # that differ from the UUID are kept
        self._codes: dict[str, str] = {}

    @classmethod
    def from_config(cls, config: Mapping[str, Any], http: httpx.Client) -> ProparsClient:
        """Keys: ``token`` (secret), ``base_url``, ``auth_scheme`` (default ``Token``)."""
        return cls(http, token=str(config.get("token") or ""), base_url=str(config.get("base_url") or ""),
                   auth_scheme=str(config.get("auth_scheme") or "Token"))

    # ------------------------------------------------------------------ helpers
    def attach_documents(self, documents: Callable[[str], Document | None]) -> None:
        """Give the client a UUID → Document source (the outbox's), so that ``status(uuid)``
        finds an invoice filed under its order reference in a new process too."""
        self._documents = documents

    def _code(self, ref: Document | str) -> tuple[str, str]:
        """(uuid, sale code) of a Document or of a UUID (or a bare sale code).

        A UUID is resolved through the codes of documents this client handled, then
        ``documents``; else it is taken as its own sale code.  ``documents`` may raise:
        the caller turns that into an unanswered question.
        """
        if isinstance(ref, Document):
            code = self._sale_code(ref)
            if code != ref.uuid:
                self._codes[ref.uuid.lower()] = code
            return ref.uuid, code
        known = self._codes.get(ref.lower())
        if known is None and self._documents is not None and _UUID.fullmatch(ref):
            doc = self._documents(ref)
            if doc is not None:
                return self._code(doc)
        return ref, known or ref

    def _request(self, method: str, path: str, params: dict[str, str]) -> httpx.Response:
        return self._http.request(method, self._base + path, params=params, headers=self._headers)

    def _result(self, outcome: Outcome, uuid: str, **kw: Any) -> SendResult:
        return SendResult(outcome=outcome, provider=self.name, uuid=uuid, **kw)

    def _transport_failure(self, uuid: str, exc: httpx.HTTPError) -> SendResult:
        return failure_result(self.name, uuid, exc)

    def _http_failure(self, uuid: str, resp: httpx.Response) -> SendResult:
        """A send/cancel answer that is no success: retryable, unknown or refused."""
        code = resp.status_code
        found = http_failure(self.name, uuid, resp, message=_message(resp))
        if found is not None:   # 429/503: retryable; other 5xx: unknown
            return found
        if code in (401, 403):
            # refused before any processing: Propars does not have it; a resend helps
            # only once the credentials are fixed
            return self._result(Outcome.RETRYABLE, uuid, error_code=str(code), http_status=code,
                                message=f"credentials refused: {_message(resp)}", retry_safe=False)
        return self._result(Outcome.REJECTED, uuid, error_code=str(code), http_status=code,
                            message=_message(resp), retry_safe=False)

    def _unanswered(self, uuid: str, error_code: str, message: str,
                    http_status: int | None = None) -> SendResult:
        """A status question that got no usable answer: UNKNOWN, never "not found"."""
        return self._result(Outcome.UNKNOWN, uuid, error_code=error_code, http_status=http_status,
                            message=f"status lookup unanswered ({message}); ask again later, do not resend")

    def _conflict(self, uuid: str, code: str, theirs: str, **kw: Any) -> SendResult:
        return self._result(Outcome.REJECTED, uuid, error_code=CONFLICT,
                            message=f"sale {code} is invoiced under ETTN {theirs}, not under ours ({uuid}); "
                                    "our document was not issued: settle it on Propars", **kw)

    # ------------------------------------------------------------------ API
    def refusal(self, doc: Document) -> str | None:
        if not _UUID4.fullmatch(doc.uuid or ""):
            return "Propars requires invoice_uuid to be a UUID version 4"
        return super().refusal(doc)

    def send(self, doc: Document) -> SendResult:
        """``send_invoice_for_sale`` with our ETTN (and number, date when known)."""
        refused = payload_check.signed_refusal(self, doc)   # Propars issues its own invoice from the sale
        if refused is not None:
            return refused
        if not _UUID4.fullmatch(doc.uuid or ""):
            return self._result(Outcome.REJECTED, doc.uuid, error_code="ubltr:uuid",
                                message="Propars requires invoice_uuid to be a UUID version 4")
        try:
            mapping.refuse_profile(self.name, doc.profile)
        except mapping.MappingError as exc:
            return self._result(Outcome.REJECTED, doc.uuid, error_code="ubltr:mapping", message=str(exc))
        uuid, code = self._code(doc)
        params = _sale_params(doc, uuid, code)
        try:
            resp = self._request("POST", SEND_PATH, params)
        except httpx.HTTPError as exc:
            return self._transport_failure(uuid, exc)
        if resp.status_code in (200, 201):
            return self._accepted(uuid, code, resp)
        if resp.status_code in (400, 409):
            return self._refused(doc, uuid, code, resp)
        return self._http_failure(uuid, resp)

    def _refused(self, doc: Document, uuid: str, code: str, resp: httpx.Response) -> SendResult:
        """A 400/409 to a send, settled by looking the sale up.

        Propars refuses a sale whose invoice was already sent ("zaten gönderilmiş"):
        after a lost answer that invoice is ours.  The sale's signed invoice decides:
        our ETTN -> ACCEPTED; another ETTN -> REJECTED (:data:`CONFLICT`); no sent
        invoice -> the refusal stands (REJECTED), except that a refusal worded as
        "already sent" contradicting the lookup is left UNKNOWN; lookup unanswered ->
        UNKNOWN (the outbox asks again, never resends blindly).
        """
        message = _message(resp)
        duplicate = resp.status_code == 409 or bool(_DUPLICATE.search(message))
        found = self.status(doc)
        if found.outcome is Outcome.ACCEPTED:
            return self._result(Outcome.ACCEPTED, uuid, invoice_number=found.invoice_number,
                                provider_id=found.provider_id, error_code=ALREADY_SENT,
                                http_status=resp.status_code,
                                message=f"already sent ({message}); the sale's invoice carries our ETTN")
        if found.outcome is Outcome.REJECTED:   # the sale carries another ETTN
            return SendResult(Outcome.REJECTED, self.name, uuid, invoice_number=found.invoice_number,
                              error_code=found.error_code, http_status=resp.status_code,
                              message=f"{found.message} (Propars: {message})")
        if found.outcome is Outcome.RETRYABLE and not duplicate:
            return self._http_failure(uuid, resp)   # a genuine refusal of this document
        if found.outcome is Outcome.RETRYABLE:
            why = "Propars says the sale's invoice was already sent but has no signed invoice for it"
        else:
            why = f"Propars refused the send ({message}) and the lookup went unanswered"
        return self._result(Outcome.UNKNOWN, uuid, error_code=str(resp.status_code), http_status=resp.status_code,
                            message=f"{why}; ask for the status again before any resend")

    def _accepted(self, uuid: str, code: str, resp: httpx.Response) -> SendResult:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        their_uuid = body.get("uuid")
        number = body.get("invoice_number") or body.get("number")
        provider_id = str(body["id"]) if body.get("id") is not None else None
        if their_uuid and str(their_uuid).lower() != uuid.lower():
            # the sale already had an unsent invoice (created by a preview) and Propars
            # sent that one: invoice_uuid applies only to an invoice being created
            return self._conflict(uuid, code, str(their_uuid), provider_id=provider_id,
                                  invoice_number=str(number) if number else None,
                                  http_status=resp.status_code, raw=body)
        return self._result(Outcome.ACCEPTED, uuid, provider_id=provider_id,
                            invoice_number=str(number) if number else None,
                            http_status=resp.status_code, raw=body)

    def status(self, ref: Document | str) -> SendResult:
        """Look the sale's signed invoice up.

        Present with our ETTN -> ``ACCEPTED``; with another ETTN -> ``REJECTED``
        (:data:`CONFLICT`); 404 -> ``RETRYABLE`` with ``http_status=404`` (Propars has
        no sent invoice: a send is safe); every other answer or failure -> ``UNKNOWN``.
        """
        try:
            uuid, code = self._code(ref)
        except Exception as exc:  # noqa: BLE001 - a failing ``documents`` resolver: the key is unknown
            uuid = ref.uuid if isinstance(ref, Document) else ref
            return self._unanswered(uuid, "ubltr:sale-code", f"cannot find the sale code: {type(exc).__name__}")
        try:
            resp = self._request("GET", SIGNED_XML_PATH, {"sale_code": code})
        except httpx.HTTPError as exc:
            return self._unanswered(uuid, type(exc).__name__, "no answer from Propars")
        if resp.status_code == 200:
            their_uuid, number = _safe_xml_ids(resp.content)
            if their_uuid is None:
                return self._unanswered(uuid, "ubltr:xml", "signed XML unreadable", 200)
            if _UUID.fullmatch(uuid) and their_uuid.lower() != uuid.lower():
                return self._conflict(uuid, code, their_uuid, http_status=200, invoice_number=number)
            return self._result(Outcome.ACCEPTED, uuid, invoice_number=number, http_status=200)
        if resp.status_code == 404:
            return self._result(Outcome.RETRYABLE, uuid, error_code="404", http_status=404,
                                message=f"no sent invoice for sale {code}: {_message(resp)}", retry_safe=True)
        what = "credentials refused" if resp.status_code in (401, 403) else _message(resp)
        return self._unanswered(uuid, str(resp.status_code), f"HTTP {resp.status_code}: {what}", resp.status_code)

    def fetch(self, ref: Document | str, fmt: str = "xml") -> bytes:
        """The signed UBL-TR XML of a sent invoice (``fmt="xml"`` only: the document
        offers no PDF).

        Raises :class:`NotFound` (Propars answered 404: no sent invoice),
        :class:`LookupFailed` (timeout, dropped connection, 429, 5xx, 401/403, other
        answers: try again later), :class:`SaleConflict` (the sale's invoice has
        another ETTN than the UUID asked for) or :class:`ProviderError` (too large,
        unreadable).
        """
        if fmt != "xml":
            raise Unsupported("propars: only the signed XML can be fetched")
        uuid, code = self._code(ref)
        try:
            resp = self._request("GET", SIGNED_XML_PATH, {"sale_code": code})
        except LOCAL_ERRORS as exc:
            raise operation_error(self.name, "fetch", exc=exc) from None
        except httpx.HTTPError as exc:
            raise LookupFailed(f"propars: no answer for sale {code} ({type(exc).__name__})") from None
        if resp.status_code == 404:
            raise NotFound(f"propars: no sent invoice for sale {code}")
        if resp.status_code != 200:
            raise LookupFailed(f"propars: signed XML of sale {code} not served (HTTP {resp.status_code})",
                               resp.status_code)
        if len(resp.content) > _MAX_XML:
            raise ProviderError("propars: signed XML exceeds the size limit")
        if _UUID.fullmatch(uuid):
            their_uuid, _ = _safe_xml_ids(resp.content)
            if their_uuid is None:
                raise ProviderError(f"propars: signed XML of sale {code} unreadable")
            if their_uuid.lower() != uuid.lower():
                raise SaleConflict(f"propars: sale {code} is invoiced under ETTN {their_uuid}, not {uuid}")
        return resp.content

    def preview(self, doc: Document) -> str:
        """The HTML preview.  Note (from the document): this *creates* the invoice when
        the sale has none yet, with our ETTN."""
        uuid, code = self._code(doc)
        params = _sale_params(doc, uuid, code)
        try:
            resp = self._request("GET", PREVIEW_PATH, params)
        except httpx.HTTPError as exc:
            raise operation_error(self.name, "preview", exc=exc) from None
        if resp.status_code != 200:
            raise operation_error(self.name, "preview", response=resp, message=_message(resp)[:300])
        return resp.text

    def cancel(self, ref: Document | str) -> SendResult:
        """Cancel an e-Arşiv invoice not yet reported to GİB (or an unsent e-Fatura).

        "Already cancelled" (a repeat after a lost answer) is ``ACCEPTED``."""
        uuid, code = self._code(ref)
        try:
            resp = self._request("PATCH", CANCEL_PATH, {"sale_code": code})
        except httpx.HTTPError as exc:
            return self._transport_failure(uuid, exc)
        if resp.status_code in (200, 202, 204):
            return self._result(Outcome.ACCEPTED, uuid, http_status=resp.status_code,
                                message="cancelled")
        if resp.status_code == 400 and _ALREADY_CANCELLED.search(_message(resp)):
            return self._result(Outcome.ACCEPTED, uuid, http_status=400, error_code="AlreadyCancelled",
                                message=f"already cancelled ({_message(resp)})")
        return self._http_failure(uuid, resp)
