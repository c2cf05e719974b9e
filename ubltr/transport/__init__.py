"""Provider transports: one module per provider behind :class:`ubltr.transport.base.Provider`."""

from .base import Document, Outcome, Provider, ProviderError, SendResult, Status

__all__ = ["Document", "Outcome", "Provider", "ProviderError", "SendResult", "Status"]
