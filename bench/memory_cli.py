"""Memory from a user's shell: what each `sb memory` call costs, cold and warm.

Prints, on a fresh SQLite home with the real model, each command a new process
(`python -m switchboard`, bytecode caching on as users have it; this machine sets
PYTHONDONTWRITEBYTECODE=1, which is unset here):
- 30 x `sb memory store` from a fresh shell, no coordinator, no service running at
  the start (the first call starts the embedding service), total and per call; and
  how long until every vector was filled in;
- `sb memory recall` per call after the first (the service warm), hybrid;
- the commands that need no model: list, show, stats, keyword recall, export;
- the same 30 stores and a recall with the service turned off
  (SWITCHBOARD_MEMORY_SERVICE=off: every process loads the model), the baseline;
- the embedding service's peak RSS.

    python bench/memory_cli.py [--stores 30] [--runs 10] [--baseline-stores 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from switchboard.config import Settings
from switchboard.memory import embedservice

FACT = "The {n}th deploy of the billing service failed because the migration timed out (ticket OPS-{n})"
QUERY = "why did the billing release break"


def call(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "switchboard", "memory", *args], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"sb memory {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed, done.stdout


def stores(env: dict[str, str], count: int) -> list[float]:
    return [call(env, "store", "-c", FACT.format(n=n))[0] for n in range(1, count + 1)]


def pending(env: dict[str, str]) -> int:
    return json.loads(call(env, "stats", "--json")[1])["pending"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stores", type=int, default=30)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--baseline-stores", type=int, default=3, help="stores with the service off (slow)")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    base = Path(tempfile.mkdtemp(prefix="sb-bench-cli-"))
    home = base / "home"
    settings = Settings.load(home)
    warm = {**env, "SWITCHBOARD_HOME": str(home)}
    try:
        call({**warm, "SWITCHBOARD_HOME": str(base / "compile")}, "list")  # bytecode written once, as installed
        t0 = time.perf_counter()
        times = stores(warm, args.stores)
        total = time.perf_counter() - t0
        while pending(warm):
            time.sleep(0.2)
        filled = time.perf_counter() - t0
        first_recall = call(warm, "recall", "-q", QUERY)[0]
        recalls = [call(warm, "recall", "-q", QUERY)[0] for _ in range(args.runs)]
        no_model = {
            name: statistics.median(call(warm, *argv)[0] for _ in range(args.runs))
            for name, argv in {
                "list": ["list"],
                "show": ["show", "1"],
                "stats": ["stats"],
                "recall --mode keyword": ["recall", "-q", QUERY, "--mode", "keyword"],
                "export": ["export"],
            }.items()
        }
        status = embedservice.status(settings)
        embedservice.stop(settings)

        cold = {**env, "SWITCHBOARD_HOME": str(base / "cold"), "SWITCHBOARD_MEMORY_SERVICE": "off"}
        cold_stores = stores(cold, args.baseline_stores)
        cold_recall = call(cold, "recall", "-q", QUERY)[0]
    finally:
        embedservice.stop(settings)
        shutil.rmtree(base, ignore_errors=True)

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; each call a new process, bytecode cached\n")
    per = statistics.median(times)
    print(
        f"{args.stores} x sb memory store, fresh shell, service started by the first: {total:6.2f} s total "
        f"(first {times[0] * 1000:.0f} ms, median {per * 1000:.0f} ms); every vector filled "
        f"{filled:.1f} s after the first call"
    )
    base_per = statistics.median(cold_stores)
    print(
        f"  baseline, service off (each call loads the model): {base_per:6.2f} s a call -> "
        f"{base_per * args.stores:.0f} s for {args.stores}; {base_per / per:.0f}x slower"
    )
    print(
        f"sb memory recall, first call after the stores: {first_recall * 1000:.0f} ms; after it: median "
        f"{statistics.median(recalls) * 1000:.0f} ms, max {max(recalls) * 1000:.0f} ms over {args.runs}"
    )
    print(
        f"  baseline, service off: {cold_recall * 1000:.0f} ms a call; "
        f"{cold_recall / statistics.median(recalls):.0f}x slower"
    )
    for name, seconds in no_model.items():
        print(f"sb memory {name:<22} {seconds * 1000:5.0f} ms (median of {args.runs})")
    print(f"embedding service peak RSS: {status.get('peak_rss_mb')} MB (model loaded, {args.stores} memories)")


if __name__ == "__main__":
    main()
