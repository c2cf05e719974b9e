"""``ubltr parse`` for e-İrsaliye: a DespatchAdvice / ReceiptAdvice back to neutral JSON.

The engineer on issue #11 adds the invoice ``ubltr parse`` in ``commands/parse.py``.
This module keeps the despatch side apart so the two merge cleanly:

* :func:`despatch_json` is the hook for that command: the neutral JSON of a despatch
  or receipt advice, or ``None`` when the XML is another document (an invoice: theirs);
* while ``commands/parse.py`` does not exist, this module registers a ``parse`` command
  of its own that chooses by the XML root (invoices through :mod:`ubltr.parse`).
  Once it exists, nothing is registered here (``parse`` is theirs; wire
  :func:`despatch_json` into it).
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import click

from ._common import EXIT_BAD_INPUT, fail, read_input, write_output

_ROOTS = {"DespatchAdvice", "ReceiptAdvice"}


def despatch_json(xml: bytes) -> dict[str, Any] | None:
    """The neutral JSON (``"document": "despatch"`` / ``"receipt"``) of a UBL-TR despatch
    or receipt advice; ``None`` when the root is neither.  Raises
    :class:`ubltr.parse.ParseError` for unreadable XML."""
    from lxml import etree

    from .. import xmlsafe
    from ..despatch import to_dict
    from ..despatch_parse import parse_document
    from ..parse import ParseError

    try:
        root = xmlsafe.fromstring(xml)
    except xmlsafe.UnsafeXML as exc:
        raise ParseError(str(exc)) from None
    if etree.QName(root).localname not in _ROOTS:
        return None
    return to_dict(parse_document(root))


def _to_json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


@click.command("parse")
@click.argument("input", metavar="IN.xml", default="-")
@click.option("-o", "--output", default="-", metavar="OUT.json", help="where to write the JSON (- for stdout)")
def parse_command(input: str, output: str) -> None:
    """Read a UBL-TR document back into neutral JSON (IN.xml, - for stdin).

    The kind comes from the XML root: DespatchAdvice and ReceiptAdvice give
    "document": "despatch" / "receipt"; an Invoice gives the neutral invoice.
    `ubltr build` turns the JSON back into XML.  Exit 0, or 2 when the XML cannot be read.
    """
    from ..parse import ParseError

    data = read_input(input)
    try:
        out = despatch_json(data)
        if out is None:
            from ..model import to_dict
            from ..parse import parse

            out = to_dict(parse(data))
    except ParseError as exc:
        fail(f"{input}: {exc}", EXIT_BAD_INPUT)
    write_output(output, _to_json(out))


# `parse` belongs to commands/parse.py once it exists (issue #11); see the module docstring
COMMANDS = [] if importlib.util.find_spec(f"{__package__}.parse") is not None else [parse_command]
