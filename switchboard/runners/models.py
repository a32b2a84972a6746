"""Runners and their runs as switchboard stores them."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from switchboard.timefmt import iso

DEFAULT_TIMEOUT = 600.0
DEFAULT_MAX_STEPS = 50  # model requests a run may make before it is aborted


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
    max_steps: int
    instructions: str
    # The live session (`run --continue` goes on in it), found through the runner's runs.
    session_id: str | None
    server_url: str | None
    created_at: float
    updated_at: float
    isolation: str = "none"  # or "worktree": each task attempt in its own git worktree
    redact: bool = True  # secrets in what its runs store and log become [redacted:<kind>]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Runner:
        return cls(**{f.name: row[f.name] for f in fields(cls)} | {"redact": bool(row["redact"])})

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
    prompted_at: float | None
    keep_session: int  # 0 deleted after the run, 1 kept, 2 the runner's live session
    session_deleted_at: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Run:
        return cls(**{f.name: row[f.name] for f in fields(cls)})

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("started_at", "finished_at", "prompted_at", "session_deleted_at"):
            data[name] = iso(data[name])
        return data
