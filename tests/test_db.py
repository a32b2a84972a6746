"""`switchboard db`: status, upgrade, and moving a SQLite home to PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.mailbox import Mailbox
from switchboard.memory import Memory
from switchboard.runners import Runners
from tests.conftest import Cli


def test_status_and_upgrade(cli: Cli) -> None:
    assert cli.json("db", "upgrade")["from"] == 0  # a new database
    assert "schema is current" in cli("db", "upgrade").stdout
    status = cli.json("db", "status")
    assert status["schema_version"] == status["schema_head"] >= 4
    assert set(status["rows"]) >= {"messages", "memories", "runners", "tasks"}


@pytest.mark.postgres_only
def test_migrate_a_sqlite_home_to_postgresql_loses_nothing(
    cli: Cli, home: Path, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SWITCHBOARD_DATABASE_URL")
    sqlite = Settings.load(home, database_url=f"sqlite:///{tmp_path / 'old.db'}")
    mailbox = Mailbox.open(sqlite)
    root = mailbox.send("reviewer", "request", "review PR 9", sender="alice")[0]
    mailbox.send("alice", "status_report", "done", sender="reviewer", reply_to=root.id)
    runners = Runners(mailbox.store, sqlite)
    runners.create("reviewer", "reviews", workdir=tmp_path)
    tasks = Tasks(mailbox.store, sqlite)
    first = tasks.add("review PR 9", runner="reviewer").id
    tasks.add("then test it", runner="reviewer", after=[first])
    memory = Memory(mailbox.store, sqlite)
    memory.store("The billing service retries webhooks three times with backoff", namespace="reviewer")

    flags = ["--database-url", sqlite.database_url]
    copied = cli.json(*flags, "db", "migrate-to", database_url)
    assert copied["rows"]["messages"] == 2 and copied["rows"]["task_deps"] == 1
    assert copied["rows"]["memory_vectors"] == 1
    assert "is not empty" in cli(*flags, "db", "migrate-to", database_url, code=2).stderr

    moved = Settings.load(home, database_url=database_url)
    assert [m.id for m in Mailbox.open(moved).thread(root.id)] == [root.id, root.id + 1]
    assert Tasks.open(moved).get(first + 1).after == (first,)
    hits = Memory.open(moved).recall("how often are webhooks retried?", namespace="reviewer")
    assert hits.hits and "retries webhooks" in hits.hits[0].memory.content
    new = Mailbox.open(moved).send("bob", "request", "after the move")[0]
    assert new.id == root.id + 2  # ids continue after the copied ones
