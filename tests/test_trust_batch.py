"""Issue #15, batch: a record that cannot be built goes to errors.jsonl, always (the good
records of its chunk are written, resume works), and a SIGKILLed ``ubltr batch`` takes
its pool workers with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ubltr.batch import BatchOptions, run_batch

ROOT = Path(__file__).resolve().parents[1]
JSONL = ROOT / "fixtures" / "batch" / "invoices.jsonl"


def _good(n: int, i0: int = 1) -> list[dict]:
    base = json.loads(JSONL.read_bytes().splitlines()[0])
    out = []
    for i in range(i0, i0 + n):
        d = dict(base, id=f"TRS2026{i:09d}")
        out.append(d)
    return out


def _write(path: Path, records: list[dict]) -> Path:
    # json.dumps escapes a lone surrogate as \ud800: exactly what such an input file holds
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="ascii")
    return path


def _bad_records() -> list[dict]:
    surrogate = _good(1, 101)[0]
    surrogate["lines"] = [dict(surrogate["lines"][0], name="Kitap \ud800")]
    huge = _good(1, 102)[0]
    huge["lines"] = [dict(huge["lines"][0], quantity="999999999999999", unit_price="999999999999999.99")]
    return [surrogate, huge]


@pytest.mark.parametrize("workers", [1, 2])
def test_unbuildable_records_go_to_errors_and_the_rest_of_the_chunk_is_written(tmp_path, workers):
    good = _good(6)
    surrogate, huge = _bad_records()
    records = good[:2] + [surrogate] + good[2:4] + [huge] + good[4:]
    src = _write(tmp_path / "in.jsonl", records)
    summary = run_batch(src, tmp_path / "out", BatchOptions(), workers=workers, chunk_size=8)
    assert summary.complete and summary.ok == 6 and summary.failed == 2
    written = sorted(p.name for p in (tmp_path / "out").glob("*.xml"))
    assert written == [f"TRS2026{i:09d}.xml" for i in range(1, 7)]
    errors = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_bytes().splitlines()]
    assert [e["line"] for e in errors] == [3, 6]
    assert errors[0]["id"] == "TRS2026000000101" and errors[0]["stage"] == "input"
    assert any(e.startswith("lines[0].name") for e in errors[0]["errors"]), errors[0]
    assert errors[1]["id"] == "TRS2026000000102" and errors[1]["errors"], errors[1]


def test_resume_after_an_unbuildable_record_works(tmp_path):
    from test_batch import _Interrupt, _interrupting

    surrogate, huge = _bad_records()
    records = _good(3) + [surrogate] + _good(3, 4) + [huge] + _good(3, 7)
    src = _write(tmp_path / "in.jsonl", records)
    with pytest.raises(_Interrupt):
        run_batch(src, tmp_path / "out", BatchOptions(), chunk_size=4, mapper=_interrupting(1))
    summary = run_batch(src, tmp_path / "out", BatchOptions(), workers=1, chunk_size=4)
    assert summary.complete and summary.ok == 9 and summary.failed == 2
    again = run_batch(src, tmp_path / "out", BatchOptions(), workers=1, chunk_size=4)
    assert again.complete and again.ok == 9 and again.failed == 2


def test_cli_reports_unbuildable_records_without_traceback(tmp_path):
    surrogate, huge = _bad_records()
    src = _write(tmp_path / "in.jsonl", _good(2) + [surrogate, huge])
    res = subprocess.run([sys.executable, "-m", "ubltr.cli", "batch", str(src), "--out", str(tmp_path / "o"),
                          "--workers", "1", "-q"], capture_output=True, timeout=300)
    assert res.returncode == 1, res.stderr
    assert b"Traceback" not in res.stderr + res.stdout
    assert len((tmp_path / "o" / "errors.jsonl").read_bytes().splitlines()) == 2


def _children(pid: int) -> set[int]:
    out = set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.add(int(d))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_batch_kills_its_workers(tmp_path):
    src = _write(tmp_path / "in.jsonl", _good(30000))  # minutes of work: it is killed long before the end
    proc = subprocess.Popen([sys.executable, "-m", "ubltr.cli", "batch", str(src), "--out", str(tmp_path / "o"),
                             "--workers", "2", "--chunk-size", "5", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        workers: set[int] = set()
        while time.time() < deadline and len(workers) < 2:
            workers = _children(proc.pid)
            time.sleep(0.2)
        assert len(workers) >= 2, "the pool never started"
        time.sleep(0.3)
        assert proc.poll() is None, "the batch finished before it could be killed; make the input longer"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "pool workers outlived the killed batch"
    finally:
        for w in _children(proc.pid) | workers:
            try:
                os.kill(w, signal.SIGKILL)
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_validate_kills_its_workers(tmp_path):
    data = (ROOT / "fixtures" / "TEMELFATURA-SATIS.xml").read_bytes()
    for i in range(1500):
        (tmp_path / f"{i:04d}.xml").write_bytes(data)
    proc = subprocess.Popen([sys.executable, "-m", "ubltr.cli", "validate", str(tmp_path), "--workers", "2", "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: set[int] = set()
    try:
        deadline = time.time() + 120
        while time.time() < deadline and len(workers) < 2:
            workers = _children(proc.pid)
            time.sleep(0.2)
        assert len(workers) >= 2, "the pool never started"
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], "validate workers outlived the killed command"
    finally:
        for w in workers:
            try:
                os.kill(w, signal.SIGKILL)
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()


def test_batch_refuses_another_companys_seal_unless_allowed(tmp_path):
    from ubltr.batch import SignSpec
    from ubltr.signing import verify
    from ubltr.testing import make_test_seal

    key, chain = make_test_seal(vkn="9876543217")  # the records' supplier is 1234567890
    src = _write(tmp_path / "in.jsonl", _good(3))
    refused = run_batch(src, tmp_path / "a", BatchOptions(sign=SignSpec.from_loaded(key, chain)), workers=1)
    assert refused.ok == 0 and refused.failed == 3 and refused.failed_by_stage == {"sign": 3}
    errors = [json.loads(line) for line in (tmp_path / "a" / "errors.jsonl").read_bytes().splitlines()]
    assert all("9876543217" in e["errors"][0] and "1234567890" in e["errors"][0] for e in errors), errors
    opts = BatchOptions(sign=SignSpec.from_loaded(key, chain), allow_seal_mismatch=True)
    allowed = run_batch(src, tmp_path / "b", opts, workers=1)
    assert allowed.ok == 3
    report = verify(next((tmp_path / "b").glob("*.xml")).read_bytes(), ca=chain[-1])
    assert report.valid and any("9876543217" in p for p in report.signature.policy)
    # an earlier run's journal (no allow_seal_mismatch key) stays resumable
    assert "allow_seal_mismatch" not in BatchOptions().fingerprint()


def test_a_record_that_kills_its_worker_goes_to_errors_and_the_rest_is_written(tmp_path, monkeypatch):
    """A worker killed while it builds one record (here: the record named KILL makes
    the process SIGKILL itself, as the OOM killer would): that record goes to
    errors.jsonl, every other record is written, in order, and the batch finishes."""
    from ubltr import batch

    real_build = batch._build

    def build(record):
        data = record.data
        if data is None and record.text is not None:
            data, _ = batch._parse_line(record.text)
        if data and data.get("notes") == ["KILL"]:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_build(record)

    monkeypatch.setattr(batch, "_build", build)  # inherited by the forked workers
    good = _good(20)
    killer = dict(_good(1, 99)[0], notes=["KILL"])
    records = good[:7] + [killer] + good[7:]
    src = _write(tmp_path / "in.jsonl", records)
    summary = run_batch(src, tmp_path / "out", BatchOptions(), workers=2, chunk_size=3)
    assert summary.complete and summary.ok == 20 and summary.failed == 1
    errors = [json.loads(line) for line in (tmp_path / "out" / "errors.jsonl").read_bytes().splitlines()]
    assert len(errors) == 1 and errors[0]["line"] == 8 and "signal 9" in errors[0]["errors"][0], errors
    journal = [json.loads(line) for line in (tmp_path / "out" / "journal.jsonl").read_bytes().splitlines()]
    assert [e["line"] for e in journal if "line" in e] == list(range(1, 22))  # input order
    assert len(list((tmp_path / "out").glob("*.xml"))) == 20
