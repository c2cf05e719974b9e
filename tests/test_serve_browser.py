"""The web page of ``ubltr serve`` in a real headless Chromium (system package), driven
over the DevTools protocol: pick a valid and an invalid invoice and a neutral JSON in the
file input, read the verdict, click a finding and see its line, read the rendered totals
in the invoice frame, switch to English, download the report and the PDF.

Judged against: GİB's sample and its own PayableAmount, GİB's schematron run by saxonche
(the oracle) for the invalid copy, the API's own answers for the downloads."""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import pytest
from conftest import ROOT, shared

from ubltr import view

pytestmark = pytest.mark.skipif(view.find_browser() is None, reason="headless Chromium not installed")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from cdp_pipe import Chromium  # noqa: E402
from serve_live import LiveServer  # noqa: E402

from ubltr.serve import Settings, create_app  # noqa: E402

FIX = ROOT / "fixtures"
GIB_XML = ("gib", "UBLTR_1.2.1_Paketi", "xml")


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(create_app(Settings())) as srv:
        yield srv


@pytest.fixture()
def page(server: LiveServer, tmp_path: Path) -> Iterator[Chromium]:
    browser = Chromium()
    try:
        browser.send("Browser.setDownloadBehavior", session=False, behavior="allow", downloadPath=str(tmp_path / "dl"))
        browser.goto(server.url + "/")
        browser.wait("document.body && document.body.dataset.ready === '1'")
        yield browser
    finally:
        browser.close()


def verdict(b: Chromium) -> tuple[str, str]:
    b.wait("['valid','invalid','unreadable'].includes(document.getElementById('verdict').className)")
    return b.eval("[document.getElementById('verdict').className, document.getElementById('verdict').textContent]")


def frame_text(b: Chromium, needle: str) -> str:
    return b.wait(f"""(() => {{ const d = document.getElementById('rendered').contentDocument;
        const t = d && d.body ? d.body.innerText.replace(/\\s+/g, ' ') : '';
        return t.includes({json.dumps(needle)}) ? t : ''; }})()""")


def wait_file(folder: Path, suffix: str, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}")] if folder.exists() else []
        if done:
            time.sleep(0.3)
            return done[0]
        time.sleep(0.1)
    raise TimeoutError(f"no {suffix} downloaded")


def test_valid_gib_sample_in_turkish_then_english(page: Chromium, tmp_path: Path, oracle: Any) -> None:
    src = shared(*GIB_XML, "SARJ.xml")
    assert oracle.check(src.read_bytes()).ok  # GİB's own rules accept it
    assert page.eval("document.documentElement.lang") == "tr"
    page.set_file("#file", src)
    kind, text = verdict(page)
    assert kind == "valid" and text.startswith("GEÇERLİ"), text
    payable = Decimal(view.load_xml(src.read_bytes()).getroot().findtext(
        "cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=view.NS))
    frame_text(page, view.tr_number(payable))  # the rendered invoice shows GİB's payable amount
    page.screenshot(tmp_path / "valid-tr.png")

    page.click("#lang")
    assert page.wait("document.documentElement.lang === 'en' && document.getElementById('verdict').textContent")\
        .startswith("VALID")
    assert page.eval("document.querySelector('[data-i18n=findings]').textContent") == "Findings"

    page.click("#dl-json")  # the report, as the API (and so the CLI) gives it
    report = json.loads(wait_file(tmp_path / "dl", ".report.json").read_text(encoding="utf-8"))
    assert report["name"] == "SARJ.xml" and report["valid"] is True
    if view.find_browser() is not None:
        page.click("#dl-pdf")
        assert wait_file(tmp_path / "dl", ".pdf").read_bytes()[:5] == b"%PDF-"
    page.click("#lang")  # back to Turkish for the next page (the choice is remembered)
    assert page.wait("document.documentElement.lang === 'tr'")


def test_invalid_invoice_click_a_finding_to_see_its_line(page: Chromium, tmp_path: Path, oracle: Any) -> None:
    good = (FIX / "TEMELFATURA-SATIS.xml").read_bytes()
    bad = re.sub(rb'(<cbc:PayableAmount currencyID="TRY">)57494\.67', rb"\g<1>57494,67", good, count=1)
    assert bad != good and not oracle.check(bad).ok  # GİB rejects it
    doc = tmp_path / "fatura-hatali.xml"
    doc.write_bytes(bad)
    page.set_file("#file", doc)
    kind, text = verdict(page)
    assert kind == "invalid" and text.startswith("GEÇERSİZ"), text
    findings = page.eval("""[...document.querySelectorAll('#findings li')].map(li => ({
        rule: li.querySelector('.rule').textContent, line: li.dataset.line || null,
        fix: (li.querySelector('.fix') || {}).textContent || null,
        codes: (li.querySelector('.codes') || {}).textContent || null}))""")
    rules = {f["rule"] for f in findings}
    assert page.eval("document.querySelector('#findings .sev').textContent") == "HATA"
    assert "gib:decimalCheck-1" in rules and any(r.startswith("xsd:") for r in rules), rules
    assert any(f["fix"] for f in findings) and any(f["codes"] for f in findings)
    page.click("#findings li[data-line]")
    line = page.eval("document.querySelector('#findings li.active').dataset.line")
    current = page.wait("(document.querySelector('#source .current') || {}).id")
    assert current == f"L{line}"
    assert "57494,67" in page.eval("document.querySelector('#source .current').textContent")
    # the line is scrolled into view: inside the source box and inside the window
    assert page.eval("""(() => { const pre = document.getElementById('source'), c = pre.querySelector('.current');
        const b = pre.getBoundingClientRect(), r = c.getBoundingClientRect();
        return r.top >= b.top && r.bottom <= b.bottom && r.top >= 0 && r.bottom <= window.innerHeight; })()""")
    frame_text(page, "ABC2026000000001")  # an invalid invoice is still shown beside its findings
    page.screenshot(tmp_path / "invalid-tr.png")


def test_drop_a_file_and_pick_a_provider(page: Chromium) -> None:
    """A file dropped on the zone (a drop event carrying the file, as the browser makes
    it for a drag from the desktop) is checked like a picked one; choosing a provider
    checks it again and marks that provider's code on each finding."""
    xml = (FIX / "TEMELFATURA-SATIS.xml").read_text(encoding="utf-8")
    bad = xml.replace("<cbc:PayableAmount currencyID=\"TRY\">57494.67", "<cbc:PayableAmount currencyID=\"TRY\">57494,67", 1)
    assert bad != xml
    page.eval(f"""(() => {{ const dt = new DataTransfer();
        dt.items.add(new File([{json.dumps(bad)}], 'birakilan.xml', {{type: 'application/xml'}}));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', {{dataTransfer: dt, bubbles: true, cancelable: true}}));
        return true; }})()""")
    kind, _ = verdict(page)
    assert kind == "invalid"
    assert page.eval("[...document.querySelectorAll('#findings .codes')].every(e => !e.textContent.includes('▶'))")
    page.eval("(() => { const s = document.getElementById('provider'); s.value = 'nilvera';"
              " s.dispatchEvent(new Event('change')); return true; })()")
    marked = page.wait("[...document.querySelectorAll('#findings .codes')].map(e => e.textContent)"
                       ".filter(t => t.includes('▶ nilvera: SchemaSchematronError')).length")
    assert marked >= 1


def test_neutral_json_built_checked_and_rendered(page: Chromium, tmp_path: Path) -> None:
    page.set_file("#file", FIX / "TEMELFATURA-TEVKIFAT.json")
    kind, _ = verdict(page)
    assert kind == "valid"
    assert page.eval("!document.getElementById('dl-xml').hidden")
    from ubltr import compute, loads

    inv = loads((FIX / "TEMELFATURA-TEVKIFAT.json").read_bytes())
    frame_text(page, view.tr_number(compute(inv).payable))

    bad = tmp_path / "bad.json"
    data = json.loads((FIX / "TEMELFATURA-TEVKIFAT.json").read_text(encoding="utf-8"))
    data["issue_date"] = "2026-02-30"
    data["lines"][0]["quantity"] = "1,5"
    bad.write_text(json.dumps(data), encoding="utf-8")
    page.set_file("#file", bad)
    page.wait("document.getElementById('verdict').textContent.startsWith('GİRDİ HATALI')")
    paths = page.eval("[...document.querySelectorAll('#findings .rule')].map(e => e.textContent)")
    assert {"issue_date", "lines[0].quantity"} <= set(paths)


def test_page_with_api_keys(tmp_path: Path) -> None:
    """With keys on, the page asks for one: without it the check fails with the server's
    message, with it the document is checked and the providers are listed."""
    key = "page-key-1234567890"
    with LiveServer(create_app(Settings(api_keys=frozenset({key})))) as srv:
        b = Chromium()
        try:
            b.goto(srv.url + "/")
            b.wait("document.body && document.body.dataset.ready === '1'")
            assert b.eval("!document.getElementById('key-box').hidden")
            b.set_file("#file", FIX / "TEMELFATURA-SATIS.xml")
            assert "API key" in b.wait("!document.getElementById('error').hidden && document.getElementById('error').textContent")
            b.eval(f"""(() => {{ const k = document.getElementById('api-key'); k.value = {json.dumps(key)};
                k.dispatchEvent(new Event('change')); return true; }})()""")
            b.wait("document.getElementById('provider').options.length > 1")
            b.set_file("#file", FIX / "TEMELFATURA-TEVKIFAT.xml")
            kind, _ = verdict(b)
            assert kind == "valid"
        finally:
            b.close()
