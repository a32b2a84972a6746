"""`Tasks`: the task queue's Python API, for users and for the coordinator loop."""

from __future__ import annotations

import builtins
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from switchboard.config import Settings
from switchboard.coordinator.models import Task, TaskStatus
from switchboard.errors import Conflict, InvalidInput, NotFound
from switchboard.mailbox.models import Priority
from switchboard import validate
from switchboard.names import check_name, check_text
from switchboard.opencode.files import Attachment
from switchboard.redaction import redact
from switchboard.store import Store, Tx, open_store

CHANNEL = "tasks"  # notified whenever a task finishes, is added or is requeued
MAX_BACKOFF_SECONDS = 300.0


@dataclass(frozen=True)
class Assignment:
    """A task the coordinator has just started, and the runner it goes to."""

    task: Task
    runner: str
    model: str | None
    timeout: float


class Tasks:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    @classmethod
    def open(cls, settings: Settings | None = None) -> Tasks:
        settings = settings or Settings.load()
        return cls(open_store(settings), settings)

    # -- for users ---------------------------------------------------------------

    def add(
        self,
        prompt: str,
        *,
        runner: str | None = None,
        role: str | None = None,
        after: Sequence[int] = (),
        priority: str | Priority = Priority.NORMAL,
        convoy: str | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        max_steps: int | None = None,
        source: str = "cli",
        source_ref: str | None = None,
        guard: Callable[[Tx], None] | None = None,
        isolation: str | None = None,
        base: str | None = None,
        deliver: str | None = None,
        files: Sequence[Attachment] = (),
        model: str | None = None,
        workdir: str | None = None,
        notify: str | None = None,
    ) -> Task:
        """Queue a task. With `source_ref`, adding the same source twice returns the first task.
        `guard(tx)` runs first in the task's transaction: what it writes is kept only with the task.
        `isolation` (else the runner's), `base` and `deliver` shape its worktree (`switchboard.workspaces`).
        `files` (read by `read_attachments`) go with the prompt of every attempt."""
        workspace = self._workspace_options(runner, role, isolation, base, deliver)
        with self.store.transaction(write=True) as tx:
            if guard is not None:
                guard(tx)
            return self.add_in(
                tx,
                prompt,
                runner=runner,
                role=role,
                after=after,
                priority=priority,
                convoy=convoy,
                max_attempts=max_attempts,
                timeout=timeout,
                max_steps=max_steps,
                source=source,
                source_ref=source_ref,
                workspace=workspace,
                files=files,
                model=model,
                workdir=workdir,
                notify=notify,
            )

    def add_in(
        self,
        tx: Tx,
        prompt: str,
        *,
        runner: str | None = None,
        role: str | None = None,
        after: Sequence[int] = (),
        priority: str | Priority = Priority.NORMAL,
        convoy: str | None = None,
        max_attempts: int | None = None,
        timeout: float | None = None,
        max_steps: int | None = None,
        source: str = "cli",
        source_ref: str | None = None,
        workspace: tuple[str | None, ...] = (None, None, None),
        files: Sequence[Attachment] = (),
        model: str | None = None,
        workdir: str | None = None,
        notify: str | None = None,
    ) -> Task:
        """`add` inside the caller's transaction (several tasks at once, all or none)."""
        check_text(prompt, "task prompt", self.settings.max_payload_bytes)
        if runner and role:
            raise InvalidInput("give a runner or a role, not both")
        for value, kind in ((runner, "runner name"), (role, "role"), (convoy, "convoy name")):
            if value is not None:
                check_name(value, kind)
        attempts = validate.integer(
            self.settings.task_max_attempts if max_attempts is None else max_attempts, "max-attempts"
        )
        if timeout is not None:
            validate.seconds(timeout, "timeout", positive=True)
        if max_steps is not None:
            validate.integer(max_steps, "max-steps")
        for dep in after:
            validate.integer(dep, "after")
        model, workdir, notify = check_run_options(model, workdir, notify)
        return self.insert(
            tx,
            prompt,
            runner=runner,
            role=role,
            after=after,
            priority=Priority.parse(priority),
            convoy=convoy,
            max_attempts=attempts,
            timeout=timeout,
            max_steps=max_steps,
            source=source,
            source_ref=source_ref,
            workspace=workspace,
            files=files,
            model=model,
            workdir=workdir,
            notify=notify,
        )

    def _workspace_options(
        self, runner: str | None, role: str | None, isolation: str | None, base: str | None, deliver: str | None
    ) -> tuple[str | None, ...]:
        from switchboard.workspaces.options import check_task_options

        if isolation is None and base is None and deliver is None:
            return (None, None, None)
        with self.store.transaction() as tx:
            candidates = [
                r for r in tx.all("workspaces.runners") if runner in (None, r["name"]) and role in (None, r["role"])
            ]
        return check_task_options(candidates, isolation=isolation, base=base, deliver=deliver)

    def insert(
        self,
        tx: Tx,
        prompt: str,
        *,
        runner: str | None,
        role: str | None,
        after: Sequence[int] = (),
        priority: Priority = Priority.NORMAL,
        convoy: str | None = None,
        max_attempts: int,
        timeout: float | None = None,
        max_steps: int | None = None,
        source: str,
        source_ref: str | None,
        workspace: tuple[str | None, ...] = (None, None, None),
        files: Sequence[Attachment] = (),
        model: str | None = None,
        workdir: str | None = None,
        notify: str | None = None,
    ) -> Task:
        """The row itself, for callers that validated the values (`add_in`, schedules firing)."""
        if source_ref is not None:
            existing = tx.one("tasks.by_source", {"source": source, "source_ref": source_ref})
            if existing is not None:
                return self._task(tx, existing)
        prompt = self.stored_prompt(tx, prompt, runner, role)
        for dep in after:
            status = self._get(tx, dep).status
            if status in (TaskStatus.DEAD, TaskStatus.CANCELLED):
                raise Conflict(f"task {dep} is {status.value}: retry it before depending on it")
        row = tx.row(
            "tasks.insert",
            {
                "prompt": prompt,
                "runner": runner,
                "role": role,
                "priority": int(priority),
                "convoy": convoy,
                "max_attempts": max_attempts,
                "timeout_seconds": timeout,
                "max_steps": max_steps,
                "source": source,
                "source_ref": source_ref,
                "now": time.time(),
                "files": json.dumps([f.to_dict() for f in files]) if files else None,
                "model": model,
                "workdir": workdir,
                "notify": notify,
                **dict(zip(("isolation", "base_ref", "deliver"), workspace, strict=True)),
            },
        )
        deps = tuple(sorted(set(after)))
        for dep in deps:
            tx.execute("tasks.add_dep", {"task_id": row["id"], "depends_on": dep})
        tx.notify(CHANNEL)
        return Task.from_row({**row, "session_id": None, "server_url": None}, deps)  # no run yet

    def stored_prompt(self, tx: Tx, prompt: str, runner: str | None, role: str | None) -> str:
        """A task's (or schedule's) prompt as stored, once its runner or role is known to exist:
        redacted, unless it is for a runner that opted out (`runner --no-redact`)."""
        runners = self.check_target(tx, runner, role)
        if runner is None or next(r["redact"] for r in runners if r["name"] == runner):
            return redact(prompt)
        return prompt

    def check_target(self, tx: Tx, runner: str | None, role: str | None) -> list[dict[str, Any]]:
        """Refuse a task (or schedule) for a runner or role that does not exist; the runners."""
        runners = tx.all("tasks.runners")
        if runner is not None and runner not in {r["name"] for r in runners}:
            raise NotFound(f"no runner named {runner!r}: create it with `switchboard runner create`")
        if role is not None and role not in {r["role"] for r in runners}:
            raise NotFound(f"no runner has the role {role!r}")
        return runners

    def get(self, task_id: int) -> Task:
        with self.store.transaction() as tx:
            return self._get(tx, task_id)

    def list(self, status: str | None = None, convoy: str | None = None, limit: int = 100) -> list[Task]:
        if status is not None and status not in TaskStatus.__members__.values():
            raise InvalidInput(f"unknown task status {status!r}: use {', '.join(s.value for s in TaskStatus)}")
        with self.store.transaction() as tx:
            rows = tx.all("tasks.list", {"status": status, "convoy": convoy, "limit": limit})
            return [self._task(tx, r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self.store.transaction() as tx:
            return {r["status"]: r["n"] for r in tx.all("tasks.counts")}

    def cancel(self, task_id: int, reason: str = "cancelled by user") -> Task:
        """Cancel a queued or running task (the coordinator aborts its session)."""
        now = time.time()
        with self.store.transaction(write=True) as tx:
            task = self._get(tx, task_id)
            row = tx.one("tasks.cancel", {"id": task_id, "reason": reason, "now": now})
            if row is None:
                raise Conflict(f"task {task_id} is already {task.status.value}")
            self._bury_dependents(tx, task_id, now)
            tx.notify(CHANNEL)
            return self._task(tx, row)

    def retry(self, task_id: int) -> Task:
        """Requeue a finished task with fresh attempts, and the tasks that died waiting on it."""
        now = time.time()
        with self.store.transaction(write=True) as tx:
            task = self._get(tx, task_id)
            if not task.status.finished:
                raise Conflict(f"task {task_id} is still {task.status.value}")
            revive = [task_id]
            while revive:
                current = revive.pop()
                revive.extend(r["id"] for r in tx.all("tasks.dead_dependents", {"id": current}))
                tx.execute("tasks.requeue", {"id": current, "now": now})
            tx.notify(CHANNEL)
            return self._get(tx, task_id)

    def wait(
        self, task_ids: Iterable[int] = (), convoy: str | None = None, timeout: float | None = None
    ) -> tuple[builtins.list[Task], bool]:
        """Block until the tasks (or the convoy's) have all finished, or `timeout` passes.

        Returns the tasks and whether they all finished. No polling: finishing a task
        wakes waiters; a slow check every few seconds covers other hosts' coordinators.
        """
        ids = list(task_ids)
        if not ids and convoy is None:
            raise InvalidInput("wait needs task ids or --convoy")
        if timeout is not None:
            validate.seconds(timeout, "timeout")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.store.listen(CHANNEL) as waiter:
            while True:
                tasks = self._wait_set(ids, convoy)
                if all(t.status.finished for t in tasks):
                    return tasks, True
                remaining = 5.0 if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    return tasks, False
                waiter.wait(min(remaining, 5.0))

    def _wait_set(self, ids: builtins.list[int], convoy: str | None) -> builtins.list[Task]:
        with self.store.transaction() as tx:
            tasks = [self._get(tx, i) for i in ids]
            if convoy is not None:
                rows = tx.all("tasks.convoy", {"convoy": convoy})
                if not rows:
                    raise NotFound(f"no tasks in convoy {convoy!r}")
                tasks += [self._task(tx, r) for r in rows]
            return tasks

    # -- for the coordinator -----------------------------------------------------

    def claim(
        self, owner: str, *, capacity: int, lease: float, model_limits: dict[str, int] | None = None
    ) -> builtins.list[Assignment]:
        """Start up to `capacity` ready tasks on idle runners, within each runner's
        parallel limit and each model's limit. Returns what was started."""
        if capacity <= 0:
            return []
        model_limits = model_limits or {}
        now = time.time()
        started: list[Assignment] = []
        with self.store.transaction(write=True) as tx:
            runners = {r["name"]: r for r in tx.all("tasks.runners")}
            busy = Counter({r["runner"]: r["n"] for r in tx.all("tasks.busy_runners")})
            model_busy: Counter[str | None] = Counter()
            for name, n in busy.items():
                if name in runners:
                    model_busy[runners[name]["model"]] += n
            for row in tx.all("tasks.ready", {"now": now, "limit": capacity * 4 + 16}):
                if len(started) >= capacity:
                    break
                if row["runner"] is not None and row["runner"] not in runners:
                    self._bury(tx, row["id"], f"runner {row['runner']!r} does not exist", now)
                    continue
                eligible = [
                    r
                    for r in runners.values()
                    if (row["runner"] is None or r["name"] == row["runner"])
                    and (row["role"] is None or r["role"] == row["role"])
                    and busy[r["name"]] < r["max_parallel"]
                    and model_busy[r["model"]] < model_limits.get(r["model"] or "", 1 << 30)
                ]
                for runner in sorted(eligible, key=lambda r: (busy[r["name"]], r["name"])):
                    tx.execute("tasks.lock_runner", {"name": runner["name"]})
                    # Re-count under the lock: another coordinator may have just assigned.
                    if tx.scalar("tasks.busy_count", {"runner": runner["name"]}) >= runner["max_parallel"]:
                        continue
                    timeout = row["timeout_seconds"] or runner["timeout_seconds"]
                    task_row = tx.one(
                        "tasks.start",
                        {
                            "id": row["id"],
                            "runner": runner["name"],
                            "owner": owner,
                            "lease_until": now + lease,
                            "now": now,
                            "deadline": now + timeout,
                        },
                    )
                    if task_row is None:
                        break  # another coordinator started it
                    busy[runner["name"]] += 1
                    model_busy[runner["model"]] += 1
                    started.append(Assignment(self._task(tx, task_row), runner["name"], runner["model"], timeout))
                    break
        return started

    def set_run(self, task_id: int, owner: str, run_id: int) -> None:
        """Record the run (and so the session) of the task's attempt."""
        with self.store.transaction(write=True) as tx:
            tx.execute("tasks.set_run", {"id": task_id, "owner": owner, "run_id": run_id, "now": time.time()})

    def renew(self, owner: str, lease: float) -> None:
        with self.store.transaction(write=True) as tx:
            tx.execute("tasks.renew", {"owner": owner, "lease_until": time.time() + lease})

    def mine(self, owner: str) -> builtins.list[Task]:
        with self.store.transaction() as tx:
            return [self._task(tx, r) for r in tx.all("tasks.mine", {"owner": owner})]

    def orphaned(self) -> builtins.list[Task]:
        with self.store.transaction() as tx:
            return [self._task(tx, r) for r in tx.all("tasks.orphaned", {"now": time.time()})]

    def adopt(self, task_id: int, owner: str, lease: float) -> Task | None:
        """Take over a running task whose coordinator stopped renewing its lease."""
        now = time.time()
        with self.store.transaction(write=True) as tx:
            row = tx.one("tasks.adopt", {"id": task_id, "owner": owner, "lease_until": now + lease, "now": now})
            return None if row is None else self._task(tx, row)

    def complete(self, task_id: int, owner: str, result: str) -> Task | None:
        """Mark a task done. None if this coordinator no longer holds it."""
        with self.store.transaction(write=True) as tx:
            row = tx.one("tasks.complete", {"id": task_id, "owner": owner, "result": result, "now": time.time()})
            if row is not None:
                tx.notify(CHANNEL)
            return None if row is None else self._task(tx, row)

    def fail(self, task_id: int, owner: str, error: str, retry_in: float | None = None) -> Task | None:
        """Record a failed attempt: requeue after a backoff, or dead when attempts are used up."""
        now = time.time()
        with self.store.transaction(write=True) as tx:
            task = self._get(tx, task_id)
            delay = retry_in if retry_in is not None else min(2.0**task.attempts, MAX_BACKOFF_SECONDS)
            row = tx.one(
                "tasks.fail", {"id": task_id, "owner": owner, "error": error, "available_at": now + delay, "now": now}
            )
            if row is None:
                return None
            if row["status"] == TaskStatus.DEAD:
                self._bury_dependents(tx, task_id, now)
            tx.notify(CHANNEL)
            return self._task(tx, row)

    def release(self, task_id: int, owner: str) -> None:
        """Put a task back in the queue without counting the attempt."""
        with self.store.transaction(write=True) as tx:
            tx.execute("tasks.release", {"id": task_id, "owner": owner, "now": time.time()})
            tx.notify(CHANNEL)

    # -- helpers -----------------------------------------------------------------

    def _bury(self, tx: Tx, task_id: int, error: str, now: float) -> None:
        if tx.one("tasks.bury", {"id": task_id, "error": error, "now": now}) is not None:
            self._bury_dependents(tx, task_id, now)
            tx.notify(CHANNEL)

    def _bury_dependents(self, tx: Tx, task_id: int, now: float) -> None:
        pending = [task_id]
        while pending:
            current = pending.pop()
            pending.extend(r["id"] for r in tx.all("tasks.bury_dependents", {"id": current, "now": now}))

    def _get(self, tx: Tx, task_id: int) -> Task:
        validate.integer(task_id, "task id")
        row = tx.one("tasks.get", {"id": task_id})
        if row is None:
            raise NotFound(f"no task with id {task_id}")
        return self._task(tx, row)

    def _task(self, tx: Tx, row: dict[str, Any]) -> Task:
        deps = tuple(r["depends_on"] for r in tx.all("tasks.deps", {"id": row["id"]}))
        session = tx.one("tasks.run_session", {"id": row["run_id"]}) if row["run_id"] else None
        return Task.from_row({**row, **(session or {"session_id": None, "server_url": None})}, deps)


def check_run_options(model: str | None, workdir: str | None, notify: str | None) -> tuple[str | None, ...]:
    """A task's (or schedule's) own model, workdir and report recipient, checked; the
    workdir made absolute, as the runs use it."""
    from pathlib import Path

    from switchboard.opencode.models import model_ref

    if model is not None:
        model_ref(model)
    if workdir is not None:
        path = Path(workdir).expanduser().resolve()
        if not path.is_dir():
            raise InvalidInput(f"workdir {workdir} is not a directory")
        workdir = str(path)
    if notify is not None:
        check_name(notify, "agent name to notify")
    return model, workdir, notify
