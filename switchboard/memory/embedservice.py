"""The embedding service: one background process per home that keeps the model loaded.

A memory command that needs embeddings and finds nobody on `HOME/embed.sock` starts
it (`ensure`), without waiting for the model: the service loads it before it listens,
writes meanwhile are stored pending, and the service fills their vectors in once loaded. It exits by itself after an idle
period (`[memory] service_idle_minutes` in config.toml, or
SWITCHBOARD_MEMORY_SERVICE_IDLE_MINUTES; 15 by default). SWITCHBOARD_MEMORY_SERVICE=off
(or `[memory] service = "off"`) keeps every process on its own in-process model.

Exactly one runs per home: it holds an exclusive `flock` on `HOME/embed.lock` for its
whole life. A starter takes that lock first (non-blocking), and hands the locked
descriptor to the child it spawns, so concurrent first calls start one service and
the lock is never free in between; the kernel drops it when the service dies, even
by kill -9, which is how a stale socket file is told from a live one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

from switchboard.config import CONFIG_FILE, Settings
from switchboard.errors import ConfigError

LOCK_FILE = "embed.lock"
STATE_FILE = "embed.json"
LOG_FILE = "embed.log"
FAILED_FILE = "embed.failed"  # why the last start failed; a start within RETRY_AFTER does not retry
IDLE_MINUTES = 15.0
RETRY_AFTER = 60.0
START_WAIT = 60.0  # seconds for a fresh service to load its model and listen, on a busy machine
_LOCK_FD_VAR = "SWITCHBOARD_EMBED_LOCK_FD"
_DATABASE_VAR = "SWITCHBOARD_EMBED_DATABASE"

log = logging.getLogger("switchboard.memory.embedservice")


def _memory_table(settings: Settings) -> dict[str, Any]:
    try:
        with (settings.home / CONFIG_FILE).open("rb") as fh:
            table = tomllib.load(fh).get("memory", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # the settings loader reports a broken file
    return table if isinstance(table, dict) else {}


def service_enabled(settings: Settings) -> bool:
    value = os.environ.get("SWITCHBOARD_MEMORY_SERVICE") or _memory_table(settings).get("service", "auto")
    value = str(value).strip().lower()
    if value not in ("auto", "on", "off", "true", "false", "1", "0"):
        raise ConfigError(f"setting memory.service must be auto or off, got {value!r}")
    return value in ("auto", "on", "true", "1")


def idle_seconds(settings: Settings) -> float:
    raw = os.environ.get("SWITCHBOARD_MEMORY_SERVICE_IDLE_MINUTES") or _memory_table(settings).get(
        "service_idle_minutes", IDLE_MINUTES
    )
    try:
        minutes = float(raw)
    except (TypeError, ValueError):
        minutes = -1
    if not minutes > 0:
        raise ConfigError(f"setting memory.service_idle_minutes must be a positive number, got {raw!r}")
    return minutes * 60


def running(settings: Settings) -> bool:
    """Whether a service runs (or is loading its model): it holds the home's lock."""
    try:
        with (settings.home / LOCK_FILE).open("a") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            return False
    except OSError:
        return False


def ensure(settings: Settings) -> str | None:
    """Make sure a service runs or is starting for this home; returns None, or why not."""
    failed = settings.home / FAILED_FILE
    with contextlib.suppress(OSError):
        if time.time() - failed.stat().st_mtime < RETRY_AFTER:
            return f"it failed to start: {failed.read_text().strip()[-300:]}"
    try:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = os.open(settings.home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        return f"cannot open {settings.home / LOCK_FILE}: {exc.strerror}"
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # one runs, or is starting
        env = {**os.environ, _LOCK_FD_VAR: str(lock), _DATABASE_VAR: settings.database_url}
        try:
            with (settings.home / LOG_FILE).open("ab") as out:
                child = subprocess.Popen(
                    [sys.executable, "-m", "switchboard.memory.embedservice", str(settings.home)],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    pass_fds=(lock,),
                    start_new_session=True,
                )
        except OSError as exc:
            return f"cannot start it: {exc}"
        _loading(settings, child.pid)  # before it has even started Python: `stop` must reach it
        return None
    finally:
        os.close(lock)  # the child holds the lock now (the same open file)


def _loading(settings: Settings, pid: int) -> None:
    """Put the pid of a service still loading its model on record, so that `stop` reaches it."""
    with contextlib.suppress(OSError):
        (settings.home / STATE_FILE).write_text(json.dumps({"pid": pid, "loading": True}) + "\n")


def wait_listening(settings: Settings, timeout: float = START_WAIT) -> bool:
    """Wait until the home's service accepts connections (it listens once its model is loaded)."""
    from switchboard.memory.warm import WarmClient, WarmUnavailable, socket_path

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client = WarmClient(socket_path(settings), connect_timeout=0.5, timeout=2.0)
        try:
            client.info()
            return True
        except WarmUnavailable:
            if not running(settings) and ensure(settings) is not None:
                return False  # it died at start, and cannot be started again
            time.sleep(0.05)
        finally:
            client.close()
    return False


def status(settings: Settings) -> dict[str, Any]:
    """The home's service: running or not, and what it reports about itself."""
    from switchboard.memory.warm import WarmClient, WarmUnavailable, socket_path

    report: dict[str, Any] = {
        "running": False,
        "socket": str(socket_path(settings)),
        "idle_timeout_minutes": idle_seconds(settings) / 60,
        "enabled": service_enabled(settings),
    }
    if not running(settings):
        return report
    client = WarmClient(socket_path(settings), connect_timeout=0.5, timeout=5.0)
    try:
        info = client.info()
    except WarmUnavailable as exc:
        return {**report, "running": True, "error": str(exc), **_state(settings)}
    finally:
        client.close()
    info.pop("ok", None)
    return {**report, "running": True, **_state(settings), **info}


def _state(settings: Settings) -> dict[str, Any]:
    try:
        state: dict[str, Any] = json.loads((settings.home / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return state


def stop(settings: Settings, timeout: float = 10.0) -> dict[str, Any] | None:
    """Stop the home's service; returns what it was, or None if none ran."""
    if not running(settings):
        return None
    state = _state(settings)
    pid = int(state.get("pid") or 0)
    if pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while running(settings):
        if time.monotonic() > deadline:
            if pid:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    return state


def run(settings: Settings, lock_fd: int | None, database: str | None) -> int:
    """The service's life: hold the lock, serve, fill pending vectors, exit when idle."""
    from switchboard.memory.warm import WarmServer

    if lock_fd is None:
        lock_fd = os.open(settings.home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("an embedding service already runs for %s", settings.home)
            return 0
    idle = idle_seconds(settings)
    _loading(settings, os.getpid())  # for a service started by hand; `ensure` wrote it already
    server = WarmServer(settings)
    if not server.load():  # starters meanwhile see the lock held: writes go pending, recalls wait
        (settings.home / FAILED_FILE).write_text(f"{server.load_error}\n")
        (settings.home / STATE_FILE).unlink(missing_ok=True)
        return 1
    if database:  # what the starter stored while the model loaded: filled before a recall can look
        try:
            server.fill(database)
        except Exception:  # noqa: BLE001 - the fill loop retries
            log.exception("filling pending vectors in %s failed; retrying later", database)
    state = {
        "pid": os.getpid(),
        "model": server.model.model_id,
        "started_at": time.time(),
        "idle_timeout_minutes": idle / 60,
    }
    (settings.home / STATE_FILE).write_text(json.dumps(state) + "\n")
    try:
        server.start(preload=False)
    except OSError as exc:
        (settings.home / FAILED_FILE).write_text(f"{exc}\n")
        log.error("embedding service not started: %s", exc)
        return 1
    (settings.home / FAILED_FILE).unlink(missing_ok=True)
    server.last_used = time.monotonic()  # idle from now, not from before the model load
    signal.signal(signal.SIGTERM, lambda *_: server.stopping.set())
    server.fill_soon("")  # and what was stored since
    log.info(
        "embedding service %d serving %s at %s (idle exit after %g min)",
        os.getpid(),
        server.model.model_id,
        server.path,
        idle / 60,
    )
    try:
        while not server.stopping.wait(1.0):
            if server.idle_for() > idle:
                log.info("idle for %g min: exiting", idle / 60)
                break
    finally:
        server.close()
        (settings.home / STATE_FILE).unlink(missing_ok=True)
        os.close(lock_fd)
    return 0


def main() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
    )
    home = Path(sys.argv[1])
    lock_fd = os.environ.pop(_LOCK_FD_VAR, None)
    database = os.environ.pop(_DATABASE_VAR, None)
    try:
        settings = Settings.load(home)
        code = run(settings, int(lock_fd) if lock_fd else None, database)
    except Exception as exc:  # noqa: BLE001 - recorded so that starters fall back at once
        with contextlib.suppress(OSError):
            (home / FAILED_FILE).write_text(f"{type(exc).__name__}: {exc}\n")
        log.exception("embedding service failed")
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
