"""An async client for OpenCode's HTTP server (`opencode serve`), checked against 1.18.33's `GET /doc`.

    async with OpenCodeClient("http://127.0.0.1:4096", directory="/path/to/project") as oc:
        session = await oc.create_session(title="review")
        turn = await oc.run(session.id, "Review src/auth.py", timeout=600)
        print(turn.text)

`directory` picks the project (its `opencode.json`, agents, working directory)
on a server that serves many; set it on the client, or per call. Credentials:
`password`/`username`, else `OPENCODE_SERVER_PASSWORD`/`OPENCODE_SERVER_USERNAME`
(username `opencode` by default). Errors are typed (`switchboard.opencode.errors`).
`OpenCode` in `switchboard.opencode.sync` is the blocking twin of this class.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from types import EllipsisType
from typing import Any

import anyio
import httpx

from switchboard.opencode.errors import OpenCodeError, SessionNotFound, TimedOut
from switchboard.opencode.events import EventStream
from switchboard.opencode.follow import TurnFollower
from switchboard.opencode.models import Event, Message, Session, Turn, model_ref, text_parts
from switchboard.opencode.transport import Transport

Prompt = str | Iterable[Mapping[str, Any]]
EventHook = Callable[[Event], Awaitable[None] | None]

DEFAULT_USERNAME = "opencode"


class OpenCodeClient:
    def __init__(
        self,
        url: str,
        *,
        password: str | None = None,
        username: str | None = None,
        directory: str | Path | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 5.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.directory = _abs(directory)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        if password is None:
            password = os.environ.get("OPENCODE_SERVER_PASSWORD") or None
        username = username or os.environ.get("OPENCODE_SERVER_USERNAME") or DEFAULT_USERNAME
        auth = httpx.BasicAuth(username, password) if password else None
        self.transport = Transport(self.url, auth=auth, timeout=timeout, connect_timeout=connect_timeout)

    async def aclose(self) -> None:
        await self.transport.aclose()

    def at(self, directory: str | Path) -> OpenCodeClient:
        """This client working in another directory, over the same connections (close this one only)."""
        other = copy.copy(self)
        other.directory = _abs(directory)
        return other

    async def __aenter__(self) -> OpenCodeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- plumbing -------------------------------------------------------------------------

    def _params(self, directory: str | Path | None, **extra: Any) -> dict[str, Any]:
        params = {k: v for k, v in extra.items() if v is not None}
        chosen = _abs(directory) or self.directory
        if chosen:
            params["directory"] = chosen
        return params

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        directory: str | Path | None = None,
        params: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float | None | EllipsisType = ...,
    ) -> Any:
        """One call: the decoded JSON answer, or None for an empty one (204)."""
        if session_id is not None and not session_id.startswith("ses"):
            raise SessionNotFound(f"no session {session_id} on {self.url} (session ids start with 'ses')")
        kwargs: dict[str, Any] = {"params": self._params(directory, **(params or {}))}
        if json is not None:
            kwargs["json"] = json
        if not isinstance(timeout, EllipsisType):
            kwargs["timeout"] = httpx.Timeout(timeout, connect=self.connect_timeout)
        try:
            response = await self.transport.http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
                raise self.transport.down(exc) from None
            raise TimedOut(f"{method} {path} on {self.url} timed out", session_id) from None
        except httpx.TransportError as exc:
            raise self.transport.down(exc) from None
        await self.transport.check(response, session_id)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # -- server ---------------------------------------------------------------------------

    async def health(self) -> dict[str, Any]:
        """`{"healthy": true, "version": "1.18.33"}`; raises `ServerDown` or `AuthRefused`."""
        health: dict[str, Any] = await self.request("GET", "/global/health")
        return health

    async def dispose_instance(self, directory: str | Path | None = None) -> bool:
        """Free the server's state for one project directory (it is rebuilt on next use)."""
        return bool(await self.request("POST", "/instance/dispose", directory=directory))

    # -- sessions -------------------------------------------------------------------------

    async def create_session(
        self, *, title: str | None = None, parent_id: str | None = None, directory: str | Path | None = None
    ) -> Session:
        body = {k: v for k, v in {"title": title, "parentID": parent_id}.items() if v is not None}
        return Session.from_api(await self.request("POST", "/session", json=body, directory=directory))

    async def get_session(self, session_id: str, *, directory: str | Path | None = None) -> Session:
        return Session.from_api(
            await self.request("GET", f"/session/{session_id}", directory=directory, session_id=session_id)
        )

    async def list_sessions(
        self,
        *,
        directory: str | Path | None = None,
        roots: bool = False,
        search: str | None = None,
        limit: int | None = None,
    ) -> list[Session]:
        """The project's sessions, newest first (`roots`: only those without a parent)."""
        params = {"roots": "true" if roots else None, "search": search, "limit": limit}
        return [Session.from_api(s) for s in await self.request("GET", "/session", directory=directory, params=params)]

    async def children(self, session_id: str, *, directory: str | Path | None = None) -> list[Session]:
        data = await self.request("GET", f"/session/{session_id}/children", directory=directory, session_id=session_id)
        return [Session.from_api(s) for s in data]

    async def delete_session(self, session_id: str, *, directory: str | Path | None = None) -> bool:
        return bool(await self.request("DELETE", f"/session/{session_id}", directory=directory, session_id=session_id))

    async def abort(self, session_id: str, *, directory: str | Path | None = None) -> bool:
        """Stop the session's running turn (true even when nothing was running)."""
        return bool(
            await self.request("POST", f"/session/{session_id}/abort", directory=directory, session_id=session_id)
        )

    async def fork(
        self,
        session_id: str,
        *,
        message_id: str | None = None,
        title: str | None = None,
        directory: str | Path | None = None,
    ) -> Session:
        """A new session holding copies of this one's messages (those before `message_id`, if
        given); the session forked from is left as it is. OpenCode titles it `TITLE (fork #N)`."""
        body = {"messageID": message_id} if message_id else {}
        forked = Session.from_api(
            await self.request(
                "POST", f"/session/{session_id}/fork", json=body, directory=directory, session_id=session_id
            )
        )
        return forked if title is None else await self.set_title(forked.id, title, directory=directory)

    async def set_title(self, session_id: str, title: str, *, directory: str | Path | None = None) -> Session:
        await self.request(
            "PATCH", f"/session/{session_id}", json={"title": title}, directory=directory, session_id=session_id
        )
        return await self.get_session(session_id, directory=directory)

    async def status(self, *, directory: str | Path | None = None) -> dict[str, dict[str, Any]]:
        """Busy and retrying sessions by id (idle sessions are absent)."""
        return await self.request("GET", "/session/status", directory=directory) or {}

    async def messages(
        self, session_id: str, *, limit: int | None = None, directory: str | Path | None = None
    ) -> list[Message]:
        """The session's messages, oldest first, with their parts (tool calls, text, steps)."""
        data = await self.request(
            "GET", f"/session/{session_id}/message", directory=directory, params={"limit": limit}, session_id=session_id
        )
        return [Message.from_api(m) for m in data]

    # -- prompting ------------------------------------------------------------------------

    @staticmethod
    def prompt_body(
        prompt: Prompt,
        *,
        agent: str | None = None,
        model: str | Mapping[str, str] | None = None,
        system: str | None = None,
        tools: Mapping[str, bool] | None = None,
        no_reply: bool = False,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"parts": text_parts(prompt)}
        extra = {
            "agent": agent,
            "model": model_ref(model),
            "system": system,
            "tools": dict(tools) if tools is not None else None,
            "noReply": True if no_reply else None,
        }
        body.update({k: v for k, v in extra.items() if v is not None})
        return body

    async def message(
        self,
        session_id: str,
        prompt: Prompt,
        *,
        agent: str | None = None,
        model: str | Mapping[str, str] | None = None,
        system: str | None = None,
        tools: Mapping[str, bool] | None = None,
        no_reply: bool = False,
        timeout: float | None = None,
        abort_on_timeout: bool = True,
        directory: str | Path | None = None,
    ) -> Message:
        """Prompt and wait for the whole turn; return the final assistant message.

        The server sends nothing until the turn is over, so there is no read
        timeout: `timeout` (seconds, None for none) bounds the whole wait, after
        which the session is aborted (unless `abort_on_timeout` is false) and
        `TimedOut` raised. Earlier steps and tool calls: `messages()` or `last_turn()`.
        With `no_reply` the parts are added as context and the user message returned.
        """
        body = self.prompt_body(prompt, agent=agent, model=model, system=system, tools=tools, no_reply=no_reply)
        path = f"/session/{session_id}/message"
        with anyio.move_on_after(timeout) as scope:
            data = await self.request("POST", path, json=body, directory=directory, session_id=session_id, timeout=None)
        if scope.cancelled_caught:
            await self._timed_out(session_id, timeout, abort_on_timeout, directory)
        if data is None:
            raise OpenCodeError(f"OpenCode sent an empty answer to the prompt in session {session_id}")
        return Message.from_api(data)

    async def add_context(self, session_id: str, text: Prompt, *, directory: str | Path | None = None) -> Message:
        """Add parts to the session without a model answer (`noReply`); the next prompt sees them."""
        return await self.message(session_id, text, no_reply=True, directory=directory)

    async def prompt_async(
        self,
        session_id: str,
        prompt: Prompt,
        *,
        agent: str | None = None,
        model: str | Mapping[str, str] | None = None,
        system: str | None = None,
        tools: Mapping[str, bool] | None = None,
        directory: str | Path | None = None,
    ) -> None:
        """Start a turn and return at once (204). Follow it on `events()`; errors arrive only there."""
        body = self.prompt_body(prompt, agent=agent, model=model, system=system, tools=tools)
        await self.request(
            "POST", f"/session/{session_id}/prompt_async", json=body, directory=directory, session_id=session_id
        )

    async def reply_permission(
        self, request_id: str, reply: str = "reject", *, message: str | None = None, directory: str | Path | None = None
    ) -> bool:
        """Answer a `permission.asked` event: `once`, `always` or `reject`."""
        body = {"reply": reply, **({"message": message} if message else {})}
        return bool(await self.request("POST", f"/permission/{request_id}/reply", json=body, directory=directory))

    async def reject_question(self, request_id: str, *, directory: str | Path | None = None) -> bool:
        """Refuse a `question.asked` event (the question tool waits for a human otherwise)."""
        return bool(await self.request("POST", f"/question/{request_id}/reject", directory=directory))

    def events(
        self,
        *,
        directory: str | Path | None = None,
        all_directories: bool = False,
        heartbeat_timeout: float = 30.0,
        give_up_after: float | None = 60.0,
    ) -> EventStream:
        """The server's events for the project (`all_directories`: `/global/event`, every project)."""
        path, params = ("/global/event", {}) if all_directories else ("/event", self._params(directory))
        return EventStream(
            self.transport, path, params, heartbeat_timeout=heartbeat_timeout, give_up_after=give_up_after
        )

    async def last_turn(self, session_id: str, *, directory: str | Path | None = None) -> Turn:
        """The answer to the session's latest prompt, gathered from its messages."""
        return Turn.after_last_prompt(session_id, await self.messages(session_id, directory=directory))

    async def run(
        self,
        session_id: str,
        prompt: Prompt,
        *,
        agent: str | None = None,
        model: str | Mapping[str, str] | None = None,
        system: str | None = None,
        tools: Mapping[str, bool] | None = None,
        timeout: float | None = None,
        max_retries: int = 3,
        permission_reply: str = "reject",
        on_event: EventHook | None = None,
        directory: str | Path | None = None,
    ) -> Turn:
        """Prompt with `prompt_async`, follow the session on the event stream until idle, return the turn.

        Guards against the ways a headless turn hangs: `timeout` (seconds) aborts
        the session and raises `TimedOut`; a provider retried more than
        `max_retries` times aborts it (the turn then carries the error);
        permission requests get `permission_reply` and questions are refused.
        OpenCode's streams can miss events (around instance disposal, or a
        reconnection), so on each heartbeat and reconnection the session's status
        is also polled. `on_event` (sync or async) sees each of the session's
        events, for progress.
        """
        started = time.monotonic()
        follower = TurnFollower(
            self,
            session_id,
            since=time.time(),
            max_retries=max_retries,
            permission_reply=permission_reply,
            directory=directory,
        )
        with anyio.move_on_after(timeout) as scope:
            async with self.events(directory=directory) as stream:
                await stream.connect()
                await self.prompt_async(
                    session_id, prompt, agent=agent, model=model, system=system, tools=tools, directory=directory
                )
                async for event in stream:
                    if event.type in (Event.RECONNECTED, "server.heartbeat"):
                        await follower.poll()
                    elif event.session_id == session_id:
                        await follower.handle(event)
                        if on_event is not None:
                            result = on_event(event)
                            if result is not None:
                                await result
                    if follower.done:
                        break
        if scope.cancelled_caught:
            await self._timed_out(session_id, timeout, True, directory)
        return await follower.turn(time.monotonic() - started)

    async def _timed_out(
        self, session_id: str, timeout: float | None, abort: bool, directory: str | Path | None
    ) -> None:
        if abort:
            with anyio.move_on_after(self.timeout):
                await self.abort(session_id, directory=directory)
        raise TimedOut(
            f"session {session_id} did not finish within {timeout:g} s" + ("; aborted" if abort else ""), session_id
        )


def _abs(directory: str | Path | None) -> str | None:
    return str(Path(directory).expanduser().resolve()) if directory else None
