"""The storage seam: migrations, SQLite set-up, and the named-query catalogue."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.errors import StoreError
from switchboard.store import open_store
from switchboard.store.migrate import current_version, head, upgrade

ROOT = Path(__file__).resolve().parents[1]


def test_fresh_database_is_created_at_head(settings: Settings) -> None:
    store = open_store(settings)
    assert current_version(store) == head(store.dialect)


def test_older_database_upgrades_in_place_and_keeps_data(settings: Settings) -> None:
    store = open_store(settings, migrate=False)
    assert upgrade(store, target=1) == 1
    with store.transaction(write=True) as tx:
        tx.execute(
            "mailbox.insert",
            {
                "from_agent": "old",
                "to_agent": "bob",
                "type": "request",
                "priority": 2,
                "convoy": None,
                "payload": "written by version 1",
                "reply_to": None,
                "thread_id": None,
                "max_attempts": 5,
                "now": time.time(),
            },
        )
    store.close()
    upgraded = open_store(settings)
    assert current_version(upgraded) == head(upgraded.dialect)
    with upgraded.transaction() as tx:
        assert tx.one("mailbox.get", {"id": 1})["payload"] == "written by version 1"


def test_database_from_a_newer_version_is_refused(settings: Settings) -> None:
    store = open_store(settings)
    with store.transaction(write=True) as tx:
        tx.execute("schema.record_version", {"version": 999, "name": "future", "now": time.time()})
    store.close()
    with pytest.raises(StoreError, match="newer than this switchboard"):
        open_store(settings)


@pytest.mark.sqlite_only
def test_sqlite_is_in_wal_mode_with_sqlite_vec(settings: Settings) -> None:
    store = open_store(settings)
    conn = store.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()["journal_mode"] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()["foreign_keys"] == 1
    # This machine's Python cannot load extensions, so sqlean.py must have stepped in.
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        assert store.connector.module.__name__ == "sqlean"
    assert store.connector.vec_version and store.connector.vec_version.startswith("v")


def test_every_named_query_in_the_code_exists() -> None:
    """A typo in a query name would only show when that code path runs; catch it here."""
    from switchboard.store.core import Store

    names = set()
    for path in (ROOT / "switchboard").rglob("*.py"):
        names |= set(re.findall(r'tx\.(?:all|one|scalar|execute)\(\s*"([a-z_]+\.[a-z_]+)"', path.read_text()))
    assert len(names) > 20
    for dialect in ("sqlite", "postgresql"):
        store = Store.__new__(Store)
        store.dialect, store._translated = dialect, {}
        store.connector = type("C", (), {"translate": staticmethod(lambda sql: sql)})()
        for name in sorted(names):
            assert store.sql(name), f"{name} missing for {dialect}"
