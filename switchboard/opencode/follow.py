"""Following one prompt's turn to its end: the one way switchboard watches a session.

A `TurnFollower` is fed the session's events (whoever reads the stream: `client.run`
its own, the coordinator one stream per server) and asked to `poll` the server's
state when events may have been missed (heartbeats, reconnections, a periodic check).
It answers what would hang a headless session (permission requests, questions, a
provider retried forever) and says when the turn is over (`done`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

from switchboard.opencode.models import Event, Message, Turn

CLOCK_SKEW = 5.0  # seconds allowed between this machine's clock and the server's
IDLE_GRACE = 5.0  # seconds an idle session with an unfinished answer gets before it counts as stalled
UNSTARTED_GRACE = 60.0  # the same for a prompt whose answer has not even begun


class Session(Protocol):
    """The calls a follower makes on the server (`OpenCodeClient` has them)."""

    async def abort(self, session_id: str, *, directory: str | Path | None = None) -> bool: ...
    async def reply_permission(
        self, request_id: str, reply: str = "reject", *, message: str | None = None, directory: str | Path | None = None
    ) -> bool: ...
    async def reject_question(self, request_id: str, *, directory: str | Path | None = None) -> bool: ...
    async def status(self, *, directory: str | Path | None = None) -> dict[str, dict[str, Any]]: ...
    async def messages(
        self, session_id: str, *, limit: int | None = None, directory: str | Path | None = None
    ) -> list[Message]: ...


class TurnFollower:
    """What is known about the turn answering the prompt sent to `session_id` after
    `since` (epoch seconds, this machine's clock)."""

    def __init__(
        self,
        client: Session,
        session_id: str,
        *,
        since: float,
        max_retries: int = 3,
        permission_reply: str = "reject",
        directory: str | Path | None = None,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.since_ms = (since - CLOCK_SKEW) * 1000
        self.max_retries = max_retries
        self.permission_reply = permission_reply
        self.directory = directory
        self.busy = False
        self.done = False
        self.retries = 0
        self.error: Any = None
        self.rejected: list[str] = []
        self._idle_since: float | None = None

    async def handle(self, event: Event) -> None:
        """Update from one of the session's events (events of other sessions are ignored)."""
        if event.session_id != self.session_id:
            return
        kind, props = event.type, event.properties
        if kind == "session.status" and event.status == "busy":
            self.busy = True
        elif kind == "session.idle" or (kind == "session.status" and event.status == "idle"):
            if self.busy:
                self.done = True
            else:
                await self.poll()
        elif kind == "session.status" and event.status == "retry":
            status = props.get("status") or {}
            self.retries = int(status.get("attempt") or self.retries + 1)
            if self.retries > self.max_retries:
                self.error = {
                    "name": "ProviderUnavailable",
                    "data": {"message": f"gave up after {self.max_retries} retries: {status.get('message', '')}"},
                }
                await self.client.abort(self.session_id, directory=self.directory)
        elif kind == "session.error":
            self.error = self.error or props.get("error")
        elif kind in ("permission.asked", "question.asked"):
            request_id = props.get("id")
            if not request_id:  # nothing to answer; the periodic check still covers the session
                return
            if kind == "permission.asked":
                self.rejected.append(str(props.get("permission")))
                await self.client.reply_permission(str(request_id), self.permission_reply, directory=self.directory)
            else:
                await self.client.reject_question(str(request_id), directory=self.directory)

    async def poll(self) -> None:
        """Decide from the server's state, not its events, whether the turn is over."""
        if self.session_id in await self.client.status(directory=self.directory):
            self.busy, self._idle_since = True, None
            return
        if self.busy:
            self.done = True
            return
        # Never seen busy: not started yet, over with its events missed, or stalled.
        turn, prompted = await self.read()
        if not prompted:
            return
        if complete(turn):
            self.done = True
            return
        # An answer begun and left unfinished by an idle session was cut off (its server
        # died); a prompt with no answer begun may wait for a busy server to get to it.
        self._idle_since = self._idle_since or time.monotonic()
        self.done = time.monotonic() - self._idle_since > (IDLE_GRACE if turn.messages else UNSTARTED_GRACE)

    async def read(self, limit: int | None = 50) -> tuple[Turn, bool]:
        """The turn so far (within the last `limit` messages), and whether the prompt has
        reached the session."""
        recent = await self.client.messages(self.session_id, limit=limit, directory=self.directory)
        prompts = [m for m in recent if m.role == "user"]
        prompted = bool(prompts) and created_ms(prompts[-1]) >= self.since_ms
        return Turn.after_last_prompt(self.session_id, recent), prompted

    async def turn(self, duration: float) -> Turn:
        """The finished turn, with what the events told (an error the messages lack)."""
        turn, _ = await self.read(limit=None)
        messages = turn.messages
        if self.error and not turn.error:
            messages = messages + [Message({"role": "assistant", "error": self.error}, [])]
        return Turn(
            self.session_id, messages, duration=duration, retries=self.retries, rejected_permissions=self.rejected
        )


def complete(turn: Turn) -> bool:
    """The turn has an answer: its last assistant message finished (or failed)."""
    if not turn.messages:
        return False
    last = turn.messages[-1]
    return bool(last.error or (last.info.get("time") or {}).get("completed"))


def created_ms(message: Message) -> float:
    return float((message.info.get("time") or {}).get("created") or 0)
