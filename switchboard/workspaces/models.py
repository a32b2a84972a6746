"""Isolated workspaces as switchboard stores them: one git worktree per attempt."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any, Protocol

from switchboard.timefmt import iso


class ForTask(Protocol):
    """What a workspace needs of the task it is made for (the coordinator's `Task` is one;
    workspaces sit below the coordinator, so they name only these parts of it)."""

    @property
    def id(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def prompt(self) -> str: ...
    @property
    def isolation(self) -> str | None: ...
    @property
    def base_ref(self) -> str | None: ...
    @property
    def deliver(self) -> str | None: ...
    def to_dict(self) -> dict[str, Any]: ...


class ForRunner(Protocol):
    """What a workspace needs of the runner that works in it (the runners' `Runner` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def workdir(self) -> str: ...
    @property
    def isolation(self) -> str: ...


class Isolation(StrEnum):
    NONE = "none"  # the runner's workdir itself
    WORKTREE = "worktree"  # a fresh git worktree and branch per attempt


class Delivery(StrEnum):
    BRANCH = "branch"  # keep the branch for review
    PATCH = "patch"  # the patch in the task's record; the branch is removed
    MERGE = "merge"  # into the base branch when it applies cleanly


class Outcome(StrEnum):
    BRANCH = "branch"
    PATCH = "patch"
    MERGED = "merged"
    NEEDS_MERGE = "needs merge"
    NO_CHANGES = "no changes"
    DISCARDED = "discarded"  # the attempt failed: its worktree and branch are gone


@dataclass(frozen=True)
class Workspace:
    """The worktree of one attempt and, once it has ended, its result."""

    id: int
    task_id: int
    attempt: int
    host: str
    repo: str
    path: str
    directory: str
    branch: str
    base_ref: str
    base_commit: str
    target_branch: str | None
    deliver: Delivery
    status: str  # active, finished
    outcome: Outcome | None
    note: str | None
    head_commit: str | None
    commits: list[dict[str, str]]
    files: list[dict[str, Any]]
    diff_stat: str | None
    patch: str | None
    created_at: float
    finished_at: float | None
    branch_removed_at: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Workspace:
        values = {f.name: row[f.name] for f in fields(cls)}
        values["deliver"] = Delivery(values["deliver"])
        values["outcome"] = Outcome(values["outcome"]) if values["outcome"] else None
        values["commits"] = json.loads(values["commits"] or "[]")
        values["files"] = json.loads(values["files"] or "[]")
        return cls(**values)

    @property
    def changed(self) -> bool:
        return bool(self.files)

    @property
    def branch_kept(self) -> bool:
        return (
            self.status == "finished"
            and self.branch_removed_at is None
            and self.outcome in (Outcome.BRANCH, Outcome.MERGED, Outcome.NEEDS_MERGE)
        )

    def to_dict(self, *, patch: bool = False) -> dict[str, Any]:
        """The record for `--json`; the patch only when asked (it can be large)."""
        data = asdict(self)
        data["deliver"] = self.deliver.value
        data["outcome"] = self.outcome.value if self.outcome else None
        data["changed"], data["branch_kept"] = self.changed, self.branch_kept
        for name in ("created_at", "finished_at", "branch_removed_at"):
            data[name] = iso(data[name])
        if not patch:
            data.pop("patch")
        return data


@dataclass(frozen=True)
class Result:
    """What an attempt left in its worktree, collected when it ended."""

    head_commit: str
    commits: list[dict[str, str]]  # {sha, subject, by: agent|switchboard}
    files: list[dict[str, Any]]  # {path, status, added, deleted}
    diff_stat: str
    patch: str

    @property
    def changed(self) -> bool:
        return bool(self.files)
