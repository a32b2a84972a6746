"""Secrets in prompts and answers are stored and logged as `[redacted:<kind>]`, everywhere
switchboard keeps them (tasks, runs, mail, run logs, outcome memories), unless the runner
opted out; outcome memories go to the runner that did the work, tagged with its dispatcher."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.coordinator.loop import Coordinator
from switchboard.coordinator.tasks import Tasks
from switchboard.mailbox import Mailbox
from switchboard.memory import Memory
from switchboard.runners import Runners
from tests.opencode_fixtures import TEST_SCRIPT as SCRIPT  # noqa: F401 (the `project` fixture reads it)
from tests.test_coordinator import all_finished, run_until

SECRETS = ["DB_PASSWORD=hunter2hunter2", "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB"]
RAW = ["hunter2hunter2", "ghp_abcdefghijklmnopqrstuvwxyz0123456789AB"]


def _everything_stored(settings: Settings, runners: Runners, tasks: Tasks, name: str, task_id: int) -> dict[str, str]:
    task = tasks.get(task_id)
    (run,) = runners.runs(name)
    log = Path(run.log_path or runners.log_path(run))
    mail = Mailbox(runners.store, settings).check()
    return {
        "task prompt": task.prompt,
        "task result": task.result or "",
        "run prompt": run.prompt,
        "run answer": run.answer or "",
        "run log": log.read_text(),
        "run tool calls": log.with_suffix(".json").read_text(),
        "mail": "\n".join(m.payload for m in mail),
    }


@pytest.mark.parametrize("redact", [True, False])
def test_secrets_are_redacted_at_rest_unless_the_runner_opts_out(
    settings: Settings, workdir: Path, attach: str, redact: bool
) -> None:
    runners = Runners.open(settings)
    runners.create("keeper", "keeps secrets", workdir=workdir, redact=redact)
    tasks = Tasks(runners.store, settings)
    mailbox = Mailbox(runners.store, settings)
    mailbox.send(
        "coordinator",
        "task_dispatch",
        json.dumps({"prompt": f"run: echo {SECRETS[0]} {SECRETS[1]}", "runner": "keeper"}),
        sender="alice",
        raw=True,
    )  # as a sender's raw text would reach it, to see the runner's own setting
    coordinator = Coordinator(settings, attach=[attach])
    run_until(
        coordinator, lambda: bool(tasks.list()) and all_finished(tasks, [t.id for t in tasks.list()])(), timeout=90
    )
    (task,) = tasks.list()
    assert task.status.value == "done", task.error
    stored = _everything_stored(settings, runners, tasks, "keeper", task.id)
    for where, text in stored.items():
        if where == "mail":
            continue  # the dispatch itself was sent raw on purpose
        assert all(raw in text for raw in RAW) if not redact else not any(raw in text for raw in RAW), (where, text)
        if redact:
            assert "DB_PASSWORD=[redacted:password]" in text and "[redacted:github-token]" in text, (where, text)
    (memory,) = Memory.open(settings).list(namespace="keeper")
    assert "dispatcher:alice" in memory.tags and "[redacted:password]" in memory.content  # memory: always
    assert not any(raw in memory.content for raw in RAW)
    if redact and settings.database_url.startswith("sqlite:///"):  # not a byte of them on disk
        database = Path(settings.database_url.removeprefix("sqlite:///"))
        files = [database, database.with_name(database.name + "-wal")]
        on_disk = b"".join(f.read_bytes() for f in files if f.exists())
        assert b"hunter2hunter2" not in on_disk.replace(b"run: echo DB_PASSWORD=hunter2hunter2", b"")


def test_mail_payloads_are_redacted(settings: Settings) -> None:
    mailbox = Mailbox.open(settings)
    (message,) = mailbox.send("bob", "request", "the key is AKIAIOSFODNN7EXAMPLE, DB_PASSWORD=hunter2hunter2")
    assert mailbox.get(message.id).payload == "the key is [redacted:aws-key], DB_PASSWORD=[redacted:password]"


def test_the_coordinator_log_is_redacted(settings: Settings, capfd: pytest.CaptureFixture[str]) -> None:
    import logging
    import sys

    from switchboard.coordinator.daemon import _LogHandler

    handler = _LogHandler(sys.stderr)
    handler.emit(logging.LogRecord("x", logging.WARNING, __file__, 1, "failed: %s", (SECRETS[0],), None))
    assert capfd.readouterr().err.strip() == "failed: DB_PASSWORD=[redacted:password]"


def test_the_managed_servers_password_is_not_in_an_agents_environment(
    settings: Settings, workdir: Path, attach: str
) -> None:
    runners = Runners.open(settings)
    runners.create("probe", workdir=workdir)
    tasks = Tasks(runners.store, settings)
    task_id = tasks.add("run: echo pw=$OPENCODE_SERVER_PASSWORD. user=$OPENCODE_SERVER_USERNAME.", runner="probe").id
    run_until(Coordinator(settings, attach=[attach], remember=False), all_finished(tasks, [task_id]), timeout=90)
    assert tasks.get(task_id).result == "tool said: pw=. user=."


@pytest.mark.parametrize(
    ("target", "stored"),
    [
        ({"runner": "keeper"}, "deploy with DB_PASSWORD=[redacted:password]"),
        ({"role": "ops"}, "deploy with DB_PASSWORD=[redacted:password]"),
        ({}, "deploy with DB_PASSWORD=[redacted:password]"),
        ({"runner": "raw"}, "deploy with DB_PASSWORD=hunter2hunter2"),
    ],
)
def test_task_and_schedule_prompts_are_stored_redacted_unless_for_a_raw_runner(
    settings: Settings, tmp_path: Path, target: dict[str, str], stored: str
) -> None:
    from switchboard.coordinator.schedules import Schedules

    runners = Runners.open(settings)
    runners.create("keeper", workdir=tmp_path, role="ops")
    runners.create("raw", workdir=tmp_path, role="ops", redact=False)
    tasks = Tasks(runners.store, settings)
    prompt = "deploy with DB_PASSWORD=hunter2hunter2"
    assert tasks.get(tasks.add(prompt, **target).id).prompt == stored
    Schedules(tasks).add("0 * * * *", prompt, name="hourly", **target)
    (schedule,) = Schedules(tasks).list()
    assert schedule.prompt == stored
