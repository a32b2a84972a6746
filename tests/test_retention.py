"""`db prune`: settled work's run logs, outcome memories and handled mail go after the
horizon; work in flight, unread mail and other memories stay."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.mailbox import Mailbox
from switchboard.memory import Memory
from switchboard.runners import Runners
from switchboard.runners.attempt import append_log
from switchboard.coordinator.loop import Coordinator
from tests.conftest import Cli
from tests.test_coordinator import run_until

OWNER = "test-coordinator"


@pytest.fixture
def history(settings: Settings, tmp_path: Path) -> dict[str, Path]:
    """Two tasks run by `worker`: one done (its log, report and outcome memory), one still
    running; a handled and an unread message; a memory of the runner's own."""
    runners = Runners.open(settings)
    worker = runners.create("worker", workdir=tmp_path)
    tasks = Tasks(runners.store, settings)
    mailbox, memory = Mailbox(runners.store, settings), Memory(runners.store, settings)
    done, running = tasks.add("first job", runner="worker").id, tasks.add("second job", runner="worker").id
    logs = {}
    for task_id in (done, running):
        tasks.claim(OWNER, capacity=1, lease=60)
        run = runners.start_run(worker, f"job {task_id}", task_id=task_id)
        append_log(Path(run.log_path), "started")
        logs[task_id] = Path(run.log_path)
        if task_id == done:
            runners.finish(run, error="it failed", status="failed")
            tasks.complete(task_id, OWNER, "result")
            memory.store(f"Task #{task_id} (done): first job", namespace="worker", source=f"task-{task_id}")
    for message in mailbox.check("coordinator"):
        mailbox.read(message.id)
    mailbox.send("worker", "request", "still unread")
    memory.store("the worker's own finding", namespace="worker")
    return {"done log": logs[done], "running log": logs[running]}


@pytest.mark.parametrize(
    ("horizon", "removed"),
    [
        ("1d", {"run_logs": 0, "memories": 0, "mail_total": 0}),
        ("0", {"run_logs": 1, "memories": 1, "mail_total": 1}),
    ],
)
def test_prune_removes_settled_work_past_the_horizon_after_a_dry_run(
    cli: Cli, settings: Settings, history: dict[str, Path], horizon: str, removed: dict[str, int]
) -> None:
    dry = cli.json("db", "prune", "--older-than", horizon, "--dry-run")
    assert {k: dry[k] for k in removed} == removed and dry["deleted"] is False
    assert history["done log"].exists()  # a dry run removes nothing
    report = cli.json("db", "prune", "--older-than", horizon)
    assert {k: report[k] for k in removed} == removed and report["deleted"] is True
    assert history["done log"].exists() == (removed["run_logs"] == 0)
    assert history["running log"].exists()
    left = {m.content for m in Memory.open(settings).list(namespace="worker")}
    assert "the worker's own finding" in left and ("Task #1 (done): first job" in left) == (not removed["memories"])
    assert [m.payload for m in Mailbox.open(settings).check("worker")] == ["still unread"]
    again = cli.json("db", "prune", "--older-than", horizon, "--dry-run")
    assert (again["run_logs"], again["memories"], again["mail_total"]) == (0, 0, 0)


@pytest.mark.parametrize("horizon", ["nan", "inf", "-1d", "soon", "30x", "99999d"])
def test_prune_refuses_a_bad_horizon(cli: Cli, horizon: str) -> None:
    result = cli("db", "prune", "--older-than", horizon, code=2)
    assert result.stderr.startswith("error: --older-than must be")


@pytest.mark.parametrize(("auto_prune", "pruned"), [(True, True), (False, False)])
def test_the_coordinator_applies_the_horizon_by_itself(
    settings: Settings, history: dict[str, Path], attach: str, auto_prune: bool, pruned: bool
) -> None:
    aged = settings._replace(retention_days=0.0, auto_prune=auto_prune)
    run_until(Coordinator(aged, attach=[attach], remember=False), lambda: not history["done log"].exists(), timeout=5)
    assert history["done log"].exists() != pruned
    assert history["running log"].exists()
    assert [m.payload for m in Mailbox.open(settings).check("worker")] == ["still unread"]
