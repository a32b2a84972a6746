"""`Schedules`: cron-style recurring tasks that the coordinator fires."""

from __future__ import annotations

import builtins
import time
from typing import Any

from switchboard.config import Settings
from switchboard.coordinator.models import Schedule, Task
from switchboard import validate
from switchboard.coordinator.tasks import Tasks, check_run_options
from switchboard.errors import Conflict, InvalidInput, NotFound
from switchboard.names import check_name


CRON_FORMAT = (
    "five fields, minute hour day-of-month month day-of-week (UTC), as in crontab; "
    "or six with seconds first; or @hourly, @daily, @weekly, @monthly, @yearly"
)


def next_fire(expression: str, after: float) -> float:
    """The first time after `after` that a cron expression matches (UTC). Five fields as in
    crontab; a sixth is read as seconds *first* (`30 */5 * * * *`), as most tools do."""
    from croniter import CroniterBadCronError, croniter

    fields = expression.split()
    if not (len(fields) in (5, 6) or (len(fields) == 1 and expression.strip().startswith("@"))):
        raise InvalidInput(f"invalid cron schedule {expression!r}: use {CRON_FORMAT}")
    try:
        return float(croniter(expression, after, second_at_beginning=len(fields) == 6).get_next(float))
    except (CroniterBadCronError, ValueError, KeyError, OverflowError) as exc:
        raise InvalidInput(f"invalid cron schedule {expression!r}: {exc}") from None


class Schedules:
    def __init__(self, tasks: Tasks) -> None:
        self.tasks = tasks
        self.store = tasks.store

    @classmethod
    def open(cls, settings: Settings | None = None) -> Schedules:
        return cls(Tasks.open(settings))

    def add(
        self,
        schedule: str,
        prompt: str,
        *,
        name: str | None = None,
        runner: str | None = None,
        role: str | None = None,
        catch_up: str = "once",
        timeout: float | None = None,
        model: str | None = None,
        workdir: str | None = None,
        notify: str | None = None,
        paused: bool = False,
    ) -> Schedule:
        """A schedule. `timeout`, `model` and `workdir` go to each firing's task (None: the
        runner's); `notify` names an agent mailed each run's report; `paused` adds it paused."""
        if catch_up not in ("once", "skip"):
            raise InvalidInput("catch-up must be 'once' or 'skip'")
        if not prompt.strip():
            raise InvalidInput("task prompt is empty")
        if timeout is not None:
            validate.seconds(timeout, "timeout", positive=True)
        model, workdir, notify = check_run_options(model, workdir, notify)
        now = time.time()
        first = next_fire(schedule, now)
        with self.store.transaction(write=True) as tx:
            if name is None:
                name = f"job-{len(tx.all('tasks.schedules')) + 1}"
            check_name(name, "schedule name")
            prompt = self.tasks.stored_prompt(tx, prompt, runner, role)
            if tx.one("tasks.schedule_get", {"name": name}) is not None:
                raise Conflict(f"a schedule named {name!r} exists already")
            row = tx.row(
                "tasks.schedule_insert",
                {
                    "name": name,
                    "schedule": schedule,
                    "prompt": prompt,
                    "runner": runner,
                    "role": role,
                    "catch_up": catch_up,
                    "next_run_at": first,
                    "now": now,
                    "status": "paused" if paused else "active",
                    "timeout_seconds": timeout,
                    "model": model,
                    "workdir": workdir,
                    "notify": notify,
                },
            )
        return Schedule.from_row(row)

    def list(self) -> list[Schedule]:
        with self.store.transaction() as tx:
            return [Schedule.from_row(r) for r in tx.all("tasks.schedules")]

    def remove(self, name: str) -> Schedule:
        with self.store.transaction(write=True) as tx:
            return Schedule.from_row(self._required(tx.one("tasks.schedule_delete", {"name": name}), name))

    def pause(self, name: str) -> Schedule:
        return self._set_status(name, "paused", None)

    def resume(self, name: str) -> Schedule:
        # Resuming does not fire the runs missed while paused.
        return self._set_status(name, "active", next_fire(self.get(name).schedule, time.time()))

    def get(self, name: str) -> Schedule:
        with self.store.transaction() as tx:
            return Schedule.from_row(self._required(tx.one("tasks.schedule_get", {"name": name}), name))

    def run(self, name: str) -> Task:
        """Fire a schedule now, outside its timetable."""
        schedule = self.get(name)
        return self.tasks.add(
            schedule.prompt,
            runner=schedule.runner,
            role=schedule.role,
            source="cron",
            source_ref=f"{name}@manual-{time.time():.6f}",
            timeout=schedule.timeout_seconds,
            model=schedule.model,
            workdir=schedule.workdir,
            notify=schedule.notify,
        )

    def logs(self, name: str, limit: int = 20) -> builtins.list[Task]:
        """The tasks the schedule queued, newest first: its run history."""
        self.get(name)
        with self.store.transaction() as tx:
            rows = tx.all("tasks.schedule_tasks", {"prefix": _like_prefix(name), "limit": limit})
        return [self.tasks.get(row["id"]) for row in rows]

    def status(self, name: str, limit: int = 5) -> tuple[Schedule, builtins.list[Task], int]:
        """The schedule, its last `limit` runs, and how many of all its runs died."""
        schedule, runs = self.get(name), self.logs(name, limit)
        with self.store.transaction() as tx:
            failures = tx.one("tasks.schedule_failures", {"prefix": _like_prefix(name)})
        return schedule, runs, int(failures["n"]) if failures else 0

    def fire_due(self) -> builtins.list[Task]:
        """Queue a task for every schedule that is due. A schedule missed several times
        while no coordinator ran fires once (catch_up 'once') or not at all ('skip').
        Safe with several coordinators: each firing is claimed by one of them."""
        now = time.time()
        fired: list[Task] = []
        with self.store.transaction() as tx:
            due = [Schedule.from_row(r) for r in tx.all("tasks.schedules_due", {"now": now})]
        for schedule in due:
            following = next_fire(schedule.schedule, now)
            # The run after the one due has passed too: the schedule was missed while
            # no coordinator ran.
            missed = next_fire(schedule.schedule, schedule.next_run_at) <= now
            with self.store.transaction(write=True) as tx:
                claimed = tx.one(
                    "tasks.schedule_fired",
                    {
                        "name": schedule.name,
                        "previous": schedule.next_run_at,
                        "next_run_at": following,
                        "now": now,
                    },
                )
                if claimed is None or (missed and schedule.catch_up == "skip"):
                    continue
                # In the same transaction as the claim: a firing is never lost or doubled.
                fired.append(
                    self.tasks.insert(
                        tx,
                        schedule.prompt,
                        runner=schedule.runner,
                        role=schedule.role,
                        max_attempts=self.tasks.settings.task_max_attempts,
                        source="cron",
                        source_ref=f"{schedule.name}@{schedule.next_run_at:.0f}",
                        timeout=schedule.timeout_seconds,
                        model=schedule.model,
                        workdir=schedule.workdir,
                        notify=schedule.notify,
                    )
                )
        return fired

    def _set_status(self, name: str, status: str, next_run_at: float | None) -> Schedule:
        with self.store.transaction(write=True) as tx:
            row = tx.one("tasks.schedule_status", {"name": name, "status": status, "next_run_at": next_run_at})
            return Schedule.from_row(self._required(row, name))

    @staticmethod
    def _required(row: dict[str, Any] | None, name: str) -> dict[str, Any]:
        if row is None:
            raise NotFound(f"no schedule named {name!r}")
        return row


def _like_prefix(name: str) -> str:
    """`NAME@%`: the source refs of a schedule's tasks (names hold no LIKE wildcards but `_`)."""
    return name.replace("_", "\\_") + "@%"
