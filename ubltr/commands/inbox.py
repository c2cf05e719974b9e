"""``ubltr inbox sync|list|answer|send-answers``: incoming invoices and their answers.

The configuration is the one ``ubltr send`` reads (JSON or TOML: ``provider``, ``outbox``,
the provider's keys, credentials from ``UBLTR_<PROVIDER>_<KEY>``); the inbox lives in the
outbox's database.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ._common import EXIT_INVALID, fail
from .transport import _load_config, _outbox_target, _provider_config


def _setup(config_path: str | None, provider: str | None, store: str | None) -> tuple[str, dict[str, Any], str]:
    from ..transport.inbox_api import INBOX_PROVIDERS

    config = _load_config(config_path)
    name = provider or config.get("provider")
    if not name:
        fail("--provider is required (or 'provider' in the configuration)")
    if name not in INBOX_PROVIDERS:
        fail(f"--provider: {name!r} documents no inbox API ubltr speaks; known: {', '.join(sorted(INBOX_PROVIDERS))}")
    return str(name), _provider_config(config, str(name)), _outbox_target(store, config)


def _open(target: str):  # type: ignore[no-untyped-def]
    from ..inbox import Inbox

    try:
        return Inbox(target)
    except Exception as exc:  # sqlite3/psycopg errors: a clear message, no traceback
        shown = target.split("@")[-1] if "://" in target else target  # never echo a DSN password
        fail(f"store {shown}: cannot open ({type(exc).__name__}: {exc})".replace(target, shown))


def _client(name: str, config: dict[str, Any]):  # type: ignore[no-untyped-def]
    from ..transport.base import ProviderError
    from ..transport.inbox_api import make_inbox_client

    try:
        return make_inbox_client(name, config)
    except (ProviderError, KeyError, ValueError, TypeError) as exc:
        fail(f"{name}: bad configuration ({exc})")


_config_opt = click.option("--config", "config_path", metavar="FILE", default=None,
                           help="JSON/TOML configuration (provider, outbox, provider keys)")
_provider_opt = click.option("--provider", default=None, help="nilvera or hepsiburada (Uyumsoft)")
_store_opt = click.option("--store", default=None, metavar="DB",
                          help="the outbox database (SQLite file or postgresql:// DSN); default from the configuration")


@click.group("inbox")
def inbox_group() -> None:
    """Incoming invoices: fetch them (sync), list them, answer them (KABUL / RED)."""


@inbox_group.command("sync")
@_config_opt
@_provider_opt
@_store_opt
@click.option("--page-size", type=click.IntRange(1, 100), default=50, show_default=True)
def sync_cmd(config_path: str | None, provider: str | None, store: str | None, page_size: int) -> None:
    """Download new incoming invoices into the store, validating and recomputing each.

    Idempotent: a re-run or a killed run stores nothing twice and loses nothing; an
    invoice is marked taken at the provider only once it is stored.  Exit 0 when the
    provider's new list is empty, 1 when the provider kept failing (what was stored stays)."""
    from ..inbox import SyncError, sync

    name, cfg, target = _setup(config_path, provider, store)
    client = _client(name, cfg)
    with _open(target) as inbox:
        try:
            s = sync(inbox, client, page_size=page_size,
                     progress=lambda uuid, verdict: click.echo(f"stored {uuid} ({verdict})", err=True))
        except SyncError as exc:
            fail(f"inbox sync stopped: {exc}", EXIT_INVALID)
    click.echo(f"{s.stored} stored, {s.already_stored} already stored, {s.marked_taken} marked taken, "
               f"{s.retries} retries" + (f"; verdicts: {json.dumps(s.verdicts)}" if s.verdicts else ""))


@inbox_group.command("list")
@_config_opt
@_provider_opt
@_store_opt
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def list_cmd(config_path: str | None, provider: str | None, store: str | None, fmt: str) -> None:
    """Stored incoming invoices with their verdict, recomputation and answer state."""
    config = _load_config(config_path)
    target = _outbox_target(store, config)
    with _open(target) as inbox:
        entries = inbox.entries(provider)
    if fmt == "json":
        click.echo(json.dumps([e.__dict__ for e in entries], ensure_ascii=False, indent=1, default=str))
        return
    for e in entries:
        rec = (e.recompute or {}).get("status", "-")
        click.echo(f"{e.uuid}  {e.invoice_id or '-':16}  {e.issue_date or '-':10}  {(e.supplier_name or '-')[:30]:30}  "
                   f"{e.profile or '-':12}  {e.payable or '-':>12} {e.currency or ''}  {e.verdict:10}  "
                   f"totals:{rec:14}  answer:{(e.answer or '-')}/{e.answer_state or '-'}")
    click.echo(f"{len(entries)} invoices", err=True)


@inbox_group.command("answer")
@click.argument("uuid")
@click.option("--accept", is_flag=True, help="KABUL")
@click.option("--reject", metavar="REASON", default=None, help="RED, with the reason")
@click.option("--note", "notes", multiple=True)
@_config_opt
@_provider_opt
@_store_opt
@click.option("--no-send", is_flag=True, help="only build and journal the answer")
def answer_cmd(uuid: str, accept: bool, reject: str | None, notes: tuple[str, ...], config_path: str | None,
               provider: str | None, store: str | None, no_send: bool) -> None:
    """Answer a stored TICARIFATURA (KABUL or RED) and send it through the provider, once.

    Refused (exit 1): not a TICARIFATURA, more than 8 days after it arrived, already answered."""
    from .. import answer as ans
    from ..inbox import AlreadyAnswered, answer_stored, send_answers

    if accept == (reject is not None):
        fail("give exactly one of --accept, --reject REASON")
    name, cfg, target = _setup(config_path, provider, store)
    with _open(target) as inbox:
        try:
            answer_stored(inbox, uuid, "KABUL" if accept else "RED", reason=reject, notes=notes, provider=name)
        except KeyError as exc:
            fail(str(exc).strip("'\""))
        except ans.AnswerInputError as exc:
            fail("; ".join(str(p) for p in exc.problems))
        except (ans.AnswerRefused, AlreadyAnswered) as exc:
            fail(f"refused: {exc}", EXIT_INVALID)
        except ans.AnswerReadError as exc:
            fail(f"{uuid}: the stored invoice cannot be answered: {exc}")
        if no_send:
            click.echo(f"{uuid}: answer journaled (queued)")
            return
        results = send_answers(inbox, _client(name, cfg))
    _print_answers(results)


@inbox_group.command("send-answers")
@_config_opt
@_provider_opt
@_store_opt
def send_answers_cmd(config_path: str | None, provider: str | None, store: str | None) -> None:
    """Send (or settle) every journaled answer not yet sent: exactly once, asking the
    provider first about any whose outcome was lost."""
    from ..inbox import send_answers

    name, cfg, target = _setup(config_path, provider, store)
    with _open(target) as inbox:
        results = send_answers(inbox, _client(name, cfg))
    _print_answers(results)


def _print_answers(results: list[Any]) -> None:
    for r in results:
        click.echo(f"{r.invoice_uuid}: {r.response} {r.state}" + (f" ({r.message})" if r.message else ""))
    if any(r.state == "refused" for r in results):
        sys.exit(EXIT_INVALID)
    if any(r.state not in ("sent", "refused") for r in results):
        click.echo("some answers are not settled yet; run `ubltr inbox send-answers` again", err=True)
        sys.exit(EXIT_INVALID)


@inbox_group.command("fake")
@click.argument("name")
@click.argument("incoming", nargs=-1)
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port")
@click.option("--fail-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1))
@click.option("--seed", default=0, show_default=True, type=int)
def fake_cmd(name: str, incoming: tuple[str, ...], port: int, fail_rate: float, seed: int) -> None:
    """Run provider NAME's fake with an inbox on 127.0.0.1, holding the INCOMING invoice
    files (or the .xml files of INCOMING directories) as newly arrived: for trying
    `ubltr inbox sync` against it (credentials: the provider's test defaults)."""
    from pathlib import Path

    from ..transport.base import ProviderError
    from ..transport.fake.server import serve
    from ..transport.inbox_api import inbox_fake_class

    try:
        handler = inbox_fake_class(name)
    except ProviderError as exc:
        fail(str(exc))
    files: list[Path] = []
    for item in incoming:
        p = Path(item)
        files += sorted(p.glob("*.xml")) if p.is_dir() else [p]
    docs: list[bytes] = []
    for f in files:
        try:
            docs.append(f.read_bytes())
        except OSError as exc:
            fail(f"{f}: cannot read ({exc.strerror})")

    def ready(srv) -> None:  # type: ignore[no-untyped-def]
        held = 0
        for f, data in zip(files, docs):
            try:
                srv.handler.receive(data)
                held += 1
            except ValueError as exc:
                click.echo(f"{f}: not held ({exc})", err=True)
        click.echo(f"{name} inbox fake listening on {srv.url} with {held} incoming invoices", err=True)

    try:
        serve(handler, port=port, fail_rate=fail_rate, seed=seed, ready=ready)
    except OSError as exc:
        fail(f"--port {port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass


COMMANDS = [inbox_group]
