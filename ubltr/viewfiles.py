"""Many UBL-TR documents to HTML and PDF files: the engine of ``ubltr render FILE...
-o DIR`` and ``ubltr batch --pdf``.

One thread reads each XML and renders its HTML (:func:`ubltr.view.render_html`);
``workers`` printer threads each keep one headless Chromium open
(:class:`ubltr.chromium.PdfPrinter`) and print the pages handed to them through a
bounded queue, so memory does not grow with the number of documents.  Every output
file is written whole under a temporary name and then renamed: a reader never sees a
half-written PDF, and a document is written once or reported as failed, never both
and never silently skipped.

>>> jobs = [ViewJob(Path("a.xml"), html=None, pdf=Path("out/a.pdf"))]   # doctest: +SKIP
>>> for outcome in render_files(jobs, workers=2):                       # doctest: +SKIP
...     print(outcome.job.source, outcome.error or "ok")
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from . import view
from .chromium import RSS_LIMIT

#: Why a document has no output: its XML could not be read or rendered ("input"), the
#: browser could not print it ("print"), or rendering it failed unforeseen ("render": a
#: bug of ubltr's, reported for that document while the others go on).
FailureKind = Literal["input", "print", "render"]


@dataclass(frozen=True)
class ViewJob:
    """One document: the XML file to read, where to write its HTML and/or its PDF."""

    source: Path
    html: Path | None = None
    pdf: Path | None = None


@dataclass(frozen=True)
class ViewOutcome:
    """What became of one :class:`ViewJob`: ``error`` is None when every output asked
    for was written; ``warnings`` say why the embedded XSLT was not used."""

    job: ViewJob
    error: str | None = None
    kind: FailureKind | None = None
    warnings: tuple[str, ...] = ()


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` under a temporary name in the same directory, then rename
    (into a device or FIFO such as /dev/null: written directly, never renamed over)."""
    if path.exists() and not path.is_file():
        with open(path, "wb") as fh:
            fh.write(data)
        return
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


_END = object()
#: job, warnings, and what to print: ubltr's own page (HTML bytes, written into the tab)
#: or the document's own XSLT's page (an HTML file, navigated to) and whether to delete it after
_Page = tuple[ViewJob, tuple[str, ...], bytes | None, Path | None, bool]


def render_files(
    jobs: Iterable[ViewJob],
    *,
    workers: int = 2,
    use_embedded: bool = True,
    xslt_timeout: float | None = view.XSLT_TIMEOUT,
    xslt_memory: int | None = view.XSLT_MEMORY,
    browser: str | None = None,
    print_timeout: float = 60.0,
    recycle_after: int = 1000,
    rss_limit: int | None = RSS_LIMIT,
) -> Iterator[ViewOutcome]:
    """Render every job; yields one :class:`ViewOutcome` per job, in the order they finish.

    PDFs are printed by ``workers`` Chromium processes kept open for the whole run;
    each is replaced between two pages after ``recycle_after`` pages or when its
    processes' resident memory passes ``rss_limit`` bytes (None: no bound), and
    when it dies or hangs (the page is then printed again).  Jobs without ``pdf``
    never start a browser.
    """
    workers = max(1, workers)
    results: queue.Queue[object] = queue.Queue()
    pages: queue.Queue[_Page | None] = queue.Queue(maxsize=2 * workers)  # None: no more pages
    stop = threading.Event()
    scratch = tempfile.mkdtemp(prefix="ubltr-view-")
    started: list[threading.Thread] = []

    def produce() -> None:
        n = 0
        try:
            for job in jobs:
                if stop.is_set():
                    break
                n += 1
                try:
                    data = job.source.read_bytes()
                except OSError as exc:
                    results.put(ViewOutcome(job, f"cannot read ({exc.strerror})", "input"))
                    continue
                try:
                    rendered = view.render_html(data, use_embedded=use_embedded, timeout=xslt_timeout, memory=xslt_memory)
                except view.DocumentError as exc:
                    results.put(ViewOutcome(job, str(exc), "input"))
                    continue
                except Exception as exc:  # unforeseen: this document is reported, the batch goes on
                    results.put(ViewOutcome(job, f"rendering failed: {exc!r} (a bug in ubltr: please report it "
                                                 "with the document)", "render"))
                    continue
                try:
                    if job.html is not None:
                        write_whole(job.html, rendered.html)
                except OSError as exc:
                    results.put(ViewOutcome(job, f"cannot write {job.html} ({exc.strerror})", "input",
                                            rendered.warnings))
                    continue
                if job.pdf is None:
                    results.put(ViewOutcome(job, None, None, rendered.warnings))
                    continue
                item: _Page
                if rendered.source == "default":  # ubltr's template: no script, no link out
                    item = (job, rendered.warnings, rendered.html, None, False)
                else:  # the document's own XSLT's page (scripts, maybe): a file, navigated to
                    page = job.html
                    if page is None:  # the browser reads a file; this one is ours to delete
                        page = Path(scratch) / f"{n}.html"
                        page.write_bytes(rendered.html)
                    item = (job, rendered.warnings, None, page, job.html is None)
                while not stop.is_set():
                    try:
                        pages.put(item, timeout=0.5)
                        break
                    except queue.Full:
                        continue
        except BaseException as exc:  # pragma: no cover - reported, never swallowed
            results.put(exc)
        finally:
            for _ in range(workers):
                pages.put(None)
            results.put(_END)

    def print_pages() -> None:
        from .chromium import BrowserDied, PdfPrinter, PrintError

        printer: PdfPrinter | None = None
        try:
            while True:
                item = pages.get()
                if item is None:
                    break
                job, warnings, html, page, temporary = item
                assert job.pdf is not None
                try:
                    if stop.is_set():
                        continue
                    if printer is None:
                        printer = PdfPrinter(browser, timeout=print_timeout, recycle_after=recycle_after,
                                             rss_limit=rss_limit)
                    if html is not None:
                        pdf = printer.print_html(html)
                    else:
                        assert page is not None
                        pdf = printer.print_file(page)
                    write_whole(job.pdf, pdf)
                    results.put(ViewOutcome(job, None, None, warnings))
                except (BrowserDied, PrintError, view.BrowserMissing) as exc:
                    results.put(ViewOutcome(job, f"PDF printing failed: {exc}", "print", warnings))
                except OSError as exc:
                    results.put(ViewOutcome(job, f"PDF printing failed: {exc}", "print", warnings))
                except Exception as exc:  # anything unforeseen: this document is reported, the
                    results.put(ViewOutcome(job, f"PDF printing failed: {exc!r}", "print", warnings))
                    if printer is not None:  # worker goes on with a fresh browser
                        printer.close()
                        printer = None
                finally:
                    if temporary and page is not None:
                        page.unlink(missing_ok=True)
        finally:
            if printer is not None:
                printer.close()
            results.put(_END)

    try:
        producer = threading.Thread(target=produce, name="ubltr-view-html", daemon=True)
        producer.start()
        started.append(producer)
        for i in range(workers):
            t = threading.Thread(target=print_pages, name=f"ubltr-view-pdf-{i}", daemon=True)
            t.start()
            started.append(t)
        ended = 0
        while ended < len(started):
            item = results.get()
            if item is _END:
                ended += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                assert isinstance(item, ViewOutcome)
                yield item
    finally:
        stop.set()
        while any(t.is_alive() for t in started):  # let the printers close their browsers
            try:
                while True:
                    pages.get_nowait()
            except queue.Empty:
                pass
            for _ in range(workers):
                try:
                    pages.put_nowait(None)
                except queue.Full:
                    break
            for t in started:
                t.join(0.2)
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
