"""What the fakes hold for the receiving side (issue #13): incoming invoices, whether the
client marked them taken, and the answers given, with counts a fault test checks
(an answer recorded twice, an invoice taken that the client never stored)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class IncomingInvoice:
    uuid: str
    xml: bytes
    taken: bool = False
    answer: str | None = None  #: KABUL / RED once answered
    reason: str | None = None


@dataclass
class Incoming:
    """Thread-safe incoming invoices of one fake, in arrival order."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    invoices: dict[str, IncomingInvoice] = field(default_factory=dict)
    answers: Counter[str] = field(default_factory=Counter)  #: answers recorded per invoice (must stay <= 1)
    fetched: Counter[str] = field(default_factory=Counter)

    def add(self, uuid: str, xml: bytes) -> None:
        with self.lock:
            self.invoices.setdefault(uuid.lower(), IncomingInvoice(uuid.lower(), xml))

    def new(self, limit: int) -> list[IncomingInvoice]:
        with self.lock:
            return [inv for inv in self.invoices.values() if not inv.taken][:limit]

    def get(self, uuid: str) -> IncomingInvoice | None:
        with self.lock:
            inv = self.invoices.get(uuid.lower())
            if inv is not None:
                self.fetched[inv.uuid] += 1
            return inv

    def take(self, uuids: list[Any]) -> list[str]:
        """Mark taken; returns the UUIDs it does not know."""
        unknown = []
        with self.lock:
            for raw in uuids:
                inv = self.invoices.get(str(raw).lower())
                if inv is None:
                    unknown.append(str(raw))
                else:
                    inv.taken = True
        return unknown

    def answer(self, uuid: str, code: str, reason: str | None) -> str:
        """``"ok"``, ``"unknown"`` or ``"answered"`` (a second answer is refused, as GİB does)."""
        with self.lock:
            inv = self.invoices.get(uuid.lower())
            if inv is None:
                return "unknown"
            if inv.answer is not None:
                return "answered"
            inv.answer, inv.reason = code, reason
            self.answers[inv.uuid] += 1
            return "ok"

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"incoming": len(self.invoices), "taken": sum(1 for i in self.invoices.values() if i.taken),
                    "answered": sum(1 for i in self.invoices.values() if i.answer),
                    "answer_duplicates": {k: n for k, n in self.answers.items() if n > 1}}
