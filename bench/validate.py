"""Validation speed, measured in one run on the same documents:

* ubltr full validation (XML safety + XSD + GİB schematron + ubltr rules),
* efatura-kontrol's ``kontrol_et`` (the reference tool: XSD + GİB schematron via Saxon + its checks),
* bare lxml parse + XSD validation (the floor no validator can beat),

at 1, 10, 100, 1,000 and 10,000 invoice lines, then 10,000 one-line documents as a
batch (single process, so the ratio compares engines, not core counts).  Prints times,
ratios and peak memory (tracemalloc, Python-side allocations, plus process max RSS).

    python bench/validate.py            # full run
    python bench/validate.py --quick    # smaller sizes/batch, for a smoke test
"""

from __future__ import annotations

import argparse
import copy
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Callable

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ubltr import official  # noqa: E402
from ubltr.validate import validate, warm_up  # noqa: E402

CAC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2}"
CBC = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
BASE = ROOT / "fixtures" / "TEMELFATURA-SATIS.xml"


def make_invoice(lines: int) -> bytes:
    """A valid invoice with ``lines`` lines: the fixture's first line replicated, totals
    rewritten so that the document stays arithmetically consistent."""
    root = etree.fromstring(BASE.read_bytes())
    proto = root.find(CAC + "InvoiceLine")
    for old in root.findall(CAC + "InvoiceLine"):
        root.remove(old)
    for i in range(1, lines + 1):
        ln = copy.deepcopy(proto)
        ln.find(CBC + "ID").text = str(i)
        root.append(ln)
    from decimal import Decimal

    net = Decimal(proto.findtext(CBC + "LineExtensionAmount")) * lines
    tax = Decimal(proto.findtext(CAC + "TaxTotal/" + CBC + "TaxAmount")) * lines
    for el in root.iter(CBC + "LineCountNumeric"):
        el.text = str(lines)
    tt = root.find(CAC + "TaxTotal")
    tt.find(CBC + "TaxAmount").text = f"{tax:.2f}"
    subs = tt.findall(CAC + "TaxSubtotal")
    for s in subs[1:]:
        tt.remove(s)
    subs[0].find(CBC + "TaxableAmount").text = f"{net:.2f}"
    subs[0].find(CBC + "TaxAmount").text = f"{tax:.2f}"
    subs[0].find(CBC + "Percent").text = proto.findtext(CAC + "TaxTotal/" + CAC + "TaxSubtotal/" + CBC + "Percent")
    lmt = root.find(CAC + "LegalMonetaryTotal")
    for name, value in (("LineExtensionAmount", net), ("TaxExclusiveAmount", net),
                        ("TaxInclusiveAmount", net + tax), ("PayableAmount", net + tax)):
        lmt.find(CBC + name).text = f"{value:.2f}"
    for name in ("AllowanceTotalAmount", "ChargeTotalAmount"):
        el = lmt.find(CBC + name)
        if el is not None:
            el.text = "0.00"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


_SCHEMA: etree.XMLSchema | None = None


def bare_xsd(data: bytes) -> bool:
    global _SCHEMA
    if _SCHEMA is None:
        _SCHEMA = etree.XMLSchema(etree.parse(str(official.path("xsd/maindoc/UBL-Invoice-2.1.xsd"))))
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return _SCHEMA.validate(etree.ElementTree(etree.fromstring(data, parser)))


def ours(data: bytes) -> bool:
    return validate(data).valid


def theirs(data: bytes) -> bool:
    from efatura_kontrol.kontrol import kontrol_et

    return kontrol_et(data).gecerli


def timed(fn: Callable[[bytes], bool], data: bytes, budget: float) -> float:
    """Median seconds per call, repeating within ``budget`` seconds (at least 3 runs
    unless a single run exceeds the budget)."""
    runs = []
    start = time.perf_counter()
    while True:
        t = time.perf_counter()
        fn(data)
        runs.append(time.perf_counter() - t)
        if len(runs) >= 3 and time.perf_counter() - start > budget:
            break
        if runs[0] > budget:
            break
        if len(runs) >= 200:
            break
    return statistics.median(runs)


def peak(fn: Callable[[bytes], bool], data: bytes) -> float:
    tracemalloc.start()
    fn(data)
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-reference", action="store_true", help="skip efatura-kontrol")
    args = ap.parse_args()
    sizes = [1, 10, 100, 1000] if args.quick else [1, 10, 100, 1000, 10000]
    batch = 1000 if args.quick else 10000

    t = time.perf_counter()
    warm_up()
    bare_xsd(make_invoice(1))
    print(f"warm-up (schemas + compiled rules): {time.perf_counter() - t:.2f} s")
    if not args.no_reference:
        t = time.perf_counter()
        theirs(make_invoice(1))
        print(f"efatura-kontrol warm-up: {time.perf_counter() - t:.2f} s")

    for n in sizes:
        assert validate(make_invoice(n)).valid, validate(make_invoice(n)).to_text()[:2000]

    print(f"\n{'lines':>6} {'bytes':>10} {'bare XSD':>10} {'ubltr':>10} {'efatura-k':>10} "
          f"{'ek/ubltr':>9} {'ubltr/XSD':>9} {'ek/XSD':>8} {'ubltr MB':>9} {'ek MB':>7}")
    for n in sizes:
        data = make_invoice(n)
        budget = 2.0 if n < 1000 else 0.5
        b = timed(bare_xsd, data, budget)
        o = timed(ours, data, budget)
        mo = peak(ours, data)
        if args.no_reference:
            e, me = float("nan"), float("nan")
        else:
            e = timed(theirs, data, budget if n < 10000 else 0.0)
            me = peak(theirs, data) if n <= 1000 else float("nan")
        print(f"{n:>6} {len(data):>10} {b * 1e3:>8.2f}ms {o * 1e3:>8.2f}ms {e * 1e3:>8.1f}ms "
              f"{e / o:>8.1f}x {o / b:>8.1f}x {e / b:>7.1f}x {mo:>9.1f} {me:>7.1f}")

    one = make_invoice(1)
    docs = [one] * batch
    print(f"\nbatch of {batch} one-line documents (single process):")
    t = time.perf_counter()
    for d in docs:
        bare_xsd(d)
    tb = time.perf_counter() - t
    t = time.perf_counter()
    for d in docs:
        ours(d)
    to = time.perf_counter() - t
    print(f"  bare XSD {tb:.2f} s ({batch / tb:.0f} docs/s); ubltr {to:.2f} s ({batch / to:.0f} docs/s); "
          f"ubltr/XSD = {to / tb:.1f}x (target <= 5x)")
    if not args.no_reference:
        k = min(batch, 500)
        t = time.perf_counter()
        for d in docs[:k]:
            theirs(d)
        te = (time.perf_counter() - t) * batch / k
        print(f"  efatura-kontrol ~{te:.1f} s (extrapolated from {k}); efatura-kontrol/ubltr = {te / to:.1f}x")
    print(f"\nprocess max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
