"""e-İrsaliye for ``ubltr parse``: a DespatchAdvice / ReceiptAdvice back to neutral JSON.

:func:`despatch_json` is what ``ubltr parse`` (``commands/parse.py``) calls first: the
neutral JSON of a despatch or receipt advice, or ``None`` when the XML is another
document (an invoice, an envelope).
"""

from __future__ import annotations

from typing import Any



_ROOTS = {"DespatchAdvice", "ReceiptAdvice"}


def despatch_json(xml: bytes) -> dict[str, Any] | None:
    """The neutral JSON (``"document": "despatch"`` / ``"receipt"``) of a UBL-TR despatch
    or receipt advice; ``None`` when the root is neither.  Raises
    :class:`ubltr.parsing.ParseError` for unreadable XML."""
    from lxml import etree

    from .. import xmlsafe
    from ..despatch import to_dict
    from ..despatch_parse import parse_document
    from ..parsing import ParseError

    try:
        root = xmlsafe.fromstring(xml)
    except xmlsafe.UnsafeXML as exc:
        raise ParseError(str(exc)) from None
    if etree.QName(root).localname not in _ROOTS:
        return None
    return to_dict(parse_document(root))


