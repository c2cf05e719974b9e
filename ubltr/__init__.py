"""ubltr: Turkish e-invoices (UBL-TR 1.2): neutral JSON → tax math → UBL-TR XML →
validation → XAdES signing → provider transports."""

from __future__ import annotations

__version__ = "0.1.0"

from .model import Invoice, InvoiceInputError, load, loads  # noqa: E402

__all__ = ["__version__", "Invoice", "InvoiceInputError", "load", "loads"]
