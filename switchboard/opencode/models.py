"""OpenCode's records as switchboard sees them: sessions, messages, tool uses, events, turns.

Each keeps the server's JSON in `raw` for anything not lifted into a field.
Times are seconds since the epoch (OpenCode sends milliseconds).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from switchboard.errors import InvalidInput


def _seconds(ms: Any) -> float | None:
    return None if ms is None else float(ms) / 1000.0


@dataclass(frozen=True)
class Session:
    id: str
    title: str
    directory: str
    parent_id: str | None
    created_at: float | None
    updated_at: float | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Session:
        times = data.get("time") or {}
        return cls(
            str(data["id"]),
            str(data.get("title") or ""),
            str(data.get("directory") or ""),
            data.get("parentID"),
            _seconds(times.get("created")),
            _seconds(times.get("updated")),
            dict(data),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "directory": self.directory,
            "parent_id": self.parent_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class ToolUse:
    """One tool call in an assistant message, e.g. `bash` with its command and output."""

    tool: str
    status: str  # pending, running, completed or error
    input: dict[str, Any]
    output: str | None
    error: str | None
    call_id: str

    @classmethod
    def from_part(cls, part: Mapping[str, Any]) -> ToolUse:
        state = part.get("state") or {}
        return cls(
            str(part.get("tool")),
            str(state.get("status")),
            dict(state.get("input") or {}),
            state.get("output"),
            state.get("error"),
            str(part.get("callID") or ""),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "call_id": self.call_id,
        }


@dataclass(frozen=True)
class Message:
    """A message with its parts, as `GET /session/ID/message` and `POST .../message` return them."""

    info: dict[str, Any]
    parts: list[dict[str, Any]]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Message:
        return cls(dict(data.get("info") or {}), list(data.get("parts") or []))

    @property
    def id(self) -> str:
        return str(self.info.get("id"))

    @property
    def role(self) -> str:
        return str(self.info.get("role"))

    @property
    def text(self) -> str:
        """The message's text parts, joined (synthetic and ignored parts left out)."""
        return "".join(
            p.get("text", "")
            for p in self.parts
            if p.get("type") == "text" and not p.get("synthetic") and not p.get("ignored")
        )

    @property
    def tools(self) -> list[ToolUse]:
        return [ToolUse.from_part(p) for p in self.parts if p.get("type") == "tool"]

    @property
    def error(self) -> str | None:
        """The assistant's error as `Name: message` (provider errors, aborts), else None."""
        return error_text(self.info.get("error"))

    @property
    def tokens(self) -> dict[str, Any]:
        return dict(self.info.get("tokens") or {})

    @property
    def cost(self) -> float:
        return float(self.info.get("cost") or 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "role": self.role,
            "agent": self.info.get("agent"),
            "text": self.text,
            "tools": [t.to_dict() for t in self.tools],
            "error": self.error,
            "tokens": self.tokens or None,
            "cost": self.cost,
        }


def error_text(error: Any) -> str | None:
    """OpenCode's `{name, data: {message}}` errors as one line."""
    if not error:
        return None
    if not isinstance(error, Mapping):
        return str(error)
    name = error.get("name") or "Error"
    data = error.get("data") or {}
    message = data.get("message") if isinstance(data, Mapping) else None
    return f"{name}: {message}" if message else str(name)


@dataclass(frozen=True)
class Event:
    """One server-sent event: `type` (e.g. `session.idle`) and its `properties`.

    `directory` is set for events from `/global/event`. switchboard adds one type
    of its own: `switchboard.disconnected` (the stream broke and cannot be reopened
    yet: the server may be gone) and `switchboard.reconnected` (it was reopened, so
    events may have been missed); re-read what you follow.
    """

    type: str
    properties: dict[str, Any]
    id: str | None = None
    directory: str | None = None

    RECONNECTED = "switchboard.reconnected"
    DISCONNECTED = "switchboard.disconnected"

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Event:
        directory = None
        if "payload" in data and "type" not in data:  # /global/event wraps each event
            directory = data.get("directory")
            data = data["payload"] if isinstance(data["payload"], Mapping) else {}
        props = data.get("properties")
        return cls(
            str(data.get("type")),
            dict(props) if isinstance(props, Mapping) else {},
            data.get("id"),
            directory if isinstance(directory, str) else None,
        )

    @property
    def session_id(self) -> str | None:
        props = self.properties
        for holder in (props, props.get("info") or {}, props.get("part") or {}):
            if isinstance(holder, Mapping) and holder.get("sessionID"):
                return str(holder["sessionID"])
        return None

    @property
    def status(self) -> str | None:
        """For `session.status`: busy, idle or retry."""
        status = self.properties.get("status")
        return status.get("type") if isinstance(status, Mapping) else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "properties": self.properties}
        if self.directory is not None:
            out["directory"] = self.directory
        return out


def _add_tokens(total: dict[str, Any], more: Mapping[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, Mapping):
            _add_tokens(total.setdefault(key, {}), value)
        elif isinstance(value, (int, float)):
            total[key] = total.get(key, 0) + value


@dataclass(frozen=True)
class Turn:
    """One prompt's outcome: the assistant messages that answered it, summed up.

    `text` is the final answer (the last assistant message's text); `tools` every
    tool use on the way; `error` the first error, if any.
    """

    session_id: str
    messages: list[Message]
    duration: float = 0.0
    retries: int = 0
    rejected_permissions: list[str] = field(default_factory=list)

    @classmethod
    def after_last_prompt(cls, session_id: str, messages: Sequence[Message], **extra: Any) -> Turn:
        """The turn answering the session's latest user message."""
        start = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
        return cls(session_id, [m for m in messages[start + 1 :] if m.role == "assistant"], **extra)

    @property
    def text(self) -> str:
        for message in reversed(self.messages):
            if message.text:
                return message.text
        return ""

    @property
    def tools(self) -> list[ToolUse]:
        return [t for m in self.messages for t in m.tools]

    @property
    def error(self) -> str | None:
        return next((m.error for m in self.messages if m.error), None)

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.messages)

    @property
    def tokens(self) -> dict[str, Any]:
        total: dict[str, Any] = {}
        for message in self.messages:
            _add_tokens(total, message.tokens)
        return total

    @property
    def cost(self) -> float:
        return sum(m.cost for m in self.messages)

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "ok": self.ok,
            "text": self.text,
            "error": self.error,
            "tools": [t.to_dict() for t in self.tools],
            "tokens": self.tokens,
            "cost": self.cost,
            "duration": round(self.duration, 3),
            "retries": self.retries,
            "rejected_permissions": self.rejected_permissions,
            "messages": [m.id for m in self.messages],
        }


def text_parts(prompt: str | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """A prompt as OpenCode input parts: a string becomes one text part."""
    if isinstance(prompt, str):
        return [{"type": "text", "text": prompt}]
    return [dict(p) for p in prompt]


def model_ref(model: str | Mapping[str, str] | None) -> dict[str, str] | None:
    """`provider/model` (the model part may hold more slashes) as OpenCode's model object."""
    if model is None or isinstance(model, Mapping):
        return None if model is None else dict(model)
    provider, sep, model_id = model.partition("/")
    if not sep or not provider or not model_id:
        raise InvalidInput(f"model must look like provider/model, got {model!r}")
    return {"providerID": provider, "modelID": model_id}
