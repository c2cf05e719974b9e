"""``ubltr send``, ``ubltr outbox status|list|resume|resolve`` and ``ubltr fake-provider``.

Configuration is a JSON or TOML file with flat keys for the provider (``base_url``,
``timeout``, ``alias`` ...), optionally a ``[<provider>]`` section, ``provider`` and
``outbox``; credentials come from ``UBLTR_<PROVIDER>_<KEY>`` environment variables
(or the file, for local fakes) and are never printed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
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

    from ..outbox import redact, scrub

    try:
        return Outbox(target)
    except OutboxError as exc:
        fail(scrub(str(exc), target))
    except Exception as exc:  # sqlite3/psycopg/OS errors: one clear line, no traceback, no password
        first = (str(exc).splitlines() or [""])[0]
        fail(scrub(f"outbox {redact(target)}: cannot open ({type(exc).__name__}: {first})", target))


def _clean_errors(fn):  # type: ignore[no-untyped-def]
    """Outbox errors (corrupt or locked database, misuse) end the command with one line, exit 2."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ..outbox import OutboxError

        try:
            return fn(*args, **kwargs)
        except OutboxError as exc:
            fail(str(exc))
    return wrapper


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


def _refuse_despatch(path: str, data: bytes) -> None:
    """No transport ubltr has sends e-İrsaliye (README, e-İrsaliye): a despatch or receipt
    advice must not reach an invoice endpoint."""
    kind = "invoice"
    if path.endswith(".json"):
        from ..despatch import document_kind
        from ..model import parse_json

        try:
            kind = document_kind(parse_json(data))
        except ValueError:
            return  # the invoice path reports unreadable JSON
    else:
        from lxml import etree

        from .. import xmlsafe

        try:
            local = etree.QName(xmlsafe.fromstring(data)).localname
        except (xmlsafe.UnsafeXML, ValueError):
            return  # Document.from_xml reports it
        kind = {"DespatchAdvice": "despatch", "ReceiptAdvice": "receipt"}.get(local, "invoice")
    if kind != "invoice":
        raise ValueError(f"a {kind} advice (e-İrsaliye) cannot be sent: none of ubltr's transports "
                         "sends despatches or receipts (see the README's e-İrsaliye section)")


def _document(path: str, data: bytes, alias: str | None, resolver: Any = None):  # type: ignore[no-untyped-def]
    """A Document from UBL-TR XML (with its neutral form, for JSON-API providers) or from
    neutral JSON (built to UBL-TR with ``ubltr.render``).  ``resolver(neutral) ->
    (neutral, alias)`` settles ``"profile": "auto"`` through the provider's lookup."""
    from ..transport.base import Document

    _refuse_despatch(path, data)
    if path.endswith(".json"):
        from .. import model
        from .. import render

        try:
            raw = model.parse_json(data)
            if isinstance(raw, dict) and raw.get("profile") == "auto":
                if resolver is None:
                    raise ValueError("profile 'auto' needs a provider with a taxpayer lookup (ubltr send)")
                raw, found_alias = resolver(raw)
                alias = alias or found_alias
            inv = model.load(raw)
        except model.InvoiceInputError as exc:
            raise ValueError("; ".join(f"{p.path or '(root)'}: {p.message}" for p in exc.problems)) from None
        xml = render.build(inv)
        neutral: dict[str, Any] | None = model.to_dict(render.assign_identity(inv))
        return Document.from_xml(xml, receiver_alias=alias, neutral=neutral)
    doc = Document.from_xml(data, receiver_alias=alias)
    from .. import model
    from ..parsing import ParseError
    from ..parsing import parse as parse_invoice

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
         uuids: list[str] | None = None, reissue_signed: bool = False):
    from ..outbox import Sender

    from ..outbox import OutboxError

    client = _make_client(name, config)
    client.reissue_signed = reissue_signed  # providers that issue their own invoice from fields
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

_reissue_opt = click.option(
    "--reissue-signed", "reissue_signed", is_flag=True,
    help="let a provider that issues its own invoice from fields (bizimhesap, logo) take a signed "
         "document: the signature cannot travel with it, so this is refused unless given")



@click.command("send")
@click.option("--provider", "provider", help="provider name (see https://github.com/ubltr/ubltr/blob/main/docs/transport.md)")
@click.option("--config", "config_path", type=str, help="JSON or TOML configuration file")
@click.option("--outbox", "outbox_target", help=f"SQLite file or postgresql:// DSN (default {DEFAULT_OUTBOX})")
@click.option("--alias", help="receiver alias (e-Fatura posta kutusu) for every document")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64))
@click.option("--max-attempts", default=8, show_default=True, type=click.IntRange(1, 100))
@click.option("--json", "as_json", is_flag=True, help="print the state counts as JSON")
@_reissue_opt
@click.argument("inputs", nargs=-1, required=True)
@_clean_errors
def send_cmd(provider: str | None, config_path: str | None, outbox_target: str | None, alias: str | None,
             workers: int, max_attempts: int, as_json: bool, reissue_signed: bool, inputs: tuple[str, ...]) -> None:
    """Send documents (UBL-TR *.xml or neutral *.json files, or directories of *.xml)
    through the outbox, exactly once.

    Each document is journaled before it is sent; re-running the command with the
    same inputs sends nothing twice.
    """
    from ..outbox import OutboxError

    config = _load_config(config_path)
    name = _provider_name(provider, config)
    docs = []
    resolver = _auto_profile_resolver(name, config)
    for path in _expand(inputs):
        try:
            docs.append(_document(path, read_input(path), alias or config.get("alias"), resolver))
        except ValueError as exc:
            fail(f"{path}: {exc}")
    _say_unmappable(name, docs, [p for p in _expand(inputs)])
    outbox = _open_outbox(_outbox_target(outbox_target, config))
    try:
        added, present = outbox.add(docs, name)
    except OutboxError as exc:
        fail(str(exc))
    if present and not as_json:
        click.echo(f"{present} document(s) already in the outbox: not queued again", err=True)
    summary = _run(outbox, name, config, workers, max_attempts, [d.uuid for d in docs], reissue_signed)
    counts: dict[str, int] = {}
    for d in docs:
        e = outbox.get(d.uuid)
        if e is not None:
            counts[e.state.value] = counts.get(e.state.value, 0) + 1
            if e.state.value == "rejected" and (e.error_code or "").startswith("ubltr:"):
                # refused here, before any request: say why (the outbox keeps the same text)
                click.echo(f"{d.uuid}: not sent [{e.error_code}] {e.message}", err=True)
    sys.exit(_report(counts, as_json, summary.stopped))


def _auto_profile_resolver(name: str, config: dict[str, Any]):  # type: ignore[no-untyped-def]
    """``"profile": "auto"`` -> TEMELFATURA (config ``auto_efatura_profile``) or
    EARSIVFATURA by the provider's taxpayer lookup; the client is built on first use."""
    made: list[Any] = []

    def resolve(neutral: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        from ..transport import lookup
        from ..transport.base import ProviderError

        if not made:
            made.append(_make_client(name, config))
        try:
            out, who = lookup.resolve_profile(
                neutral, made[0], efatura_profile=str(_provider_config(config, name).get(
                    "auto_efatura_profile") or "TEMELFATURA"))
        except ProviderError as exc:
            raise ValueError(f"profile 'auto': {exc}") from None
        return out, (who.aliases[0] if who and who.registered and who.aliases else None)
    return resolve


def _say_unmappable(name: str, docs: list[Any], paths: list[str]) -> None:
    """Say, per file, what the provider cannot carry (the client refuses it before any
    request too; this names the file)."""
    from .. import model
    from ..transport import mapping

    note = mapping.table()[name].get("content_note")
    if note and docs:
        click.echo(f"note: {note}", err=True)
    for path, doc in zip(paths, docs):
        try:
            if doc.neutral is not None and mapping.table()[name].get("content") == "fields":
                problems = mapping.problems(name, model.load(doc.neutral))
            else:
                problems = []
                mapping.refuse_profile(name, doc.profile)
        except mapping.MappingError as exc:
            click.echo(f"{path}: {exc}", err=True)
            continue
        except ValueError:
            continue
        if problems:
            click.echo(f"{path}: {name} cannot carry: " + "; ".join(str(p) for p in problems), err=True)


# ---------------------------------------------------------------------- status, cancel, lookup

_provider_opt = click.option("--provider", "provider", help="provider name (default: 'provider' in the configuration)")


def _client_for(provider: str | None, config_path: str | None):  # type: ignore[no-untyped-def]
    config = _load_config(config_path)
    name = _provider_name(provider, config)
    return name, config, _make_client(name, config)


def _result_line(r: Any) -> str:
    parts = [r.uuid, r.outcome.value]
    if r.invoice_number:
        parts.append(f"number {r.invoice_number}")
    if r.error_code:
        parts.append(f"code {r.error_code}")
    if r.message:
        parts.append(str(r.message)[:200])
    return "\t".join(parts)


def _result_json(r: Any) -> str:
    return json.dumps({"uuid": r.uuid, "provider": r.provider, "outcome": r.outcome.value,
                       "invoice_number": r.invoice_number, "provider_id": r.provider_id,
                       "error_code": r.error_code, "message": r.message, "http_status": r.http_status},
                      ensure_ascii=False)


@click.command("status")
@_provider_opt
@click.option("--config", "config_path", type=str, help="JSON or TOML configuration file")
@click.option("--json", "as_json", is_flag=True, help="one JSON object per document")
@click.argument("uuids", nargs=-1, required=True)
def status_cmd(provider: str | None, config_path: str | None, as_json: bool, uuids: tuple[str, ...]) -> None:
    """Ask the provider where each document (by UUID) stands.

    Exit 0 when every document is accepted, pending or cancelled; 1 when any is
    rejected, unknown to the provider or the question went unanswered; 2 on bad input
    or a provider without a status lookup."""
    from ..transport.base import CONFIGURATION, Outcome, ProviderError

    name, _, client = _client_for(provider, config_path)
    if not client.supports_status:
        fail(f"{name}: no status lookup in its documents (see docs/transport-providers.md)")
    worst = EXIT_OK
    for uuid in uuids:
        try:
            r = client.status(uuid)
        except ProviderError as exc:
            fail(str(exc))
        if r.error_code == CONFIGURATION:
            fail(f"{name}: {r.message}")
        if r.outcome is Outcome.RETRYABLE and r.http_status is None:   # no answer came: not "not found"
            r = type(r)(Outcome.UNKNOWN, r.provider, r.uuid, error_code=r.error_code, message=r.message)
        if r.outcome is Outcome.RETRYABLE:   # a status RETRYABLE is the provider's "no such document"
            r = type(r)(r.outcome, r.provider, r.uuid, error_code=r.error_code or "NotFound",
                        message=r.message or "the provider has no document with this UUID", http_status=r.http_status)
        click.echo(_result_json(r) if as_json else _result_line(r).replace("\tretryable", "\tnot_found"))
        if r.outcome not in (Outcome.ACCEPTED, Outcome.PENDING, Outcome.CANCELLED):
            worst = EXIT_INVALID
    sys.exit(worst)


@click.command("cancel")
@_provider_opt
@click.option("--config", "config_path", type=str, help="JSON or TOML configuration file")
@click.option("--outbox", "outbox_target", help="record the cancellation in this outbox when the document is there")
@click.option("--json", "as_json", is_flag=True)
@click.argument("uuids", nargs=-1, required=True)
@_clean_errors
def cancel_cmd(provider: str | None, config_path: str | None, outbox_target: str | None, as_json: bool,
               uuids: tuple[str, ...]) -> None:
    """Cancel e-Arşiv invoices at the provider (e-Fatura is answered by its receiver, not cancelled).

    A cancelled document in the outbox moves to ``cancelled`` (its history is kept)."""
    from ..outbox import State
    from ..transport.base import Outcome, ProviderError, Unsupported

    name, config, client = _client_for(provider, config_path)
    outbox = _open_outbox(_outbox_target(outbox_target, config)) if (outbox_target or config.get("outbox")) else None
    worst = EXIT_OK
    for uuid in uuids:
        try:
            r = client.cancel(uuid)
        except Unsupported as exc:
            fail(f"{exc} (its documents define no cancel)")
        except ProviderError as exc:
            fail(str(exc))
        click.echo(_result_json(r) if as_json else _result_line(r))
        if r.outcome is Outcome.ACCEPTED:
            if outbox is not None and outbox.get(uuid) is not None:
                outbox.record(uuid, State.CANCELLED, r, event="cancelled", note="cancelled at the provider")
        else:
            worst = EXIT_INVALID
    sys.exit(worst)


@click.command("lookup")
@_provider_opt
@click.option("--config", "config_path", type=str, help="JSON or TOML configuration file")
@click.option("--json", "as_json", is_flag=True)
@click.argument("tax_ids", nargs=-1, required=True)
def lookup_cmd(provider: str | None, config_path: str | None, as_json: bool, tax_ids: tuple[str, ...]) -> None:
    """Is VKN/TCKN an e-Fatura user, and with which alias?  (What ``"profile": "auto"`` asks.)

    Exit 0 when every answer came; 1 when a question failed (auth, rate limit,
    provider unavailable); 2 on a malformed VKN/TCKN or a provider without a lookup."""
    from ..transport import lookup
    from ..transport.base import ConfigurationError, OperationFailed, Unsupported

    name, _, client = _client_for(provider, config_path)
    worst = EXIT_OK
    for tax_id in tax_ids:
        try:
            who = lookup.taxpayer(client, tax_id)
        except (ConfigurationError, Unsupported) as exc:
            fail(str(exc))
        except OperationFailed as exc:
            click.echo(f"{tax_id}: {exc}", err=True)
            worst = EXIT_INVALID
            continue
        if as_json:
            click.echo(json.dumps({"tax_id": who.tax_id, "efatura_user": who.registered, "aliases": list(who.aliases),
                                   "title": who.title, "profile": "TEMELFATURA/TICARIFATURA" if who.registered
                                   else "EARSIVFATURA"}, ensure_ascii=False))
        elif who.registered:
            click.echo(f"{who.tax_id}\te-Fatura user\t{', '.join(who.aliases) or '(alias not given)'}"
                       + (f"\t{who.title}" if who.title else ""))
        else:
            click.echo(f"{who.tax_id}\tnot an e-Fatura user (e-Arşiv)")
    sys.exit(worst)


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
@_clean_errors
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
@_clean_errors
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
@_reissue_opt
@_clean_errors
def outbox_resume(outbox_target: str | None, config_path: str | None, provider: str | None, workers: int,
                  max_attempts: int, as_json: bool, reissue_signed: bool) -> None:
    """Drive every unfinished document to a final state (asks for status before any resend)."""
    config = _load_config(config_path)
    outbox = _open_outbox(_outbox_target(outbox_target, config))
    names = [provider] if provider else outbox.providers()
    stopped = None
    for name in names:
        _provider_name(name, {})
        summary = _run(outbox, name, config, workers, max_attempts, reissue_signed=reissue_signed)
        stopped = stopped or summary.stopped
    sys.exit(_report(outbox.counts(), as_json, stopped))


@outbox_group.command("resolve")
@_outbox_opt
@_config_opt
@click.argument("uuid")
@click.argument("state", type=click.Choice(["accepted", "rejected", "queued"]))
@click.option("--note", required=True, help="what you checked (kept in the journal)")
@_clean_errors
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


@outbox_group.command("reconcile")
@_outbox_opt
@_config_opt
@click.argument("uuid", required=False)
@click.argument("decision", required=False, type=click.Choice(["delivered", "resend", "abandon"]))
@click.option("--note", help="what you checked (kept in the journal); required with a decision")
@click.option("--provider-id", help="with 'delivered': the provider's id of the document, as its portal shows it")
@click.option("--number", "invoice_number", help="with 'delivered': the invoice number the provider gave")
@click.option("--json", "as_json", is_flag=True, help="list as JSON lines")
@_clean_errors
def outbox_reconcile(outbox_target: str | None, config_path: str | None, uuid: str | None, decision: str | None,
                     note: str | None, provider_id: str | None, invoice_number: str | None, as_json: bool) -> None:
    """Settle documents whose outcome is unknown and cannot be asked (needs_reconciliation).

    Without arguments: each such document with what is known (attempts, the last
    answer, the journal).  With UUID DECISION --note: record the decision after
    checking the provider's portal: 'delivered' (it is there), 'resend' (it is not:
    the next 'ubltr outbox resume' sends it again; for a provider with a status
    lookup it is asked first, so its key keeps the resend exactly-once), 'abandon'.
    Nothing in the journal is removed."""
    from ..outbox import State
    from ..transport import registry

    config = _load_config(config_path)
    outbox = _open_outbox(_outbox_target(outbox_target, config))
    if uuid is None:
        entries = outbox.entries([State.NEEDS_RECONCILIATION])
        if not entries and not as_json:
            click.echo("nothing needs reconciliation")
        for e in entries:
            history = outbox.history(e.uuid)
            sends = sum(1 for h in history if h["event"] == "send")
            last = e.last_answer or {}
            if as_json:
                click.echo(json.dumps({"uuid": e.uuid, "provider": e.provider, "invoice_id": e.invoice_id,
                                       "attempts": e.attempts, "sends": sends, "last_answer": last,
                                       "journal": history}, ensure_ascii=False, default=str))
                continue
            click.echo(f"{e.uuid}  {e.provider}  invoice {e.invoice_id or '-'}  attempts {e.attempts}")
            click.echo(f"  last answer: {last.get('outcome', '-')}"
                       + (f", HTTP {last['http_status']}" if last.get("http_status") else "")
                       + (f", code {last['error_code']}" if last.get("error_code") else "")
                       + (f": {str(last.get('message'))[:200]}" if last.get("message") else ""))
            for h in history[-6:]:
                d = h["detail"] or {}
                click.echo(f"  {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(h['at']))}Z {h['event']}"
                           + (f" -> {d.get('state')}" if d.get("state") else "")
                           + (f" ({d.get('outcome')})" if d.get("outcome") else "")
                           + (f" {d.get('note')}" if d.get("note") else ""))
        if entries and not as_json:
            click.echo("decide with: ubltr outbox reconcile UUID delivered|resend|abandon --note 'what you checked'")
        return
    if decision is None:
        fail("give a decision: delivered, resend or abandon")
    if not note:
        fail("--note is required: say what you checked (it stays in the journal)")
    entry = outbox.get(uuid)
    if entry is None:
        fail(f"{uuid}: not in the outbox")
    try:
        supports_status = bool(registry.client_class(entry.provider).supports_status)
    except Exception:  # noqa: BLE001 - an unknown provider cannot be asked: queue it
        supports_status = False
    state = outbox.reconcile(uuid, decision, note, supports_status=supports_status, provider_id=provider_id,
                             invoice_number=invoice_number)
    click.echo(f"{uuid}: {decision} -> {state.value}")
    if decision == "resend":
        click.echo("run 'ubltr outbox resume' to send it", err=True)


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
@click.option("--state", "state", default=None,
              help="SQLite file holding what the fake accepted, kept across restarts "
                   "(default ubltr-fake-NAME.sqlite; ':memory:' keeps nothing)")
def fake_provider(name: str, port: int, fail_rate: float, seed: int, hold: float, weights: str | None,
                  schedule_path: str | None, validator: str, verbose: bool, state: str | None) -> None:
    """Run provider NAME's fake on 127.0.0.1 (credentials: the provider's test defaults,
    or UBLTR_FAKE_<KEY> environment variables, e.g. UBLTR_FAKE_API_KEY).

    What it accepts is kept in --state, so a fake that is killed and started again on
    the same file still knows every invoice it accepted."""
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

    state_file = None if state == ":memory:" else (state or f"ubltr-fake-{name}.sqlite")

    def ready(srv) -> None:  # type: ignore[no-untyped-def]
        kept = f", state {state_file}: {len(srv.ledger.records)} document(s)" if state_file else ", state in memory"
        click.echo(f"{name} fake listening on {srv.url} (fail rate {fail_rate}, seed {seed}{kept})", err=True)

    try:
        serve(handler, port=port, fail_rate=fail_rate, seed=seed, hold=hold, schedule=schedule, weights=mix,
              credentials=creds, validator=check, verbose=verbose, ready=ready, state=state_file)
    except ValueError as exc:
        fail(str(exc))
    except sqlite3.Error as exc:
        fail(f"--state {state_file}: cannot use it ({exc})")
    except OSError as exc:
        fail(f"--port {port}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        pass


COMMANDS = [send_cmd, outbox_group, fake_provider, status_cmd, cancel_cmd, lookup_cmd]
__all__ = ["COMMANDS", "EXIT_BAD_INPUT"]
