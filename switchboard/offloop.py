"""Blocking work (database calls, recall, file writes) from async code, off the event loop.

Every database call made from a coroutine goes through `off_loop`: a locked SQLite
file can keep a call waiting for its busy timeout, and on the loop that wait would
stall every session being followed and the event readers with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread

T = TypeVar("T")


async def off_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in a worker thread; the caller's task waits, the loop does not."""
    return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))
