"""The mailbox's records: messages, agents, and the vocabularies they use.

The records are NamedTuples, not dataclasses: every hot `sb mail` call imports them,
and a dataclass costs that call ~3 ms to build plus `inspect` to import.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Any, NamedTuple

from switchboard.errors import InvalidInput
from switchboard.names import parse_choice
from switchboard.timefmt import iso


class MessageType(StrEnum):
    TASK_DISPATCH = "task_dispatch"
    STATUS_REPORT = "status_report"
    DISCOVERY = "discovery"
    REQUEST = "request"
    BROADCAST = "broadcast"


class Priority(IntEnum):
    """Lower is more urgent; stored as the integer so that SQL can order by it."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3

    @classmethod
    def parse(cls, value: str | Priority) -> Priority:
        if isinstance(value, Priority):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            raise InvalidInput(f"unknown priority {value!r}: use {', '.join(p.name.lower() for p in cls)}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


class Status(StrEnum):
    """The human inbox state."""

    UNREAD = "unread"
    READ = "read"
    ARCHIVED = "archived"


class Delivery(StrEnum):
    """The machine delivery state."""

    PENDING = "pending"
    LEASED = "leased"
    ACKED = "acked"
    DEAD = "dead"


def parse_type(value: str | MessageType) -> MessageType:
    return parse_choice(MessageType, value, "message type")


_TIMES = ("available_at", "lease_expires_at", "created_at", "read_at", "archived_at", "acked_at")


class Message(NamedTuple):
    id: int
    from_agent: str
    to_agent: str
    type: MessageType
    priority: Priority
    convoy: str | None
    payload: str
    reply_to: int | None
    thread_id: int | None
    status: Status
    delivery: Delivery
    attempts: int
    max_attempts: int
    available_at: float
    lease_token: str | None
    lease_expires_at: float | None
    claimed_by: str | None
    last_error: str | None
    created_at: float
    read_at: float | None
    archived_at: float | None
    acked_at: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Message:
        values = {name: row[name] for name in cls._fields}
        values["type"] = MessageType(values["type"])
        values["priority"] = Priority(values["priority"])
        values["status"] = Status(values["status"])
        values["delivery"] = Delivery(values["delivery"])
        return cls(**values)

    @property
    def thread_root(self) -> int:
        return self.thread_id if self.thread_id is not None else self.id

    def to_dict(self) -> dict[str, Any]:
        data = self._asdict()
        data["type"] = self.type.value
        data["priority"] = self.priority.label
        data["status"] = self.status.value
        data["delivery"] = self.delivery.value
        for name in _TIMES:
            data[name] = iso(data[name])
        return data


class Agent(NamedTuple):
    name: str
    role: str
    status: str
    registered_at: float
    last_seen_at: float
    branch: str | None = None
    worktree: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Agent:
        return cls(**{name: row[name] for name in cls._fields})

    def to_dict(self) -> dict[str, Any]:
        data = self._asdict()
        data["registered_at"] = iso(self.registered_at)
        data["last_seen_at"] = iso(self.last_seen_at)
        return data


class PruneReport(NamedTuple):
    cutoff: float
    by_type: dict[str, int]
    deleted: bool
    remembered: int = 0  # discoveries and status reports kept as memories

    @property
    def total(self) -> int:
        return sum(self.by_type.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": iso(self.cutoff),
            "by_type": self.by_type,
            "total": self.total,
            "deleted": self.deleted,
            "remembered": self.remembered,
        }
