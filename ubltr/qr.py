"""QR codes as inline SVG.

The content is whatever the caller passes; for invoices it is the Karekod JSON built
by :func:`ubltr.view.qr_payload`.  Error correction level M, as GİB's own viewer
uses.  ASCII text (every Karekod: VKNs, codes, dates, amounts, the ETTN) is encoded
with no ECI header, as segno and GİB's viewer write it; other
text gets an ECI header naming its character set (ISO/IEC 18004 §6.4.2), so a reader
decodes it exactly instead of guessing.

The symbol is made by a compiled encoder (:mod:`zxingcpp`, whose writer is Zint: it
picks the version, the segment modes and the mask by the standard's penalty rules in
C, about 0.3 ms for a Karekod where a pure-Python encoder spends 4 to 20 ms, most of
it in the mask search).  The SVG is one ``<path>`` of horizontal runs of dark modules,
written here from the module matrix.
"""

from __future__ import annotations

import re
from typing import Any, cast

import zxingcpp

_DARK_RUNS = re.compile(rb"\x00+")


def matrix(text: str) -> list[bytes]:
    """The QR symbol of ``text`` (error level M), one ``bytes`` per row of modules:
    ``0`` for a dark module, ``255`` for a light one; no quiet zone."""
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = code.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    data = bytes(memoryview(cast(Any, image)))  # a buffer at run time; the stub does not say so
    return [data[r * width:(r + 1) * width] for r in range(height)]


def svg(text: str, *, border: int = 4, title: str = "Karekod") -> str:
    """An ``<svg>`` element drawing ``text`` as a QR code, sized by CSS (viewBox only)."""
    rows = matrix(text)
    size = len(rows) + 2 * border
    parts: list[str] = []
    for y, row in enumerate(rows, start=border):
        for run in _DARK_RUNS.finditer(row):
            parts.append(f"M{run.start() + border} {y}h{run.end() - run.start()}v1h-{run.end() - run.start()}z")
    from html import escape

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" class="qr"'
        f' shape-rendering="crispEdges"><title>{escape(title)}</title>'
        f'<path fill="#fff" d="M0 0h{size}v{size}h-{size}z"/>'
        f'<path fill="#000" d="{"".join(parts)}"/></svg>'
    )
