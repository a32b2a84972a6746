"""`memory log` (recent stores and recalls) and `memory validate` (do the full-text
index, the vectors and the vector index agree with the memories?), through the CLI on
real databases; damage is done by hand with the database's own driver."""

from __future__ import annotations

import sqlite3

import pytest

from switchboard.config import DEFAULTS, Settings
from switchboard.memory import Memory, service
from switchboard.memory.embedder import Embedder, get_embedder
from tests.conftest import Cli


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return get_embedder(DEFAULTS["memory_model"], DEFAULTS["memory_threads"])


def damage(settings: Settings, *statements: str) -> None:
    """Run SQL past switchboard: SQLite without foreign keys, PostgreSQL without its triggers."""
    if settings.database_url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")
            for sql in statements:
                conn.execute(sql)
        return
    with sqlite3.connect(settings.home / "switchboard.db") as conn:
        for sql in statements:
            conn.execute(sql)


def _stored(cli: Cli, *contents: str) -> None:
    for content in contents:
        cli("memory", "store", "-n", "builder", "--content", content)


def test_log_records_stores_merges_and_recalls(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    _stored(cli, "The deploy failed because the migration timed out")
    _stored(cli, "the deploy failed because the migration timed out.")
    monkeypatch.setenv("SWITCHBOARD_AGENT", "alice")
    cli("memory", "recall", "-n", "builder", "-q", "deploy migration", "--mode", "keyword")
    cli("memory", "recall", "-n", "empty", "-q", "anything at all", "--mode", "keyword")
    got = [
        (e["action"], e["namespace"], e["agent"], e["memory_id"], e["hits"], e["text"])
        for e in cli.json("memory", "log")
    ]
    assert got == [
        ("recall", "empty", "alice", None, 0, "anything at all"),
        ("recall", "builder", "alice", None, 1, "deploy migration"),
        ("merge", "builder", None, 1, None, "the deploy failed because the migration timed out."),
        ("store", "builder", None, 1, None, "The deploy failed because the migration timed out"),
    ]
    table = cli("memory", "log").stdout
    assert "recall" in table and "alice" in table and "deploy migration" in table


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--limit", "2"], ["elsewhere", "third"]),
        (["--namespace", "other"], ["elsewhere"]),
        (["-n", "builder", "--limit", "1"], ["third"]),
    ],
)
def test_log_limit_and_namespace(cli: Cli, flags: list[str], expected: list[str]) -> None:
    _stored(cli, "first note", "second note", "third note")
    cli("memory", "store", "-n", "other", "--content", "elsewhere note")
    assert [e["text"].split()[0] for e in cli.json("memory", "log", *flags)] == expected


def test_log_keeps_only_the_newest(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "LOG_KEEP", 3)
    _stored(cli, *(f"note number {n}" for n in range(1, 7)))
    assert [e["text"] for e in cli.json("memory", "log", "--limit", "100")] == [
        "note number 6",
        "note number 5",
        "note number 4",
    ]


@pytest.mark.parametrize("flags", [["--limit", "0"], ["--limit", "x"], ["-n", "bad name!"]])
def test_log_bad_input_is_one_line(cli: Cli, flags: list[str]) -> None:
    result = cli("memory", "log", *flags, code=2)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1


def test_validate_a_whole_store_is_ok(cli: Cli, embedder: Embedder) -> None:
    _stored(cli, "The deploy failed because the migration timed out", "Staging reads from the replica")
    report = cli.json("memory", "validate")
    assert report["ok"] and not any(report["problems"].values()) and report["pending"] == 0
    assert cli("memory", "validate").stdout.strip().endswith("ok")


BOTH = {
    "vector_orphans": [
        "INSERT INTO memory_vectors SELECT 99, model, dim, embedding FROM memory_vectors WHERE memory_id = 1"
    ],
    "vector_malformed": ["UPDATE memory_vectors SET dim = 5 WHERE memory_id = 1"],
}
SQLITE = {
    "fts_missing": [
        "INSERT INTO memories_fts (memories_fts, rowid, content, tags) "
        "SELECT 'delete', id, content, tags FROM memories WHERE id = 1"
    ],
    "fts_extra": ["INSERT INTO memories_fts (rowid, content, tags) VALUES (99, 'a ghost of a memory', '')"],
    "fts_content": [
        "INSERT INTO memories_fts (memories_fts, rowid, content, tags) "
        "SELECT 'delete', id, content, tags FROM memories WHERE id = 1",
        "INSERT INTO memories_fts (rowid, content, tags) VALUES (1, 'something else entirely', '')",
    ],
}
POSTGRESQL = {"index_missing": ["DROP INDEX memory_vectors_hnsw_384"]}


def _cases() -> list:  # noqa: ANN401
    return (
        [pytest.param(k, v, id=k) for k, v in BOTH.items()]
        + [pytest.param(k, v, id=k, marks=pytest.mark.sqlite_only) for k, v in SQLITE.items()]
        + [pytest.param(k, v, id=k, marks=pytest.mark.postgres_only) for k, v in POSTGRESQL.items()]
    )


@pytest.mark.parametrize(("problem", "statements"), _cases())
def test_validate_finds_then_repairs_damage(
    cli: Cli, settings: Settings, embedder: Embedder, problem: str, statements: list[str]
) -> None:
    _stored(cli, "The deploy failed because the migration timed out", "Staging reads from the replica")
    damage(settings, *statements)
    found = cli.json("memory", "validate", code=1)
    assert {k: n for k, n in found["problems"].items() if n} == {problem: 1} and not found["ok"]
    assert "run with --repair" in cli("memory", "validate", code=1).stdout
    repaired = cli.json("memory", "validate", "--repair")
    assert repaired["repaired"] == {problem: 1} and repaired["ok"]
    assert not any(cli.json("memory", "validate")["problems"].values())
    # What a user notices: keyword recall finds memory 1 again, by its own words only.
    hits = cli.json("memory", "recall", "-n", "builder", "-q", "migration timed out", "--mode", "keyword")["hits"]
    assert [h["id"] for h in hits] == [1]
    # A malformed vector was dropped: its memory waits for the embedding service again.
    assert repaired["pending"] == (1 if problem == "vector_malformed" else 0)


@pytest.mark.sqlite_only
def test_validate_rebuilds_a_vector_index_that_missed_a_change(settings: Settings, embedder: Embedder) -> None:
    memory = Memory.open(settings, embedder)
    memory.store("The deploy failed because the migration timed out", namespace="builder")
    memory.store("Staging reads from the replica", namespace="builder")
    assert memory.recall("deploy", namespace="builder", mode="semantic").hits  # the index is built
    # A vector written while its change-log entry was lost: the index cannot know of it.
    damage(
        settings,
        "INSERT INTO memories (namespace, content, content_hash, type, created_at, updated_at) "
        "VALUES ('builder', 'Tuesday deploys only', 'h', 'DECISION', 0, 0)",
        "INSERT INTO memory_vectors SELECT 3, model, dim, embedding FROM memory_vectors WHERE memory_id = 1",
        "DELETE FROM memory_vector_changes WHERE seq = (SELECT max(seq) FROM memory_vector_changes)",
    )
    found = memory.validate()
    assert found.problems["index_mismatch"] == 1 and not found.ok
    repaired = memory.validate(repair=True)
    assert repaired.repaired == {"index_mismatch": 1} and repaired.ok
    hits = memory.recall("The deploy failed because the migration timed out", namespace="builder", mode="semantic")
    assert 3 in [h.memory.id for h in hits.hits]
