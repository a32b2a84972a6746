"""Memory with the real embedding model, on real databases, through the API and the CLI.

The model loads once per test session (`embedder`); every `Memory` and every
in-process CLI call shares it through `get_embedder`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from switchboard.config import DEFAULTS, Settings
from switchboard.errors import InvalidInput, NotFound
from switchboard.memory import SHARED, Memory
from switchboard.memory.embedder import Embedder, get_embedder
from switchboard.memory.search import estimate_tokens, fts_query

# Facts an agent might keep. The paraphrase query shares no word with DEPLOY; the
# identifier OPS-31337 sits in a long memory about something else, beside short
# memories about look-alike tickets, so embeddings rank it last.
DEPLOY = "The deploy failed because the database migration timed out; raise the lock timeout to 60s"
PARAPHRASE = "why did the release break? the schema upgrade took too long"
TICKET = (
    "Before deploying the billing service, switch off the billing_v2 feature flag and drain "
    "the payment queue; see ticket OPS-31337"
)
LOOKALIKES = [
    "Ticket OPS-31377 tracks the flaky checkout test",
    "OPS-13337 is the incident ticket for last week's outage",
    "Ticket OPS-31373: the ops dashboard is slow",
]
OTHERS = [
    "Use pnpm, never npm, in the web repository",
    "The staging server listens on port 9090 behind the VPN",
    "Run pytest with -x -q before pushing; the full suite takes four minutes",
]

HOSTILE = [
    '"unbalanced',
    "it's",
    "foo-bar",
    "-leading",
    "x -y",
    "*",
    "deploy*",
    "**",
    "NEAR(a b)",
    "NEAR",
    "a AND b",
    "AND",
    "OR",
    "NOT",
    "a OR",
    "(((",
    ")",
    "col:value",
    "content:deploy",
    "^start",
    "{a b}",
    "🚀",
    "🚀🔥 deploy",
    "\\",
    "'; DROP TABLE memories; --",
    "%_",
    "\x00nul",
    "ERR_CONN_4471 OR (",
    "é",
    "日本語のテキスト",
    "a" * 5000,
    " ".join(f"w{i}" for i in range(200)),
    '"" ""',
]


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real model, loaded once for the whole session."""
    model = get_embedder(DEFAULTS["memory_model"], DEFAULTS["memory_threads"])
    model.embed_one("warm up")
    return model


@pytest.fixture
def memory(settings: Settings, embedder: Embedder) -> Memory:
    mem = Memory.open(settings)
    assert mem.embedder is embedder
    return mem


@pytest.fixture
def corpus(memory: Memory) -> dict[str, int]:
    texts = {
        "deploy": DEPLOY,
        "ticket": TICKET,
        **{f"look{i}": t for i, t in enumerate(LOOKALIKES)},
        **{f"other{i}": t for i, t in enumerate(OTHERS)},
    }
    results = memory.store_many([{"content": t} for t in texts.values()])
    return {name: r.memory.id for name, r in zip(texts, results)}


def ids(result) -> list[int]:  # noqa: ANN001
    return [h.memory.id for h in result.hits]


# -- recall ------------------------------------------------------------------------


def test_semantic_recall_finds_a_paraphrase_with_no_shared_keyword(memory: Memory, corpus: dict[str, int]) -> None:
    assert memory.recall(PARAPHRASE, mode="keyword").hits == []
    semantic = memory.recall(PARAPHRASE, mode="semantic")
    assert ids(semantic)[0] == corpus["deploy"]
    hybrid = memory.recall(PARAPHRASE)
    assert ids(hybrid)[0] == corpus["deploy"]
    assert hybrid.hits[0].found_by == ("semantic",)
    assert hybrid.hits[0].similarity > 0.3


def test_keyword_recall_finds_an_identifier_that_embeddings_miss(memory: Memory, corpus: dict[str, int]) -> None:
    semantic = memory.recall("OPS-31337", mode="semantic", limit=10)
    assert corpus["ticket"] not in ids(semantic)[:1]  # embeddings prefer the look-alikes
    keyword = memory.recall("OPS-31337", mode="keyword")
    assert ids(keyword) == [corpus["ticket"]]  # the whole identifier, not its pieces
    hybrid = memory.recall("OPS-31337")
    assert ids(hybrid)[0] == corpus["ticket"]
    assert "keyword" in hybrid.hits[0].found_by


def test_hybrid_ranks_a_memory_both_searches_find_first(memory: Memory, corpus: dict[str, int]) -> None:
    result = memory.recall("billing feature flag before a deploy", limit=5)
    top = result.hits[0]
    assert top.memory.id == corpus["ticket"]
    assert top.found_by == ("keyword", "semantic")
    assert all(top.score > h.score for h in result.hits[1:])
    assert all(h.found_by != ("keyword", "semantic") for h in result.hits[1:]) or result.hits[1].score <= top.score


def test_multi_word_query_matches_words_not_only_the_phrase(memory: Memory, corpus: dict[str, int]) -> None:
    # The reference helper matched the whole query as one phrase and found nothing.
    result = memory.recall("timeout lock migration", mode="keyword")
    assert ids(result) == [corpus["deploy"]]
    assert ids(memory.recall("pnpm repository whatever", mode="keyword")) == [corpus["other0"]]


@pytest.mark.sqlite_only  # PostgreSQL's websearch_to_tsquery has no prefix search
def test_prefix_query(memory: Memory, corpus: dict[str, int]) -> None:
    assert ids(memory.recall("dashb*", mode="keyword")) == [corpus["look2"]]


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_hostile_queries_never_fail(memory: Memory, corpus: dict[str, int], mode: str) -> None:
    for query in HOSTILE:
        result = memory.recall(query, mode=mode, limit=3)
        assert len(result.hits) <= 3


def test_words_in_most_memories_do_not_drag_them_in(memory: Memory) -> None:
    import numpy as np

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(1200, memory.embedder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    memory.store_many([{"content": f"fix number {i} for service s{i}", "vector": vectors[i]} for i in range(1200)])
    billing = memory.store("fix the billing outage by draining the queue").memory
    assert ids(memory.recall("billing fix", mode="keyword", limit=5)) == [billing.id]
    assert len(memory.recall("fix", mode="keyword", limit=5).hits) == 5  # alone, it is still searched


def test_fts_query_quotes_every_term() -> None:
    assert fts_query('deploy "db" NEAR(x) AND y*') == '"deploy" OR "db" OR "NEAR(x" OR "y" *'
    assert fts_query("OPS-31337") == '"OPS-31337"'
    assert fts_query("🚀 * ((") is None
    assert fts_query("the and of") == '"the" OR "and" OR "of"'  # only stopwords: keep them
    assert fts_query('say"hi') == '"say""hi"'


def test_empty_query_is_a_clear_error(memory: Memory, cli) -> None:  # noqa: ANN001
    for query in ("", "   ", "\n\t"):
        with pytest.raises(InvalidInput, match="query is empty"):
            memory.recall(query)
    result = cli("memory", "recall", "--query", "  ", code=2)
    assert result.stderr.strip() == "error: query is empty: give the text to search for"


def test_recall_filters(memory: Memory) -> None:
    a = memory.store("Cache the npm registry on the build agents", type="TOOL_CONFIG", tags="ci,npm").memory
    b = memory.store("Cache docker layers on the build agents", type="DECISION", tags="ci").memory
    query = "cache on build agents"
    assert set(ids(memory.recall(query))) == {a.id, b.id}
    assert ids(memory.recall(query, type="decision")) == [b.id]
    assert ids(memory.recall(query, tags="ci,npm")) == [a.id]
    assert ids(memory.recall(query, tags=["nope"])) == []
    assert set(ids(memory.recall(query, max_age_days=1))) == {a.id, b.id}
    with pytest.raises(InvalidInput):
        memory.recall(query, mode="fuzzy")


def test_recall_counts_access(memory: Memory, corpus: dict[str, int]) -> None:
    memory.recall(PARAPHRASE, limit=1)
    assert memory.get(corpus["deploy"]).access_count == 1
    memory.recall(PARAPHRASE, limit=1, touch=False)
    assert memory.get(corpus["deploy"]).access_count == 1


# -- storing -------------------------------------------------------------------------


SECRETS = [
    "use key sk-proj-abcdefghijklmnopqrstuvwxyz123456 for the api",
    "AWS id AKIAIOSFODNN7EXAMPLE works",
    "token ghp_abcdefghijklmnopqrstuvwxyz0123456789AB",
    "slack bot xoxb-123456789012-abcdefghijkl",
    "login with password=hunter22xyz",
    "config: api_key: 'q8w7e6r5t4'",
    "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
    "clone https://deploy:s3cr3tpass@git.example.com/repo.git",
]


@pytest.mark.parametrize("text", SECRETS)
def test_secrets_are_refused_and_nothing_is_written(memory: Memory, cli, text: str) -> None:  # noqa: ANN001
    with pytest.raises(InvalidInput) as caught:
        memory.store(text)
    secret_parts = [w for w in text.replace("=", " ").replace(":", " ").split() if len(w) > 12]
    assert not any(part in str(caught.value) for part in secret_parts)
    result = cli("memory", "store", "--content", text, code=2)
    assert result.stderr.startswith("error: content looks like it contains")
    assert not any(part in result.stderr for part in secret_parts)
    assert memory.list(all_namespaces=True, include_expired=True) == []


def test_secrets_in_a_batch_refuse_the_whole_batch(memory: Memory) -> None:
    with pytest.raises(InvalidInput):
        memory.store_many([{"content": "fine"}, {"content": SECRETS[0]}])
    assert memory.stats()["memories"] == 0


def test_placeholders_are_not_secrets(memory: Memory) -> None:
    for text in (
        "set password=$DB_PASSWORD in the env",
        "api_key=<your key>",
        "password: ****",
        "Settings has api_key: Optional[str] = None",
        "token=settings.API_TOKEN",
        "password = os.environ['DB_PASSWORD']",
        'secret=getenv("SECRET")',
        "auth_token: str",
    ):
        assert not memory.store(text).merged


def test_private_passages_are_stripped(memory: Memory) -> None:
    stored = memory.store("Staging login is admin <private>password=hunter22</private> via SSO").memory
    assert stored.content == "Staging login is admin via SSO"
    with pytest.raises(InvalidInput, match="empty"):
        memory.store("<private>only this</private>")


def test_same_content_twice_merges(memory: Memory) -> None:
    first = memory.store("Use pnpm in the web repo.", tags="tooling")
    again = memory.store("  use PNPM in the   web repo ", tags="web,tooling", confidence="high")
    assert not first.merged and again.merged
    assert again.memory.id == first.memory.id
    assert again.memory.tags == ("tooling", "web")
    assert again.memory.access_count == 1
    assert again.memory.confidence.value == "high"
    assert again.memory.content == "Use pnpm in the web repo."
    assert len(memory.list()) == 1
    other = memory.store("Use pnpm in the web repo.", namespace="elsewhere")
    assert not other.merged  # de-duplication is per namespace
    assert other.memory.id == first.memory.id + 1  # a merge uses up no id


def test_store_validates(memory: Memory) -> None:
    with pytest.raises(InvalidInput, match="unknown memory type"):
        memory.store("x", type="NOTE")
    with pytest.raises(InvalidInput, match="confidence"):
        memory.store("x", confidence="sure")
    with pytest.raises(InvalidInput, match="namespace"):
        memory.store("x", namespace="../etc")
    with pytest.raises(InvalidInput, match="tag"):
        memory.store("x", tags="ok,not ok")
    with pytest.raises(InvalidInput, match="ttl"):
        memory.store("x", ttl_days=0)
    with pytest.raises(NotFound):
        memory.store("x", supersedes=999)
    assert memory.store("x", type="error_fix").memory.type.value == "ERROR_FIX"


def test_expired_memories_are_hidden_then_pruned(memory: Memory) -> None:
    short = memory.store("The build cache token rotates every hour", ttl_days=0.5 / 86400).memory
    keep = memory.store("The build cache lives on the NFS share").memory
    time.sleep(0.6)
    assert ids(memory.recall("build cache", limit=5)) == [keep.id]
    assert [m.id for m in memory.list()] == [keep.id]
    assert {m.id for m in memory.list(include_expired=True)} == {short.id, keep.id}
    report = memory.prune(dry_run=True)
    assert report.expired == [short.id] and report.unused == [] and not report.deleted
    assert memory.prune().expired == [short.id]
    with pytest.raises(NotFound):
        memory.get(short.id)
    assert memory.get(keep.id)


def test_prune_removes_unused_old_memories(memory: Memory) -> None:
    old = memory.import_records([{"content": "An old habit nobody recalls", "created_at": "2020-01-01T00:00:00+00:00"}])
    assert old.imported == 1
    fresh = memory.store("A fresh fact").memory
    report = memory.prune(older_than_days=90)
    assert len(report.unused) == 1 and fresh.id not in report.unused
    assert [m.id for m in memory.list()] == [fresh.id]


def test_supersede_chains(memory: Memory) -> None:
    v1 = memory.store("The API listens on port 8080").memory
    v2 = memory.store("The API listens on port 9090 since the proxy change", supersedes=v1.id).memory
    v3 = memory.store("The API port is set by API_PORT, default 9090", supersedes=v2.id).memory
    note = memory.store("Port changes need a firewall ticket", supersedes=v3.id, relation="extends").memory
    assert [(m.id, depth) for m, depth in memory.history(v2.id)] == [(v1.id, -1), (v2.id, 0), (v3.id, 1), (note.id, 2)]
    assert memory.latest(v1.id).id == note.id
    found = ids(memory.recall("which port does the API listen on", limit=10))
    assert v1.id not in found and v2.id not in found  # replaced by an update
    assert v3.id in found and note.id in found  # `extends` keeps what it extends
    with pytest.raises(InvalidInput, match="own namespace"):
        memory.store("elsewhere", namespace="other", supersedes=v3.id)


# -- namespaces ----------------------------------------------------------------------


def test_namespaces_are_private_unless_shared(memory: Memory) -> None:
    a = memory.store("Alpha builds with make release", namespace="alpha").memory
    b = memory.store("Beta builds with make release too", namespace="beta").memory
    s = memory.store("Everyone builds releases with make release", namespace=SHARED).memory
    assert set(ids(memory.recall("make release", namespace="alpha"))) == {a.id}
    assert set(ids(memory.recall("make release", namespace="alpha", shared=True))) == {a.id, s.id}
    assert set(ids(memory.recall("make release", namespace="beta", mode="semantic"))) == {b.id}
    assert set(ids(memory.recall("make release", namespace=SHARED))) == {s.id}


def test_default_namespace_is_the_agent(home: Path, embedder: Embedder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWITCHBOARD_AGENT", "builder")
    mem = Memory.open(Settings.load(home))
    assert mem.store("agent memory").memory.namespace == "builder"
    monkeypatch.delenv("SWITCHBOARD_AGENT")
    assert Memory.open(Settings.load(home)).store("no agent").memory.namespace == "default"


def test_namespaces_rename_merges_and_delete(memory: Memory) -> None:
    memory.store("Shared fact", namespace="old")
    memory.store("Only in old", namespace="old", tags="x")
    target = memory.store("Shared fact", namespace="new", tags="y").memory
    assert memory.rename_namespace("old", "new") == {"moved": 1, "merged": 1}
    assert {n["namespace"]: n["memories"] for n in memory.namespaces()} == {"new": 2}
    assert memory.get(target.id).access_count == 1
    assert ids(memory.recall("only in old", namespace="new", mode="semantic"))  # the index followed
    assert memory.recall("only in old", namespace="old").hits == []
    with pytest.raises(NotFound):
        memory.rename_namespace("old", "newer")
    assert memory.delete_namespace("new", dry_run=True) == 2
    assert memory.delete_namespace("new") == 2
    assert memory.namespaces() == []
    assert memory.recall("shared fact", namespace="new").hits == []


# -- context, consolidation, export ----------------------------------------------------


def test_context_fits_the_budget(memory: Memory, corpus: dict[str, int]) -> None:
    memory.store("Deploys go out on Tuesdays only", namespace=SHARED, type="DECISION")
    text = memory.context("default", "how do I deploy safely?", budget_tokens=1500)
    assert text.startswith("## Relevant memories\n")
    assert "Deploys go out on Tuesdays only" in text  # the shared namespace is included
    assert DEPLOY in text
    small = memory.context("default", "how do I deploy safely?", budget_tokens=60)
    assert estimate_tokens(small) <= 60 and small.count("\n- ") >= 1
    assert memory.context("nobody", "how do I deploy safely?", shared=False) == ""
    long = memory.store("Deploy notes: " + "step " * 2000, namespace="long").memory
    cut = memory.context("long", "deploy notes", budget_tokens=100, shared=False)
    assert f"#{long.id}" not in cut and cut.rstrip().endswith("…") and estimate_tokens(cut) <= 100


def test_consolidate_merges_near_duplicates(memory: Memory) -> None:
    a = memory.store("Run the unit tests with pytest -q before pushing", tags="tests").memory
    b = memory.store("Run the unit tests with pytest -q before you push", tags="ci").memory
    c = memory.store("Deploys go out on Tuesdays only").memory
    memory.recall("pytest before push", limit=1)  # one access for the survivor
    groups = memory.consolidate(0.9, dry_run=True)
    assert len(groups) == 1 and {groups[0].keep, *groups[0].merged} == {a.id, b.id}
    assert len(memory.list()) == 3
    groups = memory.consolidate(0.9)
    survivor = memory.get(groups[0].keep)
    assert set(survivor.tags) == {"tests", "ci"}
    assert {m.id for m in memory.list()} == {survivor.id, c.id}
    assert memory.consolidate(0.9) == []
    with pytest.raises(InvalidInput):
        memory.consolidate(1.5)


def test_export_import_round_trip(memory: Memory) -> None:
    v1 = memory.store("The queue is RabbitMQ", namespace="ops", tags="queue", type="DECISION").memory
    memory.store("The queue is Kafka since March", namespace="ops", supersedes=v1.id)
    memory.store("Deploys go out on Tuesdays only", namespace=SHARED, ttl_days=30)
    exported = list(memory.export(vectors=True))
    assert {"embedding", "model"} <= set(exported[0])
    for namespace in ("ops", SHARED):
        memory.delete_namespace(namespace)
    assert memory.stats()["memories"] == 0

    report = memory.import_records(json.loads(json.dumps(exported)))  # as read back from a file
    assert (report.imported, report.merged, report.skipped) == (3, 0, [])
    again = memory.import_records(exported)
    assert (again.imported, again.merged) == (0, 3)

    def key(m: dict) -> tuple:
        return m["namespace"], m["content"], tuple(m["tags"]), m["type"], m["created_at"], m["expires_at"]

    theirs = list(memory.export(vectors=True))
    assert {key(m) for m in theirs} == {key(m) for m in exported}
    assert {m["id"] for m in theirs}.isdisjoint({m["id"] for m in exported})  # new ids
    vectors = {m["content"]: m["embedding"] for m in exported}
    assert all(m["embedding"] == vectors[m["content"]] for m in theirs)  # imported, not re-embedded
    kafka = next(m for m in theirs if "Kafka" in m["content"])
    assert memory.history(kafka["id"])[0][0].content == "The queue is RabbitMQ"  # links remapped
    assert ids(memory.recall("message broker", namespace="ops")) == [kafka["id"]]


def test_import_skips_bad_records(memory: Memory) -> None:
    report = memory.import_records(
        [{"content": "good one"}, {"content": SECRETS[0]}, {"nope": 1}, "text", {"content": "bad type", "type": "NOTE"}]
    )
    assert report.imported == 1
    assert [s["record"] for s in report.skipped] == [2, 3, 4, 5]
    assert "sk-proj" not in json.dumps(report.to_dict())


# -- models and the vector index ---------------------------------------------------------


def test_vectors_of_another_model_are_never_mixed(memory: Memory, corpus: dict[str, int]) -> None:
    # As if the corpus had been stored with another model, which the index still holds.
    conn = memory.db.connection()
    conn.execute("UPDATE memory_vectors SET model = 'old/model'")
    conn.commit()
    new = memory.store("The release broke when the schema upgrade ran too long").memory
    result = memory.recall(PARAPHRASE, mode="semantic", limit=10)
    assert ids(result) == [new.id]  # only vectors of the configured model are compared
    assert result.warnings and f"{len(corpus)} memories" in result.warnings[0] and "reindex" in result.warnings[0]
    assert corpus["deploy"] in ids(memory.recall(PARAPHRASE + " database migration", limit=10))  # keyword
    assert memory.stats()["needs_reindex"] == len(corpus)
    assert memory.reindex()["embedded"] == len(corpus)
    result = memory.recall(PARAPHRASE, mode="semantic", limit=10)
    assert set(ids(result)[:2]) == {corpus["deploy"], new.id} and result.warnings == []
    assert memory.stats()["needs_reindex"] == 0


# -- the CLI -----------------------------------------------------------------------------


def test_cli_store_recall_and_namespace_anywhere(cli) -> None:  # noqa: ANN001
    first = cli.json("memory", "store", "--content", DEPLOY, "--tags", "deploy,db", "--namespace", "ops")
    assert first["namespace"] == "ops" and first["merged"] is False and first["tags"] == ["deploy", "db"]
    cli("memory", "--namespace", "ops", "store", "--content", TICKET, "--type", "DECISION")
    cli("memory", "store", "--content", "-", "--namespace", "dev", input="Use pnpm in the web repo\n")
    again = cli.json("memory", "store", "-n", "ops", "-c", DEPLOY.upper())
    assert again["merged"] is True and again["id"] == first["id"]

    after = cli.json("memory", "recall", "--query", PARAPHRASE, "--namespace", "ops")
    before = cli.json("memory", "--namespace", "ops", "recall", "--query", PARAPHRASE)
    assert after["hits"][0]["id"] == before["hits"][0]["id"] == first["id"]
    hit = after["hits"][0]
    assert hit["found_by"] == ["semantic"] and hit["score"] > 0 and hit["similarity"] > 0.3
    assert cli.json("memory", "recall", "-q", PARAPHRASE)["hits"] == []  # 'default' is empty
    assert cli.json("memory", "recall", "-q", "pnpm", "-n", "ops", "--mode", "keyword")["hits"] == []

    table = cli("memory", "recall", "-q", "OPS-31337 billing", "-n", "ops").stdout
    assert "keyword+semantic" in table
    for query in HOSTILE[:20]:
        cli("memory", "recall", "-q", query, "-n", "ops")

    listed = cli.json("memory", "list", "--namespace", "ops", "--recent", "1")
    assert len(listed) == 1 and "OPS-31337" in listed[0]["content"]
    assert len(cli.json("memory", "list", "--all-namespaces")) == 3
    shown = cli.json("memory", "show", str(first["id"]))
    assert shown["content"] == DEPLOY
    assert "namespace:  ops\n" in cli("memory", "show", str(first["id"])).stdout
    stats = cli.json("memory", "stats")
    assert stats["memories"] == 3 and set(stats["namespaces"]) == {"ops", "dev"}
    assert "memories: 3" in cli("memory", "stats").stdout
    context = cli("memory", "context", "-n", "ops", "-q", "deploying billing").stdout
    assert context.startswith("## Relevant memories")
    cli("memory", "forget", str(first["id"]))
    cli("memory", "show", str(first["id"]), code=2)
    cli("memory", "forget", "999", code=2)


def test_cli_housekeeping(cli, tmp_path: Path) -> None:  # noqa: ANN001
    v1 = cli.json("memory", "store", "-c", "The queue is RabbitMQ", "-n", "ops")["id"]
    v2 = cli.json("memory", "store", "-c", "The queue is Kafka", "-n", "ops", "--supersedes", str(v1))["id"]
    assert [m["id"] for m in cli.json("memory", "history", str(v1))] == [v1, v2]
    assert cli.json("memory", "latest", str(v1))["id"] == v2
    assert "→" in cli("memory", "history", str(v2)).stdout
    cli("memory", "store", "-c", "Temporary note", "-n", "ops", "--ttl-days", "0.000001")
    time.sleep(0.2)
    assert cli.json("memory", "prune", "--dry-run")["total"] == 1
    assert "deleted 1 memories: 1 expired" in cli("memory", "prune").stdout
    assert cli.json("memory", "consolidate", "--dry-run")["groups"] == []

    out = tmp_path / "export.jsonl"
    cli("memory", "export", "--format", "jsonl", "--output", str(out))
    lines = out.read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["supersedes"] == v1
    assert json.loads(cli("memory", "export").stdout)[0]["content"] == "The queue is RabbitMQ"
    report = cli.json("memory", "import", str(out), "--namespace", "copy")
    assert report == {"imported": 2, "merged": 0, "skipped": []}
    assert "imported 0, merged 2" in cli("memory", "import", "-", "-n", "copy", input=out.read_text()).stdout
    cli("memory", "import", str(tmp_path / "missing.json"), code=2)

    assert {n["namespace"] for n in cli.json("memory", "namespaces", "list")} == {"ops", "copy"}
    assert cli.json("memory", "namespaces", "rename", "copy", "archive") == {"moved": 2, "merged": 0}
    assert "run again with --force" in cli("memory", "namespaces", "delete", "archive").stdout
    cli("memory", "namespaces", "delete", "archive", "--force")
    assert [n["namespace"] for n in cli.json("memory", "namespaces", "list")] == ["ops"]
    assert cli.json("memory", "reindex")["embedded"] == 0


def test_commands_that_do_not_embed_never_import_torch(cli, home: Path) -> None:  # noqa: ANN001
    cli("memory", "store", "-c", "something to list")
    for args in (
        ["list"],
        ["stats"],
        ["show", "1"],
        ["recall", "-q", "something", "--mode", "keyword"],
        ["export"],
        ["namespaces", "list"],
        ["history", "1"],
        ["prune", "--dry-run"],
    ):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "switchboard", "memory", *args],
            capture_output=True,
            text=True,
            env={**os.environ, "SWITCHBOARD_HOME": str(home)},
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
        assert not imported & {"torch", "sentence_transformers", "transformers", "numpy"}, args
