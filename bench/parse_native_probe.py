"""What a reader below lxml's Python API would leave of ``ubltr.parse``'s time (issue
#21: parse within 1.5x of "lxml parse + reading every text and attribute").  A probe, not
part of ubltr: ``bench/native_probe/line_reader.pyx`` reads a document's InvoiceLines on
lxml's C API (the xmlNode tree lxml holds, through the .pxd files lxml ships) into one
dict of texts per line, the fields ubltr.parsing's line plan reads.  It is compiled here
with Cython (``pip install cython``; a C compiler) into a cache folder, checked against
the plan's compiled Python reader on the same lines, and timed beside it in alternating
rounds (least CPU time):

- ``lxml parse``: the bytes to a tree (what parse calls);
- ``Python read``: parse + the document's children and every line read by the plan
  (element objects, no model), as bench/parse_parts.py's second row;
- ``native read``: parse + the same lines read by the probe (texts, no model);
- ``parse``, ``floor``: as bench/parse.py.

The projection replaces the Python read of the lines by the native one in parse's time,
everything else (the model built from the lines, the document's own parts) unchanged:

    python bench/parse_native_probe.py [--lines 1000] [--rounds 9]
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import sysconfig
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from build import doc  # noqa: E402
from parse_parts import arguments, best, steps  # noqa: E402  (its rows, timed the same way)
from ubltr import parsing as P  # noqa: E402
from ubltr import xmlsafe  # noqa: E402
from ubltr.model import load  # noqa: E402
from ubltr.render import build  # noqa: E402

PYX = ROOT / "bench" / "native_probe" / "line_reader.pyx"
LINE = P._CAC + "InvoiceLine"


def compiled() -> object:
    """The probe's extension module, built once per source into a cache folder."""
    import lxml
    from Cython.Build import cythonize
    from setuptools import Extension
    from setuptools.dist import Distribution

    digest = hashlib.sha256(PYX.read_bytes()).hexdigest()[:16]
    out = Path(tempfile.gettempdir()) / f"ubltr-native-probe-{digest}"
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    so = out / f"line_reader{suffix}"
    if not so.exists():
        out.mkdir(parents=True, exist_ok=True)
        ext = Extension("line_reader", [str(PYX)], include_dirs=lxml.get_include(), extra_compile_args=["-O2", "-Wno-unused-function"])
        dist = Distribution({"ext_modules": cythonize([ext], build_dir=str(out / "c"), quiet=True)})
        cmd = dist.get_command_obj("build_ext")
        cmd.build_lib = str(out)
        cmd.build_temp = str(out / "tmp")
        dist.run_command("build_ext")
    spec = importlib.util.spec_from_file_location("line_reader", so)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check(reader: object, xml: bytes) -> int:
    """The probe reads what the plan reads: each text field of every line compared."""
    root = xmlsafe.fromstring(xml)
    native = reader.read_lines(root)  # type: ignore[attr-defined]
    python = [P._gather_line(ln, {}) for ln in root.iterchildren(LINE)]
    assert len(native) == len(python)
    n = 0
    for nk, pk in zip(native, python):
        for key in ("qty", "lea", "price", "base_qty", "name", "description", "brand", "model", "code",
                    "classification", "product_trace_id", "serial_id"):
            assert nk.get(key) == (pk[key].text if key in pk else None), key
            n += 1
        assert [x.get("amount") for x in nk.get("subtotals", [])] == \
            [x["amount"].text if "amount" in x else None for x in pk.get("subtotals_k", [])]
        assert [x.get("amount") for x in nk.get("acs", [])] == \
            [x["amount"].text if "amount" in x else None for x in pk.get("acs_k", [])]
        n += 2
    return n


def main() -> None:
    args = arguments(__doc__)
    reader = compiled()
    xml = build(load(doc(args.lines)))
    n = args.lines
    checked = check(reader, xml)

    rows = steps(xml)

    def native_read() -> None:
        root = xmlsafe.fromstring(xml)
        P._gather_root(root, {})
        reader.read_lines(root)  # type: ignore[attr-defined]

    names = ["lxml parse", "Python read", "native read", "parse", "floor"]
    fns = [rows["lxml parse"], rows["+ read the lines"], native_read, rows["parse"], rows["floor"]]
    t = dict(zip(names, best(fns, args.rounds, args.budget)))
    print(f"{n} lines, {len(xml) / 1024:.0f} KiB; {checked} fields checked equal; least CPU time of "
          f"{args.rounds} alternating rounds")
    for name in names:
        extra = ""
        if name in ("Python read", "native read"):
            extra = f"   reading the lines: {(t[name] - t['lxml parse']) * 1e6 / n:6.2f} µs/line"
        print(f"{name:>14} {t[name] * 1e3:8.3f} ms {t[name] * 1e6 / n:7.2f} µs/line{extra}")
    projected = t["parse"] - t["Python read"] + t["native read"]
    print(f"{'parse / floor':>14} {t['parse'] / t['floor']:8.2f}x now; {projected / t['floor']:.2f}x with the lines "
          f"read natively and the model built as now ({projected * 1e3:.3f} ms; 1.5x would be "
          f"{1.5 * t['floor'] * 1e3:.3f} ms)")


if __name__ == "__main__":
    main()
