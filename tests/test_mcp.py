"""Runner tools mid-task: the MCP server, runners wiring it in, custom agents, the warm path.

The session tests use the real `opencode serve` and the scripted model (`SCRIPT`, in
the module's project, which OpenCode loaded before any runner existed: the runners'
MCP servers and the installed agent must reach a running instance). The model calls
the MCP tools by the names OpenCode gives them (`sb-RUNNER_tool`). A warm embedding
server in the test process spares each MCP server process a model load.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.mailbox import Mailbox
from switchboard.runners import wiring
from switchboard.mcp.tools import RunnerTools
from switchboard.memory import Memory
from switchboard.memory.warm import WarmEmbedder, WarmServer, embedder, socket_path
from switchboard.modelserver import ScriptedModel
from switchboard.opencode.server import Endpoint
from switchboard.runners import Runners
from tests.conftest import Cli

REFERENCE = Path("/work/shared/reference/headless-dispatch.md")
# The reference's agent, as written there (the file is read when present, so the two cannot drift).
SECURITY_REVIEWER = """\
---
description: Security-focused code reviewer
mode: subagent
model: anthropic/claude-sonnet-4-20250514
temperature: 0.1
tools:
  write: false
  edit: false
  bash: false
permission:
  bash:
    "git diff*": allow
    "git log*": allow
    "grep *": allow
    "*": deny
---

You are a security expert. Identify vulnerabilities, check for OWASP Top 10
issues, and verify proper input validation and output encoding.
"""
if REFERENCE.exists():
    SECURITY_REVIEWER = re.search(
        r"Place in `\.opencode/agents/security-reviewer\.md`:\n\n```markdown\n(.*?)```",
        REFERENCE.read_text(),
        re.DOTALL,
    ).group(1)

FLAG = "Before deploying billing, switch off the billing_v2 flag (ticket OPS-31337)"

SCRIPT = [
    {
        "name": "recall",
        "match": r"^recall: (.+)",
        "turn": 0,
        "tool_calls": [{"name": "sb-auditor_memory_recall", "arguments": {"query": "{1}"}}],
    },
    {"name": "try-bash", "match": r"^shell: (.+)", "turn": 0, "bash": "{1}"},
    {
        "name": "mail-and-store",
        "match": r"^share what you found",
        "turn": 0,
        "tool_calls": [
            {
                "name": "sb-builder_mail_send",
                "arguments": {"to": "coordinator", "payload": "billing_v2 blocks deploys"},
            },
            {
                "name": "sb-builder_memory_store",
                "arguments": {"content": "builder wrote into auditor", "namespace": "auditor"},
            },
            {"name": "sb-builder_memory_store", "arguments": {"content": "builder's own note on billing_v2"}},
            {
                "name": "sb-builder_memory_store",
                "arguments": {"content": "shared note: billing_v2 is risky", "namespace": "shared"},
            },
            {"name": "sb-auditor_memory_store", "arguments": {"content": "builder posing as auditor"}},
        ],
    },
    {"name": "after-tool", "role": "tool", "reply": "tool said: {text}"},
]


@pytest.fixture
def warm(settings: Settings) -> Iterator[WarmServer]:
    """This test process serving its embedding model on the home's socket."""
    with WarmServer(settings).start(preload=False) as server:
        yield server


def _offered(model: ScriptedModel, prompt: str) -> list[str]:
    """The tools OpenCode offered the model with the request for `prompt`."""
    for request in reversed(model.requests):
        if request.get("tools") and prompt in json.dumps(request["messages"]):
            return sorted(t["function"]["name"] for t in request["tools"])
    raise AssertionError(f"no request with tools for {prompt!r}")


# -- in real sessions ---------------------------------------------------------------------


def test_agent_without_bash_recalls_memory_through_mcp(
    cli: Cli, settings: Settings, workdir: Path, attach: str, model: ScriptedModel, warm: WarmServer, tmp_path: Path
) -> None:
    agent_file = tmp_path / "security-reviewer.md"
    agent_file.write_text(SECURITY_REVIEWER)
    created = cli.json(
        "runner", "create", "auditor", "--workdir", str(workdir), "--agent-file", str(agent_file), "--model", "local/m1"
    )
    assert created["agent"] == "security-reviewer"
    assert (workdir / ".opencode" / "agents" / "security-reviewer.md").read_text() == SECURITY_REVIEWER
    Memory.open(settings).store(FLAG, namespace="auditor", type="DECISION", tags=["billing"])

    result = cli.json("runner", "run", "auditor", "recall: billing deploy flag", "--attach", attach)
    assert result["status"] == "success", result
    (use,) = result["turn"]["tools"]
    assert (use["tool"], use["status"]) == ("sb-auditor_memory_recall", "completed")
    assert FLAG in use["output"] and "auditor" in use["output"]
    assert FLAG in result["answer"]  # the model read it back
    offered = _offered(model, "recall: billing deploy flag")
    assert {"bash", "edit", "write"}.isdisjoint(offered)  # the agent as written: no shell, no edits
    assert set(wiring.tool_names("auditor")) <= set(offered)

    # The agent denies bash: a shell command the model tries is refused; the tools still work.
    refused = cli.json("runner", "run", "auditor", "shell: cat /etc/passwd", "--attach", attach)
    assert [t["tool"] for t in refused["turn"]["tools"]] == ["invalid"]
    assert "unavailable tool 'bash'" in refused["turn"]["tools"][0]["output"]


def test_session_mails_as_its_runner_and_stores_only_where_allowed(
    cli: Cli, settings: Settings, workdir: Path, attach: str, warm: WarmServer
) -> None:
    runners = Runners.open(settings)
    runners.create("auditor", workdir=workdir)
    runners.create("builder", workdir=workdir)
    assert {"sb-auditor", "sb-builder"} <= set(json.loads((workdir / "opencode.json").read_text())["mcp"])

    result = cli.json("runner", "run", "builder", "share what you found", "--attach", attach)
    assert result["status"] == "success", result
    outcome = {(t["tool"], t["input"].get("content")): t for t in result["turn"]["tools"]}

    (discovery,) = Mailbox.open(settings).check("coordinator", type="discovery")
    assert (discovery.from_agent, discovery.payload) == ("builder", "billing_v2 blocks deploys")

    denied = outcome[("sb-builder_memory_store", "builder wrote into auditor")]
    assert denied["status"] == "error" and "cannot use namespace 'auditor'" in denied["error"]
    assert outcome[("sb-builder_memory_store", "builder's own note on billing_v2")]["status"] == "completed"
    assert outcome[("sb-builder_memory_store", "shared note: billing_v2 is risky")]["status"] == "completed"
    # Another runner's tools are not this session's: OpenCode refuses the call.
    (posing,) = [t for t in result["turn"]["tools"] if t["tool"] == "invalid"]
    assert "unavailable tool 'sb-auditor_memory_store'" in posing["output"]

    memory = Memory.open(settings)
    contents = {ns: [m.content for m in memory.list(ns)] for ns in ("auditor", "builder", "shared")}
    assert contents == {
        "auditor": [],
        "builder": ["builder's own note on billing_v2"],
        "shared": ["shared note: billing_v2 is risky"],
    }


# -- custom agents and wiring (no server) ----------------------------------------------------


def test_agent_must_exist_and_agent_files_install(cli: Cli, settings: Settings, tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".opencode" / "agent").mkdir(parents=True)
    (project / ".opencode" / "agent" / "docs-writer.md").write_text("---\ndescription: Writes docs\n---\nWrite.\n")
    (project / "opencode.json").write_text(
        json.dumps({"theme": "dark", "agent": {"json-agent": {"description": "from JSON", "tools": {"write": False}}}})
    )

    error = cli("runner", "create", "r1", "--workdir", str(project), "--agent", "ghost", code=2).stderr
    assert error.startswith("error: no OpenCode agent named 'ghost'") and error.count("\n") == 1
    assert cli.json("runner", "list") == []
    for agent in ("docs-writer", "json-agent", "plan"):
        cli("runner", "create", f"r-{agent}", "--workdir", str(project), "--agent", agent)
    assert cli.json("runner", "status", "r-json-agent")["agent"] == "json-agent"
    assert "no OpenCode agent named 'ghost'" in cli("runner", "edit", "r-plan", "--agent", "ghost", code=2).stderr

    agent_file = tmp_path / "security-reviewer.md"
    agent_file.write_text(SECURITY_REVIEWER)
    cli("runner", "edit", "r-plan", "--agent-file", str(agent_file))
    assert cli.json("runner", "status", "r-plan")["agent"] == "security-reviewer"
    assert (project / ".opencode" / "agents" / "security-reviewer.md").read_text() == SECURITY_REVIEWER
    agent_file.write_text(SECURITY_REVIEWER.replace("temperature: 0.1", "temperature: 0.9"))
    assert (
        "exists with other content"
        in cli("runner", "create", "r2", "--workdir", str(project), "--agent-file", str(agent_file), code=2).stderr
    )
    broken = tmp_path / "broken.md"
    broken.write_text("---\ntools: [unclosed\n---\nx\n")
    assert (
        "invalid YAML front matter"
        in cli("runner", "create", "r3", "--workdir", str(project), "--agent-file", str(broken), code=2).stderr
    )


def test_runners_wire_their_mcp_server_into_opencode_json(cli: Cli, settings: Settings, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.json").write_text(
        json.dumps({"theme": "dark", "mcp": {"github": {"type": "remote", "url": "https://x"}}})
    )
    cli("runner", "create", "reviewer", "--workdir", str(project))
    config = json.loads((project / "opencode.json").read_text())
    assert config["theme"] == "dark" and config["mcp"]["github"] == {"type": "remote", "url": "https://x"}
    entry = config["mcp"]["sb-reviewer"]
    assert entry["command"] == [sys.executable, "-m", "switchboard", "mcp"] and entry["type"] == "local"
    assert entry["environment"]["SWITCHBOARD_HOME"] == str(settings.home)
    assert entry["environment"]["SWITCHBOARD_AGENT"] == "reviewer"
    assert wiring.database_url(entry["environment"]) == settings.database_url
    assert config["agent"] == {"build": {"steps": 50}}  # OpenCode's own limit: the runner's step budget
    printed = json.loads(cli("mcp", "--agent", "reviewer", "--print-config").stdout)
    assert printed["mcp"]["sb-reviewer"] == entry and printed["tools"] == wiring.tool_names("reviewer")
    assert wiring.prompt_tools("reviewer") == {"sb-*": False, **{n: True for n in wiring.tool_names("reviewer")}}
    assert max(len(n) for n in wiring.tool_names("r" * 40)) <= 64  # what model APIs accept

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli("runner", "edit", "reviewer", "--workdir", str(elsewhere))
    assert "sb-reviewer" not in json.loads((project / "opencode.json").read_text())["mcp"]
    assert "sb-reviewer" in json.loads((elsewhere / "opencode.json").read_text())["mcp"]
    cli("runner", "destroy", "reviewer")
    assert json.loads((elsewhere / "opencode.json").read_text()) == {}

    # Homes that share a database (coordinators on several hosts) leave each other's entry alone.
    shared_db = f"sqlite:///{tmp_path / 'shared.db'}"
    host_a, host_b = (Settings.load(tmp_path / h, database_url=shared_db) for h in ("host-a", "host-b"))
    assert wiring.wire(host_a, "shared-runner", project) is True
    assert wiring.wire(host_b, "shared-runner", project) is False
    assert (
        wiring.wire(
            Settings.load(tmp_path / "host-c", database_url=f"sqlite:///{tmp_path / 'c.db'}"), "shared-runner", project
        )
        is True
    )
    # A password stays out of the project: the entry names a file in the home only its owner reads.
    secret = "postgresql://sb:s3cret@db.internal/switchboard"
    pg_a, pg_b = (Settings.load(tmp_path / h, database_url=secret) for h in ("pg-a", "pg-b"))
    assert wiring.wire(pg_a, "pg-runner", project) is True and wiring.wire(pg_b, "pg-runner", project) is False
    assert "s3cret" not in (project / "opencode.json").read_text()
    env = json.loads((project / "opencode.json").read_text())["mcp"]["sb-pg-runner"]["environment"]
    assert wiring.database_url(env) == secret
    assert os.stat(env["SWITCHBOARD_DATABASE_URL_FILE"]).st_mode & 0o777 == 0o600

    commented = tmp_path / "commented"
    commented.mkdir()
    (commented / "opencode.json").write_text('{\n  // mine\n  "theme": "dark"\n}\n')
    error = cli("runner", "create", "x", "--workdir", str(commented), code=2).stderr
    assert "not plain JSON" in error and cli.json("runner", "list") == []
    assert (commented / "opencode.json").read_text() == '{\n  // mine\n  "theme": "dark"\n}\n'


# -- the tools behind the server ---------------------------------------------------------------


def test_runner_tools_keep_to_their_namespaces_and_mailbox(settings: Settings, warm: WarmServer) -> None:
    Runners.open(settings)  # the schema
    alice, bob = RunnerTools(settings, "alice"), RunnerTools(settings, "bob")
    assert "Stored memory" in alice.store_memory("alice's notes on the cache", tags=["cache"])
    assert "namespace shared" in alice.store_memory("everyone: the cache is sharded", namespace="shared")
    with pytest.raises(Exception, match="cannot use namespace 'alice'"):
        bob.store_memory("bob in alice's namespace", namespace="alice")
    with pytest.raises(Exception, match="cannot use namespace 'alice'"):
        bob.recall("cache", namespace="alice")
    assert "alice's notes" not in bob.recall("cache") and "sharded" in bob.recall("cache")
    assert "alice's notes" in alice.recall("cache notes", shared=False)

    assert bob.send("alice", "the cache is cold") == "Sent discovery #1 to alice."
    assert "#1 discovery from bob" in alice.check()
    assert alice.read(1).endswith("the cache is cold") and "No unread messages" in alice.check()
    with pytest.raises(Exception, match="not in carol's mailbox"):
        RunnerTools(settings, "carol").read(1)


def test_task_report_names_the_running_task(settings: Settings, tmp_path: Path) -> None:
    runners = Runners.open(settings)
    runner = runners.create("builder", workdir=tmp_path)
    mailbox = Mailbox.open(settings)
    dispatch = mailbox.send("coordinator", "task_dispatch", "build it", sender="alice")[0]
    task = Tasks.open(settings).add("build it", runner="builder", source="mail", source_ref=str(dispatch.id))
    tools = RunnerTools(settings, "builder")
    assert "no task" in tools.report("nothing yet")
    run = runners.start_run(runner, "build it", task_id=task.id)
    assert (
        tools.report("compiled; tests next")
        == f"Reported progress on task #{task.id} (run-{run.id}) to coordinator (message #3)."
    )
    report = mailbox.get(3)
    assert (report.type.value, report.from_agent, report.reply_to) == ("status_report", "builder", dispatch.id)
    assert report.payload == f"Runner builder reports progress on task #{task.id} (run-{run.id}): compiled; tests next"
    other = runners.start_run(runner, "and docs")  # a second run at once: the report names both
    assert f"on run-{other.id} or task #{task.id} (run-{run.id}) to" in tools.report("blocked on CI", status="blocked")
    assert mailbox.get(4).reply_to is None
    assert f"on task #{task.id} to" in tools.report("done", status="done", task_id=task.id)
    with pytest.raises(Exception, match="unknown status"):
        tools.report("x", status="finished?")
    with pytest.raises(Exception, match="not assigned to alice"):
        RunnerTools(settings, "alice").report("mine?", task_id=task.id)


def test_mcp_server_over_stdio(settings: Settings, warm: WarmServer, home: Path) -> None:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    Runners.open(settings)
    env = {**os.environ, "SWITCHBOARD_HOME": str(home), "SWITCHBOARD_AGENT": "alice"}

    async def session() -> tuple[list[str], object, object]:
        params = StdioServerParameters(command=sys.executable, args=["-m", "switchboard", "mcp"], env=env)
        async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            names = [t.name for t in (await client.list_tools()).tools]
            refused = await client.call_tool("memory_store", {"content": "x", "namespace": "bob"})
            stored = await client.call_tool("memory_store", {"content": "alice remembers the port is 8443"})
            return names, refused, stored

    names, refused, stored = anyio.run(session)
    assert names == list(wiring.TOOLS)
    assert refused.is_error and "cannot use namespace 'bob'" in refused.content[0].text
    assert not stored.is_error and "in namespace alice" in stored.content[0].text
    assert [m.namespace for m in Memory.open(settings).list(all_namespaces=True)] == ["alice"]


# -- the warm path ---------------------------------------------------------------------------------


_RECALL = """
import json, sys
from switchboard.cli import main
sys.argv = ["switchboard", "memory", "recall", "--namespace", "ops", "--query", sys.argv[1], "--json"]
try:
    main()
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps({"torch": "torch" in sys.modules}), file=sys.stderr)
"""


def test_cli_recall_uses_the_warm_model_without_importing_torch(settings: Settings, warm: WarmServer) -> None:
    memory = Memory.open(settings)
    for text in (
        "The staging database lives in eu-west-1",
        "Deploys need the billing flag off",
        "Run the unit tests before pushing",
    ):
        memory.store(text, namespace="ops")
    expected = memory.recall("where is the staging db", namespace="ops", touch=False)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _RECALL, "where is the staging db"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SWITCHBOARD_HOME": str(settings.home)},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {"torch": False}
    hits = json.loads(done.stdout)["hits"]
    assert [(h["id"], round(h["score"], 6)) for h in hits] == [(h.memory.id, round(h.score, 6)) for h in expected.hits]
    assert "semantic" in hits[0]["found_by"]
    assert time.monotonic() - started < 30


def test_stale_or_silent_socket_falls_back_to_the_local_model(settings: Settings) -> None:
    path = socket_path(settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # the file stays, nobody listens: a coordinator that was killed
    chosen = embedder(settings)
    assert isinstance(chosen, WarmEmbedder)
    assert chosen.embed(["hello"]).shape == (1, 384) and chosen.warm_calls == 0
    assert "Connection refused" in (chosen.fallback or "")

    path.unlink()
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(str(path))
    silent.listen()  # accepts, never answers: a hung process
    try:
        chosen = embedder(settings, timeout=0.5)
        started = time.monotonic()
        assert chosen.embed_one("hello").shape == (384,)
        assert time.monotonic() - started < 5 and chosen.warm_calls == 0 and chosen.fallback
    finally:
        silent.close()

    with WarmServer(settings).start(preload=False) as server:  # a stale file is replaced at start
        assert os.stat(server.path).st_mode & 0o777 == 0o600
        assert embedder(settings) is server.model  # the serving process embeds itself
        asking = WarmEmbedder(settings, start=False)
        assert asking.embed_one("hello").shape == (384,) and asking.warm_calls == 1
        with pytest.raises(OSError, match="another process serves"):
            WarmServer(settings).start(preload=False)
    assert not path.exists()


def test_the_coordinator_starts_the_shared_embedding_service(
    settings: Settings, attach: str, opencode_server: Endpoint
) -> None:
    from switchboard.memory import embedservice
    from switchboard.memory.warm import WarmClient

    env = {**os.environ, "SWITCHBOARD_HOME": str(settings.home), "SWITCHBOARD_MEMORY_SERVICE": "auto"}
    process = subprocess.Popen(
        [sys.executable, "-m", "switchboard", "coordinator", "start", "--foreground", f"--attach={attach}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (settings.home / "coordinator.json").exists():
            assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
            time.sleep(0.1)
        state = json.loads((settings.home / "coordinator.json").read_text())
        assert state["memory_socket"] == str(socket_path(settings))
        assert embedservice.wait_listening(settings, timeout=120)
        assert os.stat(socket_path(settings)).st_mode & 0o777 == 0o600
        info = WarmClient(socket_path(settings)).info()
        assert info["pid"] != process.pid and info["loaded"] and info["model"].endswith("all-MiniLM-L6-v2")
    finally:
        process.terminate()
        process.wait(timeout=30)
        stopped = embedservice.stop(settings)
    assert process.returncode == 0
    assert stopped is not None and stopped["pid"] == info["pid"]  # it outlived the coordinator
    assert not socket_path(settings).exists()


@pytest.mark.parametrize(
    ("before", "steps_after_create"),
    [
        ({}, 7),  # none set: the runner's budget
        ({"agent": {"build": {"steps": 3}}}, 3),  # the user's own limit is kept
        ({"agent": {"build": {"maxSteps": 9}}}, None),  # ... in its deprecated spelling too
        ({"agent": {"plan": {"steps": 2}}, "theme": "x"}, 7),  # other agents and settings untouched
    ],
)
def test_the_step_budget_becomes_opencodes_agent_limit_and_leaves_with_the_runner(
    cli: Cli, tmp_path: Path, before: dict, steps_after_create: int | None
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.json").write_text(json.dumps(before))
    cli("runner", "create", "capped", "--workdir", str(project), "--max-steps", "7")
    config = json.loads((project / "opencode.json").read_text())
    assert config["agent"]["build"].get("steps") == steps_after_create
    assert {k: v for k, v in config.items() if k not in ("agent", "mcp")} == {
        k: v for k, v in before.items() if k != "agent"
    }
    cli("runner", "destroy", "capped")
    assert json.loads((project / "opencode.json").read_text()) == before
