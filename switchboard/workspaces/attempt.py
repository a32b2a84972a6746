"""The workspace side of an attempt, for async code: the directory its session works in,
and the settling of its worktree when it ends. Git and the database run off the loop."""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import anyio

from switchboard.errors import SwitchboardError
from switchboard.workspaces.models import Delivery, Isolation, Workspace
from switchboard.workspaces.service import Workspaces

if TYPE_CHECKING:
    from switchboard.coordinator.models import Task
    from switchboard.opencode.client import OpenCodeClient
    from switchboard.runners.models import Runner

log = logging.getLogger("switchboard.workspaces")


class AttemptWorkspace:
    def __init__(self, workspaces: Workspaces) -> None:
        self.workspaces = workspaces

    async def prepare(self, task: Task, runner: Runner) -> tuple[Runner, Workspace | None]:
        """The runner as this attempt sees it: with isolation, its workdir is a fresh worktree
        (the session's `?directory=`, its MCP wiring, its agents). A problem is a
        `SwitchboardError`: the attempt fails."""
        if (task.isolation or runner.isolation) != Isolation.WORKTREE:
            return runner, None
        workspace = await anyio.to_thread.run_sync(partial(
            self.workspaces.create, task.id, task.attempts, task.prompt, runner.workdir,
            base=task.base_ref, deliver=task.deliver or Delivery.BRANCH))
        return replace(runner, workdir=workspace.directory), workspace

    async def resume(self, task: Task, runner: Runner) -> tuple[Runner, Workspace | None]:
        """After a restart: the directory the attempt in flight works in, and its worktree if
        it is still to be settled here."""
        workspace = await anyio.to_thread.run_sync(self.workspaces.get, task.id, task.attempts)
        if workspace is None:
            return runner, None
        here = workspace.status == "active" and workspace.host == self.workspaces.host
        return replace(runner, workdir=workspace.directory), (workspace if here else None)

    async def settle(self, workspace: Workspace | None, *, ok: bool, runner: str, prompt: str,
                     client: OpenCodeClient | None = None) -> Workspace | None:
        """Collect and deliver (or discard) the attempt's work and remove its worktree, after
        OpenCode lets go of the directory. A git failure leaves the worktree for `sweep`."""
        if workspace is None:
            return None
        if client is not None:
            from switchboard.opencode.errors import OpenCodeError

            try:  # instances are never evicted: the worktree's would outlive it
                await client.dispose_instance(workspace.directory)
            except OpenCodeError as exc:
                log.warning("could not dispose OpenCode's instance of %s: %s", workspace.directory, exc)
        try:
            settled = await anyio.to_thread.run_sync(partial(
                self.workspaces.settle, workspace, ok=ok, runner=runner, prompt=prompt))
        except SwitchboardError as exc:
            log.warning("worktree %s of task %s left for the next sweep: %s", workspace.path, workspace.task_id, exc)
            return None
        log.info("task %s worktree: %s%s", workspace.task_id, settled.outcome,
                 f" ({settled.note})" if settled.note else "")
        return settled

    async def sweep(self) -> None:
        try:
            await anyio.to_thread.run_sync(self.workspaces.sweep)
        except SwitchboardError as exc:
            log.warning("sweep of orphaned worktrees failed: %s", exc)
