"""``ubltr batch``: many neutral invoices (JSONL or CSV) into UBL-TR XML files or a ZIP.

See docs/batch.md.  Exit status: 0 every record done, 1 some record failed (see
errors.jsonl), 2 unusable input or output place.  Interrupted runs resume when the
same command is run again.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from ..batch import BatchInputError, BatchOptions, BatchSummary, SignSpec, run_batch
from ._common import EXIT_BAD_INPUT, EXIT_INVALID, EXIT_OK, fail


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        fail(f"{what} {path}: cannot read ({exc.strerror})")


def _sign_spec(p12: str | None, key: str | None, cert: str | None, chain: str | None,
               password_env: str | None) -> SignSpec | None:
    if not (p12 or key or cert):
        return None
    from ..signing import SigningError, load_pem, load_pkcs12

    if bool(p12) == bool(key or cert):
        fail("give either --p12 FILE or --key KEY.pem --cert CERT.pem")
    password = None
    if password_env:
        password = os.environ.get(password_env)
        if password is None:
            fail(f"--password-env {password_env}: that environment variable is not set")
    try:
        if p12:
            loaded = load_pkcs12(_read(p12, "--p12"), password)
        else:
            if not (key and cert):
                fail("--key and --cert go together")
            loaded = load_pem(_read(key, "--key"), _read(cert, "--cert"),
                              _read(chain, "--chain") if chain else None, password)
    except SigningError as exc:
        fail(f"signing key: {exc}")
    return SignSpec.from_loaded(*loaded)


def _next_numbers(values: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        series, _, n = v.partition("=")
        if len(series) != 3 or not n.isdigit():
            fail(f"--next-number {v!r}: expected SERIES=N, e.g. ABC=1024")
        out[series] = int(n)
    return out


class _Bar:
    """A progress bar (click's) over the input bytes, with records, rate and ETA."""

    def __init__(self) -> None:
        self.progress = click.progressbar(length=1, label="batch", file=sys.stderr, show_eta=True,
                                          show_percent=True, item_show_func=lambda text: text)
        self.start = time.monotonic()
        self.done = 0

    def __call__(self, s: BatchSummary, done: int, total: int) -> None:
        elapsed = max(time.monotonic() - self.start, 1e-6)
        rate = (s.records - s.skipped) / elapsed
        if total and self.progress.length != total:
            self.progress.length = total
        self.progress.update(max(0, done - self.done),
                             current_item=f"{s.records} records ({s.failed} failed) {rate:,.0f}/s")
        self.done = max(done, self.done)


@click.command("batch")
@click.argument("input_path", metavar="IN.jsonl|IN.csv")
@click.option("-o", "--out", "out", required=True, metavar="DIR|OUT.zip",
              help="output directory (<ID>.xml per invoice), or a .zip file")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None,
              help="input format (default: from the file name)")
@click.option("--validate", is_flag=True, help="validate every document (XSD + GİB schematron); invalid ones go to errors.jsonl")
@click.option("--strict", is_flag=True, help="with --validate: ubltr's own rules count as errors")
@click.option("--provider", default=None, help="with --validate: apply this provider's extra rules")
@click.option("--p12", "p12", help="sign with this PKCS#12 seal")
@click.option("--key", "key", help="sign with this PEM private key (with --cert)")
@click.option("--cert", "cert", help="PEM certificate of the seal (with --key)")
@click.option("--chain", "chain", help="PEM intermediates to carry in KeyInfo")
@click.option("--password-env", metavar="VAR", help="environment variable holding the key password")
@click.option("--allow-seal-mismatch", is_flag=True,
              help="sign records whose supplier's VKN/TCKN is not the seal's (refused by default)")
@click.option("--signing-time", metavar="ISO", help="signing time for every document (default: start of the run)")
@click.option("--next-number", "next_number", multiple=True, metavar="SERIES=N",
              help="first sequence number for records with 'series' and no 'id' (default 1); repeatable")
@click.option("--workers", type=int, default=0, help="worker processes (default: CPUs)")
@click.option("--chunk-size", type=click.IntRange(1, 10000), default=64, show_default=True,
              help="records per unit of work sent to a worker")
@click.option("--pdf", "pdf", is_flag=True,
              help="also print each invoice's PDF beside its XML (<ID>.pdf; headless Chromium, --pdf-workers)")
@click.option("--pdf-workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="with --pdf: Chromium processes printing at once")
@click.option("--durable", is_flag=True, help="fsync every output file (survives power loss, slower)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def batch_cmd(input_path: str, out: str, fmt: str | None, validate: bool, strict: bool, provider: str | None,
              p12: str | None, key: str | None, cert: str | None, chain: str | None, password_env: str | None,
              allow_seal_mismatch: bool, signing_time: str | None, next_number: tuple[str, ...], workers: int,
              chunk_size: int, pdf: bool, pdf_workers: int, durable: bool, quiet: bool) -> None:
    """Build (and optionally validate and sign) every invoice of a JSONL or CSV file.

    Streams the input; a bad record goes to errors.jsonl with its line number and the
    run goes on.  Run the same command again after an interruption to resume.

    Exit status: 0 all records done, 1 some failed, 2 unusable input."""
    if provider:
        from ..validation import known_providers

        if provider.lower() not in known_providers():
            fail(f"--provider: unknown provider {provider!r} (known: {', '.join(known_providers())})")
    when = None
    if signing_time:
        try:
            when = datetime.fromisoformat(signing_time)
        except ValueError:
            fail(f"--signing-time {signing_time!r}: not an ISO date-time like 2026-11-20T10:30:00+03:00")
        if when.tzinfo is None:
            fail("--signing-time needs a time zone, e.g. +03:00")
    spec = _sign_spec(p12, key, cert, chain, password_env)
    if when and spec is None:
        fail("--signing-time is only used with --p12 or --key/--cert")
    if allow_seal_mismatch and spec is None:
        fail("--allow-seal-mismatch is only used with --p12 or --key/--cert")
    if pdf:
        from ..view import find_browser
        if out.lower().endswith(".zip"):
            fail("--pdf writes each PDF beside its XML: give --out DIR, not a .zip")
        if find_browser() is None:
            fail("--pdf needs headless Chromium, which was not found "
                 "(install it: apt-get install chromium, or set UBLTR_CHROMIUM=/path/to/chrome)")
    options = BatchOptions(validate=validate, strict=strict, provider=provider.lower() if provider else None,
                           sign=spec, signing_time=when, allow_seal_mismatch=allow_seal_mismatch)
    bar = _Bar() if not quiet and sys.stderr.isatty() else None
    started = time.monotonic()
    try:
        if bar:
            with bar.progress:
                summary = run_batch(input_path, out, options, fmt=fmt, next_numbers=_next_numbers(next_number),
                                    workers=workers or None, chunk_size=chunk_size, durable=durable, progress=bar)
        else:
            summary = run_batch(input_path, out, options, fmt=fmt, next_numbers=_next_numbers(next_number),
                                workers=workers or None, chunk_size=chunk_size, durable=durable)
    except BatchInputError as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        click.echo("interrupted: run the same command again to resume", err=True)
        sys.exit(130)
    elapsed = time.monotonic() - started
    done_now = summary.records - summary.skipped
    rate = f", {done_now / elapsed:,.0f} records/s" if elapsed > 0 and done_now else ""
    resumed = f" ({summary.skipped} already done by an earlier run)" if summary.skipped else ""
    stages = ", ".join(f"{k} {v}" for k, v in sorted(summary.failed_by_stage.items()))
    click.echo(f"{summary.records} records{resumed}: {summary.ok} written, {summary.failed} failed"
               + (f" ({stages})" if stages else "") + f" → {summary.out}"
               + f" in {elapsed:.1f} s{rate}", err=True)
    if summary.warnings:
        click.echo(f"{summary.warnings} validation warnings (not blocking)", err=True)
    if summary.failed:
        click.echo(f"errors: {summary.errors_path}", err=True)
    not_printed = _print_pdfs(summary.out, pdf_workers) if pdf else 0
    sys.exit(EXIT_INVALID if summary.failed or not_printed else EXIT_OK)


def _print_pdfs(out: str, workers: int) -> int:
    """<ID>.pdf beside each <ID>.xml of the run that has none yet; how many failed."""
    from ..batch import pdf_jobs
    from ..viewfiles import render_files

    jobs = pdf_jobs(out)
    started = time.monotonic()
    failed = 0
    for outcome in render_files(jobs, workers=workers):
        if outcome.error:
            failed += 1
            click.echo(f"{outcome.job.source}: {outcome.error}", err=True)
    elapsed = time.monotonic() - started
    rate = f", {len(jobs) / elapsed:,.1f} PDFs/s" if jobs and elapsed > 0 else ""
    click.echo(f"{len(jobs) - failed} PDFs written, {failed} failed → {out} in {elapsed:.1f} s{rate}", err=True)
    return failed


COMMANDS = [batch_cmd]
