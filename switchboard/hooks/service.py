"""`Hooks`: the webhooks' Python API — adding and listing hooks, their delivery log,
and what the delivery loop needs (claim due deliveries, build the signed request,
record the outcome)."""

from __future__ import annotations

import builtins
import json
import secrets
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from switchboard import __version__
from switchboard.config import Settings
from switchboard.coordinator.models import Task
from switchboard.coordinator.tasks import Tasks
from switchboard.errors import InvalidInput, NotFound
from switchboard.hooks.models import Delivery, Hook, HookEvent, HookFormat
from switchboard.hooks.signing import MAX_SKEW_SECONDS, BadSignature, signed_headers
from switchboard.names import parse_choice
from switchboard.store import Store, Tx, open_store

MAX_URL_LENGTH = 2000
MIN_SECRET_LENGTH = 16
_MARKS = {HookEvent.DONE: "✅", HookEvent.FAILED: "⚠️", HookEvent.DEAD: "❌", HookEvent.CANCELLED: "⏹"}


class Hooks:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    @classmethod
    def open(cls, settings: Settings | None = None) -> Hooks:
        settings = settings or Settings.load()
        return cls(open_store(settings), settings)

    # -- for users ---------------------------------------------------------------

    def add(
        self,
        url: str,
        on: str | Iterable[str] = "done,failed,dead",
        *,
        format: str | HookFormat = "json",
        secret: str | None = None,
    ) -> Hook:
        """Post to `url` when a task ends in one of the `on` ways. The hook's secret signs
        every delivery; without one given, a random one is made (see `Hook.secret`)."""
        url = check_url(url)
        events = parse_events(on)
        kind = parse_choice(HookFormat, format, "hook format")
        if secret is not None and len(secret) < MIN_SECRET_LENGTH:
            raise InvalidInput(f"a hook secret needs at least {MIN_SECRET_LENGTH} characters")
        with self.store.transaction(write=True) as tx:
            row = tx.row(
                "hooks.insert",
                {
                    "url": url,
                    "events": "," + ",".join(events) + ",",
                    "format": kind.value,
                    "secret": secret or secrets.token_urlsafe(32),
                    "now": time.time(),
                },
            )
        return Hook.from_row(row)

    def list(self) -> list[Hook]:
        with self.store.transaction() as tx:
            return [Hook.from_row(r) for r in tx.all("hooks.list")]

    def get(self, hook_id: int) -> Hook:
        with self.store.transaction() as tx:
            row = tx.one("hooks.get", {"id": hook_id})
        if row is None:
            raise NotFound(f"no hook with id {hook_id}")
        return Hook.from_row(row)

    def remove(self, hook_id: int) -> Hook:
        """Remove a hook and its delivery log."""
        with self.store.transaction(write=True) as tx:
            row = tx.one("hooks.delete", {"id": hook_id})
        if row is None:
            raise NotFound(f"no hook with id {hook_id}")
        return Hook.from_row(row)

    def log(self, hook_id: int | None = None, limit: int = 50) -> builtins.list[tuple[Delivery, str]]:
        """Recent deliveries (newest first) and the URL each went to."""
        if hook_id is not None:
            self.get(hook_id)
        with self.store.transaction() as tx:
            rows = tx.all("hooks.log", {"hook_id": hook_id, "limit": limit})
        return [(Delivery.from_row(r), r["url"]) for r in rows]

    def dispatch(
        self,
        signature: str,
        prompt: str,
        *,
        runner: str | None = None,
        role: str | None = None,
        priority: str = "normal",
        convoy: str | None = None,
    ) -> Task:
        """Queue the task of a dispatch request whose `signature` was verified; a replay of
        the same request is refused, and a refused task leaves no trace."""

        def once(tx: Tx) -> None:
            now = time.time()
            tx.execute("hooks.forget_signatures", {"before": now - 2 * MAX_SKEW_SECONDS})
            if tx.one("hooks.remember_signature", {"signature": signature, "now": now}) is None:
                raise BadSignature("replayed request: this signature was used before")

        return Tasks(self.store, self.settings).add(
            prompt, runner=runner, role=role, priority=priority, convoy=convoy, source="dispatch", guard=once
        )

    # -- for the delivery loop -----------------------------------------------------

    def claim(self, limit: int, lease: float) -> builtins.list[Delivery]:
        now = time.time()
        with self.store.transaction(write=True) as tx:
            rows = tx.all("hooks.claim", {"now": now, "lease_until": now + lease, "limit": limit})
        return [Delivery.from_row(r) for r in rows]

    def delivered(self, delivery: Delivery, code: int) -> None:
        with self.store.transaction(write=True) as tx:
            tx.execute("hooks.delivered", {"id": delivery.id, "code": code, "now": time.time()})

    def failed(self, delivery: Delivery, error: str, *, code: int | None, retry_in: float, max_tries: int) -> None:
        """A failed try: another after `retry_in` seconds, or dead after `max_tries`."""
        with self.store.transaction(write=True) as tx:
            tx.execute(
                "hooks.failed",
                {
                    "id": delivery.id,
                    "code": code,
                    "error": error[:500],
                    "available_at": time.time() + retry_in,
                    "max_tries": max_tries,
                },
            )

    def next_due(self) -> float | None:
        """When the next pending delivery is due (epoch seconds), or None."""
        with self.store.transaction() as tx:
            due: float | None = tx.scalar("hooks.next_due")
        return due

    def request(self, delivery: Delivery) -> tuple[str, bytes, dict[str, str]]:
        """The URL, body and headers of a delivery's POST, signed with its hook's secret."""
        hook = self.get(delivery.hook_id)
        task = Tasks(self.store, self.settings).get(delivery.task_id).to_dict()
        task.update(result=delivery.result, error=delivery.error, attempts=delivery.attempt)
        task["status"] = "queued" if delivery.event is HookEvent.FAILED else delivery.event.value
        if hook.format is HookFormat.JSON:
            payload: dict[str, Any] = {
                "event": delivery.event.value,
                "delivery": delivery.id,
                "hook": hook.id,
                "task": task,
            }
        else:
            key, limit = ("text", 3000) if hook.format is HookFormat.SLACK else ("content", 2000)
            payload = {key: _message(delivery, task)[:limit]}
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"switchboard/{__version__}",
            "X-Switchboard-Event": delivery.event.value,
            "X-Switchboard-Delivery": str(delivery.id),
            **signed_headers(hook.secret, body),
        }
        return hook.url, body, headers


def check_url(url: str) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"invalid hook URL {url!r}: give an http:// or https:// URL")
    return url


def parse_events(on: str | Iterable[str]) -> list[str]:
    items = on.split(",") if isinstance(on, str) else list(on)
    events = [parse_choice(HookEvent, item, "hook event").value for item in items if str(item).strip()]
    if not events:
        raise InvalidInput(f"--on needs one or more of {', '.join(e.value for e in HookEvent)}")
    return sorted(set(events), key=[e.value for e in HookEvent].index)


def _message(delivery: Delivery, task: dict[str, Any]) -> str:
    who = task.get("assigned_runner") or task.get("runner") or "any runner"
    prompt = " ".join(str(task["prompt"]).split())[:200]
    outcome = delivery.result if delivery.event is HookEvent.DONE else delivery.error
    line = f"{_MARKS[delivery.event]} switchboard task #{delivery.task_id} {delivery.event.value} ({who}): {prompt}"
    return f"{line}\n{outcome.strip()}" if outcome and outcome.strip() else line
