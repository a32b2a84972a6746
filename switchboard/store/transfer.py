"""Copying a whole switchboard database to another one (`switchboard db migrate-to`).

Every table is copied with its ids, in one transaction on the target, and the row
counts are compared before it commits: the copy is complete or does not happen.
Derived data is rebuilt rather than copied: full-text and vector indexes, and
identity sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from switchboard.errors import Conflict, StoreError
from switchboard.progress import Progress
from switchboard.store.core import Store
from switchboard.store.migrate import current_version, head

# In an order that satisfies foreign keys; rows in id order within each.
TABLES = ("agents", "messages", "memories", "memory_vectors", "runners", "runs", "tasks", "task_deps", "schedules")
_ORDER = {"agents": "name", "runners": "name", "memory_vectors": "memory_id", "task_deps": "task_id, depends_on"}
_VECTOR_COLUMNS = {"memory_vectors": "embedding"}


@dataclass(frozen=True)
class TransferReport:
    source: str
    target: str
    rows: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target, "rows": self.rows, "total": sum(self.rows.values())}


def table_counts(store: Store) -> dict[str, int]:
    with store.transaction() as tx:
        return {t: tx.conn.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in TABLES}


def transfer(source: Store, target: Store, batch: int = 500, progress: Progress | None = None) -> TransferReport:
    """Copy everything in `source` into the empty database `target` (both at the same schema),
    reporting rows copied to `progress`."""
    if current_version(source) != head(source.dialect) or current_version(target) != head(target.dialect):
        raise StoreError("both databases must be at the current schema version: run `switchboard db upgrade`")
    already = {t: n for t, n in table_counts(target).items() if n}
    if already:
        raise Conflict(
            f"{target.connector.describe()} is not empty ({', '.join(f'{t}: {n}' for t, n in already.items())})"
            "; migrate into a new database"
        )
    copied: dict[str, int] = {}
    if progress:
        progress.total(sum(table_counts(source).values()))
    reader = source.connection()
    with target.transaction(write=True):
        writer = target.connection()
        for table in TABLES:
            cursor = reader.execute(f"SELECT * FROM {table} ORDER BY {_ORDER.get(table, 'id')}")
            columns = [c[0] for c in cursor.description]
            insert = target.connector.translate(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
            )
            count = 0
            while rows := cursor.fetchmany(batch):
                for row in rows:
                    if table in _VECTOR_COLUMNS:
                        column = _VECTOR_COLUMNS[table]
                        row[column] = target.connector.encode_vector(source.connector.decode_vector(row[column]))
                    writer.execute(insert, row)
                count += len(rows)
                if progress:
                    progress.advance(len(rows))
            copied[table] = count
        target.connector.after_bulk_load(writer, [t for t in TABLES if _ORDER.get(t, "id") == "id"])
        landed = {t: writer.execute(f"SELECT count(*) AS n FROM {t}").fetchone()["n"] for t in TABLES}
        if landed != copied:
            raise StoreError(f"copy incomplete ({landed} != {copied}); nothing was written")
    reader.rollback()
    return TransferReport(source.connector.describe(), target.connector.describe(), copied)
