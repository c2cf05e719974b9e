"""Soundness of the loader against GİB: whatever `load` + `compute` accept, `build`
turns into a document GİB's XSD and schematron accept.  Valid generated invoices are
broken in one random way (a code swapped for another of GİB's codes, a key removed,
a rate changed, ...); each result is either refused with path-named errors or passes
GİB's rules (saxonche) — never silently invalid XML."""

from __future__ import annotations

import copy
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ubltr import codes
from ubltr.calc import CalcError
from ubltr.model import InvoiceInputError, load
from ubltr.render import build
from ubltr.testing import invoice_dicts


def _paths(obj, prefix=()):
    """Every (path, value) below obj."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield prefix + (k,), v
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield prefix + (i,), v
            yield from _paths(v, prefix + (i,))


def _set(d, path, value):
    for k in path[:-1]:
        d = d[k]
    if value is _DELETE:
        del d[path[-1]]
    else:
        d[path[-1]] = value


_DELETE = object()


@st.composite
def broken(draw):
    d = copy.deepcopy(draw(invoice_dicts()))
    kind = draw(st.sampled_from(["delete", "type", "profile", "kdv", "exemption", "withholding",
                                 "currency", "unit", "date", "tax"]))
    if kind == "delete":
        paths = [p for p, _ in _paths(d) if isinstance(p[-1], str)]
        _set(d, draw(st.sampled_from(paths)), _DELETE)
    elif kind == "type":
        d["type"] = draw(st.sampled_from(sorted(codes.invoice_types())))
    elif kind == "profile":
        d["profile"] = draw(st.sampled_from(sorted(codes.profiles())))
    elif kind == "kdv":
        ln = draw(st.sampled_from(d["lines"]))
        for t in ln.get("taxes", []):
            if t["code"] == "0015":
                t["percent"] = draw(st.sampled_from(["0", "1", "8", "10", "18", "20"]))
        if draw(st.booleans()):
            ln.pop("exemption", None)
    elif kind == "exemption":
        ln = draw(st.sampled_from(d["lines"]))
        ln["exemption"] = {"code": draw(st.sampled_from(sorted(codes.exemption_codes()))), "reason": "sebep"}
    elif kind == "withholding":
        ln = draw(st.sampled_from(d["lines"]))
        combos = sorted(codes.code_list("WithholdingTaxTypeWithPercent"))
        c = draw(st.sampled_from(combos))
        ln["withholding"] = {"code": c[:3], "percent": c[3:]}
    elif kind == "currency":
        d["currency"] = draw(st.sampled_from(sorted(codes.currencies())))
        d["exchange_rate"] = "12.3456"
    elif kind == "unit":
        draw(st.sampled_from(d["lines"]))["unit"] = draw(st.sampled_from(sorted(codes.units())))
    elif kind == "date":
        d["issue_date"] = draw(st.dates(dt.date(2000, 1, 1), dt.date.today() + dt.timedelta(days=3))).isoformat()
    elif kind == "tax":
        ln = draw(st.sampled_from(d["lines"]))
        code = draw(st.sampled_from(sorted(codes.tax_codes() - {"0015"})))
        ln.setdefault("taxes", []).insert(0, {"code": code, "percent": draw(st.sampled_from(["1", "5", "25"]))})
    return d


def test_what_the_loader_accepts_gib_accepts(oracle):
    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
    @given(broken())
    def check(d):
        try:
            xml = build(load(d))
        except (InvoiceInputError, CalcError):
            return
        result = oracle.check(xml)
        assert result.ok, str(result)

    check()
