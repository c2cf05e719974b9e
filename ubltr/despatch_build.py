"""e-İrsaliye XML out: :class:`~ubltr.despatch.Despatch` → UBL-TR ``DespatchAdvice`` and
:class:`~ubltr.despatch.Receipt` → ``ReceiptAdvice`` from jinja2 templates
(``templates/despatch.xml.j2``, ``templates/receipt.xml.j2``), in the element order of
GİB's UBL 2.1 XSDs.  Same conventions as the invoice builder (:mod:`ubltr.render`):
every value escaped, an ``ubltr:Unsigned`` placeholder where ``ubltr sign`` puts the
signature, ``cac:Signature`` pointing at ``#Signature_<ID>``, deterministic output for a
document that carries its ``uuid``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import jinja2

from .despatch import Despatch, Receipt
from .render import _Environment, _xml_escape
from .resources import folder

__all__ = ["build_despatch", "build_receipt", "build_document"]


@cache
def _env() -> jinja2.Environment:
    return _Environment(
        loader=jinja2.FileSystemLoader(str(folder("templates"))),
        autoescape=False,
        finalize=_xml_escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )


def build_despatch(desp: Despatch) -> bytes:
    """The unsigned UBL-TR ``DespatchAdvice`` of ``desp`` as UTF-8 bytes (a UUID is
    generated when ``desp.uuid`` is None)."""
    if not isinstance(desp, Despatch):
        raise TypeError(f"build_despatch() takes a Despatch, not {type(desp).__name__}")
    return _env().get_template("despatch.xml.j2").render(d=desp.with_identity()).encode("utf-8")


def build_receipt(receipt: Receipt) -> bytes:
    """The unsigned UBL-TR ``ReceiptAdvice`` (irsaliye yanıtı) of ``receipt``."""
    if not isinstance(receipt, Receipt):
        raise TypeError(f"build_receipt() takes a Receipt, not {type(receipt).__name__}")
    return _env().get_template("receipt.xml.j2").render(d=receipt.with_identity()).encode("utf-8")


def build_document(doc: Any) -> bytes:
    """Build an invoice, despatch or receipt, whichever ``doc`` is."""
    if isinstance(doc, Despatch):
        return build_despatch(doc)
    if isinstance(doc, Receipt):
        return build_receipt(doc)
    from .render import build

    return build(doc)
