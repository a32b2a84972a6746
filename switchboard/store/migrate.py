"""Versioned schema migrations, applied in order on first use of a database.

`migrations/NNNN_name.sql` is one migration; `NNNN_name.<dialect>.sql` replaces
it for that dialect. Each runs in its own transaction together with its row in
`schema_version`, under a lock, so concurrent first uses apply it once.
"""

from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path
from typing import NamedTuple

from switchboard.errors import StoreError
from switchboard.store.core import Store

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_FILE = re.compile(r"(\d{4})_([a-z0-9_]+?)(?:\.([a-z]+))?\.sql")


class Migration(NamedTuple):
    version: int
    name: str
    path: Path


@cache
def migrations(dialect: str) -> tuple[Migration, ...]:
    chosen: dict[int, Migration] = {}
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _FILE.fullmatch(path.name)
        if not match:
            continue
        version, name, only = int(match[1]), match[2], match[3]
        if only is None:
            chosen.setdefault(version, Migration(version, name, path))
        elif only == dialect:
            chosen[version] = Migration(version, name, path)
    return tuple(chosen[v] for v in sorted(chosen))


def head(dialect: str) -> int:
    return migrations(dialect)[-1].version


def current_version(store: Store) -> int:
    with store.transaction() as tx:
        if not tx.scalar("schema.version_table_exists"):
            return 0
        return tx.scalar("schema.current_version") or 0


def ensure_current(store: Store) -> None:
    """Upgrade the schema to head if it is behind; refuse a database from a newer version."""
    version = current_version(store)
    latest = head(store.dialect)
    if version > latest:
        raise StoreError(
            f"database {store.connector.describe()} has schema version {version}, newer than "
            f"this switchboard ({latest}): upgrade switchboard"
        )
    if version < latest:
        upgrade(store)


def upgrade(store: Store, target: int | None = None) -> int:
    """Apply pending migrations up to `target` (default: all). Returns the new version."""
    conn = store.connection()
    for migration in migrations(store.dialect):
        if target is not None and migration.version > target:
            break
        with store.transaction(write=True) as tx:
            tx.execute("schema.lock")
            tx.execute("schema.create_version_table")
            if tx.scalar("schema.has_version", {"version": migration.version}):
                continue  # another process applied it while we waited for the lock
            store.connector.run_script(conn, migration.path.read_text())
            tx.execute(
                "schema.record_version",
                {"version": migration.version, "name": migration.name, "now": time.time()},
            )
    return current_version(store)
