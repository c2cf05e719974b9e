"""``ubltr parse``: a UBL-TR invoice (XML) → the neutral JSON that ``ubltr build`` reads."""

from __future__ import annotations

import json

import click

from ..calc import CalcError
from ..model import to_dict
from ..parsing import ParseError, parse_each
from ..parsing import check_totals as _check_totals
from ._common import EXIT_BAD_INPUT, EXIT_INVALID, read_input, write_output
from ._despatch_json import despatch_json


@click.command("parse")
@click.argument("input", metavar="FILE.xml", default="-")
@click.option("-o", "--output", default="-", metavar="OUT.json", help="where to write the JSON (- for stdout)")
@click.option("--check-totals", is_flag=True,
              help="also compare the document's own totals with ubltr's (exit 1 when they are not reproduced)")
def parse_cmd(input: str, output: str, check_totals: bool) -> None:
    """Read a UBL-TR invoice (FILE.xml, - for stdin) into neutral JSON.

    An envelope (ZARF) gives a list: each invoice inside it with its position.  A
    despatch or receipt advice gives its neutral JSON ("document": "despatch" /
    "receipt").

    `ubltr build` of the JSON gives an invoice with the same amounts (when the loader
    accepts what the document says).  Exit 0 on success; exit 2 naming the element
    and its line when the document cannot be read; with --check-totals, exit 1 when
    ubltr does not reproduce the document's own totals (each difference on stderr).
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
    except ParseError as exc:
        click.echo(f"{label}: {exc}", err=True)
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


COMMANDS = [parse_cmd]
