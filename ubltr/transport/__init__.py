"""Provider transports: one module per provider behind :class:`ubltr.transport.base.Provider`.

Provider names map to their client and fake in :mod:`ubltr.transport.registry`.
"""

from .base import (BaseClient, Document, Outcome, Provider, ProviderError, SendResult, Status,
                   Unsupported)

__all__ = ["BaseClient", "Document", "Outcome", "Provider", "ProviderError", "SendResult", "Status",
           "Unsupported"]
