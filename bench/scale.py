"""A large run: N tasks over R runners on S OpenCode servers, against raw parallel HTTP
with the same concurrency on the same servers.

The scripted model runs in its own process (`sb model serve`), so the CPU time of this
process during the coordinated run is the coordinator's. Prints wall times and their
ratio, dispatch latency (a runner's run settled -> its next prompt sent) p50/p99, the
coordinator's CPU seconds per task, its RSS before and after, and the slowest phases.
`--delay 2` gives every answer a 2 s model latency, to show where the limit then lies.

    python bench/scale.py [--tasks 1000] [--runners 16] [--servers 2] [--delay 0]
                          [--backend sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

import anyio

from backends import postgres_url  # bench/backends.py: the embedded PostgreSQL
from coordinator import PhaseLog, check_done, drive, print_phases  # bench/coordinator.py
from dispatch import _check, _prompt, serve  # bench/dispatch.py: the prompts, answers and servers
from switchboard.config import Settings
from switchboard.coordinator.loop import Coordinator
from switchboard.coordinator.tasks import Tasks
from switchboard.opencode import find_binary
from switchboard.opencode.sandbox import isolated_env
from switchboard.opencode.server import QUIET_ENV, Endpoint
from switchboard.runners import Runners


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def model_server(root: Path, workdir: Path, delay: float) -> subprocess.Popen[bytes]:
    """`sb model serve` in its own process, the project pointed at it."""
    script = root / "script.json"
    script.write_text(json.dumps([{"match": r"say ([\w ]+)", "reply": "{1}", "delay": delay}]))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sb = str(Path(sys.executable).with_name("sb"))
    process = subprocess.Popen(
        [sb, "model", "serve", "--script", str(script), "--port", str(port), "--configure", str(workdir), "-q"],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            if (workdir / "opencode.json").exists():
                return process
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the scripted model did not start")


def raw(targets: list[Endpoint], workdir: Path, count: int, width: int) -> float:
    """`count` prompts, `width` in flight, spread over the servers as the coordinator spreads them."""

    async def main() -> float:
        limit = anyio.Semaphore(width)
        async with AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(t.client(directory=workdir)) for t in targets]

            async def one(i: int) -> None:
                async with limit:
                    client = clients[i % len(clients)]
                    session = await client.create_session(title=f"raw {i}")
                    _check(i, (await client.run(session.id, _prompt(i), timeout=300)).text)

            started = time.perf_counter()
            async with anyio.create_task_group() as group:
                for i in range(count):
                    group.start_soon(one, i)
            return time.perf_counter() - started

    return anyio.run(main)


def coordinated(settings: Settings, workdir: Path, urls: list[str], count: int, width: int) -> dict[str, float]:
    runners = Runners.open(settings)
    for r in range(width):
        runners.create(f"runner-{r}", workdir=workdir)
    tasks = Tasks(runners.store, settings)
    coordinator = Coordinator(settings, concurrency=width, attach=urls, remember=False)
    ids = [tasks.add(_prompt(i)).id for i in range(count)]
    rss_start, cpu_start = rss_mb(), cpu_seconds()

    def finished() -> bool:
        return sum(n for status, n in tasks.counts().items() if status in ("done", "dead")) >= count

    elapsed = drive(coordinator, finished, poll=0.2)
    cpu = cpu_seconds() - cpu_start
    check_done(tasks, ids)
    gaps: list[float] = []
    for r in range(width):
        runs = sorted(runners.runs(f"runner-{r}", limit=count), key=lambda run: run.started_at)
        gaps += [b.prompted_at - a.finished_at for a, b in zip(runs, runs[1:]) if b.prompted_at and a.finished_at]
    gaps.sort()
    return {
        "wall": elapsed,
        "cpu per task": cpu / count,
        "rss start": rss_start,
        "rss end": rss_mb(),
        "dispatch p50": statistics.median(gaps) if gaps else float("nan"),
        "dispatch p99": gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))] if gaps else float("nan"),
    }


def _with_credentials(target: Endpoint) -> str:
    """The `--attach` form: credentials in the URL."""
    return target.url.replace("://", f"://{target.username}:{target.password}@", 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--runners", type=int, default=16)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.0, help="model latency per answer, seconds")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--bin", help="opencode binary [default: as switchboard finds it]")
    args = parser.parse_args()
    n, width = args.tasks, args.runners

    with tempfile.TemporaryDirectory(prefix="sb-scale-") as tmp:
        root = Path(tmp)
        os.environ.setdefault("XDG_RUNTIME_DIR", str(root))
        if args.backend == "postgresql":
            os.environ["SWITCHBOARD_DATABASE_URL"] = postgres_url(root, "bench_scale").format(db="bench_scale")
        settings = Settings.load(root / "home")
        binary = find_binary(settings, args.bin)
        workdir = root / "project"
        workdir.mkdir()
        model = model_server(root, workdir, args.delay)
        servers: list[tuple[subprocess.Popen[bytes], Endpoint]] = []
        try:
            for s in range(args.servers):
                env = {**os.environ, **QUIET_ENV, **isolated_env(root / f"opencode-{s}")}
                servers.append(serve(binary, workdir, env))
            targets = [target for _, target in servers]
            print(
                f"{n} tasks over {width} runners on {len(targets)} servers, {args.backend}, "
                f"model delay {args.delay:g} s, {os.cpu_count()} cores",
                flush=True,
            )
            raw(targets, workdir, len(targets), len(targets))  # warm each server's project instance
            t_raw = raw(targets, workdir, n, width)
            print(f"raw parallel HTTP, {width} in flight: {t_raw:8.2f} s", flush=True)
            phases = PhaseLog()
            attempt_log = logging.getLogger("switchboard.runners")
            attempt_log.addHandler(phases)
            attempt_log.setLevel(logging.DEBUG)
            sb = coordinated(settings, workdir, [_with_credentials(t) for t in targets], n, width)
        finally:
            for process, _ in servers:
                process.terminate()
            model.terminate()
            for process in [model, *(p for p, _ in servers)]:
                process.wait(timeout=30)

    print(f"switchboard coordinator, {width} runners: {sb['wall']:8.2f} s")
    print(f"ratio switchboard / raw: {sb['wall'] / t_raw:.2f}x")
    print(f"per-task overhead over raw HTTP: {(sb['wall'] - t_raw) * width / n * 1000:.0f} ms of runner time")
    print(
        f"dispatch latency (run settled -> next prompt): p50 {sb['dispatch p50'] * 1000:.0f} ms, "
        f"p99 {sb['dispatch p99'] * 1000:.0f} ms"
    )
    print(f"coordinator CPU per task: {sb['cpu per task'] * 1000:.1f} ms")
    print(f"coordinator RSS: {sb['rss start']:.0f} MB at start, {sb['rss end']:.0f} MB at the end")
    if phases.runs:
        print_phases(phases.runs, 0.99)


if __name__ == "__main__":
    sys.exit(main())
