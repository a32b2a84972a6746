"""Runners against a real `opencode serve` driven by the scripted model."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.mailbox import Mailbox
from switchboard.memory import Memory
from switchboard.modelserver import ScriptedModel
from switchboard.opencode.errors import SessionNotFound
from switchboard.opencode.server import Endpoint
from switchboard.runners import Runners
from tests.conftest import Cli

SCRIPT = [
    {"name": "bash", "match": r"^run: (.+)", "turn": 0, "bash": "{1}"},
    {"name": "after-tool", "role": "tool", "reply": "tool said: {text}"},
    {"name": "slow", "match": r"^slow", "delay": 30, "reply": "finally"},
]


@pytest.fixture
def runners(settings: Settings) -> Runners:
    return Runners.open(settings)


INSTRUCTIONS = "# Code Reviewer\n\nYou are a senior code reviewer. Flag any use of eval().\n"


@pytest.fixture
def reviewer(runners: Runners, workdir: Path, tmp_path: Path) -> str:
    agents_md = tmp_path / "AGENTS.md"
    agents_md.write_text(INSTRUCTIONS)
    runners.create("code-reviewer", "Reviews code for security", workdir=workdir, instructions=INSTRUCTIONS)
    return "code-reviewer"


def _system_text(request: dict) -> str:
    return "\n".join(str(m.get("content")) for m in request["messages"] if m.get("role") == "system")


def _user_text(request: dict) -> str:
    return "\n".join(json.dumps(m.get("content")) for m in request["messages"] if m.get("role") == "user")


def test_create_list_status_edit_destroy(cli: Cli, workdir: Path, tmp_path: Path, home: Path) -> None:
    agents_md = tmp_path / "AGENTS.md"
    agents_md.write_text(INSTRUCTIONS)
    created = cli.json(
        "runner",
        "create",
        "code-reviewer",
        "--description",
        "Reviews code",
        "--model",
        "local/m1",
        "--workdir",
        str(workdir),
        "--instructions",
        str(agents_md),
        "--timeout",
        "120",
    )
    assert (created["model"], created["timeout_seconds"], created["workdir"]) == ("local/m1", 120.0, str(workdir))
    assert (home / "runners" / "code-reviewer" / "AGENTS.md").read_text() == INSTRUCTIONS
    assert json.loads((home / "runners" / "code-reviewer" / "config.json").read_text())["model"] == "local/m1"
    assert [r["name"] for r in cli.json("runner", "list")] == ["code-reviewer"]
    assert "code-reviewer" in [a["name"] for a in cli.json("mail", "agents")]
    cli("runner", "edit", "code-reviewer", "--description", "Security reviews", "--max-parallel", "2")
    status = cli.json("runner", "status", "code-reviewer")
    assert (status["description"], status["max_parallel"], status["runs"]) == ("Security reviews", 2, [])
    assert "exists already" in cli("runner", "create", "code-reviewer", "--workdir", str(workdir), code=2).stderr
    for bad, message in (
        (["../x"], "invalid runner name"),
        (["ok", "--model", "nomodel"], "provider/model"),
        (["ok", "--workdir", str(tmp_path / "missing")], "is not a directory"),
    ):
        assert message in cli("runner", "create", *bad, code=2).stderr
    cli("runner", "destroy", "code-reviewer")
    assert cli.json("runner", "list") == []
    assert not (home / "runners" / "code-reviewer").exists()
    assert "no runner named" in cli("runner", "status", "code-reviewer", code=2).stderr


def test_run_records_answer_and_reports_to_coordinator(
    cli: Cli,
    reviewer: str,
    attach: str,
    model: ScriptedModel,
    settings: Settings,
    opencode_server: Endpoint,
    workdir: Path,
) -> None:
    result = cli.json("runner", "run", reviewer, "Review src/auth.ts for eval()", "--attach", attach)
    assert result["status"] == "success" and result["answer"] == "echo: Review src/auth.ts for eval()"
    assert result["session_id"].startswith("ses") and result["server_url"] == attach
    assert result["tokens_output"] is not None and result["duration_seconds"] > 0
    # The runner's AGENTS.md reached the model as instructions, and the task as the prompt.
    request = model.requests[-1]
    assert "Flag any use of eval()" in _system_text(request)
    assert "Review src/auth.ts" in _user_text(request)
    (report,) = Mailbox.open(settings).check("coordinator", type="status_report")
    assert report.from_agent == reviewer
    assert report.payload.startswith(f"Runner {reviewer} completed (success, ")
    assert f"run-{result['id']})" in report.payload
    status = cli.json("runner", "status", reviewer)
    assert status["runs"][0]["id"] == result["id"] and status["runs"][0]["session_deleted_at"]
    assert status["session_id"] is None  # no live session: the run's was deleted once recorded
    with opencode_server.sync_client(directory=workdir) as client, pytest.raises(SessionNotFound):
        client.get_session(result["session_id"])
    log = cli("runner", "logs", reviewer).stdout
    assert "finished: success" in log and "Review src/auth.ts for eval()" in log


def test_tool_calls_are_recorded_before_the_session_goes(
    runners: Runners, reviewer: str, attach: str, settings: Settings
) -> None:
    run, _turn = runners.run(reviewer, "run: echo recorded-output", attach=attach)
    assert run.ok and run.session_deleted_at
    (tool,) = json.loads(Path(run.log_path).with_suffix(".json").read_text())["tools"]
    assert tool["tool"] == "bash" and "recorded-output" in tool["output"]
    assert "tool bash" in Path(run.log_path).read_text()


def test_continue_keeps_the_live_session_and_only_it(
    cli: Cli, reviewer: str, attach: str, model: ScriptedModel, opencode_server: Endpoint, workdir: Path
) -> None:
    first = cli.json("runner", "run", reviewer, "first question", "--attach", attach, "--continue")
    second = cli.json("runner", "run", reviewer, "second question", "--attach", attach, "--continue")
    assert "first question" in _user_text(model.requests[-1])  # the conversation went on
    third = cli.json("runner", "run", reviewer, "fresh start", "--attach", attach)
    kept = cli.json("runner", "run", reviewer, "keep this one", "--attach", attach, "--keep-sessions")
    assert second["session_id"] == first["session_id"] != third["session_id"]
    assert cli.json("runner", "status", reviewer)["session_id"] == first["session_id"]
    with opencode_server.sync_client(directory=workdir) as client:
        on_server = {s.id for s in client.list_sessions()}
        assert {first["session_id"], kept["session_id"]} <= on_server and third["session_id"] not in on_server
        client.delete_session(first["session_id"])  # gone behind switchboard's back: a new live one starts
        fourth = cli.json("runner", "run", reviewer, "after the loss", "--attach", attach, "--continue")
        assert fourth["status"] == "success" and fourth["session_id"] != first["session_id"]


def test_memory_and_unread_mail_are_injected_as_context(
    runners: Runners, reviewer: str, attach: str, model: ScriptedModel, settings: Settings
) -> None:
    Memory.open(settings).store(
        "Use parameterized queries for SQL in this repo", namespace=reviewer, tags="security,sql"
    )
    mailbox = Mailbox.open(settings)
    note = mailbox.send(reviewer, "request", "Also check the login rate limiter", sender="alice")[0]
    run, _turn = runners.run(reviewer, "Review the SQL layer for injection risks", attach=attach)
    assert run.ok
    seen = _user_text(model.requests[-1])
    assert "Use parameterized queries for SQL" in seen
    assert "Also check the login rate limiter" in seen
    assert mailbox.get(note.id).status.value == "read"


def test_memory_consulted_mid_task_through_the_bash_tool(
    runners: Runners, reviewer: str, attach: str, settings: Settings, home: Path
) -> None:
    Memory.open(settings).store("The deploy script lives in ops/deploy.sh and needs ROLLOUT=canary", namespace=reviewer)
    database = f"--database-url '{settings.database_url}' "  # the session's shell has the server's environment
    command = (
        f"{sys.executable} -m switchboard --home {home} {database}memory recall "
        f"--namespace {reviewer} --query 'how do we deploy'"
    )
    run, turn = runners.run(reviewer, f"run: {command}", attach=attach)
    assert run.ok, run.error
    (tool,) = [t for t in turn.tools if t.tool == "bash"]
    assert "ops/deploy.sh" in tool.output  # the recalled memory, in OpenCode's own tool output
    assert "ops/deploy.sh" in run.answer  # and the model saw it


def test_server_down_is_a_clear_error_and_a_failed_run(cli: Cli, reviewer: str) -> None:
    result = cli("runner", "run", reviewer, "anything", "--attach", "http://127.0.0.1:9", code=2)
    assert result.stderr.startswith("error: ") and "127.0.0.1:9" in result.stderr
    (run,) = cli.json("runner", "status", reviewer)["runs"]
    assert run["status"] == "failed" and "127.0.0.1:9" in run["error"]


def test_timeout_aborts_the_session(
    cli: Cli, reviewer: str, attach: str, workdir: Path, opencode_server: Endpoint
) -> None:
    started = time.monotonic()
    result = cli.json("runner", "run", reviewer, "slow please", "--attach", attach, "--timeout", "2", code=1)
    assert time.monotonic() - started < 20
    assert result["status"] == "failed" and "did not finish within 2" in result["error"]
    with opencode_server.sync_client(directory=workdir) as client:
        assert result["session_id"] not in client.status()  # aborted: no longer busy


def test_stop_aborts_a_running_session(runners: Runners, reviewer: str, attach: str) -> None:
    outcome: dict = {}
    thread = threading.Thread(
        target=lambda: outcome.update(zip(("run", "turn"), runners.run(reviewer, "slow answer please", attach=attach)))
    )
    thread.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not any(r.session_id for r in runners.runs(reviewer)):
        time.sleep(0.1)
    time.sleep(1.0)
    import anyio

    anyio.run(runners.stop, reviewer)
    thread.join(timeout=20)
    assert not thread.is_alive()
    assert not outcome["run"].ok and "Abort" in (outcome["run"].error or "")


def test_stop_with_nothing_running_exits_1(cli: Cli, reviewer: str) -> None:
    result = cli("runner", "stop", reviewer, code=1)
    assert "nothing running" in result.stderr
    assert cli.json("runner", "stop", reviewer, code=1) == {"runner": reviewer, "aborted": []}


def test_destroy_removes_the_memory_namespace(cli: Cli, reviewer: str, settings: Settings) -> None:
    memory = Memory.open(settings)
    memory.store("a private note", namespace=reviewer)
    memory.store("a shared note", namespace="shared")
    cli("runner", "destroy", reviewer)
    namespaces = {n["namespace"] for n in memory.namespaces()}
    assert reviewer not in namespaces and "shared" in namespaces


def test_hand_edits_on_disk_are_the_source_of_truth(
    cli: Cli, reviewer: str, attach: str, model: ScriptedModel, home: Path
) -> None:
    folder = home / "runners" / reviewer
    (folder / "AGENTS.md").write_text("# Edited by hand\n\nAlways answer in haiku.\n")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "timeout_seconds": 77, "role": "poet"}))
    cli("runner", "run", reviewer, "hello after the edit", "--attach", attach)
    assert "Always answer in haiku." in _system_text(model.requests[-1])  # the next run saw it
    cli("runner", "edit", reviewer, "--description", "edited twice")
    status = cli.json("runner", "status", reviewer)  # ...and `runner edit` kept it
    assert (status["instructions"], status["timeout_seconds"], status["role"], status["description"]) == (
        "# Edited by hand\n\nAlways answer in haiku.\n",
        77,
        "poet",
        "edited twice",
    )
    assert json.loads((folder / "config.json").read_text())["timeout_seconds"] == 77


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        ('{"timeout_seconds": "soon"}', "timeout_seconds has the wrong type"),
        ('{"max_parallel": 0}', "max-parallel must be a whole number from 1"),
    ],
)
def test_a_malformed_config_json_is_one_line_naming_the_file(
    cli: Cli, reviewer: str, home: Path, content: str, message: str
) -> None:
    path = home / "runners" / reviewer / "config.json"
    path.write_text(content)
    for command in (["status", reviewer], ["run", reviewer, "hi", "--attach", "http://127.0.0.1:9"]):
        err = cli("runner", *command, code=2).stderr
        assert err.startswith("error: ") and str(path) in err and message in err and len(err.splitlines()) == 1
    assert cli.json("runner", "list")[0]["name"] == reviewer  # nothing was written


def test_destroy_and_prune_delete_sessions_on_the_server(
    cli: Cli, runners: Runners, reviewer: str, attach: str, opencode_server: Endpoint, workdir: Path
) -> None:
    kept = [runners.run(reviewer, f"kept {i}", attach=attach, keep_session=True)[0].session_id for i in range(2)]
    with opencode_server.sync_client(directory=workdir) as client:
        stray = client.create_session(title=runners.session_title(reviewer)).id  # as a crash would leave it
        client.create_session(title=f"runner/{reviewer} [sb:another]")  # another home's: not ours to prune
        assert cli.json("opencode", "sessions", "prune", "--attach", attach, "--older-than", "0")["deleted"] == [stray]
        assert set(kept) <= {s.id for s in client.list_sessions()}
        cli("runner", "destroy", reviewer)
        assert not set(kept) & {s.id for s in client.list_sessions()}
