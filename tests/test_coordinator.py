"""The coordinator with real `opencode serve` processes and the scripted model:
limits, dependencies, retries, crashes, dead servers, graceful stops, mail and cron."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import anyio
import pytest

from switchboard.config import Settings
from switchboard.coordinator.loop import Coordinator
from switchboard.coordinator.schedules import Schedules
from switchboard.coordinator.tasks import Tasks
from switchboard.mailbox import Mailbox
from switchboard.modelserver import ScriptedModel
from switchboard.opencode.server import Endpoint, ManagedServer
from switchboard.runners import Runners

SCRIPT = [
    {"name": "slow", "match": r"^slow", "delay": 2.5, "reply": "slow answer"},
    {"name": "glacial", "match": r"^glacial", "delay": 120, "reply": "too late"},
]


@pytest.fixture
def team(settings: Settings, workdir: Path) -> Tasks:
    runners = Runners.open(settings)
    runners.create("reviewer", "reviews", workdir=workdir, role="review")
    runners.create("tester", "tests", workdir=workdir, role="tests", max_parallel=2)
    runners.create("writer", "docs", workdir=workdir, role="docs")
    return Tasks(runners.store, settings)


def prompts_seen(model: ScriptedModel, prompts: set[str]) -> Counter[str]:
    """How many times the model was asked each prompt (a prompt asked twice ran twice)."""
    seen: Counter[str] = Counter()
    for request in list(model.requests):
        users = [m for m in request["messages"] if m.get("role") == "user"]
        text = str(users[-1].get("content")) if users else ""
        seen.update(p for p in prompts if p in text and len(users) and request["messages"][-1] is users[-1])
    return seen


def run_until(coordinator: Coordinator, done, timeout: float = 60, every=None) -> None:  # noqa: ANN001
    """Run the loop in-process until `done()` holds, then stop it gracefully."""

    async def main() -> None:
        stop = anyio.Event()

        async def watch() -> None:
            deadline = time.monotonic() + timeout
            while not done() and time.monotonic() < deadline:
                if every is not None:
                    every()
                await anyio.sleep(0.1)
            stop.set()

        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            await coordinator.run(stop, grace=5)

    anyio.run(main)


def all_finished(tasks: Tasks, ids: list[int]):  # noqa: ANN201
    return lambda: all(tasks.get(i).status.finished for i in ids)


def test_parallel_work_within_global_and_runner_limits(settings: Settings, team: Tasks, attach: str) -> None:
    ids = [team.add(f"slow review {i}", role="review").id for i in range(2)]
    ids += [team.add(f"slow tests {i}", role="tests").id for i in range(3)]
    ids += [team.add(f"slow docs {i}", role="docs").id for i in range(2)]
    peak: Counter[str] = Counter()
    peak_total = [0]

    def sample() -> None:
        running = team.list(status="running")
        peak_total[0] = max(peak_total[0], len(running))
        for runner, n in Counter(t.assigned_runner for t in running).items():
            peak[runner] = max(peak[runner], n)

    coordinator = Coordinator(settings, concurrency=3, attach=[attach], remember=False)
    started = time.monotonic()
    run_until(coordinator, all_finished(team, ids), timeout=90, every=sample)
    elapsed = time.monotonic() - started
    assert [team.get(i).status.value for i in ids] == ["done"] * 7
    assert peak_total[0] == 3  # the global limit was reached and held
    assert peak["reviewer"] == 1 and peak["writer"] == 1 and peak["tester"] <= 2
    busy = sum(
        r.duration_seconds for name in ("reviewer", "tester", "writer") for r in Runners.open(settings).runs(name)
    )
    assert busy > 1.5 * elapsed  # the runs overlapped: parallel, not one after another
    assert team.get(ids[0]).result == "slow answer"


def test_sessions_go_once_their_tasks_settle(
    settings: Settings, team: Tasks, attach: str, opencode_server: Endpoint, workdir: Path
) -> None:
    """The coordinator deletes a session after its task has settled, not before: the
    runner is free for its next task while the delete runs in the background."""
    ids = [team.add(f"quick review {i}", role="review").id for i in range(3)]
    runners = Runners.open(settings)

    def settled_and_gone() -> bool:
        runs = runners.runs("reviewer")
        return all_finished(team, ids)() and len(runs) == 3 and all(r.session_deleted_at for r in runs)

    run_until(Coordinator(settings, attach=[attach], remember=False), settled_and_gone, timeout=60)
    runs = {r.task_id: r for r in runners.runs("reviewer")}
    assert [team.get(i).status.value for i in ids] == ["done"] * 3
    for task_id in ids:
        run = runs[task_id]
        assert run.session_deleted_at is not None
        assert run.session_deleted_at >= team.get(task_id).finished_at
    with opencode_server.sync_client(directory=workdir) as client:
        assert not {r.session_id for r in runs.values()} & {s.id for s in client.list_sessions()}


def test_dependencies_order_the_work_and_reports_come_back(settings: Settings, team: Tasks, attach: str) -> None:
    first = team.add("slow build", runner="tester").id
    second = team.add("slow test", runner="tester", after=[first]).id
    third = team.add("slow document", runner="writer", after=[second]).id
    run_until(Coordinator(settings, attach=[attach], remember=False), all_finished(team, [third]), timeout=60)
    a, b, c = (team.get(i) for i in (first, second, third))
    assert [t.status.value for t in (a, b, c)] == ["done"] * 3
    assert a.finished_at <= b.started_at and b.finished_at <= c.started_at
    reports = Mailbox.open(settings).check("coordinator", type="status_report")
    assert len(reports) == 3 and all("completed (success" in r.payload for r in reports)


def test_timeouts_abort_retry_then_dead(
    settings: Settings, team: Tasks, attach: str, opencode_server: Endpoint, workdir: Path
) -> None:
    task_id = team.add("glacial job", runner="reviewer", timeout=1.5, max_attempts=2).id
    after = team.add("never starts", runner="writer", after=[task_id]).id
    run_until(Coordinator(settings, attach=[attach], remember=False), all_finished(team, [task_id]), timeout=60)
    task = team.get(task_id)
    assert (task.status.value, task.attempts) == ("dead", 2)
    assert "timed out" in task.error
    assert team.get(after).status.value == "dead"
    runs = Runners.open(settings).runs("reviewer")
    assert [r.status for r in runs] == ["failed", "failed"]
    with opencode_server.sync_client(directory=workdir) as client:
        busy = client.status()
    assert not {r.session_id for r in runs} & set(busy)  # both sessions were aborted


def test_outcome_is_remembered_in_the_runner_namespace(settings: Settings, team: Tasks, attach: str) -> None:
    from switchboard.memory import Memory

    task_id = team.add("slow: summarise the auth module", runner="reviewer").id
    run_until(Coordinator(settings, attach=[attach]), all_finished(team, [task_id]), timeout=90)
    hits = Memory.open(settings).recall("summarise the auth module", namespace="reviewer", mode="keyword")
    assert hits.hits and f"Task #{task_id}" in hits.hits[0].memory.content


def test_mail_and_cron_become_tasks(settings: Settings, team: Tasks, attach: str) -> None:
    mailbox = Mailbox.open(settings)
    mailbox.send("coordinator", "task_dispatch", "slow review from mail", sender="alice")
    mailbox.send(
        "coordinator",
        "task_dispatch",
        '{"prompt": "slow docs from mail", "runner": "writer", "priority": "high"}',
        sender="alice",
    )
    bad = mailbox.send("coordinator", "task_dispatch", '{"prompt": "x", "runner": "ghost"}', sender="bob")[0]
    Schedules(team).add("* * * * *", "slow cron check", name="minutely", runner="tester")
    with team.store.transaction(write=True) as tx:
        tx.execute("tasks.schedule_status", {"name": "minutely", "status": "active", "next_run_at": time.time()})
    coordinator = Coordinator(settings, attach=[attach], remember=False)
    run_until(coordinator, lambda: len(team.list(status="done")) == 3, timeout=60)
    done = {t.prompt: t for t in team.list(status="done")}
    assert set(done) == {"slow review from mail", "slow docs from mail", "slow cron check"}
    assert done["slow docs from mail"].assigned_runner == "writer"
    assert done["slow docs from mail"].priority.label == "high"
    (refusal,) = mailbox.check("bob")
    assert refusal.reply_to == bad.id and "no runner named 'ghost'" in refusal.payload


def _start_coordinator(home: Path, attach: list[str], password: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "SWITCHBOARD_HOME": str(home), "OPENCODE_SERVER_PASSWORD": password}
    args = [
        sys.executable,
        "-m",
        "switchboard",
        "coordinator",
        "start",
        "--foreground",
        "--no-memory",
        "--lease",
        "5",
        *(f"--attach={url}" for url in attach),
        *extra,
    ]
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(condition, timeout: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_kill_9_and_restart_loses_nothing_and_runs_nothing_twice(
    settings: Settings, team: Tasks, attach: str, opencode_server: Endpoint, model: ScriptedModel
) -> None:
    prompts = {f"slow crash-safe job {i}" for i in range(4)}
    ids = [team.add(p, role="tests").id for p in sorted(prompts)]
    first = _start_coordinator(settings.home, [attach], opencode_server.password or "", "--concurrency=2")
    try:
        _wait_for(
            lambda: len([t for t in team.list(status="running") if t.session_id]) == 2, 30, "two sessions in flight"
        )
        in_flight = {t.id: t.session_id for t in team.list(status="running")}
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        first.kill()
    second = _start_coordinator(settings.home, [attach], opencode_server.password or "", "--concurrency=2")
    try:
        _wait_for(all_finished(team, ids), 60, "all tasks to finish after the restart")
    finally:
        second.terminate()
        second.wait(timeout=30)
    tasks = [team.get(i) for i in ids]
    assert [t.status.value for t in tasks] == ["done"] * 4
    assert all(t.attempts == 1 for t in tasks)  # no task was retried...
    for task_id, session_id in in_flight.items():
        assert team.get(task_id).session_id == session_id  # ...the sessions alive were followed again
    assert prompts_seen(model, prompts) == Counter({p: 1 for p in prompts})  # and nothing ran twice


def test_a_server_that_dies_mid_task_has_its_tasks_finish_elsewhere(
    settings: Settings, team: Tasks, attach: str, opencode_bin: str, opencode_env: dict[str, str], tmp_path: Path
) -> None:
    other = ManagedServer(Settings.load(tmp_path / "second-server-home"), binary=opencode_bin, env=opencode_env)
    info, _ = other.start()
    assert info.password
    try:
        ids = [team.add(f"slow job {i}", role="tests").id for i in range(4)]
        coordinator = Coordinator(settings, attach=[attach], remember=False, concurrency=4)
        coordinator.pool.add(info.endpoint)  # the second server has its own password
        killed: list[bool] = []

        def kill_second_when_busy() -> None:
            if not killed and any(t.server_url == info.url and t.session_id for t in team.list(status="running")):
                os.kill(info.pid, signal.SIGKILL)
                killed.append(True)

        async def main() -> None:
            async with anyio.create_task_group() as group:
                stop = anyio.Event()

                async def watch() -> None:
                    deadline = time.monotonic() + 90
                    while not all_finished(team, ids)() and time.monotonic() < deadline:
                        kill_second_when_busy()
                        await anyio.sleep(0.05)
                    stop.set()

                group.start_soon(watch)
                await coordinator.run(stop, grace=5)
                group.cancel_scope.cancel()

        anyio.run(main)
    finally:
        other.stop()
    assert killed, "no task ever ran on the second server"
    tasks = [team.get(i) for i in ids]
    assert [t.status.value for t in tasks] == ["done"] * 4
    moved = [t for t in tasks if t.attempts == 2]
    assert moved and all(t.server_url == attach for t in moved)
    assert all(
        "server down" in r.error or "could not start" in r.error
        for r in Runners.open(settings).runs("tester")
        if r.status == "failed"
    )


def test_sigterm_finishes_work_in_flight_and_leaves_the_rest_queued(
    settings: Settings, team: Tasks, attach: str, opencode_server: Endpoint
) -> None:
    ids = [team.add(f"slow graceful {i}", runner="reviewer").id for i in range(3)]
    process = _start_coordinator(settings.home, [attach], opencode_server.password or "", "--grace=20")
    try:
        _wait_for(lambda: any(t.session_id for t in team.list(status="running")), 30, "a task in flight")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
    statuses = [team.get(i).status.value for i in ids]
    assert statuses == ["done", "queued", "queued"]


def test_pulse_for_cron_users(cli, settings: Settings, team: Tasks, attach: str) -> None:  # noqa: ANN001
    task_id = team.add("slow pulse job", runner="writer").id
    assert cli.json("coordinator", "pulse", "--attach", attach)["started"] == 1
    assert team.get(task_id).status.value == "running"
    deadline = time.monotonic() + 30
    while team.get(task_id).status.value == "running" and time.monotonic() < deadline:
        time.sleep(1)
        cli.json("coordinator", "pulse", "--attach", attach)
    assert team.get(task_id).status.value == "done"
