"""`switchboard mail` as users and scripts run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli


def test_send_check_read_round_trip(cli: Cli) -> None:
    first = cli(
        "mail",
        "send",
        "--to",
        "reviewer",
        "--type",
        "task_dispatch",
        "--payload",
        "Review PR #123 for security issues",
        "--from",
        "coordinator",
    )
    assert first.stdout.strip() == "1"
    cli("mail", "send", "--to", "reviewer", "--type", "request", "--payload", "urgent!", "--priority", "urgent")
    table = cli("mail", "check", "--agent", "reviewer").stdout
    assert "Review PR #123" in table and "urgent!" in table
    inbox = cli.json("mail", "check", "--agent", "reviewer")
    assert [m["payload"] for m in inbox] == ["urgent!", "Review PR #123 for security issues"]
    assert inbox[1]["from_agent"] == "coordinator" and inbox[1]["status"] == "unread"
    shown = cli("mail", "read", "1").stdout
    assert "from:" in shown and "Review PR #123 for security issues" in shown
    assert [m["id"] for m in cli.json("mail", "check", "--agent", "reviewer", "--unread-only")] == [2]


def test_payload_from_stdin_keeps_text_exactly(cli: Cli) -> None:
    text = "line one\n  indented 'quoted' \"double\" $HOME `cmd`\n"
    sent = cli.json("mail", "send", "--to", "bob", "--type", "discovery", "--payload", "-", input=text)
    assert cli.json("mail", "read", str(sent["ids"][0]))["payload"] == text


def test_agent_identity_from_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_AGENT", "tester")
    cli("mail", "send", "--to", "tester", "--type", "request", "--payload", "note to self")
    (message,) = cli.json("mail", "check")  # --agent defaults to SWITCHBOARD_AGENT
    assert (message["from_agent"], message["to_agent"]) == ("tester", "tester")


def test_claim_ack_nack_dead_retry_cli(cli: Cli, home: Path) -> None:
    (home / "config.toml").parent.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("mail_max_attempts = 1\n")
    cli("mail", "send", "--to", "w", "--type", "task_dispatch", "--payload", "job")
    claimed = cli.json("mail", "claim", "--agent", "w", "--lease", "60")
    assert claimed["delivery"] == "leased" and claimed["lease_token"]
    assert cli.json("mail", "claim", "--agent", "w", code=1) is None
    out = cli("mail", "nack", str(claimed["id"]), "--reason", "tool crashed").stdout
    assert "dead after 1 attempts" in out
    (dead,) = cli.json("mail", "dead")
    assert dead["last_error"] == "tool crashed"
    cli("mail", "retry", str(dead["id"]))
    again = cli.json("mail", "claim", "--agent", "w")
    assert cli.json("mail", "ack", str(again["id"]), "--lease", again["lease_token"])["delivery"] == "acked"


def test_claim_a_batch_and_ack_it_together(cli: Cli) -> None:
    for n in range(5):
        cli("mail", "send", "--to", "w", "--type", "task_dispatch", "--payload", f"job {n}")
    batch = cli.json("mail", "claim", "--agent", "w", "--batch", "3")
    assert [m["payload"] for m in batch] == ["job 0", "job 1", "job 2"]
    token = batch[0]["lease_token"]
    assert {m["lease_token"] for m in batch} == {token}
    shown = cli("mail", "claim", "--agent", "w", "--batch", "10")
    assert "job 3" in shown.stdout and "job 4" in shown.stdout and shown.stderr.startswith("lease ")
    assert cli.json("mail", "claim", "--agent", "w", "--batch", "10", code=1) == []
    ids = [str(m["id"]) for m in batch]
    refused = cli("mail", "ack", *ids, "4", "--lease", token, code=2)  # 4 is another claim's
    assert refused.stderr.strip() == "error: message 4: the lease has passed to another claim"
    acked = cli.json("mail", "ack", *ids, "--lease", token)
    assert [m["delivery"] for m in acked] == ["acked"] * 3
    assert cli.json("mail", "status")["by_delivery"] == {"acked": 3, "leased": 2}
    assert cli("mail", "claim", "--agent", "w", "--batch", "1001", code=2).stderr.startswith(
        "error: batch must be a whole number from 1 to 1000"
    )


def test_thread_register_agents_status_prune(cli: Cli) -> None:
    cli("mail", "register", "--agent", "alice")
    cli("mail", "register", "--agent", "bob", "--role", "reviewer")
    assert [a["name"] for a in cli.json("mail", "agents", "--active-only")] == ["alice", "bob"]
    sent = cli.json("mail", "send", "--to", "all", "--type", "broadcast", "--payload", "hi", "--from", "alice")
    assert sent["to"] == ["bob"]
    reply = cli.json(
        "mail",
        "send",
        "--to",
        "alice",
        "--type",
        "status_report",
        "--payload",
        "hello",
        "--from",
        "bob",
        "--reply-to",
        str(sent["ids"][0]),
    )
    assert [m["id"] for m in cli.json("mail", "thread", str(reply["ids"][0]))] == sent["ids"] + reply["ids"]
    cli("mail", "deregister", "--agent", "bob")
    assert cli.json("mail", "status")["agents"] == {"active": 1, "inactive": 1}
    cli("mail", "archive", str(reply["ids"][0]))
    report = cli.json("mail", "prune", "--older-than-days", "0")
    assert (report["total"], report["deleted"]) == (1, False)
    assert "would delete 1 message" in cli("mail", "prune", "--older-than-days", "0").stdout
    assert cli.json("mail", "prune", "--older-than-days", "0", "--force")["deleted"] is True
    assert len(cli.json("mail", "check", "--archived")) == 1


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["send", "--to", "../x", "--type", "request", "--payload", "p"], "invalid recipient name '../x'"),
        (["send", "--to", "bob", "--type", "spam", "--payload", "p"], "unknown message type 'spam'"),
        (["send", "--to", "bob", "--type", "request", "--payload", "p", "--priority", "now"], "unknown priority"),
        (["send", "--to", "bob", "--type", "request", "--payload", ""], "payload is empty"),
        (["read", "77"], "no message with id 77"),
        (["ack", "77"], "no message with id 77"),
        (["check", "--agent", "a/b"], "invalid agent name"),
        (["claim", "--agent", "w", "--type", "nope"], "unknown message type"),
    ],
)
def test_bad_input_one_line_exit_2(cli: Cli, args: list[str], error: str) -> None:
    result = cli("mail", *args, code=2)
    assert result.stderr.strip().startswith("error: ") and error in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cli.json("mail", "status")["messages"] == 0


def test_oversize_payload_from_environment_limit(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_MAX_PAYLOAD_BYTES", "1000")
    result = cli("mail", "send", "--to", "bob", "--type", "request", "--payload", "x" * 1001, code=2)
    assert "1001 bytes, over the limit of 1000" in result.stderr
    monkeypatch.delenv("SWITCHBOARD_MAX_PAYLOAD_BYTES")
    cli("mail", "send", "--to", "bob", "--type", "request", "--payload", "x" * 1001)  # default 1 MiB


def test_database_that_cannot_be_opened(cli: Cli, tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path}/no/such/dir/db.sqlite"
    result = cli("--database-url", missing, "mail", "check", code=2)
    assert result.stderr.startswith("error: cannot open database") and "does not exist" in result.stderr
    result = cli("--database-url", "mysql://x", "mail", "check", code=2)
    assert "unsupported database URL" in result.stderr


@pytest.mark.sqlite_only
def test_read_only_database_refuses_writes_and_keeps_data(cli: Cli, home: Path) -> None:
    cli("mail", "send", "--to", "bob", "--type", "request", "--payload", "kept")
    read_only = f"sqlite:///{home / 'switchboard.db'}?mode=ro"
    assert [m["payload"] for m in cli.json("--database-url", read_only, "mail", "check")] == ["kept"]
    result = cli(
        "--database-url", read_only, "mail", "send", "--to", "bob", "--type", "request", "--payload", "lost?", code=2
    )
    assert "is read-only" in result.stderr
    assert [m["payload"] for m in cli.json("mail", "check")] == ["kept"]


def test_flags_beat_environment_beat_file(
    cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SWITCHBOARD_DATABASE_URL", raising=False)  # this test picks its own databases
    home.mkdir(parents=True)
    file_db, env_db, flag_db = (tmp_path / f"{n}.db" for n in ("file", "env", "flag"))
    (home / "config.toml").write_text(f'database_url = "sqlite:///{file_db}"\nagent = "from-file"\n')
    cli("mail", "send", "--to", "x", "--type", "request", "--payload", "1")
    assert file_db.exists()
    monkeypatch.setenv("SWITCHBOARD_DATABASE_URL", f"sqlite:///{env_db}")
    cli("mail", "send", "--to", "x", "--type", "request", "--payload", "2")
    cli("--database-url", f"sqlite:///{flag_db}", "mail", "send", "--to", "x", "--type", "request", "--payload", "3")
    assert env_db.exists() and flag_db.exists()
    (message,) = cli.json("--database-url", f"sqlite:///{flag_db}", "mail", "check", "--agent", "x")
    assert (message["payload"], message["from_agent"]) == ("3", "from-file")


def test_bad_config_file_is_one_line_error(cli: Cli, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("max_payload_bytes = 'lots'\n")
    assert "setting max_payload_bytes must be a whole number" in cli("mail", "status", code=2).stderr
    (home / "config.toml").write_text("databse_url = 'x'\n")
    assert "unknown setting(s): databse_url" in cli("mail", "status", code=2).stderr
    (home / "config.toml").write_text("[broken\n")
    assert cli("mail", "status", code=2).stderr.startswith("error: cannot read")


def test_mail_commands_start_without_heavy_imports(home: Path) -> None:
    """`sb mail` must not pay for torch, sentence-transformers or httpx."""
    code = (
        "import sys, runpy; sys.argv = ['sb', 'mail', 'status', '--json'];\n"
        "try:\n    runpy.run_module('switchboard', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'httpx', 'numpy', 'sqlalchemy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "SWITCHBOARD_HOME": str(home)},
        check=True,
    ).stdout
    assert out.strip().endswith("HEAVY []"), out
    assert json.loads(out[: out.rindex("HEAVY")])["messages"] == 0


def test_sb_alias_and_version() -> None:
    out = subprocess.run([Path(sys.executable).with_name("sb"), "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("switchboard ")
