"""`ubltr build` / `ubltr totals` as a user runs them: exit codes, stderr, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "fixtures" / "TEMELFATURA-SATIS.json"


def run(*args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "ubltr.cli", *args], input=stdin,
                          capture_output=True, cwd=ROOT, timeout=120)


def test_help_lists_every_command():
    out = run("--help").stdout.decode()
    for cmd in ["build", "totals", "validate", "explain", "sign", "verify", "render", "send", "outbox", "fake-provider"]:
        assert cmd in out, cmd


def test_build_to_file_and_stdout(tmp_path):
    out = tmp_path / "o.xml"
    r = run("build", str(FIX), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == FIX.with_suffix(".xml").read_bytes()
    r2 = run("build", "-", stdin=FIX.read_bytes())
    assert r2.returncode == 0 and r2.stdout == out.read_bytes()


def test_invalid_input_exit_2_with_paths_and_no_traceback():
    d = json.loads(FIX.read_text(encoding="utf-8"))
    d["lines"][0]["quantity"] = "1,5"
    d["supplier"]["vkn"] = "1111111111"
    d["bogus"] = True
    r = run("build", "-", stdin=json.dumps(d).encode())
    err = r.stderr.decode()
    assert r.returncode == 2
    assert "Traceback" not in err
    for line in ["lines[0].quantity:", "supplier.vkn:", "bogus: unknown key"]:
        assert line in err
    assert r.stdout == b""


def test_missing_file_and_bad_json_exit_2():
    r = run("build", "/no/such/file.json")
    assert r.returncode == 2 and b"no such file" in r.stderr and b"Traceback" not in r.stderr
    r = run("build", "-", stdin=b"{not json")
    assert r.returncode == 2 and b"not valid JSON" in r.stderr


def test_totals_prints_the_engines_json():
    r = run("totals", str(FIX))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    from ubltr.calc import compute
    from ubltr.model import load

    t = compute(load(json.loads(FIX.read_text(encoding="utf-8"))))
    assert data["payable"] == str(t.payable)
    assert [s["amount"] for s in data["tax_subtotals"]] == [str(s.amount) for s in t.subtotals]


def test_series_with_a_sequence_number(tmp_path):
    d = json.loads(FIX.read_text(encoding="utf-8"))
    del d["id"]
    d["series"] = "XYZ"
    src = tmp_path / "s.json"
    src.write_text(json.dumps(d), encoding="utf-8")
    r = run("build", str(src), "--number", "42")
    assert r.returncode == 0, r.stderr
    assert b"<cbc:ID>XYZ2026000000042</cbc:ID>" in r.stdout
    r = run("build", str(src))
    assert r.returncode == 2 and b"id: is required" in r.stderr


def test_hostile_json_gives_a_message_not_a_traceback():
    for data, words in [(b"[" * 200000, b"nested too deeply"), (b"\xff\xfe\x00garbage", b"not UTF-8"),
                        (b'{"lines": [1, 2]}', b"lines[0]: must be an object")]:
        r = run("build", "-", stdin=data)
        assert r.returncode == 2 and words in r.stderr and b"Traceback" not in r.stderr, r.stderr[-300:]
