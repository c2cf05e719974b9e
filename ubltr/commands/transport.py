"""``ubltr send``, ``ubltr outbox status|list|resume|resolve`` and ``ubltr fake-provider``.

Configuration is a JSON or TOML file with flat keys for the provider (``base_url``,
``timeout``, ``alias`` ...), optionally a ``[<provider>]`` section, ``provider`` and
``outbox``; credentials come from ``UBLTR_<PROVIDER>_<KEY>`` environment variables
(or the file, for local fakes) and are never printed.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

import click

from ._common import EXIT_BAD_INPUT, EXIT_INVALID, EXIT_OK, fail, read_input

DEFAULT_OUTBOX = "ubltr-outbox.sqlite"


# ---------------------------------------------------------------------- helpers

def _load_config(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    raw = read_input(path)
    try:
        if path.endswith(".toml"):
            data = tomllib.loads(raw.decode("utf-8"))
        else:
            data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, tomllib.TOMLDecodeError) as exc:
        fail(f"{path}: not valid {'TOML' if path.endswith('.toml') else 'JSON'} ({exc})")
    if not isinstance(data, dict):
        fail(f"{path}: the configuration must be an object/table")
    return data


def _provider_config(config: dict[str, Any], provider: str) -> dict[str, Any]:
    flat = {k: v for k, v in config.items() if not isinstance(v, dict)}
    section = config.get(provider)
    if isinstance(section, dict):
        flat.update(section)
    return flat


def _provider_name(option: str | None, config: dict[str, Any]) -> str:
    from ..transport import registry

    name = option or config.get("provider")
    if not name:
        fail("--provider is required (or 'provider' in the configuration)")
    if name not in registry.PROVIDERS:
        fail(f"--provider: unknown provider {name!r}; known: {', '.join(sorted(registry.PROVIDERS))}")
    return str(name)


def _outbox_target(option: str | None, config: dict[str, Any]) -> str:
    return option or str(config.get("outbox") or os.environ.get("UBLTR_OUTBOX") or DEFAULT_OUTBOX)


def _open_outbox(target: str):  # type: ignore[no-untyped-def]
    from ..outbox import Outbox, OutboxError

    try:
        return Outbox(target)
    except (OutboxError, OSError, Exception) as exc:  # sqlite3/psycopg errors: a clear message, no traceback
        shown = target.split("@")[-1] if "://" in target else target  # never echo a DSN password
        fail(f"outbox {shown}: cannot open ({type(exc).__name__}: {exc})".replace(target, shown))


def _make_client(name: str, config: dict[str, Any]):  # type: ignore[no-untyped-def]
    from ..transport import registry
    from ..transport.base import ProviderError

    try:
        return registry.make_client(name, _provider_config(config, name))
    except (ImportError, AttributeError):
        fail(f"provider {name!r} is registered but its client is not available yet")
    except (ProviderError, KeyError, ValueError, TypeError) as exc:
        fail(f"{name}: bad configuration ({exc})")


def _policy(workers: int, max_attempts: int, config: dict[str, Any]):  # type: ignore[no-untyped-def]
    from ..outbox import SendPolicy

    return SendPolicy(workers=workers, max_attempts=max_attempts,
                      backoff=float(config.get("backoff", 0.5)),
                      max_backoff=float(config.get("max_backoff", 30.0)),
                      deadline=float(config["deadline"]) if config.get("deadline") else None)


def _expand(inputs: tuple[str, ...]) -> list[str]:
    files: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files += sorted(str(x) for x in p.iterdir() if x.suffix in (".xml", ".json"))
        else:
            files.append(item)
    return files


def _document(path: str, data: bytes, alias: str | None):  # type: ignore[no-untyped-def]
    """A Document from UBL-TR XML (with its neutral form, for JSON-API providers) or from
    neutral JSON (built to UBL-TR with ``ubltr.render``)."""
    from ..transport.base import Document

    if path.endswith(".json"):
        from .. import model
        from .. import render

        try:
            inv = model.loads(data)
        except model.InvoiceInputError as exc:
            raise ValueError("; ".join(f"{p.path or '(root)'}: {p.message}" for p in exc.problems)) from None
        xml = render.build(inv)
        neutral: dict[str, Any] | None = model.to_dict(render.assign_identity(inv))
        return Document.from_xml(xml, receiver_alias=alias, neutral=neutral)
    doc = Document.from_xml(data, receiver_alias=alias)
    from .. import model
    from ..parse import ParseError
    from ..parse import parse as parse_invoice

    try:
        neutral = model.to_dict(parse_invoice(data))
    except (ValueError, ParseError):  # XML-only providers do not need it; JSON-API ones refuse the document without it
        neutral = None
    return Document(uuid=doc.uuid, xml=doc.xml, invoice_id=doc.invoice_id, profile=doc.profile,
                    receiver_alias=alias, neutral=neutral)


def _report(counts: dict[str, int], as_json: bool, stopped: str | None = None) -> int:
    from ..outbox import State

    if as_json:
        click.echo(json.dumps({"counts": counts, "stopped": stopped}, sort_keys=True))
    else:
        for state in State:
            if counts.get(state.value):
                click.echo(f"{state.value:22} {counts[state.value]}")
        if stopped:
            click.echo(f"stopped: {stopped}", err=True)
    not_done = sum(n for s, n in counts.items() if s != State.ACCEPTED.value)
    return EXIT_OK if not_done == 0 and not stopped else EXIT_INVALID


def _run(outbox, name: str, config: dict[str, Any], workers: int, max_attempts: int,  # type: ignore[no-untyped-def]
         uuids: list[str] | None = None):
    from ..outbox import Sender

    from ..outbox import OutboxError

    client = _make_client(name, config)
    attach = getattr(client, "attach_documents", None)  # providers whose lookup key lives in the document
    if attach is not None:
        attach(outbox.document)
    sender = Sender(outbox, client, _policy(workers, max_attempts, _provider_config(config, name)))
    try:
        summary = sender.run(uuids)
    except OutboxError as exc:
        fail(str(exc))
    for uuid, message in summary.errors[:20]:
        click.echo(f"{uuid}: not finished ({message}); run 'ubltr outbox resume' again", err=True)
    return summary


# ---------------------------------------------------------------------- send

@click.command("send")
@click.option("--provider", "provider", help="provider name (see https://github.com/ubltr/ubltr/blob/main/docs/transport.md)")
@click.option("--config", "config_path", type=str, help="JSON or TOML configuration file")
@click.option("--outbox", "outbox_target", help=f"SQLite file or postgresql:// DSN (default {DEFAULT_OUTBOX})")
@click.option("--alias", help="receiver alias (e-Fatura posta kutusu) for every document")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--max-attempts", default=8, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="print the state counts as JSON")
@click.argument("inputs", nargs=-1, required=True)
def send_cmd(provider: str | None, config_path: str | None, outbox_target: str | None, alias: str | None,
             workers: int, max_attempts: int, as_json: bool, inputs: tuple[str, ...]) -> None:
    """Send documents (UBL-TR *.xml or neutral *.json files, or directories of *.xml)
    through the outbox, exactly once.

    Each document is journaled before it is sent; re-running the command with the
    same inputs sends nothing twice.
    """
    from ..outbox import OutboxError

    config = _load_config(config_path)
    name = _provider_name(provider, config)
    docs = []
    for path in _expand(inputs):
        try:
            docs.append(_document(path, read_input(path), alias or config.get("alias")))
        except ValueError as exc:
            fail(f"{path}: {exc}")
    outbox = _open_outbox(_outbox_target(outbox_target, config))
    try:
        added, present = outbox.add(docs, name)
    except OutboxError as exc:
        fail(str(exc))
    if present and not as_json:
        click.echo(f"{present} document(s) already in the outbox: not queued again", err=True)
    summary = _run(outbox, name, config, workers, max_attempts, [d.uuid for d in docs])
    counts: dict[str, int] = {}
    for d in docs:
        e = outbox.get(d.uuid)
        if e is not None:
            counts[e.state.value] = counts.get(e.state.value, 0) + 1
    sys.exit(_report(counts, as_json, summary.stopped))


# ---------------------------------------------------------------------- outbox group

@click.group("outbox")
def outbox_group() -> None:
    """Inspect and resume the outbox (the journal of every submission)."""


_outbox_opt = click.option("--outbox", "outbox_target", help=f"SQLite file or postgresql:// DSN "
                           f"(default: config 'outbox', $UBLTR_OUTBOX, {DEFAULT_OUTBOX})")
_config_opt = click.option("--config", "config_path", type=str, help="JSON or TOML configuration file")


@outbox_group.command("status")
@_outbox_opt
@_config_opt
@click.option("--json", "as_json", is_flag=True)
def outbox_status(outbox_target: str | None, config_path: str | None, as_json: bool) -> None:
    """Counts of documents by state."""
    config = _load_config(config_path)
    outbox = _open_outbox(_outbox_target(outbox_target, config))
    counts = outbox.counts()
    if as_json:
        click.echo(json.dumps(counts, sort_keys=True))
    else:
        if not counts:
            click.echo("outbox is empty")
        for state, n in sorted(counts.items()):
            click.echo(f"{state:22} {n}")


@outbox_group.command("list")
@_outbox_opt
@_config_opt
@click.option("--state", "states", multiple=True,
              help="only these states (repeatable), e.g. --state needs_reconciliation")
@click.option("--json", "as_json", is_flag=True)
def outbox_list(outbox_target: str | None, config_path: str | None, states: tuple[str, ...], as_json: bool) -> None:
    """One line per document: UUID, state, attempts, provider id/number, last error."""
    from ..outbox import State

    try:
        wanted = [State(s) for s in states] if states else None
    except ValueError:
        fail(f"--state: one of {', '.join(s.value for s in State)}")
    config = _load_config(config_path)
    outbox = _open_outbox(_outbox_target(outbox_target, config))
    for e in outbox.entries(wanted):
        if as_json:
            click.echo(json.dumps({"uuid": e.uuid, "provider": e.provider, "state": e.state.value,
                                   "attempts": e.attempts, "invoice_id": e.invoice_id,
                                   "provider_id": e.provider_id, "invoice_number": e.invoice_number,
                                   "error_code": e.error_code, "message": e.message}, ensure_ascii=False))
        else:
            click.echo("\t".join([e.uuid, e.provider, e.state.value, str(e.attempts), e.invoice_number or "-",
                                  e.error_code or "-", (e.message or "-")[:120]]))


@outbox_group.command("resume")
@_outbox_opt
@_config_opt
@click.option("--provider", "provider", help="only this provider (default: all in the outbox)")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--max-attempts", default=8, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True)
def outbox_resume(outbox_target: str | None, config_path: str | None, provider: str | None, workers: int,
                  max_attempts: int, as_json: bool) -> None:
    """Drive every unfinished document to a final state (asks for status before any resend)."""
    config = _load_config(config_path)
    outbox = _open_outbox(_outbox_target(outbox_target, config))
    names = [provider] if provider else outbox.providers()
    stopped = None
    for name in names:
        _provider_name(name, {})
        summary = _run(outbox, name, config, workers, max_attempts)
        stopped = stopped or summary.stopped
    sys.exit(_report(outbox.counts(), as_json, stopped))


@outbox_group.command("resolve")
@_outbox_opt
@_config_opt
@click.argument("uuid")
@click.argument("state", type=click.Choice(["accepted", "rejected", "queued"]))
@click.option("--note", required=True, help="what you checked (kept in the journal)")
def outbox_resolve(outbox_target: str | None, config_path: str | None, uuid: str, state: str, note: str) -> None:
    """Settle a document by hand after checking the provider (e.g. a needs_reconciliation one)."""
    from ..outbox import OutboxError, State

    config = _load_config(config_path)
    outbox = _open_outbox(_outbox_target(outbox_target, config))
    try:
        outbox.resolve(uuid, State(state), note)
    except OutboxError as exc:
        fail(str(exc))
    click.echo(f"{uuid}: {state}")


# ---------------------------------------------------------------------- fake provider

@click.command("fake-provider")
@click.argument("name")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port")
@click.option("--fail-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--hold", default=0.35, show_default=True, type=click.FloatRange(0, 600),
              help="seconds a 'timeout'/'late' fault holds the connection")
@click.option("--faults", "weights", help='fault mix as JSON, e.g. {"503":1,"lost":1}')
@click.option("--schedule", "schedule_path", help="JSON list of faults for the first requests ('ok' = none)")
@click.option("--validator", type=click.Choice(["auto", "basic", "real"]), default="auto", show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="log every request")
def fake_provider(name: str, port: int, fail_rate: float, seed: int, hold: float, weights: str | None,
                  schedule_path: str | None, validator: str, verbose: bool) -> None:
    """Run provider NAME's fake on 127.0.0.1 (credentials: the provider's test defaults,
    or UBLTR_FAKE_<KEY> environment variables, e.g. UBLTR_FAKE_API_KEY)."""
    from ..transport import registry
    from ..transport.fake.server import default_validator, serve

    if name not in registry.PROVIDERS:
        fail(f"unknown provider {name!r}; known: {', '.join(sorted(registry.PROVIDERS))}")
    try:
        handler = registry.fake_class(name)
    except (ImportError, AttributeError):
        fail(f"provider {name!r} has no fake yet")
    mix = None
    if weights:
        try:
            mix = {str(k): float(v) for k, v in json.loads(weights).items()}
        except (ValueError, AttributeError, TypeError):
            fail('--faults: a JSON object of weights, e.g. {"503": 1, "lost": 2}')
    schedule: list[str] = []
    if schedule_path:
        try:
            schedule = [str(x) for x in json.loads(read_input(schedule_path))]
        except (ValueError, TypeError):
            fail(f"{schedule_path}: a JSON list of fault names")
    creds = {k[len("UBLTR_FAKE_"):].lower(): v for k, v in os.environ.items() if k.startswith("UBLTR_FAKE_")}
    try:
        check = default_validator(validator, provider=name)
    except RuntimeError as exc:
        fail(f"--validator: {exc}")

    def ready(srv) -> None:  # type: ignore[no-untyped-def]
        click.echo(f"{name} fake listening on {srv.url} (fail rate {fail_rate}, seed {seed})", err=True)

    try:
        serve(handler, port=port, fail_rate=fail_rate, seed=seed, hold=hold, schedule=schedule, weights=mix,
              credentials=creds, validator=check, verbose=verbose, ready=ready)
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--port {port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass


COMMANDS = [send_cmd, outbox_group, fake_provider]
__all__ = ["COMMANDS", "EXIT_BAD_INPUT"]
