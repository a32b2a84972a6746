"""SQLite connector: WAL, busy timeout, foreign keys, sqlite-vec, and socket wake-ups.

The running Python's `sqlite3` is used when it can load extensions; otherwise
(pyenv and macOS system Pythons among others) `sqlean.py`, a drop-in `sqlite3`
built with extension loading and FTS5, is used transparently. With neither,
switchboard still works; only the vector index is missing (`vec_version` None).
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
from pathlib import Path
from types import ModuleType
from urllib.parse import quote
from typing import Any

from switchboard.config import private_file
from switchboard.errors import DatabaseCorrupt, DatabaseGone, StoreError
from switchboard.store.notify import SocketWaiter, notify_sockets


def _driver() -> ModuleType:
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        import sqlean
    except ImportError:
        return sqlite3
    module: ModuleType = sqlean  # untyped: mypy sees Any
    return module


def _vec_path() -> str | None:
    # Found without importing sqlite_vec, whose __init__ pulls in numpy (~90 ms).
    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(spec.submodule_search_locations[0]) / "vec0")


def corrupt(path: Path, cause: str) -> DatabaseCorrupt:
    return DatabaseCorrupt(
        f"database {path} is damaged ({cause}): run `sb db check`, and restore a "
        f"backup as docs/operations.md (Backups) says",
        cause,
    )


def _dict_row(cursor: Any, row: tuple[Any, ...]) -> dict[str, Any]:
    return {col[0]: value for col, value in zip(cursor.description, row)}


class SQLiteConnector:
    dialect = "sqlite"
    # Vectors are searched through a vec0 table kept beside memory_vectors (when sqlite-vec loads).
    vector_index_table = True

    def __init__(
        self,
        path: Path,
        busy_timeout: float,
        read_only: bool = False,
        *,
        known: Path | None = None,
        create: bool = False,
        one_shot: bool = False,
    ) -> None:
        self.path = path
        # A one-shot process (a hot `sb mail` call) syncs each commit to the WAL and then
        # exits without closing: closing the last connection would checkpoint the WAL
        # into the database (four fsyncs) for nothing the next opener needs.
        self.synchronous = "FULL" if one_shot else "NORMAL"
        self.read_only = read_only
        self.busy_timeout = busy_timeout
        self.module = _driver()
        self.vec_version: str | None = None
        self.notify_dir = path.with_name(path.name + ".notify")
        # `known` lists the databases the home has used: one of them missing is gone, not new.
        self.known = known
        self.create = create
        self.identity: tuple[int, int] | None = None  # (device, inode) of the file first opened

    def describe(self) -> str:
        return f"sqlite:///{self.path}" + ("?mode=ro" if self.read_only else "")

    def connect(self) -> Any:
        if not self.path.parent.is_dir():
            raise StoreError(f"cannot open database {self.path}: directory does not exist")
        known = self._known()
        if not self.path.exists() and not self.create and (str(self.path) in known or self.identity):
            raise self.gone()
        if not self.read_only and not self.path.exists():
            try:  # born 0600: SQLite gives its -wal and -shm files the same mode
                private_file(self.path)
            except OSError as exc:
                raise StoreError(f"cannot create database {self.path}: {exc.strerror}") from None
        try:
            target = f"file:{quote(str(self.path))}?mode=ro" if self.read_only else str(self.path)
            conn = self.module.connect(target, timeout=self.busy_timeout, isolation_level=None, uri=self.read_only)
            conn.row_factory = _dict_row
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except self.module.OperationalError:
                pass  # a read-only database keeps its journal mode; writes fail clearly later
        except self.module.Error as exc:
            mapped = self.error(exc)
            if mapped is None:  # a misuse of the driver, not the database's state: as it is
                raise
            raise mapped from None
        self._load_vec(conn)
        if self.identity is None:
            self.identity = self._stat()
        if str(self.path) not in known and not self.read_only:
            self._remember()
        return conn

    def _read_only_fs(self) -> str:
        """Why SQLite could not open the file, when the reason is a read-only filesystem
        (SQLite itself only says "unable to open database file")."""
        try:
            read_only = os.statvfs(self.path.parent).f_flag & os.ST_RDONLY
        except OSError:
            return ""
        return " (its filesystem is read-only)" if read_only else ""

    def gone(self) -> DatabaseGone:
        return DatabaseGone(f"database {self.path} is gone; restore it or run `sb db init`")

    def verify(self) -> None:
        """Raise `DatabaseGone` if the file first opened was deleted or replaced since."""
        now = self._stat()
        if now is None:
            raise self.gone()
        if self.identity is not None and now != self.identity:
            raise DatabaseGone(
                f"database {self.path} was replaced by another file while in use; restart to use the new one"
            )

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def _known(self) -> set[str]:
        if self.known is None:
            return set()
        try:
            return set(self.known.read_text().splitlines())
        except OSError:
            return set()

    def _remember(self) -> None:
        if self.known is None:
            return
        try:
            with private_file(self.known).open("a") as fh:
                fh.write(f"{self.path}\n")
        except OSError:
            pass  # a home we cannot write to: the database itself says so when written

    def _load_vec(self, conn: Any) -> None:
        path = _vec_path()
        if path is None or not hasattr(conn, "enable_load_extension"):
            return
        try:
            conn.enable_load_extension(True)
            conn.load_extension(path)
            conn.enable_load_extension(False)
            self.vec_version = conn.execute("SELECT vec_version() AS v").fetchone()["v"]
        except self.module.Error:
            self.vec_version = None

    def begin(self, conn: Any, write: bool) -> None:
        # A write takes the write lock up front: a deferred transaction that later
        # upgrades can fail at once with SQLITE_BUSY, bypassing the busy timeout.
        conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def translate(self, sql: str) -> str:
        return sql  # sqlite3 takes :name parameters as written

    def error(self, exc: BaseException) -> StoreError | None:
        if not isinstance(exc, self.module.Error) or isinstance(exc, self.module.ProgrammingError):
            return None
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreError(f"database {self.path} stayed locked by another process for over {self.busy_timeout:g}s")
        if "malformed" in text or "not a database" in text:
            return corrupt(self.path, text)
        if "readonly" in text or "read-only" in text:
            return StoreError(f"database {self.path} is read-only")
        if "unable to open" in text:
            return StoreError(f"cannot open database {self.path}: {text}{self._read_only_fs()}")
        if isinstance(exc, self.module.IntegrityError):
            return None  # a constraint is the caller's to explain
        return StoreError(f"database {self.path}: {text}")

    def check(self, conn: Any, quick: bool) -> list[str]:
        rows = conn.execute("PRAGMA quick_check" if quick else "PRAGMA integrity_check").fetchall()
        problems = [str(next(iter(row.values()))) for row in rows]
        return [] if problems == ["ok"] else problems

    def backup(self, conn: Any, target: Path) -> None:
        # The backup API copies a consistent snapshot page by page while others keep writing.
        try:
            copy = self.module.connect(str(target))
        except self.module.Error as exc:
            raise StoreError(f"cannot write backup {target}: {exc}") from None
        try:
            conn.backup(copy)
        finally:
            copy.close()

    def run_script(self, conn: Any, script: str) -> None:
        # executescript() would commit the open transaction, so run statements one by one.
        statement = ""
        for line in script.splitlines(keepends=True):
            statement += line
            if self.module.complete_statement(statement):
                conn.execute(statement)
                statement = ""
        if statement.strip():
            conn.execute(statement)

    def notify(self, conn: Any, channels: set[str]) -> None:
        notify_sockets(self.notify_dir, channels)

    def listen(self, channels: tuple[str, ...]) -> SocketWaiter:
        return SocketWaiter(self.notify_dir, channels)

    def encode_vector(self, vector: Any) -> bytes:
        """A float32 vector as stored: little-endian bytes (sqlite-vec's format)."""
        import numpy as np

        return np.asarray(vector, dtype="<f4").tobytes()

    def decode_vector(self, value: Any) -> Any:
        import numpy as np

        return np.frombuffer(bytes(value), dtype="<f4")

    def after_bulk_load(self, conn: Any, tables: list[str]) -> None:
        pass  # AUTOINCREMENT follows the largest id by itself

    def compact(self, conn: Any) -> None:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
