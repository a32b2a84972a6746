"""Poison `task_dispatch` mail against an ordinary task: how much later is it done?

One runner, the scripted model (zero latency) behind the pinned OpenCode. Each round
starts a coordinator in-process with one ordinary task queued (`task add`) and times
it from the coordinator's start to the task's end: first with an empty mailbox (the
baseline), then with N malformed dispatch messages waiting for the coordinator (wrong
types, nan timeouts, unknown runners, deep nesting). Every poison message must be
answered with a `status_report` and acked.

    python bench/poison.py [--messages 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from dispatch import SCRIPT, _check, _prompt  # bench/dispatch.py: the same prompts
from switchboard.config import Settings
from switchboard.coordinator.loop import Coordinator
from switchboard.coordinator.tasks import Tasks
from switchboard.mailbox import Mailbox
from switchboard.modelserver import ScriptedModel, configure
from switchboard.opencode import find_binary
from switchboard.opencode.sandbox import isolated_env
from switchboard.opencode.server import ManagedServer
from switchboard.runners import Runners

POISON = [
    '{"prompt": 42}',
    '{"prompt": ["a", "b"]}',
    '{"prompt": null}',
    '{"prompt": "x", "max_attempts": "many"}',
    '{"prompt": "x", "timeout": NaN}',
    '{"prompt": "x", "timeout": Infinity}',
    '{"prompt": "x", "runner": "ghost"}',
    '{"prompt": "x", "after": [1, [2]]}',
    '{"prompt": "x", "priority": 3}',
    "[" * 5000 + "]" * 5000,
]


def one_round(settings: Settings, tasks: Tasks, i: int) -> float:
    """Seconds from a coordinator's start to the end of one task queued before it."""
    task_id = tasks.add(_prompt(i)).id

    async def main() -> float:
        stop = anyio.Event()
        started = time.perf_counter()
        coordinator = Coordinator(settings, concurrency=1, remember=False)

        async def watch() -> None:
            while not tasks.get(task_id).status.finished:
                await anyio.sleep(0.02)
            stop.set()

        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            await coordinator.run(stop, grace=5)
        return time.perf_counter() - started

    elapsed = anyio.run(main)
    task = tasks.get(task_id)
    assert task.status.value == "done", (task_id, task.error)
    _check(i, task.result or "")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--bin", help="opencode binary [default: as switchboard finds it]")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp, ScriptedModel(SCRIPT) as model:
        root = Path(tmp)
        settings = Settings.load(root / "home")
        workdir = root / "project"
        configure(workdir, model.base_url)
        runners = Runners.open(settings)
        runners.create("worker", workdir=workdir)
        tasks = Tasks(runners.store, settings)
        mailbox = Mailbox(runners.store, settings)
        server = ManagedServer(settings, binary=find_binary(settings, args.bin), env=isolated_env(root / "opencode"))
        server.start()
        try:
            one_round(settings, tasks, 0)  # warm the project's instance
            plain, poisoned, sent = [], [], []
            for r in range(args.rounds):
                plain.append(one_round(settings, tasks, 2 * r + 1))
                sent += [
                    mailbox.send("coordinator", "task_dispatch", POISON[m % len(POISON)], sender=f"prober{r}")[0]
                    for m in range(args.messages)
                ]
                poisoned.append(one_round(settings, tasks, 2 * r + 2))
            drainer = Coordinator(settings, concurrency=1, remember=False)
            left = sum(mailbox.get(m.id).delivery.value == "pending" for m in sent)
            drained = time.perf_counter()
            while any(mailbox.get(m.id).delivery.value == "pending" for m in sent[-args.messages :]):
                drainer.ingest_mail()
            drained = time.perf_counter() - drained
        finally:
            server.stop()
        unacked = sum(mailbox.get(m.id).delivery.value != "acked" for m in sent)
        answered = sum(len([x for x in mailbox.thread(m.id) if x.reply_to == m.id]) for m in sent)

    base, worst = statistics.median(plain), statistics.median(poisoned)
    print(f"ordinary task, empty mailbox:              median {base:6.2f} s over {args.rounds} rounds")
    print(f"ordinary task, {args.messages} poison messages waiting: median {worst:6.2f} s (max {max(poisoned):.2f} s)")
    print(f"delay from the poison: {worst - base:+.2f} s (ratio {worst / base:.2f}x; target: at most +1 s)")
    print(
        f"poison messages: {len(sent)} sent, {len(sent) - unacked} acked, {answered} answered; "
        f"the {left} left after the last round drained in {drained:.2f} s "
        f"({left / drained:.0f} a second)"
    )


if __name__ == "__main__":
    sys.exit(main())
