"""One set of conventions for every part: plain help, one-line (or JSON) errors, --dry-run
on every destructive command, log flags on long-running ones, the reference helpers' flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.cli import app
from switchboard.roothelp import PARTS, root_help
from tests.conftest import Cli
from tests.test_hostile_inputs import snapshot


@pytest.mark.parametrize("part", sorted(PARTS))
def test_every_part_has_the_same_plain_help(cli: Cli, part: str) -> None:
    text = cli(part, "--help").stdout
    assert text.startswith(f"Usage: sb {part} ") or text.startswith(f"Usage: root {part} ")
    assert "╭" not in text and "--install-completion" not in text


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_root_help_without_typer_is_typer_s_own(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    typer_help = subprocess.run(
        [sys.executable, "-c", "from switchboard.cli import main; main()", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert root_help() == typer_help.replace("Usage: -c ", "Usage: sb ")


def test_sb_help_imports_no_typer() -> None:
    probe = (
        "import sys; sys.argv = ['sb', '--help']\n"
        "from switchboard.entry import main\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    print(exit.code, 'typer' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.startswith("Usage: sb [OPTIONS] COMMAND") and out.endswith("0 False\n")


USAGE_ERRORS = {
    "missing option": (["mail", "send", "--to", "bob"], "missing option '--type'"),
    "unknown option": (["task", "list", "--colour"], "no such option"),
    "unknown command": (["cron", "explode"], "no such command 'explode'"),
    "bad choice of flag value": (["mail", "check", "--limit", "many"], "--limit must be a whole number"),
    "extra argument": (["mail", "read", "1", "2"], "unexpected extra argument"),
    "not found": (["mail", "read", "42"], "no message with id 42"),
    "bad log level": (["model", "serve", "--log-level", "loud", "--port", "0"], "unknown log level 'loud'"),
}


@pytest.mark.parametrize("name", USAGE_ERRORS)
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_errors_are_one_line_or_one_json_object(cli: Cli, name: str, as_json: bool) -> None:
    args, expected = USAGE_ERRORS[name]
    result = cli.runner.invoke(app, [*args, *(["--json"] if as_json else [])])
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    if as_json:
        error = json.loads(line)
        assert error["code"] == 2 and expected in error["error"]
    else:
        assert line.startswith("error: ") and expected in line


LONG_RUNNING = [["coordinator", "start"], ["model", "serve"], ["opencode", "serve"], ["mcp"]]


@pytest.mark.parametrize("command", LONG_RUNNING, ids=" ".join)
def test_long_running_commands_take_log_flags(cli: Cli, command: list[str]) -> None:
    text = cli(*command, "--help").stdout
    assert all(flag in text for flag in ("-v, --verbose", "-q, --quiet", "--log-level"))
    line = cli(*command, "--log-level", "chatty", code=2).stderr
    assert line.count("\n") == 1 and "unknown log level 'chatty'" in line


@pytest.fixture
def filled(cli: Cli, home: Path, tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    cli("runner", "create", "worker1", "--workdir", str(work))
    cli("task", "add", "something")
    cli("cron", "add", "--schedule", "0 3 * * *", "--task", "nightly", "--name", "nightly")
    cli("mail", "send", "--to", "bob", "--type", "discovery", "--payload", "found it")
    cli("mail", "read", "1")
    return work


DRY_RUNS = {
    "mail prune": (["mail", "prune", "--older-than-days", "0", "--dry-run"], "would delete 1 message"),
    "runner destroy": (["runner", "destroy", "worker1", "--dry-run"], "would destroy runner worker1"),
    "task cancel": (["task", "cancel", "1", "--dry-run"], "would cancel 1 (queued)"),
    "cron remove": (["cron", "remove", "nightly", "--dry-run"], "would remove nightly"),
}


@pytest.mark.parametrize("name", DRY_RUNS)
def test_dry_run_reports_and_changes_nothing(cli: Cli, home: Path, filled: Path, name: str) -> None:
    args, expected = DRY_RUNS[name]
    before = snapshot(home, filled)
    assert expected in cli(*args).stdout
    if name != "mail prune":  # its report has its own shape, with "deleted": false
        assert cli.json(*args)["dry_run"] is True
    assert snapshot(home, filled) == before


def test_memory_dry_runs_change_nothing(cli: Cli) -> None:
    stored = cli.json("memory", "store", "--content", "the staging database is read-only", "-n", "ops")
    memory_id = stored["id"]
    assert cli("memory", "forget", str(memory_id), "--dry-run").stdout == f"would forget {memory_id}\n"
    assert (
        "would rename ops to infra: 1 memories"
        in cli("memory", "namespaces", "rename", "ops", "infra", "--dry-run").stdout
    )
    assert "would delete namespace ops (1 memories)" in cli("memory", "namespaces", "delete", "ops", "--dry-run").stdout
    assert (
        "give --force or --dry-run"
        in cli("memory", "namespaces", "delete", "ops", "--dry-run", "--force", code=2).stderr
    )
    assert [m["id"] for m in cli.json("memory", "list", "-n", "ops")] == [memory_id]


def test_reference_helper_flags(cli: Cli) -> None:
    """`mail read --agent`, `mail status --agent`, `mail register --branch`, `mail prune --dry-run`
    with the meaning mail-helper.sh gave them."""
    agent = cli.json("mail", "register", "--agent", "bob", "--branch", "feature/login", "--worktree", "/src/wt1")
    assert (agent["branch"], agent["worktree"]) == ("feature/login", "/src/wt1")
    again = cli.json("mail", "register", "--agent", "bob", "--role", "reviewer")  # the branch stays
    assert (again["role"], again["branch"]) == ("reviewer", "feature/login")
    assert cli.json("mail", "agents")[0]["branch"] == "feature/login"

    for to in ("bob", "bob", "carol"):
        cli("mail", "send", "--to", to, "--type", "request", "--payload", f"for {to}")
    assert "no message with id 3 for bob" in cli("mail", "read", "3", "--agent", "bob", code=2).stderr
    assert cli.json("mail", "read", "1", "--agent", "bob")["status"] == "read"
    bob = cli.json("mail", "status", "--agent", "bob")
    assert (bob["agent"], bob["messages"], bob["inbox"], bob["unread"]) == ("bob", 2, 2, 1)
    assert "inbox: 2 messages (1 unread)" in cli("mail", "status", "--agent", "bob").stdout
    assert cli.json("mail", "status")["messages"] == 3

    report = cli.json("mail", "prune", "--older-than-days", "0", "--dry-run")
    assert (report["total"], report["deleted"]) == (1, False)
    assert cli.json("mail", "prune", "--older-than-days", "0", "--force")["deleted"] is True
    assert cli.json("mail", "status")["messages"] == 2
