"""PDF in volume: the kept-open Chromium (ubltr.chromium, DevTools over a pipe) prints
what Chromium's own one-shot ``--print-to-pdf`` prints, page image by page image, for
every fixture; a browser that dies or hangs is replaced and its page printed again,
no document lost or written twice; ``ubltr render`` of many files and directories.
Skips cleanly when Chromium is absent (scripts/test.sh installs it under CI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ubltr.viewfiles import ViewJob

from ubltr import view

pytestmark = pytest.mark.skipif(view.find_browser() is None, reason="headless Chromium not installed")

pdfium = pytest.importorskip("pypdfium2")
np = pytest.importorskip("numpy")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "fixtures").glob("*.xml"))


def chromium_cli_pdf(html: Path, pdf: Path) -> None:
    """Today's path, run here without ubltr: one Chromium per page, --print-to-pdf."""
    exe = view.find_browser()
    assert exe
    profile = pdf.with_suffix(".profile")
    subprocess.run(
        [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", f"--user-data-dir={profile}",
         "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()],
        capture_output=True, timeout=120, check=False,
    )
    assert pdf.exists() and pdf.stat().st_size > 0, f"chromium --print-to-pdf wrote nothing for {html}"


def pages(pdf: bytes) -> list[tuple[tuple[float, float], str, object]]:
    """(size in points, text, grayscale pixels at 50 dpi) of every page."""
    doc = pdfium.PdfDocument(pdf)
    out = []
    for i in range(len(doc)):
        page = doc[i]
        img = page.render(scale=50 / 72, grayscale=True).to_pil().convert("L")
        out.append((page.get_size(), page.get_textpage().get_text_range(), np.asarray(img)))
    return out


def test_every_fixture_prints_as_chromiums_own_print_to_pdf(tmp_path: Path) -> None:
    """All fixtures (our template): same pages, page sizes, text and pixels as
    ``chromium --print-to-pdf --no-pdf-header-footer`` of the same HTML."""
    from ubltr.viewfiles import ViewJob, render_files

    jobs = []
    for x in FIXTURES:
        html = tmp_path / f"{x.stem}.html"
        jobs.append(ViewJob(x, html=html, pdf=tmp_path / f"{x.stem}.pdf"))
    outcomes = list(render_files(jobs, workers=2, use_embedded=False))
    assert [o.error for o in outcomes if o.error] == []
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda j: chromium_cli_pdf(j.html, j.html.with_suffix(".ref.pdf")), jobs))
    for j in jobs:
        new, ref = pages(j.pdf.read_bytes()), pages(j.html.with_suffix(".ref.pdf").read_bytes())
        assert len(new) == len(ref), j.source.name
        for (size_n, text_n, img_n), (size_r, text_r, img_r) in zip(new, ref):
            assert size_n == size_r, j.source.name
            assert text_n == text_r, j.source.name
            assert img_n.shape == img_r.shape
            differ = (np.abs(img_n.astype(int) - img_r.astype(int)) > 32).mean()
            assert differ < 0.001, (j.source.name, differ)
    assert len(jobs) >= 40


def test_the_documents_own_xslt_prints_as_chromium_prints_it(tmp_path: Path) -> None:
    """GİB's e-Arşiv sample rendered by its embedded XSLT (GİB's viewer, which draws
    its Karekod with JavaScript on load): the same pixels as Chromium's one-shot print."""
    from conftest import shared

    from ubltr.chromium import PdfPrinter

    src = shared("gib", "UBLTR_1.2.1_Paketi", "xml", "YTB_Satıs_EArşiv.xml")
    result = view.render_html(src.read_bytes())
    assert result.source == "embedded"
    html = tmp_path / "page.html"
    html.write_bytes(result.html)
    with PdfPrinter() as printer:
        new = pages(printer.print_file(html))
    chromium_cli_pdf(html, tmp_path / "ref.pdf")
    ref = pages((tmp_path / "ref.pdf").read_bytes())
    assert [p[0] for p in new] == [p[0] for p in ref]
    assert [p[1] for p in new] == [p[1] for p in ref]
    for (_, _, a), (_, _, b) in zip(new, ref):
        assert (np.abs(a.astype(int) - b.astype(int)) > 32).mean() < 0.001


def test_a_killed_browser_is_restarted_and_the_page_printed_again(tmp_path: Path) -> None:
    from ubltr.chromium import PdfPrinter

    html = tmp_path / "p.html"
    html.write_text("<!doctype html><p>Sayın müşteri</p>", encoding="utf-8")
    with PdfPrinter() as printer:
        assert printer.print_file(html)[:5] == b"%PDF-"
        browser = printer._browser
        assert browser is not None
        os.killpg(browser.proc.pid, signal.SIGKILL)
        pdf = printer.print_file(html)
        assert pdf[:5] == b"%PDF-" and printer.restarts == 1
        assert "Sayın müşteri" in pages(pdf)[0][1]
    assert browser.proc.poll() is not None


def test_the_tab_is_replaced_every_few_pages_and_printing_goes_on(tmp_path: Path) -> None:
    """(A fresh tab every ``new_tab_after`` pages: a bound for what the garbage
    collection between pages does not reach; bench/render.py measures the memory.)"""
    from ubltr.chromium import PdfPrinter

    with PdfPrinter(new_tab_after=2) as printer:
        tabs = set()
        for i in range(5):
            page = tmp_path / f"{i}.html"
            page.write_text(f"<!doctype html><p>sayfa {i}</p>", encoding="utf-8")
            assert f"sayfa {i}" in pages(printer.print_file(page))[0][1]
            tabs.add(printer._target)
        assert len(tabs) == 3 and printer.restarts == 0


def _invoice_page(tmp_path: Path, number: str) -> Path:
    """The HTML of the 10-line fixture invoice under its own number."""
    xml = (ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes().replace(b"ABC2026000000001", number.encode())
    page = tmp_path / f"{number}.html"
    page.write_bytes(view.render_html(xml, use_embedded=False).html)
    return page


def test_a_tabs_memory_stays_flat_over_many_invoices(tmp_path: Path) -> None:
    """One tab, 40 invoices: the tab's renderer grew ~3.6 MB an invoice (the pages
    already printed, never collected: +126 MB here); its heap collected every few
    pages, the browser's memory grows by far less."""
    from ubltr.chromium import PdfPrinter

    page = _invoice_page(tmp_path, "ABC2026000000001")
    html = page.read_bytes()
    for how in ("navigated", "written"):
        with PdfPrinter(new_tab_after=10**6, recycle_after=10**6, rss_limit=None) as printer:
            print_page = (lambda: printer.print_file(page)) if how == "navigated" else (lambda: printer.print_html(html))
            for _ in range(5):
                print_page()
            start = printer.rss_bytes()
            for _ in range(35):
                print_page()
            grown = printer.rss_bytes() - start
        assert grown < 60 * 2**20, f"{how}: grew {grown / 2**20:.0f} MiB over 35 invoices"


def test_the_browser_is_replaced_after_n_pages_and_each_page_prints_once(tmp_path: Path) -> None:
    """``recycle_after=3``: a new browser every 3 pages, started between two pages; each
    PDF is its own invoice's, and the old browsers are gone."""
    from ubltr.chromium import PdfPrinter

    browsers = []
    with PdfPrinter(recycle_after=3) as printer:
        for i in range(8):
            number = f"ABC2026{i + 1:09d}"
            text = pages(printer.print_file(_invoice_page(tmp_path, number)))[0][1]
            assert number in text
            assert printer._browser is not None
            if not browsers or browsers[-1] is not printer._browser:
                browsers.append(printer._browser)
        assert printer.recycled == 2 and printer.restarts == 0 and len(browsers) == 3
    assert all(b.proc.poll() is not None for b in browsers)
    assert _chromium_children() == []


def test_pages_written_into_the_tab_print_as_chromium_prints_them_through_new_tabs_and_browsers(tmp_path: Path) -> None:
    """``print_html`` (ubltr's own pages written into the tab's document): the same
    pages, text and pixels as Chromium's own ``--print-to-pdf`` of the same HTML, each
    its own invoice's, while the tab (every 2 pages) and the browser (every 5) are
    replaced and one browser is killed between two pages."""
    from ubltr.chromium import PdfPrinter

    numbers = [f"ABC2026{i + 1:09d}" for i in range(9)]
    html = {n: _invoice_page(tmp_path, n) for n in numbers}
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda n: chromium_cli_pdf(html[n], html[n].with_suffix(".ref.pdf")), numbers))
    with PdfPrinter(new_tab_after=2, recycle_after=5) as written:
        frames = set()
        for i, number in enumerate(numbers):
            if i == 6:
                assert written._browser is not None
                os.killpg(written._browser.proc.pid, signal.SIGKILL)
            new = pages(written.print_html(html[number].read_bytes()))
            ref = pages(html[number].with_suffix(".ref.pdf").read_bytes())
            frames.add(written._frame)
            assert number in new[0][1]
            assert [p[:2] for p in new] == [p[:2] for p in ref]
            for (_, _, a), (_, _, b) in zip(new, ref):
                assert (np.abs(a.astype(int) - b.astype(int)) > 32).mean() < 0.001
        assert written.recycled == 1 and written.restarts == 1 and len(frames) >= 4
    assert _chromium_children() == []


def test_a_page_with_a_script_gets_a_document_of_its_own(tmp_path: Path) -> None:
    """Pages written into one document share its JavaScript global: the second of two
    pages declaring the same ``const`` would fail to run its script and print blank.
    ``print_html`` prints a page with a script (or an event handler) by navigation."""
    from ubltr.chromium import PdfPrinter

    scripted = '<!doctype html><p id="k">?</p><script>const K = "hesaplandı"; document.getElementById("k").textContent = K;</script>'
    handler = '<!doctype html><body onload="document.body.textContent = \'yüklendi\'"><p>?</p></body>'
    with PdfPrinter() as printer:
        for _ in range(2):
            assert "hesaplandı" in pages(printer.print_html(scripted))[0][1]
            assert "yüklendi" in pages(printer.print_html(handler.encode("utf-8")))[0][1]
        assert "düz" in pages(printer.print_html("<!doctype html><p>düz</p>"))[0][1]
        # a navigated page's timer would go on in the tab's global and rewrite the next
        # written page: the tab gets a new document first
        ticking = '<!doctype html><p>saat</p><script>setInterval(() => { document.body.textContent = "bozuk"; }, 5);</script>'
        assert printer.print_html(ticking)[:5] == b"%PDF-"  # printed by navigation (what it shows: its timer's)
        time.sleep(0.05)
        for _ in range(3):
            assert pages(printer.print_html("<!doctype html><p>sonraki</p>"))[0][1].strip() == "sonraki"


def test_a_browser_past_its_memory_bound_is_replaced(tmp_path: Path) -> None:
    """``rss_limit`` (checked every ``check_every`` pages): a browser over it is replaced
    before the next page (a bound of 1 byte: every check)."""
    from ubltr.chromium import PdfPrinter

    page = _invoice_page(tmp_path, "ABC2026000000001")
    with PdfPrinter(rss_limit=1, check_every=2) as printer:
        for _ in range(5):
            assert printer.print_file(page)[:5] == b"%PDF-"
        assert printer.recycled == 2 and printer.printed == 1
    with PdfPrinter(check_every=2) as printer:  # the default bound: a 10-line invoice's browser is far below it
        for _ in range(5):
            printer.print_file(page)
        assert printer.recycled == 0 and 0 < printer.rss_bytes() < printer.rss_limit  # type: ignore[operator]



def _pdf_jobs(tmp_path: Path, n: int, numbered: bool = False) -> tuple[list[ViewJob], Path]:
    """``n`` copies of the fixture invoice to print into ``tmp_path/out`` (each with its
    own invoice number when ``numbered``)."""
    from ubltr.viewfiles import ViewJob

    good = (ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    jobs = []
    for i in range(n):
        src = tmp_path / f"d{i:02d}.xml"
        src.write_bytes(good.replace(b"ABC2026000000001", f"ABC2026{i + 1:09d}".encode()) if numbered else good)
        jobs.append(ViewJob(src, pdf=out / f"d{i:02d}.pdf"))
    return jobs, out

def test_browsers_replaced_by_policy_during_a_run_lose_no_document_and_write_none_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``render_files`` with a new browser every 2 pages on 2 workers: 20 invoices, each
    reported once, each PDF written once (every write counted) and its own invoice."""
    from ubltr import viewfiles
    from ubltr.viewfiles import render_files

    jobs, _ = _pdf_jobs(tmp_path, 20, numbered=True)
    writes: list[Path] = []
    real_write = viewfiles.write_whole

    def counted(path: Path, data: bytes) -> None:
        writes.append(path)
        real_write(path, data)

    monkeypatch.setattr(viewfiles, "write_whole", counted)
    outcomes = list(render_files(jobs, workers=2, use_embedded=False, recycle_after=2))
    assert sorted(o.job.source.name for o in outcomes) == sorted(j.source.name for j in jobs)
    assert [o.error for o in outcomes if o.error] == []
    assert sorted(writes) == sorted(j.pdf for j in jobs if j.pdf)  # each once
    for i, j in enumerate(jobs):
        assert j.pdf is not None and f"ABC2026{i + 1:09d}" in pages(j.pdf.read_bytes())[0][1]
    assert _chromium_children() == []


def test_a_hanging_page_is_given_up_after_a_retry_and_the_browser_prints_on(tmp_path: Path) -> None:
    """A page whose script never ends: the browser is replaced, the page tried once
    more, then reported (BrowserDied); the next page prints in a fresh browser."""
    from ubltr.chromium import BrowserDied, PdfPrinter

    hang = tmp_path / "hang.html"
    hang.write_text("<!doctype html><script>while (true) {}</script>", encoding="utf-8")
    ok = tmp_path / "ok.html"
    ok.write_text("<!doctype html><p>ok</p>", encoding="utf-8")
    with PdfPrinter(timeout=3, retries=1) as printer:
        t0 = time.monotonic()
        with pytest.raises(BrowserDied):
            printer.print_file(hang)
        assert printer.restarts == 1 and time.monotonic() - t0 < 30
        assert printer.print_file(ok)[:5] == b"%PDF-"
    assert _chromium_children() == []


def _chromium_children() -> list[int]:
    """pids of the browsers this test process started (their own process groups)."""
    out = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == os.getpid() and b"--remote-debugging-pipe" in cmd:
            out.append(int(pid))
    return out


def test_browsers_killed_during_a_run_lose_no_document_and_write_none_twice(tmp_path: Path) -> None:
    from ubltr.viewfiles import render_files

    jobs, out = _pdf_jobs(tmp_path, 30)
    kills = 0
    done = threading.Event()

    def killer() -> None:
        nonlocal kills
        while not done.is_set() and kills < 3:
            time.sleep(0.7)
            for pid in _chromium_children()[:1]:
                os.killpg(pid, signal.SIGKILL)
                kills += 1

    t = threading.Thread(target=killer)
    t.start()
    try:
        outcomes = list(render_files(jobs, workers=2, use_embedded=False))
    finally:
        done.set()
        t.join()
    assert kills >= 1
    names = [o.job.source.name for o in outcomes]
    assert sorted(names) == sorted(j.source.name for j in jobs)  # each reported exactly once
    assert [o.error for o in outcomes if o.error] == []
    assert sorted(p.name for p in out.iterdir()) == sorted(f"d{i:02d}.pdf" for i in range(30))  # no .part left
    for j in jobs:
        assert j.pdf is not None and j.pdf.read_bytes()[:5] == b"%PDF-" and j.pdf.read_bytes().rstrip().endswith(b"%%EOF")
    assert _chromium_children() == []


def ubltr(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "ubltr.cli", "render", *args], capture_output=True, check=False)


def test_cli_renders_files_and_directories_into_a_directory(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    (src / "a.xml").write_bytes((ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes())
    (src / "sub" / "b.xml").write_bytes((ROOT / "fixtures" / "EARSIVFATURA-SATIS.xml").read_bytes())
    (src / "sub" / "bozuk.xml").write_bytes(b"<Invoice>")
    (src / "notes.txt").write_text("not xml")
    single = tmp_path / "c.xml"
    single.write_bytes((ROOT / "fixtures" / "TEMELFATURA-TEVKIFAT.xml").read_bytes())
    out = tmp_path / "out"

    proc = ubltr(str(src), str(single), "-o", str(out), "--pdf")
    err = proc.stderr.decode()
    assert proc.returncode == 2, err  # one unreadable input: exit 2, the others written
    assert "bozuk.xml" in err and "Traceback" not in err
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == ["a.pdf", "c.pdf", "sub/b.pdf"]
    for p in ("a.pdf", "c.pdf", "sub/b.pdf"):
        assert (out / p).read_bytes()[:5] == b"%PDF-"
    text = pages((out / "a.pdf").read_bytes())[0][1]
    assert "TEMELFATURA" in text.replace(" ", "").upper() or "FATURA" in text.upper()

    html = tmp_path / "html"
    proc = ubltr(str(src / "a.xml"), str(single), "-o", str(html))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in html.iterdir()) == ["a.html", "c.html"]

    one = tmp_path / "one"
    proc = ubltr(str(single), "-o", str(one) + "/")  # one file into a directory named with '/'
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in one.iterdir()] == ["c.html"]

    both = tmp_path / "both"
    proc = ubltr(str(src / "a.xml"), "-o", str(both) + "/", "--pdf", "--keep-html", str(single))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in both.iterdir()) == ["a.html", "a.pdf", "c.html", "c.pdf"]


def test_cli_many_files_refuses_unclear_outputs(tmp_path: Path) -> None:
    a = tmp_path / "x" / "f.xml"
    b = tmp_path / "y" / "f.xml"
    for p in (a, b):
        p.parent.mkdir()
        p.write_bytes((ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes())
    for args, words in (
        ((str(a), str(b), "-o", str(tmp_path / "o")), "both be written"),
        ((str(a), str(b)), "-o DIR"),
        ((str(a), str(tmp_path / "nope.xml"), "-o", str(tmp_path / "o")), "no such file"),
        ((str(tmp_path / "x"), "-o", str(a)), "not a directory"),
    ):
        proc = ubltr(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr.decode() and b"Traceback" not in proc.stderr


def test_batch_pdf_writes_each_invoices_pdf_beside_its_xml_once(tmp_path: Path) -> None:
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "ubltr.cli", "batch", str(ROOT / "fixtures" / "batch" / "invoices.jsonl"),
           "--out", str(out), "--pdf", "-q"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    assert proc.returncode == 1, proc.stderr  # the fixture has one bad record (errors.jsonl)
    xmls = sorted(p.stem for p in out.glob("*.xml"))
    assert len(xmls) == 19 and sorted(p.stem for p in out.glob("*.pdf")) == xmls
    for stem in xmls:
        pdf = (out / f"{stem}.pdf").read_bytes()
        assert pdf[:5] == b"%PDF-"
        assert stem in "".join(p[1] for p in pages(pdf)).replace("\n", "").replace(" ", "")  # its own number
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")}
    proc = subprocess.run(cmd, capture_output=True, check=False)  # run again: nothing printed twice
    assert b"0 PDFs written" in proc.stderr, proc.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")} == before
    assert not list(out.glob(".*.part"))
    zipped = subprocess.run([*cmd[:5], "--out", str(tmp_path / "o.zip"), "--pdf"], capture_output=True, check=False)
    assert zipped.returncode == 2 and b"--out DIR" in zipped.stderr


def test_an_unforeseen_printer_error_is_reported_for_that_document_only(tmp_path: Path, monkeypatch) -> None:
    """A printer raising something unexpected (here a KeyError, as a malformed DevTools
    answer would) costs that one document, reported; the run finishes."""
    from ubltr import chromium
    from ubltr.viewfiles import ViewJob, render_files

    real = chromium.PdfPrinter.print_html  # what render_files calls for ubltr's own pages
    calls = []

    def flaky(self: chromium.PdfPrinter, page: bytes) -> bytes:
        calls.append(page)
        if len(calls) == 2:
            raise KeyError("data")
        return real(self, page)

    monkeypatch.setattr(chromium.PdfPrinter, "print_html", flaky)
    good = (ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes()
    jobs = []
    for i in range(4):
        (tmp_path / f"d{i}.xml").write_bytes(good)
        jobs.append(ViewJob(tmp_path / f"d{i}.xml", pdf=tmp_path / f"d{i}.pdf"))
    outcomes = list(render_files(jobs, workers=1, use_embedded=False))
    assert len(outcomes) == 4
    failed = [o for o in outcomes if o.error]
    assert len(failed) == 1 and failed[0].kind == "print" and "KeyError" in (failed[0].error or "")
    assert sum(1 for j in jobs if j.pdf is not None and j.pdf.exists()) == 3


def test_the_pdf_shows_line_notes_address_pieces_and_fax(tmp_path: Path) -> None:
    """The invoice of test_render's view test (built from neutral JSON, with line notes,
    room, block, building name, region and fax) printed by the kept-open browser: each
    piece is in the PDF's extracted text."""
    import ubltr
    from test_render import SHOWN_AS, _invoice_with_address_pieces_fax_and_line_notes

    from ubltr.chromium import PdfPrinter

    xml = ubltr.build(ubltr.load(_invoice_with_address_pieces_fax_and_line_notes()))
    page = tmp_path / "notes.html"
    page.write_bytes(view.render_html(xml, use_embedded=False).html)
    with PdfPrinter() as printer:
        text = " ".join(" ".join(t for _, t, _ in pages(printer.print_file(page))).split())
    for piece in SHOWN_AS:
        assert piece in text, piece
