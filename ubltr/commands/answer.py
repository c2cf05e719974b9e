"""``ubltr answer``: an application response (KABUL / RED / IADE) to a TICARIFATURA."""

from __future__ import annotations

import datetime as _dt

import click

from ._common import EXIT_BAD_INPUT, EXIT_INVALID, fail, read_input, write_output


@click.command("answer")
@click.argument("input", metavar="INVOICE.xml|ANSWER.json")
@click.option("--accept", "accept", is_flag=True, help="KABUL: accept the invoice")
@click.option("--reject", "reject", metavar="REASON", default=None, help="RED: reject it, with the reason")
@click.option("--return", "return_", metavar="REASON", default=None, help="IADE: return it, with the reason")
@click.option("--note", "notes", multiple=True, help="a note (cbc:Note); repeatable")
@click.option("--received", "received", default=None, metavar="YYYY-MM-DD",
              help="the day the invoice reached you (the 8 days run from it; default: its issue date)")
@click.option("--store", "store", default=None, metavar="DB",
              help="the inbox/outbox database: refuse an invoice already answered there, record this answer")
@click.option("-o", "--output", default="-", metavar="OUT.xml", help="where to write the XML (- for stdout)")
def answer_cmd(input: str, accept: bool, reject: str | None, return_: str | None, notes: tuple[str, ...],
               received: str | None, store: str | None, output: str) -> None:
    """Build the application response (uygulama yanıtı) to an invoice.

    INPUT is the invoice's XML (with --accept, --reject REASON or --return REASON) or a
    neutral answer JSON (see README, "Answers and the inbox").  The answer is unsigned:
    seal it with `ubltr sign`.  Refused, with exit 1: a TEMELFATURA (GİB allows answers to
    TICARIFATURA only), an answer after the 8-day period, a second answer (with --store).

    \b
    Examples:
      ubltr answer fatura.xml --accept -o kabul.xml
      ubltr answer fatura.xml --reject "Fiyat sözleşmeye uymuyor" --received 2026-12-01 -o red.xml
      ubltr answer answer.json -o answer.xml
    """
    from .. import answer as ans

    data = read_input(input)
    chosen = [c for c, on in (("KABUL", accept), ("RED", reject is not None), ("IADE", return_ is not None)) if on]
    is_json = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[")
    label = "<stdin>" if input == "-" else input
    try:
        if is_json:
            if chosen or notes or received:
                fail(f"{label}: a JSON answer carries its response, notes and received_date itself; "
                     "--accept/--reject/--return/--note/--received are for an invoice XML")
            answer = ans.load(data)
        else:
            if len(chosen) != 1:
                fail("give exactly one of --accept, --reject REASON, --return REASON")
            rec = None
            if received is not None:
                try:
                    rec = _dt.date.fromisoformat(received)
                except ValueError:
                    fail(f"--received: {received!r} is not a date (YYYY-MM-DD)")
            answer = ans.from_invoice(data, chosen[0], reason=reject if reject is not None else return_,
                                      notes=notes, received_date=rec)
    except ans.AnswerInputError as exc:
        click.echo(f"{label}: {len(exc.problems)} error(s) in the answer", err=True)
        for p in exc.problems:
            click.echo(str(p), err=True)
        raise SystemExit(EXIT_BAD_INPUT)
    except ans.AnswerReadError as exc:
        fail(f"{label}: {exc}")
    except ans.AnswerRefused as exc:
        fail(f"{label}: refused: {exc}", EXIT_INVALID)
    xml = ans.build(answer)
    if store:
        from ..inbox import AlreadyAnswered, Inbox

        try:
            with Inbox(store) as inbox:
                inbox.record_answer(answer, xml)
        except AlreadyAnswered as exc:
            fail(f"{label}: refused: {exc}", EXIT_INVALID)
    write_output(output, xml)


COMMANDS = [answer_cmd]
