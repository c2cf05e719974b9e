"""The ASGI application behind ``ubltr serve`` (Starlette): every endpoint is a thin
wrapper over ubltr's public functions, run in a worker thread under the service's
limits (body size, time, concurrency).  Every error is a JSON object
``{"error": CODE, "message": TEXT}`` (plus ``problems`` for input errors); no stack
trace ever leaves the process: it goes to the server log under an id the answer names.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__

T = TypeVar("T")

access_log = logging.getLogger("ubltr.serve.access")
error_log = logging.getLogger("ubltr.serve.error")

#: the header that carries an API key (``Authorization: Bearer KEY`` works too)
KEY_HEADER = "x-api-key"


@dataclass(frozen=True)
class Settings:
    """The service's limits and keys.  ``api_keys`` empty: no key needed."""

    max_body: int = 20 * 1024 * 1024  # bytes of one request body (batch: of one line)
    timeout: float = 60.0  # seconds one document's work may take
    concurrency: int = max(1, os.cpu_count() or 1)  # documents worked on at once
    queue_wait: float = 30.0  # seconds a request may wait for a free slot before 503
    api_keys: frozenset[str] = field(default_factory=frozenset)
    batch_max_lines: int = 1_000_000

    @classmethod
    def from_env(cls, **overrides: Any) -> "Settings":
        """Settings from ``UBLTR_SERVE_*`` variables (so ``--workers`` processes agree),
        then ``overrides``.  Keys: ``UBLTR_API_KEYS`` (comma-separated) or
        ``UBLTR_API_KEYS_FILE`` (one a line)."""
        env = os.environ
        kw: dict[str, Any] = {}
        for name, conv in (("max_body", int), ("timeout", float), ("concurrency", int), ("queue_wait", float)):
            raw = env.get(f"UBLTR_SERVE_{name.upper()}")
            if raw:
                kw[name] = conv(raw)
        keys = {k.strip() for k in env.get("UBLTR_API_KEYS", "").split(",") if k.strip()}
        key_file = env.get("UBLTR_API_KEYS_FILE")
        if key_file:
            keys |= {ln.strip() for ln in Path(key_file).read_text(encoding="utf-8").splitlines()
                     if ln.strip() and not ln.lstrip().startswith("#")}
        kw["api_keys"] = frozenset(keys)
        kw.update(overrides)
        return cls(**kw)


class ApiError(Exception):
    """An answer other than success: status, a stable code and a message for people."""

    def __init__(self, status: int, error: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.error, self.message, self.extra = status, error, message, extra

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "message": self.message, **self.extra}, status_code=self.status)


# --------------------------------------------------------------------------- limits


class Limits:
    """At most ``concurrency`` documents in work at once (a slot is freed only when its
    thread ends, even after a timeout answered 504); a request waits ``queue_wait``
    seconds for a slot, then gets 503."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._slots = threading.BoundedSemaphore(settings.concurrency)
        self._threads = anyio.CapacityLimiter(settings.concurrency * 2)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        deadline = time.monotonic() + self.settings.queue_wait
        while not self._slots.acquire(blocking=False):
            if time.monotonic() > deadline:
                raise ApiError(503, "busy", f"all {self.settings.concurrency} work slots are busy; retry later")
            await anyio.sleep(0.005)

        def work() -> T:
            try:
                return fn(*args)
            finally:
                self._slots.release()

        try:
            with anyio.fail_after(self.settings.timeout):
                return await anyio.to_thread.run_sync(work, abandon_on_cancel=True, limiter=self._threads)
        except TimeoutError:
            raise ApiError(504, "timeout", f"the work took longer than {self.settings.timeout:g} s") from None


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (before reading it
    when Content-Length says so)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, "too-large", f"the body is {declared} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "too-large", f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def document(request: Request, settings: Settings) -> tuple[bytes, str | None]:
    """The document of a request: the raw body, or the first file of a
    multipart/form-data body (field ``file``).  Returns (bytes, file name or None)."""
    body = await read_body(request, settings.max_body)
    ctype = request.headers.get("content-type", "")
    if not ctype.lower().startswith("multipart/form-data"):
        return body, None
    request._body = body  # starlette's form() reads the cached body
    try:
        form = await request.form(max_files=1, max_fields=20, max_part_size=settings.max_body)
    except Exception as exc:  # malformed multipart: say so
        raise ApiError(400, "bad-multipart", f"the multipart body cannot be read: {exc}") from None
    try:
        for _, value in form.multi_items():
            if not isinstance(value, str):
                return await value.read(), value.filename
    finally:
        await form.close()
    raise ApiError(400, "no-file", "the multipart body has no file part (send the document as field 'file')")


def flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise ApiError(400, "bad-parameter", f"?{name}= takes true or false, not {raw!r}")


def choice(request: Request, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if raw not in allowed:
        raise ApiError(400, "bad-parameter", f"?{name}= takes one of {', '.join(allowed)}, not {raw!r}")
    return raw


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", status,
                    media_type="application/json")


# --------------------------------------------------------------------------- middleware


class Guard:
    """Outermost layer: API keys, the access log (never a key, a body or a query
    string's secrets: only the path), and JSON for whatever escaped the app."""

    OPEN = ("/", "/health", "/openapi.json")

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings
        self._keys = {hashlib.sha256(k.encode()).digest(): _key_id(k) for k in settings.api_keys}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope.get("path", "")
        status = 0
        sent = 0
        key_id = "-"

        async def send_logged(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            if self._keys and not (path in self.OPEN or path.startswith("/static/")):
                known = self._check_key(scope)
                if known is None:
                    await ApiError(401, "unauthorized", f"this service needs an API key (header {KEY_HEADER} "
                                   "or Authorization: Bearer)").response()(scope, receive, send_logged)
                    return
                key_id = known
            await self.app(scope, receive, send_logged)
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info('%s "%s %s" %s %d %.1fms key=%s', client[0], scope.get("method", "-"), path,
                            status or "-", sent, (time.perf_counter() - start) * 1000, key_id)

    def _check_key(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        given = headers.get(KEY_HEADER) or ""
        auth = headers.get("authorization", "")
        if not given and auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if not given:
            return None
        digest = hashlib.sha256(given.encode()).digest()
        for known, kid in self._keys.items():
            if secrets.compare_digest(known, digest):
                return kid
        return None


def _key_id(key: str) -> str:
    """What the log shows of a key: a short hash, never the key."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


# --------------------------------------------------------------------------- endpoints


def _handler(fn: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except ApiError as exc:
            return exc.response()

    wrapped.__name__ = fn.__name__
    wrapped.__doc__ = fn.__doc__
    return wrapped


class Service:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.limits = Limits(settings)
        # ubltr.validate is not safe in threads: the engine shares one lxml XMLSchema per
        # schema and reads its error_log after validate(), which another thread's run
        # replaces (measured: 30 of 3,000 reports lost an XSD error with 4 threads).  So
        # one validation at a time per process; use --workers for more cores.
        self._validating = threading.Lock()

    def report(self, data: bytes, name: str, opts: dict[str, Any]) -> dict[str, Any]:
        """``ubltr validate --format json``'s dict for one document (one at a time)."""
        from ..commands import validate as cli_validate

        with self._validating:
            return cli_validate.report_dict(data, name=name, **opts)

    # -- validate ---------------------------------------------------------------
    def _validate_opts(self, request: Request) -> dict[str, Any]:
        from ubltr.validation import known_providers

        provider = request.query_params.get("provider") or None
        if provider is not None and provider.lower() not in known_providers():
            raise ApiError(400, "unknown-provider",
                           f"?provider=: unknown provider {provider!r} (known: {', '.join(known_providers())})")
        return {
            "schematron_type": choice(request, "type", ("efatura", "earchive"), None),
            "provider": provider.lower() if provider else None,
            "strict": flag(request, "strict"),
        }

    async def validate(self, request: Request) -> Response:
        """POST /validate: the report of ``ubltr validate --format json|junit``, byte for byte."""
        from ..commands.validate import json_report, junit_report

        fmt = choice(request, "format", ("json", "junit"), "json")
        opts = self._validate_opts(request)
        data, filename = await document(request, self.settings)
        name = request.query_params.get("name") or filename or "<body>"
        result = await self.limits.run(self.report, data, name, opts)
        if fmt == "junit":
            return Response(junit_report([result]), media_type="application/xml")
        return Response(json_report([result]), media_type="application/json",
                        headers={"X-Ubltr-Valid": "true" if result["valid"] else "false"})

    # -- build / totals -----------------------------------------------------------
    async def build(self, request: Request) -> Response:
        """POST /build: neutral JSON → UBL-TR XML; input errors as 422 with their paths."""
        raw = request.query_params.get("number")
        number: int | None = None
        if raw:
            if not raw.isdigit() or not 1 <= int(raw) <= 999_999_999:
                raise ApiError(400, "bad-parameter", f"?number= takes 1..999999999, not {raw!r}")
            number = int(raw)
        data, _ = await document(request, self.settings)

        def work() -> bytes:
            from ..model import loads
            from ..render import build

            return build(loads(data), sequence=(lambda series, year: number) if number else None)

        xml = await self.limits.run(_input_errors(work))
        return Response(xml, media_type="application/xml")

    async def totals(self, request: Request) -> Response:
        """POST /totals: the computed totals, as ``ubltr totals`` prints them."""
        data, _ = await document(request, self.settings)

        def work() -> dict[str, Any]:
            from ..calc import compute
            from ..model import loads

            inv = loads(data)
            return compute(inv.with_identity(id=inv.id or "XXX0000000000000")).as_dict()

        return json_response(await self.limits.run(_input_errors(work)))

    # -- parse / render -----------------------------------------------------------
    async def parse(self, request: Request) -> Response:
        """POST /parse: UBL-TR invoice XML → the neutral JSON (``ubltr.parse`` + ``model.to_dict``)."""
        data, _ = await document(request, self.settings)

        def work() -> dict[str, Any]:
            from ..model import to_dict
            from ..parsing import ParseError, parse

            try:
                return to_dict(parse(data))
            except ParseError as exc:
                raise ApiError(422, "unreadable", str(exc)) from None
            except (ValueError, ArithmeticError) as exc:
                raise ApiError(422, "unreadable", f"the document cannot be read as an invoice: {exc}") from None

        return json_response(await self.limits.run(work))

    async def render(self, request: Request) -> Response:
        """POST /render: the document as a page (HTML), or ``?format=pdf`` printed by Chromium."""
        from .. import view

        fmt = choice(request, "format", ("html", "pdf"), "html")
        embedded = not flag(request, "default_template")
        if fmt == "pdf" and view.find_browser() is None:
            raise ApiError(501, "no-pdf", "PDF needs headless Chromium, which this server does not have")
        data, _ = await document(request, self.settings)

        def work() -> tuple[bytes, tuple[str, ...]]:
            from ..envelope import render_document_html

            try:
                result = render_document_html(data, use_embedded=embedded,
                                              timeout=min(view.XSLT_TIMEOUT, self.settings.timeout))
            except view.DocumentError as exc:
                raise ApiError(422, "unreadable", str(exc)) from None
            if fmt == "html":
                return result.html, result.warnings
            with tempfile.TemporaryDirectory(prefix="ubltr-serve-") as tmp:
                page, pdf = Path(tmp) / "document.html", Path(tmp) / "document.pdf"
                page.write_bytes(result.html)
                try:
                    view.html_to_pdf(page, pdf, timeout=self.settings.timeout)
                except Exception as exc:  # noqa: BLE001 - the browser's failure, said plainly
                    raise ApiError(502, "pdf-failed", f"PDF printing failed: {exc}") from None
                return pdf.read_bytes(), result.warnings

        body, warnings = await self.limits.run(work)
        headers = {"X-Ubltr-Warnings": json.dumps(list(warnings), ensure_ascii=True)} if warnings else {}
        if fmt == "pdf":
            return Response(body, media_type="application/pdf", headers=headers)
        return Response(body, media_type="text/html; charset=utf-8", headers=headers)

    # -- batch ----------------------------------------------------------------------
    async def batch(self, request: Request) -> Response:
        """POST /batch: NDJSON in, NDJSON out, one answer line per input line, in order,
        written as soon as it is done (the input is read as it arrives)."""
        from .batch import run_batch

        opts = self._validate_opts(request)
        return NDJSONStream(run_batch(request, self, opts))

    # -- information --------------------------------------------------------------
    async def health(self, request: Request) -> Response:
        """GET /health"""
        from .. import view

        return json_response({
            "status": "ok", "version": __version__, "pdf": view.find_browser() is not None,
            "api_keys": bool(self.settings.api_keys),
            "limits": {"max_body": self.settings.max_body, "timeout": self.settings.timeout,
                       "concurrency": self.settings.concurrency},
        })

    async def rules(self, request: Request) -> Response:
        """GET /rules"""
        from .rules import loaded_rules

        return json_response(await self.limits.run(loaded_rules))

    async def openapi(self, request: Request) -> Response:
        from .openapi import document as openapi_document

        return json_response(openapi_document())

    async def page(self, request: Request) -> Response:
        return Response(_static("index.html"), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)

    async def static(self, request: Request) -> Response:
        name = request.path_params["name"]
        types = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
        ext = name.rsplit(".", 1)[-1]
        if ext not in types or "/" in name or name.startswith("."):
            raise ApiError(404, "not-found", f"no such file: /static/{name}")
        try:
            return Response(_static(name), media_type=types[ext], headers={"Cache-Control": "no-cache"})
        except FileNotFoundError:
            raise ApiError(404, "not-found", f"no such file: /static/{name}") from None


#: the page loads nothing from elsewhere; the rendered invoice shows in a sandboxed frame
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data: blob:; frame-src 'self' blob: data:; object-src 'none'; "
                               "base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _static(name: str) -> bytes:
    return resources.files(__package__).joinpath("static", name).read_bytes()


def _input_errors(fn: Callable[[], T]) -> Callable[[], T]:
    """``fn`` with the loader's and calc's path-named problems turned into a 422."""
    def work() -> T:
        from ..calc import CalcError
        from ..model import InvoiceInputError

        try:
            return fn()
        except InvoiceInputError as exc:
            problems = [{"path": p.path, "message": p.message} for p in exc.problems]
            raise ApiError(422, "invalid-input", f"{len(problems)} error(s) in the invoice", problems=problems) from None
        except CalcError as exc:
            problems = [{"path": p, "message": m} for p, m in exc.problems]
            raise ApiError(422, "invalid-input", f"{len(problems)} error(s) in the invoice", problems=problems) from None

    return work


class NDJSONStream(Response):
    """A streamed answer that does not listen for a disconnect on ``receive`` (the
    generator reads the request body from it while answering)."""

    media_type = "application/x-ndjson"

    def __init__(self, lines: AsyncIterator[bytes]):  # no super().__init__: no Content-Length
        self.status_code = 200
        self.background = None
        self.raw_headers = [(b"content-type", self.media_type.encode())]
        self.lines = lines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            first = await self.lines.__anext__()
        except ApiError as exc:  # refused before any line was answered: a plain JSON error
            await exc.response()(scope, receive, send)
            return
        except StopAsyncIteration:
            first = b""
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": first, "more_body": True})
        async for line in self.lines:
            await send({"type": "http.response.body", "body": line, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


# --------------------------------------------------------------------------- the app


async def _not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    return JSONResponse({"error": code, "message": f"{request.method} {request.url.path}: {exc.detail}"},
                        status_code=exc.status_code, headers=exc.headers)


async def _crash(request: Request, exc: Exception) -> Response:
    incident = uuid.uuid4().hex[:12]
    error_log.error("incident %s on %s %s", incident, request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "internal", "message": f"internal error (incident {incident} in the server log)"},
                        status_code=500)


def create_app(settings: Settings | None = None) -> Starlette:
    """The ASGI app (``settings`` default: :meth:`Settings.from_env`)."""
    from ..validation import warm_up

    settings = settings or Settings.from_env()
    warm_up()  # schemas and rules loaded before the first request (in each --workers process)
    svc = Service(settings)
    h = _handler
    routes = [
        Route("/", h(svc.page), methods=["GET"]),
        Route("/static/{name}", h(svc.static), methods=["GET"]),
        Route("/openapi.json", h(svc.openapi), methods=["GET"]),
        Route("/health", h(svc.health), methods=["GET"]),
        Route("/rules", h(svc.rules), methods=["GET"]),
        Route("/validate", h(svc.validate), methods=["POST"]),
        Route("/build", h(svc.build), methods=["POST"]),
        Route("/totals", h(svc.totals), methods=["POST"]),
        Route("/parse", h(svc.parse), methods=["POST"]),
        Route("/render", h(svc.render), methods=["POST"]),
        Route("/batch", h(svc.batch), methods=["POST"]),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _not_found, Exception: _crash},
                    middleware=[Middleware(Guard, settings=settings)])
    app.state.settings = settings
    app.state.service = svc
    return app
