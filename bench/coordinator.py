"""The coordinator: N tasks over R runners, against raw parallel HTTP and cold `opencode run`.

All three drive the same scripted model (zero latency) through the same pinned
OpenCode, so what differs is the dispatch:

1. raw parallel HTTP — switchboard's client straight to the server, R prompts in
   flight at a time (the limit: what R runners could do with no bookkeeping);
2. cold `opencode run`, one after another (the reference's method 1), timed on a
   sample and extrapolated to N;
3. switchboard — N tasks queued, R runners, the coordinator loop in-process
   (database, leases, context injection, event following, reports).

Prints wall times, ratios, per-task overhead, where each task's time goes (per phase:
record, equip, session, recall, context, prompt, first event, turn, settle, report,
session deletion) and dispatch latency (the gap between a runner finishing one task
and its next task's prompt going out).

    python bench/coordinator.py [--tasks 50] [--runners 4] [--cold-sample 5]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from dispatch import SCRIPT, _check, _prompt, cold, parallel  # bench/dispatch.py: the same prompts and baselines
from switchboard.config import Settings
from switchboard.coordinator.loop import Coordinator
from switchboard.coordinator.tasks import Tasks
from switchboard.modelserver import ScriptedModel, configure
from switchboard.opencode import find_binary
from switchboard.opencode.sandbox import isolated_env
from switchboard.opencode.server import QUIET_ENV, ManagedServer
from switchboard.runners import Runners


class PhaseLog(logging.Handler):
    """Collects each attempt's per-phase figures (the `phases` of its last debug record)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.runs: list[dict[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(getattr(record, "phases", None), dict):
            self.runs.append(record.phases)  # type: ignore[attr-defined]


def drive(coordinator: Coordinator, done: Callable[[], bool], poll: float = 0.05) -> float:
    """Run the coordinator's loop until `done()`; the seconds it took."""

    async def main() -> float:
        stop = anyio.Event()
        started = time.perf_counter()

        async def watch() -> None:
            while not done():
                await anyio.sleep(poll)
            stop.set()

        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            await coordinator.run(stop, grace=5)
        return time.perf_counter() - started

    return anyio.run(main)


def check_done(tasks: Tasks, ids: list[int]) -> None:
    """Every task done, with the answer its prompt asked for."""
    for i, task_id in enumerate(ids):
        task = tasks.get(task_id)
        assert task.status.value == "done", (task_id, task.error)
        _check(i, task.result or "")


def print_phases(runs: list[dict[str, float]], percentile: float) -> None:
    """Mean and `percentile` of each phase over the attempts, then the mean total."""
    print(f"where a task's runner time goes (mean over {len(runs)} attempts):")
    for name in dict.fromkeys(name for run in runs for name in run):
        values = sorted(run.get(name, 0.0) for run in runs)
        tail = values[min(len(values) - 1, int(len(values) * percentile))]
        print(f"  {name:<16} {statistics.mean(values):7.1f} ms  (p{percentile * 100:.0f} {tail:.1f})")
    print(f"  {'total':<16} {statistics.mean(sum(r.values()) for r in runs):7.1f} ms")


def coordinated(settings: Settings, workdir: Path, count: int, width: int) -> tuple[float, list[float]]:
    runners = Runners.open(settings)
    for r in range(width):
        runners.create(f"runner-{r}", workdir=workdir)
    tasks = Tasks(runners.store, settings)
    coordinator = Coordinator(settings, concurrency=width, remember=False)
    ids = [tasks.add(_prompt(i)).id for i in range(count)]
    elapsed = drive(coordinator, lambda: all(tasks.get(i).status.finished for i in ids))
    check_done(tasks, ids)
    gaps: list[float] = []
    for r in range(width):
        runs = sorted(runners.runs(f"runner-{r}", limit=count), key=lambda run: run.started_at)
        gaps += [b.started_at - a.finished_at for a, b in zip(runs, runs[1:])]
    return elapsed, gaps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=50)
    parser.add_argument("--runners", type=int, default=4)
    parser.add_argument("--cold-sample", type=int, default=5, help="cold `opencode run`s actually timed")
    parser.add_argument("--bin", help="opencode binary [default: as switchboard finds it]")
    args = parser.parse_args()
    n, width = args.tasks, args.runners

    with tempfile.TemporaryDirectory(prefix="sb-bench-") as tmp, ScriptedModel(SCRIPT) as model:
        root = Path(tmp)
        settings = Settings.load(root / "home")
        binary = find_binary(settings, args.bin)
        workdir = root / "project"
        configure(workdir, model.base_url)
        print(f"{n} tasks over {width} runners; scripted model at {model.base_url}; {binary}", flush=True)

        env = {**os.environ, **QUIET_ENV, **isolated_env(root / "opencode")}
        env.pop("OPENCODE_SERVER_PASSWORD", None)
        sample = max(1, min(args.cold_sample, n))
        t_cold = cold(binary, workdir, env, sample) * n / sample

        server = ManagedServer(settings, binary=binary, env=isolated_env(root / "opencode"))
        info, _ = server.start()
        try:
            parallel(info.endpoint, workdir, 1)  # warm the project's instance
            t_raw = parallel(info.endpoint, workdir, n, width)
            phases = PhaseLog()
            attempt_log = logging.getLogger("switchboard.runners")
            attempt_log.addHandler(phases)
            attempt_log.setLevel(logging.DEBUG)
            t_sb, gaps = coordinated(settings, workdir, n, width)
        finally:
            server.stop()

    print(f"raw parallel HTTP, {width} in flight (the limit): {t_raw:7.2f} s")
    print(f"switchboard coordinator, {width} runners:        {t_sb:7.2f} s")
    print(f"cold `opencode run`, one after another:      {t_cold:7.2f} s  (timed on {sample}, scaled to {n})")
    print(f"ratios: switchboard / raw = {t_sb / t_raw:.2f}x, cold / switchboard = {t_cold / t_sb:.1f}x")
    print(f"per-task overhead over raw HTTP: {(t_sb - t_raw) * width / n * 1000:.0f} ms of runner time")
    if phases.runs:
        print_phases(phases.runs, 0.9)
    if gaps:
        print(
            f"dispatch latency (runner free -> next prompt): median {statistics.median(gaps) * 1000:.0f} ms, "
            f"max {max(gaps) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    sys.exit(main())
