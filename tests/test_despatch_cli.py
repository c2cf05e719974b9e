"""e-İrsaliye on the command line as a user runs it: `ubltr build` / `parse` /
`validate` / `sign` / `verify` / `render` choose the document kind from the JSON's
"document" key or the XML root; exit codes, stderr, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT, shared

FIX = ROOT / "fixtures" / "despatch"


def run(*args, stdin: bytes | None = None, env: dict | None = None):
    import os

    return subprocess.run([sys.executable, "-m", "ubltr.cli", *args], input=stdin, capture_output=True,
                          cwd=ROOT, timeout=180, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("name", ["TEMELIRSALIYE-SEVK", "HKSIRSALIYE-MATBUDAN", "RECEIPT-KISMI"])
def test_build_parse_build_is_the_golden_xml(name, tmp_path):
    xml, js = tmp_path / "o.xml", tmp_path / "o.json"
    r = run("build", str(FIX / f"{name}.json"), "-o", str(xml))
    assert r.returncode == 0, r.stderr
    assert xml.read_bytes() == (FIX / f"{name}.xml").read_bytes()
    r = run("parse", str(xml), "-o", str(js))
    assert r.returncode == 0, r.stderr
    assert json.loads(js.read_text(encoding="utf-8"))["document"] in ("despatch", "receipt")
    r = run("build", "-", stdin=js.read_bytes())
    assert r.returncode == 0 and r.stdout == xml.read_bytes(), r.stderr


def test_bad_despatch_exit_2_with_paths_and_no_traceback():
    d = json.loads((FIX / "TEMELIRSALIYE-SEVK.json").read_text(encoding="utf-8"))
    d["shipment"]["vehicle_plates"][0]["id"] = "34 ABC 123"
    d["lines"][0]["quantity"] = "1,5"
    r = run("build", "-", stdin=json.dumps(d).encode())
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err
    assert "error(s) in the despatch" in err
    assert "shipment.vehicle_plates[0].id:" in err and "lines[0].quantity:" in err


def test_kind_specific_refusals():
    r = run("build", str(FIX / "RECEIPT-KABUL.json"), "--number", "7")
    assert r.returncode == 2 and "--number applies to invoices" in r.stderr.decode()
    r = run("totals", str(FIX / "TEMELIRSALIYE-SEVK.json"))
    assert r.returncode == 2 and "has no totals" in r.stderr.decode()
    r = run("build", "-", stdin=b'{"document": "irsaliye"}')
    assert r.returncode == 2 and "document:" in r.stderr.decode() and "Traceback" not in r.stderr.decode()
    r = run("parse", "-", stdin=b"<DespatchAdvice")
    assert r.returncode == 2 and "Traceback" not in r.stderr.decode()


def test_parse_reads_gibs_receipt_sample():
    r = run("parse", str(shared("gib", "UBLTR_1.2.1_Paketi", "xml", "IrsaliyeYaniti-Ornek3.xml")))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["document"] == "receipt" and any("rejected_quantity" in ln for ln in out["lines"])


def test_validate_sign_verify_render(tmp_path):
    from ubltr.testing import make_test_seal
    from cryptography.hazmat.primitives import serialization

    key, chain = make_test_seal(vkn="1234567890")
    (tmp_path / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    (tmp_path / "c.pem").write_bytes(chain[0].public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.pem").write_bytes(chain[1].public_bytes(serialization.Encoding.PEM))
    src = FIX / "IDISIRSALIYE-SEVK.xml"
    r = run("validate", str(src))
    assert r.returncode == 0 and "DespatchAdvice / IDISIRSALIYE / SEVK" in r.stdout.decode(), r.stdout
    signed = tmp_path / "s.xml"
    r = run("sign", str(src), "-o", str(signed), "--key", str(tmp_path / "k.pem"), "--cert", str(tmp_path / "c.pem"),
            "--chain", str(tmp_path / "ca.pem"))
    assert r.returncode == 0, r.stderr
    r = run("verify", str(signed), "--ca", str(tmp_path / "ca.pem"))
    assert r.returncode == 0 and "VALID" in r.stdout.decode(), r.stdout
    r = run("validate", str(signed))
    assert r.returncode == 0, r.stdout
    html = tmp_path / "s.html"
    r = run("render", str(signed), "-o", str(html))
    assert r.returncode == 0, r.stderr
    text = html.read_text(encoding="utf-8")
    assert "e-İRSALİYE" in text and "06DR4077" in text and "SE-1234567" in text


@pytest.mark.parametrize("name", ["TEMELIRSALIYE-SEVK.xml", "RECEIPT-KABUL.json"])
def test_send_refuses_despatches_no_transport_carries_them(name, tmp_path):
    """No provider ubltr talks to documents sending e-İrsaliye through the API ubltr
    uses (README): a despatch must not be queued for an invoice endpoint."""
    (tmp_path / "c.json").write_text('{"api_key": "x", "base_url": "http://127.0.0.1:9"}')
    r = subprocess.run([sys.executable, "-m", "ubltr.cli", "send", "--provider", "nilvera", "--config", "c.json",
                        "--outbox", str(tmp_path / "o.sqlite"), str(FIX / name)],
                       capture_output=True, cwd=tmp_path, timeout=180)
    err = r.stderr.decode()
    assert r.returncode == 2 and "cannot be sent" in err and "Traceback" not in err, err
    assert not (tmp_path / "o.sqlite").exists() or b"IRS2026" not in (tmp_path / "o.sqlite").read_bytes()
