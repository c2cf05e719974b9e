"""The narrow interface every provider client implements.

A client is a small object that takes an ``httpx.Client`` (or any object with the
same ``request`` method) as a parameter: tests and users slot in a fake provider
or an ``httpx.MockTransport`` there.  Every provider answer, success or failure,
becomes one :class:`SendResult`; nothing raises for a provider's "no".

The contract the outbox relies on (see docs/transport.md):

* ``send(doc)`` returns ``ACCEPTED`` / ``REJECTED`` (final), ``PENDING`` (the
  provider has it), ``RETRYABLE`` (the provider certainly does not have it: 429,
  503, connection refused) or ``UNKNOWN`` (timeout, lost response, other 5xx).
  A duplicate answer on the provider's idempotency key ("already saved") is not a
  rejection: the client resolves it to the stored document's status.
* ``status(uuid)`` returns the same outcomes; ``RETRYABLE`` there means "the
  provider answered that it has no document with this key" (so a send is safe) and
  carries the HTTP status of that answer (e.g. 404); ``UNKNOWN`` that the question
  itself went unanswered (timeout, 429, 5xx).  The outbox double-checks: a
  ``RETRYABLE`` status with no HTTP status, 429 or 5xx is treated as ``UNKNOWN``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx


class Outcome(str, enum.Enum):
    """Where a submission stands, as far as we can know it."""

    ACCEPTED = "accepted"        # final: the provider has it (and did not reject it)
    REJECTED = "rejected"        # final: the provider refused it; resending the same bytes will not help
    PENDING = "pending"          # the provider has it and is still processing
    UNKNOWN = "unknown"          # we do not know whether the provider has it (timeout, lost response)
    RETRYABLE = "retryable"      # the provider certainly does not have it (429, 503, refused connection)
    CANCELLED = "cancelled"      # final: the provider had it and it was cancelled (e-Arşiv iptal)


#: XML size we accept when reading a document's identity (the validator has its own limit)
MAX_XML_BYTES = 20 * 1024 * 1024

_NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}


@dataclass(frozen=True, slots=True)
class Document:
    """What a transport sends: the UBL-TR XML and the identity keys providers use."""

    uuid: str
    xml: bytes
    invoice_id: str | None = None
    profile: str | None = None
    receiver_alias: str | None = None
    neutral: dict[str, Any] | None = None  # the neutral invoice, for JSON-API providers

    @classmethod
    def from_xml(cls, xml: bytes, *, receiver_alias: str | None = None,
                 neutral: dict[str, Any] | None = None) -> Document:
        """Read ``cbc:UUID``, ``cbc:ID`` and ``cbc:ProfileID`` from a UBL-TR document.

        Parsing is XXE-safe (no DTDs, no entities, no network); raises ``ValueError``
        naming what is missing or malformed.
        """
        root = parse_xml(xml)
        def first(tag: str) -> str | None:
            for child in root:
                if child.tag == f"{{{_NS['cbc']}}}{tag}":
                    return (child.text or "").strip() or None
            return None
        uuid = first("UUID")
        if not uuid:
            raise ValueError("document has no cbc:UUID (the key that makes sending exactly-once)")
        return cls(uuid=uuid, xml=xml, invoice_id=first("ID"), profile=first("ProfileID"),
                   receiver_alias=receiver_alias, neutral=neutral)


def parse_xml(xml: bytes) -> Any:
    """XXE-safe parse of untrusted XML; refuses DOCTYPEs and oversize input (``ValueError``)."""
    from .. import xmlsafe

    return xmlsafe.fromstring(xml, max_bytes=MAX_XML_BYTES, what="XML")  # UnsafeXML is a ValueError


@dataclass(frozen=True, slots=True)
class SendResult:
    """One provider answer, normalised: the only shape the outbox ever sees."""

    outcome: Outcome
    provider: str
    uuid: str
    provider_id: str | None = None
    invoice_number: str | None = None
    error_code: str | None = None
    message: str | None = None
    http_status: int | None = None
    retry_safe: bool = False
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def final(self) -> bool:
        return self.outcome in (Outcome.ACCEPTED, Outcome.REJECTED, Outcome.CANCELLED)


Status = SendResult


class ProviderError(RuntimeError):
    """Misuse of a client (bad configuration), never a provider's answer."""


class Unsupported(ProviderError):
    """The provider does not offer this operation (e.g. cancel on e-Fatura)."""


class ConfigurationError(ProviderError):
    """The client's configuration cannot work (a control character in a credential, an
    unusable URL): found before any request, so nothing was sent."""


class OperationFailed(ProviderError):
    """A provider operation (status, fetch, lookup, cancel) did not succeed.

    ``provider``, ``http_status`` (``None`` without an answer), ``codes`` (the
    provider's error codes, when its answer had any).  Subclasses say why; none of
    them is a raw ``httpx`` exception."""

    def __init__(self, provider: str, message: str, *, http_status: int | None = None,
                 codes: tuple[str, ...] = ()) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.http_status = http_status
        self.codes = codes


class AuthFailed(OperationFailed):
    """The provider refused our credentials (401/403)."""


class Refused(OperationFailed):
    """The provider answered no, with its codes (a 4xx or a business error)."""


class NotFoundError(Refused):
    """The provider answered that it has no such document or taxpayer (404)."""


class RateLimited(OperationFailed):
    """The provider asked us to slow down (429)."""


class Unavailable(OperationFailed):
    """No usable answer: no connection, a timeout, a dropped connection, 5xx, an unreadable body."""


_CONTROL = {chr(c) for c in range(0x20)} | {"\x7f"}


def check_secret(provider: str, key: str, value: str | None) -> None:
    """Refuse a credential that cannot travel unchanged (a carriage return or other
    control character, typically pasted with the value): :class:`ConfigurationError`
    naming the key, never the value."""
    if value is None:
        return
    bad = sorted({f"U+{ord(ch):04X}" for ch in value if ch in _CONTROL})
    if bad:
        raise ConfigurationError(f"{provider}: credential {key!r} contains control character(s) "
                                 f"{', '.join(bad)} (a pasted line break?): fix UBLTR_{provider.upper()}_{key.upper()}")


#: httpx errors raised before anything left this machine: the configuration is at fault
LOCAL_ERRORS: tuple[type[Exception], ...] = (httpx.LocalProtocolError, httpx.UnsupportedProtocol, httpx.InvalidURL)


def operation_error(provider: str, what: str, *, exc: Exception | None = None,
                    response: httpx.Response | None = None, code: str | None = None,
                    message: str | None = None) -> ProviderError:
    """The typed error for a failed operation (``what``: "status", "fetch", "lookup" ...)
    from an httpx exception or an HTTP answer."""
    if exc is not None:
        if isinstance(exc, LOCAL_ERRORS):
            return ConfigurationError(f"{provider}: {what}: the request could not be built "
                                      f"({type(exc).__name__}); nothing was sent")
        kind = "no connection" if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)) else (
            "timed out" if isinstance(exc, httpx.TimeoutException) else "connection failed")
        return Unavailable(provider, f"{what}: {kind} ({type(exc).__name__})")
    assert response is not None
    st = response.status_code
    codes = (code,) if code else ()
    text = f"{what}: HTTP {st}" + (f" {code}" if code else "") + (f": {message}" if message else "")
    if st in (401, 403):
        return AuthFailed(provider, f"{what}: credentials refused (HTTP {st})", http_status=st, codes=codes)
    if st == 429:
        return RateLimited(provider, text, http_status=st, codes=codes)
    if st >= 500:
        return Unavailable(provider, text, http_status=st, codes=codes)
    if st == 404:
        return NotFoundError(provider, text, http_status=st, codes=codes)
    return Refused(provider, text, http_status=st, codes=codes)


@runtime_checkable
class Provider(Protocol):
    name: str
    #: whether the provider documents a lookup by our key (UUID / LocalDocumentId / sale code)
    supports_status: bool
    #: whether the provider refuses a second document with the same key (so a resend is harmless)
    idempotent: bool

    def send(self, doc: Document) -> SendResult: ...

    def status(self, uuid: str) -> SendResult: ...


#: ``error_code`` of a result whose request was never sent because the configuration is unusable
CONFIGURATION = "ubltr:configuration"


def failure_result(provider: str, uuid: str, exc: Exception) -> SendResult:
    """The outcome of a request that got no HTTP answer.

    A connection that was never made (refused, connect timeout, pool timeout) cannot
    have reached the provider: ``RETRYABLE``.  Anything after the request may have
    left (read timeout, dropped connection) is ``UNKNOWN``.
    """
    if isinstance(exc, LOCAL_ERRORS):
        # built but refused by httpx itself (e.g. a control character in a header): never sent
        return SendResult(Outcome.RETRYABLE, provider, uuid, error_code=CONFIGURATION,
                          message=f"bad configuration: the request could not be built ({type(exc).__name__}); "
                                  "nothing was sent")
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return SendResult(Outcome.RETRYABLE, provider, uuid, error_code=type(exc).__name__,
                          message="no connection to the provider", retry_safe=True)
    return SendResult(Outcome.UNKNOWN, provider, uuid, error_code=type(exc).__name__,
                      message="no answer from the provider; ask for the status before any resend")


#: HTTP statuses that mean "not processed, try later" (documented by RFC 9110 / 6585)
RETRY_STATUSES = frozenset({429, 503})


def http_failure(provider: str, uuid: str, response: httpx.Response,
                 error_code: str | None = None, message: str | None = None) -> SendResult | None:
    """The outcome of a 429 / 5xx answer, or ``None`` when the status is not one of those."""
    code = response.status_code
    if code in RETRY_STATUSES:
        return SendResult(Outcome.RETRYABLE, provider, uuid, error_code=error_code or str(code),
                          message=message or response.reason_phrase, http_status=code, retry_safe=True)
    if code >= 500:
        return SendResult(Outcome.UNKNOWN, provider, uuid, error_code=error_code or str(code),
                          message=message or response.reason_phrase, http_status=code)
    return None


class BaseClient:
    """Shared plumbing for the clients; optional operations raise :class:`Unsupported`.

    Subclasses set ``name``, ``supports_status``, ``idempotent`` and ``secret_keys``
    (configuration keys that hold credentials: read from the environment as
    ``UBLTR_<NAME>_<KEY>`` by :func:`ubltr.transport.registry.make_client`, never logged).
    """

    name: ClassVar[str] = "base"
    supports_status: ClassVar[bool] = False
    idempotent: ClassVar[bool] = False
    secret_keys: ClassVar[tuple[str, ...]] = ()
    #: a provider that issues its own invoice from fields refuses a signed document
    #: unless this is set (the signature cannot travel): see ubltr.transport.payload_check
    reissue_signed: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any], http: httpx.Client) -> BaseClient:
        """Build a client from a flat configuration mapping (file + environment)."""
        raise NotImplementedError

    def send(self, doc: Document) -> SendResult:
        raise NotImplementedError

    def status(self, uuid: str) -> SendResult:
        raise Unsupported(f"{self.name}: no status lookup")

    def refusal(self, doc: Document) -> str | None:
        """Why ``doc`` cannot go to this provider without losing meaning (its mapping
        table, its documented field rules), found without any request; ``None`` when
        it can.  :meth:`send` refuses the same documents; the outbox asks first so that
        a refused document is never journaled as sent."""
        from . import mapping

        body_for = getattr(self, "body_for", None)
        try:
            if body_for is not None:
                body_for(doc)
            else:
                mapping.refuse_profile(self.name, doc.profile)
        except ValueError as exc:  # MappingError, InvoiceInputError, calc errors
            return str(exc)[:1000]
        return None

    def _send_mapped(self, doc: Document, body_for: Callable[[Document], bytes], url: str,
                     headers: Mapping[str, str], interpret: Callable[[str, httpx.Response], SendResult],
                     no_lookup_hint: str | None = None) -> SendResult:
        """Map ``doc`` to the provider's body, post it, and turn any answer into one
        :class:`SendResult`: input the provider's fields cannot hold is REJECTED before
        any request (``ubltr:mapping``); for a provider with no lookup, an unknown outcome
        carries ``no_lookup_hint`` (reconcile by hand, never resend)."""
        try:
            body = body_for(doc)
        except ValueError as exc:  # MappingError, InvoiceInputError, calc.CalcError, payload_check.PayloadRefused
            return SendResult(outcome=Outcome.REJECTED, provider=self.name, uuid=doc.uuid,
                              error_code=getattr(exc, "error_code", "ubltr:mapping"), message=str(exc)[:1000])
        try:
            resp = self._http.post(url, content=body, headers=dict(headers))  # type: ignore[attr-defined]
        except httpx.HTTPError as exc:
            res = failure_result(self.name, doc.uuid, exc)
            if no_lookup_hint and res.outcome is Outcome.UNKNOWN:
                res = replace(res, message=no_lookup_hint)
            return res
        return interpret(doc.uuid, resp)

    def fetch(self, uuid: str, fmt: str = "pdf") -> bytes:
        """The provider's rendering of a sent document (``pdf`` / ``xml``)."""
        raise Unsupported(f"{self.name}: no document download")

    def cancel(self, uuid: str) -> SendResult:
        """Cancel a sent document where the provider allows it (e-Arşiv)."""
        raise Unsupported(f"{self.name}: no cancel")

    def lookup(self, tax_id: str) -> list[dict[str, Any]]:
        """Taxpayer / alias lookup: the registered e-Fatura users for a VKN/TCKN."""
        raise Unsupported(f"{self.name}: no taxpayer lookup")

    def __repr__(self) -> str:  # never show credentials
        return f"<{type(self).__name__} {self.name}>"
