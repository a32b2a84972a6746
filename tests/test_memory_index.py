"""The in-memory vector index on SQLite (memory/vectors.py): same answers as exact search,
kept in step with every process's writes, rebuilt when its change log was pruned.

Real model vectors, real SQLite files, writes from other processes.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from switchboard.config import DEFAULTS, Settings
from switchboard.memory import Memory, vectors
from switchboard.memory.embedder import Embedder, get_embedder
from switchboard.memory.search import nearest

pytestmark = pytest.mark.sqlite_only  # PostgreSQL searches with pgvector's own HNSW index

TOPICS = ["billing", "auth", "search", "checkout", "payments", "gateway", "scheduler", "ledger"]
EVENTS = [
    "deploy failed because the migration timed out",
    "leaked file descriptors under load",
    "served stale data after the cache warmed up",
    "dropped requests during the rolling deploy",
    "rejected tokens after the clock drifted",
    "needs the feature flag off before release",
]
QUERIES = [
    "why did the billing deploy fail",
    "stale cache after warm up",
    "token clock drift",
    "requests lost while deploying",
    "file descriptor leak",
    "feature flag before the release",
]

_WRITER = """
import sys
from switchboard.config import DEFAULTS, Settings
from switchboard.memory import Memory
from switchboard.memory.embedder import get_embedder
memory = Memory.open(Settings.load(sys.argv[1]), get_embedder(DEFAULTS["memory_model"]))
memory.store(sys.argv[2], namespace="ops")
"""


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder(DEFAULTS["memory_model"], DEFAULTS["memory_threads"])


@pytest.fixture
def graph_memory(settings: Settings, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> Memory:
    """A namespace large enough for an HNSW graph (the threshold lowered for the test)."""
    monkeypatch.setattr(vectors, "ANN_MIN", 40)
    memory = Memory.open(settings, embedder)
    memory.store_many(
        [
            {"content": f"The {TOPICS[i % 8]} service {EVENTS[i % 6]} (incident {1000 + i})", "namespace": "ops"}
            for i in range(120)
        ]
    )
    memory.store("The staging database lives in eu-west-1", namespace="dev")
    return memory


def exact(memory: Memory, query: str, namespace: str, k: int) -> list[int]:
    with memory.db.transaction() as tx:
        rows = tx.all("memory.vectors", {"namespace": namespace, "shared": None, "model": memory.model_id})
    matrix = np.vstack([memory.db.connector.decode_vector(r["embedding"]) for r in rows])
    top, _ = nearest(memory.embedder.embed_one(query), matrix, k)
    return [rows[i]["id"] for i in top.tolist()]


def newest_before(memory: Memory) -> int:
    return max(m.id for m in memory.list("ops", recent=1))


def semantic(memory: Memory, query: str, namespace: str = "ops", k: int = 10) -> list[int]:
    return [h.memory.id for h in memory.recall(query, namespace=namespace, mode="semantic", limit=k, touch=False).hits]


@pytest.mark.parametrize("query", QUERIES)
def test_the_graph_finds_what_exact_search_finds(graph_memory: Memory, query: str) -> None:
    found = semantic(graph_memory, query)
    assert isinstance(vectors.index_for(graph_memory.db, graph_memory.model_id).parts["ops"], vectors._Graph)
    assert len(set(found) & set(exact(graph_memory, query, "ops", 10))) >= 9


def test_writes_of_other_processes_are_seen_and_deletes_and_moves_applied(
    graph_memory: Memory, settings: Settings
) -> None:
    query = "the quantum flux capacitor overheated"
    assert newest_before(graph_memory) not in semantic(graph_memory, query)  # the index is built now
    subprocess.run(
        [sys.executable, "-c", _WRITER, str(settings.home), "The quantum flux capacitor overheated twice"],
        check=True,
        timeout=120,
    )
    newest = newest_before(graph_memory)
    assert semantic(graph_memory, query)[0] == newest  # written by another process, found by this one's index
    graph_memory.rename_namespace("ops", "archive")
    assert semantic(graph_memory, query) == [] and semantic(graph_memory, query, "archive")[0] == newest
    graph_memory.forget(newest)
    assert newest not in semantic(graph_memory, query, "archive")
    assert semantic(graph_memory, "where is the staging database", "dev") == [m.id for m in graph_memory.list("dev")]


def test_a_pruned_change_log_makes_the_index_rebuild(graph_memory: Memory, monkeypatch: pytest.MonkeyPatch) -> None:
    index = vectors.index_for(graph_memory.db, graph_memory.model_id)
    before = semantic(graph_memory, QUERIES[0])
    seen = index.seen
    gone = before[0]
    graph_memory.forget(gone)
    with graph_memory.db.transaction(write=True) as tx:
        tx.execute("memory.changes_prune", {"upto": seen + 1})  # the deletion's entry is gone
    built = []
    monkeypatch.setattr(
        index, "_build", lambda tx, newest, build=index._build: built.append(newest) or build(tx, newest)
    )
    after = semantic(graph_memory, QUERIES[0])
    assert built and gone not in after and after[:3] == before[1:4]
