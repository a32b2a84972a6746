"""Memory: store throughput, recall latency at 1k / 10k / 100k (and 1M) memories, peak memory.

Prints, on real SQLite files with the real model (all-MiniLM-L6-v2, CPU):
- store throughput: memories/s for `Memory.store_many` in batches (embedding +
  writing), and the embedding and writing parts alone;
- recall p50 / p95 at each size for: hybrid recall through the API (query
  embedding, FTS5, the vector index, fusion, access count), FTS5 alone, the vector
  index alone (memory/vectors.py: HNSW from 10k vectors a namespace), and
  brute-force cosine in numpy over the same vectors, both with the vectors already
  in memory and loaded from SQLite on every query (the reference helper's way);
  the index's speed-up over numpy in RAM, and its recall@10 against exact search;
- the index's build time (first recall of a process) and the peak RSS of this process.

Every memory has its own generated text. Embedding 100k texts on a small CPU
takes longer than this bench may run, so only the first --real memories get
vectors from the model; each of the rest is a random blend of two model vectors
plus Gaussian noise, re-normalised, so the synthetic vectors spread over the
region the model's vectors occupy the way real ones do. (Noisy copies of one
vector each, as this bench used before, make tight clouds of ~50 near-identical
points per real vector at 100k: the exact top 10 is then a tie-break inside a
cloud, and HNSW's graph falls apart into those clouds - recall@10 0.47 at ef 128.)
The output says which is which; recall@10 is always against exact search on the
same vectors.

    python bench/memory.py [--sizes 1000,10000,100000] [--real 10000] [--queries 100]
    python bench/memory.py --sizes 1000000 --real 2000      # 1M memories (about 15 min here)
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from switchboard.config import DEFAULTS, Settings
from switchboard.memory import Memory
from switchboard.memory.embedder import Embedder, get_embedder
from switchboard.memory.search import nearest
from switchboard.memory.vectors import index_for

SERVICES = """billing auth search checkout payments notifications gateway scheduler indexer exporter
importer reporting inventory shipping pricing catalog recommendations analytics mailer webhooks
thumbnailer transcoder ledger invoicing onboarding profile sessions audit metrics tracing""".split()
PROBLEMS = [
    "failed because the database migration timed out",
    "crashed with out-of-memory during the nightly batch",
    "returned 502 when the upstream connection pool was exhausted",
    "hung on a deadlock between two writers",
    "lost messages when the broker restarted",
    "double-charged customers after a retry",
    "leaked file descriptors under load",
    "served stale data after the cache warmed up",
    "rejected valid tokens after the clock drifted",
    "slowed down when the index outgrew memory",
    "broke on unicode file names",
    "timed out talking to the object store",
    "dropped requests during the rolling deploy",
    "logged secrets at debug level",
    "spiked CPU when the regex backtracked",
    "failed health checks during garbage collection",
]
FIXES = [
    "raise the lock timeout to {n}s",
    "pin the client library to version 2.{n}",
    "set the pool size to {n}",
    "restart the workers after each deploy",
    "add an index on the created_at column",
    "retry with exponential backoff capped at {n}s",
    "move the job to the low-priority queue",
    "turn on idempotency keys for every write",
    "cap the batch size at {n} rows",
    "use the streaming API instead of loading everything",
    "sync clocks with chrony on every host",
    "split the table by month",
    "disable debug logging in production",
    "precompile the pattern once",
]
TOOLS = "pnpm npm yarn poetry uv pip ruff black mypy pytest tox nox make just bazel docker podman".split()
REPOS = "web api infra mobile docs data ml cli sdk site".split()
QUESTIONS = [
    "why does {s} keep failing",
    "how was the {s} outage fixed",
    "what breaks {s} during deploys",
    "{s} timeout fix",
    "which tool do we use in the {r} repo",
    "port of the {s} service in staging",
]


def corpus(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        kind = rng.random()
        service = rng.choice(SERVICES)
        if kind < 0.6:
            text = (
                f"The {service} service {rng.choice(PROBLEMS)}; fix: "
                f"{rng.choice(FIXES).format(n=rng.randint(2, 500))} (ticket OPS-{rng.randint(1000, 99999)})"
            )
        elif kind < 0.8:
            a, b = rng.sample(TOOLS, 2)
            text = (
                f"Use {a} instead of {b} in the {rng.choice(REPOS)} repository; "
                f"decided in review {rng.randint(100, 99999)}"
            )
        else:
            env = rng.choice(["staging", "production", "dev", "qa"])
            proxy = rng.choice(["nginx", "envoy", "haproxy"])
            text = f"The {service} service listens on port {rng.randint(1024, 65000)} in {env} behind {proxy}"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def queries(n: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    return [rng.choice(QUESTIONS).format(s=rng.choice(SERVICES), r=rng.choice(REPOS)) for _ in range(n)]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


def synthetic(real: np.ndarray, n: int, seed: int = 3) -> np.ndarray:
    """n vectors among real ones: a random blend of two real vectors plus noise, re-normalised."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, real.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):  # in slices: 1M at once would need several GB of temporaries
        m = min(100_000, n - start)
        w = rng.random((m, 1), dtype=np.float32)
        mixed = w * real[rng.integers(0, len(real), m)] + (1 - w) * real[rng.integers(0, len(real), m)]
        mixed += rng.normal(0, 0.35 / np.sqrt(real.shape[1]), mixed.shape).astype(np.float32)
        out[start : start + m] = mixed / np.linalg.norm(mixed, axis=1, keepdims=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--real", type=int, default=10000, help="memories embedded by the model")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    settings_model = DEFAULTS["memory_model"]
    started = time.perf_counter()

    embedder = get_embedder(settings_model, 1)
    t = time.perf_counter()
    embedder.embed_one("load the model")
    load_s = time.perf_counter() - t
    print(f"model {embedder.model_id}, {embedder.dim} dims, loaded in {load_s:.1f}s; torch threads: 1")
    print(f"peak RSS after model load: {peak_rss_mb():.0f} MB\n")

    texts = corpus(max(sizes))
    real_n = min(args.real, max(sizes))
    qs = queries(args.queries)

    with tempfile.TemporaryDirectory() as tmp:
        # -- store throughput: the real corpus, embedded and written in batches -------------
        mem = Memory.open(Settings.load(Path(tmp, "throughput")), embedder)
        t = time.perf_counter()
        for i in range(0, real_n, args.batch):
            mem.store_many([{"content": c, "namespace": "bench"} for c in texts[i : i + args.batch]])
        store_s = time.perf_counter() - t
        real_vectors = np.vstack(
            [np.frombuffer(base64.b64decode(r["embedding"]), dtype="<f4") for r in mem.export("bench", vectors=True)]
        )
        assert len(real_vectors) == real_n
        print(
            f"store throughput ({real_n} real memories, batches of {args.batch}, embed + write): "
            f"{real_n / store_s:.0f} memories/s"
        )
        for threads in (1, 2):
            other = Embedder(embedder.model_id, threads)
            other._model = embedder._model  # the same loaded model, another thread count
            t = time.perf_counter()
            other.embed(texts[:2000])
            print(
                f"  embedding alone, {threads} torch thread(s): {2000 / (time.perf_counter() - t):.0f} texts/s"
                f"   (load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs)"
            )
        print(f"peak RSS: {peak_rss_mb():.0f} MB\n")

        all_vectors = (
            real_vectors
            if max(sizes) <= real_n
            else np.vstack([real_vectors, synthetic(real_vectors, max(sizes) - real_n)])
        )
        query_vectors = embedder.embed(qs)
        t = time.perf_counter()
        for q in qs[:50]:
            embedder.embed_one(q)
        embed_ms = (time.perf_counter() - t) / 50 * 1000
        print(f"query embedding alone: {embed_ms:.1f} ms a query\n")
        if max(sizes) > real_n:
            rate = real_n / store_s
            print(
                f"vectors: 'model' = embedded by the model. Embedding {max(sizes)} texts at {rate:.0f}/s would take "
                f"~{max(sizes) / rate / 60:.0f} min, so beyond the first {real_n} each memory (with its own text) gets "
                "'blend': a random blend of two model vectors plus Gaussian noise, re-normalised.\n"
            )

        header = (
            f"{'memories':>9} {'vectors':<28} {'load/s':>7} {'build s':>7} | p50/p95 ms: {'hybrid':>12} "
            f"{'FTS5 alone':>13} {'index':>13} {'numpy (RAM)':>13} {'numpy (load)':>13} | "
            "index vs numpy  recall@10"
        )
        print(header)
        print("-" * len(header))
        for size in sizes:
            mem = Memory.open(Settings.load(Path(tmp, f"n{size}")), embedder)
            t = time.perf_counter()
            for i in range(0, size, 2000):
                mem.store_many(
                    [
                        {"content": texts[j], "namespace": "bench", "vector": all_vectors[j]}
                        for j in range(i, min(size, i + 2000))
                    ]
                )
            write_rate = size / (time.perf_counter() - t)
            matrix = all_vectors[:size]
            made = "model" if size <= real_n else f"{real_n} model + {size - real_n} blend"
            it = iter(range(10**9))

            def hybrid() -> None:
                mem.recall(qs[next(it) % len(qs)], namespace="bench", limit=10)

            def keyword() -> None:
                mem.recall(qs[next(it) % len(qs)], namespace="bench", limit=10, mode="keyword", touch=False)

            index = index_for(mem.db, embedder.model_id)

            def knn(k: int = 40) -> list[int]:
                v = query_vectors[next(it) % len(qs)]
                with mem.db.transaction() as tx:
                    return [i for i, _ in index.search(tx, v, ("bench",), k)]

            def brute() -> None:
                nearest(query_vectors[next(it) % len(qs)], matrix, 40)

            def brute_load() -> None:
                with mem.db.transaction() as tx:
                    ids, loaded = mem._load_vectors(tx, {"namespace": "bench", "shared": None})
                nearest(query_vectors[next(it) % len(qs)], loaded, 40)

            t = time.perf_counter()
            mem.recall("warm up", namespace="bench")  # builds the index
            build_s = time.perf_counter() - t
            runs = args.queries
            figures = [
                timed(hybrid, runs),
                timed(keyword, runs),
                timed(knn, runs),
                timed(brute, runs),
                timed(brute_load, max(5, runs // 10)),
            ]
            # Ids are 1..size in insertion order, so row r of the matrix is memory r + 1.
            overlap = []
            for j, v in enumerate(query_vectors):
                it = iter([j])
                got = set(knn(10))
                top, _ = nearest(v, matrix, 10)
                overlap.append(len(got & {int(r) + 1 for r in top}) / 10)
            cells = " ".join(f"{p50:6.1f}/{p95:<6.1f}" for p50, p95 in figures)
            speedup = figures[3][0] / figures[2][0]
            print(
                f"{size:>9} {made:<28} {write_rate:>7.0f} {build_s:>7.1f} | {'':12}{cells} | "
                f"{speedup:6.1f}x faster   {statistics.mean(overlap):.3f}"
            )
            mem.db.close()
        print(f"\npeak RSS: {peak_rss_mb():.0f} MB; bench took {time.perf_counter() - started:.0f}s")
        print("hybrid = Memory.recall(limit=10): query embedding + FTS5 + vector index + fusion + access count.")
        print("FTS5 alone = Memory.recall(mode='keyword', limit=10): no embedding, no vectors.")
        print("index / numpy: the 40 nearest of an already embedded query; recall@10 = share of numpy's exact")
        print("top 10 that the index returns, over every query. build s = first recall (index built from SQLite).")
        print("load/s = Memory.store_many with vectors given (FTS5, vectors, no embedding).")
        print("numpy (load) = the reference helper's way: read every vector from SQLite, then cosine.")


if __name__ == "__main__":
    main()
