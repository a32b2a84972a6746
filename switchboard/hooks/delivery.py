"""The delivery loop: posts due hook deliveries, retries failures with backoff.

It runs beside the coordinator as one task (`run(stop, settings)`). Database calls
go to worker threads and every post has a timeout, so a slow or dead hook never
holds up the coordinator; a bad delivery is logged and the loop goes on. Task ends
wake it through the store's `tasks` notifications; retries wake it on their time.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import anyio
import httpx

from switchboard.config import Settings
from switchboard.coordinator.tasks import CHANNEL
from switchboard.hooks.models import Delivery
from switchboard.hooks.service import Hooks

log = logging.getLogger("switchboard.hooks")

MAX_TRIES = 8  # after 1 + 2 + 4 + ... + 64 seconds (about two minutes) of retries: dead
MAX_BACKOFF_SECONDS = 600.0
POST_TIMEOUT = 10.0
PARALLEL = 8  # posts in flight at once
LEASE = POST_TIMEOUT * 3
IDLE_CHECK = 30.0  # a slow look even without news (another host's coordinator may have ended tasks)


async def run(
    stop: anyio.Event,
    settings: Settings,
    *,
    hooks: Hooks | None = None,
    max_tries: int = MAX_TRIES,
    base_delay: float = 1.0,
    transport: Any = None,
) -> None:
    """Deliver until `stop` is set."""
    while hooks is None and not stop.is_set():
        try:
            hooks = await anyio.to_thread.run_sync(Hooks.open, settings)
        except Exception:  # noqa: BLE001 - e.g. the database is down: try again
            log.exception("hook delivery cannot open the database")
            with anyio.move_on_after(5.0):
                await stop.wait()
    if hooks is None:
        return
    woken = anyio.Event()

    async def listen() -> None:
        def wait_for_news() -> None:
            with hooks.store.listen(CHANNEL) as waiter:
                while not stop.is_set() and not waiter.wait(1.0):
                    pass

        while not stop.is_set():
            try:
                await anyio.to_thread.run_sync(wait_for_news, abandon_on_cancel=True)
            except Exception:  # noqa: BLE001 - the database may be briefly unreachable
                log.exception("hook delivery: waiting for task news failed")
                await anyio.sleep(1.0)
            woken.set()

    async with httpx.AsyncClient(timeout=POST_TIMEOUT, transport=transport, follow_redirects=False) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(listen)
            while not stop.is_set():
                wait = IDLE_CHECK
                try:
                    await deliver_due(hooks, client, max_tries=max_tries, base_delay=base_delay)
                    due = await anyio.to_thread.run_sync(hooks.next_due)
                    if due is not None:
                        wait = min(wait, max(0.05, due - time.time()))
                except Exception:  # noqa: BLE001 - one bad pass must not stop deliveries
                    log.exception("hook delivery pass failed")
                    wait = 1.0
                with anyio.move_on_after(wait):
                    await woken.wait()
                woken = anyio.Event()
            group.cancel_scope.cancel()


async def deliver_due(
    hooks: Hooks, client: httpx.AsyncClient, *, max_tries: int = MAX_TRIES, base_delay: float = 1.0
) -> int:
    """Post every due delivery (up to PARALLEL at once). Returns how many were tried."""
    tried = 0
    while batch := await anyio.to_thread.run_sync(hooks.claim, PARALLEL, LEASE):
        async with anyio.create_task_group() as group:
            for delivery in batch:
                group.start_soon(_deliver, hooks, client, delivery, max_tries, base_delay)
        tried += len(batch)
    return tried


async def _deliver(
    hooks: Hooks, client: httpx.AsyncClient, delivery: Delivery, max_tries: int, base_delay: float
) -> None:
    code: int | None = None
    try:
        url, body, headers = await anyio.to_thread.run_sync(hooks.request, delivery)
        response = await client.post(url, content=body, headers=headers)
        code = response.status_code
        if response.is_success:
            await anyio.to_thread.run_sync(hooks.delivered, delivery, code)
            log.info(
                "hook %s: task %s %s delivered (%s)", delivery.hook_id, delivery.task_id, delivery.event.value, code
            )
            return
        error = f"HTTP {code}: {response.text[:200]}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    except Exception as exc:  # noqa: BLE001 - e.g. the hook was removed meanwhile
        error = f"{type(exc).__name__}: {exc}"
    delay = min(base_delay * 2.0 ** (delivery.tries - 1), MAX_BACKOFF_SECONDS)
    log.warning("hook %s: delivery %s try %d failed: %s", delivery.hook_id, delivery.id, delivery.tries, error)
    await anyio.to_thread.run_sync(
        lambda: hooks.failed(delivery, error, code=code, retry_in=delay, max_tries=max_tries)
    )
