"""Memory: namespaced long-term memory with hybrid (keyword + semantic) recall."""

from switchboard.memory.models import (
    Confidence,
    Hit,
    MemoryRecord,
    MemoryType,
    Mode,
    RecallResult,
    Relation,
    StoreResult,
)
from switchboard.memory.service import SHARED, Memory

__all__ = [
    "SHARED",
    "Confidence",
    "Hit",
    "Memory",
    "MemoryRecord",
    "MemoryType",
    "Mode",
    "RecallResult",
    "Relation",
    "StoreResult",
]
