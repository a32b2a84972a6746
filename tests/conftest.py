"""Shared fixtures: a fresh switchboard home with a real database per test.

`SWITCHBOARD_TEST_DATABASE` picks the backend for the whole run: `sqlite`
(default; a real SQLite file in the test's home) or a PostgreSQL URL.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from switchboard.cli import app
from switchboard.config import Settings

_ENV_VARS = ("SWITCHBOARD_HOME", "SWITCHBOARD_DATABASE_URL", "SWITCHBOARD_AGENT",
             "SWITCHBOARD_MAX_PAYLOAD_BYTES", "SWITCHBOARD_OPENCODE_URL",
             "OPENCODE_SERVER_PASSWORD", "OPENCODE_SERVER_USERNAME")

# OpenCode fixtures: the scripted model and a real `opencode serve`, shared per session.
pytest_plugins = ["tests.opencode_fixtures"]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's own home or settings."""
    for var in _ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A switchboard home for this test, exported as SWITCHBOARD_HOME for subprocesses."""
    path = tmp_path / "sb-home"
    monkeypatch.setenv("SWITCHBOARD_HOME", str(path))
    url = os.environ.get("SWITCHBOARD_TEST_DATABASE_URL")
    if url:
        monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", url)
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
