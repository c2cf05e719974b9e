"""Nilvera: e-Fatura and e-Arşiv over REST, Bearer API key.

Contract: Nilvera's OpenAPI documents (``einvoice``, ``earchive``, ``general``) and
the marketplace ``POST /Invoices/SendStore``.  Endpoints used:

* ``POST /einvoice/Send/Xml?Alias=`` / ``POST /earchive/Send/Xml`` (multipart ``file``)
  -> ``SendResponse {UUID, InvoiceNumber}``; ``409`` ``UUIDAlreadySaved`` on a resend;
* ``GET /einvoice/Sale/{UUID}/Status`` / ``GET /earchive/Invoices/{UUID}/Status``;
* ``GET /einvoice/Sale/{UUID}/pdf|xml`` / ``GET /earchive/Invoices/{UUID}/pdf|xml``;
* ``PUT /earchive/Invoices/{UUID}/Cancel``;
* ``GET /general/GlobalCompany/Check/TaxNumber/{TaxNumber}``;
* ``POST /marketplace/Invoices/SendStore``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import httpx

from . import mapping
from .base import (BaseClient, Document, Outcome, ProviderError, SendResult, check_secret, failure_result,
                   http_failure, operation_error)
from .base import NotFoundError, Unavailable

TEST_URL = "https://apitest.nilvera.com"
LIVE_URL = "https://api.nilvera.com"
EARCHIVE_PROFILE = "EARSIVFATURA"


class InvoiceUploadStatus(enum.IntEnum):
    """Marketplace: where the upload of an invoice to the store stands."""

    NONE = 0
    WAITING = 1
    SUCCESS = 2
    ERROR = 3


#: Nilvera ``StatusCode`` -> our outcome (``waiting``/``unknown``: Nilvera has it, GİB not yet final)
_STATUS = {"succeed": Outcome.ACCEPTED, "error": Outcome.REJECTED,
           "waiting": Outcome.PENDING, "unknown": Outcome.PENDING}
_AUTH = {401, 403}


def _errors(response: httpx.Response) -> tuple[str | None, str | None]:
    """First error code and a message from Nilvera's error body (``Errors`` list or flat)."""
    try:
        body = response.json()
    except ValueError:
        return None, (response.text[:300] or None)
    items: list[Any] = []
    if isinstance(body, Mapping):
        errs = body.get("Errors") or body.get("ErrorDetail")
        items = errs if isinstance(errs, list) else [body]
    elif isinstance(body, list):
        items = body
    for item in items:
        if isinstance(item, Mapping) and (item.get("Code") is not None or item.get("Description")):
            code = item.get("Code")
            msg = " — ".join(str(x) for x in (item.get("Description"), item.get("Detail")) if x)
            return (str(code) if code is not None else None), (msg or None)
    return None, None


class NilveraClient(BaseClient):
    """A thin Nilvera client over an ``httpx.Client`` (Nilvera sees our UUID as its key)."""

    name = "nilvera"
    supports_status = True
    idempotent = True
    secret_keys = ("api_key",)

    def __init__(self, http: httpx.Client, *, api_key: str, base_url: str = TEST_URL,
                 default_alias: str | None = None, template_uuid: str | None = None) -> None:
        if not api_key:
            raise ProviderError("nilvera: api_key is required (UBLTR_NILVERA_API_KEY)")
        check_secret(self.name, "api_key", api_key)
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}
        self.default_alias = default_alias
        self.template_uuid = template_uuid

    @classmethod
    def from_config(cls, config: Mapping[str, Any], http: httpx.Client) -> NilveraClient:
        return cls(http, api_key=str(config.get("api_key") or ""),
                   base_url=str(config.get("base_url") or TEST_URL),
                   default_alias=config.get("alias"), template_uuid=config.get("template_uuid"))

    # ------------------------------------------------------------------ plumbing
    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self._http.request(method, self._base + path, headers=self._headers, **kw)

    def _op(self, what: str, method: str, path: str, **kw: Any) -> httpx.Response:
        """A request of an operation other than send/status: httpx errors become typed ones."""
        try:
            return self._request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise operation_error(self.name, what, exc=exc) from None

    def _fail(self, what: str, r: httpx.Response) -> ProviderError:
        code, message = _errors(r)
        return operation_error(self.name, what, response=r, code=code, message=message)

    def _result(self, outcome: Outcome, uuid: str, response: httpx.Response | None = None,
                **kw: Any) -> SendResult:
        status = response.status_code if response is not None else None
        return SendResult(outcome, self.name, uuid, http_status=status, **kw)

    # ------------------------------------------------------------------ send
    def send(self, doc: Document) -> SendResult:
        try:
            mapping.refuse_profile(self.name, doc.profile)
        except mapping.MappingError as exc:
            return SendResult(Outcome.REJECTED, self.name, doc.uuid, error_code="ubltr:mapping", message=str(exc))
        archive = (doc.profile or "").upper() == EARCHIVE_PROFILE
        path = "/earchive/Send/Xml" if archive else "/einvoice/Send/Xml"
        params: dict[str, str] = {}
        alias = doc.receiver_alias or self.default_alias
        if alias and not archive:
            params["Alias"] = alias
        if self.template_uuid:
            params["TemplateUUID"] = self.template_uuid
        try:
            r = self._request("POST", path, params=params,
                              files={"file": (f"{doc.uuid}.xml", doc.xml, "application/xml")})
        except httpx.HTTPError as exc:
            return failure_result(self.name, doc.uuid, exc)
        return self._send_answer(doc.uuid, r)

    def _send_answer(self, uuid: str, r: httpx.Response) -> SendResult:
        code, message = _errors(r) if r.status_code >= 300 else (None, None)
        failed = http_failure(self.name, uuid, r, code, message)
        if failed is not None:
            return failed
        if r.status_code == 200:
            try:
                body = r.json()
            except ValueError:
                body = {}
            if not isinstance(body, Mapping):
                body = {}
            return self._result(Outcome.ACCEPTED, uuid, r, provider_id=body.get("UUID") or uuid,
                                invoice_number=body.get("InvoiceNumber"), raw=dict(body))
        if r.status_code == 409 and code == "UUIDAlreadySaved":
            # Nilvera already holds this UUID (an earlier attempt whose answer we lost):
            # what it holds is the answer.
            st = self.status(uuid)
            if st.outcome is Outcome.RETRYABLE:  # "already saved" yet not found: do not guess
                return self._result(Outcome.UNKNOWN, uuid, r, error_code=code,
                                    message="provider reports the UUID as saved but cannot find it")
            return SendResult(st.outcome, self.name, uuid, provider_id=st.provider_id,
                              invoice_number=st.invoice_number, error_code=code,
                              message=st.message or message, http_status=r.status_code, raw=st.raw)
        if r.status_code in _AUTH:
            return self._result(Outcome.RETRYABLE, uuid, r, error_code="Unauthorized",
                                message="credentials refused by the provider", retry_safe=False)
        # 400 / 404 / 409 (another key clash) / 422: the provider refused this document
        return self._result(Outcome.REJECTED, uuid, r, error_code=code or str(r.status_code),
                            message=message)

    # ------------------------------------------------------------------ status
    def status(self, uuid: str) -> SendResult:
        """Ask e-Fatura first, then e-Arşiv; ``RETRYABLE`` when neither knows the UUID."""
        for path in (f"/einvoice/Sale/{uuid}/Status", f"/earchive/Invoices/{uuid}/Status"):
            try:
                r = self._request("GET", path)
            except httpx.HTTPError as exc:
                return failure_result(self.name, uuid, exc)
            if r.status_code == 404:
                continue
            failed = http_failure(self.name, uuid, r, *_errors(r))
            if failed is not None:
                return SendResult(Outcome.UNKNOWN, self.name, uuid, error_code=failed.error_code,
                                  message=failed.message, http_status=failed.http_status)
            if r.status_code != 200:
                code, message = _errors(r)
                return self._result(Outcome.UNKNOWN, uuid, r, error_code=code or str(r.status_code),
                                    message=message)
            try:
                body = r.json()
            except ValueError:
                body = None
            if not isinstance(body, Mapping):
                return self._result(Outcome.UNKNOWN, uuid, r, message="unreadable status answer")
            return self._status_answer(uuid, r, body)
        return SendResult(Outcome.RETRYABLE, self.name, uuid, error_code="DocumentNotFound",
                          message="the provider has no document with this UUID", http_status=404,
                          retry_safe=True)

    def _status_answer(self, uuid: str, r: httpx.Response, body: Mapping[str, Any]) -> SendResult:
        if "InvoiceStatus" in body:  # e-Fatura StatusResponse
            st = body.get("InvoiceStatus") or {}
            code = str(st.get("Code") or "unknown")
            message = st.get("DetailDescription") or st.get("Description")
            env = body.get("EnvelopeInfo") or {}
            error = str(env.get("GIBCode")) if code == "error" and env.get("GIBCode") else None
        else:  # e-Arşiv StatusResponse
            code = str(body.get("StatusCode") or "unknown")
            message = body.get("StatusDetail")
            error = None
            if body.get("CancelStatus"):
                return self._result(Outcome.CANCELLED, uuid, r, provider_id=uuid, error_code="Canceled",
                                    message=message or "canceled", raw=dict(body))
        outcome = _STATUS.get(code, Outcome.PENDING)
        return self._result(outcome, uuid, r, provider_id=uuid, error_code=error, message=message,
                            raw=dict(body))

    # ------------------------------------------------------------------ documents
    def fetch(self, uuid: str, fmt: str = "pdf") -> bytes:
        if fmt not in ("pdf", "xml", "html"):
            raise ProviderError(f"nilvera: format must be pdf, xml or html, not {fmt!r}")
        for path in (f"/einvoice/Sale/{uuid}/{fmt}", f"/earchive/Invoices/{uuid}/{fmt}"):
            r = self._op(f"{fmt} download", "GET", path)
            if r.status_code == 404:
                continue
            if r.status_code != 200:
                raise self._fail(f"{fmt} download", r)
            return r.content
        raise NotFoundError(self.name, f"{fmt} download: no document {uuid}", http_status=404)

    def cancel(self, uuid: str) -> SendResult:
        """Cancel an e-Arşiv invoice (e-Fatura has no cancel: it is answered by the receiver)."""
        try:
            r = self._request("PUT", f"/earchive/Invoices/{uuid}/Cancel")
        except httpx.HTTPError as exc:
            return failure_result(self.name, uuid, exc)
        failed = http_failure(self.name, uuid, r, *_errors(r))
        if failed is not None:
            return failed
        if r.status_code == 200:
            return self._result(Outcome.ACCEPTED, uuid, r, provider_id=uuid, message="canceled")
        code, message = _errors(r)
        return self._result(Outcome.REJECTED, uuid, r, error_code=code or str(r.status_code), message=message)

    def lookup(self, tax_id: str) -> list[dict[str, Any]]:
        """Registered e-Fatura aliases for a VKN/TCKN (empty when not a registered user)."""
        r = self._op("taxpayer lookup", "GET", f"/general/GlobalCompany/Check/TaxNumber/{tax_id}",
                     params={"globalUserType": "Invoice"})
        if r.status_code == 404:
            return []
        if r.status_code != 200:
            raise self._fail("taxpayer lookup", r)
        try:
            body = r.json()
        except ValueError:
            raise Unavailable(self.name, "taxpayer lookup: unreadable answer", http_status=200) from None
        return [dict(x) for x in body] if isinstance(body, list) else []

    def send_store(self, order_uuid: str, store_uuid: str) -> list[dict[str, Any]]:
        """Marketplace: push an order's invoice to the store (``SendModelResponse`` list)."""
        r = self._op("SendStore", "POST", "/marketplace/Invoices/SendStore",
                     json={"OrderUUID": order_uuid, "StoreUUID": store_uuid})
        if r.status_code != 200:
            raise self._fail("SendStore", r)
        try:
            body = r.json()
        except ValueError:
            raise Unavailable(self.name, "SendStore: unreadable answer", http_status=200) from None
        return [dict(x) for x in body] if isinstance(body, list) else []


# ====================================================================== inbox (issue #13)
# Incoming invoices and answers, from Nilvera's OpenAPI (einvoice.swagger.json):
#   GET  /einvoice/Purchase?IsTransfer=false&Page=1&PageSize=N   -> {"Content": [{"UUID", ...}], ...}
#   GET  /einvoice/Purchase/{UUID}/xml                            -> the invoice XML
#   PUT  /einvoice/Purchase/Operation/Transferred  [UUID, ...]    -> marks them taken ("transferred")
#   POST /einvoice/Purchase/SendAnswer {"UUID", "AnswerCode": approved|rejected, "RejectNote"}
#   GET  /einvoice/Purchase/{UUID}/Status                         -> {"Answer": {"AnswerCode", ...}}
# Nilvera builds and seals the application response itself from SendAnswer; its AnswerCode
# enum has no return (IADE), so an IADE answer is refused here rather than sent as something else.

from collections.abc import Sequence  # noqa: E402

from .inbox_api import InboxCallError, call_failed, check_response  # noqa: E402

_NILVERA_ANSWER = {"KABUL": "approved", "RED": "rejected"}
_NILVERA_ANSWERED = {"approved": "KABUL", "rejected": "RED"}


class NilveraInbox(NilveraClient):
    """The Nilvera client with the receiving side (:class:`ubltr.transport.inbox_api.InboxClient`)."""

    def inbox_page(self, page_size: int = 50) -> list[str]:
        try:
            r = self._request("GET", "/einvoice/Purchase",
                              params={"IsTransfer": "false", "Page": 1, "PageSize": page_size})
        except httpx.HTTPError as exc:
            raise call_failed(exc, "nilvera Purchase list") from None
        check_response(r, "nilvera Purchase list")
        try:
            body = r.json()
            return [str(item["UUID"]).lower() for item in (body.get("Content") or []) if item.get("UUID")]
        except (ValueError, AttributeError, TypeError, KeyError):
            raise InboxCallError("nilvera Purchase list: unreadable answer", retryable=True) from None

    def inbox_xml(self, uuid: str) -> bytes:
        try:
            r = self._request("GET", f"/einvoice/Purchase/{uuid}/xml")
        except httpx.HTTPError as exc:
            raise call_failed(exc, f"nilvera Purchase {uuid} xml") from None
        check_response(r, f"nilvera Purchase {uuid} xml")
        if not r.content.strip():
            raise InboxCallError(f"nilvera Purchase {uuid} xml: empty answer", retryable=True)
        return r.content

    def mark_taken(self, uuids: Sequence[str]) -> None:
        if not uuids:
            return
        try:
            r = self._request("PUT", "/einvoice/Purchase/Operation/Transferred", json=list(uuids))
        except httpx.HTTPError as exc:
            raise call_failed(exc, "nilvera Operation/Transferred") from None  # idempotent: safe to repeat
        check_response(r, "nilvera Operation/Transferred")

    def send_answer(self, uuid: str, response: str, reason: str | None) -> SendResult:
        code = _NILVERA_ANSWER.get(response)
        if code is None:
            return SendResult(Outcome.REJECTED, self.name, uuid, error_code="ubltr:unsupported-answer",
                              message=f"Nilvera's SendAnswer documents approved/rejected only, not {response}")
        body = {"UUID": uuid, "AnswerCode": code, "RejectNote": reason if response == "RED" else None}
        try:
            r = self._request("POST", "/einvoice/Purchase/SendAnswer", json=body)
        except httpx.HTTPError as exc:
            return failure_result(self.name, uuid, exc)
        err, message = _errors(r) if r.status_code >= 300 else (None, None)
        failed = http_failure(self.name, uuid, r, err, message)
        if failed is not None:
            return failed
        if r.status_code == 200:
            return self._result(Outcome.ACCEPTED, uuid, r, error_code=response)
        if r.status_code == 409:  # already answered: what Nilvera holds is the answer
            st = self.answer_status(uuid)
            if st.outcome is Outcome.ACCEPTED:
                return st
            return self._result(Outcome.UNKNOWN, uuid, r, error_code=err or "409", message=message)
        if r.status_code in _AUTH:
            return self._result(Outcome.RETRYABLE, uuid, r, error_code="Unauthorized",
                                message="credentials refused by the provider", retry_safe=False)
        return self._result(Outcome.REJECTED, uuid, r, error_code=err or str(r.status_code), message=message)

    def answer_status(self, uuid: str) -> SendResult:
        try:
            r = self._request("GET", f"/einvoice/Purchase/{uuid}/Status")
        except httpx.HTTPError as exc:
            return failure_result(self.name, uuid, exc)
        failed = http_failure(self.name, uuid, r)
        if failed is not None:
            return failed
        if r.status_code != 200:
            return self._result(Outcome.UNKNOWN, uuid, r, error_code=str(r.status_code))
        try:
            answer = (r.json().get("Answer") or {}).get("AnswerCode")
        except (ValueError, AttributeError):
            return self._result(Outcome.UNKNOWN, uuid, r, message="unreadable status")
        if answer in _NILVERA_ANSWERED:
            return self._result(Outcome.ACCEPTED, uuid, r, error_code=_NILVERA_ANSWERED[answer])
        return self._result(Outcome.RETRYABLE, uuid, r, message=f"no answer held ({answer})", retry_safe=True)
