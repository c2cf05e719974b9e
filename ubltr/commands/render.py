"""``ubltr render``: UBL-TR documents as pages a person reads (HTML, optionally PDF)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click

from ._common import EXIT_BAD_INPUT, EXIT_INVALID, fail, read_document, write_output


@click.command("render")
@click.argument("files", nargs=-1, required=True, type=str, metavar="FILE...")
@click.option("-o", "--output", "output", type=str, default=None,
              help="One FILE: where to write the HTML (default: stdout); with --pdf and a .pdf name, only "
                   "the PDF.  Several FILEs or a directory: the output directory.")
@click.option("--pdf", "pdf", is_flag=True,
              help="Also print to PDF with headless Chromium (OUT.pdf beside OUT.html).  Into a "
                   "directory: only the PDFs, unless --keep-html.")
@click.option("--keep-html", is_flag=True, help="Into a directory with --pdf: write the HTML files too.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Chromium processes printing PDFs at once (each kept open for the whole run).")
@click.option("--default-template", "default_template", is_flag=True,
              help="Ignore the document's embedded XSLT and use ubltr's own template.")
@click.option("--xslt-timeout", type=float, default=20.0, show_default=True,
              help="Seconds the embedded XSLT may run before ubltr falls back to its template.")
@click.option("--xslt-memory", type=click.IntRange(16, 16384), default=512, show_default=True, metavar="MB",
              help="Megabytes the embedded XSLT may allocate before ubltr falls back to its template.")
def render_command(files: tuple[str, ...], output: str | None, pdf: bool, keep_html: bool, workers: int,
                   default_template: bool, xslt_timeout: float, xslt_memory: int) -> None:
    """Render FILE (UBL-TR XML, '-' for stdin) as HTML, like GİB's viewer.

    The document's own embedded XSLT is used when it has one and it runs (XSLT 1.0,
    no file or network access); otherwise ubltr's Turkish A4 template shows parties,
    lines, taxes, withholding, totals, amount in words, notes and the GİB Karekod.

    Several FILEs, or directories (every *.xml in them, recursively), or one FILE
    with -o an existing directory or a name ending in '/', go into the directory -o DIR, one NAME.html (or NAME.pdf with --pdf) per NAME.xml, a
    directory's sub-folders mirrored.

    \b
    Examples:
      ubltr render fatura.xml -o fatura.html
      ubltr render fatura.xml -o fatura.html --pdf      # fatura.html + fatura.pdf
      ubltr render fatura.xml -o fatura.pdf --pdf       # only the PDF
      ubltr render faturalar/ -o pdf/ --pdf --workers 2 # a PDF per invoice
    """
    from .. import view

    if pdf and view.find_browser() is None:
        if output in (None, "-"):
            fail("--pdf needs -o OUT.html or -o OUT.pdf (a PDF is not written to stdout)")
        fail("--pdf needs headless Chromium, which was not found "
             "(install it: apt-get install chromium, or set UBLTR_CHROMIUM=/path/to/chrome)",
             EXIT_BAD_INPUT)
    into_dir = output is not None and (output.endswith(("/", os.sep)) or os.path.isdir(output))
    if len(files) == 1 and not os.path.isdir(files[0]) and (files[0] == "-" or not into_dir):
        _render_one(files[0], output, pdf, default_template, xslt_timeout, xslt_memory)
        return
    _render_many(files, output, pdf, keep_html, workers, default_template, xslt_timeout, xslt_memory)


def _render_one(file: str, output: str | None, pdf: bool, default_template: bool, xslt_timeout: float,
                xslt_memory: int) -> None:
    from .. import view

    if pdf and output in (None, "-"):
        fail("--pdf needs -o OUT.html or -o OUT.pdf (a PDF is not written to stdout)")
    data = read_document(file)
    try:
        from ..envelope import render_document_html

        # envelopes (every document by position) and answers have their own pages
        result = render_document_html(data, use_embedded=not default_template, timeout=xslt_timeout,
                                      memory=xslt_memory * 1024 * 1024)
    except view.DocumentError as exc:
        fail(f"{file}: {exc}")
    for w in result.warnings:
        click.echo(f"{file}: {w}", err=True)

    if not pdf:
        write_output(output, result.html)
        return
    assert output is not None
    out = Path(output)
    only_pdf = out.suffix.lower() == ".pdf"
    pdf_path = out if only_pdf else out.with_suffix(".pdf")
    if not only_pdf:
        write_output(output, result.html)
    from ..chromium import BrowserDied, PdfPrinter, PrintError
    from ..viewfiles import write_whole

    with tempfile.TemporaryDirectory(prefix="ubltr-render-") as tmp:
        html_path = Path(tmp) / "document.html"
        html_path.write_bytes(result.html)
        try:
            with PdfPrinter() as printer:
                write_whole(pdf_path, printer.print_file(html_path))
        except view.BrowserMissing as exc:
            fail(str(exc))
        except (BrowserDied, PrintError, OSError) as exc:
            fail(f"{file}: PDF printing failed: {exc}", EXIT_INVALID)
    click.echo(f"wrote {pdf_path}", err=True)


def _inputs(files: tuple[str, ...]) -> list[tuple[Path, Path]]:
    """(XML file, its name relative to the output directory) for every input."""
    found: list[tuple[Path, Path]] = []
    for f in files:
        if f == "-":
            fail("'-' (stdin) renders one document: give it alone, with -o OUT.html")
        p = Path(f)
        if p.is_dir():
            for x in sorted(p.rglob("*")):
                if x.is_file() and x.suffix.lower() == ".xml":
                    found.append((x, x.relative_to(p)))
        elif p.exists():
            found.append((p, Path(p.name)))
        else:
            fail(f"{f}: no such file or directory")
    return found


def _render_many(files: tuple[str, ...], output: str | None, pdf: bool, keep_html: bool, workers: int,
                 default_template: bool, xslt_timeout: float, xslt_memory: int) -> None:
    from ..viewfiles import ViewJob, render_files

    if output in (None, "-"):
        fail("several documents need an output directory: -o DIR")
    assert output is not None
    out = Path(output)
    if out.exists() and not out.is_dir():
        fail(f"-o {output}: not a directory (several documents are written into a directory)")
    inputs = _inputs(files)
    if not inputs:
        fail("no *.xml file found in " + ", ".join(files))
    jobs: list[ViewJob] = []
    claimed: dict[Path, Path] = {}
    for src, rel in inputs:
        stem = out / rel.with_suffix("")
        if stem in claimed:
            fail(f"{src} and {claimed[stem]} would both be written as {stem}.*: render them into different directories")
        claimed[stem] = src
        html = stem.with_suffix(".html") if (keep_html or not pdf) else None
        jobs.append(ViewJob(src, html=html, pdf=stem.with_suffix(".pdf") if pdf else None))
    try:
        for d in sorted({(out / rel).parent for _, rel in inputs}):
            d.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"-o {output}: cannot create ({exc.strerror})")

    bad_input = failed = written = 0
    for outcome in render_files(jobs, workers=workers, use_embedded=not default_template, xslt_timeout=xslt_timeout,
                                xslt_memory=xslt_memory * 1024 * 1024):
        name = outcome.job.source
        for w in outcome.warnings:
            click.echo(f"{name}: {w}", err=True)
        if outcome.error is None:
            written += 1
        elif outcome.kind == "input":
            bad_input += 1
            click.echo(f"{name}: {outcome.error}", err=True)
        else:
            failed += 1
            click.echo(f"{name}: {outcome.error}", err=True)
    what = "PDF" if pdf else "HTML"
    click.echo(f"{len(jobs)} documents: {written} written ({what}) into {out}"
               + (f", {bad_input} unreadable" if bad_input else "")
               + (f", {failed} not {'printed' if pdf else 'rendered'}" if failed else ""), err=True)
    sys.exit(EXIT_BAD_INPUT if bad_input else EXIT_INVALID if failed else 0)


COMMANDS = [render_command]
