"""The coordinator's status: a snapshot from the database, drawn as rich tables."""

from __future__ import annotations

import time
from typing import Any

from switchboard.config import Settings
from switchboard.coordinator import daemon
from switchboard.coordinator.tasks import Tasks
from switchboard.output import preview
from switchboard.runners.service import Runners
from switchboard.timefmt import age


def snapshot(settings: Settings, tasks: Tasks | None = None, runners: Runners | None = None) -> dict[str, Any]:
    tasks = tasks or Tasks.open(settings)
    runners = runners or Runners(tasks.store, settings)
    running = tasks.list(status="running", limit=1000)
    busy: dict[str, int] = {}
    for task in running:
        busy[task.assigned_runner or "?"] = busy.get(task.assigned_runner or "?", 0) + 1
    return {
        "coordinator": daemon.read_state(settings),
        "tasks": tasks.counts(),
        "runners": [
            {
                "name": r.name,
                "role": r.role,
                "model": r.model,
                "busy": busy.get(r.name, 0),
                "max_parallel": r.max_parallel,
                "runs": n,
                "last_status": last.status if last else None,
            }
            for r, n, last in runners.list()
        ],
        "running": [
            {
                "id": t.id,
                "runner": t.assigned_runner,
                "session_id": t.session_id,
                "server": t.server_url,
                "started_at": t.started_at,
                "attempt": t.attempts,
                "prompt": t.prompt,
            }
            for t in running
        ],
    }


def render(snap: dict[str, Any]) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    now = time.time()
    state = snap["coordinator"]
    if state:
        head = Text.assemble(
            ("coordinator ", "bold"),
            (
                f"running (pid {state['pid']}, up {age(state['started_at'], now)}, concurrency {state['concurrency']})",
                "green",
            ),
        )
    else:
        head = Text.assemble(("coordinator ", "bold"), ("not running", "yellow"))
    counts = snap["tasks"]
    order = ("queued", "running", "done", "dead", "cancelled")
    summary = Text("tasks: " + "   ".join(f"{s} {counts.get(s, 0)}" for s in order))

    runners = Table("runner", "role", "model", "busy", "runs", "last", title="runners", title_justify="left")
    for r in snap["runners"]:
        runners.add_row(
            r["name"],
            r["role"],
            r["model"] or "-",
            f"{r['busy']}/{r['max_parallel']}",
            str(r["runs"]),
            r["last_status"] or "-",
        )
    flights = Table("task", "runner", "attempt", "for", "session", "prompt", title="in flight", title_justify="left")
    for t in snap["running"]:
        flights.add_row(
            str(t["id"]),
            t["runner"] or "-",
            str(t["attempt"]),
            age(t["started_at"], now),
            t["session_id"] or "(starting)",
            preview(t["prompt"], 50),
        )
    return Group(head, summary, runners, flights)
