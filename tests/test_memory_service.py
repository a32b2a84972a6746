"""The embedding service from the outside: started on demand by the CLI, one per home,
pending vectors filled in, kill -9, stale sockets, other users, idle exit, fallback.

Real processes (the CLI from a fresh interpreter, the service it starts), the real
model and the real database of the run (SQLite or PostgreSQL).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.config import DEFAULTS, Settings
from switchboard.memory import Memory, embedservice, warm
from switchboard.memory.embedder import Embedder, get_embedder
from switchboard.memory.warm import socket_path

SYSTEM_PYTHON = "/usr/bin/python3"  # one the other user may run (the venv's may sit in a private home)
FACTS = [
    "The deploy failed because the database migration timed out",
    "Use pnpm, never npm, in the web repository",
    "The staging server listens on port 9090 behind the VPN",
]


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    """The real model in this process, for checking what the service wrote."""
    return get_embedder(DEFAULTS["memory_model"], DEFAULTS["memory_threads"])


@pytest.fixture
def env(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """The environment of a user's shell, service on; stops whatever service the test started."""
    monkeypatch.setenv("SWITCHBOARD_MEMORY_SERVICE", "auto")
    yield {**os.environ}
    embedservice.stop(Settings.load(home))


def sb(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "memory", *args], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done


def service_pid(settings: Settings) -> int:
    assert embedservice.wait_listening(settings, timeout=120)
    return int(json.loads((settings.home / embedservice.STATE_FILE).read_text())["pid"])


def wait_filled(memory: Memory, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while memory.stats()["pending"]:
        assert time.monotonic() < deadline, "pending vectors were never filled in"
        time.sleep(0.2)


def test_concurrent_first_calls_start_one_service_and_lose_nothing(
    env: dict[str, str], settings: Settings, embedder: Embedder
) -> None:
    stores = [
        subprocess.Popen(
            [sys.executable, "-m", "switchboard", "memory", "store", "-c", fact, "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for fact in FACTS * 2
    ]  # each fact twice: the repeats merge
    outputs = [p.communicate(timeout=120) for p in stores]
    assert all(p.returncode == 0 for p in stores), [err for _, err in outputs]
    assert all("warning" not in err for _, err in outputs)
    ids = [json.loads(out)["id"] for out, _ in outputs]
    assert sorted(set(ids)) == sorted(ids[:3]) and len(set(ids)) == 3
    pid = service_pid(settings)
    memory = Memory.open(settings, embedder)
    wait_filled(memory)
    assert memory.stats()["memories"] == 3 and memory.stats()["needs_reindex"] == 0
    # One service for the home; later calls use it and it answers semantic recall.
    hits = json.loads(
        sb(env, "recall", "-q", "why did the release break? the schema upgrade took too long", "--json").stdout
    )["hits"]
    assert hits[0]["id"] == ids[0] and "semantic" in hits[0]["found_by"]
    assert service_pid(settings) == pid
    status = json.loads(sb(env, "service", "status", "--json").stdout)
    assert status["running"] and status["pid"] == pid and status["loaded"] and status["peak_rss_mb"] > 50


def test_writes_while_the_model_loads_are_pending_yet_found_merged_and_superseded(
    settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_MEMORY_SERVICE", "auto")
    settings.home.mkdir(parents=True, exist_ok=True)
    with (settings.home / embedservice.LOCK_FILE).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a service still loading its model: locked, not listening
        memory = Memory.open(settings, warm.embedder(settings))
        first = memory.store(FACTS[0], tags="db").memory
        again = memory.store(FACTS[0].upper() + ".", tags="deploy")
        newer = memory.store("The deploy failed because the lock timeout was 5s", supersedes=first.id).memory
        assert again.merged and again.memory.id == first.id and again.memory.tags == ("db", "deploy")
        assert memory.stats()["pending"] == 2 and memory.stats()["needs_reindex"] == 0
        found = memory.recall("deploy migration", limit=5)
        assert [h.memory.id for h in found.hits] == [newer.id]  # keyword; the superseded one is hidden
        assert found.hits[0].found_by == ("keyword",)
    assert Memory.open(settings, embedder).fill_pending() == 2
    assert Memory.open(settings, embedder).stats()["pending"] == 0


def test_kill_9_mid_call_stores_each_memory_exactly_once(
    env: dict[str, str], settings: Settings, embedder: Embedder, tmp_path: Path
) -> None:
    sb(env, "store", "-c", "start the service")
    first = service_pid(settings)
    export = tmp_path / "many.jsonl"
    export.write_text(
        "".join(
            json.dumps({"content": f"incident {i}: the billing job timed out on host {i}"}) + "\n" for i in range(600)
        )
    )
    importing = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "memory", "import", str(export), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    memory = Memory.open(settings, embedder)
    deadline = time.monotonic() + 120
    while not memory.stats()["memories"] - 1 - memory.stats()["pending"] > 0:  # the service is filling
        assert time.monotonic() < deadline and importing.poll() is None
        time.sleep(0.02)
    os.kill(first, signal.SIGKILL)
    out, err = importing.communicate(timeout=120)
    assert importing.returncode == 0, err
    assert json.loads(out)["imported"] == 600
    assert memory.stats()["memories"] == 601 and memory.stats()["pending"] > 0
    # The next call starts a new service, which fills in what the dead one left.
    hits = json.loads(sb(env, "recall", "-q", "billing job host 7", "--json").stdout)["hits"]
    assert hits and service_pid(settings) != first
    wait_filled(memory)
    assert memory.stats()["memories"] == 601 and memory.stats()["needs_reindex"] == 0


def test_a_stale_socket_is_replaced(env: dict[str, str], settings: Settings) -> None:
    sb(env, "store", "-c", FACTS[0])
    embedservice.stop(settings)
    socket_path(settings).unlink(missing_ok=True)  # its own file may outlive its lock by a moment
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(socket_path(settings)))
    stale.close()  # the file stays and nobody listens, as after a kill -9
    done = sb(env, "recall", "-q", "why did the release break? the schema upgrade took too long", "--json")
    assert json.loads(done.stdout)["hits"][0]["found_by"] == ["semantic"]
    assert "warning" not in done.stderr
    assert warm.WarmClient(socket_path(settings)).info()["pid"] == service_pid(settings)


@pytest.mark.sqlite_only  # the database is a file in the home
@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("runuser") or not Path(SYSTEM_PYTHON).exists(),
    reason="needs root (and a system Python) to act as another user",
)
def test_another_user_cannot_connect_or_read(env: dict[str, str]) -> None:
    base = Path(tempfile.mkdtemp(prefix="sb-other-user-"))
    try:
        os.chmod(base, 0o755)  # the other user may walk to the home; the home itself is private
        settings = Settings.load(base / "home")
        mine = {**env, "SWITCHBOARD_HOME": str(settings.home)}
        sb(mine, "store", "-c", FACTS[0])
        service_pid(settings)
        probe = """
import socket, sys
for what, attempt in (("socket", lambda: socket.socket(socket.AF_UNIX).connect(sys.argv[1])),
                      ("database", lambda: open(sys.argv[2], "rb").read(1))):
    try:
        attempt()
        print(what, "open")
    except OSError as exc:
        print(what, type(exc).__name__)
"""
        done = subprocess.run(
            [
                "runuser",
                "-u",
                "nobody",
                "--",
                SYSTEM_PYTHON,
                "-c",
                probe,
                str(socket_path(settings)),
                str(settings.home / "switchboard.db"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stdout.splitlines() == ["socket PermissionError", "database PermissionError"], done.stderr
        assert os.stat(settings.home).st_mode & 0o777 == 0o700
        assert os.stat(socket_path(settings)).st_mode & 0o777 == 0o600
    finally:
        embedservice.stop(Settings.load(base / "home"))
        shutil.rmtree(base, ignore_errors=True)


def test_idle_service_exits_and_status_stop_report_it(env: dict[str, str], settings: Settings) -> None:
    quick = {**env, "SWITCHBOARD_MEMORY_SERVICE_IDLE_MINUTES": "0.05"}
    sb(quick, "store", "-c", FACTS[1])
    service_pid(settings)
    deadline = time.monotonic() + 60
    while json.loads(sb(env, "service", "status", "--json").stdout)["running"]:
        assert time.monotonic() < deadline, "the idle service did not exit"
        time.sleep(0.5)
    assert not socket_path(settings).exists()
    assert "not running" in sb(env, "service", "status").stdout
    assert json.loads(sb(env, "service", "stop", "--json").stdout) == {"stopped": False, "pid": None}


def test_stop_reaches_a_service_still_loading_its_model(env: dict[str, str], settings: Settings) -> None:
    sb(env, "store", "-c", FACTS[0])  # returns without waiting for the model: the service is loading
    assert embedservice.running(settings)
    stopped = json.loads(sb(env, "service", "stop", "--json").stdout)
    assert stopped["stopped"] is True and isinstance(stopped["pid"], int)
    assert not embedservice.running(settings)
    assert Memory.open(settings).stats()["memories"] == 1  # nothing lost: the vector stays pending


@pytest.mark.parametrize(
    "setting", ["SWITCHBOARD_MEMORY_SERVICE=sometimes", "SWITCHBOARD_MEMORY_SERVICE_IDLE_MINUTES=-1"]
)
def test_bad_service_settings_are_one_line_errors(env: dict[str, str], setting: str) -> None:
    name, value = setting.split("=")
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "memory", "service", "status"],
        env={**env, name: value},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1


def test_a_service_that_cannot_start_falls_back_with_one_warning(env: dict[str, str], settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / embedservice.FAILED_FILE).write_text("ImportError: no torch here\n")
    done = sb(env, "store", "-c", FACTS[2], "--json")
    warnings = [line for line in done.stderr.splitlines() if line]
    assert len(warnings) == 1 and warnings[0].startswith("warning: embedding service unavailable")
    assert "no torch here" in warnings[0]
    memory = json.loads(done.stdout)
    (settings.home / embedservice.FAILED_FILE).touch()  # still a recent failure, however slow this machine
    recalled = json.loads(sb(env, "recall", "-q", "which port does staging use", "--json").stdout)
    assert recalled["hits"][0]["id"] == memory["id"] and "semantic" in recalled["hits"][0]["found_by"]
    assert not socket_path(settings).exists()
