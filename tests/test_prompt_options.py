"""What `opencode run` users type, on `runner run` and `opencode run`: `-m -c -s -f --format
--title`, attached files, forks and context without a reply, against a real `opencode serve`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.modelserver import ScriptedModel
from switchboard.opencode.server import Endpoint
from tests.conftest import Cli

SCRIPT = [{"name": "say", "match": r"^say (\w+)", "reply": "{1}"}]

SCHEMA = "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);\n"


def _user_text(request: dict) -> str:
    return "\n".join(json.dumps(m.get("content")) for m in request["messages"] if m.get("role") == "user")


@pytest.fixture
def helper(cli: Cli, workdir: Path) -> str:
    cli("runner", "create", "helper", "--workdir", str(workdir))
    return "helper"


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "schema.sql").write_text(SCHEMA)
    (tmp_path / "migration.ts").write_text("export const up = 'add email';\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    (tmp_path / "big.txt").write_text("x" * 2048)
    (tmp_path / "folder").mkdir()
    return {p.name: p for p in tmp_path.iterdir()}


def test_attached_files_reach_the_model(
    cli: Cli, helper: str, attach: str, model: ScriptedModel, files: dict[str, Path], workdir: Path
) -> None:
    result = cli.json(
        "runner",
        "run",
        helper,
        "say typed",
        "--attach",
        attach,
        "-f",
        str(files["schema.sql"]),
        "--file",
        str(files["migration.ts"]),
    )
    assert result["status"] == "success" and result["answer"] == "typed"
    seen = _user_text(model.requests[-1])
    assert "CREATE TABLE users" in seen and "add email" in seen and "schema.sql" in seen
    one_shot = cli(
        "opencode",
        "run",
        "say again",
        "--attach",
        attach,
        "--dir",
        str(workdir),
        "-f",
        str(files["schema.sql"]),
        "--format",
        "json",
    )
    assert json.loads(one_shot.stdout)["text"] == "again"
    assert "CREATE TABLE users" in _user_text(model.requests[-1])


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("missing.sql", "No such file or directory"),
        ("folder", "is a directory"),
        ("image.png", "is not valid UTF-8"),
        ("big.txt", "over the limit of 1024 bytes"),
    ],
)
def test_a_bad_attachment_is_one_line_and_nothing_runs_or_is_queued(
    cli: Cli, helper: str, files: dict[str, Path], name: str, message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWITCHBOARD_MAX_PAYLOAD_BYTES", "1024")
    path = str(files["schema.sql"].parent / name)
    for command in (
        ["runner", "run", helper, "say hi", "-f", path],
        ["task", "add", "say hi", "-f", path],
        ["opencode", "run", "say hi", "-f", path],
    ):
        result = cli(*command, code=2)
        assert result.stderr.startswith("error: ") and message in result.stderr, command
        assert len(result.stderr.strip().splitlines()) == 1
    assert cli.json("runner", "status", helper)["runs"] == [] and cli.json("task", "list") == []


def test_fork_runs_beside_the_live_session_and_leaves_it_unchanged(
    cli: Cli, helper: str, attach: str, opencode_server: Endpoint, workdir: Path
) -> None:
    assert (
        "no live session to fork" in cli("runner", "run", helper, "say x", "--fork", "--attach", attach, code=2).stderr
    )
    live = cli.json("runner", "run", helper, "say main", "-c", "--attach", attach)
    with opencode_server.sync_client(directory=workdir) as oc:
        before = [m.id for m in oc.messages(live["session_id"])]
        forked = cli.json("runner", "run", helper, "say branch", "--fork", "--attach", attach)
        assert forked["status"] == "success" and forked["answer"] == "branch"
        assert forked["session_id"] != live["session_id"]
        assert [m.id for m in oc.messages(live["session_id"])] == before  # the main line is untouched
        assert cli.json("runner", "status", helper)["session_id"] == live["session_id"]
        on_server = {s.id for s in oc.list_sessions()}
        assert live["session_id"] in on_server and forked["session_id"] not in on_server  # the fork is gone

        # `opencode fork`: by hand, up to a message, with a title
        (first_user, *_rest) = [m for m in oc.messages(live["session_id"]) if m.role == "user"]
        made = cli.json(
            "opencode", "fork", live["session_id"], "--title", "exploration", "--attach", attach, "--dir", str(workdir)
        )
        assert made["title"] == "exploration"
        assert len(oc.messages(made["id"])) == len(before)
        early = cli.json(
            "opencode",
            "fork",
            live["session_id"],
            "--message",
            first_user.id,
            "--attach",
            attach,
            "--dir",
            str(workdir),
        )
        assert oc.messages(early["id"]) == [] and "(fork #" in early["title"]


def test_context_is_added_without_a_reply(
    cli: Cli, helper: str, attach: str, model: ScriptedModel, opencode_server: Endpoint, workdir: Path
) -> None:
    assert "no live session" in cli("runner", "context", helper, "note", "--attach", attach, code=2).stderr
    live = cli.json("runner", "run", helper, "say hello", "-c", "--attach", attach)
    asked = len(model.requests)
    added = cli.json("runner", "context", helper, "The deploy freeze starts Friday", "--attach", attach)
    cli(
        "opencode",
        "context",
        live["session_id"],
        "-",
        "--attach",
        attach,
        "--dir",
        str(workdir),
        input="Staging is down until noon",
    )
    assert added["session"] == live["session_id"] and len(model.requests) == asked  # the model was not asked
    with opencode_server.sync_client(directory=workdir) as oc:
        tail = oc.messages(live["session_id"])[-2:]
    assert [(m.role, m.text) for m in tail] == [
        ("user", "The deploy freeze starts Friday"),
        ("user", "Staging is down until noon"),
    ]
    cli("runner", "run", helper, "say next", "-c", "--attach", attach)
    assert "deploy freeze" in _user_text(model.requests[-1])  # the next prompt sees it


def test_context_preview_shows_instructions_memory_and_unread_mail(cli: Cli, helper: str) -> None:
    cli("mail", "send", "--to", helper, "--type", "request", "--payload", "Check the rate limiter", "--from", "ann")
    cli("memory", "store", "--namespace", helper, "--content", "Login tokens expire after 15 minutes")
    shown = cli.json("runner", "context", helper, "--for", "how long do login tokens last")
    assert shown["instructions"] == cli.json("runner", "status", helper)["instructions"]
    assert "Login tokens expire after 15 minutes" in shown["context"]
    assert "Check the rate limiter" in shown["context"] and len(shown["mail"]) == 1
    assert cli.json("mail", "check", "--agent", helper, "--unread-only")  # only shown: still unread
    assert "Login tokens" not in cli.json("runner", "context", helper)["context"]  # no task, no recall


@pytest.mark.parametrize("flags", [["-s", "{session}"], ["--session", "{session}"]])
def test_session_flag_runs_in_a_given_session_and_keeps_it(
    cli: Cli, helper: str, attach: str, opencode_server: Endpoint, workdir: Path, flags: list[str]
) -> None:
    with opencode_server.sync_client(directory=workdir) as oc:
        session = oc.create_session(title="mine").id
        ran = cli.json(
            "runner", "run", helper, "say inside", "--attach", attach, *[f.format(session=session) for f in flags]
        )
        assert ran["session_id"] == session and ran["answer"] == "inside"
        assert [m.role for m in oc.messages(session)] == ["user", "assistant"]  # kept, not deleted


def test_title_and_short_flags(
    cli: Cli, helper: str, attach: str, opencode_server: Endpoint, workdir: Path, model: ScriptedModel
) -> None:
    ran = cli.json(
        "runner",
        "run",
        helper,
        "say titled",
        "--title",
        "Auth review",
        "--keep-sessions",
        "-m",
        "local/m1",
        "--attach",
        attach,
    )
    with opencode_server.sync_client(directory=workdir) as oc:
        title = oc.get_session(ran["session_id"]).title
    assert title.startswith("Auth review · runner/helper [sb:")
    first = json.loads(
        cli("opencode", "run", "say one", "--attach", attach, "--dir", str(workdir), "--format", "json").stdout
    )
    again = cli("opencode", "run", "say two", "-c", "--attach", attach, "--dir", str(workdir)).stderr
    assert first["session_id"] in again
    assert "--format must be text or json" in cli("runner", "run", helper, "say x", "--format", "xml", code=2).stderr


def test_task_files_are_kept_and_sent_by_the_coordinator(
    cli: Cli, helper: str, attach: str, model: ScriptedModel, files: dict[str, Path], settings: Settings
) -> None:
    from switchboard.coordinator.loop import Coordinator
    from switchboard.coordinator.tasks import Tasks
    from tests.test_coordinator import all_finished, run_until

    queued = cli.json("task", "add", "say queued", "--runner", helper, "-f", str(files["schema.sql"]))
    assert queued["files"] == [{"filename": str(files["schema.sql"]), "bytes": len(SCHEMA)}]
    files["schema.sql"].write_text("changed after queuing\n")  # the task keeps what was attached
    tasks = Tasks.open(settings)
    run_until(Coordinator(settings, attach=[attach], remember=False), all_finished(tasks, [queued["id"]]))
    assert tasks.get(queued["id"]).result == "queued"
    seen = _user_text(model.requests[-1])
    assert "CREATE TABLE users" in seen and "changed after queuing" not in seen


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--workdir", "/nonexistent/dir"], "is not a directory"),
        (["--model", "nomodel"], "provider/model"),
        (["--notify", "../x"], "invalid agent name to notify"),
        (["--timeout", "0"], "--timeout"),
    ],
)
def test_cron_add_refuses_bad_run_options(cli: Cli, helper: str, flags: list[str], message: str) -> None:
    result = cli("cron", "add", "--schedule", "@daily", "--task", "say x", "--runner", helper, *flags, code=2)
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert cli.json("cron", "list") == []


def test_cron_parity_timeout_workdir_model_notify_paused_logs_status(
    cli: Cli, helper: str, attach: str, model: ScriptedModel, settings: Settings, tmp_path: Path
) -> None:
    from switchboard.coordinator.loop import Coordinator
    from switchboard.coordinator.tasks import Tasks
    from switchboard.modelserver import configure
    from tests.test_coordinator import all_finished, run_until

    elsewhere = tmp_path / "nightly-project"
    elsewhere.mkdir()
    configure(elsewhere, model.base_url)
    cli("mail", "register", "--agent", "ann", "--role", "lead")
    added = cli.json(
        "cron",
        "add",
        "--name",
        "nightly",
        "--schedule",
        "0 3 * * *",
        "--task",
        "say nightly",
        "--runner",
        helper,
        "--timeout",
        "90",
        "--workdir",
        str(elsewhere),
        "-m",
        "local/m1",
        "--notify",
        "ann",
        "--paused",
    )
    assert (added["status"], added["timeout_seconds"], added["workdir"], added["notify"]) == (
        "paused",
        90.0,
        str(elsewhere),
        "ann",
    )
    assert "(paused)" in cli("cron", "status", "nightly").stdout
    assert cli.json("cron", "logs", "nightly") == []
    queued = cli.json("cron", "run", "nightly")
    assert (queued["timeout_seconds"], queued["model"], queued["workdir"]) == (90.0, "local/m1", str(elsewhere))
    tasks = Tasks.open(settings)
    run_until(Coordinator(settings, attach=[attach], remember=False), all_finished(tasks, [queued["id"]]), timeout=120)
    system = "\n".join(str(m.get("content")) for m in model.requests[-1]["messages"] if m.get("role") == "system")
    assert str(elsewhere) in system  # the run worked in the job's workdir
    (report,) = cli.json("mail", "check", "--agent", "ann")
    assert report["type"] == "status_report" and report["payload"].startswith(f"Runner {helper} completed (success")
    (logged,) = cli.json("cron", "logs", "nightly")
    assert (logged["id"], logged["status"], logged["result"]) == (queued["id"], "done", "nightly")
    status = cli.json("cron", "status", "nightly")
    assert (status["failures"], [r["id"] for r in status["runs"]]) == (0, [queued["id"]])
    cli("cron", "resume", "nightly")
    assert "next run" in cli("cron", "status", "nightly").stdout
