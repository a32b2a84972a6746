"""The OpenCode client against a real `opencode serve` and the scripted model (see opencode_fixtures)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import anyio
import pytest

from switchboard.config import Settings
from switchboard.errors import SwitchboardError
from switchboard.modelserver import ScriptedModel, configure
from switchboard.opencode import (
    AuthRefused,
    OpenCode,
    OpenCodeClient,
    OpenCodeError,
    ServerDown,
    SessionNotFound,
    TimedOut,
)
from switchboard.opencode.server import Endpoint


def test_health(oc: OpenCode) -> None:
    health = oc.health()
    assert health["healthy"] is True and health["version"] == "1.18.33"


def test_session_lifecycle(oc: OpenCode, opencode_workdir: Path) -> None:
    parent = oc.create_session(title="parent task")
    assert parent.id.startswith("ses") and parent.title == "parent task"
    assert parent.directory == str(opencode_workdir) and parent.parent_id is None

    child = oc.create_session(title="subtask", parent_id=parent.id)
    assert child.parent_id == parent.id
    assert [s.id for s in oc.children(parent.id)] == [child.id]
    assert oc.get_session(child.id).title == "subtask"

    listed = {s.id for s in oc.list_sessions()}
    assert {parent.id, child.id} <= listed
    assert child.id not in {s.id for s in oc.list_sessions(roots=True)}

    oc.message(parent.id, "say forked history")
    fork = oc.fork(parent.id)
    assert fork.id != parent.id
    assert [m.text for m in oc.messages(fork.id)][-1] == "forked history"

    assert oc.abort(parent.id) is True  # nothing running: still fine
    assert oc.delete_session(fork.id) is True
    with pytest.raises(SessionNotFound, match=fork.id):
        oc.get_session(fork.id)
    with pytest.raises(SessionNotFound):
        oc.messages("not-a-session-id")
    assert isinstance(SessionNotFound("x"), SwitchboardError)


def test_message_returns_the_scripted_answer(oc: OpenCode, scripted_model: ScriptedModel) -> None:
    session = oc.create_session(title="message")
    reply = oc.message(session.id, "say the answer is 42")
    assert reply.role == "assistant" and reply.text == "the answer is 42"
    assert reply.info["providerID"] == "local" and reply.info["modelID"] == "m1"
    assert reply.error is None and reply.tokens["output"] > 0
    assert scripted_model.requests[-1]["messages"][-1]["content"] in (
        "say the answer is 42",
        [{"type": "text", "text": "say the answer is 42"}],
    )


def test_agent_and_model_per_prompt(oc: OpenCode) -> None:
    session = oc.create_session(title="agent")
    reply = oc.message(session.id, "say planning", agent="plan", model="local/m1")
    assert reply.info["agent"] == "plan" and reply.text == "planning"
    with pytest.raises(OpenCodeError):
        oc.message(session.id, "say nope", model="nowhere/none")


def test_bash_tool_call_runs_and_shows_in_messages(oc: OpenCode) -> None:
    session = oc.create_session(title="bash")
    turn = oc.run(session.id, "run: echo switchboard-$((6 * 7))", timeout=60)
    assert turn.ok, turn.error
    assert [(t.tool, t.status) for t in turn.tools] == [("bash", "completed")]
    assert turn.tools[0].input["command"] == "echo switchboard-$((6 * 7))"
    assert "switchboard-42" in turn.tools[0].output
    assert turn.text == "tool said: switchboard-42"
    assert turn.tokens["input"] > 0 and turn.duration > 0
    # The same, read back from the session's messages
    messages = oc.messages(session.id)
    assert [m.role for m in messages] == ["user", "assistant", "assistant"]
    assert messages[1].tools[0].output.strip() == "switchboard-42"
    assert oc.last_turn(session.id).text == turn.text


def test_no_reply_context(oc: OpenCode, scripted_model: ScriptedModel) -> None:
    session = oc.create_session(title="context")
    added = oc.add_context(session.id, "Context: the password is kiwi.")
    assert added.role == "user"
    assert [m.role for m in oc.messages(session.id)] == ["user"]  # no answer
    oc.message(session.id, "say ok")
    sent = str(scripted_model.requests[-1]["messages"])
    assert "the password is kiwi" in sent and "say ok" in sent


def test_timeout_aborts_the_session(oc: OpenCode) -> None:
    session = oc.create_session(title="slow")
    started = time.monotonic()
    with pytest.raises(TimedOut) as info:
        oc.message(session.id, "sleepy answer", timeout=0.5)
    assert info.value.session_id == session.id and "aborted" in str(info.value)
    assert time.monotonic() - started < 3
    with pytest.raises(TimedOut):
        oc.run(session.id, "sleepy again", timeout=0.5)
    assert session.id not in oc.status()  # aborted, not left busy


def test_wrong_password_is_refused(opencode_server: Endpoint) -> None:
    for password in ("wrong", ""):
        with OpenCode(opencode_server.url, password=password) as client, pytest.raises(AuthRefused):
            client.health()


def test_server_down_is_a_quick_typed_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with OpenCode(f"http://127.0.0.1:{port}") as client:
        with pytest.raises(ServerDown, match=f"127.0.0.1:{port}"):
            client.create_session()
        with pytest.raises(ServerDown), client.events() as events:
            next(iter(events))
    assert time.monotonic() - started < 2


@pytest.mark.anyio
async def test_prompt_async_and_events_see_busy_then_idle(opencode_server: Endpoint, opencode_workdir: Path) -> None:
    async with opencode_server.client(directory=opencode_workdir) as client:
        session = await client.create_session(title="async")
        statuses: list[str] = []
        with anyio.fail_after(30):
            async with client.events() as events:
                await events.connect()
                await client.prompt_async(session.id, "say from the background")
                async for event in events:
                    if event.session_id != session.id:
                        continue
                    if event.type == "session.status":
                        statuses.append(event.status)
                    if event.type == "session.idle":
                        break
        assert statuses[0] == "busy" and statuses[-1] == "idle"
        assert (await client.last_turn(session.id)).text == "from the background"


@pytest.mark.anyio
async def test_parallel_runs_on_one_server(opencode_server: Endpoint, opencode_workdir: Path) -> None:
    results: dict[int, str] = {}
    async with opencode_server.client(directory=opencode_workdir) as client:

        async def one(i: int) -> None:
            session = await client.create_session(title=f"parallel {i}")
            results[i] = (await client.run(session.id, f"say number {i}", timeout=60)).text

        async with anyio.create_task_group() as group:
            for i in range(5):
                group.start_soon(one, i)
    assert results == {i: f"number {i}" for i in range(5)}


def test_async_client_reads_env_credentials(monkeypatch: pytest.MonkeyPatch, opencode_server: Endpoint) -> None:
    monkeypatch.setenv("OPENCODE_SERVER_PASSWORD", opencode_server.password or "")

    async def main() -> dict:
        async with OpenCodeClient(opencode_server.url) as client:
            return await client.health()

    assert anyio.run(main)["healthy"] is True


def test_provider_retry_loop_is_cut_short(opencode_server: Endpoint, tmp_path: Path) -> None:
    """A model that refuses connections is retried forever by OpenCode; `run` gives up."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    configure(tmp_path, f"http://127.0.0.1:{dead}/v1")
    with opencode_server.sync_client(directory=tmp_path) as client:
        session = client.create_session(title="no model")
        turn = client.run(session.id, "hello?", max_retries=0, timeout=60)
        assert not turn.ok and turn.retries >= 1
        assert "ProviderUnavailable" in turn.error and "Cannot connect" in turn.error
        assert session.id not in client.status()


@pytest.mark.anyio
async def test_poll_sees_a_turn_whose_events_were_missed(opencode_server: Endpoint, opencode_workdir: Path) -> None:
    """`run` falls back on the session's state when the event stream missed the turn."""
    from switchboard.opencode.follow import TurnFollower

    async with opencode_server.client(directory=opencode_workdir) as client:
        session = await client.create_session(title="missed events")
        follower = TurnFollower(client, session.id, since=time.time())
        await follower.poll()
        assert not follower.done  # nothing asked yet
        await client.message(session.id, "say done already")
        await follower.poll()
        assert follower.done
        late = TurnFollower(client, session.id, since=time.time() + 60)
        await late.poll()
        assert not late.done  # that answer predates the prompt


def test_attach_url_credentials(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--attach` takes credentials in the URL, else the environment's."""
    from switchboard.opencode.server import endpoint

    target = endpoint(settings, "http://agent:p%40ss@127.0.0.1:4096/")
    assert (target.url, target.username, target.password) == ("http://127.0.0.1:4096", "agent", "p@ss")
    monkeypatch.setenv("OPENCODE_SERVER_PASSWORD", "from-env")
    target = endpoint(settings, "http://127.0.0.1:4096")
    assert (target.url, target.username, target.password) == ("http://127.0.0.1:4096", "opencode", "from-env")
