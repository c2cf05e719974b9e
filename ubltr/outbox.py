"""The outbox: a journal of every submission that makes sending exactly-once.

Every document is written to the journal *before* it is sent, and every attempt is
committed as ``sending`` before the request leaves.  After any unknown outcome (a
timeout, a lost response, a process killed mid-request) the provider is asked for
the document's status by its key before anything is resent; a provider with
neither a status lookup nor an idempotency key never gets a blind resend: the
entry ends in ``needs_reconciliation`` for a person to settle.

Storage is SQLite by default (a file the user names) or PostgreSQL when given a
``postgresql://`` DSN (needs the ``psycopg`` extra).

States::

    queued ──send──► sending ──► accepted | rejected            (final)
       ▲                │
       └── retryable ◄──┼──► pending ──status──► accepted | rejected
                        └──► unknown ──status──► (not found) queued | ...
                                     └─(no lookup, no key)─► needs_reconciliation (final)
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from .transport.base import (CONFIGURATION, RETRY_STATUSES, ConfigurationError, Document, Outcome, Provider,
                             SendResult)


class State(str, enum.Enum):
    QUEUED = "queued"
    SENDING = "sending"
    UNKNOWN = "unknown"
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    NEEDS_RECONCILIATION = "needs_reconciliation"
    CANCELLED = "cancelled"      # the provider had it, then it was cancelled (e-Arşiv)
    ABANDONED = "abandoned"      # an operator decided not to pursue it (ubltr outbox reconcile)


FINAL = frozenset({State.ACCEPTED, State.REJECTED, State.NEEDS_RECONCILIATION, State.CANCELLED,
                   State.ABANDONED})


class OutboxError(RuntimeError):
    """Misuse of the outbox (e.g. a UUID reused for different content)."""


class CredentialsRefused(RuntimeError):
    """The provider refused our credentials: the run stops, entries stay queued."""


@dataclass(frozen=True, slots=True)
class Entry:
    uuid: str
    provider: str
    state: State
    attempts: int
    invoice_id: str | None = None
    provider_id: str | None = None
    invoice_number: str | None = None
    error_code: str | None = None
    message: str | None = None
    http_status: int | None = None
    last_answer: dict[str, Any] | None = None
    created_at: float = 0.0
    updated_at: float = 0.0


_COLUMNS = ("uuid", "provider", "state", "attempts", "invoice_id", "provider_id", "invoice_number",
            "error_code", "message", "http_status", "last_answer", "created_at", "updated_at")

_DDL = {
    "sqlite": [
        """CREATE TABLE IF NOT EXISTS outbox (
            uuid TEXT PRIMARY KEY, provider TEXT NOT NULL, state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, invoice_id TEXT, profile TEXT, receiver_alias TEXT,
            provider_id TEXT, invoice_number TEXT, error_code TEXT, message TEXT, http_status INTEGER,
            last_answer TEXT, sha256 TEXT NOT NULL, xml BLOB NOT NULL, neutral TEXT,
            created_at REAL NOT NULL, updated_at REAL NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS outbox_state ON outbox (provider, state)",
        """CREATE TABLE IF NOT EXISTS outbox_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL, at REAL NOT NULL,
            event TEXT NOT NULL, detail TEXT)""",
    ],
    "postgres": [
        """CREATE TABLE IF NOT EXISTS outbox (
            uuid TEXT PRIMARY KEY, provider TEXT NOT NULL, state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, invoice_id TEXT, profile TEXT, receiver_alias TEXT,
            provider_id TEXT, invoice_number TEXT, error_code TEXT, message TEXT, http_status INTEGER,
            last_answer TEXT, sha256 TEXT NOT NULL, xml BYTEA NOT NULL, neutral TEXT,
            created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS outbox_state ON outbox (provider, state)",
        """CREATE TABLE IF NOT EXISTS outbox_log (
            id BIGSERIAL PRIMARY KEY, uuid TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
            event TEXT NOT NULL, detail TEXT)""",
    ],
}


def _is_dsn(target: str) -> bool:
    return target.startswith(("postgresql://", "postgres://"))


def _db_errors() -> tuple[type[Exception], ...]:
    errors: list[type[Exception]] = [sqlite3.DatabaseError]
    try:
        import psycopg
    except ImportError:
        pass
    else:
        errors.append(psycopg.Error)
    return tuple(errors)


_DB_ERRORS = _db_errors()

_SECRET_PARAMS = frozenset({"password", "passwd", "pass", "pwd", "sslpassword", "token", "secret"})


def redact(target: str) -> str:
    """``target`` fit to print: a URL's ``user:password@`` and ``?password=`` (and
    other secret query parameters) become ``***``; a file path is returned as is."""
    if "://" not in target:
        return target
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(target)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostport = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}:***@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
        query = urlencode([(k, "***" if k.lower() in _SECRET_PARAMS else v)
                           for k, v in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return target.split("://", 1)[0] + "://***"


def _secrets_of(target: str) -> list[str]:
    """The secret strings inside a DSN (to scrub them from any message that echoes them)."""
    if "://" not in target:
        return []
    from urllib.parse import parse_qsl, unquote, urlsplit

    out = []
    try:
        parts = urlsplit(target)
        if parts.password:
            out += [parts.password, unquote(parts.password)]
        out += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_PARAMS and v]
    except ValueError:
        pass
    return [s for s in out if s]


def scrub(message: str, target: str) -> str:
    """``message`` with ``target`` shown redacted and none of its secrets left."""
    message = message.replace(target, redact(target))
    for secret in _secrets_of(target):
        message = message.replace(secret, "***")
    return message


class Outbox:
    """The journal.  ``target`` is a file path (SQLite) or a ``postgresql://`` DSN.

    Safe to share between threads (one database connection per thread).
    """

    def __repr__(self) -> str:
        return f"<Outbox {redact(self.target)}>"

    def __init__(self, target: str) -> None:
        self.target = target
        self.kind = "postgres" if _is_dsn(target) else "sqlite"
        self._local = threading.local()
        self._conns: list[Any] = []
        self._lock = threading.Lock()
        with self._tx() as cur:
            for stmt in _DDL[self.kind]:
                cur.execute(stmt)

    # ------------------------------------------------------------------ connections
    def _connect(self) -> Any:
        if self.kind == "postgres":
            try:
                import psycopg
            except ImportError as exc:  # pragma: no cover - depends on the extra
                raise OutboxError("a PostgreSQL outbox needs psycopg: pip install 'ubltr[postgres]'") from exc
            return psycopg.connect(self.target, autocommit=True)  # explicit transaction() blocks only
        conn = sqlite3.connect(self.target, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # durable across a killed process
        conn.execute("PRAGMA busy_timeout=30000")
        return conn

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgres" else sql

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        try:
            with self._tx_raw() as cur:
                yield cur
        except _DB_ERRORS as exc:
            raise self._db_error(exc) from None

    @contextmanager
    def _tx_raw(self) -> Iterator[Any]:
        conn = self._conn()
        if self.kind == "sqlite":
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Cursor(conn.cursor(), self._sql)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        else:
            with conn.transaction():
                with conn.cursor() as cur:
                    yield _Cursor(cur, self._sql)

    def _db_error(self, exc: Exception) -> OutboxError:
        """A database error as one clear line (no traceback, no secret)."""
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "malformed" in text or "not a database" in text or "corrupt" in text:
            what = "is corrupt (restore it from a backup; 'sqlite3 FILE .recover' may save its rows)"
        elif "locked" in text or "busy" in text:
            what = "is locked by another process"
        else:
            what = "cannot be read"
        return OutboxError(scrub(f"outbox {self.target} {what}: {type(exc).__name__}: {text}", self.target))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._query_raw(sql, params)
        except _DB_ERRORS as exc:
            raise self._db_error(exc) from None

    def _query_raw(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        conn = self._conn()
        if self.kind == "sqlite":
            return conn.execute(sql, params).fetchall()
        with conn.transaction():
            with conn.cursor() as cur:
                cur.execute(self._sql(sql), params)
                return cur.fetchall()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the outbox's sender lock: one sending process per outbox at a time.

        Two senders on one outbox could both find an entry ``sending`` and, asking the
        provider before the other's request arrived, resend it. The lock is the database
        file itself (``flock`` on the SQLite file, whatever path, symlink or hard link
        names it; a PostgreSQL session advisory lock in that database), and it dies with
        its process, so a killed sender never blocks the resume.
        """
        if self.kind == "postgres":
            conn = self._connect()
            got = False
            try:
                got = conn.execute("SELECT pg_try_advisory_lock(hashtext('ubltr-outbox'))").fetchone()[0]
                if not got:
                    raise OutboxError("another sender is running on this outbox")
                yield
            finally:
                # released now, not when the server notices the closed session (that is
                # asynchronous: a sender starting right after this one could be refused);
                # a killed process still releases it with its session
                try:
                    if got and not conn.closed:
                        conn.execute("SELECT pg_advisory_unlock(hashtext('ubltr-outbox'))")
                finally:
                    conn.close()
            return
        import fcntl

        key, fd = _file_lock_fd(self.target)
        with _LOCK_GUARD:
            if key in _LOCKS_HELD:   # another sender in this process (flock is per open file)
                raise OutboxError("another sender is running on this outbox")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutboxError("another sender is running on this outbox") from None
            _LOCKS_HELD.add(key)
        try:
            yield
        finally:
            with _LOCK_GUARD:
                fcntl.flock(fd, fcntl.LOCK_UN)
                _LOCKS_HELD.discard(key)

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                try:
                    conn.close()
                except Exception:  # closing from another thread may be refused; the process ends anyway
                    pass
            self._conns.clear()
        self._local = threading.local()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writing
    def add(self, docs: Iterable[Document], provider: str) -> tuple[int, int]:
        """Journal documents before sending; returns ``(added, already_present)``.

        A UUID already in the outbox is never queued again (that is what makes a
        re-run of ``ubltr send`` harmless); the same UUID with *different* content is
        refused with :class:`OutboxError`, since it would be a second invoice under one key.
        """
        added = present = 0
        now = time.time()
        with self._tx() as cur:
            for doc in docs:
                digest = hashlib.sha256(doc.xml).hexdigest()
                cur.execute("SELECT sha256, provider FROM outbox WHERE uuid = ?", (doc.uuid,))
                row = cur.fetchone()
                if row is not None:
                    if row[0] != digest:
                        raise OutboxError(f"{doc.uuid}: already in the outbox with different content "
                                          "(a new invoice needs a new UUID)")
                    if row[1] != provider:
                        raise OutboxError(f"{doc.uuid}: already in the outbox for provider {row[1]}")
                    present += 1
                    continue
                neutral = json.dumps(doc.neutral, default=str, ensure_ascii=False) if doc.neutral else None
                cur.execute(
                    "INSERT INTO outbox (uuid, provider, state, attempts, invoice_id, profile, receiver_alias,"
                    " sha256, xml, neutral, created_at, updated_at) VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (doc.uuid, provider, State.QUEUED.value, doc.invoice_id, doc.profile, doc.receiver_alias,
                     digest, doc.xml, neutral, now, now))
                cur.execute("INSERT INTO outbox_log (uuid, at, event, detail) VALUES (?, ?, ?, ?)",
                            (doc.uuid, now, "queued", None))
                added += 1
        return added, present

    def begin_attempt(self, uuid: str) -> int:
        """Commit ``sending`` and the attempt count *before* the request leaves."""
        now = time.time()
        with self._tx() as cur:
            cur.execute("UPDATE outbox SET state = ?, attempts = attempts + 1, updated_at = ? WHERE uuid = ?",
                        (State.SENDING.value, now, uuid))
            cur.execute("INSERT INTO outbox_log (uuid, at, event, detail) VALUES (?, ?, ?, ?)",
                        (uuid, now, "send", None))
            cur.execute("SELECT attempts FROM outbox WHERE uuid = ?", (uuid,))
            return int(cur.fetchone()[0])

    def record(self, uuid: str, state: State, result: SendResult | None = None, *, event: str = "answer",
               note: str | None = None) -> None:
        """Store a new state and (when given) the provider's answer."""
        now = time.time()
        answer = None
        sets = ["state = ?", "updated_at = ?"]
        params: list[Any] = [state.value, now]
        if result is not None:
            answer = {k: v for k, v in asdict(result).items() if k != "raw"}
            answer["outcome"] = result.outcome.value
            answer["raw"] = _jsonable(result.raw)
            sets += ["error_code = ?", "message = ?", "http_status = ?", "last_answer = ?"]
            params += [result.error_code, (result.message or note), result.http_status, json.dumps(answer)]
            if result.provider_id:
                sets.append("provider_id = ?")
                params.append(result.provider_id)
            if result.invoice_number:
                sets.append("invoice_number = ?")
                params.append(result.invoice_number)
        elif note is not None:
            sets.append("message = ?")
            params.append(note)
        params.append(uuid)
        detail = json.dumps({"state": state.value, "outcome": result.outcome.value if result else None,
                             "error_code": result.error_code if result else None, "note": note})
        with self._tx() as cur:
            cur.execute(f"UPDATE outbox SET {', '.join(sets)} WHERE uuid = ?", params)
            cur.execute("INSERT INTO outbox_log (uuid, at, event, detail) VALUES (?, ?, ?, ?)",
                        (uuid, now, event, detail))

    def resolve(self, uuid: str, state: State, note: str) -> None:
        """A person settled a ``needs_reconciliation`` (or stuck) entry by checking the provider."""
        if state not in (State.ACCEPTED, State.REJECTED, State.QUEUED):
            raise OutboxError("resolve to accepted, rejected or queued (to send again)")
        entry = self.get(uuid)
        if entry is None:
            raise OutboxError(f"{uuid}: not in the outbox")
        if entry.state in (State.ACCEPTED, State.REJECTED):
            raise OutboxError(f"{uuid}: already final ({entry.state.value})")
        self.record(uuid, state, event="resolved", note=note)

    #: an operator's decisions on a ``needs_reconciliation`` entry (``ubltr outbox reconcile``)
    DECISIONS = ("delivered", "resend", "abandon")

    def reconcile(self, uuid: str, decision: str, note: str, *, supports_status: bool = False,
                  provider_id: str | None = None, invoice_number: str | None = None) -> State:
        """Record an operator's decision on a ``needs_reconciliation`` entry; returns the new state.

        ``delivered``: the provider has it (seen on its portal) -> ``accepted``
        (``provider_id`` / ``invoice_number`` as the portal shows them);
        ``resend``: the provider does not have it -> sent again by the next run: ``unknown``
        for a provider with a status lookup (so it is asked first, and a resend stays
        exactly-once through its key), else ``queued``;
        ``abandon``: not to be pursued -> ``abandoned`` (final).
        The journal keeps every earlier event; this adds one ``reconciled`` event."""
        if decision not in self.DECISIONS:
            raise OutboxError(f"decision must be one of {', '.join(self.DECISIONS)}, not {decision!r}")
        if not note or not note.strip():
            raise OutboxError("a note is required: say what you checked (it stays in the journal)")
        entry = self.get(uuid)
        if entry is None:
            raise OutboxError(f"{uuid}: not in the outbox")
        if entry.state is not State.NEEDS_RECONCILIATION:
            raise OutboxError(f"{uuid}: is {entry.state.value}, not needs_reconciliation")
        state = {"delivered": State.ACCEPTED, "abandon": State.ABANDONED,
                 "resend": State.UNKNOWN if supports_status else State.QUEUED}[decision]
        now = time.time()
        detail = json.dumps({"state": state.value, "decision": decision, "note": note, "from": entry.state.value,
                             "provider_id": provider_id, "invoice_number": invoice_number})
        sets, params = ["state = ?", "updated_at = ?"], [state.value, now]
        if provider_id:
            sets.append("provider_id = ?")
            params.append(provider_id)
        if invoice_number:
            sets.append("invoice_number = ?")
            params.append(invoice_number)
        with self._tx() as cur:
            # only from needs_reconciliation: a concurrent decision or sender cannot be overwritten
            cur.execute(f"UPDATE outbox SET {', '.join(sets)} WHERE uuid = ? AND state = ?",
                        [*params, uuid, State.NEEDS_RECONCILIATION.value])
            cur.execute("SELECT state FROM outbox WHERE uuid = ?", (uuid,))
            if cur.fetchone()[0] != state.value:
                raise OutboxError(f"{uuid}: changed while deciding; look again")
            cur.execute("INSERT INTO outbox_log (uuid, at, event, detail) VALUES (?, ?, ?, ?)",
                        (uuid, now, "reconciled", detail))
        return state

    # ------------------------------------------------------------------ reading
    def get(self, uuid: str) -> Entry | None:
        rows = self._query(f"SELECT {', '.join(_COLUMNS)} FROM outbox WHERE uuid = ?", (uuid,))
        return _entry(rows[0]) if rows else None

    def document(self, uuid: str) -> Document:
        rows = self._query("SELECT uuid, xml, invoice_id, profile, receiver_alias, neutral FROM outbox"
                           " WHERE uuid = ?", (uuid,))
        if not rows:
            raise OutboxError(f"{uuid}: not in the outbox")
        u, xml, invoice_id, profile, alias, neutral = rows[0]
        # numbers in the neutral invoice were written as strings: decimals stay exact
        return Document(uuid=u, xml=bytes(xml), invoice_id=invoice_id, profile=profile, receiver_alias=alias,
                        neutral=json.loads(neutral) if neutral else None)

    def entries(self, states: Iterable[State] | None = None, provider: str | None = None) -> list[Entry]:
        sql = f"SELECT {', '.join(_COLUMNS)} FROM outbox"
        where, params = [], []
        if states is not None:
            st = [s.value for s in states]
            where.append(f"state IN ({', '.join('?' * len(st))})")
            params += st
        if provider is not None:
            where.append("provider = ?")
            params.append(provider)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [_entry(r) for r in self._query(sql + " ORDER BY created_at, uuid", params)]

    def counts(self, provider: str | None = None) -> dict[str, int]:
        sql, params = "SELECT state, COUNT(*) FROM outbox", []
        if provider is not None:
            sql += " WHERE provider = ?"
            params.append(provider)
        return {s: int(n) for s, n in self._query(sql + " GROUP BY state", params)}

    def history(self, uuid: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT at, event, detail FROM outbox_log WHERE uuid = ? ORDER BY id", (uuid,))
        return [{"at": at, "event": ev, "detail": json.loads(d) if d else None} for at, ev, d in rows]

    def providers(self) -> list[str]:
        return [r[0] for r in self._query("SELECT DISTINCT provider FROM outbox ORDER BY provider")]


#: one open descriptor per database file (device, inode), kept for the life of the process:
#: closing any descriptor of a file drops the process's POSIX locks on it, which are
#: SQLite's own, so ours is never closed; flock() and SQLite's fcntl() locks are independent
_LOCK_FDS: dict[tuple[int, int], int] = {}
_LOCKS_HELD: set[tuple[int, int]] = set()
_LOCK_GUARD = threading.Lock()


def _file_lock_fd(path: str) -> tuple[tuple[int, int], int]:
    with _LOCK_GUARD:
        st = os.stat(path)   # no descriptor opened (and so none closed) for a known file
        key = (st.st_dev, st.st_ino)
        fd = _LOCK_FDS.get(key)
        if fd is not None and os.fstat(fd).st_nlink == 0:
            # that file was deleted and its inode number reused: the old descriptor
            # locks nothing anyone sees (closing it drops no lock on the new file)
            os.close(fd)
            fd = None
        if fd is None:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            _LOCK_FDS[key] = fd
        return key, fd


class _Cursor:
    """A DB-API cursor that speaks ``?`` placeholders on both backends."""

    def __init__(self, cur: Any, translate: Callable[[str], str]) -> None:
        self._cur, self._t = cur, translate

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(self._t(sql), params)

    def fetchone(self) -> Any:
        return self._cur.fetchone()


def _entry(row: Sequence[Any]) -> Entry:
    d = dict(zip(_COLUMNS, row))
    d["state"] = State(d["state"])
    d["last_answer"] = json.loads(d["last_answer"]) if d["last_answer"] else None
    return Entry(**d)


def _jsonable(obj: Any) -> Any:
    try:
        json.dumps(obj)
        return obj
    except (TypeError, ValueError):
        return repr(obj)[:2000]


# ====================================================================== the sender

@dataclass
class SendPolicy:
    """Bounds of one run: every loop is bounded in count and time."""

    workers: int = 4
    max_attempts: int = 8           # sends per document per run
    max_status_checks: int = 8      # status questions per document per run
    backoff: float = 0.5            # first retry delay, doubled per retry (jittered)
    max_backoff: float = 30.0
    deadline: float | None = None   # seconds for the whole run
    seed: int | None = None


@dataclass
class RunSummary:
    processed: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None
    #: unexpected errors (uuid, message); those entries stay where they were, for the next run
    errors: list[tuple[str, str]] = field(default_factory=list)


class Sender:
    """Drives outbox entries of one provider to a final state, exactly once."""

    def __init__(self, outbox: Outbox, provider: Provider, policy: SendPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.outbox = outbox
        self.provider = provider
        self.policy = policy or SendPolicy()
        self._sleep = sleep
        self._rng = random.Random(self.policy.seed)
        self._stop = threading.Event()
        self._stop_reason: str | None = None
        self._deadline = (time.monotonic() + self.policy.deadline) if self.policy.deadline else None

    # ------------------------------------------------------------------ run
    def run(self, uuids: Sequence[str] | None = None) -> RunSummary:
        """Process the given entries (default: every non-final entry of this provider).

        Raises :class:`OutboxError` when another sender holds the outbox.
        """
        with self.outbox.exclusive():
            return self._run(uuids)

    def _run(self, uuids: Sequence[str] | None) -> RunSummary:
        self._errors: list[tuple[str, str]] = []
        if uuids is None:
            todo = [e.uuid for e in self.outbox.entries(provider=self.provider.name) if e.state not in FINAL]
        else:
            todo = list(uuids)
        summary = RunSummary()
        workers = max(1, min(self.policy.workers, len(todo) or 1))
        if workers == 1:
            for u in todo:
                if self._stopped():
                    break
                self._safe_process(u)
                summary.processed += 1
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="ubltr-send") as pool:
                for _ in pool.map(self._safe_process, todo):
                    summary.processed += 1
        summary.counts = self.outbox.counts(self.provider.name)
        summary.stopped = self._stop_reason
        summary.errors = list(self._errors)
        return summary

    def _stopped(self) -> bool:
        if self._deadline is not None and time.monotonic() > self._deadline:
            self._stop_reason = self._stop_reason or "deadline reached"
            self._stop.set()
        return self._stop.is_set()

    def _safe_process(self, uuid: str) -> State | None:
        if self._stopped():
            return None
        try:
            return self.process(uuid)
        except CredentialsRefused as exc:
            self._stop_reason = str(exc)
            self._stop.set()
            return None
        except Exception as exc:  # noqa: BLE001 - one entry's bug must not end the run
            # the entry keeps its committed state (``sending`` at worst: asked about next run)
            self._errors.append((uuid, f"{type(exc).__name__}: {exc}"[:500]))
            return None

    def _pause(self, n: int) -> None:
        delay = min(self.policy.max_backoff, self.policy.backoff * (2 ** max(0, n - 1)))
        self._sleep(delay * (0.5 + self._rng.random() / 2))

    # ------------------------------------------------------------------ one document
    def process(self, uuid: str) -> State:
        """Advance one entry as far as this run's bounds allow; returns where it stands."""
        entry = self.outbox.get(uuid)
        if entry is None:
            raise OutboxError(f"{uuid}: not in the outbox")
        state = entry.state
        sends = checks = 0
        p = self.provider
        while state not in FINAL and not self._stopped():
            if state in (State.SENDING, State.UNKNOWN, State.PENDING):
                if not p.supports_status:
                    if state is State.PENDING or not p.idempotent:
                        # no lookup and no key: a resend could be a second invoice
                        state = State.NEEDS_RECONCILIATION
                        self.outbox.record(uuid, state, event="reconcile",
                                           note="outcome unknown; provider offers no status lookup "
                                                "and no idempotency key: check on the provider's portal")
                        break
                    state = State.QUEUED  # the provider refuses a duplicate: a resend is harmless
                    continue
                if checks >= self.policy.max_status_checks:
                    break
                if checks:
                    self._pause(checks)
                checks += 1
                r = p.status(uuid)
                if r.outcome is Outcome.RETRYABLE and not _said_not_found(r):
                    # a 429/5xx/refused connection on the *question* is no answer to it
                    r = SendResult(Outcome.UNKNOWN, r.provider, uuid, error_code=r.error_code,
                                   message=r.message, http_status=r.http_status, raw=r.raw)
                if r.outcome is Outcome.RETRYABLE:  # the provider has no such document
                    if state is State.PENDING:
                        state = State.NEEDS_RECONCILIATION
                        self.outbox.record(uuid, state, r, event="status",
                                           note="provider reported it pending, now does not know it")
                        break
                    state = State.QUEUED
                    self.outbox.record(uuid, state, r, event="status")
                elif r.outcome is Outcome.UNKNOWN:  # the question went unanswered: ask again later
                    if state is State.SENDING:
                        state = State.UNKNOWN
                        self.outbox.record(uuid, state, r, event="status")
                else:
                    state = _STATE[r.outcome]
                    self.outbox.record(uuid, state, r, event="status")
                continue
            # queued: send
            if sends >= self.policy.max_attempts:
                break
            if sends:
                self._pause(sends)
            sends += 1
            doc = self.outbox.document(uuid)
            refusal = getattr(p, "refusal", None)
            reason = refusal(doc) if refusal is not None else None
            if reason:
                # the provider's fields cannot carry it: refused here, nothing was sent
                state = State.REJECTED
                self.outbox.record(uuid, state, SendResult(Outcome.REJECTED, p.name, uuid, error_code="ubltr:mapping",
                                                           message=reason), event="refused")
                break
            self.outbox.begin_attempt(uuid)
            try:
                r = p.send(doc)
            except ConfigurationError as exc:
                r = SendResult(Outcome.RETRYABLE, p.name, uuid, error_code=CONFIGURATION, message=str(exc))
            except ValueError as exc:
                # the client could not express the document for this provider (mapping),
                # before any request: nothing was sent, and resending cannot help
                state = State.REJECTED
                self.outbox.record(uuid, state, SendResult(Outcome.REJECTED, p.name, uuid,
                                                           error_code=type(exc).__name__,
                                                           message=f"not sent: {exc}"[:1000]), event="local")
                break
            if r.outcome is Outcome.RETRYABLE and r.http_status in (401, 403):
                self.outbox.record(uuid, State.QUEUED, r, event="answer")
                raise CredentialsRefused(f"{p.name}: credentials refused ({r.http_status}); nothing more sent")
            if r.outcome is Outcome.RETRYABLE and r.error_code == CONFIGURATION:
                # nothing left this machine: back to queued (never "unknown", never reconciliation)
                self.outbox.record(uuid, State.QUEUED, r, event="local")
                raise CredentialsRefused(f"{p.name}: {r.message}; nothing more sent")
            state = _STATE[r.outcome]
            self.outbox.record(uuid, state, r, event="answer")
        return state


def _said_not_found(r: SendResult) -> bool:
    """Whether a ``RETRYABLE`` status answer is the provider saying "no such document".

    Only an actual answer counts: no HTTP status (no connection), 429 and 5xx mean the
    question was not answered, and resending on those could duplicate the invoice.
    """
    return r.http_status is not None and r.http_status not in RETRY_STATUSES and r.http_status < 500


_STATE = {
    Outcome.CANCELLED: State.CANCELLED,
    Outcome.ACCEPTED: State.ACCEPTED,
    Outcome.REJECTED: State.REJECTED,
    Outcome.PENDING: State.PENDING,
    Outcome.UNKNOWN: State.UNKNOWN,
    Outcome.RETRYABLE: State.QUEUED,
}
