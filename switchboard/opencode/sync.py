"""`OpenCode`: the blocking twin of `OpenCodeClient`, for scripts, the CLI and sync code.

    with OpenCode(url, password=pw, directory=workdir) as oc:
        session = oc.create_session(title="review")
        print(oc.run(session.id, "Review src/", timeout=600).text)
        for event in oc.events():      # a blocking iterator
            ...

Each method has the same arguments as its async original; an event loop runs in
a helper thread for the client's lifetime.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from switchboard.opencode.client import OpenCodeClient
from switchboard.opencode.events import EventStream
from switchboard.opencode.models import Event

_METHODS = (
    "health",
    "dispose_instance",
    "create_session",
    "get_session",
    "list_sessions",
    "children",
    "delete_session",
    "abort",
    "fork",
    "set_title",
    "status",
    "messages",
    "message",
    "add_context",
    "prompt_async",
    "reply_permission",
    "reject_question",
    "last_turn",
    "run",
)


class OpenCode:
    def __init__(self, url: str, **options: Any) -> None:
        self._portal_cm: AbstractContextManager[BlockingPortal] = start_blocking_portal()
        self._portal = self._portal_cm.__enter__()

        async def make() -> OpenCodeClient:
            return OpenCodeClient(url, **options)

        self.client = self._portal.call(make)

    if TYPE_CHECKING:  # the blocking methods, one per name in _METHODS, are set below

        def __getattr__(self, name: str) -> Any: ...

    @property
    def url(self) -> str:
        return self.client.url

    def events(self, **options: Any) -> SyncEventStream:
        """Like `OpenCodeClient.events`, as a blocking iterator (close it, or use `with`)."""
        return SyncEventStream(self._portal, self.client.events(**options))

    def close(self) -> None:
        if self._portal_cm is not None:
            try:
                self._portal.call(self.client.aclose)
            finally:
                self._portal_cm.__exit__(None, None, None)
                self._portal_cm = None  # type: ignore[assignment]

    def __enter__(self) -> OpenCode:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _blocking(name: str) -> Callable[..., Any]:
    original = getattr(OpenCodeClient, name)

    @functools.wraps(original)
    def call(self: OpenCode, *args: Any, **kwargs: Any) -> Any:
        return self._portal.call(functools.partial(getattr(self.client, name), *args, **kwargs))

    return call


for _name in _METHODS:
    setattr(OpenCode, _name, _blocking(_name))


class SyncEventStream:
    def __init__(self, portal: BlockingPortal, stream: EventStream) -> None:
        self._portal = portal
        self._stream = stream

    def connect(self) -> SyncEventStream:
        self._portal.call(self._stream.connect)
        return self

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        try:
            return self._portal.call(self._stream.__anext__)
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        self._portal.call(self._stream.aclose)

    def __enter__(self) -> SyncEventStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
