"""Property tests for e-İrsaliye: every despatch and receipt ubltr's strategies generate
loads, builds to XML that GİB's XSD and schematron (saxonche) accept, and parses back
to the same document.  Example counts are modest (the machine is shared); the
strategies vary profile, type, plates of every scheme, drivers, parties and quantities."""

from __future__ import annotations

from hypothesis import HealthCheck, event, given, settings

from test_despatch import gib_findings
from ubltr.despatch import load_document, to_dict
from ubltr.despatch_build import build_despatch, build_receipt
from ubltr.despatch_parse import parse_despatch, parse_receipt
from ubltr.testing import despatches, receipts

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(despatches())
def test_generated_despatches_pass_gib_and_round_trip(desp):
    from gib_oracle import Oracle

    from ubltr.validation import validate

    xml = build_despatch(desp)
    assert gib_findings(Oracle.get(), xml) == []
    report = validate(xml, strict=True)  # and ubltr's own validator agrees
    assert report.valid and not report.findings, [f.message for f in report.findings]
    assert parse_despatch(xml) == desp
    assert load_document(to_dict(desp)) == desp


@SETTINGS
@given(receipts())
def test_generated_receipts_pass_gib_and_round_trip(rec):
    from gib_oracle import Oracle

    from ubltr.validation import validate

    xml = build_receipt(rec)
    assert gib_findings(Oracle.get(), xml) == []
    report = validate(xml, strict=True)
    assert report.valid and not report.findings, [f.message for f in report.findings]
    assert parse_receipt(xml) == rec
    assert load_document(to_dict(rec)) == rec


# ------------------------------------------------------------------ plates: the loader agrees with GİB

import json  # noqa: E402
from dataclasses import replace  # noqa: E402

from hypothesis import strategies as st  # noqa: E402

from conftest import ROOT  # noqa: E402
from ubltr.despatch import InvoiceInputError, Plate, load_despatch  # noqa: E402

_BASE = json.loads((ROOT / "fixtures" / "despatch" / "TEMELIRSALIYE-SEVK.json").read_text(encoding="utf-8"))
_PLATE_RULES = ("LicensePlateIDSchemeIDCheck", "TransportEquipmentIDSchemeIDCheck")
_plate_text = st.one_of(
    st.text(alphabet="0123456789ABCZabcÇ -_.", min_size=0, max_size=10),
    st.builds(lambda p, l, d: f"{p:02d}{l}{d}", st.integers(0, 99), st.text(alphabet="ABCXYZ", max_size=3),
              st.integers(0, 9999).map(str)),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trailer=st.booleans(), pid=_plate_text,
       scheme=st.sampled_from(["PLAKA", "YABANCIPLAKA", "DORSE", "DORSEPLAKA", "YABANCIDORSE", "YABANCIDORSEPLAKA", "ARAC"]))
def test_the_loader_accepts_a_plate_exactly_when_gib_does(trailer, pid, scheme):
    """Any plate text under any scheme, as a vehicle or a trailer plate: when the loader
    takes it, GİB's plate rules find nothing; when GİB's plate rules object, the loader
    refused it at the plate's path.  The one deliberate difference: the loader refuses
    surrounding whitespace, which GİB's normalize-space() forgives."""
    from gib_oracle import Oracle

    key = "trailer_plates" if trailer else "vehicle_plates"
    d = json.loads(json.dumps(_BASE))
    d["shipment"][key] = [{"id": pid, "scheme": scheme}]
    try:
        load_despatch(d)
        loader_ok = True
    except InvoiceInputError as exc:
        loader_ok = False
        assert {p.path for p in exc.problems} <= {f"shipment.{key}[0].id", f"shipment.{key}[0].scheme"}, exc.problems
    base = load_despatch(_BASE)
    plates = (Plate(pid, scheme),)
    ship = replace(base.shipment, **{key: plates})
    found = [f for f in gib_findings(Oracle.get(), build_despatch(replace(base, shipment=ship)))
             if any(r in f for r in _PLATE_RULES) or f.startswith("XSD")]
    gib_ok = not found
    event(f"loader {'accepts' if loader_ok else 'refuses'}, GİB {'accepts' if gib_ok else 'refuses'}")
    if loader_ok:
        assert gib_ok, found
    elif gib_ok:  # only surrounding whitespace separates the two verdicts
        assert pid != pid.strip(), (pid, scheme)
        d["shipment"][key] = [{"id": pid.strip(), "scheme": scheme}]
        load_despatch(d)


# ------------------------------------------------------------------ damaged input

from ubltr.testing import despatch_dicts, receipt_dicts  # noqa: E402

_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10, 10**20).map(str), st.text(max_size=12),
                  st.just(""), st.just("  "), st.just([]), st.just({}), st.just(["x"]), st.just({"a": 1}),
                  st.just("\x01"), st.just("1e5"), st.just("-1"), st.just("2026-02-30"), st.just("25:61:00"))


def _leaves(obj, path=()):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _leaves(v, path + (i,))
    yield path


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(despatch_dicts(max_lines=2), receipt_dicts(max_lines=2)), st.data())
def test_damaged_input_is_an_input_error_or_a_document_gib_accepts(d, data):
    """One value anywhere replaced by junk (or a key removed): the loader either names
    the problem (InvoiceInputError with a path, never another exception) or what it
    accepts still builds to a document GİB's rules accept."""
    from gib_oracle import Oracle

    from ubltr.despatch import load_document
    from ubltr.despatch_build import build_document

    paths = [p for p in _leaves(d) if p]
    path = data.draw(st.sampled_from(paths))
    parent = d
    for k in path[:-1]:
        parent = parent[k]
    if data.draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(_JUNK)
    try:
        doc = load_document(d)
    except InvoiceInputError as exc:
        assert exc.problems and all(isinstance(p.message, str) and p.message for p in exc.problems)
        return
    assert gib_findings(Oracle.get(), build_document(doc)) == []


_HKS = json.loads((ROOT / "fixtures" / "despatch" / "HKSIRSALIYE-SEVK.json").read_text(encoding="utf-8"))
_IDIS = json.loads((ROOT / "fixtures" / "despatch" / "IDISIRSALIYE-SEVK.json").read_text(encoding="utf-8"))
_DIGITS = "0123456789"
_VALIDISH = {
    "KUNYENO": st.text(alphabet=_DIGITS, min_size=18, max_size=20),
    "ETIKETNO": st.builds(lambda a, n: a + n, st.sampled_from(["AB", "zq", "A1", "ÇA", "AB "]),
                          st.text(alphabet=_DIGITS, min_size=6, max_size=8)),
    "SEVKIYATNO": st.builds(lambda a, n: a + n, st.sampled_from(["SE-", "ES-", "SV-", "SE"]),
                            st.text(alphabet=_DIGITS, min_size=6, max_size=8)),
}
_id_text = st.one_of(st.text(alphabet="0123456789ABab -\tÇ", min_size=0, max_size=22),
                     st.text(alphabet="0123456789", min_size=17, max_size=21),
                     st.builds(lambda a, n: a + n, st.text(alphabet="ABzÇ1", min_size=1, max_size=3),
                               st.text(alphabet="0123456789 ", min_size=5, max_size=8)))


_VALID = {
    "KUNYENO": st.text(alphabet=_DIGITS, min_size=19, max_size=19),
    "ETIKETNO": st.builds(lambda a, n: a + n, st.text(alphabet="ABCXYZabc", min_size=2, max_size=2),
                          st.text(alphabet=_DIGITS, min_size=7, max_size=7)),
    "SEVKIYATNO": st.builds(lambda a, n: a + n, st.sampled_from(["SE-", "ES-"]), st.text(alphabet=_DIGITS, min_size=7, max_size=7)),
}


def _value(which: str) -> st.SearchStrategy[str]:
    v = _VALIDISH[which]
    return st.one_of(_VALID[which], v, v.map(lambda x: f" {x} "), v.map(lambda x: x[:9] + "  " + x[9:]), _id_text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from(["KUNYENO", "ETIKETNO", "SEVKIYATNO"]), data=st.data())
def test_the_loader_takes_hks_and_idis_ids_exactly_when_gib_does(which, data):
    """HKS künye (19 characters after normalize-space), İDİS label (2 letters + 7 digits)
    and İDİS shipment number (SE-/ES- + 7 digits): the loader's verdict is GİB's."""
    from dataclasses import replace as _replace

    from gib_oracle import Oracle


    value = data.draw(_value(which))
    base_dict = _HKS if which == "KUNYENO" else _IDIS
    d = json.loads(json.dumps(base_dict))
    if which == "SEVKIYATNO":
        d["supplier"]["ids"]["SEVKIYATNO"] = value
    else:
        d["lines"][0]["item_ids"] = {which: value}
    try:
        load_despatch(d)
        loader_ok = True
    except InvoiceInputError as exc:
        loader_ok = False
        where = "supplier.ids.SEVKIYATNO" if which == "SEVKIYATNO" else f"lines[0].item_ids.{which}"
        assert [p.path for p in exc.problems] == [where], exc.problems  # one message, at the value
    base = load_despatch(base_dict)
    if which == "SEVKIYATNO":
        ids = tuple((s, v) for s, v in base.supplier.ids if s != "SEVKIYATNO") + (("SEVKIYATNO", value),)
        doc = _replace(base, supplier=_replace(base.supplier, ids=ids))
    else:
        doc = _replace(base, lines=(_replace(base.lines[0], item_ids=((which, value),)),) + base.lines[1:])
    rules = {"KUNYENO": "DespatchAdviceHKSKunyeCheck", "ETIKETNO": "DespatchIdisEtiketNoCheck",
             "SEVKIYATNO": "DespatchIdisSevkiyatNoCheck"}
    found = [f for f in gib_findings(Oracle.get(), build_despatch(doc)) if rules[which] in f or f.startswith("XSD")]
    event(f"{which}: loader {'accepts' if loader_ok else 'refuses'}, GİB {'refuses' if found else 'accepts'}")
    assert loader_ok == (not found), (which, value, found)
