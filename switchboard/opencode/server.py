"""The managed `opencode serve`, and which server a command talks to.

With no `--attach URL` (and no `opencode_url` setting), switchboard runs one
`opencode serve` of its own on 127.0.0.1, on a free port, with a random
`OPENCODE_SERVER_PASSWORD`. Its URL, password and pid are recorded in
`HOME/opencode/server.json` (owner-only), so later commands reuse it; its output
goes to `HOME/opencode/server.log`. It outlives the command that started it,
until `switchboard opencode stop`, or until it has been idle for `opencode_idle_seconds`
(15 minutes) with no coordinator running (see `switchboard.opencode.keeper`).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from switchboard.config import Settings, private_file
from switchboard.processes import alive, terminate
from switchboard.opencode.binary import binary_version, find_binary
from switchboard.opencode.errors import AuthRefused, OpenCodeError, ServerDown

if TYPE_CHECKING:
    from switchboard.opencode.client import OpenCodeClient
    from switchboard.opencode.sync import OpenCode

USERNAME = "opencode"
# OpenCode must not fetch the models catalogue or update itself behind our back.
QUIET_ENV = {"OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1"}
USED_FILE = "server.used"  # touched whenever a command uses the managed server
_children: dict[int, subprocess.Popen[bytes]] = {}  # servers this process started (kept from the garbage collector)


@dataclass(frozen=True)
class Endpoint:
    """A server to talk to: where, with which credentials, and whether switchboard runs it."""

    url: str
    password: str | None = None
    username: str = USERNAME
    managed: bool = False

    def client(self, **options: Any) -> OpenCodeClient:
        from switchboard.opencode.client import OpenCodeClient

        return OpenCodeClient(self.url, password=self.password or "", username=self.username, **options)

    def sync_client(self, **options: Any) -> OpenCode:
        from switchboard.opencode.sync import OpenCode

        return OpenCode(self.url, password=self.password or "", username=self.username, **options)

    def env(self) -> dict[str, str]:
        """Environment for `opencode run --attach URL` and other OpenCode clients."""
        env = {"OPENCODE_SERVER_URL": self.url}
        if self.password:
            env.update(OPENCODE_SERVER_PASSWORD=self.password, OPENCODE_SERVER_USERNAME=self.username)
        return env


@dataclass(frozen=True)
class ServerInfo:
    """The record of the managed server."""

    url: str
    pid: int
    password: str
    username: str
    binary: str
    version: str
    started_at: float
    log: str

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.url, self.password, self.username, managed=True)

    def to_dict(self) -> dict[str, Any]:
        """For display: everything but the password."""
        out = asdict(self)
        del out["password"]
        return out


class ManagedServer:
    """The one `opencode serve` a switchboard home runs. `env` adds to the server's environment
    (e.g. `XDG_DATA_HOME` to keep its sessions apart from the user's own)."""

    def __init__(self, settings: Settings, *, binary: str | None = None, env: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.binary = binary
        self.env = dict(env or {})
        self.dir = settings.home / "opencode"
        self.state_file = self.dir / "server.json"
        self.log_file = self.dir / "server.log"

    def read(self) -> ServerInfo | None:
        """The recorded server, whether or not it still runs."""
        try:
            return ServerInfo(**json.loads(self.state_file.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def status(self) -> ServerInfo | None:
        """The managed server if it runs and answers; a stale record is removed."""
        info = self.read()
        if info is None:
            return None
        if alive(info.pid) and _healthy(info.endpoint, timeout=3.0):
            return info
        if not alive(info.pid):
            self.state_file.unlink(missing_ok=True)
            return None
        return None  # running but not answering (still starting, or hung)

    def start(self, *, port: int | None = None, wait: float = 60.0) -> tuple[ServerInfo, bool]:
        """Start the server unless it already runs; returns its record and whether it was started now."""
        with self._lock():
            info = self.status()
            if info is not None:
                return info, False
            stale = self.read()
            if stale is not None and alive(stale.pid):
                terminate(stale.pid, 5.0)  # alive but not answering: replace it
            binary = find_binary(self.settings, self.binary)
            for attempt in range(3):
                try:
                    return self._spawn(binary, port or _free_port(), wait), True
                except _PortTaken:
                    if port is not None or attempt == 2:
                        raise OpenCodeError(f"port {port} is taken; choose another") from None
            raise AssertionError("unreachable")

    def stop(self, timeout: float = 10.0) -> ServerInfo | None:
        """Stop the managed server; returns its record, or None if none ran."""
        with self._lock():
            info = self.read()
            if info is None:
                return None
            if alive(info.pid):
                terminate(info.pid, timeout)
            self.state_file.unlink(missing_ok=True)
            return info

    def _spawn(self, binary: str, port: int, wait: float) -> ServerInfo:
        password = secrets.token_urlsafe(24)
        # OpenCode takes its default project directory from PWD, not from the real working directory.
        env = {
            **os.environ,
            **self.env,
            **QUIET_ENV,
            "PWD": str(self.dir),
            "OPENCODE_SERVER_PASSWORD": password,
            "OPENCODE_SERVER_USERNAME": USERNAME,
            # A runner's bash tool can call `switchboard ...` on this home (and its database).
            "SWITCHBOARD_HOME": str(self.settings.home),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }
        if self.settings.database_url != self.settings.default_database_url:
            env["SWITCHBOARD_DATABASE_URL"] = self.settings.database_url
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        env.setdefault("OPENCODE_CONFIG_DIR", str(_guard_config(self.dir / "config")))
        with open(os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as log:
            start_offset = log.tell()
            process = subprocess.Popen(
                [binary, "serve", "--hostname", "127.0.0.1", "--port", str(port)],
                cwd=self.dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # not killed with the terminal or command that started it
            )
        _children[process.pid] = process
        info = ServerInfo(
            url=f"http://127.0.0.1:{port}",
            pid=process.pid,
            password=password,
            username=USERNAME,
            binary=binary,
            version=binary_version(binary),
            started_at=time.time(),
            log=str(self.log_file),
        )
        deadline = time.monotonic() + wait
        while not _healthy(info.endpoint, timeout=2.0):
            if process.poll() is not None:
                output = self._log_since(start_offset)
                if "EADDRINUSE" in output or "address already in use" in output.lower():
                    raise _PortTaken()
                last = output.strip().splitlines()[-1:] or [f"exit code {process.returncode}"]
                raise OpenCodeError(f"opencode serve exited at start: {last[0]} (log: {self.log_file})")
            if time.monotonic() > deadline:
                terminate(process.pid, 5.0)
                raise OpenCodeError(f"opencode serve did not answer within {wait:g} s (log: {self.log_file})")
            time.sleep(0.1)
        _write_private(self.state_file, json.dumps(asdict(info), indent=2))
        self.touch()
        with open(os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as log:
            keeper = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "switchboard.opencode.keeper",
                    str(self.settings.home),
                    str(process.pid),
                    str(self.settings.opencode_idle_seconds),
                ],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _children[keeper.pid] = keeper
        return info

    def touch(self) -> None:
        """Note that a command uses the server now (see `switchboard.opencode.keeper`)."""
        used = self.dir / USED_FILE
        try:
            used.touch(mode=0o600)
        except OSError:
            pass

    def _log_since(self, offset: int) -> str:
        with self.log_file.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode(errors="replace")

    @contextmanager
    def _lock(self) -> Iterator[None]:
        """One start or stop at a time, across processes."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with private_file(self.dir / "server.lock").open("a") as fh:
            try:
                import fcntl
            except ImportError:  # Windows: no cross-process lock
                yield
                return
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


class _PortTaken(Exception):
    pass


def endpoint(settings: Settings, attach: str | None = None, *, start: bool = True) -> Endpoint:
    """The server a command should use: `attach`, else the `opencode_url` setting, else the
    managed server (started if `start` and not running).

    An attached server's credentials come from the URL (`http://user:password@host:port`),
    else, when it is the managed server, from its record, else from
    `OPENCODE_SERVER_PASSWORD` and `OPENCODE_SERVER_USERNAME`.
    """
    url = attach or settings.opencode_url
    if url:
        parts = urlsplit(url)
        if parts.password is not None:
            host = parts.hostname or ""
            bare = urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))
            return Endpoint(bare.rstrip("/"), unquote(parts.password), unquote(parts.username or USERNAME))
        managed = ManagedServer(settings).read()
        if managed is not None and managed.url == url.rstrip("/"):
            return managed.endpoint
        return Endpoint(
            url.rstrip("/"),
            os.environ.get("OPENCODE_SERVER_PASSWORD") or None,
            os.environ.get("OPENCODE_SERVER_USERNAME") or USERNAME,
        )
    server = ManagedServer(settings)
    if start:
        info = server.start()[0]
        server.touch()
        return info.endpoint
    running = server.status()
    if running is None:
        raise ServerDown("no OpenCode server: run `switchboard opencode serve`, or give --attach URL")
    return running.endpoint


def connect(settings: Settings, attach: str | None = None, **options: Any) -> OpenCodeClient:
    """An `OpenCodeClient` for `endpoint(settings, attach)`."""
    return endpoint(settings, attach).client(**options)


def connect_sync(settings: Settings, attach: str | None = None, **options: Any) -> OpenCode:
    """A blocking `OpenCode` client for `endpoint(settings, attach)`."""
    return endpoint(settings, attach).sync_client(**options)


def _healthy(target: Endpoint, timeout: float) -> bool:
    import httpx

    auth = (target.username, target.password) if target.password else None
    try:
        response = httpx.get(f"{target.url}/global/health", auth=auth, timeout=timeout, trust_env=False)
    except httpx.HTTPError:
        return False
    if response.status_code == 401:
        raise AuthRefused(f"the server at {target.url} refused the recorded password")
    return response.is_success


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, replacing it atomically."""
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


# A plugin of the managed server's own config directory (OPENCODE_CONFIG_DIR): the `shell.env`
# hook sets what OpenCode adds to the environment of every bash tool call and terminal, so
# the server's password does not reach what agents run (`env`, a prompt-injected `curl`).
_ENV_PLUGIN = """export const SwitchboardEnv = async () => ({
  "shell.env": async (input, output) => {
    output.env.OPENCODE_SERVER_PASSWORD = "";
    output.env.OPENCODE_SERVER_USERNAME = "";
  },
});
"""


def _guard_config(config: Path) -> Path:
    from switchboard.opencode.sandbox import seed_config_dir

    plugin = seed_config_dir(config) / "plugin" / "switchboard-env.js"
    plugin.parent.mkdir(exist_ok=True)
    if not plugin.exists() or plugin.read_text() != _ENV_PLUGIN:
        plugin.write_text(_ENV_PLUGIN)
    return config
