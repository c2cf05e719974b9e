"""ubltr batch: per-record purity, JSONL/CSV reading, errors.jsonl, determinism, resume,
ZIP, signing, the CLI's exit codes, and flat memory (two sizes in a subprocess)."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ubltr import batch
from ubltr.batch import (BatchInputError, BatchOptions, Record, SignSpec, derive_uuid, local_mapper,
                         process_record, read_records, run_batch)
from ubltr.cli import cli
from ubltr.model import InvoiceInputError, load, parse_json
from ubltr.render import build
from ubltr.testing import invoice_dicts

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures"
JSONL = FIX / "batch" / "invoices.jsonl"
CSV = FIX / "batch" / "invoices.csv"


def _jsonl_records() -> list[dict]:
    return [parse_json(line) for line in JSONL.read_bytes().splitlines()]


def _outputs(directory: Path) -> dict[str, bytes]:
    """Everything a user consumes from an output directory (not the journal)."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name != batch.JOURNAL}


def _golden_jsonl(tmp: Path) -> Path:
    """All neutral fixtures (every profile × type) as one JSONL, in name order."""
    p = tmp / "golden.jsonl"
    with open(p, "wb") as fh:
        for j in sorted(FIX.glob("*.json")):
            fh.write(json.dumps(json.loads(j.read_text(encoding="utf-8")), ensure_ascii=False).encode() + b"\n")
    return p


# ----------------------------------------------------------------------------- the pure function


def test_golden_fixtures_come_out_byte_identical_to_their_golden_xml(tmp_path):
    src = _golden_jsonl(tmp_path)
    summary = run_batch(src, tmp_path / "out", BatchOptions(validate=True), workers=2, chunk_size=5)
    assert summary.failed == 0 and summary.ok == len(list(FIX.glob("*.json"))) and summary.complete
    for j in sorted(FIX.glob("*.json")):
        inv = json.loads(j.read_text(encoding="utf-8"))
        assert (tmp_path / "out" / f"{inv['id']}.xml").read_bytes() == j.with_suffix(".xml").read_bytes(), j.name
    assert not (tmp_path / "out" / "errors.jsonl").exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(invoice_dicts(), st.integers(1, 10 ** 6))
def test_process_record_is_build_of_the_loaded_record(d, line):
    """With id and uuid given, the batch result is exactly ``render.build(load(d))``;
    without uuid, the ETTN is uuid5(line + canonical JSON), the same every time."""
    rec = Record(line, d)
    r = process_record(rec, BatchOptions())
    assert r.ok and r.errors == ()
    inv = load(d)
    if inv.uuid is None:
        assert r.uuid == derive_uuid(d, line)
        inv = inv.with_identity(uuid=r.uuid)
    assert r.xml == build(inv)
    assert process_record(rec, BatchOptions()) == r  # pure: same input, same result
    if "uuid" not in d:  # another line number gives another ETTN (duplicates stay distinct)
        assert process_record(Record(line + 1, d), BatchOptions()).uuid != r.uuid


@settings(max_examples=20, deadline=None)
@given(invoice_dicts(), st.sampled_from(["profile", "supplier", "lines", "issue_date"]))
def test_a_record_missing_a_required_key_fails_with_the_loaders_paths(d, key):
    d = dict(d)
    del d[key]
    r = process_record(Record(3, d), BatchOptions())
    assert not r.ok and r.stage == "input"
    with pytest.raises(InvoiceInputError) as exc:
        load(d)
    assert r.errors == tuple(str(p) for p in exc.value.problems)


def test_a_record_without_id_or_series_is_an_input_error():
    d = _jsonl_records()[0]
    del d["id"]
    r = process_record(Record(1, d), BatchOptions())
    assert r.stage == "input" and r.errors[0].startswith("id:")


# ----------------------------------------------------------------------------- the fixture run


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "out"
    summary = run_batch(JSONL, out, BatchOptions(validate=True), workers=2, chunk_size=3)
    return out, summary


def test_bad_record_goes_to_errors_jsonl_with_line_and_paths_and_the_rest_go_on(fixture_run):
    out, summary = fixture_run
    records = _jsonl_records()
    assert (summary.records, summary.ok, summary.failed) == (20, 19, 1)
    errors = [json.loads(x) for x in (out / "errors.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(errors) == 1
    e = errors[0]
    with pytest.raises(InvoiceInputError) as exc:
        load(records[6])
    assert e["line"] == 7 and e["stage"] == "input"
    assert e["errors"] == [str(p) for p in exc.value.problems]
    assert {x.split(":")[0] for x in e["errors"]} == {"customer.vkn", "lines[0].unit_price"}
    # the identity the record would have had, so a fixed record can be resubmitted as it
    assert e["id"] == "BAT2026000000002" and e["uuid"] == derive_uuid(records[6], 7)


def test_outputs_are_the_built_documents_named_by_id_with_series_numbered_in_order(fixture_run):
    out, _ = fixture_run
    records = _jsonl_records()
    counter = 0
    for i, d in enumerate(records, start=1):
        if i == 7:
            counter += 1  # the failed record keeps its number: a gap, filled when it is fixed
            continue
        inv = load(d)
        if inv.id is None:
            counter += 1
            inv = inv.with_identity(id=f"{d['series']}2026{counter:09d}")
        if inv.uuid is None:
            inv = inv.with_identity(uuid=derive_uuid(d, i))
        assert (out / f"{inv.id}.xml").read_bytes() == build(inv)
    assert sorted(p.name for p in out.glob("BAT*.xml")) == [
        "BAT2026000000001.xml", "BAT2026000000003.xml", "BAT2026000000004.xml"]


def test_every_output_passes_gibs_own_xsd_and_schematron(fixture_run, oracle):
    out, _ = fixture_run
    for p in sorted(out.glob("*.xml")):
        result = oracle.check(p.read_bytes())
        assert result.ok, f"{p.name}: {result}"


def test_journal_lists_every_record_once_with_the_digest_of_its_output(fixture_run):
    import hashlib

    out, _ = fixture_run
    entries = [json.loads(x) for x in (out / batch.JOURNAL).read_text().splitlines()]
    header, rest = entries[0], entries[1:]
    assert header["input"]["sha256"] == hashlib.sha256(JSONL.read_bytes()).hexdigest()
    per_record = [e for e in rest if "line" in e]
    assert [e["line"] for e in per_record] == list(range(1, 21))
    for e in per_record:
        if "name" in e:
            assert hashlib.sha256((out / e["name"]).read_bytes()).hexdigest() == e["sha256"]
    assert rest[-1]["done"] is True and rest[-1]["commit"] == 20


def test_output_is_deterministic_across_workers_and_chunk_sizes(tmp_path, fixture_run):
    out, _ = fixture_run
    run_batch(JSONL, tmp_path / "a", BatchOptions(validate=True), workers=1, chunk_size=1)
    run_batch(JSONL, tmp_path / "b", BatchOptions(validate=True), workers=2, chunk_size=64)
    assert _outputs(tmp_path / "a") == _outputs(tmp_path / "b") == _outputs(out)


# ----------------------------------------------------------------------------- CSV


def test_csv_rows_group_into_the_same_invoices_as_the_jsonl():
    by_csv = list(read_records(CSV))
    # JSONL lines that cannot need a number are parsed by the worker, not the reader
    by_json = [r if r.data is not None else Record(r.line, parse_json(r.text), r.number) for r in read_records(JSONL)]
    assert len(by_csv) == len(by_json) == 20
    for c, j in zip(by_csv, by_json):
        assert c.number == j.number
        if j.line == 7:
            with pytest.raises(InvoiceInputError) as a:
                load(c.data)
            with pytest.raises(InvoiceInputError) as b:
                load(j.data)
            assert a.value.problems == b.value.problems
        else:
            assert load(c.data) == load(j.data)
        assert len(c.rows) == len(j.data["lines"])


def test_csv_batch_gives_the_same_bytes_as_jsonl_where_the_record_names_its_uuid(tmp_path, fixture_run):
    out, _ = fixture_run
    summary = run_batch(CSV, tmp_path / "csv", BatchOptions(validate=True), workers=1)
    assert (summary.ok, summary.failed) == (19, 1)
    err = json.loads((tmp_path / "csv" / "errors.jsonl").read_text())
    first_line = [r.line for r in read_records(CSV)][6]
    assert err["line"] == first_line and len(err["rows"]) == 4
    for d in _jsonl_records():
        if "uuid" in d and "id" in d:
            assert (tmp_path / "csv" / f"{d['id']}.xml").read_bytes() == (out / f"{d['id']}.xml").read_bytes()


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _csv_rows() -> tuple[list[str], list[list[str]]]:
    with open(CSV, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_csv_rows_of_one_invoice_must_be_consecutive(tmp_path):
    header, rows = _csv_rows()
    # move the second row of ERP-0001's neighbour group behind another invoice
    keys = [r[0] for r in rows]
    two = next(k for k in keys if keys.count(k) >= 2)
    idx = [i for i, k in enumerate(keys) if k == two]
    moved = rows[idx[-1]]
    rest = rows[:idx[-1]] + rows[idx[-1] + 1:]
    src = _write_csv(tmp_path / "split.csv", header, rest + [moved])
    recs = list(read_records(src))
    assert recs[-1].data is None and "not consecutive" in recs[-1].problem and two in recs[-1].problem
    assert sum(1 for r in recs if r.data is not None) == 20


def test_csv_document_columns_that_disagree_within_an_invoice_are_an_error(tmp_path):
    header, rows = _csv_rows()
    rows = [list(r) for r in rows]
    keys = [r[0] for r in rows]
    two = next(k for k in keys if keys.count(k) >= 2)
    second = [i for i, k in enumerate(keys) if k == two][1]
    rows[second][header.index("issue_date")] = "2026-11-21"
    rec = [r for r in read_records(_write_csv(tmp_path / "x.csv", header, rows)) if second + 2 in r.rows][0]
    assert rec.data is None
    assert f"CSV line {second + 2}, column issue_date" in rec.problem


@pytest.mark.parametrize("header,message", [
    ([], "empty"),
    (["profile", "line.name"], "'invoice' (or 'id') column"),
    (["invoice", "profile"], "line.name"),
    (["invoice", "line.name", "line.name"], "appears twice"),
    (["invoice", "line.name", "bad column"], "not a dotted key"),
])
def test_unusable_csv_header_is_bad_input(tmp_path, header, message):
    p = tmp_path / "h.csv"
    p.write_text(",".join(header) + ("\n" if header else ""), encoding="utf-8")
    with pytest.raises(BatchInputError, match=re.escape(message)):
        list(read_records(p))


# ----------------------------------------------------------------------------- bad records


def test_unreadable_lines_are_records_with_line_numbers(tmp_path):
    good = JSONL.read_bytes().splitlines()[0]
    src = tmp_path / "mixed.jsonl"
    src.write_bytes(b"\n".join([good, b"{not json", b"[1, 2]", b"", b'{"a": NaN}', b"\xff\xfe", good]) + b"\n")
    out = tmp_path / "out"
    summary = run_batch(src, out, BatchOptions(), workers=1)
    errors = [json.loads(x) for x in (out / "errors.jsonl").read_text().splitlines()]
    assert [e["line"] for e in errors] == [2, 3, 5, 6, 7]
    assert "not valid JSON" in errors[0]["errors"][0]
    assert "JSON object" in errors[1]["errors"][0]
    assert "not UTF-8" in errors[3]["errors"][0]
    # the same record twice: the second cannot take the first one's file
    assert errors[4]["stage"] == "output" and "already exists" in errors[4]["errors"][0]
    assert summary.ok == 1 and summary.failed == 5


def test_an_overlong_record_is_refused_without_reading_it_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "MAX_RECORD_BYTES", 1000)
    good = JSONL.read_bytes().splitlines()[0]
    src = tmp_path / "long.jsonl"
    src.write_bytes(b'{"notes": ["' + b"x" * 5000 + b'"]}\n' + good + b"\n")
    recs = list(read_records(src))
    assert recs[0].problem.startswith("record is longer") and recs[0].line == 1
    assert recs[1].line == 2 and (recs[1].data or parse_json(recs[1].text))["id"]


# ----------------------------------------------------------------------------- resume


class _Interrupt(Exception):
    pass


def _interrupting(after_chunks: int):
    inner = local_mapper(1)

    def mapper(chunks, options):
        for i, results in enumerate(inner(chunks, options)):
            if i == after_chunks:
                raise _Interrupt()
            yield results

    return mapper


def test_resume_after_interruption_neither_redoes_nor_duplicates(tmp_path, fixture_run):
    out, _ = fixture_run
    target = tmp_path / "r"
    with pytest.raises(_Interrupt):
        run_batch(JSONL, target, BatchOptions(validate=True), chunk_size=3, mapper=_interrupting(3))
    done_before = {p.name: p.stat().st_mtime_ns for p in target.glob("*.xml")}
    assert 0 < len(done_before) < 19

    seen: list[int] = []
    inner = local_mapper(1)

    def counting(chunks, options):
        for results in inner(chunks, options):
            seen.extend(r.line for r in results)
            yield results

    summary = run_batch(JSONL, target, BatchOptions(validate=True), chunk_size=3, mapper=counting)
    assert summary.skipped == 9 and summary.records == 20 and (summary.ok, summary.failed) == (19, 1)
    assert seen == list(range(10, 21))  # only what was not finished
    assert _outputs(target) == _outputs(out)
    assert all(target.joinpath(n).stat().st_mtime_ns == t for n, t in done_before.items())
    lines = [json.loads(x).get("line") for x in (target / batch.JOURNAL).read_text().splitlines()]
    assert sorted(x for x in lines if x) == list(range(1, 21))
    # a finished run run again does nothing
    again = run_batch(JSONL, target, BatchOptions(validate=True), mapper=counting)
    assert again.skipped == 20 and seen == list(range(10, 21)) and _outputs(target) == _outputs(out)


def test_resume_after_a_crash_with_a_torn_journal_and_half_written_files(tmp_path, fixture_run):
    out, _ = fixture_run
    target = tmp_path / "c"
    run_batch(JSONL, target, BatchOptions(validate=True), chunk_size=4, workers=1)
    # rewind the journal to its second commit, as if killed while writing the third chunk
    raw = (target / batch.JOURNAL).read_bytes().splitlines(keepends=True)
    commits = [i for i, x in enumerate(raw) if b'"commit"' in x]
    kept = b"".join(raw[: commits[1] + 1])
    (target / batch.JOURNAL).write_bytes(kept + raw[commits[1] + 1][:10])  # torn last line
    errors_size = json.loads(raw[commits[1]])["errors_size"]
    with open(target / "errors.jsonl", "ab") as fh:
        fh.write(b'{"line": 999, "torn')
    # the chunk being written when killed left its files (one cut short); later ones never started
    in_progress = [json.loads(x)["name"] for x in raw[commits[1] + 1: commits[2]] if b'"name"' in x]
    never = [json.loads(x)["name"] for x in raw[commits[2]:] if b'"name"' in x]
    (target / in_progress[0]).write_bytes(b"<Invoice")
    for name in never:
        (target / name).unlink()
    summary = run_batch(JSONL, target, BatchOptions(validate=True), chunk_size=4, workers=1)
    assert summary.skipped == 8 and summary.failed == 1
    assert _outputs(target) == _outputs(out)
    assert (target / "errors.jsonl").stat().st_size >= errors_size


def test_resume_refuses_another_input_or_other_options(tmp_path):
    target = tmp_path / "x"
    run_batch(JSONL, target, BatchOptions(), workers=1)
    with pytest.raises(BatchInputError, match="different options"):
        run_batch(JSONL, target, BatchOptions(validate=True), workers=1)
    other = tmp_path / "other.jsonl"
    other.write_bytes(JSONL.read_bytes()[:-1] + b"\n\n")
    with pytest.raises(BatchInputError, match="different input"):
        run_batch(other, target, BatchOptions(), workers=1)
    with pytest.raises(BatchInputError, match="different next numbers"):
        run_batch(JSONL, target, BatchOptions(), workers=1, next_numbers={"BAT": 5})


def test_a_killed_cli_run_resumes_to_the_same_outputs(tmp_path):
    """A real SIGKILL in the middle of a run (no chance to clean up), then the same command."""
    lines = JSONL.read_bytes().splitlines()
    src = tmp_path / "big.jsonl"
    with open(src, "wb") as fh:  # 600 records: the fixture repeated with fresh ids, no uuid
        for k in range(30):
            for i, line in enumerate(lines):
                d = json.loads(line)
                d.pop("uuid", None)
                if "id" in d:
                    d["id"] = f"K{k:02d}2026{i + 1:09d}"
                fh.write(json.dumps(d, ensure_ascii=False).encode() + b"\n")
    cmd = [sys.executable, "-m", "ubltr.cli", "batch", str(src), "--out", str(tmp_path / "k"), "-q",
           "--workers", "2", "--chunk-size", "8"]
    proc = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
    journal = tmp_path / "k" / batch.JOURNAL
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_bytes().count(b'"commit"') >= 5:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert b'"done"' not in journal.read_bytes()  # really killed in the middle
    time.sleep(0.2)  # orphaned workers notice their parent is gone
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 1, again.stderr
    assert "Traceback" not in again.stderr
    run_batch(src, tmp_path / "ref", BatchOptions(), workers=1)
    assert _outputs(tmp_path / "k") == _outputs(tmp_path / "ref")
    journal_lines = [json.loads(x).get("line") for x in journal.read_text().splitlines()]
    assert sorted(x for x in journal_lines if x) == sorted({x for x in journal_lines if x})


# ----------------------------------------------------------------------------- ZIP


def test_zip_output_is_deterministic_and_holds_the_directory_outputs(tmp_path, fixture_run):
    out, _ = fixture_run
    run_batch(JSONL, tmp_path / "a.zip", BatchOptions(validate=True), workers=2)
    run_batch(JSONL, tmp_path / "b.zip", BatchOptions(validate=True), workers=1, chunk_size=1)
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert {n: zf.read(n) for n in names} == {k: v for k, v in _outputs(out).items() if k.endswith(".xml")}
    assert (tmp_path / "a.errors.jsonl").read_bytes() == (out / "errors.jsonl").read_bytes()
    assert not (tmp_path / "a.zip.parts").exists()
    with pytest.raises(BatchInputError, match="already exists"):
        run_batch(JSONL, tmp_path / "a.zip", BatchOptions())


def test_zip64_end_records_are_readable(tmp_path, monkeypatch):
    """The ZIP64 end records (zipfile writes them past 65,535 entries) forced on 19 entries."""
    run_batch(JSONL, tmp_path / "plain.zip", BatchOptions(), workers=1)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 5)
    run_batch(JSONL, tmp_path / "z64.zip", BatchOptions(), workers=1)
    raw = (tmp_path / "z64.zip").read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw
    with zipfile.ZipFile(tmp_path / "z64.zip") as a, zipfile.ZipFile(tmp_path / "plain.zip") as b:
        assert a.testzip() is None
        assert [(i.filename, a.read(i)) for i in a.infolist()] == [(i.filename, b.read(i)) for i in b.infolist()]


def test_zip_resume_continues_in_the_parts_directory(tmp_path):
    with pytest.raises(_Interrupt):
        run_batch(JSONL, tmp_path / "z.zip", BatchOptions(), chunk_size=4, mapper=_interrupting(2))
    assert (tmp_path / "z.zip.parts" / batch.JOURNAL).exists() and not (tmp_path / "z.zip").exists()
    summary = run_batch(JSONL, tmp_path / "z.zip", BatchOptions(), chunk_size=4, workers=1)
    assert summary.skipped == 8
    run_batch(JSONL, tmp_path / "ref.zip", BatchOptions(), workers=1)
    assert (tmp_path / "z.zip").read_bytes() == (tmp_path / "ref.zip").read_bytes()


# ----------------------------------------------------------------------------- signing


@pytest.fixture(scope="module")
def seal_files(tmp_path_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.SERIAL_NUMBER, "1234567890"),
                      x509.NameAttribute(NameOID.COMMON_NAME, "ÖRNEK YAZILIM A.Ş. TEST MÜHÜR")])
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(start).not_valid_after(start + timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    d = tmp_path_factory.mktemp("seal")
    (d / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.BestAvailableEncryption(b"s3cret")))
    (d / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return d, key, cert


def test_signed_batch_verifies_and_is_reproducible(tmp_path, seal_files):
    from ubltr.signing import verify

    d, key, cert = seal_files
    when = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
    opts = BatchOptions(validate=True, sign=SignSpec.from_loaded(key, [cert]), signing_time=when)
    assert "PRIVATE KEY" not in repr(opts) and "PRIVATE" not in json.dumps(opts.fingerprint())
    a = run_batch(JSONL, tmp_path / "a", opts, workers=2)
    env = dict(os.environ, SEAL_PW="s3cret")
    res = CliRunner(env=env).invoke(cli, ["batch", str(JSONL), "--out", str(tmp_path / "b"), "--validate",
                                          "--key", str(d / "key.pem"), "--cert", str(d / "cert.pem"),
                                          "--password-env", "SEAL_PW", "--signing-time", when.isoformat()])
    assert res.exit_code == 1, res.output
    assert a.ok == 19 and _outputs(tmp_path / "a") == _outputs(tmp_path / "b")
    for p in sorted((tmp_path / "a").glob("*.xml"))[:5]:
        report = verify(p.read_bytes(), ca=cert, now=when)
        assert report.valid, report.all_problems


def test_signing_time_is_fixed_once_and_kept_across_resume(tmp_path, seal_files):
    _, key, cert = seal_files
    opts = BatchOptions(sign=SignSpec.from_loaded(key, [cert]))
    with pytest.raises(_Interrupt):
        run_batch(JSONL, tmp_path / "s", opts, chunk_size=4, mapper=_interrupting(2))
    header = json.loads((tmp_path / "s" / batch.JOURNAL).read_text().splitlines()[0])
    fixed = header["options"]["signing_time"]
    assert fixed is not None
    time.sleep(1.1)
    run_batch(JSONL, tmp_path / "s", opts, chunk_size=4, workers=1)
    times = {p.read_bytes().split(b"<xades:SigningTime>")[1][:25] for p in (tmp_path / "s").glob("*.xml")}
    assert times == {fixed.encode()[:25]}


# ----------------------------------------------------------------------------- CLI


def test_cli_exit_codes_and_messages(tmp_path):
    r = CliRunner()
    ok_src = tmp_path / "ok.jsonl"
    ok_src.write_bytes(b"\n".join(JSONL.read_bytes().splitlines()[:3]) + b"\n")
    res = r.invoke(cli, ["batch", str(ok_src), "--out", str(tmp_path / "ok"), "-q"])
    assert res.exit_code == 0 and "3 records" in res.output and "3 written, 0 failed" in res.output
    res = r.invoke(cli, ["batch", str(JSONL), "--out", str(tmp_path / "one"), "-q"])
    assert res.exit_code == 1 and "1 failed (input 1)" in res.output and "errors.jsonl" in res.output
    for args, message in [
        (["batch", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "m")], "no such file"),
        (["batch", str(JSONL), "--out", str(tmp_path / "ok")], "different input"),
        (["batch", str(JSONL), "--out", str(FIX)], "not empty"),
        (["batch", str(JSONL), "--out", str(tmp_path / "n"), "--next-number", "AB=1"], "SERIES=N"),
        (["batch", str(JSONL), "--out", str(tmp_path / "n"), "--signing-time", "2026-01-01T00:00:00+03:00"],
         "only used with"),
        (["batch", str(FIX / "TEMELFATURA-SATIS.xml"), "--out", str(tmp_path / "n")], "format"),
    ]:
        res = r.invoke(cli, args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output and "Traceback" not in res.output
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("profile,type\nTEMELFATURA,SATIS\n", encoding="utf-8")
    res = r.invoke(cli, ["batch", str(bad_csv), "--out", str(tmp_path / "c")])
    assert res.exit_code == 2 and "'invoice' (or 'id') column" in res.output


def test_cli_next_number_starts_the_series(tmp_path):
    res = CliRunner().invoke(cli, ["batch", str(JSONL), "--out", str(tmp_path / "o"), "-q",
                                   "--next-number", "BAT=41"])
    assert res.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "o").glob("BAT*")) == [
        "BAT2026000000041.xml", "BAT2026000000043.xml", "BAT2026000000044.xml"]


# ----------------------------------------------------------------------------- memory


_MEMORY_PROBE = r"""
import json, resource, sys, tempfile, os
from pathlib import Path
from ubltr.batch import BatchOptions, run_batch
n = int(sys.argv[1])
base = json.loads(Path(sys.argv[2]).read_text(encoding="utf-8"))
line = base["lines"][1]
tmp = Path(tempfile.mkdtemp())
with open(tmp / "in.jsonl", "w", encoding="utf-8") as fh:
    for i in range(n):
        d = dict(base, id=f"MEM2026{i + 1:09d}", lines=[dict(line, name=f"Kalem {j}") for j in range(10)])
        d.pop("uuid")
        fh.write(json.dumps(d, ensure_ascii=False) + "\n")
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
s = run_batch(tmp / "in.jsonl", tmp / "out", BatchOptions(), workers=1, chunk_size=32)
assert s.ok == n, s
print(json.dumps({"before": before, "after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def test_memory_does_not_grow_with_the_number_of_records():
    """Peak RSS of a 2,000-record run is that of a 200-record run (in-process pipeline:
    reader, pool of one, writer, journal); the 1,000,000-record run is in bench/batch.py."""
    def peak(n: int) -> int:
        res = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(n), str(FIX / "TEMELFATURA-SATIS.json")],
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)["after"]  # KiB

    small, large = peak(200), peak(2000)
    assert large - small < 8 * 1024, (small, large)  # 10x the records, < 8 MB more
