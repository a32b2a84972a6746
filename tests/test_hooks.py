"""Webhooks: signed deliveries when tasks end, retries with backoff, dead hooks that
block nothing, several delivery loops that send each delivery once — against real
HTTP receivers and a real database."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.hooks import Hooks, delivery
from switchboard.hooks.signing import BadSignature, verify
from switchboard.runners import Runners


class Receiver:
    """A real HTTP server that records posts; answers with `codes` in turn, then 200."""

    def __init__(self, codes: list[int] | None = None, delay: float = 0.0) -> None:
        self.posts: list[dict] = []
        self.codes = list(codes or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(delay)
                receiver.posts.append({"headers": dict(self.headers), "body": body})
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[list[Receiver]]:
    made: list[Receiver] = []
    yield made
    for receiver in made:
        receiver.close()


@pytest.fixture
def tasks(settings: Settings, tmp_path: Path) -> Tasks:
    runners = Runners.open(settings)
    runners.create("reviewer", "reviews", workdir=tmp_path)
    return Tasks(runners.store, settings)


def end(tasks: Tasks, how: str) -> int:
    """Take a task through the coordinator's API to an end: done, failed (requeued), dead, cancelled."""
    task = tasks.add(f"task that ends {how}", runner="reviewer", max_attempts=1 if how == "dead" else 3)
    if how == "cancelled":
        return tasks.cancel(task.id).id
    (assignment,) = tasks.claim("test-owner", capacity=1, lease=30)
    if how == "done":
        tasks.complete(task.id, "test-owner", "all good")
    else:
        tasks.fail(task.id, "test-owner", f"it broke ({how})")
    return assignment.task.id


def deliver_until(
    settings: Settings,
    hooks: Hooks,
    done,
    timeout: float = 20,
    loops: int = 1,  # noqa: ANN001
    **options,
) -> None:  # noqa: ANN003
    async def main() -> None:
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            for _ in range(loops):
                group.start_soon(lambda: delivery.run(stop, settings, hooks=Hooks(hooks.store, settings), **options))
            with anyio.move_on_after(timeout):
                while not done():
                    await anyio.sleep(0.05)
            stop.set()

    anyio.run(main)


def test_signed_deliveries_for_the_chosen_endings_only(
    settings: Settings, tasks: Tasks, receivers: list[Receiver]
) -> None:
    receivers += [Receiver(), Receiver()]
    hooks = Hooks(tasks.store, settings)
    json_hook = hooks.add(receivers[0].url, "done,dead", format="json")
    slack_hook = hooks.add(receivers[1].url, "failed,cancelled", format="slack")
    ids = {how: end(tasks, how) for how in ("done", "failed", "dead", "cancelled")}

    deliver_until(settings, hooks, lambda: len(receivers[0].posts) >= 2 and len(receivers[1].posts) >= 2)
    time.sleep(0.3)  # nothing more arrives

    events = sorted((json.loads(p["body"])["event"], json.loads(p["body"])["task"]["id"]) for p in receivers[0].posts)
    assert events == [("dead", ids["dead"]), ("done", ids["done"])]
    for post in receivers[0].posts:
        verify(json_hook.secret, post["headers"], post["body"])  # raises if wrong
        with pytest.raises(BadSignature):
            verify(slack_hook.secret, post["headers"], post["body"])
    done = next(json.loads(p["body"]) for p in receivers[0].posts if json.loads(p["body"])["event"] == "done")
    assert done["task"]["result"] == "all good" and done["task"]["status"] == "done"
    texts = sorted(json.loads(p["body"])["text"] for p in receivers[1].posts)
    assert f"task #{ids['cancelled']} cancelled" in texts[0] + texts[1]
    assert any(f"task #{ids['failed']} failed" in t and "it broke (failed)" in t for t in texts)
    assert all(d.status == "delivered" and d.response_code == 200 for d, _ in hooks.log())


def test_failed_posts_are_retried_and_a_dead_hook_blocks_nothing(
    settings: Settings, tasks: Tasks, receivers: list[Receiver]
) -> None:
    receivers += [Receiver(codes=[500, 503]), Receiver()]
    hooks = Hooks(tasks.store, settings)
    flaky = hooks.add(receivers[0].url, "done")
    healthy = hooks.add(receivers[1].url, "done")
    dead = hooks.add("http://127.0.0.1:9/nobody-listens", "done")
    task_id = end(tasks, "done")

    def settled() -> bool:
        return all(d.status != "pending" for d, _ in hooks.log())

    started = time.monotonic()
    deliver_until(settings, hooks, settled, max_tries=3, base_delay=0.2)
    assert time.monotonic() - started < 10

    log = {d.hook_id: d for d, _ in hooks.log()}
    assert (log[flaky.id].status, log[flaky.id].tries, log[flaky.id].response_code) == ("delivered", 3, 200)
    assert (log[healthy.id].status, log[healthy.id].tries) == ("delivered", 1)
    assert log[dead.id].status == "dead" and log[dead.id].tries == 3 and "Connect" in log[dead.id].last_error
    assert [json.loads(p["body"])["task"]["id"] for p in receivers[0].posts] == [task_id] * 3


def test_several_delivery_loops_send_each_delivery_once(
    settings: Settings, tasks: Tasks, receivers: list[Receiver]
) -> None:
    receivers.append(Receiver(delay=0.05))
    hooks = Hooks(tasks.store, settings)
    hooks.add(receivers[0].url, "done,cancelled")
    ids = [end(tasks, "cancelled") for _ in range(12)]
    deliver_until(settings, hooks, lambda: len(receivers[0].posts) >= 12, loops=3)
    time.sleep(0.3)
    sent = sorted(json.loads(p["body"])["task"]["id"] for p in receivers[0].posts)
    assert sent == sorted(ids)


@pytest.mark.parametrize(
    "args, message",
    [
        (["ftp://example.com/x"], "invalid hook URL"),
        (["not a url"], "invalid hook URL"),
        (["https://example.com/x", "--on", "finished"], "unknown hook event"),
        (["https://example.com/x", "--on", ","], "--on needs"),
        (["https://example.com/x", "--format", "teams"], "unknown hook format"),
        (["https://example.com/x", "--secret", "short"], "at least 16"),
    ],
)
def test_bad_hooks_are_refused_and_nothing_is_written(cli, args: list[str], message: str) -> None:  # noqa: ANN001
    result = cli("hook", "add", *args, code=2)
    assert message in result.stderr
    assert cli.json("hook", "list") == []


def test_hook_cli_add_list_log_remove(cli, settings: Settings, tasks: Tasks) -> None:  # noqa: ANN001
    added = cli.json("hook", "add", "https://example.com/in", "--on", "dead,done", "--format", "discord")
    assert added["events"] == ["done", "dead"] and len(added["secret"]) >= 16
    listed = cli.json("hook", "list")
    assert listed == [{k: v for k, v in added.items() if k != "secret"}]
    task_id = end(tasks, "dead")
    (entry,) = cli.json("hook", "log", "--hook", str(added["id"]))
    assert (entry["task_id"], entry["event"], entry["status"]) == (task_id, "dead", "pending")
    assert "removed hook" in cli("hook", "remove", str(added["id"])).stdout
    assert cli.json("hook", "log") == []
    assert "no hook with id" in cli("hook", "remove", str(added["id"]), code=2).stderr
