"""What a provider offers the receiving side (issue #13): the inbox and answers.

A client that documents it implements :class:`InboxClient` (Nilvera: ``einvoice/Purchase``,
``Purchase/SendAnswer``; Uyumsoft/Hepsiburada: ``GetInboxInvoices``,
``GetInboxInvoiceData``, ``SetInvoicesTaken``, ``SendDocumentResponse``).  Calls that got no
usable answer raise :class:`InboxCallError`; ``retryable`` says whether trying again is
safe and sensible (connection refused, 429, 5xx, a timeout on a read-only call).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import httpx

from .base import SendResult


class InboxCallError(RuntimeError):
    """A provider call for the inbox failed; never carries credentials."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None):
        self.retryable = retryable
        self.status = status
        super().__init__(message)


@runtime_checkable
class InboxClient(Protocol):
    name: str

    def inbox_page(self, page_size: int) -> list[str]:
        """UUIDs of incoming invoices the provider still marks new (not taken), first page."""

    def inbox_xml(self, uuid: str) -> bytes:
        """The incoming invoice's UBL-TR XML, as the provider holds it."""

    def mark_taken(self, uuids: Sequence[str]) -> None:
        """Tell the provider these invoices were received (they leave the new list)."""

    def send_answer(self, uuid: str, response: str, reason: str | None) -> SendResult:
        """KABUL / RED (/ IADE where documented) for an incoming TICARIFATURA."""

    def answer_status(self, uuid: str) -> SendResult:
        """Whether the provider holds an answer for the invoice: ACCEPTED (answered, with
        ``error_code`` the response code), RETRYABLE when it has none, PENDING, UNKNOWN."""


def check_response(r: httpx.Response, what: str) -> None:
    """Raise :class:`InboxCallError` for a non-2xx answer (retryable on 429 / 5xx)."""
    if 200 <= r.status_code < 300:
        return
    raise InboxCallError(f"{what}: HTTP {r.status_code}", retryable=r.status_code in (429, 500, 502, 503, 504),
                         status=r.status_code)


def call_failed(exc: httpx.HTTPError, what: str) -> InboxCallError:
    """A request without an HTTP answer.  Read-only calls and the idempotent ones
    (marking taken twice is harmless) may be retried; the caller decides for answers."""
    return InboxCallError(f"{what}: {type(exc).__name__}", retryable=True)


#: providers that document the receiving side -> their inbox client and fake (module:Class)
INBOX_PROVIDERS: dict[str, tuple[str, str]] = {
    "nilvera": ("ubltr.transport.nilvera:NilveraInbox", "ubltr.transport.fake.nilvera:NilveraInboxFake"),
    "hepsiburada": ("ubltr.transport.hepsiburada:HepsiburadaInbox",
                    "ubltr.transport.fake.hepsiburada:HepsiburadaInboxFake"),
}


def _load(ref: str) -> Any:
    import importlib

    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def inbox_fake_class(name: str) -> type:
    return _load(_entry(name)[1])


def _entry(name: str) -> tuple[str, str]:
    from .base import ProviderError

    try:
        return INBOX_PROVIDERS[name]
    except KeyError:
        raise ProviderError(f"provider {name!r} documents no inbox API that ubltr speaks; "
                            f"known: {', '.join(sorted(INBOX_PROVIDERS))}") from None


def make_inbox_client(name: str, config: Mapping[str, Any], http: httpx.Client | None = None) -> InboxClient:
    """A ready inbox client (credentials from ``UBLTR_<NAME>_<KEY>`` as for sending)."""
    from .registry import resolve_config

    cls = _load(_entry(name)[0])
    cfg = resolve_config(name, config)
    if http is None:
        timeout = float(cfg.get("timeout", 30.0))
        http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
    client: InboxClient = cls.from_config(cfg, http)
    return client
