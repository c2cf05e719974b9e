"""The inbox: incoming invoices fetched from a provider into the outbox's database,
each validated (and recomputed where ubltr can) as it arrives, and the answers given
to them, sent exactly once.

Sync (:func:`sync`) is idempotent and crash-safe by construction:

1. invoices stored by an earlier run but not yet marked taken at the provider are marked
   first (a run killed between storing and marking loses nothing and marks later);
2. the provider's list of *new* invoices is read; each one not already stored is
   fetched, validated, recomputed and **committed** (the UUID is the primary key: a
   re-run or a resend never stores it twice);
3. only then are the stored ones marked taken at the provider (nothing is marked that
   was not stored), and the mark is committed locally; repeat until the list is empty.

Answers (:meth:`Inbox.record_answer`, :func:`send_answer`) follow the outbox's rules:
one answer per invoice (the second is refused: GİB allows one, see :mod:`ubltr.answer`),
the ``sending`` state committed before the request leaves, and after an unknown outcome
the provider is asked whether it holds an answer before anything is sent again.

Storage: the same SQLite file or ``postgresql://`` DSN as the outbox
(:class:`ubltr.outbox.Outbox`), tables ``inbox`` and ``inbox_answers``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from lxml import etree

from . import answer as _answer
from .outbox import Outbox
from .transport.base import Outcome
from .transport.inbox_api import InboxCallError, InboxClient

__all__ = ["Inbox", "InboxEntry", "AnswerEntry", "AlreadyAnswered", "SyncError", "SyncSummary", "sync",
           "send_answer", "check_invoice"]

_DDL = {
    "sqlite": [
        """CREATE TABLE IF NOT EXISTS inbox (
            uuid TEXT PRIMARY KEY, provider TEXT NOT NULL, invoice_id TEXT, profile TEXT, type TEXT,
            issue_date TEXT, supplier_tax_id TEXT, supplier_name TEXT, payable TEXT, currency TEXT,
            sha256 TEXT NOT NULL, xml BLOB NOT NULL, verdict TEXT NOT NULL, errors INTEGER NOT NULL,
            warnings INTEGER NOT NULL, findings TEXT, recompute TEXT, received_at REAL NOT NULL,
            taken INTEGER NOT NULL DEFAULT 0, taken_at REAL)""",
        """CREATE TABLE IF NOT EXISTS inbox_answers (
            invoice_uuid TEXT PRIMARY KEY, answer_uuid TEXT NOT NULL UNIQUE, response TEXT NOT NULL,
            reason TEXT, xml BLOB NOT NULL, state TEXT NOT NULL, provider TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            message TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL)""",
    ],
    "postgres": [
        """CREATE TABLE IF NOT EXISTS inbox (
            uuid TEXT PRIMARY KEY, provider TEXT NOT NULL, invoice_id TEXT, profile TEXT, type TEXT,
            issue_date TEXT, supplier_tax_id TEXT, supplier_name TEXT, payable TEXT, currency TEXT,
            sha256 TEXT NOT NULL, xml BYTEA NOT NULL, verdict TEXT NOT NULL, errors INTEGER NOT NULL,
            warnings INTEGER NOT NULL, findings TEXT, recompute TEXT, received_at DOUBLE PRECISION NOT NULL,
            taken INTEGER NOT NULL DEFAULT 0, taken_at DOUBLE PRECISION)""",
        """CREATE TABLE IF NOT EXISTS inbox_answers (
            invoice_uuid TEXT PRIMARY KEY, answer_uuid TEXT NOT NULL UNIQUE, response TEXT NOT NULL,
            reason TEXT, xml BYTEA NOT NULL, state TEXT NOT NULL, provider TEXT, attempts INTEGER NOT NULL DEFAULT 0,
            message TEXT, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)""",
    ],
}
_INBOX_COLS = ("uuid", "provider", "invoice_id", "profile", "type", "issue_date", "supplier_tax_id",
               "supplier_name", "payable", "currency", "verdict", "errors", "warnings", "recompute",
               "received_at", "taken")
_ANSWER_COLS = ("invoice_uuid", "answer_uuid", "response", "reason", "state", "provider", "attempts", "message")

#: answer states: queued -> sending -> sent | refused ; sending after a lost answer -> (status) ...
ANSWER_STATES = ("queued", "sending", "sent", "refused")


class AlreadyAnswered(ValueError):
    """The invoice has an answer in the store: GİB allows one (Entegrasyon Kılavuzu §4)."""


class SyncError(RuntimeError):
    """A sync stopped (a provider kept failing or refused); what was stored stays stored."""


@dataclass(frozen=True)
class InboxEntry:
    uuid: str
    provider: str
    invoice_id: str | None
    profile: str | None
    type: str | None
    issue_date: str | None
    supplier_tax_id: str | None
    supplier_name: str | None
    payable: str | None
    currency: str | None
    verdict: str  #: valid, invalid, unreadable (GİB's XSD + schematron, as ubltr validate)
    errors: int
    warnings: int
    recompute: dict[str, Any] | None  #: {"status": agrees|differs|not-recomputed, ...}
    received_at: float
    taken: bool
    answer: str | None = None  #: KABUL / RED / IADE when answered
    answer_state: str | None = None


@dataclass(frozen=True)
class AnswerEntry:
    invoice_uuid: str
    answer_uuid: str
    response: str
    reason: str | None
    state: str
    provider: str | None
    attempts: int
    message: str | None


# --------------------------------------------------------------------------- checking


def _amount(root: etree._Element, path: str) -> Decimal | None:
    el = root.find(path, _answer.NS)
    if el is None or not (el.text or "").strip():
        return None
    try:
        return Decimal(el.text.strip())
    except InvalidOperation:
        return None


def check_invoice(xml: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(verdict, recompute)`` of an incoming invoice.

    ``verdict``: ``ubltr.validate``'s (GİB's XSD + schematron; ubltr's rules as warnings).
    ``recompute``: the invoice read into the model (:func:`ubltr.parse`) and recomputed
    (:func:`ubltr.compute`); its LineExtension, TaxExclusive, TaxInclusive, Payable and
    total tax compared with the document's own figures (``agrees`` / ``differs`` with each
    difference), or ``not-recomputed`` with the reason when ubltr cannot read it into
    its model (a kind of invoice it does not build)."""
    from .parsing import parse as _parse
    from .calc import compute
    from .validation import validate

    report = validate(xml)
    verdict = {"verdict": "valid" if report.valid else ("unreadable" if not report.readable else "invalid"),
               "errors": report.count("error"), "warnings": report.count("warning"),
               "findings": [f.to_dict() for f in report.findings if f.severity == "error"][:50]}
    if not report.readable:
        return verdict, {"status": "not-recomputed", "reason": "unreadable XML"}
    try:
        inv = _parse(xml)
        totals = compute(inv)
    except Exception as exc:  # ParseError, CalcError, an unsupported construct: said, not raised
        return verdict, {"status": "not-recomputed", "reason": f"{type(exc).__name__}: {exc}"[:500]}
    root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    mt = "cac:LegalMonetaryTotal/cbc:"
    pairs = {
        "line_extension": (_amount(root, mt + "LineExtensionAmount"), totals.line_extension),
        "tax_exclusive": (_amount(root, mt + "TaxExclusiveAmount"), totals.tax_exclusive),
        "tax_inclusive": (_amount(root, mt + "TaxInclusiveAmount"), totals.tax_inclusive),
        "payable": (_amount(root, mt + "PayableAmount"), totals.payable),
        "tax_total": (_amount(root, "cac:TaxTotal/cbc:TaxAmount"), totals.tax_total),
    }
    diffs = {k: {"document": str(d), "ubltr": str(c)} for k, (d, c) in pairs.items() if d is not None and d != c}
    return verdict, {"status": "differs" if diffs else "agrees", "differences": diffs}


# --------------------------------------------------------------------------- the store


class Inbox:
    """Incoming invoices and answers in the outbox's database (a SQLite file or a
    ``postgresql://`` DSN).  Safe to share between threads."""

    def __init__(self, target: str) -> None:
        self._db = Outbox(target)  # the same database, connections and transactions
        self.target = target
        with self._tx() as cur:
            for stmt in _DDL[self._db.kind]:
                cur.execute(stmt)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        with self._db._tx() as cur:
            yield cur

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._db._query(self._db._sql(sql), params)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ invoices
    def has(self, uuid: str) -> bool:
        return bool(self._query("SELECT 1 FROM inbox WHERE uuid = ?", (uuid.lower(),)))

    def store(self, provider: str, uuid: str, xml: bytes, *, check: bool = True) -> bool:
        """Store an incoming invoice (validated and recomputed first); ``False`` when the
        UUID is already stored (nothing changes: the first copy stays)."""
        uuid = uuid.lower()
        if self.has(uuid):
            return False
        verdict: dict[str, Any]
        recompute: dict[str, Any] | None
        verdict, recompute = check_invoice(xml) if check else (
            {"verdict": "unchecked", "errors": 0, "warnings": 0, "findings": []}, None)
        meta = _metadata(xml)
        if meta.get("uuid") and str(meta["uuid"]).lower() != uuid:
            # the provider's fault (or a mix-up): kept under the UUID it was listed with, and said
            finding: dict[str, Any] = {"rule": "ubltr:inbox-uuid", "severity": "error", "source": "ubltr",
                                       "message": f"the provider listed {uuid} but the document's cbc:UUID is "
                                                  f"{meta['uuid']}"}
            verdict = dict(verdict)
            verdict["verdict"] = "invalid"
            verdict["errors"] = verdict["errors"] + 1
            verdict["findings"] = [finding, *verdict["findings"]]
        now = time.time()
        with self._tx() as cur:
            cur.execute("SELECT 1 FROM inbox WHERE uuid = ?", (uuid,))
            if cur.fetchone() is not None:
                return False
            cur.execute(
                "INSERT INTO inbox (uuid, provider, invoice_id, profile, type, issue_date, supplier_tax_id,"
                " supplier_name, payable, currency, sha256, xml, verdict, errors, warnings, findings, recompute,"
                " received_at, taken) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                (uuid, provider, meta.get("id"), meta.get("profile"), meta.get("type"), meta.get("issue_date"),
                 meta.get("supplier_tax_id"), meta.get("supplier_name"), meta.get("payable"), meta.get("currency"),
                 hashlib.sha256(xml).hexdigest(), xml, verdict["verdict"], verdict["errors"], verdict["warnings"],
                 json.dumps(verdict["findings"], ensure_ascii=False),
                 json.dumps(recompute, ensure_ascii=False) if recompute is not None else None, now))
        return True

    def untaken(self, provider: str) -> list[str]:
        return [r[0] for r in self._query("SELECT uuid FROM inbox WHERE provider = ? AND taken = 0 ORDER BY received_at",
                                          (provider,))]

    def mark_taken(self, uuids: Sequence[str]) -> None:
        now = time.time()
        with self._tx() as cur:
            for u in uuids:
                cur.execute("UPDATE inbox SET taken = 1, taken_at = ? WHERE uuid = ?", (now, u.lower()))

    def xml(self, uuid: str) -> bytes:
        rows = self._query("SELECT xml FROM inbox WHERE uuid = ?", (uuid.lower(),))
        if not rows:
            raise KeyError(f"{uuid}: not in the inbox")
        return bytes(rows[0][0])

    def entries(self, provider: str | None = None) -> list[InboxEntry]:
        sql = (f"SELECT {', '.join('i.' + c for c in _INBOX_COLS)}, a.response, a.state FROM inbox i"
               " LEFT JOIN inbox_answers a ON a.invoice_uuid = i.uuid")
        params: list[Any] = []
        if provider:
            sql += " WHERE i.provider = ?"
            params.append(provider)
        out = []
        for row in self._query(sql + " ORDER BY i.received_at, i.uuid", params):
            d = dict(zip(_INBOX_COLS, row[:len(_INBOX_COLS)]))
            d["taken"] = bool(d["taken"])
            d["recompute"] = json.loads(d["recompute"]) if d["recompute"] else None
            out.append(InboxEntry(**d, answer=row[-2], answer_state=row[-1]))
        return out

    def get(self, uuid: str) -> InboxEntry | None:
        return next((e for e in self.entries() if e.uuid == uuid.lower()), None)

    # ------------------------------------------------------------------ answers
    def record_answer(self, answer: _answer.Answer, xml: bytes, provider: str | None = None) -> None:
        """Journal an answer (state ``queued``) before it is sent; raises
        :class:`AlreadyAnswered` when the invoice has one (GİB allows one answer)."""
        now = time.time()
        key = answer.invoice.uuid.lower()
        with self._tx() as cur:
            cur.execute("SELECT response, state FROM inbox_answers WHERE invoice_uuid = ?", (key,))
            row = cur.fetchone()
            if row is not None:
                raise AlreadyAnswered(f"invoice {answer.invoice.id or answer.invoice.uuid} was already answered "
                                      f"({row[0]}, {row[1]}); GİB allows one application response per invoice")
            cur.execute("INSERT INTO inbox_answers (invoice_uuid, answer_uuid, response, reason, xml, state, provider,"
                        " attempts, message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'queued', ?, 0, NULL, ?, ?)",
                        (key, answer.uuid, answer.response, answer.reason, xml, provider, now, now))

    def answer_entry(self, invoice_uuid: str) -> AnswerEntry | None:
        rows = self._query(f"SELECT {', '.join(_ANSWER_COLS)} FROM inbox_answers WHERE invoice_uuid = ?",
                           (invoice_uuid.lower(),))
        return AnswerEntry(*rows[0]) if rows else None

    def answers(self, states: Sequence[str] | None = None) -> list[AnswerEntry]:
        sql = f"SELECT {', '.join(_ANSWER_COLS)} FROM inbox_answers"
        params: list[Any] = []
        if states:
            sql += f" WHERE state IN ({', '.join('?' * len(states))})"
            params += list(states)
        return [AnswerEntry(*r) for r in self._query(sql + " ORDER BY created_at", params)]

    def answer_xml(self, invoice_uuid: str) -> bytes:
        rows = self._query("SELECT xml FROM inbox_answers WHERE invoice_uuid = ?", (invoice_uuid.lower(),))
        if not rows:
            raise KeyError(f"{invoice_uuid}: no answer")
        return bytes(rows[0][0])

    def set_answer_state(self, invoice_uuid: str, state: str, *, message: str | None = None,
                         attempt: bool = False) -> None:
        if state not in ANSWER_STATES:
            raise ValueError(state)
        with self._tx() as cur:
            cur.execute("UPDATE inbox_answers SET state = ?, message = ?, updated_at = ?"
                        + (", attempts = attempts + 1" if attempt else "") + " WHERE invoice_uuid = ?",
                        (state, message, time.time(), invoice_uuid.lower()))


def _metadata(xml: bytes) -> dict[str, str | None]:
    try:
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True))
    except etree.XMLSyntaxError:
        return {}

    def t(path: str) -> str | None:
        el = root.find(path, _answer.NS)
        return el.text.strip() if el is not None and el.text and el.text.strip() else None

    sup = "cac:AccountingSupplierParty/cac:Party/"
    tax_id = next((el.text.strip() for el in root.findall(sup + "cac:PartyIdentification/cbc:ID", _answer.NS)
                   if el.get("schemeID") in ("VKN", "TCKN") and el.text), None)
    person = " ".join(x for x in (t(sup + "cac:Person/cbc:FirstName"), t(sup + "cac:Person/cbc:FamilyName")) if x)
    return {"id": t("cbc:ID"), "uuid": t("cbc:UUID"), "profile": t("cbc:ProfileID"), "type": t("cbc:InvoiceTypeCode"),
            "issue_date": t("cbc:IssueDate"), "supplier_tax_id": tax_id,
            "supplier_name": t(sup + "cac:PartyName/cbc:Name") or person or None,
            "payable": t("cac:LegalMonetaryTotal/cbc:PayableAmount"), "currency": t("cbc:DocumentCurrencyCode")}


# --------------------------------------------------------------------------- sync

T = TypeVar("T")


@dataclass
class SyncSummary:
    stored: int = 0
    already_stored: int = 0
    marked_taken: int = 0
    retries: int = 0
    verdicts: dict[str, int] = field(default_factory=dict)


def _retry(fn: Callable[[], T], summary: SyncSummary, retries: int, backoff: float, what: str) -> T:
    for attempt in range(retries + 1):
        try:
            return fn()
        except InboxCallError as exc:
            if not exc.retryable or attempt == retries:
                raise SyncError(f"{what}: {exc}" + ("" if exc.retryable else " (not retried)")) from None
            summary.retries += 1
            time.sleep(backoff * (2 ** attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def sync(inbox: Inbox, client: InboxClient, *, page_size: int = 50, retries: int = 6, backoff: float = 0.05,
         max_rounds: int = 10_000, progress: Callable[[str, str], None] | None = None) -> SyncSummary:
    """Fetch every new incoming invoice into ``inbox`` (see the module's docstring for
    why a crash or a re-run neither duplicates nor loses one).  Raises :class:`SyncError`
    when the provider keeps failing; everything stored until then stays stored."""
    provider = client.name
    s = SyncSummary()

    def mark(uuids: list[str]) -> None:
        if uuids:
            _retry(lambda: client.mark_taken(uuids), s, retries, backoff, "marking taken")
            inbox.mark_taken(uuids)
            s.marked_taken += len(uuids)

    mark(inbox.untaken(provider))  # an earlier run stored these and stopped before marking them
    previous: list[str] | None = None
    for _ in range(max_rounds):
        listed = _retry(lambda: client.inbox_page(page_size), s, retries, backoff, "listing new invoices")
        if not listed:
            return s
        if listed == previous:
            raise SyncError(f"{provider} lists the same invoices as new after they were marked taken "
                            f"({', '.join(listed[:3])}...); stopping instead of looping")
        for uuid in listed:
            if inbox.has(uuid):
                s.already_stored += 1
                continue
            xml = _retry(lambda: client.inbox_xml(uuid), s, retries, backoff, f"fetching {uuid}")
            if inbox.store(provider, uuid, xml):
                s.stored += 1
                entry = inbox.get(uuid)
                verdict = entry.verdict if entry else "?"
                s.verdicts[verdict] = s.verdicts.get(verdict, 0) + 1
                if progress:
                    progress(uuid, verdict)
        mark([u for u in listed if inbox.has(u)])
        previous = listed
    raise SyncError(f"stopped after {max_rounds} rounds with invoices still listed as new")


# --------------------------------------------------------------------------- answers


def answer_stored(inbox: Inbox, invoice_uuid: str, response: str, *, reason: str | None = None,
                  notes: tuple[str, ...] = (), provider: str | None = None,
                  now: _dt.datetime | None = None) -> _answer.Answer:
    """Build and journal the answer to a stored invoice (refusing what GİB refuses:
    not a TICARIFATURA, past the 8 days from its arrival in the inbox, a second answer)."""
    entry = inbox.get(invoice_uuid)
    if entry is None:
        raise KeyError(f"{invoice_uuid}: not in the inbox")
    received = (_dt.datetime.fromtimestamp(entry.received_at, _dt.timezone.utc) + _dt.timedelta(hours=3)).date()
    existing = inbox.answer_entry(invoice_uuid)
    if existing is not None:
        raise AlreadyAnswered(f"invoice {entry.invoice_id or entry.uuid} was already answered "
                              f"({existing.response}, {existing.state}); GİB allows one application response")
    a = _answer.from_invoice(inbox.xml(invoice_uuid), response, reason=reason, notes=notes,
                             received_date=received, now=now)
    inbox.record_answer(a, _answer.build(a), provider or entry.provider)
    return a


def send_answer(inbox: Inbox, client: InboxClient, invoice_uuid: str) -> AnswerEntry:
    """Send a journaled answer exactly once: ``sending`` is committed before the request;
    an answer whose outcome was lost is first looked up at the provider."""
    entry = inbox.answer_entry(invoice_uuid)
    if entry is None:
        raise KeyError(f"{invoice_uuid}: no answer recorded")
    if entry.state in ("sent", "refused"):
        return entry
    if entry.state == "sending":  # an earlier attempt's outcome is unknown: ask before resending
        st = client.answer_status(invoice_uuid)
        if st.outcome is Outcome.ACCEPTED:
            inbox.set_answer_state(invoice_uuid, "sent", message="found at the provider after a lost answer")
            return inbox.answer_entry(invoice_uuid) or entry
        if st.outcome is not Outcome.RETRYABLE:  # PENDING / UNKNOWN: not safe to resend yet
            return entry
    inbox.set_answer_state(invoice_uuid, "sending", attempt=True)
    r = client.send_answer(invoice_uuid, entry.response, entry.reason)
    if r.outcome is Outcome.ACCEPTED:
        inbox.set_answer_state(invoice_uuid, "sent", message=r.message)
    elif r.outcome is Outcome.REJECTED:
        inbox.set_answer_state(invoice_uuid, "refused", message=f"{r.error_code or ''} {r.message or ''}".strip())
    elif r.outcome is Outcome.RETRYABLE and r.retry_safe:
        inbox.set_answer_state(invoice_uuid, "queued", message=r.message)
    # UNKNOWN / PENDING: stays "sending"; the next call asks the provider first
    return inbox.answer_entry(invoice_uuid) or entry


def send_answers(inbox: Inbox, client: InboxClient, *, attempts: int = 8, backoff: float = 0.05) -> list[AnswerEntry]:
    """Send every unfinished answer of ``client``'s provider, retrying transient outcomes."""
    out = []
    for entry in inbox.answers(states=("queued", "sending")):
        if entry.provider not in (None, client.name):
            continue
        current = entry
        for i in range(attempts):
            current = send_answer(inbox, client, entry.invoice_uuid)
            if current.state in ("sent", "refused"):
                break
            time.sleep(backoff * (2 ** i))
        out.append(current)
    return out
