"""The event stream's source: one watcher per server process finds what changed in
tasks, runs and mail, and fans it out to every connected client.

It wakes on the store's notifications (a task added, finished or requeued; mail to
the coordinator), and looks at least every `CHECK_EVERY` seconds for the changes that
notify nobody (a task started, mail between agents). Each look re-reads a short window
so that a transaction committed late is not missed; what was already sent is skipped.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from switchboard.coordinator.models import Task
from switchboard.coordinator.tasks import CHANNEL
from switchboard.mailbox.models import Message
from switchboard.runners.models import Run
from switchboard.runners.service import COORDINATOR
from switchboard.store import Store

log = logging.getLogger("switchboard.web")

CHECK_EVERY = 1.0
WINDOW = 3.0  # seconds re-read at each look: a commit that lands up to this late is still seen
BATCH = 0.02  # after a wake-up, wait this long so that a burst of writes is one look
BACKLOG = 1000  # events a slow client may fall behind before it is dropped (it reconnects)
HEARTBEAT = 15.0


class Feed:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.clients: set[MemoryObjectSendStream[tuple[str, dict[str, Any]]]] = set()
        self._sent: dict[tuple[str, int], tuple[Any, float]] = {}  # (kind, id) -> (version, when)

    # -- watching ---------------------------------------------------------------

    async def run(self) -> None:
        """Watch until cancelled; a failed look is logged and retried."""
        await anyio.to_thread.run_sync(self.changes)  # what exists now is not news
        waiter = await anyio.to_thread.run_sync(self.store.listen, CHANNEL, COORDINATOR)
        try:
            while True:
                if await anyio.to_thread.run_sync(waiter.wait, CHECK_EVERY, abandon_on_cancel=True):
                    await anyio.sleep(BATCH)
                try:
                    events = await anyio.to_thread.run_sync(self.changes)
                except Exception:  # noqa: BLE001 - the database may be briefly unreachable
                    log.exception("event stream: looking for changes failed")
                    await anyio.sleep(CHECK_EVERY)
                    continue
                for event in events:
                    self.publish(*event)
        finally:
            waiter.close()

    def changes(self) -> list[tuple[str, dict[str, Any]]]:
        """What changed since the last look, oldest first: ("task" | "run" | "mail", record)."""
        now = time.time()
        since = now - WINDOW
        with self.store.transaction() as tx:
            found = (
                [
                    ("task", r["id"], (r["status"], r["updated_at"]), r, Task)
                    for r in tx.all("web.tasks_changed", {"since": since})
                ]
                + [
                    ("run", r["id"], (r["status"], r["finished_at"]), r, Run)
                    for r in sorted(tx.all("web.runs_changed", {"since": since}), key=lambda r: r["id"])
                ]
                + [("mail", r["id"], r["id"], r, Message) for r in tx.all("web.mail_since", {"since": since})]
            )
        events = []
        for kind, key, version, row, model in found:
            if self._sent.get((kind, key), (None,))[0] != version:
                self._sent[(kind, key)] = (version, now)
                events.append((kind, model.from_row(row).to_dict()))
        for key in [k for k, (_, when) in self._sent.items() if when < since - WINDOW]:
            del self._sent[key]
        return events

    # -- fanning out --------------------------------------------------------------

    def publish(self, kind: str, record: dict[str, Any]) -> None:
        for client in list(self.clients):
            try:
                client.send_nowait((kind, record))
            except (anyio.WouldBlock, anyio.BrokenResourceError, anyio.ClosedResourceError):
                self.clients.discard(client)  # too far behind or gone: it reconnects and re-reads
                client.close()

    def subscribe(self) -> MemoryObjectReceiveStream[tuple[str, dict[str, Any]]]:
        send, receive = anyio.create_memory_object_stream[tuple[str, dict[str, Any]]](BACKLOG)
        self.clients.add(send)
        return receive

    async def stream(self) -> AsyncIterator[bytes]:
        """One client's `text/event-stream`: `event: task|run|mail` frames, JSON data."""
        receive = self.subscribe()
        try:
            yield b": connected\n\n"
            with receive:
                while True:
                    with anyio.move_on_after(HEARTBEAT) as scope:
                        kind, record = await receive.receive()
                    if scope.cancelled_caught:
                        yield b": heartbeat\n\n"
                        continue
                    yield f"event: {kind}\ndata: {json.dumps(record, ensure_ascii=False)}\n\n".encode()
        except anyio.EndOfStream:
            return
