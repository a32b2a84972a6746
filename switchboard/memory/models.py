"""Memory's records: memories, recall hits, and the reports of housekeeping commands.

NamedTuples, as the mailbox's records (see `mailbox/models.py`): every `sb memory` call
imports them, and building a dataclass costs a short call more than its work.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, NamedTuple

from switchboard.names import parse_choice
from switchboard.timefmt import iso


class MemoryType(StrEnum):
    """The reference helper's vocabulary of what a memory records."""

    WORKING_SOLUTION = "WORKING_SOLUTION"
    FAILED_APPROACH = "FAILED_APPROACH"
    CODEBASE_PATTERN = "CODEBASE_PATTERN"
    USER_PREFERENCE = "USER_PREFERENCE"
    TOOL_CONFIG = "TOOL_CONFIG"
    DECISION = "DECISION"
    CONTEXT = "CONTEXT"
    ARCHITECTURAL_DECISION = "ARCHITECTURAL_DECISION"
    ERROR_FIX = "ERROR_FIX"
    OPEN_THREAD = "OPEN_THREAD"
    SUCCESS_PATTERN = "SUCCESS_PATTERN"
    FAILURE_PATTERN = "FAILURE_PATTERN"


class Confidence(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Relation(StrEnum):
    """How a memory relates to the one it supersedes. Only `updates` hides the older one."""

    UPDATES = "updates"
    EXTENDS = "extends"
    DERIVES = "derives"


class Mode(StrEnum):
    HYBRID = "hybrid"
    SEMANTIC = "semantic"
    KEYWORD = "keyword"


def parse_type(value: str | MemoryType) -> MemoryType:
    return parse_choice(MemoryType, value, "memory type", upper=True)


def parse_confidence(value: str | Confidence) -> Confidence:
    return parse_choice(Confidence, value, "confidence")


def parse_relation(value: str | Relation) -> Relation:
    return parse_choice(Relation, value, "relation")


def parse_mode(value: str | Mode) -> Mode:
    return parse_choice(Mode, value, "recall mode")


_TIMES = ("created_at", "updated_at", "accessed_at", "expires_at", "event_date")


class MemoryRecord(NamedTuple):
    id: int
    namespace: str
    content: str
    type: MemoryType
    tags: tuple[str, ...]
    confidence: Confidence
    source: str | None
    supersedes: int | None
    relation: Relation | None
    access_count: int
    created_at: float
    updated_at: float
    accessed_at: float | None
    expires_at: float | None
    event_date: float | None = None  # when it happened, if not when it was stored
    project: str | None = None  # the project directory it is about, within its namespace

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> MemoryRecord:
        values: dict[str, Any] = {name: row.get(name) for name in cls._fields}
        values["type"] = MemoryType(values["type"])
        values["confidence"] = Confidence(values["confidence"])
        values["relation"] = Relation(values["relation"]) if values["relation"] else None
        values["tags"] = split_tags(values["tags"])
        return cls(**values)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def to_dict(self) -> dict[str, Any]:
        data = self._asdict()
        data["type"] = self.type.value
        data["confidence"] = self.confidence.value
        data["relation"] = self.relation.value if self.relation else None
        data["tags"] = list(self.tags)
        for name in _TIMES:
            data[name] = iso(data[name])
        return data


def join_tags(tags: tuple[str, ...] | list[str]) -> str:
    """Tags as stored: `,a,b,`, so that one tag matches as `,a,` without false prefixes."""
    return f",{','.join(tags)}," if tags else ""


def split_tags(stored: str | None) -> tuple[str, ...]:
    return tuple(t for t in (stored or "").split(",") if t)


class StoreResult(NamedTuple):
    """A stored memory; `merged` when it repeated one already in the namespace."""

    memory: MemoryRecord
    merged: bool

    def to_dict(self) -> dict[str, Any]:
        return {**self.memory.to_dict(), "merged": self.merged}


class Hit(NamedTuple):
    """One recalled memory: its fused score and what each search made of it."""

    memory: MemoryRecord
    score: float
    found_by: tuple[str, ...]
    keyword_rank: int | None = None
    semantic_rank: int | None = None
    similarity: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.memory.to_dict(),
            "score": round(self.score, 6),
            "found_by": list(self.found_by),
            "keyword_rank": self.keyword_rank,
            "semantic_rank": self.semantic_rank,
            "similarity": None if self.similarity is None else round(self.similarity, 4),
        }


class RecallResult(NamedTuple):
    query: str
    mode: Mode
    namespaces: tuple[str, ...]
    hits: list[Hit]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode.value,
            "namespaces": list(self.namespaces),
            "hits": [h.to_dict() for h in self.hits],
            "warnings": self.warnings,
        }


class PruneReport(NamedTuple):
    cutoff: float
    expired: list[int]
    unused: list[int]
    deleted: bool

    @property
    def total(self) -> int:
        return len(self.expired) + len(self.unused)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": iso(self.cutoff),
            "expired": self.expired,
            "unused": self.unused,
            "total": self.total,
            "deleted": self.deleted,
        }


class MergeGroup(NamedTuple):
    """Near-duplicates folded into one survivor, with the lowest similarity among them."""

    namespace: str
    keep: int
    merged: list[int]
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "keep": self.keep,
            "merged": self.merged,
            "similarity": round(self.similarity, 4),
        }


class ImportReport(NamedTuple):
    imported: int
    merged: int
    skipped: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "merged": self.merged, "skipped": self.skipped}


class LogEntry(NamedTuple):
    """One store, merge or recall, as `memory log` shows it."""

    id: int
    at: float
    action: str
    namespace: str
    agent: str | None
    text: str
    memory_id: int | None
    hits: int | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LogEntry:
        return cls(**{name: row[name] for name in cls._fields})

    def to_dict(self) -> dict[str, Any]:
        return {**self._asdict(), "at": iso(self.at)}


class ValidateReport(NamedTuple):
    """Problems found per kind (a count each), what a repair did, and what is left."""

    problems: dict[str, int]
    repaired: dict[str, int]
    remaining: dict[str, int]
    pending: int  # memories waiting for their vector: not a problem, the service fills them

    @property
    def ok(self) -> bool:
        return not any(self.remaining.values())

    def to_dict(self) -> dict[str, Any]:
        return {**self._asdict(), "ok": self.ok}
