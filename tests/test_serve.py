"""ubltr serve: the HTTP API, called with httpx against the ASGI app, with a real
uvicorn on 127.0.0.1 (raw sockets for the streamed batch, the ``ubltr serve`` command
itself), and with schemathesis against the service's own OpenAPI document.

Judged against: the CLI's own output bytes (``ubltr validate --format json|junit``,
``ubltr build``), GİB's schematron run by saxonche (the oracle), GİB's samples in
../shared, hand arithmetic from the tax law."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ROOT, shared

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from serve_live import LiveServer  # noqa: E402

from ubltr import view  # noqa: E402
from ubltr.serve import Settings, create_app  # noqa: E402

FIX = ROOT / "fixtures"
GIB_XML = ("gib", "UBLTR_1.2.1_Paketi", "xml")
CLI = [sys.executable, "-m", "ubltr.cli"]


def call(app: Any, method: str, path: str, *, raise_app_exceptions: bool = True, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url="http://ubltr.test") as c:
            return await c.request(method, path, **kw)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(Settings())


def cli(*args: str, cwd: Path = ROOT, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, input=stdin, check=False)


# ------------------------------------------------------------------ /validate = the CLI's bytes

def _cases() -> list[tuple[str, Path]]:
    base = ROOT.parent / "shared"
    return [
        ("fixture", FIX / "TEMELFATURA-SATIS.xml"),
        ("gib-valid", base.joinpath(*GIB_XML, "TEVKIFAT.xml")),
        ("gib-envelope", base / "gib" / "e-FaturaPaketi" / "xml" / "1_TEMEL_FATURA_ZARF.xml"),
        ("gib-answer", base.joinpath(*GIB_XML, "KabulUygulamaYanitiOrnegi.xml")),
    ]


@pytest.mark.parametrize("label,path", _cases(), ids=[c[0] for c in _cases()])
def test_validate_is_the_cli_report_byte_for_byte(app: Any, label: str, path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not present")
    data = path.read_bytes()
    for args, params in (((), {}), (("--provider", "nilvera"), {"provider": "nilvera"})):
        want = cli("validate", path.name, "--format", "json", *args, cwd=path.parent).stdout
        got = call(app, "POST", "/validate", content=data, params={"name": path.name, **params})
        assert got.status_code == 200
        assert got.content == want, label
    # a multipart upload names the document by its file name, as the CLI does by its path
    got = call(app, "POST", "/validate", files={"file": (path.name, data, "application/xml")})
    assert got.content == cli("validate", path.name, "--format", "json", cwd=path.parent).stdout
    junit = call(app, "POST", "/validate", content=data, params={"name": path.name, "format": "junit"})
    assert junit.content == cli("validate", path.name, "--format", "junit", cwd=path.parent).stdout


def test_validate_invalid_and_unreadable_documents(app: Any, tmp_path: Path, oracle: Any) -> None:
    good = (FIX / "TEMELFATURA-SATIS.xml").read_bytes()
    # a real defect GİB rejects: the invoice number breaks GİB's pattern (3 letters + year + 9 digits)
    bad = re.sub(rb"(<cbc:ID>)[A-Z]{3}(\d{13}</cbc:ID>)", rb"\1ab\2", good, count=1)
    assert bad != good
    assert not oracle.check(bad).ok  # GİB itself rejects it
    for data, name in ((bad, "bad.xml"), (b"<Invoice", "broken.xml"), (b"", "empty.xml"),
                       (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "xxe.xml")):
        (tmp_path / name).write_bytes(data)
        want = cli("validate", name, "--format", "json", cwd=tmp_path)
        got = call(app, "POST", "/validate", content=data, params={"name": name})
        assert got.status_code == 200, got.text
        assert got.content == want.stdout, name
        report = got.json()
        assert report["valid"] is False and report["findings"], name
        assert got.headers["x-ubltr-valid"] == "false"
        assert "root:" not in got.text  # nothing of /etc/passwd


def test_validate_bad_parameters_are_json_errors(app: Any) -> None:
    for params, code in (({"provider": "nosuch"}, "unknown-provider"), ({"format": "text"}, "bad-parameter"),
                         ({"type": "x"}, "bad-parameter"), ({"strict": "maybe"}, "bad-parameter")):
        r = call(app, "POST", "/validate", content=b"<x/>", params=params)
        assert r.status_code == 400 and r.json()["error"] == code, params
    r = call(app, "POST", "/validate", content=b"--x--", headers={"content-type": "multipart/form-data; boundary=x"})
    assert r.status_code == 400 and r.json()["error"] in ("no-file", "bad-multipart")
    r = call(app, "GET", "/nowhere")
    assert r.status_code == 404 and r.json()["error"] == "not-found"
    r = call(app, "GET", "/validate")
    assert r.status_code == 405 and r.json()["error"] == "method-not-allowed"


# ------------------------------------------------------------------ /build, /totals, /parse, /render

def test_build_is_the_cli_xml_and_gib_accepts_it(app: Any, oracle: Any) -> None:
    for name in ("TEMELFATURA-SATIS.json", "TEMELFATURA-TEVKIFAT.json", "EARSIVFATURA-SATIS.json"):
        data = (FIX / name).read_bytes()
        r = call(app, "POST", "/build", content=data, headers={"content-type": "application/json"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
        assert r.content == cli("build", str(FIX / name)).stdout, name
        stype = "earchive" if name.startswith("EARSIV") else "efatura"
        result = oracle.check(r.content, stype)
        assert result.ok, f"{name}: {result}"


def test_build_input_errors_are_422_with_paths(app: Any) -> None:
    bad = {"profile": "TEMELFATURA", "type": "IADE", "issue_date": "2026-02-30",
           "supplier": {"vkn": "1234567891", "name": "X", "address": {"district": "a", "city": "b"}},
           "customer": {"tckn": "10000000146", "first_name": "A", "last_name": "B", "address": {"district": "a", "city": "b"}},
           "lines": [{"name": "x", "quantity": "1,5", "unit": "C62", "unit_price": "10",
                      "taxes": [{"code": "0015", "percent": "20"}]}]}
    r = call(app, "POST", "/build", json=bad)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid-input"
    paths = {p["path"] for p in body["problems"]}
    assert {"issue_date", "supplier.vkn", "lines[0].quantity", "billing_references"} <= paths
    cli_lines = cli("build", "-", stdin=json.dumps(bad).encode()).stderr.decode().splitlines()[1:]
    assert sorted(f"{p['path']}: {p['message']}" for p in body["problems"]) == sorted(cli_lines)
    for raw, where in ((b"{not json", ""), (b"\xff\xfe{}", ""), (b"[]", "")):
        r = call(app, "POST", "/build", content=raw)
        assert r.status_code == 422 and r.json()["problems"], raw
        assert "Traceback" not in r.text


def test_totals_by_hand(app: Any) -> None:
    """3 × 10.00 at 20 % KDV, less a 2.50 line allowance: 27.50 + 5.50 = 33.00 (by hand)."""
    inv = json.loads((FIX / "TEMELFATURA-SATIS.json").read_text(encoding="utf-8"))
    inv["lines"] = [{"name": "Kalem", "quantity": "3", "unit": "C62", "unit_price": "10.00",
                     "allowances": [{"amount": "2.50"}],
                     "taxes": [{"code": "0015", "percent": "20"}]}]
    r = call(app, "POST", "/totals", json=inv)
    assert r.status_code == 200, r.text
    t = r.json()
    assert (Decimal(t["line_extension"]), Decimal(t["tax_total"]), Decimal(t["payable"])) == \
        (Decimal("27.50"), Decimal("5.50"), Decimal("33.00"))
    assert t == json.loads(cli("totals", "-", stdin=json.dumps(inv).encode()).stdout)


def test_parse_reads_gib_sample(app: Any) -> None:
    from lxml import etree

    path = shared(*GIB_XML, "TEVKIFAT.xml")
    r = call(app, "POST", "/parse", content=path.read_bytes())
    assert r.status_code == 200, r.text
    got = r.json()
    root = etree.fromstring(path.read_bytes())
    ns = view.NS
    assert got["id"] == root.findtext("cbc:ID", namespaces=ns)
    assert got["issue_date"] == root.findtext("cbc:IssueDate", namespaces=ns)
    vkn = root.findtext("cac:AccountingSupplierParty/cac:Party/cac:PartyIdentification/cbc:ID[@schemeID='VKN']", namespaces=ns)
    assert got["supplier"]["vkn"] == vkn
    assert len(got["lines"]) == len(root.findall("cac:InvoiceLine", ns))
    r = call(app, "POST", "/parse", content=shared(*GIB_XML, "KabulUygulamaYanitiOrnegi.xml").read_bytes())
    assert r.status_code == 422 and "Invoice" in r.json()["message"]


def test_render_html_and_pdf(app: Any) -> None:
    path = shared(*GIB_XML, "TEVKIFAT.xml")
    data = path.read_bytes()
    r = call(app, "POST", "/render", content=data, params={"default_template": "true"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    payable = Decimal(view.load_xml(data).getroot().findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=view.NS))
    assert view.tr_number(payable) in r.text
    assert r.content == view.render_html(data, use_embedded=False).html
    bad = call(app, "POST", "/render", content=b"<a")
    assert bad.status_code == 422 and bad.json()["error"] == "unreadable"
    if view.find_browser() is None:
        assert call(app, "POST", "/render", content=data, params={"format": "pdf"}).status_code == 501
        return
    pdf = call(app, "POST", "/render", content=data, params={"format": "pdf"})
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"


# ------------------------------------------------------------------ /batch

def _batch_body() -> bytes:
    xml = (FIX / "TEMELFATURA-SATIS.xml").read_text(encoding="utf-8")
    inv = json.loads((FIX / "TEMELFATURA-TEVKIFAT.json").read_text(encoding="utf-8"))
    lines = [json.dumps({"id": "a", "xml": xml}), "", "not json", json.dumps({"id": "c", "invoice": inv}),
             json.dumps({"id": "d", "invoice": {"profile": "TEMELFATURA"}}), json.dumps(["x"]),
             json.dumps({"id": "f", "xml": "<Invoice"})]
    return ("\n".join(lines) + "\n").encode()


def test_batch_answers_each_line_in_order(app: Any, oracle: Any) -> None:
    r = call(app, "POST", "/batch", content=_batch_body())
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-ndjson"
    out = [json.loads(x) for x in r.text.splitlines()]
    assert [o["line"] for o in out] == [1, 3, 4, 5, 6, 7]
    assert [o["ok"] for o in out] == [True, False, True, False, False, True]
    assert out[0]["id"] == "a" and out[0]["valid"] is True
    assert out[0]["report"] == json.loads(call(app, "POST", "/validate", content=(FIX / "TEMELFATURA-SATIS.xml").read_bytes(),
                                                params={"name": "a"}).content)
    assert out[1]["error"] == "bad-json"
    assert out[2]["valid"] is True and oracle.check(out[2]["xml"].encode()).ok
    assert out[3]["error"] == "invalid-input" and "invoice.issue_date" in {p["path"] for p in out[3]["problems"]}
    assert out[4]["error"] == "bad-line"
    assert out[5]["valid"] is False and out[5]["report"]["readable"] is False


def test_batch_streams_answers_before_the_input_ends() -> None:
    """Over a real socket: the first answer arrives while the request is still open."""
    xml = (FIX / "TEMELFATURA-SATIS.xml").read_text(encoding="utf-8")
    line = (json.dumps({"id": 1, "xml": xml}) + "\n").encode()
    with LiveServer(create_app(Settings())) as srv, socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(b"POST /batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        s.sendall(b"%x\r\n%s\r\n" % (len(line), line))
        got = b""
        while b'"line": 1' not in got:
            chunk = s.recv(65536)
            assert chunk, "connection closed before the first answer"
            got += chunk
        assert b" 200 " in got.split(b"\r\n", 1)[0]
        s.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(line), line))
        while b'"line": 2' not in got:
            chunk = s.recv(65536)
            assert chunk
            got += chunk


# ------------------------------------------------------------------ limits, errors, keys, log

def test_body_limit() -> None:
    small = create_app(Settings(max_body=1000))
    big = b"<a>" + b"x" * 2000 + b"</a>"
    r = call(small, "POST", "/validate", content=big)
    assert r.status_code == 413 and r.json()["error"] == "too-large"

    async def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(5):
            yield b"x" * 400

    r = call(small, "POST", "/validate", content=chunks())
    assert r.status_code == 413
    long_line = b'{"xml": "' + b"x" * 2000 + b'"}'
    r = call(small, "POST", "/batch", content=long_line + b"\n" + b'{"xml": "<a/>"}\n')
    out = [json.loads(x) for x in r.text.splitlines()]  # a long line is refused, the batch goes on
    assert [(o["line"], o.get("error")) for o in out] == [(1, "too-large"), (2, None)]

    async def unending():  # a line that never ends: the stream stops with a last line saying why
        yield b'{"xml": "<a/>"}\n'
        for _ in range(5):
            yield b"x" * 400

    out = [json.loads(x) for x in call(small, "POST", "/batch", content=unending()).text.splitlines()]
    assert out[0]["line"] == 1 and out[0]["ok"] is True
    assert out[-1]["error"] == "too-large" and out[-1]["fatal"] is True


def test_time_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import ubltr.commands.validate as cv

    release = threading.Event()
    monkeypatch.setattr(cv, "report_dict", lambda *a, **k: release.wait(10) and {})
    try:
        r = call(create_app(Settings(timeout=0.2)), "POST", "/validate", content=b"<x/>")
    finally:
        release.set()
    assert r.status_code == 504 and r.json()["error"] == "timeout"


def test_concurrency_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import ubltr.commands.validate as cv

    real = cv.report_dict
    started, release = threading.Event(), threading.Event()

    def slow(*a: Any, **k: Any) -> dict:
        started.set()
        release.wait(10)
        return real(*a, **k)

    monkeypatch.setattr(cv, "report_dict", slow)
    app = create_app(Settings(concurrency=1, queue_wait=0.2))
    data = (FIX / "TEMELFATURA-SATIS.xml").read_bytes()

    async def go() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            first = asyncio.create_task(c.post("/validate", content=data))
            while not started.is_set():
                await asyncio.sleep(0.01)
            second = await c.post("/validate", content=data)  # the only slot is taken
            release.set()
            return await first, second

    first, second = asyncio.run(go())
    assert first.status_code == 200 and first.json()["valid"] is True
    assert second.status_code == 503 and second.json()["error"] == "busy"


def test_no_stack_trace_ever(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import ubltr.commands.validate as cv

    def boom(*a: Any, **k: Any) -> dict:
        raise RuntimeError("secret-internal-detail at /srv/x.py")

    monkeypatch.setattr(cv, "report_dict", boom)
    with caplog.at_level(logging.ERROR, logger="ubltr.serve.error"):
        # (as a server sees it: the app's exception is not re-raised into the client)
        r = call(create_app(Settings()), "POST", "/validate", content=b"<x/>", raise_app_exceptions=False)
    assert r.status_code == 500 and r.json()["error"] == "internal"
    assert "secret-internal-detail" not in r.text and "Traceback" not in r.text
    incident = re.search(r"incident (\w+)", r.json()["message"]).group(1)
    assert any(incident in rec.getMessage() for rec in caplog.records)  # the trace is in the server log


def test_api_keys_and_access_log(caplog: pytest.LogCaptureFixture) -> None:
    key = "k-9f2c-very-secret-value"
    app = create_app(Settings(api_keys=frozenset({key})))
    data = (FIX / "TEMELFATURA-SATIS.xml").read_bytes()
    with caplog.at_level(logging.INFO, logger="ubltr.serve.access"):
        assert call(app, "GET", "/health").status_code == 200  # open: for load balancers
        assert call(app, "GET", "/").status_code == 200  # the page asks for the key itself
        r = call(app, "POST", "/validate", content=data)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        assert call(app, "POST", "/validate", content=data, headers={"X-API-Key": "wrong"}).status_code == 401
        assert call(app, "POST", "/validate", content=data, headers={"X-API-Key": key}).status_code == 200
        assert call(app, "POST", "/validate?name=x", content=data,
                    headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert call(app, "GET", "/rules", headers={"X-API-Key": key}).status_code == 200
    log = "\n".join(rec.getMessage() for rec in caplog.records if rec.name == "ubltr.serve.access")
    assert '"POST /validate" 401' in log and '"POST /validate" 200' in log
    assert key not in log and "wrong" not in log and "name=x" not in log
    assert f"key={__import__('hashlib').sha256(key.encode()).hexdigest()[:8]}" in log


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# ops\nabc\n\ndef\n", encoding="utf-8")
    monkeypatch.setenv("UBLTR_API_KEYS_FILE", str(keys))
    monkeypatch.setenv("UBLTR_API_KEYS", "ghi")
    monkeypatch.setenv("UBLTR_SERVE_MAX_BODY", "123")
    s = Settings.from_env()
    assert s.api_keys == {"abc", "def", "ghi"} and s.max_body == 123


def test_health_rules_and_page(app: Any) -> None:
    h = call(app, "GET", "/health").json()
    assert h["status"] == "ok" and isinstance(h["pdf"], bool)
    rules = call(app, "GET", "/rules").json()
    from ubltr.official import describe, read_history, release_of_history

    assert {k: rules[k] for k in ("gib", "xsd", "ubltr")} == describe()  # what `ubltr rules --json` says
    history = Path(__file__).resolve().parents[2] / "shared" / "gib" / "e-FaturaPaketi-20260701" / "schematron" / "History.txt"
    if history.exists():  # the release GİB's own History.txt names last
        assert rules["gib"]["release"] == release_of_history(read_history(history)) == "20260701"
    assert rules["rulesets"]["gib"]["official"] == "gib"
    assert "nilvera" in rules["providers"]
    page = call(app, "GET", "/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    # offline: the page and its files name no other host
    for text in (page.text, call(app, "GET", "/static/app.js").text, call(app, "GET", "/static/app.css").text):
        assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", text)
        assert "http://" not in text and "https://" not in text
    assert call(app, "GET", "/static/../app.py").status_code == 404
    assert call(app, "GET", "/static/nope.js").status_code == 404


# ------------------------------------------------------------------ a real server

def test_ubltr_serve_command_on_127_0_0_1(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "UBLTR_API_KEYS": ""}
    proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "ubltr serve did not answer"
            time.sleep(0.2)
        data = (FIX / "TEMELFATURA-SATIS.xml").read_bytes()
        r = httpx.post(url + "/validate", content=data, params={"name": "TEMELFATURA-SATIS.xml"}, timeout=60)
        assert r.content == cli("validate", "TEMELFATURA-SATIS.xml", "--format", "json", cwd=FIX).stdout
        assert "ubltr" in httpx.get(url + "/", timeout=10).text
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err
    assert b'"POST /validate" 200' in err  # the access log


def test_serve_bad_options() -> None:
    r = cli("serve", "--api-keys-file", "/nonexistent/keys")
    assert r.returncode == 2 and b"no such file" in r.stderr and b"Traceback" not in r.stderr


# ------------------------------------------------------------------ the OpenAPI contract

def _openapi_tests() -> Any:
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, settings
    from schemathesis import checks
    from schemathesis.config import SchemathesisConfig

    @schemathesis.serializer("application/x-ndjson")
    def ndjson(ctx: Any, value: Any) -> bytes:  # the schema says: NDJSON text
        return value.encode("utf-8") if isinstance(value, str) else (json.dumps(value) + "\n").encode()

    config = SchemathesisConfig.from_dict({"generation": {"mode": "all"}})
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(Settings(max_body=200_000)), config=config)
    conformance = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
                   checks.response_schema_conformance]

    @schema.parametrize()
    @settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    def test_api_conforms_to_its_openapi(case: Any) -> None:
        case.call_and_validate(checks=conformance)

    return test_api_conforms_to_its_openapi


test_api_conforms_to_its_openapi = _openapi_tests()


def test_concurrent_requests_get_the_sequential_reports() -> None:
    """Many documents at once through 4 work slots: every answer is the report the
    document gets alone (lxml's XMLSchema error_log is per schema object, so parallel
    runs in threads lost XSD errors: HKS-Ornek1.xml judged valid)."""
    from ubltr.commands.validate import json_report, report_dict

    folder = ROOT.parent / "shared" / "gib" / "UBLTR_1.2.1_Paketi" / "xml"
    paths = sorted(FIX.glob("*.xml"))[:20] + (sorted(folder.glob("*.xml")) if folder.is_dir() else [])
    docs = [(p.name, p.read_bytes()) for p in paths]
    # and copies with an XSD error of their own (a decimal comma in PayableAmount)
    docs += [(f"comma-{n}", re.sub(rb'(<cbc:PayableAmount currencyID="[A-Z]+">)(\d+)\.(\d+)', rb"\1\2,\3", d, count=1))
             for n, d in docs[:20]]
    want = {n: json_report([report_dict(d, name=n)]).encode() for n, d in docs}
    assert any(b'"valid": false' in w and b'"xsd:' in w for w in want.values())  # some have XSD errors to lose
    app = create_app(Settings(concurrency=4))

    async def go() -> list[tuple[str, httpx.Response]]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=120) as c:
            sem = asyncio.Semaphore(8)

            async def one(name: str, data: bytes) -> tuple[str, httpx.Response]:
                async with sem:
                    return name, await c.post("/validate", content=data, params={"name": name})

            return await asyncio.gather(*(one(n, d) for _ in range(15) for n, d in docs))

    wrong = [n for n, r in asyncio.run(go()) if r.status_code != 200 or r.content != want[n]]
    assert not wrong, f"{len(wrong)} reports differ from the document's own, e.g. {wrong[:3]}"
