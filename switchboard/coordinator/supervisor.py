"""Background tasks of a long-running process that no single failure can end.

`supervise` restarts a task that raised (after logging it with its traceback);
`guarded` runs a one-shot task whose failure is logged and handed to a fallback.
The loop that holds them never sees the exception, so one bad event, request or
row costs at most the work it was about. A fault of the environment (a read-only or
full filesystem, a database that cannot be written: `SwitchboardError`, `OSError`)
is one line, said at most once a minute (`Notice`), never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from switchboard.errors import SwitchboardError
from switchboard.notice import Notice

log = logging.getLogger("switchboard.coordinator")

RESTART_AFTER = 1.0  # seconds before a failed background task starts again
FAULTS = (SwitchboardError, OSError)  # the environment's, not bugs: one line each


notice = Notice(log)


async def supervise(
    name: str, fn: Callable[..., Awaitable[Any]], *args: Any, restart_after: float = RESTART_AFTER
) -> None:
    """Run `fn(*args)` until it returns; restart it whenever it raises."""
    while True:
        try:
            await fn(*args)
            return
        except FAULTS as exc:
            notice.fault(name, str(exc))
            await anyio.sleep(restart_after)
        except Exception:  # noqa: BLE001 - the point: log it, start again
            log.exception("%s failed; restarting it in %gs", name, restart_after)
            await anyio.sleep(restart_after)


async def guarded(
    name: str,
    fn: Callable[..., Awaitable[Any]],
    *args: Any,
    on_error: Callable[[BaseException], Awaitable[Any]] | None = None,
) -> None:
    """Run `fn(*args)` once; an unexpected error is logged and given to `on_error`."""
    try:
        await fn(*args)
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, FAULTS):
            notice.fault(name, str(exc))
        else:
            log.exception("%s failed", name)
        if on_error is not None:
            try:
                await on_error(exc)
            except Exception:  # noqa: BLE001
                log.exception("%s: clean-up after the failure failed too", name)
