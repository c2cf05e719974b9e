"""``POST /batch``: NDJSON in, NDJSON out.

Each input line is one JSON object:

- ``{"id": ANY, "xml": "<Invoice ...>"}``: the document is validated; the answer
  line carries its report (the same dict ``ubltr validate --format json`` prints);
- ``{"id": ANY, "invoice": {neutral JSON}}``: the invoice is built, then validated;
  the answer line carries the XML and its report.

Each answer line is ``{"line": N, "id": ..., "ok": true, ...}`` or
``{"line": N, "id": ..., "ok": false, "error": CODE, "message": TEXT[, "problems": [...]]}``,
in input order, one per non-blank input line: a bad line never stops the batch.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from .app import ApiError

if TYPE_CHECKING:
    from starlette.requests import Request

    from .app import Service


async def _lines(request: "Request", limit: int, max_lines: int) -> AsyncIterator[tuple[int, bytes]]:
    buf = b""
    n = 0
    async for chunk in request.stream():
        buf += chunk
        while True:
            cut = buf.find(b"\n")
            if cut < 0:
                break
            line, buf = buf[:cut], buf[cut + 1:]
            n += 1
            yield n, line
        if len(buf) > limit:
            raise ApiError(413, "too-large", f"line {n + 1} is longer than the limit of {limit} bytes")
        if n > max_lines:
            raise ApiError(413, "too-many-lines", f"more than {max_lines} lines")
    if buf.strip():
        yield n + 1, buf


def _one(svc: "Service", item: Any, opts: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ApiError(400, "bad-line", 'a line must be a JSON object with "xml" or "invoice"')
    name = str(item["id"]) if item.get("id") is not None else None
    if isinstance(item.get("xml"), str):
        data = item["xml"].encode("utf-8")
        report = svc.report(data, name or "<line>", opts)
        return {"ok": True, "valid": report["valid"], "report": report}
    if isinstance(item.get("invoice"), dict):
        from ..calc import CalcError
        from ..model import InvoiceInputError, load
        from ..render import build

        try:
            xml = build(load(item["invoice"]))
        except InvoiceInputError as exc:
            problems = [{"path": f"invoice.{p.path}" if p.path else "invoice", "message": p.message} for p in exc.problems]
            raise ApiError(422, "invalid-input", f"{len(problems)} error(s) in the invoice", problems=problems) from None
        except CalcError as exc:
            problems = [{"path": f"invoice.{p}", "message": m} for p, m in exc.problems]
            raise ApiError(422, "invalid-input", f"{len(problems)} error(s) in the invoice", problems=problems) from None
        report = svc.report(xml, name or "<line>", opts)
        return {"ok": True, "valid": report["valid"], "xml": xml.decode("utf-8"), "report": report}
    raise ApiError(400, "bad-line", 'a line must have "xml" (a string) or "invoice" (an object)')


def _parse_line(raw: bytes) -> Any:
    from ..model import InvoiceInputError, parse_json

    try:
        return parse_json(raw)  # numbers stay exact (never float)
    except InvoiceInputError as exc:
        raise ApiError(400, "bad-json", "; ".join(str(p) for p in exc.problems)) from None


async def run_batch(request: "Request", svc: "Service", opts: dict[str, Any]) -> AsyncIterator[bytes]:
    settings = svc.settings
    try:
        async for n, raw in _lines(request, settings.max_body, settings.batch_max_lines):
            if not raw.strip():
                continue
            answer: dict[str, Any] = {"line": n}
            try:
                if len(raw) > settings.max_body:
                    raise ApiError(413, "too-large", f"the line is {len(raw)} bytes; the limit is {settings.max_body}")
                item = _parse_line(raw)
                if isinstance(item, dict) and "id" in item:
                    answer["id"] = item["id"]
                answer.update(await svc.limits.run(_one, svc, item, opts))
            except ApiError as exc:
                answer.update({"ok": False, "error": exc.error, "message": exc.message, **exc.extra})
            yield _encode(answer)
    except ApiError as exc:  # the input itself broke a limit: one last line says so, then the stream ends
        yield _encode({"line": None, "ok": False, "error": exc.error, "message": exc.message, "fatal": True})


def _encode(answer: dict[str, Any]) -> bytes:
    return (json.dumps(answer, ensure_ascii=False, default=str) + "\n").encode("utf-8")
