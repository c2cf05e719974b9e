"""The narrow interface every provider client implements.

A client is a small object that takes an ``httpx.Client`` (or any object with the
same ``request`` method) as a parameter: tests and users slot in a fake provider
or an ``httpx.MockTransport`` there.  Every provider answer, success or failure,
becomes one :class:`SendResult`; nothing raises for a provider's "no".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable


class Outcome(str, enum.Enum):
    """Where a submission stands, as far as we can know it."""

    ACCEPTED = "accepted"        # final: the provider has it (and did not reject it)
    REJECTED = "rejected"        # final: the provider refused it; resending the same bytes will not help
    PENDING = "pending"          # the provider has it and is still processing
    UNKNOWN = "unknown"          # we do not know whether the provider has it (timeout, lost response)
    RETRYABLE = "retryable"      # the provider certainly does not have it (429, 5xx before acceptance)


@dataclass(frozen=True, slots=True)
class Document:
    """What a transport sends: the UBL-TR XML and the identity keys providers use."""

    uuid: str
    xml: bytes
    invoice_id: str | None = None
    profile: str | None = None
    receiver_alias: str | None = None
    neutral: dict[str, Any] | None = None  # the neutral invoice, for JSON-API providers


@dataclass(frozen=True, slots=True)
class SendResult:
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
        return self.outcome in (Outcome.ACCEPTED, Outcome.REJECTED)


Status = SendResult


class ProviderError(RuntimeError):
    """Misuse of a client (bad configuration), never a provider's answer."""


@runtime_checkable
class Provider(Protocol):
    name: str
    #: whether the provider documents a lookup by our key (UUID / LocalDocumentId / sale code)
    supports_status: bool

    def send(self, doc: Document) -> SendResult: ...

    def status(self, uuid: str) -> SendResult: ...
