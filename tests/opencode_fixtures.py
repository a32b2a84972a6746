"""Fixtures for tests that need OpenCode: the scripted model and one real `opencode serve`.

Both are started once per test session and shared. The server is switchboard's
own managed server (in a private home, with private XDG directories so it never
touches the developer's OpenCode data); its project directory `opencode_workdir`
is configured for the scripted model by `switchboard.modelserver.configure`.

The binary: `SWITCHBOARD_OPENCODE_BIN` (set by `make test`), else the repository's
`build/opencode` install; tests that need it are skipped when neither exists.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.modelserver import ScriptedModel, Script, configure
from switchboard.opencode.sandbox import isolated_env
from switchboard.opencode.server import Endpoint, ManagedServer

REPO_BINARY = Path(__file__).resolve().parents[1] / "build" / "opencode" / "node_modules" / ".bin" / "opencode"

# Trigger words are distinct, so each test picks its rule without changing the script.
TEST_SCRIPT = [
    {"name": "say", "match": r"^say (.+)", "reply": "{1}"},
    {"name": "bash", "match": r"^run: (.+)", "turn": 0, "bash": "{1}"},
    {"name": "after-tool", "role": "tool", "reply": "tool said: {text}"},
    {"name": "sleepy", "match": r"^sleepy", "delay": 3, "reply": "woke up"},
]


@pytest.fixture(scope="session")
def opencode_bin() -> str:
    """The `opencode` binary, or skip."""
    explicit = os.environ.get("SWITCHBOARD_OPENCODE_BIN")
    if explicit:
        if not os.access(explicit, os.X_OK):
            pytest.fail(f"SWITCHBOARD_OPENCODE_BIN={explicit} is not an executable")
        return explicit
    if REPO_BINARY.exists():
        return str(REPO_BINARY)
    pytest.skip("no opencode binary: run `make setup` or set SWITCHBOARD_OPENCODE_BIN")


@pytest.fixture(scope="session")
def opencode_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for OpenCode processes started by tests: private HOME and XDG
    directories, offline (see `switchboard.opencode.sandbox`)."""
    return isolated_env(tmp_path_factory.mktemp("opencode-env"))


@pytest.fixture(scope="session")
def scripted_model() -> Iterator[ScriptedModel]:
    """The scripted model (TEST_SCRIPT) on a free port. Tests may read `.requests`."""
    with ScriptedModel(Script.parse(TEST_SCRIPT)) as model:
        yield model


@pytest.fixture(scope="session")
def opencode_workdir(tmp_path_factory: pytest.TempPathFactory, scripted_model: ScriptedModel) -> Path:
    """A project directory whose opencode.json points at the scripted model."""
    workdir = tmp_path_factory.mktemp("opencode-project")
    configure(workdir, scripted_model.base_url)
    return workdir


@pytest.fixture(scope="session")
def opencode_server(
    tmp_path_factory: pytest.TempPathFactory,
    opencode_bin: str,
    opencode_env: dict[str, str],
    scripted_model: ScriptedModel,
) -> Iterator[Endpoint]:
    """A real `opencode serve` (switchboard's managed server, password-protected), shared by the session.

    It stops before the scripted model does, so no turn is left retrying a vanished model."""
    home = tmp_path_factory.mktemp("opencode-home")
    # Tests reach it by URL, which its keeper does not see as use: it must outlive the suite.
    (home / "config.toml").write_text("opencode_idle_seconds = 86400\n")
    settings = Settings.load(home)
    server = ManagedServer(settings, binary=opencode_bin, env=opencode_env)
    info, _ = server.start()
    yield info.endpoint
    server.stop(timeout=5)


@pytest.fixture
def oc(opencode_server: Endpoint, opencode_workdir: Path) -> Iterator[object]:
    """A blocking `OpenCode` client on the shared server, working in `opencode_workdir`."""
    with opencode_server.sync_client(directory=opencode_workdir) as client:
        yield client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextmanager
def scripted_project(root: Path, script: list, *servers: Endpoint) -> Iterator[tuple[ScriptedModel, Path]]:
    """A scripted model answering from `script`, and the project directory `root`
    configured for it, with its OpenCode instance warmed on each of `servers`: the
    first prompt in a directory pays the instance's start-up, which tests do not measure."""
    with ScriptedModel(script) as model:
        configure(root, model.base_url)
        for server in servers:
            with server.sync_client(directory=root) as client:
                client.run(client.create_session(title="warm-up").id, "warm up", timeout=120)
        yield model, root


@pytest.fixture(scope="module")
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, opencode_server: Endpoint
) -> Iterator[tuple[ScriptedModel, Path]]:
    """A scripted model answering from the test module's `SCRIPT`, and a warmed project for it."""
    root = tmp_path_factory.mktemp(f"{request.module.__name__.rsplit('.', 1)[-1]}-project")
    with scripted_project(root, request.module.SCRIPT, opencode_server) as made:
        yield made


@pytest.fixture
def model(project: tuple[ScriptedModel, Path]) -> ScriptedModel:
    return project[0]


@pytest.fixture
def workdir(project: tuple[ScriptedModel, Path]) -> Path:
    return project[1]


@pytest.fixture
def attach(opencode_server: Endpoint, monkeypatch: pytest.MonkeyPatch) -> str:
    """`--attach URL` to the shared server, with its password in the environment as users pass it."""
    monkeypatch.setenv("OPENCODE_SERVER_PASSWORD", opencode_server.password or "")
    return opencode_server.url
