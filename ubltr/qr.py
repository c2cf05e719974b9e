"""QR codes as inline SVG.

The content is whatever the caller passes; for invoices it is the Karekod JSON built
by :func:`ubltr.view.qr_payload`.  Error correction level M, as GİB's own viewer
uses.  ASCII text (every Karekod: VKNs, codes, dates, amounts, the ETTN) is encoded
in byte mode with no ECI header, as GİB's viewer writes it; other text is encoded as
UTF-8 behind an ECI header naming UTF-8 (ECI 000026, ISO/IEC 18004 §6.4.2), so a
reader decodes it exactly instead of guessing.

Why our own encoder (ISO/IEC 18004, byte mode and level M only, about 150 lines):
the encoders on PyPI are either pure Python and spend most of a 1-line invoice's
HTML in their general machinery (segno: 3.8 ms a Karekod with the mask fixed, 23 ms
with its mask search; qrcode, qrcodegen alike) or compiled wheels of 1-2 MiB
(zxing-cpp, zint-bindings, pyzint), which alone put the install over issue #22's
40 MiB.  A Karekod needs one mode, one error level and one mask, and most of the
work can be done once per version: the symbol's fixed patterns, the order in which
data modules are placed and the mask are precomputed (cached per version), Reed-Solomon
is a table lookup and an integer XOR per data byte, and the modules are gathered
into rows by :func:`operator.itemgetter`.  A Karekod takes 0.17 ms (1.5x zxing-cpp's
compiled encoder; ``python bench/render.py html`` prints both).  The data mask is
fixed (:data:`MASK`): every mask is valid (ISO/IEC 18004 §7.8); the penalty search
only picks the one that scans best, and mask 2 is the one Zint's search picks most
often for GİB Karekods.  tests/test_qr.py reads symbols back with zxing-cpp's reader
(text, level, mask, the smallest version by segno's copy of the standard's capacity
table) and compares the bit stream with segno's; the rendered Karekods of GİB's samples
are read back by OpenCV's readers.
The SVG is one stroked ``<path>``, a row of modules per subpath, written for the whole
symbol in a few ``str.replace`` passes (runs of 16, 8, 4, 2, 1 modules).
"""

from __future__ import annotations

from functools import lru_cache
from html import escape
from operator import itemgetter

__all__ = ["MASK", "matrix", "svg"]

#: The data mask pattern (0-7) of every Karekod ubltr draws (pattern 2: column % 3 == 0).
MASK = 2

#: Level M: version -> (EC codewords per block, blocks of group 1, data codewords in
#: each, blocks of group 2, data codewords in each): ISO/IEC 18004 Table 9.
_BLOCKS_M = {
    1: (10, 1, 16, 0, 0), 2: (16, 1, 28, 0, 0), 3: (26, 1, 44, 0, 0), 4: (18, 2, 32, 0, 0),
    5: (24, 2, 43, 0, 0), 6: (16, 4, 27, 0, 0), 7: (18, 4, 31, 0, 0), 8: (22, 2, 38, 2, 39),
    9: (22, 3, 36, 2, 37), 10: (26, 4, 43, 1, 44), 11: (30, 1, 50, 4, 51), 12: (22, 6, 36, 2, 37),
    13: (22, 8, 37, 1, 38), 14: (24, 4, 40, 5, 41), 15: (24, 5, 41, 5, 42), 16: (28, 7, 45, 3, 46),
    17: (28, 10, 46, 1, 47), 18: (26, 9, 43, 4, 44), 19: (26, 3, 44, 11, 45), 20: (26, 3, 41, 13, 42),
    21: (26, 17, 42, 0, 0), 22: (28, 17, 46, 0, 0), 23: (28, 4, 47, 14, 48), 24: (28, 6, 45, 14, 46),
    25: (28, 8, 47, 13, 48), 26: (28, 19, 46, 4, 47), 27: (28, 22, 45, 3, 46), 28: (28, 3, 45, 23, 46),
    29: (28, 21, 45, 7, 46), 30: (28, 19, 47, 10, 48), 31: (28, 2, 46, 29, 47), 32: (28, 10, 46, 23, 47),
    33: (28, 14, 46, 21, 47), 34: (28, 14, 46, 23, 47), 35: (28, 12, 47, 26, 48), 36: (28, 6, 47, 34, 48),
    37: (28, 29, 46, 14, 47), 38: (28, 13, 46, 32, 47), 39: (28, 40, 47, 7, 48), 40: (28, 18, 47, 31, 48),
}


def _data_codewords(version: int) -> int:
    _, n1, k1, n2, k2 = _BLOCKS_M[version]
    return n1 * k1 + n2 * k2


# ---------------------------------------------------------------- GF(256) and Reed-Solomon

_EXP = [0] * 512
_LOG = [0] * 256
_x = 1
for _i in range(255):
    _EXP[_i] = _x
    _LOG[_x] = _i
    _x <<= 1
    if _x & 0x100:
        _x ^= 0x11D  # the field's polynomial x^8 + x^4 + x^3 + x^2 + 1
for _i in range(255, 512):
    _EXP[_i] = _EXP[_i - 255]


def _mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


@lru_cache(maxsize=None)
def _rs_table(degree: int) -> tuple[int, ...]:
    """For each byte f, f × the generator polynomial (roots α^0 .. α^(degree-1),
    leading term dropped) as one ``degree``-byte integer, highest coefficient first."""
    gen = [1]
    for i in range(degree):  # gen *= (x - α^i)
        root = _EXP[i]
        nxt = gen + [0]
        for j, c in enumerate(gen):
            nxt[j + 1] ^= _mul(c, root)
        gen = nxt
    tail = gen[1:]
    return tuple(int.from_bytes(bytes(_mul(f, c) for c in tail), "big") for f in range(256))


def _rs_remainder(data: bytes, degree: int) -> bytes:
    table = _rs_table(degree)
    shift = 8 * (degree - 1)
    keep = (1 << (8 * degree)) - 1
    rem = 0
    for b in data:
        rem = ((rem << 8) & keep) ^ table[b ^ (rem >> shift)]
    return rem.to_bytes(degree, "big")


# ---------------------------------------------------------------- the symbol of a version

def _bch(value: int, poly: int) -> int:
    """``value`` followed by its BCH remainder modulo ``poly``."""
    rem = value
    top = poly.bit_length() - 1
    for _ in range(top):
        rem = (rem << 1) ^ (poly if (rem >> (top - 1)) & 1 else 0)
    return value << top | rem


@lru_cache(maxsize=None)
def _layout(version: int) -> tuple[bytes, itemgetter, int, tuple[int, ...]]:
    """The symbol of ``version`` without data: ``(fixed, gather, capacity)``.  ``fixed``
    holds the function patterns and format/version information (1 dark, 0 light),
    followed by the mask values of the data modules in placement order; ``gather``
    picks, for each module in row-major order, its value from ``masked_bits + fixed``;
    ``order`` lists the data modules (row-major indices) in placement order."""
    size = 17 + 4 * version
    dark = bytearray(size * size)
    function = bytearray(size * size)

    def put(x: int, y: int, on: bool) -> None:
        dark[y * size + x] = 1 if on else 0
        function[y * size + x] = 1

    for i in range(size):  # timing patterns
        put(6, i, i % 2 == 0)
        put(i, 6, i % 2 == 0)
    for cx, cy in ((3, 3), (size - 4, 3), (3, size - 4)):  # finders with separators
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                x, y = cx + dx, cy + dy
                if 0 <= x < size and 0 <= y < size:
                    put(x, y, max(abs(dx), abs(dy)) not in (2, 4))
    if version > 1:  # alignment patterns
        count = version // 7 + 2
        step = 26 if version == 32 else (version * 4 + count * 2 + 1) // (count * 2 - 2) * 2
        pos = [6] + sorted(size - 7 - i * step for i in range(count - 1))
        for ax in pos:
            for ay in pos:
                if (ax, ay) in ((6, 6), (6, pos[-1]), (pos[-1], 6)):
                    continue
                for dy in range(-2, 3):
                    for dx in range(-2, 3):
                        put(ax + dx, ay + dy, max(abs(dx), abs(dy)) != 1)
    # format information: level M (00) and the mask, BCH(15,5), XOR 101010000010010
    fmt = _bch(MASK, 0x537) ^ 0x5412
    bit = [(fmt >> i) & 1 == 1 for i in range(15)]
    for i in range(6):
        put(8, i, bit[i])
    put(8, 7, bit[6])
    put(8, 8, bit[7])
    put(7, 8, bit[8])
    for i in range(9, 15):
        put(14 - i, 8, bit[i])
    for i in range(8):
        put(size - 1 - i, 8, bit[i])
    for i in range(8, 15):
        put(8, size - 15 + i, bit[i])
    put(8, size - 8, True)  # the dark module
    if version >= 7:  # version information, BCH(18,6)
        ver = _bch(version, 0x1F25)
        for i in range(18):
            on = (ver >> i) & 1 == 1
            a, b = size - 11 + i % 3, i // 3
            put(a, b, on)
            put(b, a, on)
    # data modules in placement order: two-module columns from the right, zig-zagging
    order: list[int] = []
    right = size - 1
    while right >= 1:
        if right == 6:
            right = 5
        upward = ((right + 1) & 2) == 0
        for vert in range(size):
            y = size - 1 - vert if upward else vert
            for x in (right, right - 1):
                if not function[y * size + x]:
                    order.append(y * size + x)
        right -= 2
    capacity = len(order)
    where = {cell: k for k, cell in enumerate(order)}
    fixed = bytes(dark) + bytes(1 if (cell % size) % 3 == 0 else 0 for cell in order)  # mask 2
    gather = itemgetter(*[where[c] if c in where else capacity + c for c in range(size * size)])
    return fixed, gather, capacity, tuple(order)


_BITS = [bytes((b >> (7 - i)) & 1 for i in range(8)) for b in range(256)]


def _codewords(data: bytes, eci: bool) -> tuple[int, bytes]:
    """The smallest version holding ``data`` in byte mode, and its codewords (data
    and error correction, interleaved)."""
    for version in range(1, 41):
        count_bits = 8 if version < 10 else 16
        need = (12 if eci else 0) + 4 + count_bits + 8 * len(data)
        if need <= 8 * _data_codewords(version):
            break
    else:
        raise ValueError(f"{len(data)} bytes do not fit in a QR code at error level M")
    acc = 0b0111_00011010 if eci else 0  # ECI mode, designator 26 (UTF-8)
    acc = (acc << 4) | 0b0100  # byte mode
    acc = (acc << count_bits) | len(data)
    head_bits = (12 if eci else 0) + 4 + count_bits
    total = 8 * _data_codewords(version)
    bits = head_bits + 8 * len(data)
    stream = (acc << (8 * len(data))) | int.from_bytes(data, "big")
    terminator = min(4, total - bits)
    stream <<= terminator
    bits += terminator
    if bits % 8:
        stream <<= 8 - bits % 8
        bits += 8 - bits % 8
    body = stream.to_bytes(bits // 8, "big")
    pad = bytes((0xEC, 0x11)) * ((total // 8 - len(body)) // 2 + 1)
    body += pad[: total // 8 - len(body)]
    ec, n1, k1, n2, k2 = _BLOCKS_M[version]
    blocks, at = [], 0
    for k in [k1] * n1 + [k2] * n2:
        blocks.append(body[at:at + k])
        at += k
    out = bytearray()
    for i in range(max(k1, k2)):
        out.extend(b[i] for b in blocks if i < len(b))
    checks = [_rs_remainder(b, ec) for b in blocks]
    for i in range(ec):
        out.extend(c[i] for c in checks)
    return version, bytes(out)


_DARK_TO_PIXEL = bytes.maketrans(b"\x00\x01", b"\xff\x00")


def matrix(text: str) -> list[bytes]:
    """The QR symbol of ``text`` (byte mode, error level M, data mask :data:`MASK`),
    one ``bytes`` per row of modules: ``0`` for a dark module, ``255`` for a light one;
    no quiet zone."""
    try:
        data, eci = text.encode("ascii"), False
    except UnicodeEncodeError:
        data, eci = text.encode("utf-8", "surrogatepass"), True
    version, words = _codewords(data, eci)
    fixed, gather, capacity, _ = _layout(version)
    bits = b"".join([_BITS[w] for w in words])
    bits += bytes(capacity - len(bits))  # remainder bits
    masked = (int.from_bytes(bits, "big") ^ int.from_bytes(fixed[len(fixed) - capacity:], "big"))
    modules = bytes(gather(masked.to_bytes(capacity, "big") + fixed[: len(fixed) - capacity]))
    size = 17 + 4 * version
    pixels = modules.translate(_DARK_TO_PIXEL)
    return [pixels[r * size:(r + 1) * size] for r in range(size)]


_AS_LETTERS = bytes.maketrans(b"\x00\xff", b"ab")  # a dark module, a light one
#: a run of 2^k dark modules draws 2^k units (h), of light ones moves 2^k (m), longest first
_RUNS = tuple((letter * n, f"h{n}" if letter == "a" else f"m{n} 0") for n in (16, 8, 4, 2, 1) for letter in "ab")


def svg(text: str, *, border: int = 4, title: str = "Karekod") -> str:
    """An ``<svg>`` element drawing ``text`` as a QR code, sized by CSS (viewBox only)."""
    rows = matrix(text)
    size = len(rows) + 2 * border
    body = b"|".join(rows).translate(_AS_LETTERS).decode("ascii")
    for run, command in _RUNS:  # the whole symbol at once: a few C-level passes
        body = body.replace(run, command)
    path = "".join([f"M{border} {y}.5{row}" for y, row in enumerate(body.split("|"), start=border)])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" class="qr"'
        f' shape-rendering="crispEdges"><title>{escape(title)}</title>'
        f'<path fill="#fff" d="M0 0h{size}v{size}h-{size}z"/>'
        f'<path stroke="#000" d="{path}"/></svg>'
    )
