"""``ubltr validate`` and ``ubltr explain``: thin wrappers over :mod:`ubltr.validation`."""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterator
from xml.sax.saxutils import escape, quoteattr

import click

from ._common import EXIT_BAD_INPUT, EXIT_INVALID, EXIT_OK, fail

_SUFFIXES = {".xml"}


def _expand(inputs: tuple[str, ...]) -> Iterator[str]:
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.suffix.lower() in _SUFFIXES:
                    yield str(f)
        else:
            yield item


_OPTS: dict = {}


def _init_worker(opts: dict, parent: int | None = None) -> None:
    if parent is not None:
        from ubltr._process import die_with_parent

        die_with_parent(parent)  # a killed ``ubltr validate`` takes its workers with it
    _OPTS.update(opts)


def _one(path: str) -> dict:
    from ubltr.validation import validate

    if path == "-":
        from ubltr.validation import Finding, Report
        from ubltr.xmlsafe import TooLarge, read_limited

        try:  # size checked while reading: an oversize stream is never held whole
            data: bytes | str = read_limited(sys.stdin.buffer, what="stdin")
        except TooLarge as exc:
            return Report(name="<stdin>", readable=False, layers=("xml",), findings=(Finding(
                rule="xml:limits", severity="error", source="xml", message=str(exc), refused_by=("gib",)),)).to_dict()
        return _with_positions(validate(data, name="<stdin>", **_OPTS).to_dict(), data)
    return _with_positions(validate(path, **_OPTS).to_dict(), path)


def _with_positions(r: dict, source: bytes | str) -> dict:
    """An envelope's report gains ``positions``: each document inside it by position
    (0 = the envelope itself) with the findings that fall in it (ubltr.envelope)."""
    if r.get("document") == "Envelope" and r.get("readable"):
        from ubltr.envelope import EnvelopeError, position_reports

        try:
            r["positions"] = position_reports(source, r["findings"])
        except EnvelopeError:
            pass  # the envelope's own findings already say what is wrong with it
    return r


def _junit(results: list[dict]) -> str:
    failures = sum(1 for r in results if not r["valid"])
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="ubltr validate" tests="{len(results)}" failures="{failures}">']
    rules: dict[str, str] = next((r["rules"] for r in results if r.get("rules")), {})
    if rules:  # which rules judged these documents (GİB release and edition, XSD package, ubltr's rules)
        out.append("  <properties>")
        out += [f"    <property name={quoteattr(f'rules.{k}')} value={quoteattr(v)}/>" for k, v in rules.items()]
        out.append("  </properties>")
    for r in results:
        out.append(f"  <testcase classname=\"ubltr.validate\" name={quoteattr(r['name'])}>")
        errors = [f for f in r["findings"] if f["severity"] == "error"]
        if errors:
            body = "\n".join(
                f"{f['rule']} line {f.get('line', '?')}: {f['message']}" for f in errors
            )
            out.append(f"    <failure message={quoteattr(f'{len(errors)} errors')}>{escape(body)}</failure>")
        out.append("  </testcase>")
    out.append("</testsuite>")
    return "\n".join(out) + "\n"


def _text_report(r: dict, provider: str | None) -> str:
    verdict = "valid" if r["valid"] else ("unreadable" if not r["readable"] else "INVALID")
    kind = " / ".join(x for x in (r["document"], r["profile"], r["type_code"], r["schematron_type"]) if x)
    lines = [f"{r['name']}: {verdict} ({r['errors']} errors, {r['warnings']} warnings)" + (f" [{kind}]" if kind else "")]
    for f in r["findings"]:
        where = f" line {f['line']}" if f.get("line") else ""
        rid = f["rule"] if ":" in f["rule"] else f"{f['source']}:{f['rule']}"
        lines.append(f"  {f['severity'].upper():7} {rid}{where}: {f['message']}")
        if f.get("gib_message") and f["gib_message"] != f["message"]:
            lines.append(f"          GİB: {f['gib_message']}")
        if f.get("fix"):
            lines.append(f"          fix: {f['fix']}")
        if f["severity"] != "info" and "refused_by" in f:
            lines.append(f"          {_who_refuses(f)}")
        code = (f.get("provider_codes") or {}).get(provider or "")
        if code:
            lines.append(f"          {provider} answers: {code}")
    for p in r.get("positions", ()):
        if p["position"]:
            what = " ".join(x for x in (p["root"], p["id"]) if x)
            lines.append(f"  #{p['position']} {what} (line {p['line']}, {p['kind']}): "
                         f"{'valid' if p['valid'] else 'INVALID'} ({p['errors']} errors, {p['warnings']} warnings)")
    if r.get("rules"):
        from ubltr.validation.report import rules_line

        lines.append("  " + rules_line(r["rules"]))
    return "\n".join(lines)


def _who_refuses(f: dict) -> str:
    from ubltr.validation import Finding

    return Finding(rule=f["rule"], severity=f["severity"], source=f["source"], message="",
                   provider_codes=tuple((f.get("provider_codes") or {}).items()),
                   refused_by=tuple(f.get("refused_by") or ())).who_refuses()


@click.command("validate")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True)
@click.option("--earchive", "stype", flag_value="earchive", help="run GİB's rules with type=earchive")
@click.option("--efatura", "stype", flag_value="efatura", help="run GİB's rules with type=efatura")
@click.option("--provider", default=None, help="this provider's verdict: its extra rules, and the ubltr rules it refuses as errors "
                   "(default: those any provider refuses)")
@click.option("--strict", is_flag=True, help="every ubltr rule (arithmetic, checksums, the seal's VKN) counts as an error")
@click.option("--gib-only", "gib_only", is_flag=True,
              help="exactly GİB's verdict (XML + XSD + GİB schematron); ubltr's findings are warnings")
@click.option("--workers", type=int, default=0, help="parallel processes for many files (default: CPUs)")
@click.option("--quiet", "-q", is_flag=True, help="no progress bar")
def validate_cmd(inputs: tuple[str, ...], fmt: str, stype: str | None, provider: str | None,
                 strict: bool, gib_only: bool, workers: int, quiet: bool) -> None:
    """Validate UBL-TR XML files or directories, as GİB and the providers would.

    By default an error is what GİB or a provider refuses (e.g. a wrong PayableAmount);
    --gib-only gives GİB's verdict alone, --strict makes every ubltr rule an error.

    Exit status: 0 all valid, 1 any invalid, 2 unreadable input or bad usage."""
    from ubltr.validation import known_providers, warm_up

    if strict and gib_only:
        fail("--strict and --gib-only exclude each other")
    if provider and provider.lower() not in known_providers():
        fail(f"--provider: unknown provider {provider!r} (known: {', '.join(known_providers())})")
    paths = list(_expand(inputs))
    missing = [p for p in paths if p != "-" and not Path(p).is_file()]
    if missing:
        fail(f"{missing[0]}: no such file")
    if not paths:
        fail("no .xml files found in the given directories")
    opts = {"schematron_type": stype, "provider": provider.lower() if provider else None, "strict": strict, "gib_only": gib_only}
    warm_up()
    _init_worker(opts)
    n_workers = workers or (os.cpu_count() or 1)
    results: list[dict] = []
    many = len(paths) > 1
    show_bar = many and not quiet and sys.stderr.isatty()
    if len(paths) >= 8 and n_workers > 1:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        with ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(opts, os.getpid())) as pool:
            iterator = pool.map(_one, paths, chunksize=max(1, min(64, len(paths) // (n_workers * 4) or 1)))
            results = _collect(iterator, len(paths), show_bar)
    else:
        results = _collect(map(_one, paths), len(paths), show_bar)

    if fmt == "json":
        click.echo(json_report(results), nl=False)
    elif fmt == "junit":
        click.echo(junit_report(results), nl=False)
    else:
        for r in results:
            click.echo(_text_report(r, provider.lower() if provider else None))
        if many:
            s = _summary(results)
            click.echo(f"\n{s['documents']} documents: {s['valid']} valid, {s['invalid']} invalid, {s['unreadable']} unreadable")
            for rule, count in s["rules"].items():
                click.echo(f"  {count:6}  {rule}")
    if any(not r["readable"] for r in results):
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(EXIT_OK if all(r["valid"] for r in results) else EXIT_INVALID)


def _collect(iterator: Iterator[dict], total: int, show_bar: bool) -> list[dict]:
    if not show_bar:
        return list(iterator)
    out = []
    with click.progressbar(length=total, label="validating", file=sys.stderr) as bar:
        for r in iterator:
            out.append(r)
            bar.update(1)
    return out


def _summary(results: list[dict]) -> dict:
    rules: Counter[str] = Counter()
    for r in results:
        for f in r["findings"]:
            rid = f["rule"] if ":" in f["rule"] else f"{f['source']}:{f['rule']}"
            rules[f"{f['severity']} {rid}"] += 1
    return {
        "documents": len(results),
        "valid": sum(1 for r in results if r["valid"]),
        "invalid": sum(1 for r in results if r["readable"] and not r["valid"]),
        "unreadable": sum(1 for r in results if not r["readable"]),
        "rules": dict(rules.most_common()),
    }


@click.command("explain")
@click.argument("rule")
def explain_cmd(rule: str) -> None:
    """Print a rule's text, its fix and what each provider answers."""
    from ubltr.validation.engine import explain

    info = explain(rule)
    if info is None:
        fail(f"{rule}: no such rule (GİB rule ids look like InvoiceIDCheck-1; ubltr's start with UBLTR-)")
    click.echo(f"{info['rule']} ({info['source']})")
    for ctx in info["contexts"]:
        click.echo(f"  context: {ctx}")
    for test in info["tests"]:
        click.echo(f"  test:    {test}")
    if info.get("gib_message"):
        click.echo(f"  GİB:     {info['gib_message']}")
    if info.get("en"):
        click.echo(f"  means:   {info['en']}")
    if info.get("fix"):
        click.echo(f"  fix:     {info['fix']}")
    for provider, code in info["provider_codes"]:
        click.echo(f"  {provider}: {code}")


# shared with ``ubltr serve`` (ubltr/serve): the same report, byte for byte


def report_dict(source: bytes | str, *, name: str | None = None, **opts: object) -> dict:
    """One document's report as ``--format json`` prints it (bytes or a path; ``opts``
    as :func:`ubltr.validation.validate` takes them), like ``_one``."""
    from ubltr.validation import validate

    return _with_positions(validate(source, name=name, **opts).to_dict(), source)  # type: ignore[arg-type]


def json_report(results: list[dict]) -> str:
    """The exact text ``ubltr validate --format json`` writes for ``results``."""
    payload = results[0] if len(results) == 1 else {"documents": results, "summary": _summary(results)}
    return json.dumps(payload, ensure_ascii=False, indent=1) + "\n"


def junit_report(results: list[dict]) -> str:
    """The exact text ``ubltr validate --format junit`` writes for ``results``."""
    return _junit(results)


COMMANDS = [validate_cmd, explain_cmd]
