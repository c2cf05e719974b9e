"""Many invoices at once: a streaming pipeline around one pure per-record function.

>>> from ubltr.batch import BatchOptions, run_batch
>>> summary = run_batch("fixtures/batch/invoices.jsonl", "out/", BatchOptions(validate=True))  # doctest: +SKIP
>>> summary.ok, summary.failed  # doctest: +SKIP
(19, 1)

The shape (see ``docs/batch.md``):

* :func:`read_records` reads JSONL (one neutral invoice per line) or CSV (one row per
  line item, consecutive rows grouped by invoice) lazily, and numbers records that
  carry ``series`` but no ``id`` by their order in the input;
* :func:`process_record` is the pure per-record function: neutral dict → invoice →
  totals → XML → optional validation → optional signing.  Same record and options,
  same bytes, in any process or on any machine;
* :func:`run_batch` feeds chunks of records to a *mapper* (a local process pool by
  default, :func:`dask_mapper` for a Dask cluster) with a bounded number of chunks in
  flight, and writes the results in input order: ``<ID>.xml`` per invoice,
  ``errors.jsonl`` for failed records, ``journal.jsonl`` for resume.

Resume: the journal is append-only and fsync'd after every chunk.  Because results
are written in input order, what is finished is always a prefix of the input; a new
run into the same directory with the same input and options skips that prefix.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import uuid as _uuid
import zipfile
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Iterable, Iterator, Mapping, Sequence

from .calc import CalcError
from .model import InvoiceInputError, load, parse_json
from .render import assign_identity, build_with_totals
from .xmlsafe import MAX_BYTES

if TYPE_CHECKING:
    from .viewfiles import ViewJob

__all__ = [
    "BatchInputError", "SignSpec", "BatchOptions", "Record", "RecordResult", "BatchSummary",
    "UUID_NAMESPACE", "derive_uuid", "process_record", "process_chunk", "read_records",
    "run_batch", "local_mapper", "dask_mapper", "Mapper",
]

#: namespace of the ETTNs given to records without ``uuid``:
#: ``uuid5(UUID_NAMESPACE, f"{line}\n{canonical JSON of the record}")``
UUID_NAMESPACE = _uuid.UUID("5d0b6c1e-7c1a-5b8e-9a52-0b7a1c3e2f40")

#: a JSONL record (one line) longer than this is refused without being read into memory
MAX_RECORD_BYTES = 8 * 1024 * 1024

#: the one size limit of a document (``ubltr.xmlsafe.MAX_BYTES``): a batch never writes one
#: that ``validate`` or ``verify`` would refuse
MAX_DOCUMENT_BYTES = MAX_BYTES

JOURNAL = "journal.jsonl"
ERRORS = "errors.jsonl"
_FORMAT_VERSION = 1
# fixed ZIP entry date (1980-01-01 00:00, the ZIP epoch) so that the archive bytes depend on content only
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class BatchInputError(Exception):
    """The input as a whole is unusable (missing file, unreadable CSV header, output
    directory of another run...).  The CLI maps it to exit status 2."""


# ----------------------------------------------------------------------------- options


@dataclass(frozen=True)
class SignSpec:
    """What a worker needs to sign: the key as unencrypted PKCS#8 PEM and the chain as
    PEM (signer first).  Plain bytes so that options pickle to worker processes and
    Dask workers; the key never appears in ``repr`` or in the journal."""

    key_pem: bytes = field(repr=False)
    certs_pem: bytes

    @classmethod
    def from_loaded(cls, key: Any, certs: Sequence[Any]) -> "SignSpec":
        from cryptography.hazmat.primitives import serialization

        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        certs_pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
        return cls(key_pem, certs_pem)

    def fingerprint(self) -> str:
        """sha256 of the certificate chain (identifies the seal without the key)."""
        return hashlib.sha256(self.certs_pem).hexdigest()


@dataclass(frozen=True)
class BatchOptions:
    """Per-record options; part of the journal header (a resumed run must use the same).

    ``validate``: run :func:`ubltr.validation.validate` on every built document; an
    invalid document is not written and goes to ``errors.jsonl``.
    ``strict`` / ``provider``: passed to the validator.
    ``sign`` + ``signing_time``: sign every document (after validation).  The batch
    fixes ``signing_time`` once (default: the start of the first run, kept across
    resumes) so that outputs do not depend on when a record happened to be processed.
    ``allow_seal_mismatch``: sign records whose supplier's VKN/TCKN is not the seal's
    (a special integrator sealing for its customers); by default they go to
    ``errors.jsonl`` (stage ``sign``).
    """

    validate: bool = False
    strict: bool = False
    provider: str | None = None
    sign: SignSpec | None = None
    signing_time: datetime | None = None
    allow_seal_mismatch: bool = False

    def fingerprint(self) -> dict[str, Any]:
        out = {
            "validate": self.validate, "strict": self.strict, "provider": self.provider,
            "sign": self.sign.fingerprint() if self.sign else None,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
        }
        if self.allow_seal_mismatch:  # only when set: journals of earlier runs stay resumable
            out["allow_seal_mismatch"] = True
        return out


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class Record:
    """One invoice of the input.

    ``line``: 1-based line number where the record starts (JSONL line, or the CSV line
    of the invoice's first row); ``rows``: every CSV line of the invoice (CSV only);
    ``number``: the sequence number assigned from ``series`` by input order (None when
    the record has an ``id`` or no ``series``); ``problem``: why the record could not
    even be read (bad JSON, inconsistent CSV rows); then ``data`` is None.
    ``text``: a JSONL line not parsed yet (the reader only parses lines that may need
    a number; the others are parsed by the worker), used when ``data`` is None.
    """

    line: int
    data: dict[str, Any] | None
    number: int | None = None
    problem: str | None = None
    rows: tuple[int, ...] = ()
    text: bytes | None = None


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What :func:`process_record` returns: the document, or why there is none.

    ``stage`` of a failure: ``input`` (reading/loading/totals), ``validate``, ``sign``.
    """

    line: int
    id: str | None
    uuid: str | None
    xml: bytes | None
    sha256: str | None = None
    errors: tuple[str, ...] = ()
    stage: str | None = None
    warnings: int = 0
    rows: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return self.xml is not None

    @property
    def name(self) -> str | None:
        """Output file name: ``<ID>.xml``."""
        return f"{self.id}.xml" if self.ok else None

    def error_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"line": self.line, "id": self.id, "uuid": self.uuid,
                                 "stage": self.stage, "errors": list(self.errors)}
        if self.rows:
            entry["rows"] = list(self.rows)
        return entry


def derive_uuid(data: Mapping[str, Any], line: int) -> str:
    """The ETTN of a record without ``uuid``: uuid5 of its line number and canonical
    JSON (sorted keys, no spaces).  Never random: re-runs and other machines agree."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return str(_uuid.uuid5(UUID_NAMESPACE, f"{line}\n{canonical}"))


@lru_cache(maxsize=4)
def _signer(spec: SignSpec) -> tuple[Any, list[Any]]:
    from .signing import load_pem

    return load_pem(spec.key_pem, spec.certs_pem)


def _finding_text(f: Any) -> str:
    where = f.location or (f"line {f.line}" if f.line else "/")
    return f"{where}: [{f.rule}] {f.message}"


def _identity_hint(data: dict[str, Any], record: Record) -> tuple[str | None, str | None]:
    """The id and ETTN a record gets (or would get), for errors.jsonl: a fixed record
    can then be re-submitted with exactly that identity."""
    rid = data.get("id") if isinstance(data.get("id"), str) else None
    series, date = data.get("series"), data.get("issue_date")
    if rid is None and record.number is not None and isinstance(series, str) and isinstance(date, str):
        rid = f"{series}{date[:4]}{record.number:09d}"
    ruuid = data.get("uuid") if isinstance(data.get("uuid"), str) else None
    if ruuid is None:
        try:
            ruuid = derive_uuid(data, record.line)
        except (TypeError, ValueError):
            ruuid = None
    return rid, ruuid


@dataclass(slots=True)
class _Work:
    """A record between stages: built, maybe validated / signed, not failed (yet)."""

    line: int
    rows: tuple[int, ...]
    id: str
    uuid: str
    xml: bytes
    warnings: int = 0


def _build(record: Record) -> _Work | RecordResult:
    """Stage 1: neutral dict → invoice → totals → XML, or the input failure."""
    line, rows = record.line, record.rows
    data, problem = record.data, record.problem
    if data is None and problem is None and record.text is not None:
        data, problem = _parse_line(record.text)
    if data is None:
        return RecordResult(line, None, None, None, errors=(problem or "unreadable record",),
                            stage="input", rows=rows)
    try:
        inv = load(data)
        if not inv.uuid:
            inv = inv.with_identity(uuid=derive_uuid(data, line))
        number = record.number
        inv = assign_identity(inv, (lambda _s, _y: number) if number is not None else None)
        xml, inv, _ = build_with_totals(inv)
    except InvoiceInputError as exc:
        return RecordResult(line, *_identity_hint(data, record), None, errors=tuple(str(p) for p in exc.problems),
                            stage="input", rows=rows)
    except CalcError as exc:
        return RecordResult(line, *_identity_hint(data, record), None,
                            errors=tuple(f"{p}: {m}" if p else m for p, m in exc.problems),
                            stage="input", rows=rows)
    except Exception as exc:  # noqa: BLE001 - whatever one record does costs that record, never the batch
        return RecordResult(line, *_safe_identity_hint(data, record), None, errors=_build_failure(data, exc),
                            stage="input", rows=rows)
    if len(xml) > MAX_DOCUMENT_BYTES:
        return RecordResult(line, inv.id, inv.uuid, None, stage="input", rows=rows, errors=(
            f"the document would be {len(xml)} bytes; ubltr's limit for one document is {MAX_DOCUMENT_BYTES} "
            "(validate, sign and verify refuse larger ones): split the invoice",))
    return _Work(line, rows, inv.id, inv.uuid, xml)  # type: ignore[arg-type]


def _surrogate_paths(value: Any, path: str = "") -> Iterator[str]:
    """JSON paths of strings holding a lone surrogate (``"\\ud800"`` in JSON text decodes
    to one: it is no character and cannot be written as UTF-8)."""
    if isinstance(value, str):
        if any("\ud800" <= ch <= "\udfff" for ch in value):
            yield path or "(record)"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _surrogate_paths(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _surrogate_paths(v, f"{path}[{i}]")


def _build_failure(data: Any, exc: Exception) -> tuple[str, ...]:
    """errors.jsonl lines for a record the model and calc let through but that could not
    be built (a bug to report, or an input nothing checked)."""
    bad = list(_surrogate_paths(data))
    if bad:
        return tuple(f"{p}: holds a lone surrogate (an escaped \\ud800-\\udfff that is no character); "
                     "it cannot be written as UTF-8" for p in bad)
    if isinstance(exc, ArithmeticError):
        return (f"cannot compute the amounts: the quantities and prices give an amount beyond what ubltr computes "
                f"exactly ({type(exc).__name__}); check lines[].quantity and lines[].unit_price",)
    return (f"cannot build the document: {type(exc).__name__}: {exc}"[:2000],)


def _safe_identity_hint(data: dict[str, Any], record: Record) -> tuple[str | None, str | None]:
    try:
        return _identity_hint(data, record)
    except Exception:  # noqa: BLE001
        return None, None


def _validate(w: _Work, options: BatchOptions, validate: Callable[..., Any]) -> _Work | RecordResult:
    """Stage 2: the validator's verdict; an invalid document becomes a failure."""
    try:
        report = validate(w.xml, provider=options.provider, strict=options.strict, name=f"{w.id}.xml")
    except Exception as exc:  # a validator bug must cost one record, not the batch
        return RecordResult(w.line, w.id, w.uuid, None, stage="validate", rows=w.rows,
                            errors=(f"validator failed: {type(exc).__name__}: {exc}",))
    w.warnings = report.count("warning")
    if not report.valid:
        return RecordResult(w.line, w.id, w.uuid, None, errors=tuple(_finding_text(f) for f in report.errors),
                            stage="validate", warnings=w.warnings, rows=w.rows)
    return w


def _sign(w: _Work, spec: SignSpec, signing_time: datetime | None,
          allow_seal_mismatch: bool = False) -> _Work | RecordResult:
    """Stage 3: the XAdES seal."""
    from .signing import SigningError, sign

    key, certs = _signer(spec)
    try:
        w.xml = sign(w.xml, key, certs, signing_time=signing_time, allow_seal_mismatch=allow_seal_mismatch)
    except SigningError as exc:
        return RecordResult(w.line, w.id, w.uuid, None, errors=(f"signature: {exc}",),
                            stage="sign", warnings=w.warnings, rows=w.rows)
    except Exception as exc:  # a signer bug must cost one record, not the batch
        return RecordResult(w.line, w.id, w.uuid, None, stage="sign", warnings=w.warnings, rows=w.rows,
                            errors=(f"signer failed: {type(exc).__name__}: {exc}",))
    return w


def _result(w: _Work | RecordResult) -> RecordResult:
    if isinstance(w, RecordResult):
        return w
    return RecordResult(w.line, w.id, w.uuid, w.xml, hashlib.sha256(w.xml).hexdigest(),
                        warnings=w.warnings, rows=w.rows)


def process_record(record: Record, options: BatchOptions) -> RecordResult:
    """The pure per-record function: neutral dict → invoice → totals → XML →
    optional validation → optional signing.  Never raises for a bad record; the
    result's ``errors`` are ``"path: message"`` strings."""
    return process_chunk((record,), options)[0]


def process_chunk(records: Sequence[Record], options: BatchOptions) -> list[RecordResult]:
    """:func:`process_record` over a chunk (the unit of work sent to workers), stage by
    stage: every record is built, then every built one validated, then signed.

    Same results as one record at a time (each stage is per record), but each stage's
    code and data stay in the CPU caches across the chunk: building and validating
    each have a working set of a few MB, and alternating them per record made both
    run cold (build + validate of a ten-line invoice took ~1.5x the sum of the two
    measured separately; see docs/batch.md, Throughput)."""
    work = [_build(r) for r in records]
    if options.validate:
        from .validation import validate

        work = [_validate(w, options, validate) if type(w) is _Work else w for w in work]
    if options.sign is not None:
        work = [_sign(w, options.sign, options.signing_time, options.allow_seal_mismatch) if type(w) is _Work else w
                for w in work]
    return [_result(w) for w in work]


# ----------------------------------------------------------------------------- reading


class _Counting(io.RawIOBase):
    """A binary file that counts the bytes read (for the progress bar)."""

    def __init__(self, fh: Any):
        self._fh = fh
        self.pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        n = self._fh.readinto(b)
        self.pos += n or 0
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def _parse_line(text: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """A JSONL line → (record dict, None) or (None, why it is not a record)."""
    try:
        data = parse_json(text)
    except InvoiceInputError as exc:
        return None, str(exc)
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte {exc.start} of the line)"
    if not isinstance(data, dict):
        return None, "a record must be a JSON object (one invoice per line)"
    return data, None


def _read_jsonl(raw: BinaryIO) -> Iterator[Record]:
    line_no = 0
    while True:
        chunk = raw.readline(MAX_RECORD_BYTES + 1)
        if not chunk:
            return
        line_no += 1
        if len(chunk) > MAX_RECORD_BYTES and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):  # skip the rest without keeping it
                chunk = raw.readline(1024 * 1024)
            yield Record(line_no, None, problem=f"record is longer than {MAX_RECORD_BYTES} bytes")
            continue
        if not chunk.strip():
            continue
        if b'"series"' not in chunk and b"\\u" not in chunk:
            yield Record(line_no, None, text=chunk)  # cannot need a number: the worker parses it
            continue
        data, problem = _parse_line(chunk)
        yield Record(line_no, data, problem=problem)


#: neutral keys that hold a list of objects; a CSV column ``allowances.rate`` fills one item
_LIST_KEYS = frozenset({"allowances", "charges", "billing_references", "despatch_references"})
_COLUMN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")


def _put(target: dict[str, Any], path: Sequence[str], value: str) -> None:
    d = target
    for key in path[:-1]:
        if key in _LIST_KEYS:
            items = d.setdefault(key, [{}])
            d = items[0]
        else:
            d = d.setdefault(key, {})
    last = path[-1]
    if last == "notes":
        d.setdefault("notes", []).append(value)
    else:
        d[last] = value


def _line_item(row: dict[str, str], line_cols: Sequence[str]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    for col in line_cols:
        value = row.get(col, "")
        if value == "":
            continue
        path = col.split(".")[1:]
        if path == ["kdv"]:
            item.setdefault("taxes", []).insert(0, {"code": "0015", "percent": value})
        elif path[0] == "tax" and len(path) in (2, 3):
            entry = {"code": path[1], ("amount" if path[-1] == "amount" else "percent"): value}
            item.setdefault("taxes", []).append(entry)
        else:
            _put(item, path, value)
    return item


def _read_csv(raw: BinaryIO) -> Iterator[Record]:
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        raise BatchInputError("the CSV file is empty (a header row is needed)") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise BatchInputError(f"the CSV header cannot be read: {exc}") from None
    header = [h.strip() for h in header]
    seen: set[str] = set()
    for h in header:
        if not h or not _COLUMN_RE.fullmatch(h):
            raise BatchInputError(f"CSV header: column name {h!r} is not a dotted key like supplier.vkn or line.name")
        if h in seen:
            raise BatchInputError(f"CSV header: column {h!r} appears twice")
        seen.add(h)
    key_col = "invoice" if "invoice" in seen else "id" if "id" in seen else None
    if key_col is None:
        raise BatchInputError("CSV header: an 'invoice' (or 'id') column is needed to group line rows into invoices")
    if "line.name" not in seen:
        raise BatchInputError("CSV header: a 'line.name' column is needed (one row per line item)")
    doc_cols = [h for h in header if not h.startswith("line.") and h != "invoice"]
    line_cols = [h for h in header if h.startswith("line.")]
    closed: set[bytes] = set()  # 8-byte hashes of finished invoice keys: rows must be consecutive

    group: list[tuple[int, dict[str, str]]] = []
    group_key: str | None = None

    def finish() -> Record:
        first_line, first = group[0]
        rows = tuple(n for n, _ in group)
        problems: list[str] = []
        for n, row in group[1:]:
            for col in doc_cols:
                v = row.get(col, "")
                if v != "" and v != first.get(col, ""):
                    problems.append(f"CSV line {n}, column {col}: {v!r} differs from {first.get(col, '')!r} on the "
                                    f"invoice's first row {first_line} (document columns are given once or repeated)")
        if problems:
            return Record(first_line, None, problem="; ".join(problems), rows=rows)
        data: dict[str, Any] = {}
        for col in doc_cols:
            if first.get(col, "") != "":
                _put(data, col.split("."), first[col])
        data["lines"] = [_line_item(row, line_cols) for _, row in group]
        return Record(first_line, data, rows=rows)

    line_no = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise BatchInputError(f"CSV line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError:
            raise BatchInputError(f"CSV after line {line_no}: not UTF-8") from None
        start, line_no = line_no + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(header):
            yield Record(start, None, problem=f"CSV line {start}: {len(cells)} cells but the header has {len(header)}",
                         rows=(start,))
            continue
        row = dict(zip(header, (c.strip() for c in cells)))
        key = row.get(key_col, "")
        if key == "":
            yield Record(start, None, problem=f"CSV line {start}: the {key_col!r} column is empty", rows=(start,))
            continue
        if key != group_key:
            if group:
                closed.add(hashlib.blake2b(group_key.encode(), digest_size=8).digest())  # type: ignore[union-attr]
                yield finish()
            group, group_key = [], key
            if hashlib.blake2b(key.encode(), digest_size=8).digest() in closed:
                yield Record(start, None, rows=(start,), problem=(
                    f"CSV line {start}: rows of invoice {key!r} are not consecutive "
                    f"(all rows of one invoice must follow each other; sort the file by {key_col})"))
                group_key = None
                continue
        group.append((start, row))
    if group:
        yield finish()


def _numbered(records: Iterable[Record], next_numbers: Mapping[str, int]) -> Iterator[Record]:
    """Give records with ``series`` and no ``id`` their sequence number, by input order,
    counting per (series, year of issue_date) from ``next_numbers[series]`` (default 1)."""
    counters: dict[tuple[str, str], int] = {}
    for rec in records:
        d = rec.data
        if d is not None and not d.get("id") and isinstance(d.get("series"), str):
            series = d["series"]
            year = d["issue_date"][:4] if isinstance(d.get("issue_date"), str) else ""
            n = counters.get((series, year), next_numbers.get(series, 1))
            counters[(series, year)] = n + 1
            rec = Record(rec.line, d, n, rec.problem, rec.rows, rec.text)
        yield rec


def _detect_format(path: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise BatchInputError(f"{path}: cannot tell the format from the name; use .jsonl or .csv (or --format)")


class _Input:
    """An input file opened for streaming, with a byte counter for progress."""

    def __init__(self, path: str | os.PathLike[str], fmt: str | None = None,
                 next_numbers: Mapping[str, int] | None = None):
        self.path = Path(path)
        self.format = _detect_format(self.path, fmt)
        if self.format not in ("jsonl", "csv"):
            raise BatchInputError(f"unknown input format {self.format!r} (jsonl or csv)")
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            raise BatchInputError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise BatchInputError(f"{self.path}: is a directory") from None
        except PermissionError:
            raise BatchInputError(f"{self.path}: permission denied") from None
        self.size = os.fstat(fh.fileno()).st_size
        self._counting = _Counting(fh)
        self._raw = io.BufferedReader(self._counting, 1024 * 1024)
        reader = _read_jsonl(self._raw) if self.format == "jsonl" else _read_csv(self._raw)
        self.records = _numbered(reader, next_numbers or {})

    @property
    def pos(self) -> int:
        return self._counting.pos

    def close(self) -> None:
        self._raw.close()


def read_records(path: str | os.PathLike[str], fmt: str | None = None,
                 next_numbers: Mapping[str, int] | None = None) -> Iterator[Record]:
    """Records of a JSONL or CSV file, lazily, numbered (see :class:`Record`)."""
    src = _Input(path, fmt, next_numbers)
    try:
        yield from src.records
    finally:
        src.close()


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1024 * 1024):
            h.update(block)
    return h.hexdigest()


# ----------------------------------------------------------------------------- mappers

#: maps an iterator of record chunks to an iterator of result chunks, *in the same order*
Mapper = Callable[[Iterator[list[Record]], BatchOptions], Iterator[list[RecordResult]]]


def _warm(options: BatchOptions) -> None:
    from .render import warm_up as render_warm_up

    render_warm_up()  # the jinja2 template, compiled once before the pool forks
    if options.validate:
        from .validation import warm_up

        warm_up()
    if options.sign is not None:
        _signer(options.sign)


def _worker_init(options: BatchOptions, parent: int | None = None) -> None:
    import signal

    if parent is not None:
        from ._process import die_with_parent

        die_with_parent(parent)  # a killed ``ubltr batch`` used to leave its workers running
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle (and resume)
    _warm(options)


def local_mapper(workers: int | None = None, in_flight: int | None = None) -> Mapper:
    """A process pool (``fork`` where available) with at most ``in_flight`` chunks
    submitted and not yet written (default 2 per worker): memory stays flat however
    long the input.  ``workers=1`` runs in this process.

    When a worker dies (killed from outside, out of memory, a crash in C code), the
    chunk it held is processed again one record at a time, each in a child of its own:
    a record that kills its process goes to ``errors.jsonl``, every other record of
    the chunk is written, and the run goes on with a new pool."""

    def mapper(chunks: Iterator[list[Record]], options: BatchOptions) -> Iterator[list[RecordResult]]:
        n = workers or os.cpu_count() or 1
        _warm(options)  # compiled schemas/rules are built once and inherited by forked workers
        if n <= 1:
            for chunk in chunks:
                yield process_chunk(chunk, options)
            return
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
        limit = in_flight or 2 * n
        source = iter(chunks)
        resubmit: deque = deque()  # chunks taken from the input but not yet yielded
        while True:
            pending: deque = deque()  # (chunk, future or None when it could not be submitted)
            with ProcessPoolExecutor(n, mp_context=ctx, initializer=_worker_init,
                                     initargs=(options, os.getpid())) as pool:

                def submit(chunk: list[Record]) -> None:
                    try:
                        pending.append((chunk, pool.submit(process_chunk, chunk, options)))
                    except BrokenProcessPool:
                        pending.append((chunk, None))
                        raise

                try:
                    while resubmit:
                        submit(resubmit.popleft())
                    for chunk in source:
                        submit(chunk)
                        if len(pending) >= limit:
                            yield pending[0][1].result()
                            pending.popleft()
                    while pending:
                        yield pending[0][1].result()
                        pending.popleft()
                    return
                except BrokenProcessPool:
                    pass
            # a worker died: what finished before is kept, the first unfinished chunk is
            # redone record by record in isolation, the rest go to a new pool
            while pending:
                fut = pending[0][1]
                if fut is None or not fut.done() or fut.cancelled() or fut.exception() is not None:
                    break
                yield fut.result()
                pending.popleft()
            if pending:
                failed, _ = pending.popleft()
                yield [_isolated(record, options, ctx) for record in failed]
            resubmit = deque([chunk for chunk, _ in pending] + list(resubmit))  # input order kept

    return mapper


def _isolated(record: Record, options: BatchOptions, ctx: Any) -> RecordResult:
    """:func:`process_record` in a forked child of its own; a record whose child dies
    becomes a failure naming how it died."""
    if ctx is None:
        return process_record(record, options)
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send(process_record(record, options))
        finally:
            send.close()

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    send.close()
    try:
        result: RecordResult = recv.recv()
    except EOFError:
        proc.join()
        code = proc.exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        return RecordResult(record.line, None, None, None, stage="input", rows=record.rows, errors=(
            f"the process building this record died ({how}); nothing of it was written",))
    finally:
        recv.close()
    proc.join()
    return result


def dask_mapper(client: Any = None, window: int = 8) -> Mapper:
    """Run :func:`process_chunk` on a Dask cluster through ``dask.bag``.

    Chunks are taken ``window`` at a time, each window becomes a bag with one
    partition per chunk, and ``bag.map_partitions`` runs the chunks on the workers;
    results come back in order, so the writer (and the outputs) are those of a
    local run.  ``client``: a ``distributed.Client`` (default: the current one)."""

    def mapper(chunks: Iterator[list[Record]], options: BatchOptions) -> Iterator[list[RecordResult]]:
        import dask.bag as db

        while True:
            batch = list(islice(chunks, window))
            if not batch:
                return
            bag = db.from_sequence(batch, npartitions=len(batch))
            # each element of the bag is a whole chunk; map runs process_chunk on it remotely
            mapped = bag.map(process_chunk, options)
            if client is not None:
                results = client.compute(mapped).result()
            else:
                results = mapped.compute()
            yield from results

    return mapper


# ----------------------------------------------------------------------------- writing


@dataclass
class BatchSummary:
    """Counts of a batch run (including records finished by earlier, resumed runs)."""

    records: int = 0
    ok: int = 0
    failed: int = 0
    warnings: int = 0
    skipped: int = 0  #: records finished by an earlier run and not redone
    failed_by_stage: dict[str, int] = field(default_factory=dict)
    out: str = ""
    errors_path: str | None = None
    complete: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


ProgressFn = Callable[[BatchSummary, int, int], None]


class _Journal:
    """``journal.jsonl``: header, one entry per finished record, a commit per chunk."""

    def __init__(self, directory: Path):
        self.path = directory / JOURNAL
        self._fh: Any = None

    def read(self) -> tuple[dict | None, dict | None, int, int]:
        """(header, last commit, byte offset after it, old chunk size)."""
        header = commit = None
        offset = 0
        pos = 0
        with open(self.path, "rb") as fh:
            for raw in fh:
                pos += len(raw)
                if not raw.endswith(b"\n"):
                    break  # torn last line: ignore
                try:
                    entry = json.loads(raw)
                except ValueError:
                    break
                if header is None:
                    header, offset = entry, pos
                elif "commit" in entry:
                    commit, offset = entry, pos
        return header, commit, offset, int((header or {}).get("chunk_size", 0))

    def open(self, offset: int | None) -> None:
        self._fh = open(self.path, "r+b" if offset is not None else "wb")
        if offset is not None:
            self._fh.truncate(offset)
            self._fh.seek(offset)

    def write(self, entry: dict[str, Any]) -> None:
        self._fh.write(_jsonl(entry, separators=(",", ":")))

    def sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if self._fh:
            self._fh.close()


def _duplicate(name: str) -> str:
    return (f"output: {name} already exists (two records with the same invoice id"
            f" — or, for CSV, rows of one invoice that are not consecutive)")


class _DirWriter:
    """Writes ``<ID>.xml`` files; an existing name is a duplicate unless it is the
    identical file left by the interrupted run being resumed."""

    def __init__(self, directory: Path, durable: bool, tolerant: int):
        self.dir = directory
        self.durable = durable
        self.tolerant = tolerant  # records at the start of this run that may find their own old files
        self._tail_names: set[str] = set()
        self._pool: Any = None

    def put_many(self, items: Sequence[tuple[str, bytes]]) -> list[str | None]:
        """Write a chunk's files concurrently (file creation waits on the disk more than
        it uses the CPU); a name twice in the chunk: the later one is the duplicate."""
        if len(items) < 4:
            return [self.put(n, d) for n, d in items]
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(8, thread_name_prefix="ubltr-batch-write")
        seen: set[str] = set()
        out: list[str | None] = [None] * len(items)
        jobs = []
        for i, (name, data) in enumerate(items):
            if name in seen:
                out[i] = _duplicate(name)
            else:
                seen.add(name)
                jobs.append((i, self._pool.submit(self.put, name, data)))
        for i, job in jobs:
            out[i] = job.result()
        return out

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def put(self, name: str, data: bytes) -> str | None:
        path = self.dir / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if self.tolerant > 0 and name not in self._tail_names:
                self._tail_names.add(name)
                tmp = self.dir / f".{name}.part"
                tmp.write_bytes(data)  # the old file may be torn: replace it whole
                os.replace(tmp, path)
                return None
            return _duplicate(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if self.durable:
                    fh.flush()
                    os.fsync(fh.fileno())
        except OSError as exc:
            raise BatchInputError(f"{path}: cannot write ({exc.strerror})") from None
        if self.tolerant > 0:
            self._tail_names.add(name)
        return None

    def step(self) -> None:
        if self.tolerant > 0:
            self.tolerant -= 1
            if self.tolerant == 0:
                self._tail_names.clear()


def _chunks(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while True:
        chunk = list(islice(records, size))
        if not chunk:
            return
        yield chunk


def _header(src: _Input, options: BatchOptions, next_numbers: Mapping[str, int], chunk_size: int) -> dict:
    return {
        "ubltr_batch": _FORMAT_VERSION,
        "input": {"name": src.path.name, "format": src.format, "size": src.size, "sha256": _file_sha256(src.path)},
        "options": options.fingerprint(),
        "next_numbers": dict(sorted(next_numbers.items())),
        "chunk_size": chunk_size,
    }


def run_batch(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    options: BatchOptions = BatchOptions(),
    *,
    fmt: str | None = None,
    next_numbers: Mapping[str, int] | None = None,
    workers: int | None = None,
    chunk_size: int = 64,
    mapper: Mapper | None = None,
    durable: bool = False,
    progress: ProgressFn | None = None,
) -> BatchSummary:
    """Process every record of ``input_path`` (JSONL or CSV) into ``out``.

    ``out``: a directory (``<ID>.xml`` per invoice, ``errors.jsonl``, ``journal.jsonl``),
    or a path ending in ``.zip`` (the run happens in ``OUT.zip.parts/``; when every
    record is done the XML files are zipped in input order into ``OUT.zip``,
    ``errors.jsonl`` is moved to ``OUT.errors.jsonl`` and the parts directory removed).

    Running again into the same place resumes: the same input and options are
    required, finished records are skipped.  ``mapper`` decides where records are
    processed (default :func:`local_mapper` with ``workers`` processes).
    ``durable``: fsync each output file (survive power loss, not just interruption).
    ``progress(summary, bytes_read, bytes_total)`` is called after every chunk.

    Raises :class:`BatchInputError` for an unusable input or output place.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    out_path = Path(out)
    zip_target = out_path if out_path.suffix.lower() == ".zip" else None
    directory = out_path.with_name(out_path.name + ".parts") if zip_target else out_path
    numbers = dict(next_numbers or {})
    for series, n in numbers.items():
        if not 0 < n < 10 ** 9:
            raise BatchInputError(f"next number for series {series!r} must be between 1 and 999999999")
    if zip_target is not None and zip_target.exists():
        raise BatchInputError(f"{zip_target} already exists (remove it or choose another name)")

    journal = _Journal(directory)
    resume_offset: int | None = None
    skip = 0
    tolerant = 0
    summary = BatchSummary(out=str(zip_target or directory))
    if directory.exists() and not directory.is_dir():
        raise BatchInputError(f"{directory} exists and is not a directory")
    existing = journal.path.is_file()
    if not existing and directory.exists() and any(directory.iterdir()):
        raise BatchInputError(f"{directory} is not empty and holds no batch journal; use an empty or new directory")

    src = _Input(input_path, fmt, numbers)
    try:
        if existing:
            header, commit, resume_offset, old_chunk = journal.read()
            if header is None:
                raise BatchInputError(f"{journal.path} is damaged (no header); use a new output directory")
            if options.sign is not None and options.signing_time is None and header["options"].get("signing_time"):
                options = dataclasses.replace(
                    options, signing_time=datetime.fromisoformat(header["options"]["signing_time"]))
            expected = _header(src, _fixed_time(options), numbers, header.get("chunk_size", chunk_size))
            for part in ("input", "options", "next_numbers"):
                if header.get(part) != expected[part]:
                    raise BatchInputError(
                        f"{directory} holds a run with a different {part.replace('_', ' ')} "
                        f"({json.dumps(header.get(part), ensure_ascii=False)}); resume needs the same input and "
                        f"options, or use a new output directory")
            options = _fixed_time(options)
            if commit:
                skip = commit["commit"]
                summary.ok, summary.failed, summary.warnings = commit["ok"], commit["failed"], commit["warnings"]
                summary.failed_by_stage = dict(commit.get("by_stage", {}))
                errors_size = commit["errors_size"]
            else:
                errors_size = 0
            summary.records = summary.skipped = skip
            tolerant = max(old_chunk, 1)
            if commit and commit.get("done"):
                summary.complete = True
        else:
            directory.mkdir(parents=True, exist_ok=True)
            options = _fixed_time(options)
            errors_size = 0
        journal.open(resume_offset)
        if not existing:
            journal.write(_header(src, options, numbers, chunk_size))
            journal.sync()
        errors_path = directory / ERRORS
        errors_fh = open(errors_path, "r+b" if errors_path.exists() else "wb")
        errors_fh.truncate(errors_size)
        errors_fh.seek(errors_size)
        writer = _DirWriter(directory, durable, tolerant)
        try:
            if not summary.complete:
                _run(src, skip, options, chunk_size, mapper or local_mapper(workers), writer, journal,
                     errors_fh, summary, progress)
        finally:
            writer.close()
            errors_fh.close()
            journal.close()
    finally:
        src.close()

    summary.errors_path = str(errors_path) if summary.failed else None
    if zip_target is not None:
        _zip(directory, zip_target)
        errs = zip_target.with_name(zip_target.stem + ".errors.jsonl")
        if summary.failed:
            os.replace(errors_path, errs)
            summary.errors_path = str(errs)
        shutil.rmtree(directory)
    elif not summary.failed and errors_path.exists() and errors_path.stat().st_size == 0:
        errors_path.unlink()
    return summary


def _fixed_time(options: BatchOptions) -> BatchOptions:
    if options.sign is None or options.signing_time is not None:
        return options
    now = datetime.now(timezone.utc).replace(microsecond=0)
    return dataclasses.replace(options, signing_time=now)


def _run(src: _Input, skip: int, options: BatchOptions, chunk_size: int, mapper: Mapper, writer: _DirWriter,
         journal: _Journal, errors_fh: Any, summary: BatchSummary, progress: ProgressFn | None) -> None:
    records = src.records
    for _ in islice(records, skip):  # finished by an earlier run (read again for numbering)
        pass
    for results in mapper(_chunks(records, chunk_size), options):
        if writer.tolerant > 0:  # resuming: the first records may meet their own files, one by one
            problems = []
            for r in results:
                problems.append(writer.put(r.name, r.xml) if r.ok else None)  # type: ignore[arg-type]
                writer.step()
        else:
            ok = [r for r in results if r.ok]
            it = iter(writer.put_many([(r.name, r.xml) for r in ok]))  # type: ignore[misc]
            problems = [next(it) if r.ok else None for r in results]
        for r, problem in zip(results, problems):
            if problem:
                r = RecordResult(r.line, r.id, r.uuid, None, errors=(problem,), stage="output", rows=r.rows)
            summary.records += 1
            summary.warnings += r.warnings
            if r.ok:
                summary.ok += 1
                journal.write({"line": r.line, "name": r.name, "sha256": r.sha256})
            else:
                summary.failed += 1
                summary.failed_by_stage[r.stage or "input"] = summary.failed_by_stage.get(r.stage or "input", 0) + 1
                errors_fh.write(_jsonl(r.error_entry()))
                journal.write({"line": r.line, "failed": r.stage})
        errors_fh.flush()
        os.fsync(errors_fh.fileno())
        journal.write(_commit(summary, errors_fh.tell()))
        journal.sync()
        if progress:
            progress(summary, src.pos, src.size)
    journal.write(_commit(summary, errors_fh.tell(), done=True))
    journal.sync()
    summary.complete = True
    if progress:
        progress(summary, src.size, src.size)


def _jsonl(entry: dict[str, Any], **kwargs: Any) -> bytes:
    """One JSON line, UTF-8.  A lone surrogate from the input (an id, a message quoting
    it) is written as its JSON escape (``\\ud800``), so the line stays valid JSON and
    says exactly what the input said."""
    return json.dumps(entry, ensure_ascii=False, **kwargs).encode("utf-8", "backslashreplace") + b"\n"


def _commit(summary: BatchSummary, errors_size: int, done: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {"commit": summary.records, "ok": summary.ok, "failed": summary.failed,
                             "warnings": summary.warnings, "by_stage": dict(sorted(summary.failed_by_stage.items())),
                             "errors_size": errors_size}
    if done:
        entry["done"] = True
    return entry


def _zip(directory: Path, target: Path) -> None:
    """Zip the finished outputs in input order (journal order) with fixed metadata,
    into ``target.part``, then rename: a reader never sees a half-written archive.

    :mod:`zipfile`, each entry streamed from its file with a fixed date, mode and
    compression level, so the bytes depend on the contents only; zipfile adds the
    ZIP64 records when the archive needs them (more than 65,535 entries or 4 GiB), and
    an entry of 4 GiB or more is opened with ``force_zip64``.  zipfile keeps every
    entry's header in memory until it writes the central directory (a few hundred bytes
    per invoice)."""
    tmp = target.with_name(target.name + ".part")
    with open(directory / JOURNAL, "rb") as jf, open(tmp, "wb") as out:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            for i, raw in enumerate(jf):
                if i == 0:
                    continue
                name = json.loads(raw).get("name")
                if not name:
                    continue
                src_path = directory / name
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.create_system = 3  # Unix, whatever the platform: the bytes must not depend on it
                info.external_attr = 0o100644 << 16
                size = src_path.stat().st_size
                info.file_size = size
                with open(src_path, "rb") as src, zf.open(info, "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as dst:
                    shutil.copyfileobj(src, dst, 1024 * 1024)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, target)


# ----------------------------------------------------------------------------- PDFs (--pdf)


def pdf_jobs(directory: str | os.PathLike[str]) -> list[ViewJob]:
    """A :class:`ubltr.viewfiles.ViewJob` for every document of a batch output directory
    (the ``<ID>.xml`` files its journal lists) that has no ``<ID>.pdf`` beside it yet:
    a resumed or repeated ``--pdf`` run prints only what is missing, none twice."""
    from .viewfiles import ViewJob

    d = Path(directory)
    jobs = []
    with open(d / JOURNAL, "rb") as jf:
        for i, raw in enumerate(jf):
            if i == 0:
                continue
            name = json.loads(raw).get("name")
            if name and not (d / name).with_suffix(".pdf").exists():
                jobs.append(ViewJob(d / name, pdf=(d / name).with_suffix(".pdf")))
    return jobs
