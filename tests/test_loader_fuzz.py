"""Whatever JSON a caller sends, the loader answers with InvoiceInputError (or the
engine with CalcError) — never another exception, which would be a traceback in the CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ubltr.calc import CalcError, compute
from ubltr.model import InvoiceInputError, load, loads
from ubltr.render import build

FIX = Path(__file__).resolve().parent.parent / "fixtures"
BASES = [json.loads((FIX / f"{n}.json").read_text(encoding="utf-8")) for n in
         ("IHRACAT-ISTISNA", "EARSIVFATURA-SATIS", "TEMELFATURA-TEVKIFATIADE", "YOLCUBERABERFATURA-ISTISNA",
          "KAMU-SATIS", "ENERJI-SARJ", "YATIRIMTESVIK-SATIS")]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.sampled_from(["", "0", "-1", "1e3", "1,5", "NaN", "2026-02-30", "99999999999999999", " 12 ", "\x00"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, prefix + (i,))


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_any_value_anywhere_is_an_input_error_or_a_document(data):
    d = copy.deepcopy(data.draw(st.sampled_from(BASES)))
    path = data.draw(st.sampled_from([p for p in _paths(d) if p]))
    target = d
    for k in path[:-1]:
        target = target[k]
    target[path[-1]] = data.draw(json_values)
    try:
        inv = load(d)
        compute(inv)
        assert build(inv).startswith(b"<?xml")
    except (InvoiceInputError, CalcError) as exc:
        assert str(exc)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_are_an_input_error(raw):
    try:
        loads(raw)
    except InvoiceInputError as exc:
        assert exc.problems
