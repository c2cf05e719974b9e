"""QR codes as inline SVG.

The content is whatever the caller passes; for invoices it is the Karekod JSON built
by :func:`ubltr.view.qr_payload`.  Error correction level M, as GİB's own viewer
uses.  ASCII text (every Karekod: VKNs, codes, dates, amounts, the ETTN) is encoded
with no ECI header, as segno and GİB's viewer write it; other
text gets an ECI header naming its character set (ISO/IEC 18004 §6.4.2), so a reader
decodes it exactly instead of guessing.

The symbol is made by a compiled encoder (:mod:`zxingcpp`, whose writer is Zint) with
a fixed data mask: the mask search (eight masks, each scored by the standard's
penalty rules) is what made the pure-Python encoder slow, and it costs Zint too
(1.5 ms against 0.2 ms for a Karekod).  Every mask is valid (ISO/IEC 18004 §7.8);
mask 2 is the one Zint's search picks most often for GİB Karekods (12 of the 28 GİB
invoice samples), and every sample's Karekod reads back with OpenCV's readers
(tests/test_render.py).  The SVG is one stroked ``<path>``, a row of modules per
subpath, written from the module matrix with string operations only.
"""

from __future__ import annotations

from html import escape
from typing import Any, cast

import zxingcpp

#: The data mask pattern (0-7) of every Karekod ubltr draws.
MASK = 2

_MODULE = {0: "h1", 255: "m1 0"}  # a dark module draws one unit, a light one moves one
_MERGE = (("h1h1", "h2"), ("h2h2", "h4"), ("h4h4", "h8"), ("h8h8", "h16"),
          ("m1 0m1 0", "m2 0"), ("m2 0m2 0", "m4 0"), ("m4 0m4 0", "m8 0"), ("m8 0m8 0", "m16 0"))


def matrix(text: str) -> list[bytes]:
    """The QR symbol of ``text`` (error level M, data mask :data:`MASK`), one ``bytes``
    per row of modules: ``0`` for a dark module, ``255`` for a light one; no quiet zone."""
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M", data_mask=MASK)
    image = code.to_image(scale=1, add_quiet_zones=False)
    height, width = image.shape
    data = bytes(memoryview(cast(Any, image)))  # a buffer at run time; the stub does not say so
    return [data[r * width:(r + 1) * width] for r in range(height)]


def svg(text: str, *, border: int = 4, title: str = "Karekod") -> str:
    """An ``<svg>`` element drawing ``text`` as a QR code, sized by CSS (viewBox only)."""
    rows = matrix(text)
    size = len(rows) + 2 * border
    path = "".join([f"M{border} {y}.5" + row.decode("latin-1").translate(_MODULE)
                    for y, row in enumerate(rows, start=border)])
    for run, merged in _MERGE:  # runs of 2, 4, 8, 16 modules as one command
        path = path.replace(run, merged)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" class="qr"'
        f' shape-rendering="crispEdges"><title>{escape(title)}</title>'
        f'<path fill="#fff" d="M0 0h{size}v{size}h-{size}z"/>'
        f'<path stroke="#000" d="{path}"/></svg>'
    )
