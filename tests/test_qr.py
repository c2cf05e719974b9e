"""ubltr's QR encoder (ubltr/qr.py) held to readers and tables nobody here wrote:
zxing-cpp's reader (text, error level, data mask, version of every symbol) and the
capacities of ISO/IEC 18004 Table 7 as segno carries them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ubltr import qr

zxingcpp = pytest.importorskip("zxingcpp")
np = pytest.importorskip("numpy")
segno_consts = pytest.importorskip("segno.consts")


def _image(rows: list[bytes], scale: int = 3, quiet: int = 4) -> Any:
    size = len(rows)
    img = np.full(((size + 2 * quiet) * scale, (size + 2 * quiet) * scale), 255, dtype=np.uint8)
    modules = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(size, size)
    img[quiet * scale:(quiet + size) * scale, quiet * scale:(quiet + size) * scale] = \
        np.kron(modules, np.ones((scale, scale), dtype=np.uint8))
    return img


def _smallest_version(text: str) -> int:
    """From ISO/IEC 18004 Table 7 (segno's copy): the smallest version whose level-M
    data capacity holds ``text`` in byte mode (with a UTF-8 ECI header if not ASCII)."""
    data = text.encode("utf-8")
    eci = 0 if text.isascii() else 12
    for version in range(1, 41):
        count = 8 if version < 10 else 16
        if eci + 4 + count + 8 * len(data) <= segno_consts.SYMBOL_CAPACITY[version][segno_consts.ERROR_LEVEL_M]:
            return version
    raise AssertionError("too long")


def _read(text: str) -> None:
    rows = qr.matrix(text)
    version = _smallest_version(text)
    assert len(rows) == 17 + 4 * version and all(len(r) == len(rows) for r in rows)
    hits = zxingcpp.read_barcodes(_image(rows))
    assert len(hits) == 1, (text, len(hits))
    hit = hits[0]
    assert hit.text == text
    assert hit.extra["ECLevel"] == "M" and hit.extra["DataMask"] == qr.MASK
    assert int(hit.extra["Version"]) == version


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=700),
                 st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200)))
def test_every_symbol_reads_back_as_its_text(text: str) -> None:
    _read(text)


def test_every_version_and_its_boundaries() -> None:
    """Texts that just fill, and just overflow, each version 1-40 (every block layout
    of ISO/IEC 18004 Table 9, level M), read back by zxing-cpp."""
    for version in range(1, 41):
        count = 8 if version < 10 else 16
        fits = (segno_consts.SYMBOL_CAPACITY[version][segno_consts.ERROR_LEVEL_M] - 4 - count) // 8
        for n in (fits, fits + 1) if version < 40 else (fits,):
            _read(("0123456789abcdef" * 200)[:n])
    with pytest.raises(ValueError, match="do not fit"):
        qr.matrix("x" * 2400)


def _data_codewords(rows: list[bytes]) -> bytes:
    """The codewords of a one-block symbol (versions 1-2), read in placement order and
    unmasked (the placement itself is what zxing-cpp reads back above)."""
    fixed, _, capacity, order = qr._layout((len(rows) - 17) // 4)
    flat = b"".join(rows)
    bits = [(flat[c] == 0) ^ fixed[len(fixed) - capacity + k] for k, c in enumerate(order)]
    return bytes(int("".join("1" if b else "0" for b in bits[i:i + 8]), 2) for i in range(0, capacity - capacity % 8, 8))


def test_header_is_segnos_byte_mode_with_eci_only_outside_ascii() -> None:
    """The bit stream up to the terminator equals segno's (an independent encoder) for
    the same text, mode, level and mask: plain byte mode for ASCII, an ECI 000026
    (UTF-8) header before it otherwise.  (Past the terminator segno writes one zero
    byte more than ISO/IEC 18004 §7.4.10 asks when the stream ends on a byte boundary,
    so only the prefix is compared.)"""
    segno = pytest.importorskip("segno")
    for text in ('{"no":"A1"}', "Ğüş €", "x"):
        eci = not text.isascii()
        ours = _data_codewords(qr.matrix(text))
        ref = segno.make(text, error="m", mask=qr.MASK, micro=False, mode="byte", boost_error=False,
                         eci=eci, encoding="utf-8" if eci else None)
        theirs = _data_codewords([bytes(0 if v else 255 for v in row) for row in ref.matrix])
        head = (12 if eci else 0) + 4 + 8 + 8 * len(text.encode("utf-8")) + 4
        assert ours[: head // 8] == theirs[: head // 8], text
        assert (ours[0] >> 4 == 0b0111) is eci  # the stream starts with the ECI mode indicator
