"""Opening the configured database: its home, its connector, its schema brought up to date."""

from __future__ import annotations

from pathlib import Path

from switchboard.config import Settings, secure_home
from switchboard.errors import StoreError
from switchboard.store.core import Connector, Store
from switchboard.store.migrate import ensure_current

KNOWN_DATABASES = "known-databases"  # in the home: SQLite files it created or used, one a line


def connector_for(url: str, settings: Settings, create: bool = False, *, one_shot: bool = False) -> Connector:
    if url.startswith("sqlite:///"):
        from switchboard.store.sqlite import SQLiteConnector

        path, _, query = url.removeprefix("sqlite:///").partition("?")
        if query not in ("", "mode=ro"):
            raise StoreError(f"unsupported SQLite URL option {query!r}: only mode=ro is known")
        return SQLiteConnector(
            Path(path),
            settings.busy_timeout_seconds,
            read_only=query == "mode=ro",
            known=settings.home / KNOWN_DATABASES,
            create=create,
            one_shot=one_shot,
        )
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        from switchboard.store.postgres import PostgresConnector

        return PostgresConnector(url)
    raise StoreError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql+psycopg://...")


def open_store(settings: Settings, migrate: bool = True, create: bool = False, *, one_shot: bool = False) -> Store:
    """Open the configured database, creating and upgrading its schema on first use.

    A SQLite file is created only the first time: once the home has used it (see
    `KNOWN_DATABASES`), a missing file is `DatabaseGone` unless `create` (`sb db init`).
    `one_shot`: a CLI call that ends its process without closing the store (see
    `SQLiteConnector`)."""
    # The home holds the SQLite file; on PostgreSQL too it holds logs and runner folders.
    if settings.database_url.startswith("sqlite:///") or settings.home.is_dir():
        try:
            secure_home(settings.home)
        except OSError as exc:
            raise StoreError(f"cannot create home directory {settings.home}: {exc.strerror}") from None
    store = Store(connector_for(settings.database_url, settings, create, one_shot=one_shot))
    if migrate:
        ensure_current(store)
    return store
