"""`RunnerTools`: what a runner may do in the middle of a task, as one identity.

This is the Python API behind the MCP tools (`switchboard.mcp.server` only turns
it into MCP). The identity is fixed when the object is made, from the runner's
MCP server entry, never from a tool's arguments:

- memory: the runner's own namespace (the default) and `shared`, to recall from
  and to store into; any other namespace is refused;
- mail: sent as the runner; its own inbox to check and read;
- task reports: a `status_report` to `coordinator` about the task it is running.

Each method returns text for the model to read, and raises a `SwitchboardError`
for a request it refuses.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from switchboard.config import Settings
from switchboard.errors import InvalidInput, NotFound
from switchboard.mailbox import Mailbox
from switchboard.mailbox.models import Message
from switchboard.memory import SHARED, Memory
from switchboard.memory.models import RecallResult
from switchboard.names import check_name
from switchboard.store import Store, open_store
from switchboard.timefmt import iso

COORDINATOR = "coordinator"
REPORT_STATUSES = ("progress", "blocked", "done", "failed")


class AccessDenied(InvalidInput):
    """A runner asked for another runner's namespace or mail."""


class RunnerTools:
    def __init__(self, settings: Settings, agent: str, *, store: Store | None = None, embedder: Any = None) -> None:
        self.agent = check_name(agent, "runner name")
        self.settings = settings.with_overrides(agent=self.agent)
        self.store = store or open_store(self.settings)
        if embedder is None:
            from switchboard.memory import warm

            embedder = warm.embedder(self.settings)
        self.memory = Memory(self.store, self.settings, embedder)
        self.mailbox = Mailbox(self.store, self.settings)

    # -- memory ----------------------------------------------------------------------

    def namespace(self, namespace: str | None) -> str:
        """The namespace to use: the runner's own by default; only it and `shared` are allowed."""
        chosen = namespace or self.agent
        if chosen not in (self.agent, SHARED):
            raise AccessDenied(
                f"runner {self.agent!r} cannot use namespace {chosen!r}: only its own ({self.agent!r}) and {SHARED!r}"
            )
        return chosen

    def recall(
        self,
        query: str,
        *,
        namespace: str | None = None,
        shared: bool = True,
        limit: int = 5,
        type: str | None = None,
        tags: str | Iterable[str] | None = None,
        mode: str = "hybrid",
    ) -> str:
        result = self.memory.recall(
            query,
            namespace=self.namespace(namespace),
            shared=shared,
            limit=min(max(limit, 1), 50),
            type=type or None,
            tags=tags or None,
            mode=mode,
        )
        return recall_text(result)

    def store_memory(
        self,
        content: str,
        *,
        namespace: str | None = None,
        type: str = "WORKING_SOLUTION",
        tags: str | Iterable[str] | None = None,
        confidence: str = "medium",
        supersedes: int | None = None,
        ttl_days: float | None = None,
    ) -> str:
        result = self.memory.store(
            content,
            namespace=self.namespace(namespace),
            type=type,
            tags=tags or None,
            confidence=confidence,
            supersedes=supersedes,
            ttl_days=ttl_days,
            source=f"runner {self.agent}",
        )
        memory = result.memory
        if result.merged:
            return f"Already stored: merged into memory #{memory.id} in namespace {memory.namespace}."
        return f"Stored memory #{memory.id} in namespace {memory.namespace}."

    # -- mail ------------------------------------------------------------------------

    def send(
        self, to: str, payload: str, *, type: str = "discovery", priority: str = "normal", reply_to: int | None = None
    ) -> str:
        sent = self.mailbox.send(to, type, payload, sender=self.agent, priority=priority, reply_to=reply_to)
        if len(sent) == 1:
            return f"Sent {sent[0].type.value} #{sent[0].id} to {sent[0].to_agent}."
        return f"Sent {len(sent)} copies: " + ", ".join(f"#{m.id} to {m.to_agent}" for m in sent) + "."

    def check(self, *, unread_only: bool = True, type: str | None = None, limit: int = 20) -> str:
        messages = self.mailbox.check(
            self.agent, unread_only=unread_only, type=type or None, limit=min(max(limit, 1), 100)
        )
        which = "unread message" if unread_only else "message"
        if not messages:
            return f"No {which}s for {self.agent}."
        lines = [f"{len(messages)} {which}(s) for {self.agent}, most urgent first (read one with mail_read):"]
        for message in messages:
            body = " ".join(message.payload.split())
            lines.append(
                f"- #{message.id} {message.type.value} from {message.from_agent} "
                f"({message.priority.label}, {message.status.value}, {iso(message.created_at)}): "
                + (body if len(body) <= 200 else body[:199] + "…")
            )
        return "\n".join(lines)

    def read(self, message_id: int) -> str:
        message = self.mailbox.get(message_id)
        if self.agent not in (message.to_agent, message.from_agent):
            raise AccessDenied(f"message #{message_id} is not in {self.agent}'s mailbox")
        if message.to_agent == self.agent:
            message = self.mailbox.read(message_id)
        return message_text(message)

    # -- reports ---------------------------------------------------------------------

    def report(self, summary: str, *, status: str = "progress", task_id: int | None = None) -> str:
        """Tell the coordinator how the runner's current task goes. The task is the one it
        is running; `task_id` picks one when it runs several, else all are named."""
        if status not in REPORT_STATUSES:
            raise InvalidInput(f"unknown status {status!r}: use {', '.join(REPORT_STATUSES)}")
        if not summary or not summary.strip():
            raise InvalidInput("summary is empty")
        current = self._current(task_id)
        about = " or ".join(_about(run_id, task) for run_id, task in current) or "no task"
        task = current[0][1] if len(current) == 1 else None
        payload = f"Runner {self.agent} reports {status} on {about}: {summary.strip()}"
        reply_to = (
            int(task.source_ref)
            if task is not None and task.source == "mail" and str(task.source_ref or "").isdigit()
            else None
        )
        try:
            (sent,) = self.mailbox.send(COORDINATOR, "status_report", payload, sender=self.agent, reply_to=reply_to)
        except NotFound:  # the dispatching message was pruned meanwhile
            (sent,) = self.mailbox.send(COORDINATOR, "status_report", payload, sender=self.agent)
        return f"Reported {status} on {about} to {COORDINATOR} (message #{sent.id})."

    def _current(self, task_id: int | None) -> list[tuple[int | None, Any]]:
        """(run id, task or None) of what the runner is doing: the task given, else its
        runs in progress (none for an identity that is not a runner)."""
        from switchboard.coordinator.tasks import Tasks
        from switchboard.runners import Runners

        tasks = Tasks(self.store, self.settings)
        if task_id is not None:
            task = tasks.get(task_id)
            if self.agent not in (task.assigned_runner, task.runner):
                raise AccessDenied(f"task #{task_id} is not assigned to {self.agent}")
            return [(task.run_id, task)]
        try:
            running = [
                r for r in Runners(self.store, self.settings).runs(self.agent, limit=50) if r.status == "running"
            ]
        except NotFound:
            return []
        return [(r.id, tasks.get(r.task_id) if r.task_id else None) for r in running]


def _about(run_id: int | None, task: Any) -> str:
    if task is not None:
        return f"task #{task.id}" + (f" (run-{run_id})" if run_id else "")
    return f"run-{run_id}"


def recall_text(result: RecallResult) -> str:
    scope = " and ".join(result.namespaces)
    if not result.hits:
        return f"No memories found for {result.query!r} in {scope}."
    count = f"{len(result.hits)} memor{'y' if len(result.hits) == 1 else 'ies'}"
    lines = [f"{count} for {result.query!r} from {scope}, best first:"]
    for hit in result.hits:
        memory = hit.memory
        meta = [
            f"#{memory.id}",
            memory.namespace,
            memory.type.value,
            (iso(memory.created_at) or "")[:10],
            f"score {hit.score:.4f}",
        ]
        if memory.tags:
            meta.append("tags: " + ", ".join(memory.tags))
        body = "\n  ".join(memory.content.splitlines())
        lines.append(f"- {body} ({'; '.join(meta)})")
    lines.extend(f"warning: {w}" for w in result.warnings)
    return "\n".join(lines)


def message_text(message: Message) -> str:
    head = [
        f"Message #{message.id}: {message.type.value} from {message.from_agent} to {message.to_agent}",
        f"priority {message.priority.label}, sent {iso(message.created_at)}",
    ]
    if message.reply_to:
        head.append(f"in reply to #{message.reply_to}")
    return "; ".join(head) + "\n\n" + message.payload
