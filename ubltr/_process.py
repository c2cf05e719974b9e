"""Child processes that do not outlive their parent.

A worker of a process pool (``ubltr batch``, ``ubltr validate`` on many files) or the
child that runs an embedded XSLT calls :func:`die_with_parent` first: when the parent
ends, however it ends (``kill -9`` included), the child is killed too.
"""

from __future__ import annotations

import os
import signal

__all__ = ["die_with_parent"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """End this process when process ``parent`` ends: ``PR_SET_PDEATHSIG`` (SIGKILL) on
    Linux, else a daemon thread that watches the parent id.  Exits at once when the
    parent is already gone (it may have died before the signal was armed)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):  # not Linux
        import threading
        import time

        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, name="ubltr-parent-watch", daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)
