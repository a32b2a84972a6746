"""Per-call time of the CLI as a user meets it: a fresh process per call, bytecode
caches on (this machine sets PYTHONDONTWRITEBYTECODE=1; users do not), no coordinator.

The commands run interleaved (one of each per round) so that load on the machine hits
them alike; the figures are min and median over the rounds, next to the floors measured
in the same rounds: `python -c pass` and `python -c "import typer"`, and the typer CLI's
own path for two of the hot mail verbs (the way every call ran before `mailbox/hot.py`).

    python bench/cli.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _commands(sb: str) -> dict[str, list[str]]:
    typer_path = [sys.executable, "-c", "from switchboard.cli import main; main()"]  # how every call ran before
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "sb --help": [sb, "--help"],
        "sb mail send": [sb, "mail", "send", "--to", "bob", "--type", "request", "--payload", "hi"],
        "sb mail check --json": [sb, "mail", "check", "--agent", "bob", "--json"],
        "sb mail check (table)": [sb, "mail", "check", "--agent", "bob"],
        "sb mail claim": [sb, "mail", "claim", "--agent", "bob", "--json"],
        "sb mail ack": [sb, "mail", "ack", "{claimed}"],  # the message this round's claim leased
        "typer path: mail send": [*typer_path, "mail", "send", "--to", "bob", "--type", "request", "--payload", "hi"],
        "typer path: mail check --json": [*typer_path, "mail", "check", "--agent", "bob", "--json"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    sb = str(Path(sys.executable).with_name("sb"))
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["SWITCHBOARD_HOME"] = str(Path(tmp, "home"))
        commands = _commands(sb)
        claimed = "1"
        times: dict[str, list[float]] = {name: [] for name in commands}
        for round in range(args.rounds + 1):  # round 0 warms up: schema, bytecode caches
            for name, argv in commands.items():
                started = time.perf_counter()
                done = subprocess.run(
                    [a.format(claimed=claimed) for a in argv], env=env, check=False, stdout=subprocess.PIPE, text=True
                )
                if round:
                    times[name].append((time.perf_counter() - started) * 1000)
                if name == "sb mail claim" and done.returncode == 0:
                    claimed = str(json.loads(done.stdout)["id"])
    width = max(map(len, times))
    print(f"CLI per call, ms ({args.rounds} interleaved rounds, bytecode caches on, {os.cpu_count()} cores)")
    print(f"  {'command':<{width}}  {'min':>6}  {'median':>6}")
    for name, values in times.items():
        print(f"  {name:<{width}}  {min(values):6.1f}  {statistics.median(values):6.1f}")


if __name__ == "__main__":
    main()
