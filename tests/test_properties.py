"""Property tests over generated invoices (ubltr.testing strategies): the totals
policy, parse∘build identity, and GİB's XSD + schematron through saxonche."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings

from ubltr import calc
from ubltr.model import load, to_dict
from ubltr.parsing import parse
from ubltr.render import build
from ubltr.testing import invoice_dicts, invoices

CENT = Decimal("0.01")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(invoices())
def test_totals_follow_the_policy(inv):
    t = calc.compute(inv)
    # document totals are sums of rounded line values
    assert t.line_extension == sum((ln.net for ln in t.lines), Decimal(0))
    for code in {s.code for s in t.subtotals}:
        assert sum((s.amount for s in t.subtotals if s.code == code), Decimal(0)) == sum(
            (x.amount for ln in t.lines for x in ln.taxes if x.code == code), Decimal(0))
    assert t.tax_total == sum((s.amount for s in t.subtotals), Decimal(0))
    assert t.tax_exclusive == t.line_extension - t.allowance_total + t.charge_total
    assert t.tax_inclusive == t.tax_exclusive + t.tax_total
    assert t.payable == t.tax_inclusive - t.withholding_total + inv.rounding
    # document allowances/charges are distributed exactly, to the kuruş
    assert sum((ln.doc_allowance_share for ln in t.lines), Decimal(0)) == t.allowance_total
    assert sum((ln.doc_charge_share for ln in t.lines), Decimal(0)) == t.charge_total
    for ln, src in zip(t.lines, inv.lines):
        exact_gross = src.quantity * src.unit_price
        # a line net never drifts more than half a kuruş per rounding point from the exact value
        exact_net = exact_gross - sum(ln.allowances, Decimal(0)) + sum(ln.charges, Decimal(0))
        assert abs(ln.net - exact_net) <= CENT / 2
        kdv = ln.kdv
        assert abs(kdv.amount - kdv.base * kdv.percent / 100) <= CENT / 2
        if ln.withholding:
            assert abs(ln.withholding.amount - kdv.amount * ln.withholding.percent / 100) <= CENT / 2
    # every amount is a whole number of kuruş
    for v in (t.line_extension, t.tax_total, t.tax_inclusive, t.payable, t.withholding_total):
        assert v == v.quantize(CENT)


@FAST
@given(invoice_dicts())
def test_load_dump_load_is_identity(d):
    inv = load(d)
    assert load(to_dict(inv)) == inv


@FAST
@given(invoices())
def test_parse_of_build_is_identity(inv):
    assert parse(build(inv)) == inv


@FAST
@given(invoices())
def test_build_is_deterministic(inv):
    assert build(inv) == build(inv)


def test_generated_documents_pass_gib_rules(oracle):
    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(invoices())
    def check(inv):
        result = oracle.check(build(inv))
        assert result.ok, str(result)

    check()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoices())
def test_independent_arithmetic_rules_accept_every_generated_invoice(inv):
    """schematron/ubltr.sch re-checks lines, subtotals, withholding and monetary totals
    from the XML alone, written independently of ubltr.calc: it must find nothing."""
    from ubltr.validation import validate

    report = validate(build(inv), strict=True)
    assert report.valid and not report.findings, [(f.rule, f.message) for f in report.findings]
