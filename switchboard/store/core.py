"""Store and transactions over a dialect connector, with named SQL queries."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from switchboard.errors import StoreError

if TYPE_CHECKING:
    from switchboard.config import Settings

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

    def execute(self, query: str, params: dict[str, Any] | None = None) -> Any:
        sql = self._store.sql(query)
        try:
            return self._conn.execute(sql, params or {})
        except Exception as exc:  # driver errors are translated, bugs pass through
            mapped = self._store.connector.error(exc)
            if mapped is None:
                raise
            raise mapped from exc

    def all(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return list(self.execute(query, params).fetchall())

    def one(self, query: str, params: dict[str, Any] | None = None) -> dict[str, Any] | None:
        return self.execute(query, params).fetchone()

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
        self._local = threading.local()
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
    def transaction(self, write: bool = False) -> Iterator[Tx]:
        conn = self.connection()
        try:
            self.connector.begin(conn, write)
        except Exception as exc:
            raise (self.connector.error(exc) or exc) from exc
        tx = Tx(self, conn)
        try:
            yield tx
        except BaseException:
            conn.rollback()
            raise
        try:
            conn.commit()
        except Exception as exc:
            raise (self.connector.error(exc) or exc) from exc
        if tx.notifications:
            self.connector.notify(conn, tx.notifications)

    def listen(self, *channels: str) -> Waiter:
        """A waiter woken by `Tx.notify(channel)`, for any of `channels`, from any process."""
        return self.connector.listen(channels)

    def compact(self) -> None:
        self.connector.compact(self.connection())

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local = threading.local()


def connector_for(url: str, settings: Settings) -> Connector:
    if url.startswith("sqlite:///"):
        from switchboard.store.sqlite import SQLiteConnector

        path, _, query = url.removeprefix("sqlite:///").partition("?")
        if query not in ("", "mode=ro"):
            raise StoreError(f"unsupported SQLite URL option {query!r}: only mode=ro is known")
        return SQLiteConnector(Path(path), settings.busy_timeout_seconds, read_only=query == "mode=ro")
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        from switchboard.store.postgres import PostgresConnector

        return PostgresConnector(url)
    raise StoreError(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql+psycopg://..."
    )


def open_store(settings: Settings, migrate: bool = True) -> Store:
    """Open the configured database, creating and upgrading its schema on first use."""
    # The home holds the SQLite file; on PostgreSQL too it holds logs and runner folders.
    if settings.database_url.startswith("sqlite:///") or settings.home.is_dir():
        from switchboard.config import secure_home

        try:
            secure_home(settings.home)
        except OSError as exc:
            raise StoreError(f"cannot create home directory {settings.home}: {exc.strerror}") from None
    store = Store(connector_for(settings.database_url, settings))
    if migrate:
        from switchboard.store.migrate import ensure_current

        ensure_current(store)
    return store
