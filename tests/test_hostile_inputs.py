"""Hostile input through the CLI, on a real database: one line `error: ...`, exit code 2,
and nothing written — no message, task, runner, memory or file more or less than before."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.cli import app
from switchboard.config import Settings
from switchboard.coordinator.schedules import Schedules
from switchboard.coordinator.tasks import Tasks
from switchboard.errors import InvalidInput
from switchboard.mailbox import Mailbox
from switchboard.runners.service import Runners
from tests.conftest import Cli

BIG = str(2**63)  # one past the largest id SQLite and PostgreSQL hold
HUGE = "9" * 5000  # past what Python even parses as an int by default


@pytest.fixture
def world(cli: Cli, home: Path, tmp_path: Path) -> dict[str, Path]:
    """A home with an agent, a leased message, a task and a runner; files for the inputs."""
    work = tmp_path / "work"
    work.mkdir()
    cli("mail", "register", "--agent", "bob")
    cli("mail", "send", "--to", "bob", "--type", "request", "--payload", "hello")
    cli("mail", "claim", "--agent", "bob")
    cli("task", "add", "first task")
    cli("runner", "create", "worker1", "--workdir", str(work))
    files = tmp_path / "inputs"
    files.mkdir()
    (files / "latin1.md").write_bytes(b"- [ ] t1 caf\xe9 au lait\n")
    (files / "big.md").write_bytes(b"x" * (5 * 1024 * 1024))
    (files / "nul.md").write_bytes(b"- [ ] t1 a\x00b\n")
    (files / "cycle.md").write_text("- [ ] t1 one blocked-by:t2\n- [ ] t2 two blocked-by:t1\n")
    return {"work": work, "files": files}


def snapshot(home: Path, work: Path) -> tuple:
    """Everything a command could have written: rows (through the Python API) and file names."""
    settings = Settings.load(home)
    mailbox, tasks, runners = Mailbox.open(settings), Tasks.open(settings), Runners.open(settings)
    rows = (
        [m.to_dict() for m in mailbox.check(None, include_archived=True, limit=10_000)],
        [a.name for a in mailbox.agents()],
        [t.to_dict() for t in tasks.list(limit=10_000)],
        [r.to_dict() for r, _, _ in runners.list()],
        [s.to_dict() for s in Schedules(tasks).list()],
    )
    names = sorted(
        str(p.relative_to(root))
        for root in (home, work)
        for p in root.rglob("*")
        if not p.name.endswith(("-wal", "-shm", ".sock")) and ".notify" not in p.parts[-2:]
    )
    return rows, names


F = "{files}"  # stands for the folder of input files

CASES = {
    # invalid UTF-8 and NUL bytes, on standard input, in files and in arguments
    "mail payload stdin": (
        ["mail", "send", "--to", "bob", "--type", "request", "--payload", "-"],
        b"\xff\xfe",
        "not valid UTF-8",
    ),
    "mail payload NUL": (["mail", "send", "--to", "bob", "--type", "request", "--payload", "-"], b"a\x00b", "NUL"),
    "task add stdin": (["task", "add", "-"], b"fix \xc3\x28 it", "not valid UTF-8"),
    "memory store stdin": (["memory", "store", "--content", "-"], b"\xff remember", "not valid UTF-8"),
    "task import latin-1": (["task", "import", f"{F}/latin1.md"], None, "not valid UTF-8"),
    "task import NUL": (["task", "import", f"{F}/nul.md"], None, "NUL"),
    "task import cycle": (["task", "import", f"{F}/cycle.md"], None, "cycle"),
    "runner instructions latin-1": (
        ["runner", "create", "r1", "--instructions", f"{F}/latin1.md"],
        None,
        "not valid UTF-8",
    ),
    "argument not UTF-8": (
        ["mail", "send", "--to", "bob", "--type", "request", "--payload", "caf\udce9"],
        None,
        "not valid UTF-8",
    ),
    # integers past 2**63
    "task show": (["task", "show", BIG], None, "whole number"),
    "task cancel": (["task", "cancel", BIG], None, "whole number"),
    "task wait": (["task", "wait", BIG], None, "whole number"),
    "mail read": (["mail", "read", BIG], None, "whole number"),
    "mail ack": (["mail", "ack", HUGE], None, "whole number"),
    "mail reply-to": (
        ["mail", "send", "--to", "bob", "--type", "request", "--payload", "x", "--reply-to", BIG],
        None,
        "whole number",
    ),
    "task after": (["task", "add", "x", "--after", f"1,{BIG}"], None, "whole number"),
    "task max-attempts": (["task", "add", "x", "--max-attempts", BIG], None, "whole number"),
    "runner max-parallel": (["runner", "create", "r1", "--max-parallel", BIG], None, "whole number"),
    "memory list recent": (["memory", "list", "--recent", BIG], None, "whole number"),
    "mail check limit": (["mail", "check", "--limit", "-1"], None, "whole number"),
    # durations that are not finite, or negative
    "nack retry-in nan": (["mail", "nack", "1", "--retry-in", "nan"], None, "number of seconds"),
    "claim lease inf": (["mail", "claim", "--agent", "bob", "--lease", "inf"], None, "number of seconds"),
    "claim lease nan": (["mail", "claim", "--agent", "bob", "--lease", "nan"], None, "number of seconds"),
    "claim wait nan": (["mail", "claim", "--agent", "bob", "--wait", "nan"], None, "number of seconds"),
    "claim lease huge": (["mail", "claim", "--agent", "bob", "--lease", "1e300"], None, "number of seconds"),
    "runner timeout nan": (["runner", "create", "r1", "--timeout", "nan"], None, "number of seconds"),
    "runner edit timeout": (["runner", "edit", "worker1", "--timeout", "-inf"], None, "number of seconds"),
    "task wait timeout nan": (["task", "wait", "1", "--timeout", "nan"], None, "number of seconds"),
    "task timeout inf": (["task", "add", "x", "--timeout", "inf"], None, "number of seconds"),
    "memory ttl inf": (["memory", "store", "--content", "x", "--ttl-days", "inf"], None, "number of days"),
    "mail prune nan": (["mail", "prune", "--older-than-days", "nan", "--force"], None, "number of days"),
    # files that are not text files
    "instructions /dev/zero": (["runner", "create", "r1", "--instructions", "/dev/zero"], None, "over the limit"),
    "instructions 5 MB": (["runner", "create", "r1", "--instructions", f"{F}/big.md"], None, "over the limit"),
    "instructions missing": (["runner", "create", "r1", "--instructions", f"{F}/none.md"], None, "cannot read"),
    "workdir /proc": (["runner", "create", "r1", "--workdir", "/proc"], None, "not writable"),
    # names that mean something else
    "runner coordinator": (["runner", "create", "coordinator"], None, "reserved"),
    "runner all": (["runner", "create", "all"], None, "reserved"),
    "runner user": (["runner", "create", "user"], None, "reserved"),
    "runner Shared": (["runner", "create", "Shared"], None, "reserved"),
    "runner path": (["runner", "create", "../up"], None, "invalid runner name"),
    "empty sender": (
        ["mail", "send", "--to", "bob", "--type", "request", "--payload", "x", "--from", ""],
        None,
        "invalid sender",
    ),
    "register all": (["mail", "register", "--agent", "all"], None, "reserved"),
    "cron seven fields": (["cron", "add", "--schedule", "* * * * * * *", "--task", "x"], None, "five fields"),
    # usage errors: one line too
    "missing option": (["mail", "send", "--to", "bob"], None, "missing option"),
    "unknown option": (["mail", "check", "--bogus"], None, "no such option"),
    "unknown command": (["mail", "fly"], None, "no such command"),
}


@pytest.mark.parametrize("name", CASES)
def test_hostile_input_is_one_line_exit_2_and_writes_nothing(
    cli: Cli, home: Path, world: dict[str, Path], name: str
) -> None:
    args, stdin, expected = CASES[name]
    args = [a.replace(F, str(world["files"])) for a in args]
    if args[:2] == ["runner", "create"] and "--workdir" not in args:
        args += ["--workdir", str(world["work"])]
    before = snapshot(home, world["work"])
    result = cli.runner.invoke(app, args, input=stdin)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], result.stderr
    assert result.stdout == ""
    assert snapshot(home, world["work"]) == before


def test_todo_import_of_a_long_forward_chain(cli: Cli, tmp_path: Path) -> None:
    """3,000 tasks, each blocked by the next one in the file: no recursion limit, one transaction."""
    n = 3000
    todo = tmp_path / "TODO.md"
    todo.write_text(
        "".join(f"- [ ] t{i} step {i}" + (f" blocked-by:t{i + 1}" if i < n else "") + "\n" for i in range(1, n + 1))
    )
    tasks = cli.json("task", "import", str(todo))
    assert len(tasks) == n
    by_prompt = {t["prompt"]: t for t in tasks}
    assert by_prompt["step 1"]["after"] == [by_prompt["step 2"]["id"]]
    assert by_prompt[f"step {n}"]["after"] == []
    assert len(cli.json("task", "import", str(todo))) == n  # again: nothing new
    assert len(cli.json("task", "list", "--limit", "10000")) == n


API_CASES = {
    "claim lease nan": lambda s: Mailbox.open(s).claim("bob", lease=float("nan")),
    "claim lease inf": lambda s: Mailbox.open(s).claim("bob", lease=float("inf")),
    "claim wait -1": lambda s: Mailbox.open(s).claim("bob", wait=-1),
    "nack retry nan": lambda s: Mailbox.open(s).nack(1, retry_in=float("nan")),
    "read id 2**63": lambda s: Mailbox.open(s).read(2**63),
    "send reply-to 2**64": lambda s: Mailbox.open(s).send("bob", "request", "x", reply_to=2**64),
    "send from empty": lambda s: Mailbox.open(s).send("bob", "request", "x", sender=""),
    "task timeout nan": lambda s: Tasks.open(s).add("x", timeout=float("nan")),
    "task attempts 2**63": lambda s: Tasks.open(s).add("x", max_attempts=2**63),
    "task wait timeout inf": lambda s: Tasks.open(s).wait([1], timeout=float("inf")),
    "runner timeout nan": lambda s: Runners.open(s).create("r1", timeout=float("nan")),
    "runner reserved": lambda s: Runners.open(s).create("coordinator"),
}


@pytest.mark.parametrize("name", API_CASES)
def test_python_api_refuses_the_same_values(
    cli: Cli, home: Path, world: dict[str, Path], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(world["work"])
    before = snapshot(home, world["work"])
    with pytest.raises(InvalidInput):
        API_CASES[name](Settings.load(home))
    assert snapshot(home, world["work"]) == before


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "1e999"])
def test_config_refuses_durations_that_are_not_finite(cli: Cli, home: Path, value: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f"mail_lease_seconds = '{value}'\n")
    line = cli("mail", "status", code=2).stderr
    assert line.count("\n") == 1 and "setting mail_lease_seconds must be a number of seconds" in line
