"""The coordinator against what stops, stalls or leaks a long-running process: hostile
events, a `kill -9` (itself, left a zombie; or its managed OpenCode server), a crash
between context and prompt."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from switchboard.config import Settings
from switchboard.coordinator import daemon
from switchboard.coordinator.loop import Coordinator
from switchboard.coordinator.tasks import Tasks
from switchboard.modelserver import ScriptedModel
from switchboard.opencode.client import OpenCodeClient
from switchboard.opencode.events import parse_sse
from switchboard.opencode.server import Endpoint, ManagedServer
from switchboard.runners import Runners
from switchboard.runners.attempt import Attempt
from tests.test_coordinator import _start_coordinator, _wait_for, all_finished, prompts_seen, run_until

SCRIPT = [{"name": "slow", "match": r"^slow", "delay": 2.0, "reply": "slow answer"}]


@pytest.fixture
def team(settings: Settings, workdir: Path) -> Tasks:
    runners = Runners.open(settings)
    for name in ("ann", "bob", "cy"):
        runners.create(name, "works", workdir=workdir, role="worker")
    return Tasks(runners.store, settings)


async def _lines(*lines: str) -> AsyncIterator[str]:
    for line in lines:
        yield line


HOSTILE_FRAMES = [
    "data: not json at all",
    "",
    "data: [1, 2, 3]",
    "",
    'data: {"type": "permission.asked", "properties": {"sessionID": "%s"}}',
    "",  # no request id
    'data: {"type": "question.asked", "properties": {"sessionID": "%s", "id": ""}}',
    "",
    'data: {"type": "session.status", "properties": {"sessionID": "%s", "status": {"type": "retry", '
    '"attempt": "many"}}}',
    "",  # a handler that raises
    'data: {"type": "session.status", "properties": {"sessionID": "%s", "status": "busy"}}',
    "",
    'data: {"type": "no.such.type", "properties": {"sessionID": "%s"}}',
    "",
    'data: {"type": "message.part.updated", "properties": {"part": "not an object", "info": 7}}',
    "",
    'data: {"type": "session.idle", "properties": []}',
    "",
    'data: {"payload": "not an object", "directory": 5}',
    "",
    'data: {"properties": {"sessionID": "%s"}}',
    "",  # no type
]


def test_hostile_events_do_not_stop_the_coordinator(
    settings: Settings, team: Tasks, attach: str, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [team.add(f"slow hostile {i}", role="worker").id for i in range(6)]
    coordinator = Coordinator(settings, attach=[attach], remember=False, concurrency=3)
    fed = Counter[str]()

    async def feed() -> None:
        client = coordinator.pool.client(attach)
        while not all_finished(team, ids)():
            for flight in list(coordinator.flights.values()):
                frames = [line.replace("%s", flight.attempt.session_id or "") for line in HOSTILE_FRAMES]
                async for event in parse_sse(_lines(*frames)):
                    await coordinator.dispatch(client, event)
                    fed[event.type] += 1
            await anyio.sleep(0.05)

    async def main() -> None:
        stop = anyio.Event()
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                with anyio.move_on_after(90):
                    await feed()
                stop.set()

            group.start_soon(watch)
            await coordinator.run(stop, grace=5)

    with caplog.at_level(logging.ERROR, logger="switchboard.coordinator"):
        anyio.run(main)
    assert [team.get(i).status.value for i in ids] == ["done"] * 6
    assert [team.get(i).attempts for i in ids] == [1] * 6
    assert fed["permission.asked"] and fed["no.such.type"] and fed["None"]
    # the event that broke its handler is in the log, and nothing else stopped
    assert any("event not handled" in r.message and '"attempt": "many"' in r.message for r in caplog.records)


def test_start_right_after_kill_9_even_while_the_old_one_is_a_zombie(
    settings: Settings, team: Tasks, attach: str, opencode_server: Endpoint
) -> None:
    first = _start_coordinator(settings.home, [attach], opencode_server.password or "")
    try:
        _wait_for(lambda: daemon.read_state(settings) is not None, 30, "the first coordinator")
        os.kill(first.pid, signal.SIGKILL)  # not waited for: it stays a zombie
        _wait_for(lambda: _state(first.pid) == "Z", 10, "the killed coordinator to be a zombie")
        # The lock goes with the last process holding it; a child of the killed one may take a moment.
        _wait_for(lambda: not daemon.running(settings), 10, "the killed coordinator's lock to go")
        assert _state(first.pid) == "Z"
        started = time.monotonic()
        env = {
            **os.environ,
            "SWITCHBOARD_HOME": str(settings.home),
            "OPENCODE_SERVER_PASSWORD": opencode_server.password or "",
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "switchboard",
                "coordinator",
                "start",
                "--no-memory",
                f"--attach={attach}",
                "--json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert _state(first.pid) == "Z"  # still unreaped: the lock, not the pid, decided
        assert time.monotonic() - started < 15
        assert daemon.running(settings)
        again = subprocess.run(
            [sys.executable, "-m", "switchboard", "coordinator", "start", "--no-memory", f"--attach={attach}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert again.returncode == 2 and "already runs" in again.stderr
    finally:
        daemon.stop_background(settings)
        first.wait(timeout=10)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


@pytest.mark.parametrize("stage", ["run", "session", "context", "marked prompted", "prompt sent"])
def test_a_crash_at_any_step_goes_on_with_the_same_attempt(
    settings: Settings, team: Tasks, attach: str, model: ScriptedModel, stage: str
) -> None:
    """The state a coordinator leaves when killed after `stage` of an attempt (and a
    stray run of the task that an older crash left `running`): the restarted
    coordinator goes on with the same attempt; the prompt reaches the model once."""
    task = team.add(f"slow interrupted after {stage}", runner="ann")
    coordinator = Coordinator(settings, attach=[attach], remember=False)
    runners = coordinator.runners
    coordinator.tasks.claim(coordinator.owner, capacity=1, lease=30)
    stray = runners.start_run(runners.get("ann"), task.prompt, task_id=task.id)
    steps = ["run", "session", "context", "marked prompted", "prompt sent"]

    async def crash() -> None:
        async with OpenCodeClient(attach, directory=runners.get("ann").workdir) as client:
            run = await Attempt(runners, runners.get("ann"), client, task.prompt, task_id=task.id).begin()
            coordinator.tasks.set_run(task.id, coordinator.owner, run.id)
            for step in steps[1 : steps.index(stage) + 1]:
                if step == "session":
                    run = runners.record_session(run, (await client.create_session(title="runner/ann")).id, client.url)
                elif step == "context":
                    await client.add_context(run.session_id, "## Unread mail\n\n- #1 request from alice: hi\n")
                elif step == "marked prompted":
                    run = runners.record_prompted(run)
                else:
                    await client.prompt_async(run.session_id, task.prompt)

    anyio.run(crash)
    run_until(coordinator, all_finished(team, [task.id]), timeout=60)
    done = team.get(task.id)
    assert (done.status.value, done.attempts, done.result) == ("done", 1, "slow answer")
    runs = runners.runs("ann")
    assert [r.status for r in runs if r.id != stray.id] == ["success"]  # the same attempt, not a new one
    assert all(r.status != "running" for r in runs)  # the stray run was closed when the task settled
    assert prompts_seen(model, {task.prompt}) == Counter({task.prompt: 1})
    runners.destroy("ann")  # no run stays in progress to refuse it


def test_managed_server_killed_mid_task_is_restarted_and_every_task_ends_done(
    settings: Settings, team: Tasks, opencode_bin: str, opencode_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in opencode_env.items():  # the managed server runs offline, in a private data dir
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SWITCHBOARD_OPENCODE_BIN", opencode_bin)
    settings = Settings.load(settings.home)
    ids = [team.add(f"slow managed {i}", role="worker").id for i in range(6)]
    coordinator = Coordinator(settings, remember=False, concurrency=3)
    managed = ManagedServer(settings)
    first = managed.read()
    assert first is not None
    killed: list[float] = []

    def kill_when_three_run() -> None:
        if not killed and len([t for t in team.list(status="running") if t.session_id]) == 3:
            os.kill(first.pid, signal.SIGKILL)
            killed.append(time.monotonic())

    try:
        run_until(coordinator, all_finished(team, ids), timeout=150, every=kill_when_three_run)
        assert killed, "the server was never killed"
        assert [team.get(i).status.value for i in ids] == ["done"] * 6
        second = managed.status()
        assert second is not None and second.pid != first.pid  # it runs again, restarted
    finally:
        managed.stop()


def test_managed_server_stops_when_idle_unless_a_coordinator_runs(
    tmp_path: Path, opencode_bin: str, opencode_env: dict[str, str]
) -> None:
    import fcntl

    home = tmp_path / "idle-home"
    home.mkdir()
    (home / "config.toml").write_text("opencode_idle_seconds = 1.5\n")
    settings = Settings.load(home)
    server = ManagedServer(settings, binary=opencode_bin, env=opencode_env)
    try:
        with open(home / daemon.LOCK_FILE, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # as a running coordinator holds it
            server.start()
            time.sleep(4)
            assert server.status() is not None  # needed: a coordinator runs
        _wait_for(lambda: server.read() is None, 30, "the idle server to stop")
        started = time.monotonic()
        info, _ = server.start()
        import shutil

        shutil.rmtree(home)  # a one-shot home removed: its server goes too
        _wait_for(lambda: _state(info.pid) in ("gone", "Z"), 30, "the server of a removed home to stop")
        assert time.monotonic() - started < 30
    finally:
        server.stop()


def test_no_password_reaches_the_background_coordinators_command_line(
    settings: Settings, team: Tasks, opencode_server: Endpoint
) -> None:
    """Any local user reads a process's argv (`ps`); the database URL and an `--attach` URL
    with its password go to the background coordinator through its environment."""
    password = opencode_server.password or ""
    with_password = opencode_server.url.replace("http://", f"http://opencode:{password}@", 1)
    env = {k: v for k, v in os.environ.items() if k != "OPENCODE_SERVER_PASSWORD"}
    started = subprocess.run(
        [
            sys.executable,
            "-m",
            "switchboard",
            "--home",
            str(settings.home),
            "--database-url",
            settings.database_url,
            "coordinator",
            "start",
            "--no-memory",
            f"--attach={with_password}",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        assert started.returncode == 0, started.stderr
        state = daemon.read_state(settings)
        assert state is not None and state["servers"] == [opencode_server.url]
        cmdline = Path(f"/proc/{state['pid']}/cmdline").read_bytes().decode()
        assert "coordinator\0start\0--foreground" in cmdline
        assert password not in cmdline and settings.database_url not in cmdline
        task = team.add("a job after a start from the environment")
        _wait_for(lambda: team.get(task.id).status == "done", 60, "the task to be done")
    finally:
        daemon.stop_background(settings)
