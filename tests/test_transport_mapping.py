"""The provider mapping tables (ubltr/data/provider_mappings.json) and the refusals they drive.

The truth here is each provider's page in ../shared: a row may only claim a field the
page names, and what the page has no field for is refused before any request.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from conftest import shared
from ubltr import codes, model
from ubltr.transport import mapping
from ubltr.transport.base import Document, Outcome
from ubltr.transport.bizimhesap import BizimHesapClient
from ubltr.transport.logo import LogoClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def neutral(name: str, **change: object) -> dict:
    n = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    n.update(change)
    return n


def send_counting(client_cls, n: dict, **kw):
    calls: list[httpx.Request] = []
    http = httpx.Client(transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(500)))
    res = client_cls(http, **kw).send(Document(uuid=n["uuid"], xml=b"", invoice_id=n.get("id"), neutral=n))
    return res, calls


def test_logo_return_is_refused_naming_the_returned_invoice_reference():
    # old code: sent as InvoiceType 8 (an ordinary sale), BillingReference dropped
    res, calls = send_counting(LogoClient, neutral("TEMELFATURA-IADE"), firm_id=1, period_no=1)
    assert calls == [] and res.outcome is Outcome.REJECTED and res.error_code == "ubltr:mapping"
    assert res.message.startswith("logo cannot carry") and "IADE" in res.message
    assert "billing_references" in res.message


def test_bizimhesap_foreign_currency_export_is_refused_naming_rate_and_exemption():
    # old code: Amounts.Currency 'EUR'/'USD', no rate, the 301 exemption dropped, InvoiceType 3
    for n in (neutral("IHRACAT-ISTISNA"),
              neutral("TEMELFATURA-ISTISNA", currency="USD", exchange_rate="32.5")):
        res, calls = send_counting(BizimHesapClient, n, firm_id="F")
        assert calls == [] and res.outcome is Outcome.REJECTED, res
        assert res.message.startswith("bizimhesap cannot carry")
        assert "exchange rate" in res.message and "exemption" in res.message


def test_logo_producer_invoice_and_plain_sales_still_map():
    n = neutral("TEMELFATURA-SATIS")
    for ln in n["lines"]:
        ln.pop("allowances", None)
    n.pop("allowances", None)
    assert mapping.problems("logo", model.load(n)) == []
    assert mapping.problems("bizimhesap", model.load(n)) == []


def test_every_row_and_refusal_names_a_page_in_shared():
    t = mapping.table()
    assert set(mapping.providers()) == {"nilvera", "hepsiburada", "propars", "bizimhesap", "logo"}
    for name in mapping.providers():
        spec = t[name]
        for row in spec["rows"]:
            src = row["source"]
            path = src.split(" ", 1)[0].rstrip(",")
            assert shared(path).is_file(), (name, src)
            for p in row["profiles"]:
                assert p == "*" or p in codes.profiles(), (name, p)
            for ty in row["types"]:
                assert ty == "*" or ty in codes.invoice_types(), (name, ty)
            assert set(row["carries"]) <= set(mapping.FEATURES) | {"*"}
        assert set(spec.get("cannot_carry", {})) <= set(mapping.FEATURES) | {"type", "profile"}


def test_row_fields_are_named_in_the_providers_page():
    """A field a row claims to fill must appear in the provider's page (the table is
    not allowed to invent a field)."""
    for name in ("bizimhesap", "logo"):
        page = shared("provider-docs", f"{'bizimhesap-addinvoice' if name == 'bizimhesap' else 'logo-maxiapi-producer-invoice'}.md").read_text(encoding="utf-8").lower()
        for row in mapping.table()[name]["rows"]:
            for field in row["fields"]:
                for part in re.split(r"[./]|\[\]", field):
                    part = re.sub(r"\d+$", "", part.replace("..", ""))
                    if part:
                        assert part.lower() in page, (name, field, part)


@pytest.mark.parametrize("provider", ["nilvera", "hepsiburada", "propars"])
def test_xml_providers_refuse_only_profiles_they_have_no_endpoint_for(provider):
    mapping.refuse_profile(provider, "EARSIVFATURA")
    mapping.refuse_profile(provider, "TEMELFATURA")
    with pytest.raises(mapping.MappingError, match=provider):
        mapping.refuse_profile(provider, "NOSUCHPROFILE")


def test_the_outbox_journals_a_refusal_as_refused_never_as_a_send(tmp_path):
    from ubltr.outbox import Outbox, Sender, SendPolicy, State

    n = neutral("TEMELFATURA-IADE")
    doc = Document(uuid=n["uuid"], xml=b"<x/>", invoice_id=n["id"], neutral=n)
    calls: list[httpx.Request] = []
    http = httpx.Client(transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(500)))
    with Outbox(str(tmp_path / "ob.sqlite")) as ob:
        ob.add([doc], "logo")
        Sender(ob, LogoClient(http, firm_id=1, period_no=1), SendPolicy(workers=1)).run()
        entry = ob.get(doc.uuid)
        assert entry.state is State.REJECTED and entry.error_code == "ubltr:mapping" and entry.attempts == 0
        assert [h["event"] for h in ob.history(doc.uuid)] == ["queued", "refused"]
    assert calls == []
