"""``ubltr render``: a UBL-TR document as a page a person reads (HTML, optionally PDF)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from ._common import EXIT_BAD_INPUT, fail, read_document, write_output


@click.command("render")
@click.argument("file", type=str)
@click.option("-o", "--output", "output", type=str, default=None,
              help="Where to write the HTML (default: stdout). With --pdf and a .pdf name, only the PDF.")
@click.option("--pdf", "pdf", is_flag=True,
              help="Also print to PDF with headless Chromium (OUT.pdf beside OUT.html).")
@click.option("--default-template", "default_template", is_flag=True,
              help="Ignore the document's embedded XSLT and use ubltr's own template.")
@click.option("--xslt-timeout", type=float, default=20.0, show_default=True,
              help="Seconds the embedded XSLT may run before ubltr falls back to its template.")
@click.option("--xslt-memory", type=click.IntRange(16, 16384), default=512, show_default=True, metavar="MB",
              help="Megabytes the embedded XSLT may allocate before ubltr falls back to its template.")
def render_command(file: str, output: str | None, pdf: bool, default_template: bool, xslt_timeout: float,
                   xslt_memory: int) -> None:
    """Render FILE (UBL-TR XML, '-' for stdin) as HTML, like GİB's viewer.

    The document's own embedded XSLT is used when it has one and it runs (XSLT 1.0,
    no file or network access, in a child process with a time and a memory limit); otherwise ubltr's Turkish A4 template shows parties,
    lines, taxes, withholding, totals, amount in words, notes and the GİB Karekod.

    \b
    Examples:
      ubltr render fatura.xml -o fatura.html
      ubltr render fatura.xml -o fatura.html --pdf      # fatura.html + fatura.pdf
      ubltr render fatura.xml -o fatura.pdf --pdf       # only the PDF
    """
    from .. import view

    if pdf:
        if output in (None, "-"):
            fail("--pdf needs -o OUT.html or -o OUT.pdf (a PDF is not written to stdout)")
        if view.find_browser() is None:
            fail("--pdf needs headless Chromium, which was not found "
                 "(install it: apt-get install chromium, or set UBLTR_CHROMIUM=/path/to/chrome)",
                 EXIT_BAD_INPUT)
    from ..envelope import render_document_html

    data = read_document(file)
    try:
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
    with tempfile.TemporaryDirectory(prefix="ubltr-render-") as tmp:
        html_path = Path(tmp) / "document.html"
        html_path.write_bytes(result.html)
        try:
            view.html_to_pdf(html_path, pdf_path)
        except view.BrowserMissing as exc:
            fail(str(exc))
        except (RuntimeError, OSError) as exc:
            fail(f"{file}: PDF printing failed: {exc}", 1)
        except Exception as exc:  # subprocess timeout and the like: say so, no traceback
            fail(f"{file}: PDF printing failed: {exc}", 1)
    click.echo(f"wrote {pdf_path}", err=True)


COMMANDS = [render_command]
