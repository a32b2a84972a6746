"""Is the database whole, and a copy of it: `sb db check`, `sb db backup`, and the quick
check `coordinator start` makes before it works on a database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from switchboard.errors import DatabaseCorrupt, InvalidInput
from switchboard.store.core import Store

GUIDE = "restore a backup as docs/operations.md (Backups) says"


def verdict(store: Store, quick: bool = False) -> dict[str, Any]:
    """The check's report when the database is whole; `DatabaseCorrupt` (one line) when not."""
    name = ("quick_check" if quick else "integrity_check") if store.dialect == "sqlite" else "sanity"
    try:
        problems = store.check(quick=quick)
    except DatabaseCorrupt as exc:  # too damaged for the check to run to its end
        problems = [exc.cause]
    where = store.connector.describe()
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        named = getattr(store.connector, "path", where)  # a SQLite file by its path, as other errors do
        raise DatabaseCorrupt(f"database {named} is damaged: {problems[0]}{more}; {GUIDE}")
    return {"database": where, "check": name, "ok": True}


def backup(store: Store, target: Path) -> dict[str, Any]:
    """Copy the database to the new file `target`."""
    target = target.expanduser().resolve()
    if target.exists():
        raise InvalidInput(f"cannot back up to {target}: it exists already")
    if not target.parent.is_dir():
        raise InvalidInput(f"cannot back up to {target}: directory {target.parent} does not exist")
    try:
        store.backup(target)
    except BaseException:
        target.unlink(missing_ok=True)  # no half-written copy
        raise
    return {"database": store.connector.describe(), "backup": str(target), "bytes": target.stat().st_size}
