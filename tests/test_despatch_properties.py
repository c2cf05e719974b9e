"""Property tests for e-İrsaliye: every despatch and receipt ubltr's strategies generate
loads, builds to XML that GİB's XSD and schematron (saxonche) accept, and parses back
to the same document.  Example counts are modest (the machine is shared); the
strategies vary profile, type, plates of every scheme, drivers, parties and quantities."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

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

    xml = build_despatch(desp)
    assert gib_findings(Oracle.get(), xml) == []
    assert parse_despatch(xml) == desp
    assert load_document(to_dict(desp)) == desp


@SETTINGS
@given(receipts())
def test_generated_receipts_pass_gib_and_round_trip(rec):
    from gib_oracle import Oracle

    xml = build_receipt(rec)
    assert gib_findings(Oracle.get(), xml) == []
    assert parse_receipt(xml) == rec
    assert load_document(to_dict(rec)) == rec
