"""Tasks, dependencies, schedules and TODO import, through the API and the CLI."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.coordinator.schedules import Schedules
from switchboard.coordinator.tasks import Tasks
from switchboard.errors import Conflict, InvalidInput, NotFound
from switchboard.runners import Runners
from tests.conftest import Cli

OWNER = "test-coordinator"


@pytest.fixture
def tasks(settings: Settings, tmp_path: Path) -> Tasks:
    runners = Runners.open(settings)
    for name, role, parallel in (("reviewer", "review", 1), ("tester", "tests", 2), ("writer", "docs", 1)):
        runners.create(name, f"the {name}", workdir=tmp_path, role=role, max_parallel=parallel)
    return Tasks(runners.store, settings)


def _claim(tasks: Tasks, capacity: int = 10, **kwargs) -> list[tuple[int, str]]:
    return [(a.task.id, a.runner) for a in tasks.claim(OWNER, capacity=capacity, lease=30, **kwargs)]


def test_claim_respects_runner_role_and_parallel_limits(tasks: Tasks) -> None:
    r1 = tasks.add("review 1", runner="reviewer").id
    r2 = tasks.add("review 2", runner="reviewer").id
    t1, t2, t3 = (tasks.add(f"tests {i}", role="tests").id for i in range(3))
    started = _claim(tasks)
    assert started == [(r1, "reviewer"), (t1, "tester"), (t2, "tester")]  # reviewer 1 at once, tester 2
    assert _claim(tasks) == []
    tasks.complete(r1, OWNER, "ok")
    tasks.complete(t1, OWNER, "ok")
    assert _claim(tasks) == [(r2, "reviewer"), (t3, "tester")]


def test_claim_respects_capacity_priority_and_model_limits(settings: Settings, tasks: Tasks) -> None:
    Runners(tasks.store, settings).update("writer", model="local/m1", max_parallel=5)
    low = tasks.add("docs low", runner="writer", priority="low").id
    urgent = tasks.add("docs urgent", runner="writer", priority="urgent").id
    normal = tasks.add("docs normal", runner="writer").id
    assert _claim(tasks, capacity=1) == [(urgent, "writer")]
    assert _claim(tasks, model_limits={"local/m1": 2}) == [(normal, "writer")]
    assert _claim(tasks, model_limits={"local/m1": 3}) == [(low, "writer")]


def test_dependencies_order_the_work(tasks: Tasks) -> None:
    build = tasks.add("build", runner="tester").id
    test = tasks.add("test", runner="tester", after=[build]).id
    docs = tasks.add("docs", runner="writer", after=[build, test]).id
    assert _claim(tasks) == [(build, "tester")]
    tasks.complete(build, OWNER, "built")
    assert _claim(tasks) == [(test, "tester")]
    tasks.complete(test, OWNER, "tested")
    assert _claim(tasks) == [(docs, "writer")]
    assert tasks.get(docs).after == (build, test)


def test_failed_attempt_backs_off_and_only_the_owner_settles_it(tasks: Tasks) -> None:
    flaky = tasks.add("flaky", runner="reviewer", max_attempts=2).id
    _claim(tasks)
    assert tasks.fail(flaky, "someone-else", "not mine") is None
    requeued = tasks.fail(flaky, OWNER, "boom")
    assert requeued.status.value == "queued" and requeued.error == "boom"
    assert 1.5 < requeued.available_at - time.time() <= 2.0  # backoff 2 ** attempts
    assert _claim(tasks) == []
    assert tasks.complete(flaky, OWNER, "late answer") is None  # not running any more


def test_dead_task_buries_dependents_and_retry_revives_them(tasks: Tasks) -> None:
    flaky = tasks.add("flaky", runner="reviewer", max_attempts=1).id
    child = tasks.add("child", runner="writer", after=[flaky]).id
    grandchild = tasks.add("grandchild", runner="writer", after=[child]).id
    _claim(tasks)
    dead = tasks.fail(flaky, OWNER, "tool crashed")
    assert dead.status.value == "dead" and dead.error == "tool crashed"
    assert tasks.get(child).status.value == "dead" and "dependency" in tasks.get(child).error
    assert tasks.get(grandchild).status.value == "dead"
    revived = tasks.retry(flaky)
    assert revived.status.value == "queued" and revived.attempts == 0
    assert {tasks.get(i).status.value for i in (child, grandchild)} == {"queued"}
    with pytest.raises(Conflict, match="still queued"):
        tasks.retry(flaky)


def test_cancel_queued_and_refuse_cancelling_twice(tasks: Tasks) -> None:
    task = tasks.add("never mind", runner="reviewer")
    dependent = tasks.add("then this", runner="reviewer", after=[task.id])
    assert tasks.cancel(task.id).status.value == "cancelled"
    assert tasks.get(dependent.id).status.value == "dead"
    with pytest.raises(Conflict, match="already cancelled"):
        tasks.cancel(task.id)
    with pytest.raises(Conflict, match="retry it before depending"):
        tasks.add("on a cancelled task", runner="reviewer", after=[task.id])


def test_bad_task_input(tasks: Tasks) -> None:
    with pytest.raises(NotFound, match="no runner named 'ghost'"):
        tasks.add("x", runner="ghost")
    with pytest.raises(NotFound, match="no runner has the role 'juggling'"):
        tasks.add("x", role="juggling")
    with pytest.raises(InvalidInput, match="not both"):
        tasks.add("x", runner="reviewer", role="review")
    with pytest.raises(InvalidInput, match="empty"):
        tasks.add("  ")
    with pytest.raises(NotFound, match="no task with id 99"):
        tasks.add("x", after=[99])
    with pytest.raises(InvalidInput, match="invalid runner name"):
        tasks.add("x", runner="../etc")
    assert tasks.list() == []


def test_wait_returns_when_tasks_finish_in_another_thread(tasks: Tasks) -> None:
    ids = [tasks.add(f"job {i}", role="tests", convoy="batch").id for i in range(2)]
    _claim(tasks)

    def finish_later() -> None:
        time.sleep(0.3)
        for task_id in ids:
            Tasks(tasks.store, tasks.settings).complete(task_id, OWNER, "done")

    threading.Thread(target=finish_later).start()
    started = time.monotonic()
    finished, complete = tasks.wait(convoy="batch", timeout=10)
    assert complete and [t.status.value for t in finished] == ["done", "done"]
    assert time.monotonic() - started < 3
    unfinished, complete = tasks.wait([tasks.add("slow", runner="writer").id], timeout=0.3)
    assert not complete and unfinished[0].status.value == "queued"


def test_orphaned_tasks_are_adopted_once(tasks: Tasks) -> None:
    task_id = tasks.add("long job", runner="reviewer").id
    tasks.claim("dead-coordinator", capacity=1, lease=0.1)
    time.sleep(0.2)
    assert [t.id for t in tasks.orphaned()] == [task_id]
    assert tasks.adopt(task_id, "alive", lease=30).owner == "alive"
    assert tasks.adopt(task_id, "another", lease=30) is None
    assert tasks.orphaned() == []


def test_release_requeues_without_counting_the_attempt(tasks: Tasks) -> None:
    task_id = tasks.add("job", runner="reviewer").id
    _claim(tasks)
    tasks.release(task_id, OWNER)
    task = tasks.get(task_id)
    assert (task.status.value, task.attempts) == ("queued", 0)


def test_schedules_fire_once_per_due_time(tasks: Tasks) -> None:
    schedules = Schedules(tasks)
    schedules.add("* * * * *", "nightly review", name="nightly", runner="reviewer")
    assert schedules.fire_due() == []  # not due yet
    with tasks.store.transaction(write=True) as tx:  # as if it fell due a moment ago
        tx.execute("tasks.schedule_status", {"name": "nightly", "status": "active", "next_run_at": time.time() - 1})
    fired = schedules.fire_due()
    assert [t.prompt for t in fired] == ["nightly review"] and fired[0].source == "cron"
    assert schedules.fire_due() == []
    assert schedules.get("nightly").next_run_at > time.time()


@pytest.mark.parametrize(("catch_up", "fires"), [("once", 1), ("skip", 0)])
def test_schedule_missed_while_down_fires_once_or_not(tasks: Tasks, catch_up: str, fires: int) -> None:
    schedules = Schedules(tasks)
    schedules.add("* * * * *", "every minute", name="minutely", runner="reviewer", catch_up=catch_up)
    with tasks.store.transaction(write=True) as tx:  # down for an hour: sixty runs missed
        tx.execute("tasks.schedule_status", {"name": "minutely", "status": "active", "next_run_at": time.time() - 3600})
    assert len(schedules.fire_due()) == fires
    assert schedules.fire_due() == []


def test_schedule_pause_resume_and_bad_cron(tasks: Tasks) -> None:
    schedules = Schedules(tasks)
    schedules.add("0 3 * * *", "x", name="nightly", runner="reviewer")
    assert schedules.pause("nightly").status == "paused"
    assert schedules.resume("nightly").status == "active"
    with pytest.raises(InvalidInput, match="invalid cron schedule"):
        schedules.add("every tuesday", "x", runner="reviewer")
    with pytest.raises(Conflict, match="exists already"):
        schedules.add("0 3 * * *", "x", name="nightly", runner="reviewer")
    assert schedules.run("nightly").source == "cron"


def test_todo_import_with_dependencies_is_idempotent(cli: Cli, tasks: Tasks, tmp_path: Path) -> None:
    todo = tmp_path / "TODO.md"
    todo.write_text(
        "# TODO\n\n## Backlog\n"
        "- [ ] t002 Write tests for the parser blocked-by:t001 ~1h logged:2025-01-15\n"
        "- [ ] t001 Refactor the parser #core ~2h\n"
        "- [x] t000 Set up CI\n"
        "- [ ] t003 Document the parser blocked-by:t000,t001\n"
        "- [-] t004 Declined idea\n"
        "- [ ] A line without an id\n"
    )
    imported = cli.json("task", "import", str(todo), "--role", "tests")
    assert [t["prompt"] for t in imported] == [
        "Write tests for the parser",
        "Refactor the parser #core",
        "Document the parser",
        "A line without an id",
    ]
    by_prompt = {t["prompt"]: t for t in imported}
    refactor = by_prompt["Refactor the parser #core"]["id"]
    assert by_prompt["Write tests for the parser"]["after"] == [refactor]
    assert by_prompt["Document the parser"]["after"] == [refactor]
    again = cli.json("task", "import", str(todo), "--role", "tests")
    assert [t["id"] for t in again] == [t["id"] for t in imported]
    assert len(cli.json("task", "list")) == 4


def test_todo_import_errors(cli: Cli, tasks: Tasks, tmp_path: Path) -> None:
    todo = tmp_path / "TODO.md"
    todo.write_text("- [ ] t001 Thing blocked-by:t999\n")
    assert "blocked-by names unknown task(s): t999" in cli("task", "import", str(todo), code=2).stderr
    todo.write_text("- [ ] t001 A blocked-by:t002\n- [ ] t002 B blocked-by:t001\n")
    assert "cycle" in cli("task", "import", str(todo), code=2).stderr
    assert "cannot read" in cli("task", "import", str(tmp_path / "nope.md"), code=2).stderr
    assert cli.json("task", "list") == []


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        (["- [ ] t001 A", "- [ ] t002 B", "- [ ] t001 C"], ":3: id t001 is on line 1 already"),
        (["- [x] t001 A", "- [ ] t001 B"], ":2: id t001 is on line 1 already"),
        (["- [ ] same text", "", "- [ ] same text"], ":3: task text is on line 1 already"),
        (
            ["- [ ] t001 A", "- [ ] t002 B blocked-by:t003", "- [ ] t003 C blocked-by:t002"],
            ":3: blocked-by forms a cycle",
        ),
        (["- [ ] t001 A", "- [ ] t002 B blocked-by:t009"], ":2: blocked-by names unknown task(s): t009"),
    ],
)
def test_todo_import_refuses_a_bad_file_whole(
    cli: Cli, tasks: Tasks, tmp_path: Path, lines: list[str], error: str
) -> None:
    todo = tmp_path / "TODO.md"
    todo.write_text("\n".join(lines) + "\n")
    result = cli("task", "import", str(todo), code=2)
    assert result.stderr == f"error: {todo}{error}\n"
    assert cli.json("task", "list") == []  # not one line queued


def test_runner_create_is_all_or_nothing(settings: Settings, tmp_path: Path) -> None:
    workdir = tmp_path / "project"
    workdir.mkdir()
    (workdir / "opencode.json").write_text('{"mcp": ["not", "an", "object"]}')
    runners = Runners.open(settings)
    with pytest.raises(InvalidInput, match="'mcp' is not an object"):
        runners.create("halfway", workdir=workdir)
    assert runners.list() == []
    assert not runners.folder("halfway").exists()
    (workdir / "opencode.json").write_text("{}")
    assert runners.create("halfway", workdir=workdir).name == "halfway"  # not "exists already"


def test_task_cli_add_show_cancel_retry_wait(cli: Cli, tasks: Tasks) -> None:
    first = cli("task", "add", "Review PR 7", "--runner", "reviewer", "--convoy", "pr7").stdout.strip()
    second = cli.json(
        "task",
        "add",
        "Test PR 7",
        "--role",
        "tests",
        "--after",
        first,
        "--convoy",
        "pr7",
        "--priority",
        "high",
        "--max-attempts",
        "5",
        "--timeout",
        "120",
    )
    assert (second["after"], second["max_attempts"], second["timeout_seconds"]) == ([int(first)], 5, 120.0)
    assert "Review PR 7" in cli("task", "show", first).stdout
    assert cli.json("task", "list", "--convoy", "pr7", "--status", "queued")[0]["id"] == second["id"]
    cli("task", "cancel", first)
    result = cli.json("task", "wait", "--convoy", "pr7", "--timeout", "5", code=1)
    assert result["finished"] and {t["status"] for t in result["tasks"]} == {"cancelled", "dead"}
    cli("task", "retry", first)
    assert cli.json("task", "wait", first, "--timeout", "0.2", code=124)["finished"] is False
    assert "unknown task status" in cli("task", "list", "--status", "weird", code=2).stderr
    assert "--after must be a whole number" in cli("task", "add", "x", "--after", "a,b", code=2).stderr


def test_cron_cli(cli: Cli, tasks: Tasks) -> None:
    added = cli.json(
        "cron",
        "add",
        "--schedule",
        "*/5 * * * *",
        "--task",
        "Check the build",
        "--runner",
        "tester",
        "--name",
        "build-check",
    )
    assert added["status"] == "active"
    assert [s["name"] for s in cli.json("cron", "list")] == ["build-check"]
    cli("cron", "pause", "build-check")
    assert cli.json("cron", "list")[0]["status"] == "paused"
    task_id = cli("cron", "run", "build-check").stdout.strip()
    assert cli.json("task", "show", task_id)["source"] == "cron"
    cli("cron", "remove", "build-check")
    assert "no schedule named 'build-check'" in cli("cron", "remove", "build-check", code=2).stderr


POISON_DISPATCHES = [  # payload, what the refusal says
    ('{"prompt": 42}', "prompt must be text"),
    ('{"prompt": ["a", "b"]}', "prompt must be text"),
    ('{"prompt": {"nested": true}}', "prompt must be text"),
    ('{"prompt": null}', "prompt is null"),
    ('{"prompt": ""}', "task prompt is empty"),
    ('{"prompt": "x", "max_attempts": "many"}', "max_attempts must be a whole number"),
    ('{"prompt": "x", "max_attempts": 1e400}', "max_attempts must be a whole number"),
    ('{"prompt": "x", "max_steps": -1}', "max_steps must be a whole number"),
    ('{"prompt": "x", "timeout": NaN}', "timeout must be a number of seconds"),
    ('{"prompt": "x", "timeout": Infinity}', "timeout must be a number of seconds"),
    ('{"prompt": "x", "timeout": [1]}', "timeout must be a number of seconds"),
    ('{"prompt": "x", "runner": 7}', "runner must be text"),
    ('{"prompt": "x", "runner": "ghost"}', "no runner named 'ghost'"),
    ('{"prompt": "x", "role": ["review"]}', "role must be text"),
    ('{"prompt": "x", "priority": "urgentest"}', "priority"),
    ('{"prompt": "x", "priority": 3}', "priority must be text"),
    ('{"prompt": "x", "after": "soon"}', "after must be a whole number"),
    ('{"prompt": "x", "after": [1, [2]]}', "after must be a whole number"),
    ('{"prompt": "x", "after": [999999]}', "999999"),
    ('{"prompt": "x", "convoy": "a b/c"}', "convoy"),
    ('{"prompt": "x", "isolation": "sideways"}', "isolation"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"prompt": "x", "runner": "reviewer", "role": "review"}', "not both"),
]


def test_every_poison_dispatch_is_answered_and_acked(settings: Settings, tasks: Tasks) -> None:
    from switchboard.coordinator.loop import Coordinator
    from switchboard.mailbox import Mailbox

    mailbox = Mailbox.open(settings)
    sent = [
        mailbox.send("coordinator", "task_dispatch", payload, sender=f"sender{i}")[0]
        for i, (payload, _) in enumerate(POISON_DISPATCHES)
    ]
    good = mailbox.send("coordinator", "task_dispatch", '{"prompt": "a real job", "timeout": "60"}', sender="alice")[0]
    coordinator = Coordinator(settings, attach=["http://127.0.0.1:9"], remember=False)
    while any(mailbox.get(m.id).delivery.value == "pending" for m in (*sent, good)):
        coordinator.ingest_mail()  # a pulse takes in what its time budget allows
    assert coordinator.ingest_mail() == 0
    assert [t.prompt for t in tasks.list()] == ["a real job"]
    assert mailbox.get(good.id).delivery.value == "acked"
    for i, (message, (_, reason)) in enumerate(zip(sent, POISON_DISPATCHES, strict=True)):
        assert mailbox.get(message.id).delivery.value == "acked"
        (reply,) = mailbox.check(f"sender{i}")
        assert reply.type.value == "status_report" and reply.reply_to == message.id
        assert reply.payload.startswith("task not queued: ") and reason in reply.payload, reply.payload
