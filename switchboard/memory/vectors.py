"""Vector search on SQLite: an index held in this process's memory, built from
`memory_vectors` (the source of truth) and kept in step with it.

One partition per namespace. A partition under `ANN_MIN` vectors is searched exactly
(numpy over its rows); a larger one is an HNSW graph (hnswlib), which measured
about 30x faster than numpy at 100k vectors with recall@10 of 0.99 against exact
search (`bench/memory.py` prints both). hnswlib's cosine distances are exact for the
candidates it returns, so no re-scoring is needed.

Every write, replacement or deletion of a vector, and every move of a memory to
another namespace, appends the memory's id to `memory_vector_changes` (triggers, see
migration 0005). Before each search the index reads that log past the last entry it
applied, in the same read transaction as the vectors it then loads, so it sees what
every process committed and nothing half-written. An index that finds the log pruned
past what it has seen, or that cannot be built, is rebuilt from `memory_vectors`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from switchboard.memory import search

if TYPE_CHECKING:
    import numpy as np

    from switchboard.store import Store, Tx

ANN_MIN = 10_000  # from this many vectors a namespace gets an HNSW graph
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 128
HNSW_EF_SEARCH = 256  # recall@10 at 100k (bench/memory.py): 0.991 at 256, 0.978 at 128, 0.953 at 64
KEEP_CHANGES = 50_000  # log entries kept behind the newest; older ones are pruned


class _Exact:
    """A small partition: its rows in a matrix, searched by brute force."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.rows: dict[int, np.ndarray] = {}
        self._ids: np.ndarray | None = None
        self._matrix: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.rows)

    def put(self, memory_id: int, vector: np.ndarray) -> None:
        self.rows[memory_id] = vector
        self._matrix = None

    def remove(self, memory_id: int) -> None:
        if self.rows.pop(memory_id, None) is not None:
            self._matrix = None

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        import numpy as np

        if self._matrix is None:
            self._ids = np.fromiter(self.rows, dtype=np.int64, count=len(self.rows))
            self._matrix = np.vstack(list(self.rows.values())) if self.rows else np.zeros((0, self.dim), np.float32)
        top, sims = search.nearest(vector, self._matrix, k)
        return list(zip(self._ids[top].tolist(), sims.tolist()))  # type: ignore[index]


class _Graph:
    """A large partition: an HNSW graph labelled by memory id."""

    def __init__(self, dim: int, rows: dict[int, np.ndarray]) -> None:
        import hnswlib
        import numpy as np

        self.dim = dim
        self.graph = hnswlib.Index(space="cosine", dim=dim)
        self.graph.init_index(
            max_elements=max(1024, int(len(rows) * 1.25)),
            M=HNSW_M,
            ef_construction=HNSW_EF_CONSTRUCTION,
            allow_replace_deleted=True,
        )
        self.live: set[int] = set(rows)
        self.deleted: set[int] = set()
        if rows:
            ids = np.fromiter(rows, dtype=np.int64, count=len(rows))
            self.graph.add_items(np.vstack(list(rows.values())), ids)

    def __len__(self) -> int:
        return len(self.live)

    def put(self, memory_id: int, vector: np.ndarray) -> None:
        if memory_id in self.deleted:
            self.graph.unmark_deleted(memory_id)
            self.deleted.discard(memory_id)
        elif memory_id not in self.live and self.graph.get_current_count() >= self.graph.get_max_elements():
            self.graph.resize_index(int(self.graph.get_max_elements() * 1.5))
        self.graph.add_items(vector.reshape(1, -1), [memory_id])
        self.live.add(memory_id)

    def remove(self, memory_id: int) -> None:
        if memory_id in self.live:
            self.graph.mark_deleted(memory_id)
            self.live.discard(memory_id)
            self.deleted.add(memory_id)

    def search(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        k = min(k, len(self.live))
        if k == 0:
            return []
        for ef in (max(HNSW_EF_SEARCH, k), max(HNSW_EF_SEARCH, k) * 8):
            self.graph.set_ef(ef)
            try:
                labels, distances = self.graph.knn_query(vector, k=k, num_threads=1)
            except RuntimeError:  # the beam met fewer than k live vectors: widen it, then go exact
                continue
            return [(int(i), 1.0 - float(d)) for i, d in zip(labels[0], distances[0])]
        ids = sorted(self.live)
        exact = _Exact(self.dim)
        exact.rows = dict(zip(ids, self.graph.get_items(ids, return_type="numpy")))
        return exact.search(vector, k)


class VectorIndex:
    """The vectors of one model in one database, by namespace. Thread-safe."""

    def __init__(self, model: str, decode: Callable[[Any], np.ndarray]) -> None:
        self.model = model
        self.decode = decode  # the database's stored form of a vector -> float32 array
        self.seen = -1  # the last log entry applied; -1: never built
        self.parts: dict[str, _Exact | _Graph] = {}
        self.where: dict[int, str] = {}  # memory id -> namespace of its partition
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.where)

    def search(self, tx: Tx, vector: np.ndarray, namespaces: tuple[str, ...], k: int) -> list[tuple[int, float]]:
        """(id, cosine similarity) of the k nearest memories of `namespaces`, nearest first."""
        with self.lock:
            self.refresh(tx)
            found = [
                hit for ns in dict.fromkeys(namespaces) if ns in self.parts for hit in self.parts[ns].search(vector, k)
            ]
        return sorted(found, key=lambda hit: -hit[1])[:k]

    def refresh(self, tx: Tx) -> None:
        """Apply what changed since the last refresh; rebuild if the log cannot tell."""
        head = tx.row("memory.changes_head")
        newest = head["newest"]
        oldest = newest + 1 if head["oldest"] is None else head["oldest"]
        if newest == self.seen:
            return
        if self.seen < 0 or oldest > self.seen + 1:  # never built, or entries it needs were pruned
            self._build(tx, newest)
            return
        for row in tx.all("memory.vector_changes", {"after": self.seen, "upto": newest, "model": self.model}):
            self._apply(row)
        self.seen = newest

    def _build(self, tx: Tx, newest: int) -> None:
        decode = self.decode
        grouped: dict[str, dict[int, Any]] = {}
        for row in tx.all("memory.vectors", {"namespace": None, "shared": None, "model": self.model}):
            grouped.setdefault(row["namespace"], {})[row["id"]] = decode(row["embedding"])
        self.parts = {ns: self._partition(rows) for ns, rows in grouped.items()}
        self.where = {i: ns for ns, rows in grouped.items() for i in rows}
        self.seen = newest

    @staticmethod
    def _partition(rows: dict[int, Any]) -> _Exact | _Graph:
        dim = int(next(iter(rows.values())).shape[0])
        if len(rows) >= ANN_MIN:
            return _Graph(dim, rows)
        part = _Exact(dim)
        part.rows = rows
        return part

    def _apply(self, row: dict[str, Any]) -> None:
        memory_id = row["memory_id"]
        old = self.where.pop(memory_id, None)
        if old is not None:
            self.parts[old].remove(memory_id)
        if row["embedding"] is None:
            return  # deleted, or no vector of this model any more
        vector = self.decode(row["embedding"])
        ns = row["namespace"]
        part = self.parts.get(ns)
        if part is None or part.dim != vector.shape[0]:
            part = self.parts[ns] = _Exact(int(vector.shape[0]))
        part.put(memory_id, vector)
        self.where[memory_id] = ns
        if isinstance(part, _Exact) and len(part) >= ANN_MIN:
            self.parts[ns] = _Graph(part.dim, part.rows)


_indexes: dict[tuple[str, str], VectorIndex] = {}
_indexes_lock = threading.Lock()


def index_for(store: Store, model: str) -> VectorIndex:
    """This process's index for a database and a model, shared by every `Memory` on it."""
    key = (store.connector.describe(), model)
    with _indexes_lock:
        if key not in _indexes:
            _indexes[key] = VectorIndex(model, store.connector.decode_vector)
        return _indexes[key]


def prune_changes(store: Store) -> None:
    """Drop log entries far behind the newest; an index that had not seen them rebuilds."""
    with store.transaction() as tx:
        head = tx.row("memory.changes_head")
    if head["oldest"] is not None and head["newest"] - head["oldest"] > 2 * KEEP_CHANGES:
        with store.transaction(write=True) as tx:
            tx.execute("memory.changes_prune", {"upto": head["newest"] - KEEP_CHANGES})


__all__ = ["ANN_MIN", "VectorIndex", "index_for", "prune_changes"]
