"""OpenCode's event stream (`GET /event`, `GET /global/event`) as an async iterator.

The server sends `data: {id, type, properties}` frames, `server.connected`
first and `server.heartbeat` every 10 seconds. Streams have been seen to stop
without closing, so silence longer than `heartbeat_timeout` counts as a dead
stream. A dead or closed stream is reopened, with backoff while the server does
not answer; after each reopening the stream yields a `switchboard.reconnected`
event, because events may have been missed in between.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import AsyncIterator

import anyio
import httpx

from switchboard.opencode.errors import ServerDown
from switchboard.opencode.models import Event
from switchboard.opencode.transport import Transport

HEARTBEAT_SECONDS = 10.0


async def parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[Event]:
    """Server-sent-event lines to events: `data:` lines up to a blank line form one frame."""
    data: list[str] = []
    async for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        elif line == "" and data:
            frame, data = "\n".join(data), []
            try:
                payload = json.loads(frame)
            except json.JSONDecodeError:
                continue  # not ours to interpret; OpenCode sends JSON only
            if isinstance(payload, dict):
                yield Event.from_api(payload)
        # comments (":"), "event:", "id:" and "retry:" lines carry nothing OpenCode uses


class EventStream:
    """Events from one OpenCode server, reconnecting as needed.

        async with client.events() as events:
            async for event in events:
                ...

    `heartbeat_timeout`: seconds of silence after which the stream counts as dead
    and is reopened. `give_up_after`: seconds of failed reconnection after which
    `ServerDown` is raised (None: retry forever). The first connection is not
    retried: a server that is down raises `ServerDown` at once.
    """

    def __init__(
        self,
        transport: Transport,
        path: str,
        params: dict[str, str],
        *,
        heartbeat_timeout: float = 3 * HEARTBEAT_SECONDS,
        give_up_after: float | None = 60.0,
        backoff: tuple[float, float] = (0.25, 5.0),
    ) -> None:
        self._transport = transport
        self._path = path
        self._params = params
        self.heartbeat_timeout = heartbeat_timeout
        self.give_up_after = give_up_after
        self._backoff = backoff
        self._pending: deque[Event] = deque()
        self._gen: AsyncIterator[Event] | None = None
        self.reconnects = 0

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> Event:
        if self._pending:
            return self._pending.popleft()
        if self._gen is None:
            self._gen = self._run()
        return await self._gen.__anext__()

    async def connect(self) -> EventStream:
        """Open the stream and wait for `server.connected`, so that nothing after this call is missed."""
        while True:
            event = await self.__anext__()
            if event.type == "server.connected":
                return self
            self._pending.append(event)

    async def aclose(self) -> None:
        if self._gen is not None:
            await self._gen.aclose()  # type: ignore[attr-defined]
            self._gen = None

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self) -> AsyncIterator[Event]:
        delay = self._backoff[0]
        failing_since: float | None = None
        opened = False
        timeout = httpx.Timeout(self._transport.connect_timeout, read=self.heartbeat_timeout)
        while True:
            try:
                async with self._transport.http.stream(
                    "GET", self._path, params=self._params, timeout=timeout
                ) as response:
                    await self._transport.check(response)
                    if opened:
                        self.reconnects += 1
                        yield Event(Event.RECONNECTED, {"reconnects": self.reconnects})
                    opened, failing_since, delay = True, None, self._backoff[0]
                    async for event in parse_sse(response.aiter_lines()):
                        yield event
                continue  # the server closed the stream (e.g. its instance was disposed): reopen
            except httpx.ReadTimeout:
                continue  # no heartbeat: a dead stream; reopen at once
            except (httpx.TransportError, ServerDown) as exc:
                if not opened:
                    raise self._transport.down(exc) from None
                lost = failing_since is None
                failing_since = failing_since or time.monotonic()
                if self.give_up_after is not None and time.monotonic() - failing_since > self.give_up_after:
                    raise self._transport.down(exc) from None
                if lost:  # said once per outage: the server may be gone; check what you follow
                    yield Event(Event.DISCONNECTED, {"error": str(exc) or type(exc).__name__})
            await anyio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])
