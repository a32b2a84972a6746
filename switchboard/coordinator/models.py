"""Tasks and schedules as the coordinator stores them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import Any

from switchboard.mailbox.models import Priority
from switchboard.opencode.files import Attachment, from_json
from switchboard.timefmt import iso


class TaskStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    DEAD = "dead"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.DONE, TaskStatus.DEAD, TaskStatus.CANCELLED)


_TASK_TIMES = (
    "available_at",
    "lease_expires_at",
    "started_at",
    "deadline_at",
    "finished_at",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Task:
    id: int
    prompt: str
    runner: str | None
    role: str | None
    status: TaskStatus
    priority: Priority
    convoy: str | None
    attempts: int
    max_attempts: int
    timeout_seconds: float | None
    max_steps: int | None  # None: the runner's step budget
    available_at: float
    assigned_runner: str | None
    owner: str | None
    lease_expires_at: float | None
    server_url: str | None
    session_id: str | None
    run_id: int | None
    started_at: float | None
    deadline_at: float | None
    finished_at: float | None
    result: str | None
    error: str | None
    failed_dependency: int | None
    source: str
    source_ref: str | None
    created_at: float
    updated_at: float
    # Isolation (NULL: the runner's), the base ref and the delivery of its worktree.
    isolation: str | None = None
    base_ref: str | None = None
    deliver: str | None = None
    files: tuple[Attachment, ...] = ()  # sent with the prompt by every attempt
    model: str | None = None  # None: the runner's
    workdir: str | None = None  # None: the runner's
    notify: str | None = None  # an agent mailed the report of its final outcome
    after: tuple[int, ...] = field(default=())

    @classmethod
    def from_row(cls, row: dict[str, Any], after: tuple[int, ...] = ()) -> Task:
        values = {f.name: row[f.name] for f in fields(cls) if f.name not in ("after", "files")}
        values["files"] = tuple(from_json(row.get("files")))
        values["status"] = TaskStatus(values["status"])
        values["priority"] = Priority(values["priority"])
        return cls(**values, after=after)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        data["priority"] = self.priority.label
        data["after"] = list(self.after)
        data["files"] = [{"filename": f.filename, "bytes": len(f.text.encode("utf-8"))} for f in self.files]
        for name in _TASK_TIMES:
            data[name] = iso(data[name])
        return data

    @property
    def target(self) -> str:
        """Who may run it, for people: a runner, a role, or anyone."""
        if self.runner:
            return self.runner
        return f"role:{self.role}" if self.role else "any"


@dataclass(frozen=True)
class Schedule:
    id: int
    name: str
    schedule: str
    prompt: str
    runner: str | None
    role: str | None
    status: str
    catch_up: str
    next_run_at: float
    last_run_at: float | None
    created_at: float
    # What each firing's task gets (None: the runner's), and who is mailed its report.
    timeout_seconds: float | None = None
    model: str | None = None
    workdir: str | None = None
    notify: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Schedule:
        return cls(**{f.name: row[f.name] for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("next_run_at", "last_run_at", "created_at"):
            data[name] = iso(data[name])
        return data
