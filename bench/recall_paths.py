"""Recall latency by path: what one `memory recall` costs a runner in the middle of a task.

Prints, on a real SQLite home with the real model (all-MiniLM-L6-v2, CPU, one thread),
the wall time of one recall:
- from the CLI, cold: `switchboard memory recall` in a new process that loads the
  embedding model itself (the embedding service turned off: SWITCHBOARD_MEMORY_SERVICE=off);
- from the CLI, warm: the same command while the embedding service (which the first
  memory command that embeds starts) has its model loaded;
- from an MCP tool call: `switchboard mcp` started over stdio as OpenCode starts it,
  `memory_recall` called through an MCP client session, with the service warm and
  turned off; start-up (spawn to `initialize` answered) and the first call are shown
  apart from the calls after them;
- the API in a process that has the model loaded, for reference.

    python bench/recall_paths.py [--memories 300] [--runs 5] [--calls 20]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio

from switchboard.config import Settings
from switchboard.memory import Memory
from switchboard.memory import embedservice

QUERY = "why did the billing deploy fail"
TOPICS = ["billing", "auth", "search", "checkout", "payments", "gateway", "scheduler", "ledger"]
EVENTS = [
    "deploy failed because the migration timed out",
    "needs the feature flag off before release",
    "leaked file descriptors under load",
    "served stale data after the cache warmed up",
    "dropped requests during the rolling deploy",
    "rejected tokens after the clock drifted",
]


def seed(home: Path, count: int) -> tuple[float, list[int]]:
    """Store `count` memories in namespace `bench` (this process loads the model); returns the
    median in-process recall time in ms, model loaded, and the ids recalled."""
    memory = Memory.open(Settings.load(home))
    memory.store_many(
        [
            {
                "content": f"The {TOPICS[i % len(TOPICS)]} service {EVENTS[i % len(EVENTS)]} (incident {1000 + i})",
                "namespace": "bench",
            }
            for i in range(count)
        ]
    )
    ids = [h.memory.id for h in memory.recall(QUERY, namespace="bench").hits]
    times = []
    for _ in range(20):
        started = time.perf_counter()
        memory.recall(QUERY, namespace="bench")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), ids


def cli_recall(env: dict[str, str], expected: list[int]) -> float:
    """Seconds for one `switchboard memory recall` process, start to exit."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "memory", "recall", "--namespace", "bench", "--query", QUERY, "--json"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"recall failed: {done.stderr.strip()}")
    if [h["id"] for h in json.loads(done.stdout)["hits"]] != expected:
        raise SystemExit(f"the CLI recalled other memories: {done.stdout[:300]}")
    return elapsed


async def mcp_recalls(env: dict[str, str], calls: int, expected: list[int]) -> tuple[float, float, list[float]]:
    """(start-up s, first call s, later calls in s) for `switchboard mcp` over stdio."""
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-m", "switchboard", "mcp"], env={**env, "SWITCHBOARD_AGENT": "bench"}
    )
    started = time.perf_counter()
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        startup = time.perf_counter() - started
        times = []
        for _ in range(calls + 1):
            t = time.perf_counter()
            result = await session.call_tool("memory_recall", {"query": QUERY})
            times.append(time.perf_counter() - t)
            found = [int(i) for i in re.findall(r"\(#(\d+); bench;", result.content[0].text)]
            if result.is_error or found != expected:
                raise SystemExit(f"memory_recall gave other memories: {result.content}")
    return startup, times[0], times[1:]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memories", type=int, default=300)
    parser.add_argument("--runs", type=int, default=5, help="CLI processes per path (median shown)")
    parser.add_argument("--calls", type=int, default=20, help="MCP calls after the first (median shown)")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="sb-recall-paths-"))
    settings = Settings.load(home)
    env = {**os.environ, "SWITCHBOARD_HOME": str(home)}
    env.pop("SWITCHBOARD_DATABASE_URL", None)
    api_ms, expected = seed(home, args.memories)
    print(f"{args.memories} memories in {home}; query {QUERY!r}; {os.cpu_count()} CPUs\n")

    off = {**env, "SWITCHBOARD_MEMORY_SERVICE": "off"}
    cold = [cli_recall(off, expected) for _ in range(max(1, args.runs // 2))]
    mcp_cold = anyio.run(mcp_recalls, off, args.calls, expected)

    # The embedding service, as the first memory command that embeds starts it.
    started = time.perf_counter()
    embedservice.ensure(settings)
    try:
        if not embedservice.wait_listening(settings, timeout=300):
            raise SystemExit("the embedding service did not start")
        load = time.perf_counter() - started
        warm = [cli_recall(env, expected) for _ in range(args.runs)]
        mcp_warm = anyio.run(mcp_recalls, env, args.calls, expected)
    finally:
        embedservice.stop(settings)
        shutil.rmtree(home, ignore_errors=True)

    rows = [
        ("CLI, cold (loads the model)", statistics.median(cold), f"median of {len(cold)} processes"),
        ("CLI, embedding service warm", statistics.median(warm), f"median of {len(warm)} processes"),
        ("MCP server start-up, service warm", mcp_warm[0], "spawn to initialize answered"),
        ("MCP memory_recall, first call, warm", mcp_warm[1], ""),
        ("MCP memory_recall, warm", statistics.median(mcp_warm[2]), f"median of {len(mcp_warm[2])} calls"),
        ("MCP server start-up, service off", mcp_cold[0], "spawn to initialize answered"),
        ("MCP memory_recall, first call, cold", mcp_cold[1], "loads the model in the MCP server"),
        (
            "MCP memory_recall, after the first, cold",
            statistics.median(mcp_cold[2]),
            f"median of {len(mcp_cold[2])} calls, model loaded in-process",
        ),
        ("API, model loaded in this process", api_ms / 1000, "Memory.recall, median of 20"),
    ]
    width = max(len(r[0]) for r in rows)
    for label, seconds, note in rows:
        print(f"{label:<{width}} {ms(seconds)}   {note}")
    print(
        f"\nThe embedding service listened, model loaded, {load:.1f}s after start. "
        f"Every path returned the same {len(expected)} memories."
    )


if __name__ == "__main__":
    main()
