"""Running the coordinator as a process: foreground (systemd, supervisors) or in the
background with a state file and a log in the home directory."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from switchboard.config import Settings, private_file, secure_home
from switchboard.errors import Conflict, SwitchboardError
from switchboard.processes import alive

STATE_FILE = "coordinator.json"
LOG_FILE = "coordinator.log"
LOCK_FILE = "coordinator.lock"


def state_path(settings: Settings) -> Path:
    return settings.home / STATE_FILE


def log_path(settings: Settings) -> Path:
    return settings.home / LOG_FILE


def read_state(settings: Settings) -> dict[str, Any] | None:
    """The running coordinator's record, or None if none runs (a stale record is removed)."""
    path = state_path(settings)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not alive(int(state.get("pid", 0))):
        path.unlink(missing_ok=True)
        return None
    return state


def run_foreground(settings: Settings, *, grace: float, **options: Any) -> None:
    """Run the loop in this process until SIGTERM or SIGINT."""
    import anyio

    from switchboard.coordinator.loop import Coordinator

    secure_home(settings.home)
    lock = private_file(settings.home / LOCK_FILE).open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        running = read_state(settings)
        raise Conflict("a coordinator already runs for this home"
                       + (f" (pid {running['pid']})" if running else "")) from None
    coordinator = Coordinator(settings, **options)

    async def main() -> None:
        stop = anyio.Event()

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    stop.set()
                    return

        async with anyio.create_task_group() as group:
            group.start_soon(on_signal)
            await coordinator.run(stop, grace=grace)
            group.cancel_scope.cancel()

    warm = None
    signal.signal(signal.SIGTERM, _exit)  # until the loop listens: a stop at start-up cleans up too
    try:
        warm = _serve_embeddings(settings, preload=options.get("remember", True))
        state = {"pid": os.getpid(), "owner": coordinator.owner, "started_at": time.time(),
                 "concurrency": coordinator.concurrency, "servers": coordinator.pool.urls,
                 "database": coordinator.store.connector.describe(),
                 "memory_socket": str(warm.path) if warm is not None else None}
        private_file(state_path(settings)).write_text(json.dumps(state, indent=2) + "\n")
        logging.getLogger("switchboard.coordinator").info(
            "coordinator %s started: concurrency %d, servers %s", coordinator.owner,
            coordinator.concurrency, ", ".join(coordinator.pool.urls))
        anyio.run(main)
    finally:
        if warm is not None:
            warm.close()
        state_path(settings).unlink(missing_ok=True)
        logging.getLogger("switchboard.coordinator").info("coordinator stopped")
        lock.close()


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _serve_embeddings(settings: Settings, *, preload: bool) -> Any:
    """Serve this process's embedding model to the CLI and MCP tools on `HOME/embed.sock`
    (see `switchboard.memory.warm`); with `preload`, load it now. None if it cannot."""
    from switchboard.memory.warm import WarmServer

    log = logging.getLogger("switchboard.coordinator")
    try:
        server = WarmServer(settings).start(preload=preload)
    except OSError as exc:
        log.warning("not serving embeddings on a socket (%s): the CLI and MCP tools load their own model", exc)
        return None
    log.info("serving embeddings at %s%s", server.path, " (loading the model)" if preload else "")
    return server


def start_background(settings: Settings, argv: list[str], wait: float = 120.0) -> dict[str, Any]:
    """Start `switchboard coordinator start --foreground ARGV` detached; return its state."""
    running = read_state(settings)
    if running is not None:
        raise Conflict(f"a coordinator already runs for this home (pid {running['pid']})")
    secure_home(settings.home)
    log = log_path(settings)
    offset = log.stat().st_size if log.exists() else 0
    command = [sys.executable, "-m", "switchboard", "--home", str(settings.home),
               "--database-url", settings.database_url, "coordinator", "start", "--foreground", *argv]
    with private_file(log).open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=out, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        state = read_state(settings)
        if state is not None and state["pid"] == process.pid:
            return state
        if process.poll() is not None:
            raise SwitchboardError(f"the coordinator exited at start: {_tail(log, offset)}")
        time.sleep(0.1)
    process.terminate()
    raise SwitchboardError(f"the coordinator did not start within {wait:g}s: {_tail(log, offset)}")


def stop_background(settings: Settings, timeout: float = 60.0) -> dict[str, Any] | None:
    """SIGTERM the running coordinator and wait for it to finish its grace period."""
    state = read_state(settings)
    if state is None:
        return None
    os.kill(state["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive(state["pid"]):
        if time.monotonic() > deadline:
            raise SwitchboardError(f"coordinator (pid {state['pid']}) still running after {timeout:g}s")
        time.sleep(0.1)
    return state


def _tail(path: Path, offset: int) -> str:
    try:
        with path.open("rb") as fh:
            fh.seek(offset)
            lines = fh.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(no output)"
