"""Verdicts on invoices other software wrote: does ``compute(parse(x))`` give the
document's own totals, and if not, why (issue #11's acceptance measure).

:func:`verdicts` reads one file (a bare invoice, or an envelope with several) and
gives one :class:`Verdict` per invoice:

- ``"reproduced"``: every total the document states is ubltr's;
- ``"inconsistent"``: the document's own numbers disagree with each other (the
  amounts are named);
- ``"unsupported"``: refused for a reason the README lists as unsupported;
- ``"refused"``: a :class:`~ubltr.parsing.ParseError` / :class:`~ubltr.calc.CalcError`
  whose reason is not listed as unsupported (a finding: ubltr's or the document's);
- ``"differs"``: the document is consistent and ubltr computes otherwise: off
  without a finding;
- ``"crash"``: any other exception (always ubltr's bug).

``bench/read_corpus.py`` runs it over directories; ``tests/test_read_corpus.py`` over
the invoices at hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from . import xmlsafe
from .calc import CalcError
from .model import InvoiceInputError
from .parsing import NS, ParseError, check_totals, parse_each

__all__ = ["Verdict", "verdicts", "UNSUPPORTED", "KINDS"]

#: refusals the README lists as unsupported (a phrase of each message)
UNSUPPORTED = ("HKS komisyoncu deductions", "BaseQuantity", "prepaid amounts are not supported",
               "which one applies to the line is not stated", "withholds at several rates",
               "appears twice on this line", "a second withholding")

#: every verdict kind, in the order a report lists them
KINDS = ("reproduced", "inconsistent", "unsupported", "refused", "differs", "crash")

_INVOICE = "{%s}Invoice" % NS["inv"]


@dataclass(frozen=True)
class Verdict:
    """One invoice's verdict: ``name`` is the file, with ``#n`` for the n-th invoice
    in it; ``reason`` one line (the policy for a reproduced one)."""

    name: str
    kind: str
    reason: str = ""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def verdicts(path: Path, name: str | None = None) -> list[Verdict]:
    """The verdict on each invoice in the file ``path`` (an envelope's invoices each
    get their own).  A file that is not XML is one ``"refused"`` verdict."""
    name = name or str(path)
    try:
        root = xmlsafe.fromstring(path.read_bytes())
    except xmlsafe.UnsafeXML as exc:
        return [Verdict(name, "refused", _one_line(f"not readable XML: {exc}"))]
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        return [Verdict(name, "crash", _one_line(f"{type(exc).__name__}: {exc}"))]
    try:
        parse_each(root)  # an envelope's own errors (and a root that is no invoice) surface here
    except (ParseError, CalcError, InvoiceInputError) as exc:
        return [_refusal(name, exc)]
    except Exception as exc:  # noqa: BLE001
        return [Verdict(name, "crash", _one_line(f"{type(exc).__name__}: {exc}"))]
    elements = [root] if root.tag == _INVOICE else list(root.iter(_INVOICE))
    out = []
    for i, el in enumerate(elements):
        label = name if len(elements) == 1 else f"{name}#{i + 1}"
        out.append(_verdict(label, el))
    return out


def _refusal(name: str, exc: Exception) -> Verdict:
    text = _one_line(str(exc))
    kind = "unsupported" if any(p in text for p in UNSUPPORTED) else "refused"
    return Verdict(name, kind, f"{type(exc).__name__}: {text}")


def _verdict(name: str, el: etree._Element) -> Verdict:
    try:
        r = check_totals(el)
    except (ParseError, CalcError, InvoiceInputError) as exc:
        return _refusal(name, exc)
    except Exception as exc:  # noqa: BLE001
        return Verdict(name, "crash", _one_line(f"{type(exc).__name__}: {exc}"))
    if r.verdict == "reproduced":
        return Verdict(name, "reproduced", f"rounding per {r.policy}")
    if r.verdict == "inconsistent":
        return Verdict(name, "inconsistent", _one_line("; ".join(str(d) for d in r.inconsistencies)))
    return Verdict(name, "differs", _one_line("; ".join(str(d) for d in r.differences)))
