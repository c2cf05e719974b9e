"""One headless Chromium kept open and driven over the DevTools protocol, to print
many HTML pages to PDF without starting a browser for each (~1.7 s a start).

The protocol runs over a pipe (``--remote-debugging-pipe``: JSON messages ending in a
NUL byte, commands on the browser's fd 3, answers on its fd 4), the transport
Playwright and Puppeteer use for a browser they launch.  It needs no port, no
websocket client and no other dependency; only the standard library is used here.

:class:`PdfPrinter` prints one page at a time; a browser that dies or hangs is killed
and started again and the page is printed again (``retries``), so a document is either
printed once or reported as failed, never lost.  A page is navigated to
(:meth:`PdfPrinter.print_file`: a new document per page) or, for a page without
scripts such as ubltr's own, written into the tab's document
(:meth:`PdfPrinter.print_html`, ``Page.setDocumentContent``): about half the browser's
CPU per page (one worker, 40 ten-line invoices, three alternating rounds: 49-63 ms of
CPU and 60-72 ms of wall time a page, against 110-125 and 93-102 navigated).

Memory: the renderer of a tab navigated from page to page grew by about 3.6 MB per
printed invoice (Chromium 150: 49 MB after the first page, 236 MB after 50, 778 MB
after 200): the documents already printed were garbage its JavaScript/DOM heap had not
collected, as nothing in a headless browser asks it to (a "critical" memory-pressure
signal only halves it).  So every ``collect_every`` pages the tab's heap is collected
(``HeapProfiler.collectGarbage``, a median 6 ms for a 10-line invoice's tab on the
shared machine): collected after every page, the renderer stayed at 57-65 MB over 500
pages in one tab; every 5th page (the default, a fifth of the cost) it saws between
~60 and ~80 MB.  As bounds for what a collection does not reach, the tab is
replaced every ``new_tab_after`` pages, and the whole browser is restarted every
``recycle_after`` pages or, checked every ``check_every`` pages, when the resident
memory of its processes has grown past ``rss_limit`` bytes; a restart happens between
two pages, so none is lost or printed twice.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import select
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

#: What ``--print-to-pdf --no-pdf-header-footer`` asks of Chromium (checked against it
#: page image by page image in tests/test_render_browser.py): the page's own CSS page
#: size (A4 in our template) and backgrounds, no header or footer.
PRINT_PARAMS: dict[str, Any] = {
    "printBackground": True,
    "preferCSSPageSize": True,
    "displayHeaderFooter": False,
    "generateTaggedPDF": True,
}


#: an inline event handler's attribute name and "=" (its start is checked by _scripted)
_HANDLER = re.compile(r"on[a-z]+\s*=")


def _scripted(html: str) -> bool:
    """A page :meth:`PdfPrinter.print_html` does not write into the tab's document: one
    with a script, an inline event handler or a ``javascript:`` link (such pages get a
    document and a JavaScript global of their own, by navigation).  Searched for as
    plain strings in the lower-cased page, and the handlers by a pattern that starts
    with a literal (75 µs for a 20 KB invoice page; one alternation with IGNORECASE
    took 290, the engine trying it at every character)."""
    low = html.lower()
    if "<script" in low or "javascript:" in low:
        return True
    return any(m.start() and low[m.start() - 1] in " \t\n\r\f\"'/" for m in _HANDLER.finditer(low))

#: Evaluated in the tab after ``Page.setDocumentContent``: resolves once the page has
#: loaded (at once for a page without subresources, which is complete when written)
_LOADED = ("document.readyState === 'complete' || "
           "new Promise(done => addEventListener('load', () => done(true), {once: true}))")


#: The default bound on a browser's resident memory (all its processes, shared pages
#: counted in each, as ``Browser.rss_bytes`` reads them): a browser printing 10-line
#: invoices measures 0.75-0.8 GiB that way, flat over 200 pages; one past twice
#: that has grown by something the collection and the tab renewal did not reach,
#: and is replaced before its next page.
RSS_LIMIT = 3 << 29  # 1.5 GiB


class BrowserDied(RuntimeError):
    """The browser exited, closed its pipe, or did not answer in time."""


class PrintError(RuntimeError):
    """The browser is alive but could not load or print this page."""


class _Process:
    """The spawned browser's pid, reaped with waitpid."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float) -> bool:
        """True once the process has ended, False if still running after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True


class Browser:
    """A headless Chromium process and its DevTools pipe (browser-level session)."""

    def __init__(self, executable: str, flags: list[str], *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="ubltr-chromium-")
        self._log = open(Path(self.profile) / "chromium.log", "wb")  # noqa: SIM115 - closed in close()
        cmd_r, cmd_w = os.pipe()  # we write commands, the browser reads them on fd 3
        res_r, res_w = os.pipe()  # the browser writes answers on fd 4, we read them
        # move the browser's ends above fd 9 first, so dup2 onto 3 and 4 cannot clobber
        # one with the other; they are close-on-exec, only the copies on 3 and 4 survive
        hi_r = fcntl.fcntl(cmd_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(res_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(cmd_r)
        os.close(res_w)
        args = [executable, *flags, f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"]
        log = self._log.fileno()
        try:
            self.proc = _Process(os.posix_spawn(
                executable, args, os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, log, 1),
                    (os.POSIX_SPAWN_DUP2, log, 2),
                    (os.POSIX_SPAWN_DUP2, hi_r, 3),
                    (os.POSIX_SPAWN_DUP2, hi_w, 4),
                ],
                setsid=True,  # its own process group: closing kills the helpers too
            ))
        except OSError:
            os.close(cmd_w)
            os.close(res_r)
            raise
        finally:
            os.close(hi_r)
            os.close(hi_w)
        self._out = cmd_w
        self._in = res_r
        self._buf = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ protocol

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> int:
        self._next_id += 1
        msg: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode("utf-8") + b"\0"
        try:
            while data:
                n = os.write(self._out, data)
                data = data[n:]
        except (BrokenPipeError, OSError) as exc:
            raise BrowserDied(f"cannot write to the browser: {exc}") from None
        return self._next_id

    def _read_message(self, deadline: float) -> dict[str, Any]:
        while True:
            end = self._buf.find(b"\0")
            if end >= 0:
                raw, self._buf = self._buf[:end], self._buf[end + 1:]
                message: dict[str, Any] = json.loads(raw)
                return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserDied(f"no answer from the browser within {self.timeout:g} s")
            ready, _, _ = select.select([self._in], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._in, 1 << 20)
            if not chunk:
                raise BrowserDied(f"the browser closed its pipe (exit status {self.proc.poll()})")
            self._buf += chunk

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             *, timeout: float | None = None) -> dict[str, Any]:
        """Send a command and wait for its answer; events that arrive meanwhile are kept."""
        ident = self.send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self._read_message(deadline)
            if msg.get("id") == ident:
                if "error" in msg:
                    raise PrintError(f"{method}: {msg['error'].get('message', msg['error'])}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            self._check_crash(msg)
            if "method" in msg:
                self._events.append(msg)

    def wait_event(self, method: str, session: str | None, *, timeout: float | None = None) -> dict[str, Any]:
        deadline = time.monotonic() + (timeout or self.timeout)
        for i, ev in enumerate(self._events):
            if ev["method"] == method and ev.get("sessionId") == session:
                del self._events[: i + 1]
                return ev
        self._events.clear()
        while True:
            msg = self._read_message(deadline)
            self._check_crash(msg)
            if msg.get("method") == method and msg.get("sessionId") == session:
                return msg

    def drop_events(self) -> None:
        """Forget the events kept so far (a page written with ``Page.setDocumentContent``
        is not waited for by event: its load, DOM and open events would pile up)."""
        self._events.clear()

    @staticmethod
    def _check_crash(msg: dict[str, Any]) -> None:
        if msg.get("method") in ("Inspector.targetCrashed", "Target.targetCrashed"):
            raise BrowserDied("the page's renderer crashed")

    # ------------------------------------------------------------------ life

    def rss_bytes(self) -> int:
        """Resident memory of the browser and all its processes (Linux /proc), in bytes."""
        total = 0
        pids = [self.proc.pid]
        seen: set[int] = set()
        while pids:
            pid = pids.pop()
            if pid in seen:
                continue
            seen.add(pid)
            try:
                with open(f"/proc/{pid}/statm") as fh:
                    total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/children") as fh:
                        pids.extend(int(c) for c in fh.read().split())
            except (OSError, ValueError):
                continue
        return total

    def close(self) -> None:
        for fd in (self._out, self._in):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 15)
            except OSError:
                pass
            if not self.proc.wait(5):
                try:
                    os.killpg(self.proc.pid, 9)
                except OSError:
                    pass
                self.proc.wait(5)
        else:  # the browser is gone; its helpers (same session) may not be
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                pass
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class PdfPrinter:
    """Prints HTML pages to PDF bytes in one long-lived headless Chromium.

    >>> with PdfPrinter() as printer:                       # doctest: +SKIP
    ...     pdf = printer.print_file(Path("fatura.html"))   # navigated to
    ...     pdf = printer.print_html(html_bytes)            # written into the tab
    """

    def __init__(self, executable: str | None = None, *, timeout: float = 60.0, retries: int = 2,
                 recycle_after: int = 1000, new_tab_after: int = 500, collect_every: int = 5,
                 rss_limit: int | None = RSS_LIMIT, check_every: int = 50) -> None:
        from . import view

        exe = executable or view.find_browser()
        if exe is None:
            raise view.BrowserMissing(
                "no Chromium found (install it: apt-get install chromium, or set UBLTR_CHROMIUM)"
            )
        self.executable = exe
        self.timeout = timeout
        self.retries = retries
        self.recycle_after = recycle_after
        self.new_tab_after = new_tab_after
        self.collect_every = collect_every
        self.rss_limit = rss_limit
        self.check_every = max(1, check_every)
        self.printed = 0  # pages printed by the current browser
        self.tab_printed = 0  # pages printed by the current tab
        self.restarts = 0  # browsers started again after one died or hung
        self.recycled = 0  # browsers replaced by policy (recycle_after pages, or rss_limit)
        self._browser: Browser | None = None
        self._target = ""
        self._session = ""
        self._frame = ""  # the tab's main frame, where print_html writes its pages
        self._fresh = True  # False once a navigated page (its scripts, its timers) is in the tab

    def _start(self) -> Browser:
        from . import view

        # the profile dir comes from Browser; view.browser_args wants one, drop its flag
        flags = [f for f in view.browser_args("") if not f.startswith("--user-data-dir")]
        b = Browser(self.executable, flags, timeout=self.timeout)
        try:
            self._open_tab(b)
        except BaseException:
            b.close()
            raise
        self.printed = 0
        return b

    def _open_tab(self, b: Browser) -> None:
        self._target = b.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = b.call("Target.attachToTarget", {"targetId": self._target, "flatten": True})["sessionId"]
        b.call("Page.enable", session=self._session)
        self._frame = b.call("Page.getFrameTree", session=self._session)["frameTree"]["frame"]["id"]
        self._fresh = True  # no page of its own has run a script in this tab
        self.tab_printed = 0
        # the tab the browser opened itself (its command line's about:blank) is never
        # used: closed, its renderer (~30 MB) goes with it
        for info in b.call("Target.getTargets").get("targetInfos", []):
            if info.get("type") == "page" and info.get("targetId") != self._target:
                b.call("Target.closeTarget", {"targetId": info["targetId"]})

    def _over_limit(self) -> bool:
        """True when the policy asks for a new browser before the next page."""
        if self.printed >= self.recycle_after:
            return True
        if self.rss_limit is None or self.printed == 0 or self.printed % self.check_every:
            return False
        assert self._browser is not None
        return self._browser.rss_bytes() > self.rss_limit

    def _stop(self) -> None:
        if self._browser is not None:
            self._browser.close()
            self._browser = None

    def _tab(self) -> tuple[Browser, str]:
        """The browser and the tab session for the next page, replaced first where the
        policy says so (``recycle_after``, ``rss_limit``, ``new_tab_after``)."""
        if self._browser is not None and self._over_limit():
            self._stop()
            self.recycled += 1
        if self._browser is None:
            self._browser = self._start()
        elif self.tab_printed >= self.new_tab_after:
            self._browser.call("Target.closeTarget", {"targetId": self._target})
            self._open_tab(self._browser)
        return self._browser, self._session

    def _printed(self, b: Browser, s: str) -> bytes:
        """The PDF of the page the tab shows now."""
        data = b.call("Page.printToPDF", PRINT_PARAMS, s)["data"]
        self.printed += 1
        self.tab_printed += 1
        if self.collect_every and self.tab_printed % self.collect_every == 0:
            b.call("HeapProfiler.collectGarbage", session=s)  # what the pages before left behind
        b.drop_events()
        return base64.b64decode(data)

    def _navigate(self, b: Browser, s: str, url: str) -> None:
        nav = b.call("Page.navigate", {"url": url}, s)
        if nav.get("errorText"):
            raise PrintError(f"cannot load the page: {nav['errorText']}")
        b.wait_event("Page.loadEventFired", s)

    def _print_once(self, url: str) -> bytes:
        b, s = self._tab()
        self._fresh = False  # the page's scripts, timers included, live in the tab now
        self._navigate(b, s, url)
        return self._printed(b, s)

    def _write_once(self, html: str) -> bytes:
        b, s = self._tab()
        if not self._fresh:  # after a navigated page: a new, empty document and global first
            self._navigate(b, s, "about:blank")
            self._frame = b.call("Page.getFrameTree", session=s)["frameTree"]["frame"]["id"]
            self._fresh = True
        b.call("Page.setDocumentContent", {"frameId": self._frame, "html": html}, s)
        loaded = b.call("Runtime.evaluate", {"expression": _LOADED, "awaitPromise": True}, s)
        if "exceptionDetails" in loaded:
            raise PrintError(f"the page did not load: {loaded['exceptionDetails'].get('text', '')}")
        return self._printed(b, s)

    def _retrying(self, once: Callable[[], bytes]) -> bytes:
        for attempt in range(self.retries + 1):
            try:
                return once()
            except BrowserDied:
                self._stop()
                if attempt == self.retries:
                    raise
                self.restarts += 1
        raise AssertionError("unreachable")  # pragma: no cover

    def print_file(self, html_path: Path) -> bytes:
        """The PDF of an HTML file (A4 per its CSS, no header/footer), loaded by
        navigating the tab to it: a new document with a JavaScript global of its own,
        relative links resolved against the file.  A browser that dies or hangs is
        replaced and the page printed again, up to ``retries`` times; then
        :class:`BrowserDied` is raised.  :class:`PrintError`: the page itself could not
        be loaded or printed (not retried)."""
        url = html_path.resolve().as_uri()
        return self._retrying(lambda: self._print_once(url))

    def print_html(self, html: bytes | str) -> bytes:
        """The PDF of a self-contained page (bytes are UTF-8), written into the tab's
        document (``Page.setDocumentContent``) instead of navigated to: half the
        browser's CPU of :meth:`print_file` per page (no new document to commit, no
        file to read), for ubltr's own pages.  Written pages share the tab's
        JavaScript global, and their relative links resolve against the tab's
        address, so a page with a script or an event handler, or one that is not
        UTF-8, is printed through :meth:`print_file` from a temporary file instead;
        and after a navigated page the tab is first taken to a new, empty document
        (that page's timers would go on running in the tab's global).  Same retries
        and errors as :meth:`print_file`."""
        try:
            text = html.decode("utf-8") if isinstance(html, bytes) else html
        except UnicodeDecodeError:
            text = None
        if text is None or _scripted(text):
            with tempfile.TemporaryDirectory(prefix="ubltr-page-") as folder:
                page = Path(folder) / "page.html"
                page.write_bytes(html if isinstance(html, bytes) else html.encode("utf-8"))
                return self.print_file(page)
        return self._retrying(lambda: self._write_once(text))

    def rss_bytes(self) -> int:
        return self._browser.rss_bytes() if self._browser is not None else 0

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> PdfPrinter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
