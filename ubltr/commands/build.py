"""``ubltr build`` and ``ubltr totals``: neutral JSON → UBL-TR XML / computed totals."""

from __future__ import annotations

import json

import click

from .. import xmlsafe
from ..calc import CalcError, compute
from ..despatch import document_kind, load_document
from ..despatch_build import build_document
from ..model import InvoiceInputError, load, parse_json
from ..render import build as build_xml
from ._common import EXIT_BAD_INPUT, fail, read_input, write_output


def _load(path: str):
    data = read_input(path)
    try:
        parsed = parse_json(data)
        if document_kind(parsed) != "invoice":
            fail(f"{path}: a {document_kind(parsed)} has no totals (only invoices carry amounts)")
        inv = load(parsed)
        return inv, compute(inv.with_identity(id=inv.id or "XXX0000000000000"))
    except (InvoiceInputError, CalcError) as exc:
        _report(path, exc)


def _report(path: str, exc: InvoiceInputError | CalcError, kind: str = "invoice"):
    label = "<stdin>" if path == "-" else path
    problems = (
        [str(p) for p in exc.problems]
        if isinstance(exc, InvoiceInputError)
        else [f"{p}: {m}" for p, m in exc.problems]
    )
    click.echo(f"{label}: {len(problems)} error(s) in the {kind}", err=True)
    for p in problems:
        click.echo(p, err=True)
    raise SystemExit(EXIT_BAD_INPUT)


@click.command("build")
@click.argument("input", metavar="IN.json", default="-")
@click.option("-o", "--output", default="-", metavar="OUT.xml", help="where to write the XML (- for stdout)")
@click.option("--number", type=click.IntRange(1, 999_999_999), default=None,
              help="sequence number for an invoice that gives `series` instead of `id`")
def build_cmd(input: str, output: str, number: int | None) -> None:
    """Build the UBL-TR 1.2 XML of a neutral invoice (IN.json, - for stdin).

    A JSON with "document": "despatch" or "receipt" builds an e-İrsaliye
    DespatchAdvice or ReceiptAdvice instead.

    Exit 0 on success; exit 2 with every input error on stderr as PATH: message.
    """
    data = read_input(input)
    kind = "invoice"
    try:
        parsed = parse_json(data)
        kind = document_kind(parsed)
        if kind != "invoice":  # e-İrsaliye: "document": "despatch" / "receipt"
            if number:
                fail(f"--number applies to invoices; a {kind} carries its own id")
            write_output(output, build_document(load_document(parsed)))
            return
        xml = build_xml(load(parsed), sequence=(lambda series, year: number) if number else None)
    except (InvoiceInputError, CalcError) as exc:
        _report(input, exc, kind)
    if len(xml) > xmlsafe.MAX_BYTES:  # never write what validate, sign and verify would refuse
        click.echo(f"{'<stdin>' if input == '-' else input}: the XML would be {len(xml)} bytes; ubltr's limit "
                   f"for one document is {xmlsafe.MAX_BYTES} (split the invoice)", err=True)
        raise SystemExit(EXIT_BAD_INPUT)
    write_output(output, xml)


@click.command("totals")
@click.argument("input", metavar="IN.json", default="-")
def totals_cmd(input: str) -> None:
    """Print the computed totals and tax subtotals of a neutral invoice as JSON."""
    _, totals = _load(input)
    click.echo(json.dumps(totals.as_dict(), ensure_ascii=False, indent=2))


COMMANDS = [build_cmd, totals_cmd]
