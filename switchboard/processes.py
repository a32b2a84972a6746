"""Background processes switchboard starts and later finds again by pid."""

from __future__ import annotations

import fcntl
import os
import signal
import time
from pathlib import Path


def lock_held(path: Path) -> bool:
    """Whether a process holds the `flock` on `path`. The kernel drops a lock when its
    process dies, zombie or not, so this says more than a pid file."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie child of ours counts as dead, and is reaped)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return not os.waitpid(pid, os.WNOHANG)[0]
    except ChildProcessError:  # not our child: kill(0) said it runs
        return True


def terminate(pid: int, timeout: float, kill_after: float = 5.0) -> bool:
    """SIGTERM, then SIGKILL if it still runs after `timeout` seconds; False if it survived both."""
    for sig, grace in ((signal.SIGTERM, timeout), (signal.SIGKILL, kill_after)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not alive(pid):
                return True
            time.sleep(0.05)
    return not alive(pid)
