"""The HTTP API and dashboard: request rates, first render, event latency.

Prints, on a real SQLite file and a real `switchboard serve` process:
- `GET /tasks` and `POST /tasks` requests per second, 1 client and 4 at once, next to
  the same calls made in-process on the Python API (the floor) and through the CLI
  (what a script does without the server);
- the dashboard's time to first contentful paint in headless Chromium with 1,000 tasks,
  next to the same page with 10;
- event latency, task done (committed in another process) to the SSE client seeing it,
  p50/p99, next to what the event stream's fallback look (once a second) would give.

    python bench/web.py [--requests 500] [--events 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.runners import Runners
from switchboard.web.feed import CHECK_EVERY

CHROMIUM = "/usr/bin/chromium"
FINISHER = """
import json, sys, time
from switchboard.coordinator.tasks import Tasks
tasks, times = Tasks.open(), []
for i in range(int(sys.argv[1])):
    task = tasks.add(f"event {i}", runner="bench", priority="urgent")  # before the 1,000 queued ones
    tasks.claim("bench", capacity=1, lease=30)
    tasks.complete(task.id, "bench", "ok")
    times.append((task.id, time.time()))
    time.sleep(0.05)
print(json.dumps(times))
"""


def serve(home: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "SWITCHBOARD_HOME": str(home)}
    process = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "serve", "--port", "0", "--no-auth", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=open(home.parent / f"{home.name}.log", "w"),  # noqa: SIM115 - the server's, for its life
        text=True,
    )
    lines = []
    while not "".join(lines).rstrip().endswith("}"):
        lines.append(process.stdout.readline())
    return process, json.loads("".join(lines))["url"]


def rate(call, n: int, clients: int = 1) -> float:  # noqa: ANN001
    started = time.perf_counter()
    if clients == 1:
        for _ in range(n):
            call()
    else:
        with ThreadPoolExecutor(clients) as pool:
            list(pool.map(lambda _: call(), range(n)))
    return n / (time.perf_counter() - started)


def first_paint(url: str) -> float:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page()
        page.goto(url)  # warm the server and the browser
        paints = []
        for _ in range(5):
            page.goto(url)
            paint = None
            while paint is None:  # the entry appears once the page has painted
                paint = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null")
            paints.append(paint)
        browser.close()
    return statistics.median(paints)


def event_latency(home: Path, url: str, n: int) -> list[float]:
    """Seconds from a task's commit (in another process) to the SSE client seeing it done."""
    seen: dict[int, float] = {}
    ready = threading.Event()

    def sse() -> None:
        with httpx.stream("GET", url + "/events", timeout=60) as response:
            kind = None
            for line in response.iter_lines():
                if line == ": connected":
                    ready.set()
                elif line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "task":
                    task = json.loads(line[6:])
                    if task["status"] == "done":
                        seen[task["id"]] = time.time()
                        if len(seen) >= n:
                            return

    reader = threading.Thread(target=sse, daemon=True)
    reader.start()
    ready.wait(20)
    time.sleep(0.5)
    env = {**os.environ, "SWITCHBOARD_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", FINISHER, str(n)], env=env, capture_output=True, text=True, check=True
    ).stdout
    reader.join(30)
    return [seen[i] - at for i, at in json.loads(out) if i in seen]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    n = args.requests
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        home = Path(tmp, "home")
        settings = Settings.load(home)
        Runners.open(settings).create("bench", "benchmarks", workdir=tmp)
        tasks = Tasks.open(settings)
        for i in range(1000):
            tasks.add(f"task {i}: a prompt of a realistic length, asking for some work to be done", runner="bench")
        process, url = serve(home)
        try:
            client = httpx.Client(base_url=url)
            api_get = rate(lambda: tasks.list(limit=100), n)
            http_get = rate(lambda: client.get("/tasks").raise_for_status(), n)
            shared = httpx.Client(base_url=url, limits=httpx.Limits(max_connections=4))
            http_get4 = rate(lambda: shared.get("/tasks").raise_for_status(), n, clients=4)
            api_post = rate(lambda: tasks.add("bench post", runner="bench"), n)
            http_post = rate(
                lambda: client.post("/tasks", json={"prompt": "bench post", "runner": "bench"}).raise_for_status(), n
            )
            http_post4 = rate(
                lambda: shared.post("/tasks", json={"prompt": "bench post", "runner": "bench"}).raise_for_status(),
                n,
                clients=4,
            )
            sb = str(Path(sys.executable).with_name("sb"))
            env = {**os.environ, "SWITCHBOARD_HOME": str(home)}
            cli_get = rate(
                lambda: subprocess.run([sb, "task", "list", "--json"], env=env, check=True, stdout=subprocess.DEVNULL),
                10,
            )
            rows += [
                ("GET /tasks (100 of 1,000), Python API in-process", f"{api_get:,.0f} calls/s (floor)"),
                (
                    "GET /tasks, 1 HTTP client (keep-alive)",
                    f"{http_get:,.0f} req/s ({http_get / api_get:.2f}x the floor)",
                ),
                ("GET /tasks, 4 HTTP clients at once", f"{http_get4:,.0f} req/s"),
                (
                    "GET via `sb task list --json`",
                    f"{cli_get:,.1f} calls/s ({http_get / cli_get:.0f}x slower than HTTP)",
                ),
                ("POST /tasks, Python API in-process", f"{api_post:,.0f} calls/s (floor)"),
                ("POST /tasks, 1 HTTP client", f"{http_post:,.0f} req/s ({http_post / api_post:.2f}x the floor)"),
                ("POST /tasks, 4 HTTP clients", f"{http_post4:,.0f} req/s"),
            ]
            if os.access(CHROMIUM, os.X_OK):
                small_home = Path(tmp, "small")
                small = Tasks.open(Settings.load(small_home))
                for i in range(10):
                    small.add(f"task {i}")
                small_process, small_url = serve(small_home)
                try:
                    paint_small = first_paint(small_url + "/")
                finally:
                    small_process.terminate()
                paint = first_paint(url + "/")
                rows += [
                    ("dashboard first contentful paint, 10 tasks", f"{paint_small:.0f} ms"),
                    (
                        f"dashboard first contentful paint, {tasks.counts().get('queued', 0):,} tasks",
                        f"{paint:.0f} ms ({paint / paint_small:.2f}x)",
                    ),
                ]
            latency = event_latency(home, url, args.events)
            rows += [
                (
                    f"task done -> SSE client sees it (p50/p99, n={len(latency)} of {args.events})",
                    f"{pct(latency, 0.5):.1f} / {pct(latency, 0.99):.1f} ms "
                    f"(a {CHECK_EVERY * 1000:.0f} ms poll would average {CHECK_EVERY * 500:.0f} ms)",
                )
            ]
        finally:
            process.terminate()
            process.wait(10)
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
