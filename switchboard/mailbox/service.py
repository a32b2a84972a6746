"""`Mailbox`: the Python API of the mailbox. The CLI is a thin skin over it."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any

from switchboard.config import Settings
from switchboard.errors import Conflict, InvalidInput, NotFound
from switchboard.mailbox.models import (
    Agent,
    Delivery,
    Message,
    MessageType,
    Priority,
    PruneReport,
    parse_type,
)
from switchboard import validate
from switchboard.names import check_label, check_name, check_text
from switchboard.redaction import redact
from switchboard.store import Store, Tx, open_store

ALL = "all"
DEFAULT_SENDER = "user"
MAX_BACKOFF_SECONDS = 300.0
MAX_BATCH = 1000  # messages claimed or acked in one transaction


class Mailbox:
    """Durable messages between named agents.

    People read their inbox (`check`, `read`, `archive`); programs take work with
    leases (`claim`, `ack`, `nack`): a message whose lease runs out is handed out
    again, and after `max_attempts` claims it becomes a dead letter.
    """

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self._claimer = f"{os.uname().nodename}:{os.getpid()}"

    @classmethod
    def open(cls, settings: Settings | None = None, *, one_shot: bool = False) -> Mailbox:
        settings = settings or Settings.load()
        return cls(open_store(settings, one_shot=one_shot), settings)

    # -- sending -------------------------------------------------------------

    def send(
        self,
        to: str,
        type: str | MessageType,
        payload: str,
        *,
        sender: str | None = None,
        priority: str | Priority = Priority.NORMAL,
        convoy: str | None = None,
        reply_to: int | None = None,
        raw: bool = False,
    ) -> list[Message]:
        """Send a message; `to="all"` or type broadcast delivers a copy to every
        active agent but the sender. Returns the messages written. Secrets in the
        payload are stored as `[redacted:<kind>]` unless `raw` (`switchboard.redaction`)."""
        kind = parse_type(type)
        rank = Priority.parse(priority)
        if sender is None:  # an empty --from is refused, not replaced
            sender = self.settings.agent or DEFAULT_SENDER
        check_name(sender, "sender name", reserved={ALL})
        if to != ALL:
            check_name(to, "recipient name")
        if convoy is not None:
            check_name(convoy, "convoy name")
        check_text(payload, "payload", self.settings.max_payload_bytes)
        if not raw:
            payload = redact(payload)
        now = time.time()
        with self.store.transaction(write=True) as tx:
            thread_id = None
            if reply_to is not None:
                validate.integer(reply_to, "reply-to")
                parent = self._get(tx, reply_to)
                thread_id = parent.thread_root
            if to == ALL or kind is MessageType.BROADCAST:
                recipients = [r["name"] for r in tx.all("mailbox.broadcast_recipients", {"sender": sender})]
                if not recipients:
                    raise InvalidInput("no active agents to broadcast to: register some first")
            else:
                recipients = [to]
            sent = []
            for recipient in recipients:
                row = tx.row(
                    "mailbox.insert",
                    {
                        "from_agent": sender,
                        "to_agent": recipient,
                        "type": kind.value,
                        "priority": int(rank),
                        "convoy": convoy,
                        "payload": payload,
                        "reply_to": reply_to,
                        "thread_id": thread_id,
                        "max_attempts": self.settings.mail_max_attempts,
                        "now": now,
                    },
                )
                sent.append(Message.from_row(row))
                tx.notify(recipient)
            tx.execute("mailbox.touch", {"name": sender, "now": now})
        return sent

    # -- the human inbox -----------------------------------------------------

    def check(
        self,
        agent: str | None = None,
        *,
        unread_only: bool = False,
        type: str | MessageType | None = None,
        include_archived: bool = False,
        limit: int = 100,
    ) -> list[Message]:
        """An agent's messages (everyone's if `agent` is None), most urgent, then oldest, first."""
        if agent is not None:
            check_name(agent)
        kind = parse_type(type).value if type is not None else None
        with self.store.transaction() as tx:
            rows = tx.all(
                "mailbox.check",
                {
                    "agent": agent,
                    "type": kind,
                    "include_read": not unread_only,
                    "include_archived": include_archived and not unread_only,
                    "limit": limit,
                },
            )
        return [Message.from_row(r) for r in rows]

    def get(self, message_id: int) -> Message:
        with self.store.transaction() as tx:
            return self._get(tx, message_id)

    def read(self, message_id: int, agent: str | None = None) -> Message:
        """Mark a message read and return it. With `agent`, only a message addressed to that
        agent (the reference's `read ID --agent NAME`): another's is not found."""
        if agent is None:
            return self._update("mailbox.mark_read", message_id)
        check_name(agent)
        with self.store.transaction(write=True) as tx:
            if self._get(tx, message_id).to_agent != agent:
                raise NotFound(f"no message with id {message_id} for {agent}")
            return Message.from_row(tx.row("mailbox.mark_read", {"id": message_id, "now": time.time()}))

    def archive(self, message_id: int) -> Message:
        return self._update("mailbox.archive", message_id)

    def thread(self, message_id: int) -> list[Message]:
        """The thread a message belongs to: its root and every reply, in order."""
        with self.store.transaction() as tx:
            root = self._get(tx, message_id).thread_root
            return [Message.from_row(r) for r in tx.all("mailbox.thread", {"root": root})]

    # -- delivery for programs ----------------------------------------------

    def claim(
        self,
        agent: str,
        *,
        type: str | MessageType | None = None,
        lease: float | None = None,
        wait: float = 0.0,
    ) -> Message | None:
        """Lease the most urgent, oldest deliverable message for `agent`.

        With `wait`, block up to that many seconds for one to arrive; the wait
        sleeps until a sender's wake-up or the next retry or lease expiry is due.
        """
        claimed = self.claim_many(agent, 1, type=type, lease=lease, wait=wait)
        return claimed[0] if claimed else None

    def claim_many(
        self,
        agent: str,
        limit: int,
        *,
        type: str | MessageType | None = None,
        lease: float | None = None,
        wait: float = 0.0,
    ) -> list[Message]:
        """Lease up to `limit` deliverable messages for `agent` in one transaction, most
        urgent and oldest first, all under one lease token (ack them with `ack_many`).
        With `wait`, block up to that many seconds for at least one to arrive."""
        check_name(agent)
        limit = validate.integer(limit, "batch", minimum=1, maximum=MAX_BATCH)
        kind = parse_type(type).value if type is not None else None
        lease = validate.seconds(self.settings.mail_lease_seconds if lease is None else lease, "lease", positive=True)
        wait = validate.seconds(wait, "wait")
        deadline = time.monotonic() + wait
        waiter = self.store.listen(agent) if wait > 0 else None
        try:
            while True:
                messages, due = self._claim_once(agent, kind, lease, limit)
                remaining = deadline - time.monotonic()
                if messages or remaining <= 0 or waiter is None:
                    return messages
                sleep = remaining if due is None else min(remaining, max(0.01, due - time.time()))
                waiter.wait(sleep)
        finally:
            if waiter is not None:
                waiter.close()

    def _claim_once(self, agent: str, kind: str | None, lease: float, limit: int) -> tuple[list[Message], float | None]:
        now = time.time()
        with self.store.transaction(write=True) as tx:
            tx.execute("mailbox.bury_expired", {"agent": agent, "now": now})
            rows = tx.all(
                "mailbox.claim_many",
                {
                    "agent": agent,
                    "type": kind,
                    "now": now,
                    "expires": now + lease,
                    "limit": limit,
                    "token": os.urandom(8).hex(),
                    "claimer": self._claimer,
                },
            )
            if rows:
                tx.execute("mailbox.touch", {"name": agent, "now": now})
                messages = sorted((Message.from_row(r) for r in rows), key=lambda m: (m.priority, m.id))
                return messages, None
            return [], tx.scalar("mailbox.next_due", {"agent": agent, "type": kind})

    def ack(self, message_id: int, lease_token: str | None = None) -> Message:
        """Mark a leased message done. With `lease_token`, only if that lease still holds it."""
        return self.ack_many([message_id], lease_token)[0]

    def ack_many(self, message_ids: Iterable[int], lease_token: str | None = None) -> list[Message]:
        """Mark leased messages done in one statement: all of them, or none (a `Conflict`
        naming the first one that is not leased, or whose lease `lease_token` no longer holds)."""
        ids = list(dict.fromkeys(validate.integer(i, "message id") for i in message_ids))
        if len(ids) > MAX_BATCH:
            raise InvalidInput(f"batch: at most {MAX_BATCH} messages at once, not {len(ids)}")
        with self.store.transaction(write=True) as tx:
            rows = tx.all("mailbox.ack_many", {"ids": json.dumps(ids), "token": lease_token, "now": time.time()})
            if len(rows) < len(ids):
                acked = {r["id"] for r in rows}
                missing = next(i for i in ids if i not in acked)
                self._held_lease(tx, missing, lease_token)  # raises, saying why
                raise Conflict(f"message {missing} could not be acked")
            order = {message_id: n for n, message_id in enumerate(ids)}
            return sorted((Message.from_row(r) for r in rows), key=lambda m: order[m.id])

    def nack(
        self,
        message_id: int,
        *,
        reason: str | None = None,
        retry_in: float | None = None,
        lease_token: str | None = None,
    ) -> Message:
        """Give a leased message back: it is retried after `retry_in` seconds (default:
        exponential backoff), or becomes a dead letter if it has used its attempts."""
        if retry_in is not None:
            validate.seconds(retry_in, "retry-in")
        with self.store.transaction(write=True) as tx:
            token = self._held_lease(tx, message_id, lease_token)
            attempts = self._get(tx, message_id).attempts
            delay = retry_in if retry_in is not None else min(2.0**attempts, MAX_BACKOFF_SECONDS)
            row = tx.row(
                "mailbox.nack",
                {
                    "id": message_id,
                    "token": token,
                    "reason": reason,
                    "available_at": time.time() + delay,
                },
            )
            message = Message.from_row(row)
            tx.notify(message.to_agent)
            return message

    def _held_lease(self, tx: Tx, message_id: int, lease_token: str | None) -> str:
        message = self._get(tx, message_id)
        if message.delivery is not Delivery.LEASED:
            raise Conflict(f"message {message_id} is not leased (it is {message.delivery.value})")
        if lease_token is not None and lease_token != message.lease_token:
            raise Conflict(f"message {message_id}: the lease has passed to another claim")
        return message.lease_token  # type: ignore[return-value]

    def dead(self, agent: str | None = None) -> list[Message]:
        """Dead letters: messages that used all their attempts."""
        if agent is not None:
            check_name(agent)
        with self.store.transaction() as tx:
            return [Message.from_row(r) for r in tx.all("mailbox.dead", {"agent": agent})]

    def retry(self, message_id: int) -> Message:
        """Requeue a dead letter with a fresh set of attempts."""
        with self.store.transaction(write=True) as tx:
            message = self._get(tx, message_id)
            if message.delivery is not Delivery.DEAD:
                raise Conflict(f"message {message_id} is not dead (it is {message.delivery.value})")
            message = Message.from_row(tx.row("mailbox.retry", {"id": message_id, "now": time.time()}))
            tx.notify(message.to_agent)
            return message

    # -- agents ----------------------------------------------------------------

    def register(
        self, agent: str, role: str = "worker", *, branch: str | None = None, worktree: str | None = None
    ) -> Agent:
        """Register an agent (or reactivate it), with the branch and worktree it works in
        if given (kept from before if not)."""
        check_name(agent, reserved={ALL})
        check_name(role, "role")
        for value, what in ((branch, "branch"), (worktree, "worktree")):
            if value is not None:
                check_label(value, what)
        with self.store.transaction(write=True) as tx:
            return Agent.from_row(
                tx.row(
                    "mailbox.register",
                    {"name": agent, "role": role, "branch": branch, "worktree": worktree, "now": time.time()},
                )
            )

    def deregister(self, agent: str) -> Agent:
        check_name(agent)
        with self.store.transaction(write=True) as tx:
            row = tx.one("mailbox.deregister", {"name": agent})
        if row is None:
            raise NotFound(f"no agent named {agent!r}")
        return Agent.from_row(row)

    def agents(self, active_only: bool = False) -> list[Agent]:
        with self.store.transaction() as tx:
            return [Agent.from_row(r) for r in tx.all("mailbox.agents", {"active_only": active_only})]

    # -- housekeeping ------------------------------------------------------------

    def status(self, agent: str | None = None) -> dict[str, Any]:
        """Message counts by inbox status, by delivery state and by type: of every message,
        or of those addressed to `agent` (then also its inbox and unread counts)."""
        if agent is not None:
            check_name(agent)
        with self.store.transaction() as tx:
            rows = tx.all("mailbox.counts", {"agent": agent})
            agents = tx.all("mailbox.agents", {"active_only": False})
        counts: dict[str, Counter[str]] = {"status": Counter(), "delivery": Counter(), "type": Counter()}
        for row in rows:
            for key in counts:
                counts[key][row[key]] += row["n"]
        report: dict[str, Any] = {
            "database": self.store.connector.describe(),
            "messages": sum(counts["type"].values()),
            **{f"by_{key}": dict(sorted(c.items())) for key, c in counts.items()},
            "agents": {
                "active": sum(a["status"] == "active" for a in agents),
                "inactive": sum(a["status"] == "inactive" for a in agents),
            },
        }
        if agent is not None:  # as the reference: the inbox is what is not archived
            report["agent"] = agent
            report["inbox"] = report["messages"] - counts["status"]["archived"]
            report["unread"] = counts["status"]["unread"]
        return report

    def prune(self, older_than_days: float = 7, force: bool = False, remember: bool = True) -> PruneReport:
        """Report (or with `force`, delete) handled messages older than the cutoff.

        Unread, unacked and leased messages are never pruned. Before deleting, the
        `discovery` and `status_report` messages are kept as memories in their
        recipient's namespace (`remember`), as the reference helper did.
        """
        validate.days(older_than_days, "older-than-days")
        cutoff = time.time() - older_than_days * 86400
        with self.store.transaction() as tx:
            rows = tx.all("mailbox.prunable", {"cutoff": cutoff})
        remembered = self._remember(rows) if force and remember else 0
        if force and rows:
            with self.store.transaction(write=True) as tx:
                tx.execute("mailbox.delete_upto", {"max_id": rows[-1]["id"], "cutoff": cutoff})
            self.store.compact()
        by_type = Counter(r["type"] for r in rows)
        return PruneReport(cutoff=cutoff, by_type=dict(sorted(by_type.items())), deleted=force, remembered=remembered)

    def _remember(self, rows: list[dict[str, Any]]) -> int:
        worth = [
            Message.from_row(r)
            for r in rows
            if r["type"] in (MessageType.DISCOVERY.value, MessageType.STATUS_REPORT.value)
        ]
        if not worth:
            return 0
        from switchboard.memory import Memory

        memory = Memory(self.store, self.settings)
        kept = 0
        for message in worth:
            try:
                memory.store(
                    f"{message.type.value} from {message.from_agent}: {message.payload}",
                    namespace=message.to_agent,
                    source=f"mail-{message.id}",
                    type="CODEBASE_PATTERN" if message.type is MessageType.DISCOVERY else "CONTEXT",
                )
                kept += 1
            except InvalidInput:
                pass  # e.g. a payload that looks like a secret: memory refuses it, the mail still goes
        return kept

    # -- helpers -----------------------------------------------------------------

    def _get(self, tx: Tx, message_id: int) -> Message:
        validate.integer(message_id, "message id")
        row = tx.one("mailbox.get", {"id": message_id})
        if row is None:
            raise NotFound(f"no message with id {message_id}")
        return Message.from_row(row)

    def _update(self, query: str, message_id: int) -> Message:
        validate.integer(message_id, "message id")
        with self.store.transaction(write=True) as tx:
            row = tx.one(query, {"id": message_id, "now": time.time()})
        if row is None:
            raise NotFound(f"no message with id {message_id}")
        return Message.from_row(row)
