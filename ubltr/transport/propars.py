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
"""

from __future__ import annotations

import datetime as _dt
import re
import uuid as _uuid
from collections.abc import Mapping
from typing import Any, Callable

import httpx
from lxml import etree

from .base import (BaseClient, Document, Outcome, ProviderError, SendResult, Unsupported, failure_result,
                   http_failure)

__all__ = ["ProparsClient", "sale_code_for", "invoice_date_param", "SEND_PATH", "SIGNED_XML_PATH",
           "PREVIEW_PATH", "CANCEL_PATH"]

PREVIEW_PATH = "/api/v1/finance/saleinvoice/invoice_html_for_sale/"
SEND_PATH = "/api/v1/finance/saleinvoice/send_invoice_for_sale/"
SIGNED_XML_PATH = "/api/v1/finance/saleinvoice/get_signed_xml_for_sale/"
CANCEL_PATH = "/api/v1/core/sale/cancel_invoice_by_code/"

_MAX_XML = 20 * 1024 * 1024
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_UUID4 = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}")
_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_TR = _dt.timezone(_dt.timedelta(hours=3))


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
    if len(data) > _MAX_XML or b"<!DOCTYPE" in data[:4096] or b"<!ENTITY" in data:
        return None, None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, dtd_validation=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
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


class ProparsClient(BaseClient):
    """Send, look up, fetch and cancel Propars sale invoices.

    ``http`` is an ``httpx.Client``; ``base_url`` is the Propars host (or the fake's
    URL; empty to use ``http``'s own ``base_url``).  ``token`` goes into
    ``Authorization: <scheme> <token>``.
    ``sale_code`` maps a :class:`Document` to its sale (default :func:`sale_code_for`).
    """

    name = "propars"
    supports_status = True
    #: one invoice per sale: a second send for a sent sale is refused, not duplicated
    idempotent = True
    secret_keys = ("token",)
    #: the provider's own idempotency key: one invoice per sale code
    idempotency_key = "sale_code"

    def __init__(self, http: httpx.Client, *, token: str, base_url: str = "", auth_scheme: str = "Token",
                 sale_code: Callable[[Document], str] = sale_code_for) -> None:
        if not token:
            raise ProviderError("propars: a token is required (UBLTR_PROPARS_TOKEN)")
        self._http = http
        self._base = base_url.rstrip("/")
        self._headers = {"Authorization": f"{auth_scheme} {token}", "Accept": "application/json"}
        self._sale_code = sale_code
        self._codes: dict[str, str] = {}   # uuid -> sale code, for status(uuid) in this process

    @classmethod
    def from_config(cls, config: Mapping[str, Any], http: httpx.Client) -> ProparsClient:
        """Keys: ``token`` (secret), ``base_url``, ``auth_scheme`` (default ``Token``)."""
        return cls(http, token=str(config.get("token") or ""), base_url=str(config.get("base_url") or ""),
                   auth_scheme=str(config.get("auth_scheme") or "Token"))

    # ------------------------------------------------------------------ helpers
    def _code(self, ref: Document | str) -> tuple[str, str]:
        """(uuid, sale code) of a Document or of a UUID we sent (or a bare sale code)."""
        if isinstance(ref, Document):
            code = self._sale_code(ref)
            self._codes[ref.uuid] = code
            return ref.uuid, code
        return ref, self._codes.get(ref, ref)

    def _request(self, method: str, path: str, params: dict[str, str]) -> httpx.Response:
        return self._http.request(method, self._base + path, params=params, headers=self._headers)

    def _result(self, outcome: Outcome, uuid: str, **kw: Any) -> SendResult:
        return SendResult(outcome=outcome, provider=self.name, uuid=uuid, **kw)

    def _transport_failure(self, uuid: str, exc: httpx.HTTPError) -> SendResult:
        return failure_result(self.name, uuid, exc)

    def _http_failure(self, uuid: str, resp: httpx.Response) -> SendResult:
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

    # ------------------------------------------------------------------ API
    def send(self, doc: Document) -> SendResult:
        """``send_invoice_for_sale`` with our ETTN (and number, date when known)."""
        if not _UUID4.fullmatch(doc.uuid or ""):
            return self._result(Outcome.REJECTED, doc.uuid, error_code="ubltr:uuid",
                                message="Propars requires invoice_uuid to be a UUID version 4")
        uuid, code = self._code(doc)
        params = {"sale_code": code, "invoice_uuid": uuid}
        if doc.invoice_id:
            params["invoice_number"] = doc.invoice_id
        date = invoice_date_param(doc.neutral)
        if date:
            params["invoice_date"] = date
        try:
            resp = self._request("POST", SEND_PATH, params)
        except httpx.HTTPError as exc:
            return self._transport_failure(uuid, exc)
        if resp.status_code in (200, 201):
            return self._accepted(uuid, resp)
        if resp.status_code in (400, 409):
            # a sale that already carries a sent invoice is refused; if that invoice is
            # ours (same ETTN), our earlier attempt went through
            found = self.status(doc)
            if found.outcome is Outcome.ACCEPTED:
                return found
        return self._http_failure(uuid, resp)

    def _accepted(self, uuid: str, resp: httpx.Response) -> SendResult:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        body = body if isinstance(body, dict) else {}
        their_uuid = body.get("uuid")
        message = None
        if their_uuid and str(their_uuid).lower() != uuid.lower():
            message = f"Propars sent the sale's invoice under another ETTN ({their_uuid})"
        number = body.get("invoice_number") or body.get("number")
        return self._result(Outcome.ACCEPTED, uuid,
                            provider_id=str(body["id"]) if body.get("id") is not None else None,
                            invoice_number=str(number) if number else None,
                            http_status=resp.status_code, message=message, raw=body)

    def status(self, ref: Document | str) -> SendResult:
        """Look the sale's signed invoice up: present means sent (ACCEPTED, with its
        ETTN checked against ours), 404 means Propars has no sent invoice for it."""
        uuid, code = self._code(ref)
        try:
            resp = self._request("GET", SIGNED_XML_PATH, {"sale_code": code})
        except httpx.HTTPError as exc:
            return self._transport_failure(uuid, exc)
        if resp.status_code == 200:
            their_uuid, number = _safe_xml_ids(resp.content)
            if their_uuid is None:
                return self._result(Outcome.UNKNOWN, uuid, error_code="ubltr:xml", http_status=200,
                                    message="signed XML unreadable")
            if _UUID.fullmatch(uuid) and their_uuid.lower() != uuid.lower():
                return self._result(Outcome.REJECTED, uuid, error_code="ubltr:other-invoice",
                                    http_status=200, invoice_number=number,
                                    message=f"sale {code} was invoiced under ETTN {their_uuid}")
            return self._result(Outcome.ACCEPTED, uuid, invoice_number=number, http_status=200)
        if resp.status_code == 404:
            return self._result(Outcome.RETRYABLE, uuid, error_code="404", http_status=404,
                                message=_message(resp), retry_safe=True)
        return self._http_failure(uuid, resp)

    def fetch(self, ref: Document | str, fmt: str = "xml") -> bytes:
        """The signed UBL-TR XML of a sent invoice (``fmt="xml"`` only: the document
        offers no PDF); raises ``httpx.HTTPStatusError`` when there is none."""
        if fmt != "xml":
            raise Unsupported("propars: only the signed XML can be fetched")
        uuid, code = self._code(ref)
        resp = self._request("GET", SIGNED_XML_PATH, {"sale_code": code})
        resp.raise_for_status()
        if len(resp.content) > _MAX_XML:
            raise ProviderError("propars: signed XML exceeds the size limit")
        return resp.content

    def preview(self, doc: Document) -> str:
        """The HTML preview.  Note (from the document): this *creates* the invoice when
        the sale has none yet, with our ETTN."""
        uuid, code = self._code(doc)
        params = {"sale_code": code, "invoice_uuid": uuid}
        if doc.invoice_id:
            params["invoice_number"] = doc.invoice_id
        date = invoice_date_param(doc.neutral)
        if date:
            params["invoice_date"] = date
        resp = self._request("GET", PREVIEW_PATH, params)
        resp.raise_for_status()
        return resp.text

    def cancel(self, ref: Document | str) -> SendResult:
        """Cancel an e-Arşiv invoice not yet reported to GİB (or an unsent e-Fatura)."""
        uuid, code = self._code(ref)
        try:
            resp = self._request("PATCH", CANCEL_PATH, {"sale_code": code})
        except httpx.HTTPError as exc:
            return self._transport_failure(uuid, exc)
        if resp.status_code in (200, 202, 204):
            return self._result(Outcome.ACCEPTED, uuid, http_status=resp.status_code,
                                message="cancelled")
        return self._http_failure(uuid, resp)
