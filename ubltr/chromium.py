"""One headless Chromium kept open and driven over the DevTools protocol, to print
many HTML pages to PDF without starting a browser for each (~1.7 s a start).

The protocol runs over a pipe (``--remote-debugging-pipe``: JSON messages ending in a
NUL byte, commands on the browser's fd 3, answers on its fd 4), the transport
Playwright and Puppeteer use for a browser they launch.  It needs no port, no
websocket client and no other dependency; only the standard library is used here.

:class:`PdfPrinter` prints one page at a time; a browser that dies or hangs is killed
and started again and the page is printed again (``retries``), so a document is either
printed once or reported as failed, never lost.

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
import select
import shutil
import tempfile
import time
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
    """Prints HTML files to PDF bytes in one long-lived headless Chromium.

    >>> with PdfPrinter() as printer:                       # doctest: +SKIP
    ...     pdf = printer.print_file(Path("fatura.html"))
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

    def _print_once(self, url: str) -> bytes:
        if self._browser is not None and self._over_limit():
            self._stop()
            self.recycled += 1
        if self._browser is None:
            self._browser = self._start()
        elif self.tab_printed >= self.new_tab_after:
            self._browser.call("Target.closeTarget", {"targetId": self._target})
            self._open_tab(self._browser)
        b, s = self._browser, self._session
        nav = b.call("Page.navigate", {"url": url}, s)
        if nav.get("errorText"):
            raise PrintError(f"cannot load the page: {nav['errorText']}")
        b.wait_event("Page.loadEventFired", s)
        data = b.call("Page.printToPDF", PRINT_PARAMS, s)["data"]
        self.printed += 1
        self.tab_printed += 1
        if self.collect_every and self.tab_printed % self.collect_every == 0:
            b.call("HeapProfiler.collectGarbage", session=s)  # what the pages before left behind
        return base64.b64decode(data)

    def print_file(self, html_path: Path) -> bytes:
        """The PDF of an HTML file (A4 per its CSS, no header/footer).  A browser that
        dies or hangs is replaced and the page printed again, up to ``retries`` times;
        then :class:`BrowserDied` is raised.  :class:`PrintError`: the page itself
        could not be loaded or printed (not retried)."""
        url = html_path.resolve().as_uri()
        for attempt in range(self.retries + 1):
            try:
                return self._print_once(url)
            except BrowserDied:
                self._stop()
                if attempt == self.retries:
                    raise
                self.restarts += 1
        raise AssertionError("unreachable")  # pragma: no cover

    def rss_bytes(self) -> int:
        return self._browser.rss_bytes() if self._browser is not None else 0

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> PdfPrinter:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
