"""The workspace of one task attempt, as its `Attempt` uses it: the directory its session
works in (`enter`, before the session), and the end of its worktree (`leave`, once the
run is recorded). Git and the database run off the event loop."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from switchboard.errors import SwitchboardError
from switchboard.offloop import off_loop
from switchboard.workspaces.models import Delivery, ForRunner, ForTask, Isolation, Workspace
from switchboard.workspaces.service import Workspaces

if TYPE_CHECKING:
    from switchboard.opencode.client import OpenCodeClient

log = logging.getLogger("switchboard.workspaces")


class TaskWorkspace:
    def __init__(self, workspaces: Workspaces, task: ForTask, runner: ForRunner) -> None:
        self.workspaces = workspaces
        self.task = task
        self.runner = runner
        self.workspace: Workspace | None = None

    @classmethod
    def wanted(cls, workspaces: Workspaces, task: ForTask, runner: ForRunner) -> TaskWorkspace | None:
        """The attempt's workspace if the task (or else its runner) asks for isolation."""
        return cls(workspaces, task, runner) if (task.isolation or runner.isolation) == Isolation.WORKTREE else None

    async def enter(self, *, resumed: bool) -> str | None:
        """The directory the attempt's session works in: a fresh worktree (the same one for
        the same attempt after a restart). A resumed attempt whose worktree is not on this
        host goes on where it is (None). A problem making one is a `SwitchboardError`."""
        task = self.task
        if resumed:
            self.workspace = await off_loop(self.workspaces.get, task.id, task.attempts)
            if self.workspace is None:
                return None
            if self.workspace.status != "active" or self.workspace.host != self.workspaces.host:
                directory, self.workspace = self.workspace.directory, None
                return directory
            return self.workspace.directory
        self.workspace = await off_loop(
            self.workspaces.create,
            task.id,
            task.attempts,
            task.prompt,
            self.runner.workdir,
            base=task.base_ref,
            deliver=task.deliver or Delivery.BRANCH,
        )
        return self.workspace.directory

    async def leave(self, *, ok: bool, client: OpenCodeClient) -> Workspace | None:
        """Collect and deliver (or discard) the attempt's work and remove its worktree, once
        OpenCode has let go of the directory. A git failure leaves it for the next `sweep`."""
        workspace, self.workspace = self.workspace, None
        if workspace is None:
            return None
        from switchboard.opencode.errors import OpenCodeError

        try:  # instances are never evicted: the worktree's would outlive it
            await client.dispose_instance(workspace.directory)
        except OpenCodeError as exc:
            log.warning("could not dispose OpenCode's instance of %s: %s", workspace.directory, exc)
        try:
            settled = await off_loop(
                self.workspaces.settle, workspace, ok=ok, runner=self.runner.name, prompt=self.task.prompt
            )
        except SwitchboardError as exc:
            log.warning("worktree %s of task %s left for the next sweep: %s", workspace.path, workspace.task_id, exc)
            return None
        log.info(
            "task %s worktree: %s%s", workspace.task_id, settled.outcome, f" ({settled.note})" if settled.note else ""
        )
        return settled


async def sweep(workspaces: Workspaces) -> None:
    """Settle the worktrees a killed coordinator left on this host (see `Workspaces.sweep`)."""
    try:
        await off_loop(workspaces.sweep)
    except SwitchboardError as exc:
        log.warning("sweep of orphaned worktrees failed: %s", exc)
