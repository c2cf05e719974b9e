"""The shared fake-provider framework: a real HTTP server on 127.0.0.1.

A provider fake is a :class:`Handler` subclass (one module per provider beside this
one) that speaks the provider's contract: authentication, validation of what it
receives (through a pluggable :data:`Validator`), duplicate detection on the
provider's idempotency key (through the thread-safe :class:`Ledger`), status
queries.  The framework around it adds what real networks do, from a seeded
:class:`FaultPlan`:

``503`` / ``429``
    answered without touching the request (the provider does not have it);
``500``
    answered without touching the request, but a client cannot know that;
``timeout``
    the connection is held ``hold`` seconds, then closed without an answer; the
    request is not processed;
``lost``
    the request **is processed** (the provider has the document), then the
    connection is closed without an answer: the worst case;
``late``
    processed, answered only after ``hold`` seconds (after the client gave up).

Control endpoints (never faulted, never authenticated, 127.0.0.1 only):
``GET /_fake/stats``, ``GET /_fake/records`` (what the fake holds), ``POST /_fake/faults`` (``{"rate", "seed", "schedule",
"weights", "hold"}``), ``POST /_fake/reset``.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS = ("503", "429", "500", "timeout", "lost", "late")
#: the mix used for ``--fail-rate`` unless weights are given
DEFAULT_WEIGHTS: Mapping[str, float] = {"503": 0.25, "429": 0.15, "500": 0.0,
                                        "timeout": 0.2, "lost": 0.4, "late": 0.0}
#: faults after which the client cannot know whether the request was processed
AMBIGUOUS = frozenset({"500", "timeout", "lost", "late"})
MAX_BODY = 25 * 1024 * 1024


# --------------------------------------------------------------------------- requests

@dataclass(frozen=True, slots=True)
class FakeRequest:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def bearer(self) -> str | None:
        auth = self.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def multipart_file(self, field_name: str = "file") -> bytes | None:
        """The content of one part of a ``multipart/form-data`` body (stdlib email parser)."""
        ctype = self.headers.get("content-type", "")
        if not ctype.startswith("multipart/form-data"):
            return None
        from email.parser import BytesParser
        from email.policy import HTTP

        msg = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + self.body)
        if not msg.is_multipart():
            return None
        for part in msg.iter_parts():
            if part.get_param("name", header="content-disposition") == field_name:
                payload = part.get_payload(decode=True)
                return payload if isinstance(payload, bytes) else None
        return None


@dataclass(slots=True)
class FakeResponse:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, obj: Any, **headers: str) -> FakeResponse:
        return cls(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), headers=dict(headers))


# --------------------------------------------------------------------------- validation

@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    message: str
    provider_codes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Verdict:
    valid: bool
    findings: tuple[Finding, ...] = ()


Validator = Callable[[bytes], Verdict]

_UBL_INVOICE = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"


def basic_validator(xml: bytes) -> Verdict:
    """Well-formed, XXE-safe, root ``Invoice`` in the UBL namespace, a ``cbc:UUID``."""
    from ..base import Document, parse_xml

    try:
        root = parse_xml(xml)
    except ValueError as exc:
        return Verdict(False, (Finding("xml.wellformed", str(exc)),))
    if root.tag != _UBL_INVOICE:
        return Verdict(False, (Finding("xml.root", f"root element is {root.tag}, expected {_UBL_INVOICE}"),))
    try:
        Document.from_xml(xml)
    except ValueError as exc:
        return Verdict(False, (Finding("ubl.uuid", str(exc)),))
    return Verdict(True)


def real_validator(provider: str | None = None) -> Validator | None:
    """``ubltr.validation.validate`` adapted to :data:`Validator`, when it is importable.

    ``provider`` turns on that provider's extra rules when the validator knows it.
    """
    try:
        from ubltr.validation import validate
    except ImportError:
        return None
    try:
        from ubltr.validation import known_providers
        if provider is not None and provider not in set(known_providers()):
            provider = None
    except ImportError:
        provider = None
    try:
        from ubltr.validation import warm_up
        warm_up()  # schemas and rules compiled before the first request, not during it
    except ImportError:
        pass

    def check(xml: bytes) -> Verdict:
        first = basic_validator(xml)  # cheap refusal of non-XML before the full run
        if not first.valid:
            return first
        report = validate(xml, provider=provider) if provider else validate(xml)
        findings = []
        for f in getattr(report, "findings", ()) or ():
            if getattr(f, "severity", "error") not in ("error", "fatal"):
                continue
            rule = str(getattr(f, "rule", None) or getattr(f, "rule_id", None) or "?")
            try:
                codes = dict(getattr(f, "provider_codes", None) or ())
            except (TypeError, ValueError):
                codes = {}
            findings.append(Finding(rule, str(getattr(f, "message", "")), codes))
        return Verdict(bool(report.valid), tuple(findings))

    return check


def default_validator(kind: str = "auto", provider: str | None = None) -> Validator:
    """``basic``, ``real`` (fails if not importable) or ``auto`` (real when available)."""
    if kind == "basic":
        return basic_validator
    real = real_validator(provider)
    if real is None:
        if kind == "real":
            raise RuntimeError("ubltr.validation.validate is not available")
        return basic_validator
    return real


# --------------------------------------------------------------------------- state

class _Index(set):  # type: ignore[type-arg]
    """A set of unique values a provider enforces, written through to the ledger's file."""

    def __init__(self, ledger: Ledger, name: str, values: set[str] | None = None) -> None:
        super().__init__(values or ())
        self._ledger, self._name = ledger, name

    def add(self, value: str) -> None:
        with self._ledger.lock:
            if value not in self:
                super().add(value)
                self._ledger._write("INSERT OR IGNORE INTO indexes (name, value) VALUES (?, ?)", (self._name, value))


class _Indexes(dict):  # type: ignore[type-arg]
    def __init__(self, ledger: Ledger) -> None:
        super().__init__()
        self._ledger = ledger

    def __missing__(self, name: str) -> _Index:
        idx = self[name] = _Index(self._ledger, name)
        return idx


class Ledger:
    """What the fake provider holds, keyed by its idempotency key; thread-safe.

    ``created[key]`` counts how many documents the provider created for a key: a
    value above one is a duplicate invoice, which the reliability test forbids.

    With ``path`` the ledger lives in a SQLite file, written through on every change
    before the fake answers, so a fake that is killed and restarted on the same file
    still knows every document it accepted (and how many times).  Handlers that
    change a record in place call :meth:`save` (or :meth:`update`).
    """

    def __init__(self, path: str | None = None) -> None:
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, Any]] = {}
        self.created: Counter[str] = Counter()
        #: secondary unique keys a provider enforces (e.g. invoice numbers), by name
        self.indexes: _Indexes = _Indexes(self)
        self._serial = 0
        self.path = path
        self._db: Any = None
        self._lockfd: int | None = None
        if path:
            self._open(path)

    # ---- persistence
    def _open(self, path: str) -> None:
        import pickle
        import sqlite3

        import fcntl
        import os

        # one fake per state file: a second one would hold a stale copy in memory
        self._lockfd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(self._lockfd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lockfd)
            self._lockfd = None
            raise ValueError(f"state file {path} is in use by another fake") from None
        db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")   # a killed process loses nothing committed
        db.execute("CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, created INTEGER NOT NULL, data BLOB)")
        db.execute("CREATE TABLE IF NOT EXISTS indexes (name TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, value))")
        db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")
        self._db = db
        for key, created, data in db.execute("SELECT key, created, data FROM records"):
            if data is not None:
                self.records[key] = pickle.loads(data)   # the fake's own file, written by this class
            self.created[key] = int(created)
        for name, value in db.execute("SELECT name, value FROM indexes"):
            set.add(self.indexes[name], value)
        row = db.execute("SELECT value FROM meta WHERE name = 'serial'").fetchone()
        self._serial = int(row[0]) if row else 0

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        if self._db is not None:
            self._db.execute(sql, params)

    def _store(self, key: str) -> None:
        if self._db is None:
            return
        import pickle

        rec = self.records.get(key)
        self._db.execute("INSERT OR REPLACE INTO records (key, created, data) VALUES (?, ?, ?)",
                         (key, self.created.get(key, 0), pickle.dumps(rec) if rec is not None else None))

    def save(self, key: str) -> None:
        """Persist ``records[key]`` after an in-place change."""
        with self.lock:
            self._store(key)

    def close(self) -> None:
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._lockfd is not None:
                import os

                os.close(self._lockfd)
                self._lockfd = None

    # ---- the ledger
    def next_serial(self) -> int:
        with self.lock:
            self._serial += 1
            self._write("INSERT OR REPLACE INTO meta (name, value) VALUES ('serial', ?)", (self._serial,))
            return self._serial

    def create(self, key: str, record: dict[str, Any], *, dedup: bool = True) -> tuple[bool, dict[str, Any]]:
        """Store ``record`` under ``key``; with ``dedup`` an existing key is returned instead."""
        with self.lock:
            if dedup and key in self.records:
                return False, self.records[key]
            self.records[key] = record
            self.created[key] += 1
            self._store(key)
            return True, record

    def get(self, key: str) -> dict[str, Any] | None:
        with self.lock:
            return self.records.get(key)

    def update(self, key: str, **changes: Any) -> dict[str, Any] | None:
        with self.lock:
            rec = self.records.get(key)
            if rec is not None:
                rec.update(changes)
                self._store(key)
            return rec

    def reset(self) -> None:
        with self.lock:
            self.records.clear()
            self.created.clear()
            self.indexes.clear()
            self._serial = 0
            if self._db is not None:
                for table in ("records", "indexes", "meta"):
                    self._db.execute(f"DELETE FROM {table}")


class FaultPlan:
    """Seeded choice of a fault per request; an explicit ``schedule`` is consumed first.

    ``schedule`` entries are fault kinds or ``"ok"``; after it runs out, each request
    faults with probability ``rate``, the kind drawn from ``weights``.
    """

    def __init__(self, rate: float = 0.0, seed: int = 0, *, weights: Mapping[str, float] | None = None,
                 schedule: Sequence[str] = ()) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError("fail rate must be within 0..1")
        weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        unknown = set(weights) - set(FAULT_KINDS)
        bad = [s for s in schedule if s != "ok" and s not in FAULT_KINDS]
        if unknown or bad:
            raise ValueError(f"unknown fault kinds: {sorted(unknown | set(bad))}; known: {FAULT_KINDS}")
        self.kinds = [k for k, w in weights.items() if w > 0]
        self.weights = [weights[k] for k in self.kinds]
        if rate > 0 and not self.kinds:
            raise ValueError("fail rate > 0 needs at least one fault kind with weight > 0")
        self.rate = rate
        self.seed = seed
        self.schedule = list(schedule)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def next(self) -> str | None:
        with self._lock:
            if self.schedule:
                kind = self.schedule.pop(0)
                return None if kind == "ok" else kind
            if self.rate and self._rng.random() < self.rate:
                return self._rng.choices(self.kinds, self.weights)[0]
            return None


@dataclass
class FakeContext:
    """What a handler gets from the framework."""

    ledger: Ledger
    validate: Validator
    credentials: Mapping[str, str]


class Handler:
    """Base of a provider fake.  Subclasses implement :meth:`handle` and :meth:`error`.

    ``idempotency`` names the key the provider deduplicates on (``None`` when the
    provider documents none: its fake then creates a second document on a resend).
    """

    name: str = "fake"
    idempotency: str | None = None
    default_credentials: Mapping[str, str] = {}

    def __init__(self, ctx: FakeContext) -> None:
        self.ctx = ctx

    def handle(self, req: FakeRequest) -> FakeResponse:
        raise NotImplementedError

    def error(self, status: int, code: str, message: str) -> FakeResponse:
        """An error in the provider's own shape (used for injected 5xx/429 too)."""
        return FakeResponse.json(status, {"error": code, "message": message})

    def key_of(self, req: FakeRequest) -> str | None:
        """The document key a request concerns (for the fault log), if any."""
        return None

    def is_send(self, req: FakeRequest) -> bool:
        """Whether a request submits a document (fault statistics are split on this)."""
        return req.method == "POST"


# --------------------------------------------------------------------------- server

class FakeServer:
    """Run a :class:`Handler` behind a real HTTP server on 127.0.0.1 (in a thread).

    >>> from ubltr.transport.fake.nilvera import NilveraFake
    >>> with FakeServer(NilveraFake, faults=FaultPlan(0.2, seed=1)) as fake:  # doctest: +SKIP
    ...     fake.url
    """

    def __init__(self, handler_cls: type[Handler], *, port: int = 0, faults: FaultPlan | None = None,
                 hold: float = 0.35, credentials: Mapping[str, str] | None = None,
                 validator: Validator | None = None, verbose: bool = False, state: str | None = None) -> None:
        """``state``: a SQLite file holding what the fake accepted (kept across restarts);
        ``None`` keeps it in memory."""
        self.ledger = Ledger(state)
        creds = dict(handler_cls.default_credentials)
        creds.update(credentials or {})
        self.handler = handler_cls(FakeContext(self.ledger, validator or default_validator(provider=handler_cls.name), creds))
        self.faults = faults or FaultPlan()
        self.hold = hold
        self.verbose = verbose
        self.events: list[dict[str, Any]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._httpd = _QuietServer(("127.0.0.1", port), _make_request_handler(self))
        self._httpd.verbose = verbose
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ---- lifecycle
    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"fake-{self.handler.name}", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.ledger.close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- bookkeeping
    def record_fault(self, kind: str, req: FakeRequest, processed: bool) -> None:
        try:
            key = self.handler.key_of(req)
        except Exception:  # a malformed request still gets its fault logged
            key = None
        with self._lock:
            self.events.append({"kind": kind, "method": req.method, "path": req.path, "key": key,
                                "send": self.handler.is_send(req), "processed": processed})

    def stats(self) -> dict[str, Any]:
        """Counts for tests: documents created per key, duplicates, injected faults."""
        with self._lock:
            events = list(self.events)
            requests = self.requests
        with self.ledger.lock:
            created = dict(self.ledger.created)
        faults = Counter(e["kind"] for e in events)
        return {
            "provider": self.handler.name,
            "requests": requests,
            "documents": len(created),
            "created": created,
            "duplicates": {k: n for k, n in created.items() if n > 1},
            "faults": dict(faults),
            "events": events,
        }

    def records(self) -> dict[str, Any]:
        """What the fake holds, per key, as JSON (bytes as UTF-8 text, else base64;
        decimals as their exact text): compare it with what you built."""
        import base64
        from decimal import Decimal

        def plain(v: Any) -> Any:
            if isinstance(v, dict):
                return {str(k): plain(x) for k, x in v.items()}
            if isinstance(v, (list, tuple)):
                return [plain(x) for x in v]
            if isinstance(v, Decimal):
                return str(v)
            if isinstance(v, bytes):
                try:
                    return v.decode("utf-8")
                except UnicodeDecodeError:
                    return {"base64": base64.b64encode(v).decode("ascii")}
            return v

        with self.ledger.lock:
            return {"provider": self.handler.name, "created": dict(self.ledger.created),
                    "records": {k: plain(r) for k, r in self.ledger.records.items()}}

    def configure(self, body: Mapping[str, Any]) -> None:
        self.faults = FaultPlan(float(body.get("rate", 0.0)), int(body.get("seed", 0)),
                                weights=body.get("weights"), schedule=body.get("schedule") or ())
        if "hold" in body:
            self.hold = float(body["hold"])

    def reset(self) -> None:
        self.ledger.reset()
        with self._lock:
            self.events.clear()
            self.requests = 0


class _QuietServer(ThreadingHTTPServer):
    """Clients that vanish (killed senders, timeouts) are normal here, not errors to print."""

    verbose = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)) and not self.verbose:
            return
        super().handle_error(request, client_address)


def _make_request_handler(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ubltr-fake"
        disable_nagle_algorithm = True  # one small answer per request: no 40 ms delayed-ACK stalls

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            if server.verbose:
                super().log_message(format, *args)

        def _drop(self) -> None:
            """Close the connection without an answer."""
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _write(self, resp: FakeResponse) -> None:
            try:
                self.send_response(resp.status)
                self.send_header("Content-Type", resp.content_type)
                self.send_header("Content-Length", str(len(resp.body)))
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                # headers and body in one write
                # (http.server's own header buffer, filled by send_header; not in typeshed)
                self._headers_buffer.append(  # type: ignore[attr-defined]
                    b"\r\n" + (resp.body if self.command != "HEAD" else b""))
                self.flush_headers()
            except OSError:
                self.close_connection = True

        def _read(self) -> FakeRequest | None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                self._write(FakeResponse.json(411, {"error": "length required"}))
                return None
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self._write(FakeResponse.json(413, {"error": "body too large or bad Content-Length"}))
                self.close_connection = True
                return None
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            return FakeRequest(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                               {k.lower(): v for k, v in self.headers.items()}, body)

        def _control(self, req: FakeRequest) -> FakeResponse:
            if req.path == "/_fake/stats" and req.method == "GET":
                return FakeResponse.json(200, server.stats())
            if req.path == "/_fake/faults" and req.method == "POST":
                try:
                    server.configure(req.json() or {})
                except (ValueError, TypeError) as exc:
                    return FakeResponse.json(400, {"error": str(exc)})
                return FakeResponse.json(200, {"ok": True})
            if req.path == "/_fake/records" and req.method == "GET":
                return FakeResponse.json(200, server.records())
            if req.path == "/_fake/reset" and req.method == "POST":
                server.reset()
                return FakeResponse.json(200, {"ok": True})
            return FakeResponse.json(404, {"error": "unknown control endpoint"})

        def _dispatch(self) -> None:
            req = self._read()
            if req is None:
                return
            if req.path.startswith("/_fake/"):
                self._write(self._control(req))
                return
            with server._lock:
                server.requests += 1
            kind = server.faults.next()
            handler = server.handler
            if kind in ("503", "429", "500"):
                server.record_fault(kind, req, processed=False)
                resp = handler.error(int(kind), f"Injected{kind}", "injected fault")
                if kind in ("503", "429"):
                    resp.headers.setdefault("Retry-After", "0")
                self._write(resp)
                return
            if kind == "timeout":
                server.record_fault(kind, req, processed=False)
                time.sleep(server.hold)
                self._drop()
                return
            try:
                resp = handler.handle(req)
            except Exception as exc:  # a bug in a fake must show, not hang the client
                resp = FakeResponse.json(500, {"error": "fake handler crashed", "detail": repr(exc)})
            if kind == "lost":
                server.record_fault(kind, req, processed=True)
                self._drop()
                return
            if kind == "late":
                server.record_fault(kind, req, processed=True)
                time.sleep(server.hold)
            self._write(resp)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = _dispatch

    return RequestHandler


def serve(handler_cls: type[Handler], *, port: int, fail_rate: float = 0.0, seed: int = 0,
          hold: float = 0.35, schedule: Sequence[str] = (), weights: Mapping[str, float] | None = None,
          credentials: Mapping[str, str] | None = None, validator: Validator | None = None,
          verbose: bool = False, ready: Callable[[FakeServer], None] | None = None,
          state: str | None = None) -> None:
    """Run a fake in the foreground until interrupted (the ``ubltr fake-provider`` command)."""
    srv = FakeServer(handler_cls, port=port, faults=FaultPlan(fail_rate, seed, weights=weights, schedule=schedule),
                     hold=hold, credentials=credentials, validator=validator, verbose=verbose, state=state)
    if ready is not None:
        ready(srv)
    try:
        srv.serve_forever()
    finally:
        srv._httpd.server_close()


def with_identity(xml: bytes, uuid: str, number: str | None = None) -> bytes:
    """A copy of a UBL-TR document with its ``cbc:UUID`` (and ``cbc:ID``) replaced.

    For tests and integration runs against the fakes: one valid document (e.g. a
    fixture built by ``ubltr build``) becomes as many distinct invoices as needed.
    """
    from lxml import etree

    from ..base import parse_xml

    root = parse_xml(xml)
    cbc = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
    for child in root:
        if child.tag == cbc + "UUID":
            child.text = uuid
        elif child.tag == cbc + "ID" and number is not None:
            child.text = number
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
