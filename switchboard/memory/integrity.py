"""`memory validate`: do memory's derived structures agree with the memories table?

The memories table is the source of truth. Derived from it: the full-text index
(SQLite's `memories_fts`; PostgreSQL's is a generated column and cannot disagree),
the vectors (`memory_vectors`, one per memory, filled in later when it is pending),
and the vector index (SQLite: this process's in-memory index, see vectors.py;
PostgreSQL: one HNSW index per dimension of the model in use).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from switchboard.errors import StoreError
from switchboard.memory.models import ValidateReport
from switchboard.memory.vectors import index_for

if TYPE_CHECKING:
    from switchboard.store import Store, Tx


@dataclass(frozen=True)
class Target:
    """What is checked: a store, the model in use, and how to give PostgreSQL its HNSW indexes."""

    db: Store
    model_id: str
    ensure_vector_indexes: Callable[[], Any]


def validate(memory: Target, repair: bool = False) -> ValidateReport:
    """Count each kind of problem; with `repair`, fix what can be fixed and count again."""
    found = _problems(memory)
    repaired: dict[str, int] = {}
    if repair and any(found.values()):
        repaired = _repair(memory, found)
        remaining = _problems(memory)
    else:
        remaining = found
    with memory.db.transaction() as tx:
        pending = tx.scalar("memory.pending_count", {"namespace": None}) or 0
    return ValidateReport(found, repaired, remaining, pending)


def _problems(memory: Target) -> dict[str, int]:
    sqlite = bool(memory.db.connector.vector_index_table)
    with memory.db.transaction() as tx:
        found = {
            "vector_orphans": tx.scalar("memory.check_vector_orphans"),
            "vector_malformed": tx.scalar("memory.check_vector_malformed"),
        }
        if sqlite:
            found["fts_missing"] = tx.scalar("memory.check_fts_missing")
            found["fts_extra"] = tx.scalar("memory.check_fts_extra")
            found["index_mismatch"] = _index_mismatch(memory, tx)
        else:
            found["index_missing"] = len(_missing_hnsw(memory, tx))
    if sqlite:
        found["fts_content"] = 0 if found["fts_missing"] or found["fts_extra"] else _fts_content(memory)
    return found


def _fts_content(memory: Target) -> int:
    """1 when FTS5's own integrity check finds an entry that disagrees with its memory."""
    try:
        with memory.db.transaction(write=True) as tx:
            tx.execute("memory.check_fts_content")
    except StoreError:  # FTS5 reports a mismatch as a corrupt virtual table
        return 1
    return 0


def _index_mismatch(memory: Target, tx: Tx) -> int:
    """Memories the in-memory vector index holds wrongly: missing, extra, or in another namespace."""
    truth = {
        r["id"]: r["namespace"]
        for r in tx.all("memory.vectors", {"namespace": None, "shared": None, "model": memory.model_id})
    }
    index = index_for(memory.db, memory.model_id)
    try:
        with index.lock:
            index.refresh(tx)
            held = dict(index.where)
    except ValueError:  # vectors of mixed sizes: the index cannot even be built
        return len(truth) or 1
    return sum(truth.get(i) != held.get(i) for i in truth.keys() | held.keys())


def _missing_hnsw(memory: Target, tx: Tx) -> list[int]:
    dims = [r["dim"] for r in tx.all("memory.vector_dims_sound", {"model": memory.model_id})]
    return sorted(
        d for d in dims if not tx.scalar("memory.vector_index_present", {"name": f"memory_vectors_hnsw_{int(d)}"})
    )


def _repair(memory: Target, found: dict[str, int]) -> dict[str, int]:
    done: dict[str, int] = {}
    with memory.db.transaction(write=True) as tx:
        if found["vector_orphans"]:
            tx.execute("memory.vector_orphans_drop")
            done["vector_orphans"] = found["vector_orphans"]
        if found["vector_malformed"]:  # their memories become pending: the embedding service re-embeds
            tx.execute("memory.vector_malformed_drop")
            done["vector_malformed"] = found["vector_malformed"]
        fts = {k: n for k, n in found.items() if k.startswith("fts_") and n}
        if fts:
            tx.execute("memory.fts_rebuild")
            done.update(fts)
    if found.get("index_mismatch"):
        index = index_for(memory.db, memory.model_id)
        with memory.db.transaction() as tx, index.lock:
            index.seen = -1  # built afresh from memory_vectors
            index.refresh(tx)
        done["index_mismatch"] = found["index_mismatch"]
    if found.get("index_missing"):
        memory.ensure_vector_indexes()
        done["index_missing"] = found["index_missing"]
    return done


__all__ = ["Target", "validate"]
