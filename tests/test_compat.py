"""`sb compat install`: the reference helpers' scripts, run as scripts written for them run them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from switchboard.compat import SCRIPTS, install
from switchboard.config import Settings
from switchboard.mailbox import Mailbox
from switchboard.memory import SHARED, Memory
from switchboard.runners import Runners
from tests.conftest import Cli

# The scripted model echoes every prompt but these.
SCRIPT = [{"name": "slow", "match": r"^slow", "delay": 30, "reply": "finally"}]

UNSUPPORTED = "not supported by switchboard yet"


class Wrappers:
    """The installed scripts, run in a subprocess with the test's environment."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __call__(
        self, script: str, *args: str, code: int = 0, env: dict[str, str] | None = None, input: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.directory / script), *args],
            capture_output=True,
            text=True,
            env=env or os.environ.copy(),
            input=input,
            timeout=240,
        )
        assert result.returncode == code, (
            f"{script} {args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
        )
        return result


@pytest.fixture
def helpers(tmp_path: Path, home: Path) -> Wrappers:
    return Wrappers(install(tmp_path / "bin").directory)


def mail(helpers: Wrappers, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
    return helpers("mail-helper.sh", *args, code=code)


def test_install_writes_executable_bash_scripts_that_call_this_sb(cli: Cli, tmp_path: Path) -> None:
    report = cli.json("compat", "install", str(tmp_path / "bin"))
    assert report["sb"] == str(Path(sys.executable).parent / "sb")
    for name in SCRIPTS:
        path = tmp_path / "bin" / name
        assert os.access(path, os.X_OK) and path.read_text().startswith("#!/usr/bin/env bash\n")
        assert f"SB={report['sb']}" in path.read_text()
    assert cli("compat", "install", str(tmp_path / "bin")).stdout.splitlines() == report["scripts"]


@pytest.mark.parametrize(
    ("existing", "message"),
    [
        ({"mail-helper.sh": "#!/bin/bash\n# the real reference helper\n"}, "was not written by switchboard"),
        ({"": "a file, not a directory"}, "is not a directory"),
    ],
)
def test_install_refuses_to_overwrite_what_it_did_not_write(
    cli: Cli, tmp_path: Path, existing: dict[str, str], message: str
) -> None:
    target = tmp_path / "bin"
    if "" in existing:
        target.write_text(existing[""])
    else:
        target.mkdir()
        for name, text in existing.items():
            (target / name).write_text(text)
    before = sorted(p.name for p in target.iterdir()) if target.is_dir() else None
    result = cli("compat", "install", str(target), code=2)
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1
    assert (sorted(p.name for p in target.iterdir()) if target.is_dir() else None) == before
    if target.is_dir():
        assert (target / "mail-helper.sh").read_text() == existing["mail-helper.sh"]
        cli("compat", "install", str(target), "--force")
        assert "sb compat install" in (target / "mail-helper.sh").read_text()


def test_mail_round_trip_as_a_reference_script_runs_it(helpers: Wrappers, settings: Settings) -> None:
    assert (
        "Registered agent: test-agent-1 (role: worker)"
        in mail(helpers, "register", "--agent", "test-agent-1", "--role", "worker").stderr
    )
    mail(helpers, "register", "--agent", "test-agent-2", "--role", "orchestrator")
    sent = mail(
        helpers,
        "send",
        "--from",
        "test-agent-1",
        "--to",
        "test-agent-2",
        "--type",
        "task_dispatch",
        "--payload",
        "Please process task t001",
    )
    msg_id = sent.stdout.strip()
    assert msg_id.startswith("msg-") and sent.stderr == f"[MAIL] Sent: {msg_id} → test-agent-2 (priority: normal)\n"
    mail(
        helpers,
        "send",
        "--from",
        "test-agent-1",
        "--to",
        "test-agent-2",
        "--type",
        "request",
        "--priority",
        "high",
        "--payload",
        "Urgent request",
    )
    check = mail(helpers, "check", "--agent", "test-agent-2").stdout.splitlines()
    assert check[0] == "<!--TOON:inbox{id,from,type,priority,convoy,timestamp,status}:"
    assert [row.split(",")[2:4] for row in check[1:3]] == [["request", "high"], ["task_dispatch", "normal"]]
    assert check[-1] == "Total: 2 messages (2 unread) for test-agent-2"

    read = mail(helpers, "read", msg_id).stdout
    assert read.endswith("\n\nPlease process task t001\n") and f"{msg_id},test-agent-1,test-agent-2," in read
    mailbox = Mailbox.open(settings)
    number = int(msg_id.removeprefix("msg-"))
    assert mailbox.get(number).status.value == "read"
    assert mail(helpers, "archive", str(number)).stderr == f"[MAIL] Archived: {msg_id}\n"
    assert mailbox.get(number).status.value == "archived"
    assert (
        mail(helpers, "check", "--agent", "test-agent-2", "--unread-only").stdout.splitlines()[-1]
        == "Total: 1 messages (1 unread) for test-agent-2"
    )

    status = mail(helpers, "status").stdout
    assert "  Active:   1 messages (1 unread, 0 read)" in status and "  Agents:   2 active" in status
    assert "Inbox: 1 messages (1 unread)" in mail(helpers, "status", "--agent", "test-agent-2").stdout
    agents = mail(helpers, "agents").stdout.splitlines()
    assert {row.split(",")[0] for row in agents[1:-1]} == {"test-agent-1", "test-agent-2"}
    mail(helpers, "deregister", "--agent", "test-agent-1")
    assert {a.name: a.status for a in mailbox.agents()}["test-agent-1"] == "inactive"
    assert "Nothing to prune" in mail(helpers, "prune").stdout


def test_broadcast_reaches_every_active_agent_but_the_sender(helpers: Wrappers, settings: Settings) -> None:
    for agent in ("coordinator", "w1", "w2"):
        mail(helpers, "register", "--agent", agent)
    sent = mail(helpers, "send", "--from", "coordinator", "--to", "all", "--type", "broadcast", "--payload", "stop")
    assert sent.stderr.startswith("[MAIL] Broadcast sent: msg-") and sent.stderr.endswith("(to 2 agents)\n")
    assert sorted(m.to_agent for m in Mailbox.open(settings).check()) == ["w1", "w2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["send", "--to", "b", "--type", "invalid_type", "--payload", "x"], "unknown message type 'invalid_type'"),
        (["send", "--to", "b", "--type", "request"], "missing --payload"),
        (
            ["send", "--to", "b", "--type", "request", "--payload", "x", "--transport", "simplex"],
            f"--transport simplex {UNSUPPORTED}",
        ),
        (["register", "--agent", "a", "--branch", "main"], f"mail register --branch {UNSUPPORTED}"),
        (["receive"], f"mail-helper.sh receive {UNSUPPORTED}"),
        (["read", "msg-20260101-120000-abcd"], "no such id"),
        (["fly"], "unknown command: fly"),
    ],
)
def test_mail_bad_input_is_one_line_and_writes_nothing(
    helpers: Wrappers, settings: Settings, args: list[str], message: str
) -> None:
    result = mail(helpers, *args, code=2)
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1
    mailbox = Mailbox.open(settings)
    assert (mailbox.check(), mailbox.agents()) == ([], [])


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("script", "variable", "file", "args", "query", "rows"),
    [
        (
            "mail-helper.sh",
            "AIDEVOPS_MAIL_DIR",
            "mailbox.db",
            ["send", "--to", "coordinator", "--type", "status_report", "--payload", "done"],
            "SELECT from_agent, to_agent, status FROM messages",
            [("runner-7", "coordinator", "unread")],
        ),
        (
            "memory-helper.sh",
            "AIDEVOPS_MEMORY_DIR",
            "memory.db",
            ["--namespace", "runner-7", "store", "--content", "The build needs Node 22"],
            "SELECT namespace, content FROM memories",
            [("runner-7", "The build needs Node 22")],
        ),
    ],
)
def test_reference_directory_variables_name_the_database(
    helpers: Wrappers,
    tmp_path: Path,
    home: Path,
    script: str,
    variable: str,
    file: str,
    args: list[str],
    query: str,
    rows: list[tuple],
) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SWITCHBOARD_HOME", "SWITCHBOARD_DATABASE_URL")}
    env.update({variable: str(tmp_path / "ref"), "AIDEVOPS_AGENT_ID": "runner-7"})
    helpers(script, *args, env=env)
    # Scripts that open the reference's file with sqlite3 find the record there.
    with sqlite3.connect(tmp_path / "ref" / file) as db:
        assert db.execute(query).fetchall() == rows
    assert not home.exists() and not (tmp_path / "user-home" / ".switchboard").exists()
    # SWITCHBOARD_HOME, when set, wins over the reference's variable.
    helpers(script, *args, env={**env, "SWITCHBOARD_HOME": str(home)})
    assert (home / "switchboard.db").exists()


def test_memory_store_recall_and_namespaces(helpers: Wrappers, settings: Settings) -> None:
    memory = Memory.open(settings)
    stored = helpers(
        "memory-helper.sh",
        "store",
        "--content",
        "Bash arrays need declare -a for indexed arrays",
        "--type",
        "CODEBASE_PATTERN",
        "--tags",
        "bash,arrays",
    ).stdout.splitlines()
    first = stored[-1]
    assert stored == [f"[OK] Stored learning: {first}", first] and first.startswith("mem_")
    record = memory.get(int(first.removeprefix("mem_")))
    assert (record.namespace, record.type.value, record.tags) == ("shared", "CODEBASE_PATTERN", ("bash", "arrays"))
    again = helpers(
        "memory-helper.sh",
        "store",
        "--content",
        "bash arrays need declare -a for indexed arrays.",
        "--type",
        "CODEBASE_PATTERN",
    ).stdout
    assert f"Duplicate detected (matches {first})" in again

    recall = helpers("memory-helper.sh", "recall", "--query", 'indexed-arrays "declare').stdout
    assert "[CODEBASE_PATTERN] (medium) - Score: " in recall and "  Bash arrays need declare -a" in recall
    hits = json.loads(helpers("memory-helper.sh", "recall", "--query", "indexed arrays", "--json").stdout)
    assert [(h["id"], h["tags"]) for h in hits] == [(first, "bash,arrays")]
    assert "Total learnings|1" in helpers("memory-helper.sh", "stats").stdout

    newer = helpers(
        "memory-helper.sh",
        "store",
        "--content",
        "Bash 5 arrays also take declare -A for maps",
        "--supersedes",
        first,
        "--relation",
        "extends",
    ).stdout.splitlines()[-1]
    assert memory.get(int(newer.removeprefix("mem_"))).supersedes == int(first.removeprefix("mem_"))
    assert helpers("memory-helper.sh", "latest", first).stdout.strip() == newer


@pytest.mark.parametrize(
    "args",
    [
        ["--namespace", "code-reviewer", "store", "--content", "Prefer explicit error handling in Go"],
        ["store", "--content", "Prefer explicit error handling in Go", "--namespace", "code-reviewer"],
    ],
)
def test_namespace_before_or_after_the_command(helpers: Wrappers, settings: Settings, args: list[str]) -> None:
    out = helpers("memory-helper.sh", *args).stdout
    assert out.startswith("[INFO] Using namespace: code-reviewer\n[OK] Stored learning: mem_")
    assert [m.content for m in Memory.open(settings).list("code-reviewer")] == ["Prefer explicit error handling in Go"]
    own = helpers("memory-helper.sh", "recall", "--query", "error handling", "--namespace", "code-reviewer").stdout
    assert "[namespace: code-reviewer]" in own and "Prefer explicit error handling" in own
    assert (
        "No results found for: error handling"
        in helpers("memory-helper.sh", "recall", "--query", "error handling").stdout
    )
    recent = helpers("memory-helper.sh", "recall", "--recent", "3", "-n", "code-reviewer").stdout
    assert "=== Recent Memories (last 3) ===" in recent and "  Prefer explicit error handling in Go" in recent
    listing = helpers("memory-helper.sh", "namespaces").stdout
    assert "  (global)                  0 entries" in listing and "  code-reviewer             1 entries" in listing
    assert (
        "[DRY RUN] Would delete" not in helpers("memory-helper.sh", "-n", "code-reviewer", "prune", "--dry-run").stdout
    )


def test_project_and_event_date_pass_through(helpers: Wrappers, settings: Settings, tmp_path: Path) -> None:
    helpers(
        "memory-helper.sh",
        "store",
        "--content",
        "The web app deploys need the VPN",
        "--project",
        str(tmp_path),
        "--event-date",
        "2026-01-15",
    )
    helpers("memory-helper.sh", "store", "--content", "The api deploys go by release train", "--project", "/src/api")
    (stored,) = [m for m in Memory.open(settings).list(SHARED) if m.project == str(tmp_path)]
    assert stored.event_date is not None
    found = helpers("memory-helper.sh", "recall", "--query", "deploys", "--project", str(tmp_path)).stdout
    assert "The web app deploys need the VPN" in found and "release train" not in found


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["log", "--limit", "1", "--format", "json"], '"action": "store"'),
        (["-n", "elsewhere", "log"], "nothing stored or recalled yet"),
        (["validate"], "ok"),
        (["validate", "--fix", "--json"], '"ok": true'),
    ],
)
def test_log_and_validate_map_to_sb_memory(helpers: Wrappers, cli: Cli, args: list[str], expected: str) -> None:
    cli("memory", "store", "--content", "The web app deploys need the VPN", "-n", "shared")
    assert expected in helpers("memory-helper.sh", *args).stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["log", "--since", "1d"], "unknown option: --since"),
        (["validate", "--limit", "3"], "unknown option: --limit"),
        (["feedback"], f"memory-helper.sh feedback {UNSUPPORTED}"),
        (["store", "--content", "x", "--session-id", "s1"], f"store --session-id {UNSUPPORTED}"),
        (["recall", "--recent", "--type", "CONTEXT"], "recall --recent with --query, --type"),
        (["recall", "--query", "x", "--entity", "bob"], f"recall --entity {UNSUPPORTED}"),
        (["store", "--content", "x", "--event-date", "last week"], "is not an ISO 8601 time"),
        (["namespaces", "prune"], f"namespaces prune {UNSUPPORTED}"),
        (["store", "--content", "x", "--relation", "updates"], "--relation needs --supersedes"),
        (["--namespace", "invalid namespace!", "stats"], "invalid namespace 'invalid namespace!'"),
    ],
)
def test_memory_verbs_switchboard_lacks_fail_cleanly(
    helpers: Wrappers, settings: Settings, args: list[str], message: str
) -> None:
    result = helpers("memory-helper.sh", *args, code=2)
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1
    assert Memory.open(settings).namespaces() == []


def test_runner_lifecycle_and_a_run_on_opencode(
    helpers: Wrappers, settings: Settings, workdir: Path, attach: str, home: Path, tmp_path: Path
) -> None:
    created = helpers(
        "runner-helper.sh",
        "create",
        "code-reviewer",
        "--description",
        "Reviews code for security",
        "--workdir",
        str(workdir),
    )
    assert created.stderr == "[RUNNER] Created runner: code-reviewer\n"
    assert f"Directory: {home / 'runners' / 'code-reviewer'}" in created.stdout
    table = helpers("runner-helper.sh", "list").stdout.splitlines()
    assert table[0].split() == ["Name", "Description", "Runs", "Last", "Status"]
    assert table[2].split() == ["code-reviewer", "Reviews", "code", "for", "security", "0", "N/A"]

    run = helpers("runner-helper.sh", "run", "code-reviewer", "Review src/auth.ts", "--attach", attach)
    assert run.stdout == "echo: Review src/auth.ts\n"
    assert "[RUNNER] Dispatching to runner: code-reviewer" in run.stderr and "[RUNNER] Run complete (" in run.stderr
    (finished,) = Runners.open(settings).runs("code-reviewer")
    assert f"[RUNNER] Run ID: run-{finished.id}" in run.stderr and finished.status == "success"
    (report,) = Mailbox.open(settings).check("coordinator", type="status_report")
    assert report.payload.startswith("Runner code-reviewer completed (success, ")

    status = helpers("runner-helper.sh", "status", "code-reviewer").stdout.splitlines()
    assert {"Runner: code-reviewer", "Total runs: 1", "Last status: success"} <= set(status)
    assert not any(line.startswith("Session ID:") for line in status)  # the run's session was deleted
    (config,) = json.loads(helpers("runner-helper.sh", "list", "--format", "json").stdout)
    assert (config["name"], config["runCount"], config["lastStatus"]) == ("code-reviewer", 1, "success")
    assert helpers("runner-helper.sh", "logs", "code-reviewer").stdout.startswith(f"Latest run: run-{finished.id}\n")
    assert (
        helpers("runner-helper.sh", "stop", "code-reviewer", code=1).stderr
        == "[RUNNER] Nothing running for runner: code-reviewer\n"
    )

    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\necho "Never approve eval()." >> "$1"\n')
    editor.chmod(0o755)
    edited = helpers("runner-helper.sh", "edit", "code-reviewer", env={**os.environ, "EDITOR": str(editor)})
    assert edited.stderr == "[RUNNER] Updated AGENTS.md for runner: code-reviewer\n"
    assert Runners.open(settings).get("code-reviewer").instructions.endswith("Never approve eval().\n")

    assert "Cancelled" in helpers("runner-helper.sh", "destroy", "code-reviewer", input="n\n").stderr
    assert (
        helpers("runner-helper.sh", "destroy", "code-reviewer", "--force").stderr
        == "[RUNNER] Destroyed runner: code-reviewer\n"
    )
    assert Runners.open(settings).list() == []
    missing = helpers("runner-helper.sh", "status", "code-reviewer", code=2)
    assert missing.stderr == "error: no runner named 'code-reviewer'\n"


def test_a_failed_run_exits_1_with_the_reference_failure_line(
    helpers: Wrappers, settings: Settings, workdir: Path, attach: str
) -> None:
    helpers("runner-helper.sh", "create", "sleeper", "--workdir", str(workdir))
    run = helpers(
        "runner-helper.sh", "run", "sleeper", "slow answer please", "--attach", attach, "--timeout", "3", code=1
    )
    assert run.stdout == "" and "[RUNNER] Run failed after " in run.stderr
    assert [r.status for r in Runners.open(settings).runs("sleeper")] != ["success"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "ok", "--provider", "openrouter"], f"create --provider {UNSUPPORTED}"),
        (["create", "../x"], "invalid runner name"),
        (["run", "ghost"], "prompt required"),
        (["create"], "runner name required"),
    ],
)
def test_runner_bad_input(helpers: Wrappers, settings: Settings, args: list[str], message: str) -> None:
    result = helpers("runner-helper.sh", *args, code=2)
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1
    assert Runners.open(settings).list() == []
