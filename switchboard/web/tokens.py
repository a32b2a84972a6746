"""`Tokens`: the HTTP API's bearer tokens. Only a token's sha256 is stored; the token
itself is shown once, when it is made."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from switchboard.config import Settings
from switchboard.errors import NotFound
from switchboard.names import check_name, parse_choice
from switchboard.store import Store, open_store
from switchboard.timefmt import iso

PREFIX = "sbt_"
TOUCH_EVERY = 60.0  # seconds between updates of a token's last use


class Scope(StrEnum):
    READ = "read"  # GET: lists, details, the event stream, the dashboard
    WRITE = "write"  # everything, including adding and cancelling tasks


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    scope: Scope
    created_at: float
    last_used_at: float | None
    revoked_at: float | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Token:
        return cls(
            row["id"], row["name"], Scope(row["scope"]), row["created_at"], row["last_used_at"], row["revoked_at"]
        )

    def allows(self, scope: Scope) -> bool:
        return self.scope is Scope.WRITE or scope is Scope.READ

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope.value,
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
        }


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, settings: Settings) -> Tokens:
        return cls(open_store(settings))

    def create(self, scope: str | Scope, name: str = "token") -> tuple[Token, str]:
        """A new token and its secret text (shown once; only its hash is kept)."""
        kind = parse_choice(Scope, scope, "token scope")
        check_name(name, "token name")
        secret = PREFIX + secrets.token_urlsafe(32)
        with self.store.transaction(write=True) as tx:
            row = tx.row(
                "web.token_insert",
                {"name": name, "scope": kind.value, "token_hash": digest(secret), "now": time.time()},
            )
        return Token.from_row(row), secret

    def list(self) -> list[Token]:
        with self.store.transaction() as tx:
            return [Token.from_row(r) for r in tx.all("web.tokens")]

    def revoke(self, token_id: int) -> Token:
        with self.store.transaction(write=True) as tx:
            row = tx.one("web.token_revoke", {"id": token_id, "now": time.time()})
        if row is None:
            raise NotFound(f"no active token with id {token_id}")
        return Token.from_row(row)

    def check(self, secret: str) -> Token | None:
        """The live token whose text is `secret`, or None."""
        if not secret.startswith(PREFIX) or len(secret) > 200:
            return None
        with self.store.transaction() as tx:
            row = tx.one("web.token_by_hash", {"token_hash": digest(secret)})
        if row is None:
            return None
        token = Token.from_row(row)
        now = time.time()
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            with self.store.transaction(write=True) as tx:
                tx.execute("web.token_used", {"id": token.id, "now": now})
        return token
