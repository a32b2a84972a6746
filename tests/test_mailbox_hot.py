"""The hot mail verbs' typer-free path says exactly what the typer CLI says: the same
output, errors and exit codes, line for line, and it leaves every other command line
(help, usage errors, other verbs) to the typer CLI."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from switchboard import entry
from switchboard.cli import app
from switchboard.mailbox import hot

# One script, run in order: (command line, whether the hot path takes it).
SCRIPT = [
    (["mail", "send", "--to", "bob", "--type", "request", "--payload", "hi"], True),
    (["mail", "send", "--to=bob", "--type", "request", "--payload", "again", "--priority", "urgent", "--json"], True),
    (["mail", "send", "--to", "bob", "--type", "discovery", "--payload", "-", "--from", "ann", "--convoy", "c1"], True),
    (["mail", "check", "--agent", "bob"], True),
    (["mail", "check", "--agent", "bob", "--json", "--limit", "2", "--unread-only"], True),
    (["mail", "claim", "--agent", "bob", "--json", "--lease", "60"], True),
    (["mail", "ack", "2", "--json"], True),
    (["mail", "claim", "--agent", "bob", "--type", "request"], True),
    (["mail", "ack", "1"], True),
    (["mail", "check", "--agent", "bob", "--archived", "--json"], True),
    (["mail", "send", "--to", "bob", "--type", "request", "--payload", "four"], True),
    (["mail", "send", "--to", "bob", "--type", "request", "--payload", "five"], True),
    (["mail", "claim", "--agent", "bob", "--batch", "5", "--json"], True),
    (["mail", "ack", "3", "4", "5", "--json"], True),
    (["mail", "claim", "--agent", "bob", "--batch", "2"], True),
    (["mail", "ack", "3", "4"], True),
    (["mail", "claim", "--agent", "bob", "--batch", "0"], False),
    (["mail", "claim", "--agent", "nobody", "--json"], True),
    (["mail", "claim", "--agent", "nobody"], True),
    (["mail", "claim"], True),
    (["mail", "ack", "7"], True),
    (["mail", "ack", "7", "--json"], True),
    (["mail", "send", "--to", "bob", "--type", "nonsense", "--payload", "x", "--json"], True),
    (["mail", "send", "--to", "Bad Name", "--type", "request", "--payload", "x"], True),
    (["mail", "check", "--limit", "many"], False),
    (["mail", "check", "--limit", "-1", "--json"], False),
    (["mail", "send", "--to", "bob"], False),
    (["mail", "send", "--help"], False),
    (["mail", "ack", "x"], False),
    (["mail", "ack"], False),
    (["mail", "check", "--colour"], False),
    (["mail", "check", "--json=yes"], False),
    (["mail", "read", "1"], False),
    (["--version"], False),
]

_VOLATILE = re.compile(r"\d{4}-\d\d-\d\dT[\d:.+Z-]+|\b[0-9a-f]{16,}\b|\d{9,}\.\d+|\b\d+s\b")


def _typer(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, input="from stdin")
    return result.exit_code, result.stdout, result.stderr


def _hot(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int | None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"from stdin")))
    return hot.run(args)


def test_the_hot_path_says_what_the_typer_cli_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SWITCHBOARD_DATABASE_URL", raising=False)  # two homes, each its own SQLite file
    for args, taken in SCRIPT:
        monkeypatch.setenv("SWITCHBOARD_HOME", str(tmp_path / "typer"))
        expected = _typer(args)
        monkeypatch.setenv("SWITCHBOARD_HOME", str(tmp_path / "hot"))
        capsys.readouterr()
        code = _hot(args, monkeypatch)
        out, err = capsys.readouterr()
        assert (code is not None) == taken, args
        if code is None:
            continue
        assert (code, _VOLATILE.sub("*", out), _VOLATILE.sub("*", err)) == (
            expected[0],
            _VOLATILE.sub("*", expected[1]),
            _VOLATILE.sub("*", expected[2]),
        ), args


@pytest.mark.parametrize(
    ("args", "code", "stream", "text"),
    [
        (["mail", "send", "--to", "bob", "--type", "request", "--payload", "hi"], 0, "stdout", "1\n"),
        (["mail", "check", "--agent", "bob", "--limit", "many"], 2, "stderr", "error: --limit must be a whole number"),
        (["mail", "send", "--help"], 0, "stdout", "Usage: sb mail send [OPTIONS]"),
    ],
)
def test_sb_runs_each_command_line_on_its_path(
    tmp_path: Path, args: list[str], code: int, stream: str, text: str
) -> None:
    env = {**os.environ, "SWITCHBOARD_HOME": str(tmp_path)}
    env.pop("SWITCHBOARD_DATABASE_URL", None)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sb")), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == code and getattr(done, stream).startswith(text)


def test_hot_calls_that_end_without_closing_lose_nothing(tmp_path: Path) -> None:
    """A hot call ends its process without closing the database (no checkpoint, no
    teardown): what 16 senders and 4 batch claimers do at once is all there, once each,
    and the database checks clean."""
    env = {**os.environ, "SWITCHBOARD_HOME": str(tmp_path)}
    env.pop("SWITCHBOARD_DATABASE_URL", None)
    sb = str(Path(sys.executable).with_name("sb"))

    def start(*args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sb, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(process: subprocess.Popen[str]) -> str:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        return out

    finish(start("mail", "send", "--to", "bob", "--type", "request", "--payload", "m0"))
    senders = [start("mail", "send", "--to", "bob", "--type", "request", "--payload", f"m{i}") for i in range(1, 17)]
    sent = sorted(int(finish(p)) for p in senders) + [1]
    claimers = [start("mail", "claim", "--agent", "bob", "--batch", "5", "--json") for _ in range(4)]
    batches = [json.loads(finish(p) or "[]") for p in claimers]
    claimed = [m["id"] for batch in batches for m in batch]
    assert len(claimed) == len(set(claimed)) == 17 and sorted(claimed) == sorted(sent)
    assert sorted(m["payload"] for batch in batches for m in batch) == sorted(f"m{i}" for i in range(17))
    for batch in batches:
        finish(start("mail", "ack", *(str(m["id"]) for m in batch)))
    assert json.loads(finish(start("mail", "check", "--agent", "bob", "--unread-only", "--json"))) == []
    assert json.loads(finish(start("db", "check", "--json")))["ok"] is True


@pytest.mark.parametrize(
    ("args", "maybe_hot"),
    [
        (["--help"], False),
        (["mail"], False),
        (["mail", "--help"], False),
        (["mail", "send", "--help"], False),
        (["mail", "read", "1"], False),
        (["task", "list"], False),
        (["mail", "ack", "1"], True),
        (["--home", "h", "mail", "send", "--to", "bob"], True),
    ],
)
def test_only_what_may_be_a_hot_verb_imports_the_mailbox(args: list[str], maybe_hot: bool) -> None:
    assert set(hot.OPTIONS) == entry.HOT_VERBS
    assert entry._maybe_hot(args) is maybe_hot
