"""Chaos: the coordinator and its managed OpenCode server killed while they work.

Phase 1: N tasks over 3 runners, the coordinator (`coordinator start --foreground`,
managing its own `opencode serve`) `kill -9`ed three times at random and restarted
at once, and the OpenCode server `kill -9`ed once (the coordinator restarts it).
Prints tasks done, prompts that reached the model twice, duplicate reports, and the
time from each kill to the next prompt reaching the model.

Phase 2: 200 more tasks with no chaos: sessions left on the server (beyond those
kept on purpose: none here) and the coordinator's RSS before and after.

    python bench/chaos.py [--tasks 60] [--more 200] [--seed 11]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from switchboard.config import Settings
from switchboard.coordinator import daemon
from switchboard.coordinator.tasks import Tasks
from switchboard.mailbox import Mailbox
from switchboard.modelserver import ScriptedModel, configure
from switchboard.opencode import find_binary
from switchboard.opencode.sandbox import isolated_env
from switchboard.opencode.server import ManagedServer
from switchboard.runners import Runners

SCRIPT = [{"name": "job", "match": r"^chaos job (\d+)", "delay": 0.8, "reply": "finished job {1}"}]
PROMPT = re.compile(r"^chaos job \d+$")


class StampedModel(ScriptedModel):
    """The scripted model, noting when each request arrived."""

    def answer(self, body: dict[str, Any]) -> Any:
        body["_at"] = time.time()
        return super().answer(body)


def first_prompts(model: StampedModel) -> list[tuple[float, str]]:
    """(time, prompt) of each request that put a task's prompt to the model (not tool follow-ups)."""
    out = []
    for request in list(model.requests):
        last = request["messages"][-1] if request["messages"] else {}
        text = str(last.get("content")) if last.get("role") == "user" else ""
        found = re.search(r"chaos job \d+", text)
        if found:
            out.append((request["_at"], found.group(0)))
    return out


def start(home: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (home / "chaos-coordinator.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "switchboard",
            "--home",
            str(home),
            "coordinator",
            "start",
            "--foreground",
            "--no-memory",
            "--concurrency=3",
            "--lease=5",
        ],
        env=env,
        stdout=log,
        stderr=log,
    )


def wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def next_prompt_after(model: StampedModel, moment: float) -> float | None:
    times = [at for at, _ in first_prompts(model) if at > moment]
    return min(times) - moment if times else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--more", type=int, default=200)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="sb-chaos-") as tmp, StampedModel(SCRIPT, keep_requests=100_000) as model:
        root = Path(tmp)
        home = root / "home"
        settings = Settings.load(home)
        workdir = root / "project"
        configure(workdir, model.base_url)
        env = {
            **os.environ,
            **isolated_env(root / "opencode"),
            "SWITCHBOARD_HOME": str(home),
            "SWITCHBOARD_OPENCODE_BIN": find_binary(settings),
        }
        env.pop("OPENCODE_SERVER_PASSWORD", None)
        runners = Runners.open(settings)
        for name in ("ann", "bob", "cy"):
            runners.create(name, workdir=workdir)
        tasks = Tasks(runners.store, settings)
        ids = [tasks.add(f"chaos job {i}").id for i in range(args.tasks)]
        print(f"{args.tasks} tasks over 3 runners; coordinator kill -9 x3, OpenCode server kill -9 x1", flush=True)

        coordinator = start(home, env)
        kills: list[tuple[str, float]] = []
        plan = ["coordinator", "coordinator", "server", "coordinator"]
        rng.shuffle(plan)
        started = time.monotonic()
        try:
            for what in plan:
                done_before = len(tasks.list(status="done", limit=100_000))
                target = done_before + rng.randint(3, max(4, args.tasks // (len(plan) + 1)))
                wait_for(
                    lambda: (
                        len(tasks.list(status="done", limit=100_000)) >= target
                        or all(tasks.get(i).status.finished for i in ids)
                    ),
                    120,
                )
                if what == "coordinator":
                    os.kill(coordinator.pid, signal.SIGKILL)
                    kills.append((what, time.time()))
                    coordinator.wait()
                    coordinator = start(home, env)
                else:
                    info = ManagedServer(settings).read()
                    assert info is not None
                    os.kill(info.pid, signal.SIGKILL)
                    kills.append((what, time.time()))
            finished = wait_for(lambda: all(tasks.get(i).status.finished for i in ids), 300)
            chaos_seconds = time.monotonic() - started
            statuses = Counter(tasks.get(i).status.value for i in ids)
            seen = Counter(prompt for _, prompt in first_prompts(model))
            twice = sorted(p for p, n in seen.items() if n > 1)
            reports = Counter(
                re.search(r"run-\d+\)", m.payload).group(0)
                for m in Mailbox.open(settings).check("coordinator", type="status_report", limit=10_000)
            )
            duplicate_reports = sum(n - 1 for n in reports.values() if n > 1)
            retried = sum(1 for i in ids if tasks.get(i).attempts > 1)
            print(
                f"finished: {finished} in {chaos_seconds:.1f} s; tasks {dict(statuses)}; "
                f"retried (attempts > 1): {retried}"
            )
            print(f"prompts that reached the model twice: {len(twice)} {twice[:10]}")
            print(f"duplicate reports: {duplicate_reports} ({sum(reports.values())} reports)")
            for what, moment in kills:
                gap = next_prompt_after(model, moment)
                print(
                    f"kill -9 {what:<11} -> next prompt at the model after "
                    + (f"{gap:.2f} s" if gap is not None else "never")
                )
            stuck = [
                r for name in ("ann", "bob", "cy") for r in runners.runs(name, limit=10_000) if r.status == "running"
            ]
            print(f"run records still running: {len(stuck)}")

            # Phase 2: no chaos, many tasks: what is left behind, and the coordinator's memory.
            assert wait_for(lambda: daemon.read_state(settings) is not None, 60)
            rss_before = rss_kb(coordinator.pid)
            more = [tasks.add(f"chaos job {args.tasks + i}").id for i in range(args.more)]
            t0 = time.monotonic()
            wait_for(lambda: all(tasks.get(i).status.finished for i in more), 600)
            elapsed = time.monotonic() - t0
            rss_after = rss_kb(coordinator.pid)
            info = ManagedServer(settings).read()
            assert info is not None
            with info.endpoint.sync_client(directory=workdir) as client:
                left = [s for s in client.list_sessions() if s.title.endswith(runners.session_tag)]
            done_more = sum(1 for i in more if tasks.get(i).status.value == "done")
            print(
                f"{args.more} more tasks: {done_more} done in {elapsed:.1f} s; "
                f"sessions left on the server: {len(left)} (all tasks, both phases; 0 kept on purpose)"
            )
            print(
                f"coordinator RSS: {rss_before / 1024:.1f} MiB before, {rss_after / 1024:.1f} MiB after "
                f"{args.more} tasks ({(rss_after - rss_before) / 1024:+.1f} MiB)"
            )
        finally:
            coordinator.terminate()
            coordinator.wait(timeout=60)
            ManagedServer(settings).stop()
            kept = Path(tempfile.gettempdir()) / "sb-chaos-coordinator.log"
            kept.write_bytes((home / "chaos-coordinator.log").read_bytes())
            print(f"coordinator log: {kept}")


if __name__ == "__main__":
    sys.exit(main())
