"""Retention: what settled work leaves behind (run logs, outcome memories, handled mail)
removed once it is older than a horizon (`db prune --older-than 30d`, setting
`retention_days`). Tasks and runs themselves stay, as the history `task show` and
`runner status` read; queued, running, unread and leased things are never touched."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchboard import validate
from switchboard.config import Settings
from switchboard.mailbox import Mailbox
from switchboard.store import Store
from switchboard.timefmt import iso


@dataclass(frozen=True)
class RetentionReport:
    cutoff: float
    run_logs: int  # runs whose log (and tool-call file) went
    memories: int  # outcome memories
    mail: dict[str, int]  # handled messages, by type
    deleted: bool  # False: a dry run, counts only

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": iso(self.cutoff),
            "run_logs": self.run_logs,
            "memories": self.memories,
            "mail": self.mail,
            "mail_total": sum(self.mail.values()),
            "deleted": self.deleted,
        }


class Retention:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def prune(self, older_than_days: float | None = None, *, dry_run: bool = False) -> RetentionReport:
        """Remove (with `dry_run`, count) what settled work older than the horizon left."""
        days = validate.days(self.settings.retention_days if older_than_days is None else older_than_days, "older-than")
        cutoff = time.time() - days * 86400
        with self.store.transaction() as tx:
            runs = tx.all("retention.settled_runs", {"cutoff": cutoff})
            memories = [r["id"] for r in tx.all("retention.outcome_memories", {"cutoff": cutoff})]
        mail = Mailbox(self.store, self.settings).prune(days, force=not dry_run, remember=False)
        if not dry_run:
            for run in runs:
                log = Path(run["log_path"])
                log.unlink(missing_ok=True)
                log.with_suffix(".json").unlink(missing_ok=True)
                with self.store.transaction(write=True) as tx:
                    tx.execute("retention.forget_log", {"id": run["id"]})
            if memories:
                from switchboard.memory import Memory

                Memory(self.store, self.settings).forget(memories)
        return RetentionReport(
            cutoff=cutoff, run_logs=len(runs), memories=len(memories), mail=mail.by_type, deleted=not dry_run
        )
