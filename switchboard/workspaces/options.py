"""Validation of the isolation options of runners and tasks, at the edge: a runner or
task that could not get its worktree is refused when it is defined, not when it runs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from switchboard.errors import InvalidInput
from switchboard.names import parse_choice
from switchboard.workspaces import git
from switchboard.workspaces.models import Delivery, Isolation
from switchboard.workspaces.service import check_repository


def check_isolation(value: str | Isolation, workdir: str | Path) -> str:
    """A runner's isolation; `worktree` needs its workdir in a git repository."""
    isolation = parse_choice(Isolation, value, "isolation")
    if isolation == Isolation.WORKTREE:
        check_repository(workdir)
    return isolation.value


def check_task_options(
    candidates: Sequence[dict[str, Any]], *, isolation: str | None, base: str | None, deliver: str | None
) -> tuple[str | None, str | None, str | None]:
    """A task's (isolation, base, deliver), checked against the runners that may take it
    (rows with `workdir` and `isolation`). The task's isolation beats the runner's."""
    chosen = parse_choice(Isolation, isolation, "isolation") if isolation is not None else None
    delivery = parse_choice(Delivery, deliver, "delivery") if deliver is not None else None
    if base is not None:
        base = base.strip()
        if not base or base.startswith("-") or any(c.isspace() or ord(c) < 32 for c in base):
            raise InvalidInput(f"--base must name a commit, branch or tag, got {base!r}")
    isolated = [c for c in candidates if (chosen or c["isolation"]) == Isolation.WORKTREE]
    if (base is not None or delivery is not None) and candidates and not isolated:
        raise InvalidInput("--base and --deliver need --isolation worktree (on the task or its runner)")
    for runner in isolated:
        repo = check_repository(runner["workdir"])
        if base is not None and git.commit_of(repo, base) is None:
            raise InvalidInput(f"--base {base} is not a commit in {repo} (runner {runner['name']})")
    return (chosen.value if chosen else None), base, (delivery.value if delivery else None)
