"""A database that disappears or rots under switchboard: never re-created silently,
never worked on as a ghost, and always one line (`error: ...`, exit 2)."""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.errors import DatabaseGone
from switchboard.mailbox import Mailbox
from switchboard.mcp.tools import RunnerTools
from switchboard.opencode.server import Endpoint
from tests.conftest import Cli
from tests.test_coordinator import _start_coordinator, _wait_for

GONE = "is gone; restore it or run `sb db init`"


def _db(home: Path) -> Path:
    return home / "switchboard.db"


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "command",
    [
        ["task", "list"],
        ["mail", "send", "--to", "coordinator", "--type", "task_dispatch", "--payload", "review PR 9"],
        ["db", "status"],
        ["memory", "recall", "--query", "anything"],
    ],
)
def test_a_deleted_database_is_an_error_not_a_new_one(cli: Cli, home: Path, command: list[str]) -> None:
    cli("mail", "send", "--to", "bob", "--type", "request", "--payload", "first use creates the database")
    _remove(_db(home))
    result = cli(*command, code=2)
    assert result.stderr.strip() == f"error: database {_db(home)} {GONE}"
    assert not _db(home).exists()


@pytest.mark.sqlite_only
def test_db_init_creates_it_again_explicitly(cli: Cli, home: Path) -> None:
    cli("task", "list")
    _remove(_db(home))
    cli("task", "list", code=2)
    assert cli.json("db", "init")["schema_version"] >= 8
    assert cli.json("task", "list") == []


@pytest.mark.sqlite_only
def test_mcp_tools_refuse_a_deleted_database(cli: Cli, settings: Settings, home: Path) -> None:
    cli("task", "list")
    _remove(_db(home))
    with pytest.raises(DatabaseGone, match="is gone"):
        RunnerTools(settings, "ann", embedder=False)
    assert not _db(home).exists()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("fault", ["deleted", "replaced"])
def test_a_running_coordinator_stops_on_a_ghost_database(
    cli: Cli, home: Path, attach: str, opencode_server: Endpoint, fault: str
) -> None:
    cli("task", "list")
    process = _start_coordinator(home, [attach], opencode_server.password or "")
    try:
        _wait_for(lambda: (home / "coordinator.json").exists(), 120, "the coordinator to start")
        if fault == "replaced":  # e.g. a restore copied over it
            cli("--database-url", f"sqlite:///{home / 'other.db'}", "db", "init")
            os.replace(home / "other.db", _db(home))
        else:
            _remove(_db(home))
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    last = process.stderr.read().strip().splitlines()[-1]
    assert process.returncode == 2
    expected = GONE if fault == "deleted" else "was replaced by another file while in use"
    assert last.startswith(f"error: database {_db(home)} ") and expected in last


def _filled(settings: Settings, messages: int = 400) -> Path:
    """A real database of many pages, all in the main file (no WAL left)."""
    mailbox = Mailbox.open(settings)
    for i in range(messages):
        mailbox.send("coordinator", "task_dispatch", f"job {i} " + "x" * 1500, sender="alice")
    mailbox.store.close()
    return _db(settings.home)


def _garble(path: Path, where: str, page: int = 4096) -> None:
    """Random bytes over the header, or over every third page between the first and the last."""
    pages = path.stat().st_size // page
    spans = [(0, 100)] if where == "header" else [(n * page, page) for n in range(2, pages - 1, 3)]
    noise = random.Random(16)
    with path.open("r+b") as fh:
        for start, length in spans:
            fh.seek(start)
            fh.write(noise.randbytes(length))


@pytest.mark.sqlite_only
@pytest.mark.parametrize("where", ["middle pages", "header"])
@pytest.mark.parametrize(
    "command",
    [
        ["db", "status"],
        ["db", "check"],
        ["coordinator", "pulse", "--attach", "http://127.0.0.1:9"],
        ["coordinator", "start", "--foreground", "--attach", "http://127.0.0.1:9"],
        ["coordinator", "start", "--attach", "http://127.0.0.1:9"],
    ],
)
def test_a_corrupt_database_is_one_line_pointing_at_check_and_backups(
    cli: Cli, settings: Settings, command: list[str], where: str
) -> None:
    db = _filled(settings)
    _garble(db, where)
    result = cli(*command, code=2)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: database {db} is damaged")
    assert "docs/operations.md (Backups)" in lines[0]
    assert command[:2] == ["db", "check"] or "sb db check" in lines[0]
    assert not (settings.home / "coordinator.json").exists()


def test_check_and_backup_a_database_in_use(cli: Cli, settings: Settings, tmp_path: Path) -> None:
    cli("mail", "send", "--to", "bob", "--type", "request", "--payload", "keep me")
    report = cli.json("db", "check")
    assert report["ok"] and report["check"] in ("integrity_check", "sanity")
    assert (
        cli("db", "check", "--quick")
        .stdout.strip()
        .endswith(": ok (quick_check)" if settings.database_url.startswith("sqlite") else ": ok (sanity)")
    )
    copy = tmp_path / "backup.db"
    if not settings.database_url.startswith("sqlite"):
        assert "pg_dump" in cli("db", "backup", str(copy), code=2).stderr
        return
    with Mailbox.open(settings).store.transaction():  # another connection is mid-transaction
        assert cli.json("db", "backup", str(copy))["bytes"] > 0
    restored = Mailbox.open(settings.with_overrides(database_url=f"sqlite:///{copy}"))
    assert [m.payload for m in restored.check("bob")] == ["keep me"]
    assert "exists already" in cli("db", "backup", str(copy), code=2).stderr
