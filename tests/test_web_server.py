"""The real `switchboard serve` process: where it listens, who it lets in, and its event
stream fed by changes made in other processes. Also: the CLI stays light."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.runners import Runners
from tests.web_fixtures import served  # noqa: F401 - a fixture

SB = [sys.executable, "-m", "switchboard"]


@pytest.mark.parametrize(
    "command",
    [["mail", "send", "bob", "hello", "--json"], ["serve", "token", "list", "--json"], ["hook", "list", "--json"]],
)
def test_cli_commands_never_import_the_server_stack(home: Path, command: list[str]) -> None:
    code = (
        f"import sys, runpy; sys.argv = ['sb', *{command!r}]\n"
        "try:\n    runpy.run_module('switchboard', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'starlette', 'uvicorn', 'pydantic', 'httpx') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "SWITCHBOARD_HOME": str(home)},
        check=True,
    )
    assert out.stdout.strip().endswith("HEAVY []"), out.stdout + out.stderr


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--no-auth", "--host", "0.0.0.0"], "--no-auth only with a loopback --host"),
        (["--host", "203.0.113.1"], "cannot listen on 203.0.113.1"),
        (["--port", "70000"], "70000"),
    ],
)
def test_serve_refuses_unsafe_or_impossible_listening(home: Path, flags: list[str], message: str) -> None:
    out = subprocess.run([*SB, "serve", *flags], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and message in out.stderr


def test_serve_listens_on_loopback_and_streams_changes_from_other_processes(
    served, settings: Settings, tmp_path: Path
) -> None:  # noqa: ANN001
    runners = Runners.open(settings)
    runners.create("reviewer", "reviews", workdir=tmp_path)
    tasks = Tasks(runners.store, settings)
    task = tasks.add("check the build", runner="reviewer")
    server = served("--no-auth")
    assert server.url.startswith("http://127.0.0.1:")

    seen: list[tuple[str, dict, float]] = []
    connected = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", server.url + "/events", timeout=30) as response:
            kind = None
            for line in response.iter_lines():
                if line == ": connected":
                    connected.set()
                elif line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind:
                    seen.append((kind, json.loads(line.removeprefix("data: ")), time.monotonic()))
                    if kind == "task" and seen[-1][1]["status"] == "done":
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    assert connected.wait(20)

    # Another process plays the coordinator: it starts the task (which notifies nobody:
    # the stream's own look finds it), then finishes it (which wakes the stream at once).
    def coordinator(call: str) -> None:
        subprocess.run(
            [sys.executable, "-c", f"from switchboard.coordinator.tasks import Tasks; Tasks.open().{call}"], check=True
        )

    coordinator("claim('other', capacity=1, lease=30)")
    deadline = time.monotonic() + 5
    while ("task", "running") not in [(k, r["status"]) for k, r, _ in seen] and time.monotonic() < deadline:
        time.sleep(0.05)
    coordinator(f"complete({task.id}, 'other', 'build is green')")
    finished = time.monotonic()
    reader.join(15)
    statuses = [r["status"] for k, r, _ in seen if k == "task"]
    assert statuses == ["running", "done"]
    done = next(r for k, r, _ in seen if k == "task" and r["status"] == "done")
    assert done["result"] == "build is green"
    assert seen[-1][2] - finished < 1.5  # woken by the store's notification, not a slow poll
    assert httpx.get(server.url + "/tasks").status_code == 200


def test_tokens_over_real_http(served, cli) -> None:  # noqa: ANN001
    server = served()
    read = cli.json("serve", "token", "create", "--scope", "read", "--name", "ci")
    assert httpx.get(server.url + "/tasks").status_code == 401
    auth = {"Authorization": f"Bearer {read['token']}"}
    assert httpx.get(server.url + "/tasks", headers=auth).json() == []
    refused = httpx.post(server.url + "/tasks", json={"prompt": "x"}, headers=auth)
    assert refused.status_code == 403 and "scope read" in refused.json()["error"]
    listed = cli.json("serve", "token", "list")
    assert [t["name"] for t in listed] == ["ci"] and listed[0]["last_used_at"] is not None
    assert "token" not in listed[0]
    cli("serve", "token", "revoke", str(read["id"]))
    assert httpx.get(server.url + "/tasks", headers=auth).status_code == 401
