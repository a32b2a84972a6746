"""Hooks and their deliveries as switchboard stores them."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from switchboard.timefmt import iso


class HookEvent(StrEnum):
    """How a task ended. `failed` is an attempt that failed: the task is queued again."""

    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"
    CANCELLED = "cancelled"


class HookFormat(StrEnum):
    JSON = "json"  # switchboard's own event, signed
    SLACK = "slack"  # {"text": ...} for a Slack incoming webhook
    DISCORD = "discord"  # {"content": ...} for a Discord webhook


@dataclass(frozen=True)
class Hook:
    id: int
    url: str
    events: tuple[HookEvent, ...]
    format: HookFormat
    secret: str
    created_at: float

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Hook:
        events = tuple(HookEvent(e) for e in row["events"].strip(",").split(","))
        return cls(row["id"], row["url"], events, HookFormat(row["format"]), row["secret"], row["created_at"])

    def to_dict(self) -> dict[str, Any]:
        """Without the secret: it is shown once, when the hook is added."""
        return {
            "id": self.id,
            "url": self.url,
            "events": [e.value for e in self.events],
            "format": self.format.value,
            "created_at": iso(self.created_at),
        }


@dataclass(frozen=True)
class Delivery:
    id: int
    hook_id: int
    task_id: int
    event: HookEvent
    attempt: int  # the task's attempt that ended
    result: str | None
    error: str | None
    status: str  # pending, delivered, dead
    tries: int
    available_at: float
    response_code: int | None
    last_error: str | None
    created_at: float
    delivered_at: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Delivery:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["event"] = HookEvent(values["event"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["event"] = self.event.value
        for name in ("available_at", "created_at", "delivered_at"):
            data[name] = iso(data[name])
        return data
