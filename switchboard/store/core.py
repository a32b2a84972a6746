"""Store and transactions over a dialect connector, with named SQL queries."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from _thread import _local as thread_local  # threading.local itself, without importing threading (~2 ms per CLI call)

from switchboard.errors import StoreError

SQL_DIR = Path(__file__).with_name("sql")
_QUERY_HEADER = re.compile(r"^-- name: ([a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


class Waiter(Protocol):
    def wait(self, timeout: float) -> bool: ...
    def close(self) -> None: ...
    def __enter__(self) -> Waiter: ...
    def __exit__(self, *exc: object) -> None: ...


class Connector(Protocol):
    """What a database backend provides. One instance per database URL."""

    dialect: str
    vector_index_table: bool  # whether vectors need a separate index table kept in step

    def connect(self) -> Any: ...
    def begin(self, conn: Any, write: bool) -> None: ...
    def translate(self, sql: str) -> str: ...
    def error(self, exc: BaseException) -> StoreError | None: ...
    def run_script(self, conn: Any, script: str) -> None: ...
    def notify(self, conn: Any, channels: set[str]) -> None: ...
    def listen(self, channels: tuple[str, ...]) -> Waiter: ...
    def compact(self, conn: Any) -> None: ...
    def describe(self) -> str: ...
    def verify(self) -> None: ...
    def check(self, conn: Any, quick: bool) -> list[str]: ...
    def backup(self, conn: Any, target: Path) -> None: ...
    def encode_vector(self, vector: Any) -> Any: ...
    def decode_vector(self, value: Any) -> Any: ...
    def after_bulk_load(self, conn: Any, tables: list[str]) -> None: ...


@cache
def _load_queries(part: str, dialect: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    for path in (SQL_DIR / f"{part}.sql", SQL_DIR / f"{part}.{dialect}.sql"):
        if path.exists():
            queries.update(parse_queries(path.read_text()))
    return queries


def parse_queries(text: str) -> dict[str, str]:
    """Split a file of `-- name: x` sections into {name: sql}."""
    parts = _QUERY_HEADER.split(text)
    return {name: body.strip().rstrip(";") for name, body in zip(parts[1::2], parts[2::2])}


class Tx:
    """One open transaction. Queries are named `part.query`."""

    def __init__(self, store: Store, conn: Any) -> None:
        self._store = store
        self._conn = conn
        self.notifications: set[str] = set()

    @property
    def conn(self) -> Any:
        """The driver's connection, for statements that are not named queries (PRAGMAs, counts)."""
        return self._conn

    def execute(self, query: str, params: dict[str, Any] | None = None) -> Any:
        sql = self._store.sql(query)
        with self._store.translated():
            return self._conn.execute(sql, params or {})

    def all(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.execute(query, params)
        with self._store.translated():  # rows are read (and pages found bad) while fetching
            return list(cursor.fetchall())

    def one(self, query: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        cursor = self.execute(query, params)
        with self._store.translated():
            row: dict[str, Any] | None = cursor.fetchone()
            return row

    def row(self, query: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """A query that yields a row whenever it runs (an INSERT ... RETURNING, a row held in this transaction)."""
        row = self.one(query, params)
        if row is None:
            raise StoreError(f"{query} returned no row")
        return row

    def scalar(self, query: str, params: dict[str, Any] | None = None) -> Any:
        row = self.one(query, params)
        return None if row is None else next(iter(row.values()))

    def notify(self, channel: str) -> None:
        """Wake whoever listens on `channel`, once this transaction commits."""
        self.notifications.add(channel)


class Store:
    """A database: connections per thread (and per process), transactions, queries."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.dialect = connector.dialect
        self._local = thread_local()
        self._translated: dict[str, str] = {}

    def sql(self, query: str) -> str:
        sql = self._translated.get(query)
        if sql is None:
            part, _, name = query.partition(".")
            try:
                raw = _load_queries(part, self.dialect)[name]
            except KeyError:
                raise KeyError(f"no query {query!r} for {self.dialect}") from None
            sql = self._translated[query] = self.connector.translate(raw)
        return sql

    def connection(self) -> Any:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # never reuse a connection across fork
            local.conn = self.connector.connect()
            local.pid = os.getpid()
        return local.conn

    @contextmanager
    def translated(self) -> Iterator[None]:
        """Driver errors become the connector's one-line `StoreError`s (a corrupt file, a
        lock held too long ...); constraint violations and bugs pass through as they are."""
        try:
            yield
        except Exception as exc:
            mapped = self.connector.error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    @contextmanager
    def transaction(self, write: bool = False) -> Iterator[Tx]:
        conn = self.connection()
        with self.translated():
            self.connector.begin(conn, write)
        tx = Tx(self, conn)
        with self.translated():  # also what the body ran on the connection itself
            try:
                yield tx
            except BaseException:
                _rollback(conn)
                raise
            conn.commit()
        if tx.notifications:
            self.connector.notify(conn, tx.notifications)

    def listen(self, *channels: str) -> Waiter:
        """A waiter woken by `Tx.notify(channel)`, for any of `channels`, from any process."""
        return self.connector.listen(channels)

    def compact(self) -> None:
        with self.translated():
            self.connector.compact(self.connection())

    def check(self, quick: bool = False) -> list[str]:
        """What is wrong with the database (empty: nothing): SQLite's `integrity_check`
        (`quick_check` if `quick`), or a sanity check on PostgreSQL."""
        with self.transaction() as tx:
            return self.connector.check(tx.conn, quick)

    def backup(self, target: Path) -> None:
        """A consistent copy of the database at `target`, taken while it is in use."""
        with self.translated():
            self.connector.backup(self.connection(), target)

    def verify(self) -> None:
        """Raise `DatabaseGone` if the database was deleted or replaced since it was opened."""
        self.connector.verify()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local = thread_local()


def _rollback(conn: Any) -> None:
    try:
        conn.rollback()
    except Exception:  # noqa: BLE001 - the error that got us here is the one to report
        pass
