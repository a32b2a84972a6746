"""Mailbox throughput and CLI latency.

Prints messages per second for send, claim+ack and batched claim_many+ack_many, in 1
and in 4 processes,
on a real SQLite file, and the per-call time of `sb mail send` / `sb mail check`
next to the floor of the reference shell helper in the same run: one `sqlite3`
CLI process per call, which is what each of its calls spawns at least.

    python bench/mailbox.py [--messages 4000] [--calls 20] [--batch 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from switchboard.config import Settings
from switchboard.mailbox import Mailbox
from workers import drain, run_parallel, send_messages  # bench/workers.py


def _timed_calls(argv: list[str], calls: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--batch", type=int, default=50, help="Messages per claim_many/ack_many.")
    args = parser.parse_args()
    n = args.messages
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for processes in (1, 4):
            home = str(Path(tmp, f"home{processes}"))
            Mailbox.open(Settings.load(home))  # schema, outside the timing
            send_rate = run_parallel(send_messages, home, n, processes, drain=False)
            rows.append((f"send, {processes} process(es)", f"{send_rate:,.0f} msg/s"))
            for batch in (1, args.batch):
                if batch > 1:  # the same messages again, for a like-for-like drain
                    run_parallel(send_messages, home, n, processes, drain=False)
                ack_rate = run_parallel(drain, home, n, processes, drain=True, batch=batch)
                label = "claim+ack" if batch == 1 else f"claim_many+ack_many ({batch} a batch)"
                rows.append((f"{label}, {processes} process(es)", f"{ack_rate:,.0f} msg/s"))
            assert Mailbox.open(Settings.load(home)).status()["by_delivery"] == {"acked": 2 * n}

        home = Path(tmp, "cli")
        env = {**os.environ, "SWITCHBOARD_HOME": str(home)}
        sb = str(Path(sys.executable).with_name("sb"))
        subprocess.run([sb, "mail", "status"], env=env, check=True, stdout=subprocess.DEVNULL)
        send_ms = _timed_calls(
            [sb, "mail", "send", "--to", "bob", "--type", "request", "--payload", "hi"], args.calls, env
        )
        check_ms = _timed_calls([sb, "mail", "check", "--agent", "bob", "--json"], args.calls, env)
        rows.append(("CLI `sb mail send`, per call", f"{send_ms:.0f} ms"))
        rows.append(("CLI `sb mail check --json`, per call", f"{check_ms:.0f} ms"))
        python_ms = _timed_calls([sys.executable, "-c", "pass"], args.calls, env)
        rows.append(("  python start-up alone, per call", f"{python_ms:.0f} ms"))
        sqlite3_cli = shutil.which("sqlite3")
        if sqlite3_cli:
            db = str(home / "switchboard.db")
            floor_ms = _timed_calls(
                [
                    sqlite3_cli,
                    db,
                    "PRAGMA busy_timeout=5000; INSERT INTO agents "
                    "(name, role, status, registered_at, last_seen_at) VALUES "
                    "('x' || abs(random()), 'w', 'active', 0, 0);",
                ],
                args.calls,
                env,
            )
            rows.append(("  shell-helper floor: one sqlite3 process per call", f"{floor_ms:.0f} ms"))
            rows.append(("  CLI send / shell-helper floor", f"{send_ms / floor_ms:.1f}x"))

    width = max(len(r[0]) for r in rows)
    print(f"mailbox benchmark ({n} messages, SQLite WAL, {os.cpu_count()} cores)")
    for name, value in rows:
        print(f"  {name:<{width}}  {value:>12}")


if __name__ == "__main__":
    main()
