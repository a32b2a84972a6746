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
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from switchboard.config import COORDINATOR_LOCK, ENV_VARS, Settings, private_file, secure_home
from switchboard.errors import Conflict, DatabaseGone, SwitchboardError
from switchboard.processes import lock_held
from switchboard.redaction import redact

if TYPE_CHECKING:
    import anyio

STATE_FILE = "coordinator.json"
LOG_FILE = "coordinator.log"
LOCK_FILE = COORDINATOR_LOCK
ATTACH_ENV = "SWITCHBOARD_ATTACH"  # `--attach` URLs, space-separated


def state_path(settings: Settings) -> Path:
    return settings.home / STATE_FILE


def log_path(settings: Settings) -> Path:
    return settings.home / LOG_FILE


def running(settings: Settings) -> bool:
    """Whether a coordinator runs for this home: it holds the lock on `coordinator.lock`."""
    return lock_held(settings.home / LOCK_FILE)


def read_state(settings: Settings) -> dict[str, Any] | None:
    """The running coordinator's record, or None if none runs (a stale record is removed)."""
    path = state_path(settings)
    try:
        state: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not running(settings):
        path.unlink(missing_ok=True)
        return None
    return state


Companion = Callable[["anyio.Event", Settings], Coroutine[Any, Any, None]]


def run_foreground(settings: Settings, *, grace: float, companions: Iterable[Companion] = (), **options: Any) -> None:
    """Run the loop in this process until SIGTERM or SIGINT, with `companions` (such as
    webhook delivery, a part above this one) beside it until it stops; each supervises itself."""
    import anyio

    from switchboard.coordinator.loop import Coordinator

    with _writing(settings.home):
        secure_home(settings.home)
    check_database(settings)
    with _writing(settings.home / LOCK_FILE):
        lock = private_file(settings.home / LOCK_FILE).open("w")
    if not _take(lock):
        state = read_state(settings)
        raise Conflict(
            "a coordinator already runs for this home" + (f" (pid {state['pid']})" if state else "")
        ) from None
    handler = _LogHandler(sys.stderr)  # the level stays the one the CLI's flags chose
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S"))
    logging.getLogger().handlers[:] = [handler]
    coordinator = Coordinator(settings, **options)

    async def main() -> None:
        stop = anyio.Event()

        async def on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async for _ in signals:
                    stop.set()
                    return

        gone: DatabaseGone | None = None
        async with anyio.create_task_group() as group:
            group.start_soon(on_signal)
            for companion in companions:
                group.start_soon(companion, stop, settings)
            try:
                await coordinator.run(stop, grace=grace)
            except DatabaseGone as exc:  # raised out here, not wrapped in the group's ExceptionGroup
                gone = exc
            group.cancel_scope.cancel()
        if gone is not None:
            raise gone

    signal.signal(signal.SIGTERM, _exit)  # until the loop listens: a stop at start-up cleans up too
    try:
        memory_socket = _serve_embeddings(settings) if options.get("remember", True) else None
        state = {
            "pid": os.getpid(),
            "owner": coordinator.owner,
            "started_at": time.time(),
            "concurrency": coordinator.concurrency,
            "servers": coordinator.pool.urls,
            "database": coordinator.store.connector.describe(),
            "memory_socket": memory_socket,
        }
        with _writing(state_path(settings)):
            private_file(state_path(settings)).write_text(json.dumps(state, indent=2) + "\n")
        logging.getLogger("switchboard.coordinator").info(
            "coordinator %s started: concurrency %d, servers %s",
            coordinator.owner,
            coordinator.concurrency,
            ", ".join(coordinator.pool.urls),
        )
        anyio.run(main)
    finally:
        state_path(settings).unlink(missing_ok=True)
        logging.getLogger("switchboard.coordinator").info("coordinator stopped")
        lock.close()


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """An unwritable home, log or state file is one line naming it, not a traceback."""
    try:
        yield
    except OSError as exc:
        raise SwitchboardError(f"cannot write {path}: {exc.strerror or exc}") from None


class _LogHandler(logging.StreamHandler[TextIO]):
    """Standard error, which is the log file in the background, with secrets redacted
    (`switchboard.redaction`: the log keeps exception texts). A line that cannot be
    written (a read-only or full filesystem) is counted, not raised; the count is the
    first thing said once the log can be written again."""

    lost = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.lost:
                self.stream.write(f"{self.lost} log line(s) lost: the log could not be written\n")
                self.lost = 0
            self.stream.write(redact(self.format(record)) + self.terminator)
            self.flush()
        except OSError:
            self.lost += 1


def check_database(settings: Settings) -> None:
    """Refuse to start on a damaged database (SQLite's quick_check), with one line."""
    from switchboard.store import open_store
    from switchboard.store.integrity import verdict

    store = open_store(settings)
    try:
        verdict(store, quick=True)
    finally:
        store.close()


def _take(lock: Any, tries: int = 20) -> bool:
    """The lock, unless another coordinator holds it. `running()` probes take it shared for
    an instant: a few tries tell a probe from a coordinator."""
    for _ in range(tries):
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.05)
    return False


def _exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def _serve_embeddings(settings: Settings) -> str | None:
    """Start the home's shared embedding service if none runs (see
    `switchboard.memory.embedservice`), without waiting for its model: runners' recalls
    and this coordinator's memories use it, and it fills in vectors of memories stored
    while it loads. Returns its socket path, or None if it cannot start."""
    from switchboard.memory import embedservice
    from switchboard.memory.warm import WarmClient, WarmUnavailable, socket_path

    log = logging.getLogger("switchboard.coordinator")
    if not embedservice.service_enabled(settings):
        return None
    failure = embedservice.ensure(settings)
    if failure is not None:
        log.warning("no embedding service (%s): memory embeds in-process", failure)
        return None
    client = WarmClient(socket_path(settings), connect_timeout=0.5, timeout=2.0)
    try:
        client.request({"op": "fill", "database": settings.database_url})  # a service already running
    except WarmUnavailable:
        pass  # just started: it fills this database by itself
    finally:
        client.close()
    log.info("embedding service at %s", socket_path(settings))
    return str(socket_path(settings))


def start_background(
    settings: Settings, argv: list[str], *, attach: list[str] | None = None, wait: float = 120.0
) -> dict[str, Any]:
    """Start `switchboard coordinator start --foreground ARGV` detached; return its state.
    The database URL and the `--attach` URLs can hold passwords, and any local user reads
    a process's argv (`ps`): they go through the environment, which only its owner reads."""
    if running(settings):
        state = read_state(settings)
        raise Conflict("a coordinator already runs for this home" + (f" (pid {state['pid']})" if state else ""))
    with _writing(settings.home):
        secure_home(settings.home)
    check_database(settings)
    log = log_path(settings)
    offset = log.stat().st_size if log.exists() else 0
    with _writing(log):
        log.open("ab").close()
    command = [
        sys.executable,
        "-m",
        "switchboard",
        "--home",
        str(settings.home),
        "coordinator",
        "start",
        "--foreground",
        *argv,
    ]
    env = {**os.environ, ENV_VARS["database_url"]: settings.database_url, ATTACH_ENV: " ".join(attach or [])}
    with private_file(log).open("ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True, env=env
        )
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
    try:
        os.kill(state["pid"], signal.SIGTERM)
    except ProcessLookupError:
        return state
    deadline = time.monotonic() + timeout
    while running(settings):
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
