"""Runners and their runs as switchboard stores them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from switchboard.timefmt import iso

DEFAULT_TIMEOUT = 600.0


@dataclass(frozen=True)
class Runner:
    name: str
    description: str
    role: str
    model: str | None
    agent: str | None
    workdir: str
    timeout_seconds: float
    max_parallel: int
    instructions: str
    session_id: str | None
    server_url: str | None
    created_at: float
    updated_at: float
    isolation: str = "none"  # or "worktree": each task attempt in its own git worktree

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Runner:
        return cls(**{f.name: row[f.name] for f in fields(cls)})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"], data["updated_at"] = iso(self.created_at), iso(self.updated_at)
        return data


@dataclass(frozen=True)
class Run:
    id: int
    runner: str
    task_id: int | None
    prompt: str
    status: str  # running, success, failed, aborted
    session_id: str | None
    server_url: str | None
    started_at: float
    finished_at: float | None
    duration_seconds: float | None
    tokens_input: int | None
    tokens_output: int | None
    cost: float | None
    answer: str | None
    error: str | None
    log_path: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        return cls(**{f.name: row[f.name] for f in fields(cls)})

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["started_at"], data["finished_at"] = iso(self.started_at), iso(self.finished_at)
        return data
