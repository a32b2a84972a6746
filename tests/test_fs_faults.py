"""A home on a filesystem that turns read-only: `coordinator start` says so in one line;
a running coordinator waits it out, says so now and then, and finishes its tasks after.

The home is made a mount point of its own (`mount --bind`), so that `mount -o
remount,ro,bind` turns it read-only under open files too, as a real remount does.
This needs root (chmod would not do: root ignores it); elsewhere the tests skip."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.opencode.server import Endpoint
from switchboard.runners import Runners
from tests.conftest import Cli
from tests.test_coordinator import _start_coordinator, _wait_for

SCRIPT = [{"name": "slow", "match": r"^slow", "delay": 2.0, "reply": "slow answer"}]


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


class Mount:
    """`path` as a bind mount of itself, to be turned read-only and back."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read_only(self, on: bool) -> None:
        _mount("-o", f"remount,{'ro' if on else 'rw'},bind", str(self.path))


@pytest.fixture
def mounted(home: Path) -> Iterator[Mount]:
    if os.geteuid() != 0:
        pytest.skip("bind mounts need root")
    home.mkdir(parents=True, exist_ok=True)
    try:
        _mount("--bind", str(home), str(home))
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot bind-mount here: {exc}")
    mount = Mount(home)
    try:
        yield mount
    finally:
        mount.read_only(False)
        subprocess.run(["umount", "-l", str(home)], check=False, capture_output=True)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "what, args",
    [
        ("home", ["coordinator", "start"]),
        ("home", ["coordinator", "start", "--foreground"]),
        ("log", ["coordinator", "start"]),
    ],
)
def test_start_on_a_read_only_home_or_log_is_one_line(
    cli: Cli, home: Path, mounted: Mount, what: str, args: list[str]
) -> None:
    cli("task", "list")  # the database exists
    log = home / "coordinator.log"
    if what == "log":
        log.write_text("")
        _mount("--bind", str(log), str(log))
        _mount("-o", "remount,ro,bind", str(log))
    else:
        mounted.read_only(True)
    try:
        result = cli(*args, "--attach", "http://127.0.0.1:9", code=2)
    finally:
        if what == "log":
            subprocess.run(["umount", str(log)], check=False)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert str(log if what == "log" else home) in lines[0]
    assert "read-only" in lines[0].lower()


@pytest.mark.sqlite_only
def test_a_running_coordinator_waits_out_an_unwritable_database_and_log(
    settings: Settings, home: Path, mounted: Mount, workdir: Path, attach: str, opencode_server: Endpoint
) -> None:
    """Linux refuses to remount read-only a mount with files open for writing (the
    database is), so the database is made unwritable by a lock held past the busy
    timeout, and the run logs by a read-only mount of their folder."""
    (home / "config.toml").write_text("busy_timeout_seconds = 1\n")
    settings = Settings.load(home)
    runners = Runners.open(settings)
    runners.create("worker", "works", workdir=workdir, max_parallel=2)
    tasks = Tasks(runners.store, settings)
    ids = [tasks.add(f"slow job {i}", runner="worker").id for i in range(4)]
    logs = Mount(runners.folder("worker") / "runs")
    logs.path.mkdir(parents=True)
    _mount("--bind", str(logs.path), str(logs.path))
    process = _start_coordinator(home, [attach], opencode_server.password or "")
    try:
        _wait_for(lambda: any(t.session_id for t in tasks.list(status="running")), 120, "a task in flight")
        logs.read_only(True)
        with sqlite3.connect(home / "switchboard.db", isolation_level=None) as lock:
            lock.execute("BEGIN EXCLUSIVE")
            time.sleep(8)  # pulses, lease renewals and answers cannot be written meanwhile
            assert process.poll() is None
            lock.execute("COMMIT")
        # A task that ends writes its run log's last lines: here they cannot be written.
        _wait_for(lambda: any(tasks.get(i).status.finished for i in ids), 120, "a task to finish")
        logs.read_only(False)
        _wait_for(lambda: all(tasks.get(i).status.finished for i in ids), 120, "the tasks to finish")
        assert process.poll() is None
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
        subprocess.run(["umount", "-l", str(logs.path)], check=False, capture_output=True)
        stderr = process.stderr.read()
    assert [tasks.get(i).status.value for i in ids] == ["done"] * 4
    assert "Traceback" not in stderr
    faults = [line.split(" ERROR ")[-1] for line in stderr.splitlines() if "said at most once a minute" in line]
    assert faults and len(faults) == len({fault.split(": ")[0] for fault in faults})  # once per fault
    assert any("locked" in fault for fault in faults) and any("run log" in fault for fault in faults)
