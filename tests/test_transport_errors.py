"""Typed errors of the provider operations, cancelled e-Arşiv invoices, bad credentials.

Every failure of status / fetch / lookup / cancel is a ubltr error (auth, refused with
codes, rate-limited, unavailable, bad configuration), never a raw httpx exception; a
credential with a carriage return is a configuration error before any request, and the
outbox never turns such a never-sent invoice into "needs reconciliation".
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from test_outbox import make_docs
from ubltr.outbox import Outbox, Sender, SendPolicy, State
from ubltr.transport import base
from ubltr.transport.base import (AuthFailed, ConfigurationError, Document, NotFoundError, OperationFailed,
                                  Outcome, RateLimited, Refused, Unavailable)
from ubltr.transport.bizimhesap import BizimHesapClient
from ubltr.transport.fake.nilvera import NilveraFake
from ubltr.transport.fake.server import FakeServer
from ubltr.transport.hepsiburada import HepsiburadaClient
from ubltr.transport.logo import LogoClient
from ubltr.transport.nilvera import NilveraClient
from ubltr.transport.propars import ProparsClient
from ubltr.transport.registry import make_client

ROOT = Path(__file__).resolve().parent.parent


def mock(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), timeout=1)


def refused_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def timed_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def status(code: int, body: object = None):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, json=body if body is not None else {"Errors": [{"Code": "X1", "Description": "no"}]})
    return handler


@pytest.mark.parametrize("handler, kind", [
    (refused_connection, Unavailable), (timed_out, Unavailable),
    (status(401), AuthFailed), (status(403), AuthFailed), (status(429), RateLimited),
    (status(500), Unavailable), (status(503), Unavailable),
    (status(400, {"Errors": [{"Code": "InvalidTaxNumber", "Description": "VKN hatalı"}]}), Refused),
])
def test_nilvera_lookup_and_fetch_raise_typed_errors_only(handler, kind):
    c = NilveraClient(mock(handler), api_key="k", base_url="http://127.0.0.1:9")
    for call in (lambda: c.lookup("1234567890"), lambda: c.fetch("u", "pdf"),
                 lambda: c.send_store("o", "s")):
        with pytest.raises(kind) as info:
            call()
        assert not isinstance(info.value, httpx.HTTPError)
        assert isinstance(info.value, OperationFailed) and info.value.provider == "nilvera"
    if kind is Refused:
        with pytest.raises(Refused) as info:
            c.lookup("1")
        assert info.value.codes == ("InvalidTaxNumber",) and info.value.http_status == 400


def test_nilvera_fetch_of_an_unknown_document_is_not_found():
    c = NilveraClient(mock(status(404, {})), api_key="k", base_url="http://127.0.0.1:9")
    with pytest.raises(NotFoundError):
        c.fetch("u", "xml")


@pytest.mark.parametrize("handler, kind", [(refused_connection, Unavailable), (status(401), AuthFailed),
                                           (status(429), RateLimited), (status(502), Unavailable)])
def test_hepsiburada_lookup_raises_typed_errors_only(handler, kind):
    c = HepsiburadaClient(mock(handler), base_url="http://127.0.0.1:9/api", username="u", password="p")
    with pytest.raises(kind):
        c.lookup("1234567890")


@pytest.mark.parametrize("handler, kind", [(refused_connection, Unavailable), (status(500), Unavailable),
                                           (status(404, {}), NotFoundError)])
def test_propars_fetch_and_preview_raise_typed_errors_only(handler, kind):
    c = ProparsClient(mock(handler), token="t", base_url="http://127.0.0.1:9")
    doc = make_docs(1)[0]
    with pytest.raises(kind):
        c.fetch(doc.uuid)
    with pytest.raises(OperationFailed):
        c.preview(doc)


# ---------------------------------------------------------------- cancelled is not accepted

def test_a_cancelled_earchive_invoice_is_cancelled_not_accepted():
    with FakeServer(NilveraFake) as fake, httpx.Client(timeout=5) as http:
        c = NilveraClient(http, api_key=NilveraFake.default_credentials["api_key"], base_url=fake.url)
        doc = make_docs(1, "EARSIVFATURA-SATIS.xml")[0]
        assert c.send(doc).outcome is Outcome.ACCEPTED
        assert c.cancel(doc.uuid).outcome is Outcome.ACCEPTED     # the cancellation was accepted
        st = c.status(doc.uuid)
        assert st.outcome is Outcome.CANCELLED and st.final     # old code: ACCEPTED


def test_hepsiburada_cancelled_status_codes_are_cancelled():
    from ubltr.transport.hepsiburada import STATUS_CODES
    assert STATUS_CODES[10][0] is Outcome.CANCELLED and STATUS_CODES[1400][0] is Outcome.CANCELLED


# ---------------------------------------------------------------- credentials with a carriage return

@pytest.mark.parametrize("build", [
    lambda v: NilveraClient(httpx.Client(), api_key=v),
    lambda v: LogoClient(httpx.Client(), firm_id=1, period_no=1, authorization=v),
    lambda v: ProparsClient(httpx.Client(), token=v),
    lambda v: BizimHesapClient(httpx.Client(), firm_id=v),
    lambda v: HepsiburadaClient(httpx.Client(), base_url="http://x", username="u", password=v),
])
def test_a_carriage_return_in_a_credential_is_a_configuration_error(build):
    with pytest.raises(ConfigurationError) as info:
        build("s3cret-value\r")
    assert "s3cret" not in str(info.value) and "U+000D" in str(info.value)


def test_make_client_checks_environment_credentials_before_any_client(monkeypatch):
    monkeypatch.setenv("UBLTR_LOGO_AUTHORIZATION", "Basic abc\r\n")
    with pytest.raises(ConfigurationError, match="authorization"):
        make_client("logo", {"firm_id": 1, "period_no": 1, "base_url": "http://127.0.0.1:9"})


class _RawLogo(LogoClient):
    """A Logo client whose header escaped the constructor's check (e.g. set later)."""


def test_a_request_httpx_cannot_build_leaves_the_invoice_queued_not_in_reconciliation(tmp_path):
    n = json.loads((ROOT / "fixtures" / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))
    for ln in n["lines"]:
        ln.pop("allowances", None)
    n.pop("allowances", None)
    import ubltr

    # the real XML: the payload check compares Logo's body with it before any request
    doc = Document(uuid=n["uuid"], xml=ubltr.build(ubltr.load(n)), invoice_id=n["id"], neutral=n)
    from ubltr.transport.fake.logo import LogoFake

    with FakeServer(LogoFake) as fake, Outbox(str(tmp_path / "ob.sqlite")) as ob:
        client = _RawLogo(httpx.Client(timeout=5), firm_id=1, period_no=1, base_url=fake.url)
        client._headers["Authorization"] = "Basic abc\r\nX-Injected: 1"   # httpx refuses to send this
        ob.add([doc], "logo")
        summary = Sender(ob, client, SendPolicy(workers=1, backoff=0)).run()
        entry = ob.get(doc.uuid)
        # old code: UNKNOWN -> needs_reconciliation for an invoice that never left
        assert entry is not None and entry.state is State.QUEUED, entry
        assert entry.error_code == base.CONFIGURATION and summary.stopped
        assert "needs_reconciliation" not in json.dumps(ob.history(doc.uuid))
        assert fake.stats()["documents"] == 0


def test_send_cli_with_a_carriage_return_credential_exits_2_before_sending(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from ubltr.cli import cli

    monkeypatch.setenv("UBLTR_LOGO_AUTHORIZATION", "Basic s3cret\r")
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"provider": "logo", "firm_id": 1, "period_no": 1, "base_url": "http://127.0.0.1:9",
                               "outbox": str(tmp_path / "ob.sqlite")}))
    r = CliRunner().invoke(cli, ["send", "--config", str(cfg), str(ROOT / "fixtures" / "TEMELFATURA-SATIS.json")])
    assert r.exit_code == 2 and "authorization" in r.output and "s3cret" not in r.output
    with Outbox(str(tmp_path / "ob.sqlite")) as ob:
        assert ob.counts().get("needs_reconciliation") is None
