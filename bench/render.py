"""``ubltr render`` beside its floors, measured in the same run (alternating rounds,
medians), on builder invoices (fixtures/TEMELFATURA-SATIS.json with N lines):

    python bench/render.py                 # HTML ratios + PDF of 1,000 ten-line invoices on 2 workers
    python bench/render.py html            # only the HTML ratios
    python bench/render.py html --stages   # and where the time of 1 and 1,000 lines goes
    python bench/render.py pdf --n 1000 --workers 2
    python bench/render.py pdf --n 10000   # memory over 10,000 documents, per process kind
    python bench/render.py pdf --n 3000 --old-policy   # the previous memory policy, to compare

HTML, 1 line: ``view.render_html`` (our template, Karekod included) against GİB's own
viewer, general.xslt (../shared/gib), run by lxml on the same document (parse +
transform + serialize).  Target: within 2x.
HTML, 1,000 lines: against lxml parsing the document.  Target: within 5x.  The bench
invoice's lines repeat 7 quantities of the fixture's items; a 1,000-line invoice whose
every line amount differs is printed after it (no target: it shows what reusing the
document's repeated amounts saves).
PDF: documents per second through ``ubltr.viewfiles.render_files`` (XML → HTML → PDF
file, Chromium kept open per worker), the CPU seconds per PDF of the whole process
tree (ubltr + Chromium), and the memory of the tree (RSS and PSS, Python and each
kind of browser process) in windows ending at 100, 1,000, 3,000, 10,000 documents
and every tenth of the run.  Target: at least 10/s on 2 workers, memory flat after
the first 100.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

import ubltr  # noqa: E402
from ubltr import view  # noqa: E402

BASE = ROOT / "fixtures" / "TEMELFATURA-SATIS.json"
GENERAL_XSLT = ROOT.parent / "shared" / "gib" / "UBLTR_1.2.1_Paketi" / "xml" / "general.xslt"


def invoice(lines: int, i: int = 0, distinct: bool = False) -> bytes:
    """A builder invoice of ``lines`` lines; they repeat the fixture's items and 7
    quantities (so their amounts repeat), or with ``distinct`` each line has its own
    unit price (every line amount, discount and KDV amount differs)."""
    base = json.loads(BASE.read_text(encoding="utf-8"))
    base.pop("uuid", None)
    items = base["lines"]
    d = dict(base, id=f"BEN2026{i + 1:09d}")
    d["uuid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ubltr-bench-render/{lines}/{i}/{distinct}"))  # reproducible
    d["lines"] = [dict(items[j % len(items)], name=f"Kalem {j}", quantity=str(1 + (i + j) % 7)) for j in range(lines)]
    if distinct:
        for j, line in enumerate(d["lines"]):
            line["unit_price"] = f"{100 + 7 * j}.{(37 * j) % 100:02d}"
    return ubltr.build(ubltr.load(d))


def per_call(fn: Callable[[], object], budget: float) -> float:
    """Seconds per call of ``fn`` over about ``budget`` seconds."""
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= budget:
            return elapsed / n


def side_by_side(ours: Callable[[], object], floor: Callable[[], object], rounds: int, budget: float) -> tuple[float, float]:
    """Medians (seconds per call) of ``ours`` and ``floor`` over alternating rounds."""
    ours()
    floor()
    a: list[float] = []
    b: list[float] = []
    for r in range(rounds):
        if r % 2:
            b.append(per_call(floor, budget))
            a.append(per_call(ours, budget))
        else:
            a.append(per_call(ours, budget))
            b.append(per_call(floor, budget))
    return statistics.median(a), statistics.median(b)


def bench_html(rounds: int, budget: float, stages: bool = False) -> None:
    print(f"HTML (our template), medians of {rounds} alternating rounds")
    one = invoice(1)
    if GENERAL_XSLT.exists():
        gib = etree.XSLT(etree.parse(str(GENERAL_XSLT)))

        def gib_view() -> bytes:
            return bytes(gib(etree.fromstring(one)))

        a, b = side_by_side(lambda: view.render_html(one, use_embedded=False), gib_view, rounds, budget)
        print(f"  1 line     : {a * 1e3:7.2f} ms   GİB general.xslt in lxml {b * 1e3:7.2f} ms   "
              f"ratio {a / b:5.2f}x (target <= 2x)")
    else:
        print(f"  1 line     : skipped, {GENERAL_XSLT} not found")
    for lines, target in ((10, None), (100, None), (1000, 5.0)):
        doc = invoice(lines)
        a, b = side_by_side(lambda: view.render_html(doc, use_embedded=False), lambda: etree.fromstring(doc),
                            rounds, budget)
        goal = f" (target <= {target:g}x)" if target else ""
        print(f"  {lines:4d} lines: {a * 1e3:7.2f} ms   lxml parse of the document {b * 1e3:7.2f} ms   "
              f"ratio {a / b:5.2f}x{goal}")
    doc = invoice(1000, distinct=True)
    a, b = side_by_side(lambda: view.render_html(doc, use_embedded=False), lambda: etree.fromstring(doc),
                        rounds, budget)
    print(f"  1000 lines, every amount distinct: {a * 1e3:7.2f} ms   lxml parse {b * 1e3:7.2f} ms   ratio {a / b:5.2f}x")
    bench_karekod(one, rounds, budget)
    if stages:
        for lines, distinct in ((1, False), (1000, False), (1000, True)):
            print_stages(invoice(lines, distinct=distinct), lines, distinct)


def bench_karekod(doc: bytes, rounds: int, budget: float) -> None:
    """The 1-line invoice's Karekod: ubltr's encoder (ubltr/qr.py) against zxing-cpp's
    compiled one (Zint, the same level M and mask; a test extra) and the whole SVG."""
    from ubltr import qr

    text = view.qr_text(view.read_view(view.load_xml(doc)).qr)
    try:
        import zxingcpp
    except ImportError:
        print("  Karekod    : zxing-cpp not installed (pip install 'ubltr[test]'), no reference")
        return

    def zint() -> object:
        code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M", data_mask=qr.MASK)
        return code.to_image(scale=1, add_quiet_zones=False)

    a, b = side_by_side(lambda: qr.matrix(text), zint, rounds, budget)
    svg, _ = side_by_side(lambda: qr.svg(text), zint, rounds, budget)
    print(f"  Karekod    : ubltr's encoder {a * 1e3:6.3f} ms   zxing-cpp (Zint) {b * 1e3:6.3f} ms   ratio {a / b:5.2f}x;"
          f"   the whole SVG {svg * 1e3:6.3f} ms")


def cpu_ms(fn: Callable[[], object], repeat: int = 20) -> float:
    """Milliseconds of this process's CPU per call of ``fn``: the least of ``repeat`` calls
    (the least is the one least disturbed by the other work of a shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best * 1e3


def print_stages(doc: bytes, lines: int, distinct: bool = False) -> None:
    """Where the time of ``view.render_html`` goes, stage by stage (CPU, least of 20)."""
    from markupsafe import Markup

    from ubltr import qr

    tree = view.load_xml(doc)
    root = tree.getroot()
    v = view.read_view(tree)
    elements = [c for c in root if isinstance(c.tag, str) and c.tag.endswith("Line")]
    template = view._environment().get_template("invoice.html.j2")
    karekod = qr_json = ""
    if v.qr:
        qr_json = view.qr_text(v.qr)
        karekod = qr.svg(qr_json)
    rows = view._line_rows(v, True)
    parts = [
        ("lxml parse", cpu_ms(lambda: etree.fromstring(doc))),
        ("load_xml (safe parse)", cpu_ms(lambda: view.load_xml(doc))),
        ("read_view", cpu_ms(lambda: view.read_view(tree))),
        ("  of which the lines", cpu_ms(lambda: [r.line(e) for r in [view._Reader(v.currency)] for e in elements])),
        ("lines table rows", cpu_ms(lambda: view._line_rows(v, True))),
        ("Karekod SVG", cpu_ms(lambda: qr.svg(view.qr_text(v.qr)) if v.qr else "")),
        ("rest of the template", cpu_ms(lambda: template.render(v=v, qr_svg=Markup(karekod), qr_json=qr_json,
                                                                full=True, line_rows=Markup(rows)))),
        ("render_html, all", cpu_ms(lambda: view.render_html(doc, use_embedded=False))),
    ]
    what = f"{lines} line{'s' if lines > 1 else ''}" + (", every amount distinct" if distinct else "")
    print(f"  where the time goes, {what} (CPU ms, least of 20): "
          + ", ".join(f"{name.strip()} {ms:.2f}" for name, ms in parts))


def _tree_usage(root_pid: int) -> tuple[int, float]:
    """(resident bytes, CPU seconds) of a process and all its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    rss, cpu = 0, 0.0
    todo, seen = [root_pid], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            rss += int(stat[21]) * page
            cpu += (int(stat[11]) + int(stat[12])) / tick
            for task in os.listdir(f"/proc/{pid}/task"):
                todo.extend(int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return rss, cpu


#: The parts of the process tree the PDF bench reports, in print order.
KINDS = ("ubltr", "browser", "renderer", "gpu", "helpers")


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in os.listdir(f"/proc/{pid}/task"):
        out.extend(int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split())
    return out


def _rss_pss(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of one process in bytes (smaps_rollup: PSS shares each shared page
    among the processes mapping it, so PSS sums to what the tree really holds)."""
    rss = pss = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1]) * 1024
        elif line.startswith("Pss:"):
            pss = int(line.split()[1]) * 1024
    return rss, pss


def tree_memory(root_pid: int) -> dict[str, tuple[int, int]]:
    """(RSS, PSS) in bytes of the process tree under ``root_pid`` by kind: ``ubltr`` (this
    Python process), and summed over every browser its ``browser`` process, its
    ``renderer``s (pages and the spare one), its ``gpu`` process and its other
    ``helpers`` (zygotes, network and storage services).  Chromium rewrites its
    processes' command lines, so the kinds are told by the flags left in them."""
    out = {k: (0, 0) for k in KINDS}

    def add(kind: str, pid: int) -> None:
        r, p = _rss_pss(pid)
        out[kind] = (out[kind][0] + r, out[kind][1] + p)

    try:
        add("ubltr", root_pid)
        kids = _children(root_pid)
    except OSError:
        return out
    for child in kids:
        try:
            if b"chrom" not in Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")[0]:
                add("ubltr", child)
                continue
            add("browser", child)
            todo = _children(child)
        except OSError:
            continue
        while todo:
            pid = todo.pop()
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                kind = ("renderer" if b"--renderer-client-id" in cmd else
                        "gpu" if b"--gpu-preferences" in cmd else "helpers")
                add(kind, pid)
                todo.extend(_children(pid))
            except OSError:
                continue
    return out


class MemorySeries:
    """Samples :func:`tree_memory` every ``interval`` s in a thread; :meth:`mark` closes a
    window (e.g. at 100, 1,000, 3,000 documents) and keeps its peaks.  The peak of each
    window, not the peak since the start: a running maximum can only creep (two
    browsers' tab renewals or restarts meeting once is enough)."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.windows: list[tuple[int, dict[str, int], int, int]] = []  # done, PSS by kind at peak, peak RSS, peak PSS
        self.running_peak_rss = 0
        self._lock = threading.Lock()
        self._reset()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _reset(self) -> None:
        self._peak_rss = 0
        self._peak_pss = 0
        self._at_peak: dict[str, int] = {}

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            mem = tree_memory(os.getpid())
            rss = sum(r for r, _ in mem.values())
            pss = sum(p for _, p in mem.values())
            with self._lock:
                self.running_peak_rss = max(self.running_peak_rss, rss)
                self._peak_rss = max(self._peak_rss, rss)
                if pss > self._peak_pss:
                    self._peak_pss = pss
                    self._at_peak = {k: p for k, (_, p) in mem.items()}

    def __enter__(self) -> MemorySeries:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mark(self, done: int) -> None:
        with self._lock:
            self.windows.append((done, self._at_peak, self._peak_rss, self._peak_pss))
            self._reset()

    def report(self) -> list[str]:
        mib = 2**20
        lines = ["  memory by documents done (peak in each window; PSS = shared pages divided among",
                 "  the processes sharing them, RSS = each process's resident pages, shared ones in each):",
                 f"  {'documents':>10} {'RSS peak':>9} {'PSS peak':>9}   PSS at that peak: "
                 + " ".join(f"{k:>8}" for k in KINDS)]
        for done, at_peak, rss, pss in self.windows:
            lines.append(f"  {done:>10,} {rss / mib:>7,.0f} M {pss / mib:>7,.0f} M                     "
                         + " ".join(f"{at_peak.get(k, 0) / mib:>6,.0f} M" for k in KINDS))
        return lines


def bench_pdf(n: int, workers: int, lines: int, old_policy: bool = False) -> None:
    from ubltr import chromium
    from ubltr.viewfiles import ViewJob, render_files

    if view.find_browser() is None:
        print("PDF: skipped, no Chromium")
        return
    if old_policy:  # the previous round's policy, to compare in the same conditions
        defaults = chromium.PdfPrinter.__init__.__kwdefaults__
        defaults.update(collect_every=0, new_tab_after=50, rss_limit=None)
    with tempfile.TemporaryDirectory(prefix="ubltr-bench-render-") as tmp:
        src, out = Path(tmp) / "xml", Path(tmp) / "pdf"
        src.mkdir()
        out.mkdir()
        template = invoice(lines)
        first_id = b"BEN2026000000001"
        for i in range(n):  # the same invoice under n numbers: building is not what is measured
            (src / f"BEN2026{i + 1:09d}.xml").write_bytes(template.replace(first_id, f"BEN2026{i + 1:09d}".encode()))
        jobs = [ViewJob(p, pdf=out / (p.stem + ".pdf")) for p in sorted(src.iterdir())]
        marks = {100, 1000, 3000, 10000, n} | {n * k // 10 for k in range(1, 11)} if n >= 1000 else {100, n}
        cpu0 = time.process_time()
        rusage0 = os.times()
        start = time.perf_counter()
        done = failed = 0
        seen: set[Path] = set()
        twice = 0
        with MemorySeries() as memory:
            for outcome in render_files(jobs, workers=workers, use_embedded=False,
                                        rss_limit=None if old_policy else chromium.RSS_LIMIT):
                done += 1
                failed += outcome.error is not None
                twice += outcome.job.source in seen
                seen.add(outcome.job.source)
                if done in marks:
                    memory.mark(done)
        elapsed = time.perf_counter() - start
        t1 = os.times()
        cpu = (time.process_time() - cpu0) + (t1.children_user - rusage0.children_user) + (
            t1.children_system - rusage0.children_system)
        written = sum(1 for p in out.iterdir() if p.suffix == ".pdf")
        print(f"PDF of {lines}-line invoices, {n} in a directory, {workers} workers"
              + (" (previous policy: no garbage collection, new tab every 50 pages)" if old_policy else "") + ":")
        print(f"  {n / elapsed:6.2f} documents/s ({elapsed:.1f} s; target >= 10/s), {written} PDFs, {failed} failed, "
              f"{twice} reported twice, {n - len(seen)} not reported")
        print(f"  CPU of ubltr + Chromium: {cpu / n * 1e3:.0f} ms per PDF "
              f"(so at most {os.cpu_count() or 1} cores / that = {(os.cpu_count() or 1) / (cpu / n):.1f}/s on this machine)")
        for line in memory.report():
            print(line)
        print(f"  running peak RSS since the start (last round's figure): {memory.running_peak_rss / 2**20:,.0f} MiB")
        load = os.getloadavg()[0]
        print(f"  (load average at the end of the run: {load:.1f} on {os.cpu_count()} cores)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", choices=["all", "html", "pdf"], default="all")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=0.5, help="time budget of one round of one side")
    ap.add_argument("--n", type=int, default=1000, help="documents for the PDF run")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--lines", type=int, default=10)
    ap.add_argument("--old-policy", action="store_true",
                    help="PDF with the previous round's memory policy (no garbage collection, a new tab "
                         "every 50 pages, no RSS bound) to compare with in the same conditions")
    ap.add_argument("--stages", action="store_true",
                    help="after the HTML ratios, where the time of 1 and 1,000 lines goes (CPU per stage)")
    args = ap.parse_args()
    if args.what in ("all", "html"):
        bench_html(args.rounds, args.seconds, args.stages)
    if args.what in ("all", "pdf"):
        bench_pdf(args.n, args.workers, args.lines, args.old_policy)


if __name__ == "__main__":
    main()
