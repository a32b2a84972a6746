"""`switchboard opencode ...`: the managed server's life, the endpoint API, one-shot prompts."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.opencode import NotInstalled, find_binary
from switchboard.opencode.server import Endpoint, ManagedServer, endpoint


@pytest.fixture
def opencode_user_env(monkeypatch: pytest.MonkeyPatch, opencode_env: dict[str, str], opencode_bin: str) -> None:
    """Servers started by the CLI in this test use the private OpenCode directories."""
    for name, value in opencode_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SWITCHBOARD_OPENCODE_BIN", opencode_bin)


def test_serve_status_stop(cli, home: Path, opencode_user_env: None) -> None:  # noqa: ANN001
    assert cli.json("opencode", "status", code=1) == {"state": "stopped"}
    started = cli.json("opencode", "serve")
    assert started["state"] == "started" and started["url"].startswith("http://127.0.0.1:")
    assert started["version"] == "1.18.33" and "password" not in started

    state_file = home / "opencode" / "server.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(state_file.parent.stat().st_mode) == 0o700
    recorded = json.loads(state_file.read_text())
    assert recorded["pid"] == started["pid"] and len(recorded["password"]) >= 24

    try:
        again = cli.json("opencode", "serve")  # reused, not a second server
        assert again["state"] == "running" and again["pid"] == started["pid"]
        assert "running" in cli("opencode", "status").stdout

        # The Python API that runners and the coordinator use
        settings = Settings.load(home)
        target = endpoint(settings)
        assert (target.url, target.managed) == (started["url"], True)
        with target.sync_client() as client:
            assert client.health()["healthy"]
        exported = cli("opencode", "env").stdout
        assert f"export OPENCODE_SERVER_URL={started['url']}" in exported
        assert f"OPENCODE_SERVER_PASSWORD={recorded['password']}" in exported
    finally:
        stopped = cli.json("opencode", "stop")
    assert stopped == {"state": "stopped", "pid": started["pid"]}
    with pytest.raises(ProcessLookupError):
        os.kill(started["pid"], 0)
    assert not state_file.exists()
    assert cli("opencode", "stop").stdout.strip() == "not running"


def test_a_stale_record_is_dropped(home: Path, opencode_user_env: None) -> None:
    server = ManagedServer(Settings.load(home))
    server.dir.mkdir(parents=True)
    server.state_file.write_text(
        json.dumps(
            {
                "url": "http://127.0.0.1:9",
                "pid": 2**22 + 12345,
                "password": "x",
                "username": "opencode",
                "binary": "opencode",
                "version": "1",
                "started_at": 0.0,
                "log": "x",
            }
        )
    )
    assert server.status() is None and not server.state_file.exists()
    with pytest.raises(Exception, match="no OpenCode server"):
        endpoint(Settings.load(home), start=False)


def test_missing_binary_is_one_clear_line(cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: ANN001
    monkeypatch.setenv("SWITCHBOARD_OPENCODE_BIN", str(tmp_path / "nope" / "opencode"))
    result = cli("opencode", "serve", code=2)
    assert result.stderr.startswith("error: no executable opencode binary at ")
    assert "switchboard opencode install" in result.stderr and len(result.stderr.strip().splitlines()) == 1

    monkeypatch.delenv("SWITCHBOARD_OPENCODE_BIN")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NotInstalled, match="switchboard opencode install"):
        find_binary(Settings.load(tmp_path / "home"))


def test_binary_lookup_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def executable(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return path

    home = tmp_path / "home"
    on_path = executable(tmp_path / "bin" / "opencode")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.delenv("SWITCHBOARD_OPENCODE_BIN", raising=False)
    assert find_binary(Settings.load(home)) == str(on_path)
    own = executable(home / "opencode" / "npm" / "node_modules" / ".bin" / "opencode")
    assert find_binary(Settings.load(home)) == str(own)
    from_env = executable(tmp_path / "env" / "opencode")
    monkeypatch.setenv("SWITCHBOARD_OPENCODE_BIN", str(from_env))
    assert find_binary(Settings.load(home)) == str(from_env)
    assert find_binary(Settings.load(home), explicit=on_path) == str(on_path)


def test_attach_wins_over_the_managed_server(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCODE_SERVER_PASSWORD", "pw")
    target = endpoint(Settings.load(home), "http://10.0.0.1:4096/")
    assert target == Endpoint("http://10.0.0.1:4096", "pw", "opencode", managed=False)
    monkeypatch.setenv("SWITCHBOARD_OPENCODE_URL", "http://10.0.0.2:4096")
    assert endpoint(Settings.load(home)).url == "http://10.0.0.2:4096"
    assert not (home / "opencode" / "server.json").exists()


def test_run_command(
    cli,
    monkeypatch: pytest.MonkeyPatch,
    opencode_server: Endpoint,  # noqa: ANN001
    opencode_workdir: Path,
) -> None:
    monkeypatch.setenv("OPENCODE_SERVER_PASSWORD", opencode_server.password)
    attach = ["--attach", opencode_server.url, "--dir", str(opencode_workdir)]
    result = cli("opencode", "run", "run: echo from-the-cli", *attach)
    assert result.stdout.strip() == "tool said: from-the-cli"
    assert "[bash] echo from-the-cli" in result.stderr and "session ses" in result.stderr

    turn = cli.json("opencode", "run", "say continued", *attach, "--title", "cli test")
    assert turn["ok"] and turn["text"] == "continued" and turn["tokens"]["output"] > 0
    again = cli.json("opencode", "run", "say same session", *attach, "--session", turn["session_id"])
    assert again["session_id"] == turn["session_id"] and again["text"] == "same session"

    slow = cli("opencode", "run", "sleepy", *attach, "--timeout", "0.5", code=2)
    assert "did not finish within 0.5 s; aborted" in slow.stderr
    assert "no session ses_missing" in cli("opencode", "run", "x", *attach, "--session", "ses_missing", code=2).stderr

    monkeypatch.setenv("OPENCODE_SERVER_PASSWORD", "wrong")
    assert "refused the credentials" in cli("opencode", "run", "say x", *attach, code=2).stderr
