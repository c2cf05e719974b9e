"""Safe parsing of untrusted XML, in one place for every stage.

No DTD is loaded, no entity is expanded, nothing is fetched from the network,
libxml2's huge-tree limits stay on, the size is capped, and a document that declares
a DOCTYPE (where entity bombs and XXE live) is refused outright.

One limit is lifted on demand: libxml2 refuses a single text node over 10 MB, and a
real invoice can carry a scanned PDF of that size base64-encoded in
``cbc:EmbeddedDocumentBinaryObject`` (GİB accepts it).  Such a document is parsed a
second time with only that relaxed (:func:`too_long`); the byte cap still bounds it,
and the depth limit and everything else stay as they are.  Stages turn
:class:`UnsafeXML` into their own error types; the validator reports the same checks
as findings instead (``ubltr/validation/engine.py``).
"""

from __future__ import annotations

import os
from typing import BinaryIO, Callable, Union

from lxml import etree

__all__ = ["UnsafeXML", "TooLarge", "parser", "fromstring", "parse_bytes", "too_long", "read_limited", "MAX_BYTES"]

#: The one size limit of ubltr for an XML document, in bytes (50 MiB): ``build`` and
#: ``batch`` refuse to write a larger one, ``validate``, ``verify``, ``render``,
#: ``sign`` and ``parse`` refuse to read one (stopping as soon as the limit is passed,
#: so a 2 GB input costs at most this much memory).  ``schematron/scenarios.json``
#: carries the same number for the validator (a test keeps them equal).
MAX_BYTES = 50 * 1024 * 1024

_CHUNK = 1024 * 1024


class UnsafeXML(ValueError):
    """The bytes are not XML we are willing to read; ``line`` when known."""

    def __init__(self, message: str, line: int | None = None):
        self.line = line
        super().__init__(message)


class TooLarge(UnsafeXML):
    """The input is larger than the size limit (found while reading, before it was all read)."""


def read_limited(source: Union[str, "os.PathLike[str]", BinaryIO], max_bytes: int = MAX_BYTES,
                 what: str = "document") -> bytes:
    """The bytes of a file path or a binary stream, read in chunks and abandoned with
    :class:`TooLarge` as soon as there are more than ``max_bytes`` (a regular file's size
    is checked before anything is read).  ``OSError`` passes through."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise TooLarge(f"{what} is {size} bytes; the limit is {max_bytes}")
            return read_limited(fh, max_bytes, what)
    parts: list[bytes] = []
    total = 0
    while True:
        chunk = source.read(min(_CHUNK, max_bytes + 1 - total))
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        total += len(chunk)
        if total > max_bytes:
            raise TooLarge(f"{what} is larger than the limit of {max_bytes} bytes")


def too_long(exc: etree.XMLSyntaxError) -> bool:
    """libxml2 stopped at its 10 MB text/attribute/name length limit (not at a depth
    or entity limit): the one case worth a second parse with ``parser(long_text=True)``."""
    msg = str(getattr(exc, "msg", "") or exc)
    return "too long" in msg.lower() and "depth" not in msg.lower()


def parser(*, keep_comments: bool = True, long_text: bool = False) -> etree.XMLParser:
    """A fresh parser with every unsafe feature off (lxml parsers are not thread-safe,
    so callers do not share one across threads).  ``long_text``: text nodes over 10 MB
    are allowed (libxml2's XML_PARSE_HUGE; only after :func:`too_long`, the byte cap
    of the caller still applies)."""
    return etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=long_text, load_dtd=False,
        dtd_validation=False, remove_blank_text=False, remove_comments=not keep_comments,
        remove_pis=False, strip_cdata=False,
    )


def _long_parser() -> etree.XMLParser:
    return parser(long_text=True)


def parse_bytes(data: bytes, short: etree.XMLParser,
                long: etree.XMLParser | Callable[[], etree.XMLParser]) -> etree._Element:
    """``etree.fromstring(data, short)``; when libxml2 stopped only at its text-length
    limit (:func:`too_long`), once more with ``long`` (the same options with
    ``huge_tree=True``, or a function making that parser: built only in that rare case).
    Raises ``etree.XMLSyntaxError`` otherwise."""
    try:
        return etree.fromstring(data, short)
    except etree.XMLSyntaxError as exc:
        if not too_long(exc):
            raise
    return etree.fromstring(data, long if isinstance(long, etree.XMLParser) else long())


def fromstring(data: bytes, *, max_bytes: int = MAX_BYTES, what: str = "document") -> etree._Element:
    """Parse ``data``; raise :class:`UnsafeXML` for oversize input, malformed XML,
    a DOCTYPE / entity declaration, or an entity reference left in the tree."""
    if not isinstance(data, (bytes, bytearray)):
        raise UnsafeXML(f"{what} must be bytes, not {type(data).__name__}")
    if len(data) > max_bytes:
        raise UnsafeXML(f"{what} is {len(data)} bytes; the limit is {max_bytes}")
    head = bytes(data[:4096]).lstrip(b"\xef\xbb\xbf")
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise UnsafeXML(f"{what} declares a DOCTYPE/entities, which are refused (entity expansion, XXE)")
    try:
        root = parse_bytes(bytes(data), parser(), _long_parser)
    except etree.XMLSyntaxError as exc:
        raise UnsafeXML(f"line {exc.lineno}: {what} is not well-formed XML: {exc.msg}", exc.lineno) from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXML(f"{what} declares a DOCTYPE/entities, which are refused (entity expansion, XXE)")
    return root
