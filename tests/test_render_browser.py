"""ubltr render in a real headless browser: GİB's samples (our template and the
documents' own XSLT) are screenshotted by Chromium; the page must not be blank, the
payable total must be in the rendered DOM, and the Karekod read back from the
screenshot (OpenCV's reader) must be the payload.  Skips cleanly when Chromium is absent
(scripts/test.sh installs it under CI)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import shared
from lxml import html as lhtml

from ubltr import view

pytestmark = pytest.mark.skipif(view.find_browser() is None, reason="headless Chromium not installed")

Image = pytest.importorskip("PIL.Image")

GIB_XML = ("gib", "UBLTR_1.2.1_Paketi", "xml")
# (sample, use the document's embedded XSLT?)
CASES = [
    (GIB_XML + ("TEVKIFAT.xml",), False),  # our template: withholding, e-FATURA
    (GIB_XML + ("YTB_Satıs_EArşiv.xml",), True),  # the document's own XSLT (GİB e-Arşiv viewer)
    (GIB_XML + ("YTB_Tevkıfat_Efatura.xml",), False),  # our template on an e-Fatura that has its own XSLT
]


def screenshot(html_path: Path, png: Path) -> None:
    proc = view.run_browser(
        ["--window-size=1240,1754", "--force-device-scale-factor=2", f"--screenshot={png}"],
        html_path.resolve().as_uri(),
    )
    assert png.exists(), proc.stderr.decode("utf-8", "replace")[-500:]


def dom_text(html_path: Path) -> str:
    proc = view.run_browser(["--dump-dom", "--virtual-time-budget=3000"], html_path.resolve().as_uri())
    dom = proc.stdout.decode("utf-8", "replace")
    assert "<body" in dom.lower(), proc.stderr.decode("utf-8", "replace")[-500:]
    return " ".join(lhtml.fromstring(dom).text_content().split())


def ink(png: Path) -> float:
    """Share of pixels that are clearly not white."""
    img = Image.open(png).convert("L")
    hist = img.histogram()
    dark = sum(hist[:200])
    return dark / (img.width * img.height)


@pytest.mark.parametrize("parts,embedded", CASES, ids=[c[0][-1] for c in CASES])
def test_sample_renders_in_chromium(parts: tuple[str, ...], embedded: bool, tmp_path: Path) -> None:
    src = shared(*parts)
    data = src.read_bytes()
    result = view.render_html(data, use_embedded=embedded)
    assert result.source == ("embedded" if embedded else "default")
    page = tmp_path / "page.html"
    page.write_bytes(result.html)

    png = tmp_path / "page.png"
    screenshot(page, png)
    assert ink(png) > 0.01, "screenshot is (nearly) blank"

    root = view.load_xml(data).getroot()
    payable = Decimal(root.findtext("cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=view.NS).strip())
    text = dom_text(page)
    assert view.tr_number(payable) in text, f"payable {payable} not on the page"

    if not embedded:
        cv2 = pytest.importorskip("cv2")  # OpenCV: a reader independent of ubltr's encoder
        np = pytest.importorskip("numpy")
        shot = np.asarray(Image.open(png).convert("L"))
        texts = [d.detectAndDecode(shot)[0] for d in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector())]
        assert any(texts), "Karekod not readable from the screenshot"
        decoded = json.loads(next(t for t in texts if t))
        assert decoded == view.read_view(view.load_xml(data)).qr
        assert Decimal(decoded["odenecek"]) == payable


def test_cli_pdf(tmp_path: Path) -> None:
    out = tmp_path / "fatura.html"
    proc = subprocess.run(
        [sys.executable, "-m", "ubltr.cli", "render", str(shared(*GIB_XML, "OTV.xml")), "-o", str(out), "--pdf"],
        capture_output=True, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    pdf = out.with_suffix(".pdf")
    assert out.exists() and pdf.read_bytes()[:5] == b"%PDF-"
    assert re.search(rb"/Type\s*/Page\b", pdf.read_bytes())
