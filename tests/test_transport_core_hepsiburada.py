"""Hepsiburada e-faturam: the JSON object form and the client against its fake."""

from __future__ import annotations

import uuid as uuidlib
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from ubltr.transport.base import Document, Outcome
from ubltr.transport.fake.hepsiburada import PLACEHOLDER_EXTENSIONS, HepsiburadaFake
from ubltr.transport.fake.server import FakeServer, with_identity
from ubltr.transport.hepsiburada import HepsiburadaClient, codec, json_name

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = sorted((ROOT / "fixtures").glob("*.xml"))


def _canon(xml: bytes) -> bytes:
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    for el in list(root):
        if etree.QName(el).localname == "UBLExtensions":
            root.remove(el)
    return etree.tostring(root, method="c14n")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_json_form_round_trips_every_fixture(path):
    xml = path.read_bytes()
    obj = codec().to_json(xml)
    assert "UblExtensions" not in obj and obj["Uuid"]["value"]
    assert _canon(codec().to_xml(obj, PLACEHOLDER_EXTENSIONS)) == _canon(xml)


def test_json_form_matches_the_documented_shape():
    xml = (ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes()
    obj = codec().to_json(xml)
    assert obj["UblVersionId"] == {"value": "2.1"} and obj["CopyIndicator"] == {"value": False}
    assert isinstance(obj["Note"], list) and isinstance(obj["TaxTotal"], list)
    party = obj["AccountingSupplierParty"]["Party"]
    assert party["PartyIdentification"][0]["Id"]["schemeId"] == "VKN"
    line = obj["InvoiceLine"][0]
    assert isinstance(line["TaxTotal"], dict)  # 0..1 on a line, a list on the invoice
    assert line["InvoicedQuantity"]["unitCode"] and line["LineExtensionAmount"]["currencyId"] == "TRY"
    assert isinstance(line["LineExtensionAmount"]["value"], str)  # exact decimals, never floats


@settings(max_examples=60, deadline=None)
@given(st.from_regex(r"[A-Z][A-Za-z]{0,20}(ID|URI|UUID)?", fullmatch=True))
def test_json_names_are_reversible_for_schema_names(name):
    table = codec().by_json["InvoiceType"]
    assert all(json_name(ubl) == js for js, ubl in table.items())
    assert json_name(json_name(name)) == json_name(name)


def test_unknown_names_are_refused_by_the_inverse():
    with pytest.raises(ValueError, match="not an element"):
        codec().to_xml({"Bogus": {"value": "1"}})
    with pytest.raises(ValueError, match="does not repeat"):
        codec().to_xml({"Uuid": [{"value": "x"}]})


def docs(n, base="TEMELFATURA-SATIS.xml"):
    xml = (ROOT / "fixtures" / base).read_bytes()
    return [Document.from_xml(with_identity(xml, str(uuidlib.uuid4()), f"HBT2026{i:09d}")) for i in range(1, n + 1)]


@pytest.fixture()
def fake():
    with FakeServer(HepsiburadaFake, hold=0.3) as srv:
        yield srv


@pytest.fixture()
def client(fake):
    with httpx.Client(timeout=5) as http:
        yield HepsiburadaClient(http, base_url=fake.url + "/", username="HBTest1", password="HBTest1")


def test_send_status_duplicate(client, fake):
    d = docs(1)[0]
    r = client.send(d)
    assert r.outcome is Outcome.ACCEPTED and r.invoice_number == d.invoice_id and r.provider_id == d.uuid.lower()
    again = client.send(d)  # refused as a duplicate; settled by the status query
    assert again.outcome is Outcome.ACCEPTED and again.error_code == "AlreadySent"
    assert fake.stats()["created"] == {d.uuid.lower(): 1}
    assert client.status(d.uuid).outcome is Outcome.ACCEPTED
    nf = client.status(str(uuidlib.uuid4()))
    assert nf.outcome is Outcome.RETRYABLE and nf.retry_safe


def test_local_document_id_is_the_idempotency_key(client, fake):
    a, b = docs(2)
    info = client.invoice_info(a)
    assert info["LocalDocumentId"] == a.invoice_id and info["Scenario"] == 1
    assert client.send(a).outcome is Outcome.ACCEPTED
    clash = Document(uuid=b.uuid, xml=with_identity(b.xml, b.uuid, a.invoice_id), invoice_id=a.invoice_id)
    r = client.send(clash)
    assert r.outcome is Outcome.REJECTED and "daha önce" in (r.message or "")
    assert fake.stats()["documents"] == 1


def test_earchive_info_and_invalid_document(client):
    e = docs(1, "EARSIVFATURA-SATIS.xml")[0]
    info = client.invoice_info(e)
    assert info["Scenario"] == 2 and info["EArchiveInvoiceInfo"] == {"DeliveryType": "Electronic"}
    assert client.send(e).outcome is Outcome.ACCEPTED
    bad = docs(1)[0]
    bad = Document.from_xml(with_identity(bad.xml, bad.uuid, "NOT-A-NUMBER"))
    r = client.send(bad)
    assert r.outcome is Outcome.REJECTED and "InvoiceIDCheck" in (r.message or "")


def test_wrong_password_and_lookup(fake, client):
    with httpx.Client(timeout=1) as http:
        bad = HepsiburadaClient(http, base_url=fake.url, username="HBTest1", password="nope")
        r = bad.send(docs(1)[0])
        assert r.outcome is Outcome.RETRYABLE and r.http_status == 401 and not r.retry_safe
    assert client.lookup("9000500394")[0]["IsEInvoiceUser"] is True
    assert client.lookup("1111111111")[0]["IsEInvoiceUser"] is False


def test_lost_response_then_resend_is_settled(client, fake):
    d = docs(1)[0]
    fake.configure({"schedule": ["lost"]})
    assert client.send(d).outcome is Outcome.UNKNOWN
    assert client.status(d.uuid).outcome is Outcome.ACCEPTED
    assert client.send(d).outcome is Outcome.ACCEPTED
    assert fake.stats()["created"] == {d.uuid.lower(): 1}
