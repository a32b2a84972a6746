"""Scale-out: three coordinators (three homes, as if three hosts) and two OpenCode
servers share one PostgreSQL; one coordinator is killed mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.modelserver import ScriptedModel
from switchboard.opencode.server import Endpoint, ManagedServer
from switchboard.runners import Runners
from tests.opencode_fixtures import scripted_project

pytestmark = pytest.mark.postgres_only

TASKS = 60


@pytest.fixture
def second_server(opencode_bin: str, opencode_env: dict[str, str], tmp_path: Path) -> Iterator[Endpoint]:
    server = ManagedServer(Settings.load(tmp_path / "second-host"), binary=opencode_bin, env=opencode_env)
    info, _ = server.start()
    yield info.endpoint
    server.stop()


def _url(endpoint: Endpoint) -> str:
    host = endpoint.url.removeprefix("http://")
    return f"http://{endpoint.username}:{endpoint.password}@{host}"


def test_three_coordinators_two_servers_one_database(
    settings: Settings, opencode_server: Endpoint, second_server: Endpoint, tmp_path: Path
) -> None:
    script = [{"match": r"^job (\d+)", "delay": 1.5, "reply": "did job {1}"}]
    with scripted_project(tmp_path / "project", script, opencode_server, second_server) as (model, workdir):
        _run_scale_out(settings, model, workdir, opencode_server, second_server, tmp_path)


def _run_scale_out(
    settings: Settings,
    model: ScriptedModel,
    workdir: Path,
    opencode_server: Endpoint,
    second_server: Endpoint,
    tmp_path: Path,
) -> None:
    runners = Runners.open(settings)
    for i in range(6):
        runners.create(f"worker-{i}", workdir=workdir, max_parallel=2)
    tasks = Tasks(runners.store, settings)

    database = os.environ["SWITCHBOARD_DATABASE_URL"]
    attach = [f"--attach={_url(opencode_server)}", f"--attach={_url(second_server)}"]
    homes = [tmp_path / f"host-{host}" for host in range(3)]
    coordinators = {}
    for home in homes:
        env = {**os.environ, "SWITCHBOARD_HOME": str(home), "SWITCHBOARD_DATABASE_URL": database}
        env.pop("OPENCODE_SERVER_PASSWORD", None)
        home.mkdir()
        coordinators[home] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "switchboard",
                "coordinator",
                "start",
                "--foreground",
                "--no-memory",
                "--concurrency=4",
                "--lease=3",
                *attach,
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(home / "stderr.log").open("w"),
        )
    try:
        _wait(lambda: all((home / "coordinator.json").exists() for home in homes), 60, "coordinators to start", homes)
        ids = [tasks.add(f"job {i}").id for i in range(TASKS)]
        seen: set[str] = set()
        victim_owner = None

        def in_flight() -> Counter[str]:
            running = Counter(t.owner for t in tasks.list(status="running") if t.session_id)
            seen.update(running)  # which coordinators took work
            return running

        def pick_victim() -> bool:
            nonlocal victim_owner
            running = in_flight()
            if len(tasks.list(status="done", limit=TASKS)) >= 10 and running:
                victim_owner = running.most_common(1)[0][0]
            return victim_owner is not None

        def all_finished() -> bool:
            in_flight()
            return all(tasks.get(i).status.finished for i in ids)

        _wait(pick_victim, 120, "ten tasks done and one in flight", homes)
        victim = next(p for home, p in coordinators.items() if victim_owner.endswith(_owner_suffix(home)))
        orphaned = [t.id for t in tasks.list(status="running") if t.owner == victim_owner]
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        _wait(all_finished, 120, "every task to finish", homes)
    finally:
        for process in coordinators.values():
            process.terminate()
        for process in coordinators.values():
            process.wait(timeout=30)

    finished = [tasks.get(i) for i in ids]
    assert [t.status.value for t in finished] == ["done"] * TASKS
    assert len(seen) == 3  # all three coordinators took work
    assert orphaned and all(tasks.get(i).status.value == "done" for i in orphaned)
    successes = Counter(
        run.task_id
        for name in (f"worker-{i}" for i in range(6))
        for run in runners.runs(name, limit=1000)
        if run.status == "success"
    )
    assert successes == Counter({i: 1 for i in ids})  # every task finished exactly once
    prompts = Counter()
    for request in list(model.requests):
        users = [m for m in request["messages"] if m.get("role") == "user"]
        if users and request["messages"][-1] is users[-1]:
            prompts[str(users[-1]["content"])] += 1
    asked = {p: n for p, n in prompts.items() if p.startswith("job ")}
    assert len(asked) == TASKS and set(asked.values()) == {1}  # and no prompt ran twice
    assert {t.server_url for t in finished} == {opencode_server.url, second_server.url}


def _wait(condition, timeout: float, what: str, homes: list[Path]) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            logs = "\n".join(f"--- {h.name}:\n" + (h / "stderr.log").read_text()[-2000:] for h in homes)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(0.05)


def _owner_suffix(home: Path) -> str:
    import hashlib

    return hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:8]
