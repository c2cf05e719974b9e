"""``ubltr parse``: a UBL-TR invoice (XML) → the neutral JSON that ``ubltr build`` reads."""

from __future__ import annotations

import json

import click

from ..calc import CalcError
from ..model import to_dict
from ..parsing import ParseError, parse_each, unread
from ..parsing import check_totals as _check_totals
from ._common import EXIT_BAD_INPUT, EXIT_INVALID, read_input, write_output
from ._despatch_json import despatch_json


@click.command("parse")
@click.argument("input", metavar="FILE.xml", default="-")
@click.option("-o", "--output", default="-", metavar="OUT.json", help="where to write the JSON (- for stdout)")
@click.option("--check-totals", is_flag=True,
              help="also compare the document's own totals with ubltr's (exit 1 when they are not reproduced)")
@click.option("--strict", is_flag=True,
              help="exit 2 when the document has elements the model does not hold (listed on stderr), "
                   "writing nothing")
def parse_cmd(input: str, output: str, check_totals: bool, strict: bool) -> None:
    """Read a UBL-TR invoice (FILE.xml, - for stdin) into neutral JSON.

    An envelope (ZARF) gives a list: each invoice inside it with its position.  A
    despatch or receipt advice gives its neutral JSON ("document": "despatch" /
    "receipt").

    `ubltr build` of the JSON gives an invoice with the same amounts (when the loader
    accepts what the document says).  Exit 0 on success; exit 2 naming the element
    and its line when the document cannot be read; with --check-totals, exit 1 when
    ubltr does not reproduce the document's own totals (each difference on stderr).

    Elements of the document that the model does not hold are listed on stderr as
    warnings ("not read: PATH 'TEXT'" with their line); with --strict they are an error
    (exit 2, nothing written).
    """
    label = "<stdin>" if input == "-" else input
    data = read_input(input)
    try:
        desp = despatch_json(data)  # e-İrsaliye: DespatchAdvice / ReceiptAdvice by the root
        if desp is not None:
            if check_totals:
                click.echo(f"{label}: --check-totals applies to invoices", err=True)
                raise SystemExit(EXIT_BAD_INPUT)
            write_output(output, (json.dumps(desp, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))
            return
        each = parse_each(data)
        left = _unread_each(data, each)
    except ParseError as exc:
        click.echo(f"{label}: {exc}", err=True)
        raise SystemExit(EXIT_BAD_INPUT)
    for pos, u in left:
        where = f" (document #{pos})" if pos else ""
        click.echo(f"{label}:{u.line or '?'}: {'error' if strict else 'warning'}: not read{where}: "
                   f"{u.path} '{u.text}' (the model has no place for it)", err=True)
    if strict and left:
        click.echo(f"{label}: {len(left)} element(s) not read; nothing written (--strict)", err=True)
        raise SystemExit(EXIT_BAD_INPUT)
    if len(each) == 1 and each[0][0] == 0:
        out: object = to_dict(each[0][1])
    else:  # an envelope: every invoice inside it, by position
        out = [{"position": pos, "invoice": to_dict(inv)} for pos, inv in each]
    text = json.dumps(out, ensure_ascii=False, indent=1) + "\n"
    write_output(output, text.encode("utf-8"))
    if not check_totals:
        return
    if len(each) != 1 or each[0][0] != 0:
        click.echo(f"{label}: --check-totals reads one invoice, not an envelope", err=True)
        raise SystemExit(EXIT_BAD_INPUT)
    try:
        result = _check_totals(data)
    except (ParseError, CalcError) as exc:
        click.echo(f"{label}: totals cannot be computed: {exc}", err=True)
        raise SystemExit(EXIT_INVALID)
    conventions = f" (conventions: {', '.join(result.conventions)})" if result.conventions else ""
    click.echo(f"{label}: totals {result.verdict}, rounding per {result.policy}{conventions}", err=True)
    for d in result.differences:
        click.echo(f"  differs: {d}", err=True)
    for d in result.inconsistencies:
        click.echo(f"  the document's own numbers disagree: {d}", err=True)
    for path, value, line in result.unread:
        click.echo(f"  line {line}: {path} {value} is in no total ubltr reads (informational)", err=True)
    if result.verdict != "reproduced":
        raise SystemExit(EXIT_INVALID)


def _unread_each(data: bytes, each: list) -> list:
    """(position, Unread) of every invoice ``parse_each`` read from ``data``."""
    if len(each) == 1 and each[0][0] == 0:
        return [(0, u) for u in unread(data)]
    from ..envelope import documents

    return [(pos, u) for pos, kind, el in documents(data) if kind == "invoice" for u in unread(el)]


COMMANDS = [parse_cmd]
