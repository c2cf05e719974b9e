"""QR codes as inline SVG (pure Python, via :mod:`segno`).

The content is whatever the caller passes; for invoices it is the Karekod JSON built
by :func:`ubltr.view.qr_payload`.  Error correction level M, as GİB's own viewer
uses; text is encoded as UTF-8 bytes.
"""

from __future__ import annotations

import io

import segno


def svg(text: str, *, border: int = 4, title: str = "Karekod") -> str:
    """An ``<svg>`` element drawing ``text`` as a QR code, sized by CSS (viewBox only)."""
    code = segno.make(text, error="m", micro=False, encoding="utf-8", boost_error=False)
    buf = io.BytesIO()
    code.save(
        buf,
        kind="svg",
        xmldecl=False,
        svgns=True,
        scale=1,
        border=border,
        omitsize=True,
        svgclass="qr",
        lineclass=None,
        title=title,
        dark="#000",
        light="#fff",
    )
    return buf.getvalue().decode("utf-8")
