"""`ubltr status`, `ubltr cancel`, `ubltr lookup` and `"profile": "auto"`, against the fakes.

The fakes answer in the shapes of Nilvera's OpenAPI (GlobalCompanyInfoResponse, e-Arşiv
Cancel/Status) and Uyumsoft's manual (IsEInvoiceUser); the CLI turns them into one
line per document and an exit code."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from test_outbox import make_docs
from ubltr.cli import cli
from ubltr.outbox import Outbox
from ubltr.transport import lookup
from ubltr.transport.base import Outcome, Unsupported
from ubltr.transport.fake.hepsiburada import HepsiburadaFake
from ubltr.transport.fake.nilvera import NilveraFake
from ubltr.transport.fake.server import FakeServer
from ubltr.transport.hepsiburada import HepsiburadaClient
from ubltr.transport.logo import LogoClient
from ubltr.transport.nilvera import NilveraClient

ROOT = Path(__file__).resolve().parent.parent
KEY = NilveraFake.default_credentials["api_key"]


@pytest.fixture()
def nilvera(tmp_path):
    with FakeServer(NilveraFake) as fake:
        cfg = tmp_path / "nilvera.json"
        cfg.write_text(json.dumps({"provider": "nilvera", "base_url": fake.url, "api_key": KEY, "timeout": 10,
                                   "outbox": str(tmp_path / "ob.sqlite")}))
        yield fake, str(cfg)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_status_cancel_status_of_an_earchive_invoice(nilvera):
    fake, cfg = nilvera
    doc = make_docs(1, "EARSIVFATURA-SATIS.xml")[0]
    with httpx.Client(timeout=10) as http:
        assert NilveraClient(http, api_key=KEY, base_url=fake.url).send(doc).outcome is Outcome.ACCEPTED
    r = run("status", "--config", cfg, doc.uuid)
    assert r.exit_code == 0 and "\taccepted" in r.output
    r = run("cancel", "--config", cfg, doc.uuid)
    assert r.exit_code == 0 and "\taccepted" in r.output
    r = run("status", "--config", cfg, "--json", doc.uuid)
    assert r.exit_code == 0 and json.loads(r.output)["outcome"] == "cancelled"
    r = run("cancel", "--config", cfg, doc.uuid)          # twice: Nilvera says already cancelled
    assert r.exit_code == 1 and "InvoiceAlreadyCanceled" in r.output
    r = run("status", "--config", cfg, "00000000-0000-4000-8000-000000000000")
    assert r.exit_code == 1 and "not_found" in r.output


def test_cancel_of_an_outbox_document_records_it_without_losing_history(nilvera, tmp_path):
    fake, cfg = nilvera
    doc = make_docs(1, "EARSIVFATURA-SATIS.xml")[0]
    xml = tmp_path / "e.xml"
    xml.write_bytes(doc.xml)
    assert run("send", "--config", cfg, str(xml)).exit_code == 0
    assert run("cancel", "--config", cfg, doc.uuid).exit_code == 0
    with Outbox(str(tmp_path / "ob.sqlite")) as ob:
        assert ob.get(doc.uuid).state.value == "cancelled"
        events = [h["event"] for h in ob.history(doc.uuid)]
        assert events[0] == "queued" and "answer" in events and events[-1] == "cancelled"


def test_providers_without_cancel_or_status_say_so(tmp_path):
    cfg = tmp_path / "logo.json"
    cfg.write_text(json.dumps({"provider": "logo", "firm_id": 1, "period_no": 1, "base_url": "http://127.0.0.1:9"}))
    r = run("status", "--config", str(cfg), "u")
    assert r.exit_code == 2 and "no status lookup" in r.output
    r = run("cancel", "--config", str(cfg), "u")
    assert r.exit_code == 2 and "no cancel" in r.output
    r = run("lookup", "--config", str(cfg), "9876543217")
    assert r.exit_code == 2 and "no taxpayer lookup" in r.output


def test_lookup_through_nilvera_and_hepsiburada(nilvera, tmp_path):
    fake, cfg = nilvera
    r = run("lookup", "--config", cfg, "--json", "9000500394", "9876543217")
    assert r.exit_code == 0, r.output
    first, second = (json.loads(x) for x in r.output.splitlines())
    assert first["efatura_user"] and first["aliases"] == ["urn:mail:defaultpk@uyumsoft.com.tr"]
    assert not second["efatura_user"] and second["profile"] == "EARSIVFATURA"
    r = run("lookup", "--config", cfg, "12345")
    assert r.exit_code == 2 and "VKN has 10 digits" in r.output
    with FakeServer(HepsiburadaFake) as hb, httpx.Client(timeout=10) as http:
        c = HepsiburadaClient(http, base_url=hb.url, **{k: v for k, v in hb.handler.ctx.credentials.items()})
        assert lookup.taxpayer(c, "9876543217").registered
        assert not lookup.taxpayer(c, "1111111110").registered


def test_lookup_failures_are_typed_and_exit_1(tmp_path):
    cfg = tmp_path / "n.json"
    cfg.write_text(json.dumps({"provider": "nilvera", "base_url": "http://127.0.0.1:9", "api_key": "k",
                               "timeout": 2}))
    r = run("lookup", "--config", str(cfg), "9000500394")   # nothing listens on port 9
    assert r.exit_code == 1 and "nilvera: taxpayer lookup: no connection" in r.output
    assert "Traceback" not in r.output


def _auto(customer_vkn: str, tmp_path: Path) -> Path:
    n = json.loads((ROOT / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))
    n["profile"] = "auto"
    n["customer"]["vkn"] = customer_vkn
    n["uuid"] = f"0f8fad5b-d9cb-469f-a165-7086772895{customer_vkn[-2:]}"
    n["id"] = f"AUT2026{int(customer_vkn[-4:]):09d}"
    p = tmp_path / f"auto-{customer_vkn}.json"
    p.write_text(json.dumps(n, ensure_ascii=False), encoding="utf-8")
    return p


def test_profile_auto_is_resolved_through_the_providers_lookup(nilvera, tmp_path):
    fake, cfg = nilvera
    registered, unregistered = _auto("9000500394", tmp_path), _auto("9876543217", tmp_path)
    r = run("send", "--config", cfg, str(registered), str(unregistered))
    assert r.exit_code == 0, r.output
    held = {rec["uuid"]: rec for rec in fake.ledger.records.values()}
    assert held["0f8fad5b-d9cb-469f-a165-708677289594"]["profile"] == "TEMELFATURA"
    assert held["0f8fad5b-d9cb-469f-a165-708677289594"]["alias"] == "urn:mail:defaultpk@uyumsoft.com.tr"
    assert held["0f8fad5b-d9cb-469f-a165-708677289517"]["profile"] == "EARSIVFATURA"


def test_profile_auto_without_a_lookup_is_a_clear_input_error(tmp_path):
    cfg = tmp_path / "logo.json"
    cfg.write_text(json.dumps({"provider": "logo", "firm_id": 1, "period_no": 1, "base_url": "http://127.0.0.1:9",
                               "outbox": str(tmp_path / "ob.sqlite")}))
    r = run("send", "--config", str(cfg), str(_auto("9000500394", tmp_path)))
    assert r.exit_code == 2 and "profile 'auto'" in r.output and "lookup" in r.output
    with pytest.raises(Unsupported):
        lookup.resolve_profile({"profile": "auto", "customer": {"vkn": "9000500394"}},
                               LogoClient(httpx.Client(), firm_id=1, period_no=1))


def test_status_without_an_answer_is_not_reported_as_not_found(tmp_path):
    cfg = tmp_path / "n.json"
    cfg.write_text(json.dumps({"provider": "nilvera", "base_url": "http://127.0.0.1:9", "api_key": "k", "timeout": 2}))
    r = run("status", "--config", str(cfg), "00000000-0000-4000-8000-000000000000")
    assert r.exit_code == 1 and "\tunknown" in r.output and "not_found" not in r.output


def test_hepsiburada_cancel_fetch_and_status_through_its_fake(tmp_path):
    """Uyumsoft manual 4.4.1 CancelEArchiveInvoice, 2.2.24 GetOutboxInvoicePdf, 2.2.20
    GetOutboxInvoiceData; the status code afterwards is 1400 eArchiveCanceled."""
    from ubltr.transport.base import Refused

    with FakeServer(HepsiburadaFake) as hb, httpx.Client(timeout=10) as http:
        c = HepsiburadaClient(http, base_url=hb.url, **dict(hb.handler.ctx.credentials))
        earsiv, temel = make_docs(1, "EARSIVFATURA-SATIS.xml")[0], make_docs(1, start=7)[0]
        assert c.send(earsiv).outcome is Outcome.ACCEPTED and c.send(temel).outcome is Outcome.ACCEPTED
        assert b"EARSIVFATURA" in c.fetch(earsiv.uuid, "xml")
        assert c.fetch(earsiv.uuid, "pdf").startswith(b"%PDF")
        assert c.cancel(earsiv.uuid).outcome is Outcome.ACCEPTED
        st = c.status(earsiv.uuid)
        assert st.outcome is Outcome.CANCELLED and st.error_code == "eArchiveCanceled"
        again = c.cancel(earsiv.uuid)
        assert again.outcome is Outcome.REJECTED and "zaten" in (again.message or "")
        assert c.cancel(temel.uuid).outcome is Outcome.REJECTED      # e-Fatura: no cancel
        with pytest.raises(Refused):
            c.fetch("00000000-0000-4000-8000-000000000000", "xml")
