"""The scripted model: rules, the OpenAI-compatible HTTP API, `switchboard model ...`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from switchboard.errors import InvalidInput
from switchboard.modelserver import ScriptedModel, Script

SCRIPT = Script.parse(
    [
        {"match": r"run (?P<cmd>.+)", "turn": 0, "bash": "{cmd}"},
        {"role": "tool", "reply": "saw {text}"},
        {"match": "hello", "reply": "hi there, {0}!"},
        {"match": "braces", "reply": "keep {this} and {1}"},
        {"match": "both", "reply": "calling", "tool_calls": [{"name": "read", "arguments": {"filePath": "/x"}}]},
    ]
)


def user(text: str) -> list[dict]:
    return [{"role": "system", "content": "you are a model"}, {"role": "user", "content": text}]


def test_rules_pick_answers_in_order() -> None:
    answer = SCRIPT.answer(user("please run ls -la"))
    assert [(c.name, c.arguments["command"]) for c in answer.tool_calls] == [("bash", "ls -la")]
    assert SCRIPT.answer(user("HELLO you")).text == "hi there, HELLO!"
    assert SCRIPT.answer(user("braces")).text == "keep {this} and {1}"
    both = SCRIPT.answer(user("both"))
    assert both.text == "calling" and both.tool_calls[0].name == "read"
    assert SCRIPT.answer(user("anything else")).text == "echo: anything else"
    assert SCRIPT.answer([]).text == "echo: "


def test_tool_results_and_turns() -> None:
    messages = user("run ls") + [{"role": "assistant", "content": ""}, {"role": "tool", "content": "a.txt\n"}]
    answer = SCRIPT.answer(messages)
    assert answer.text == "saw a.txt" and not answer.tool_calls
    # `turn: 0` keeps the bash rule from answering its own output again
    again = user("run ls") + [{"role": "assistant", "content": ""}, {"role": "tool", "content": "run ls"}]
    assert SCRIPT.answer(again).text == "saw run ls"


def test_content_parts_and_system_reminders() -> None:
    content = [
        {"type": "text", "text": "hello"},
        {"type": "text", "text": "<system-reminder>\nrun rm -rf /\n</system-reminder>\n"},
    ]
    assert SCRIPT.answer([{"role": "user", "content": content}]).text == "hi there, hello!"


def test_tool_rules_skipped_when_no_tools_are_offered() -> None:
    assert SCRIPT.answer(user("run ls"), tools_offered=False).text == "echo: run ls"


@pytest.mark.parametrize(
    "rules, message",
    [
        ([{"match": "("}], "bad regular expression"),
        ([{"match": "x"}], "give reply, bash or tool_calls"),
        ([{"reply": "x", "colour": "red"}], "unknown key(s) colour"),
        ([{"reply": "x", "role": "system"}], "role must be user or tool"),
        ([{"reply": "x", "delay": "soon"}], "delay must be a number"),
        ([{"tool_calls": [{"arguments": {}}]}], "needs a name"),
        ({"reply": "x"}, "a script is a list of rules"),
        (["just text"], "must be a mapping"),
    ],
)
def test_bad_scripts_are_refused(rules: object, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Script.parse(rules)
    assert message in str(info.value)


def test_script_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "s.yaml"
    yaml_file.write_text("rules:\n  - match: ping\n    reply: pong\n")
    json_file = tmp_path / "s.json"
    json_file.write_text(json.dumps([{"match": "ping", "reply": "PONG"}]))
    assert Script.load(yaml_file).answer(user("ping")).text == "pong"
    assert Script.load(json_file).answer(user("ping")).text == "PONG"
    (tmp_path / "bad.yaml").write_text("- match: [unclosed\n")
    with pytest.raises(InvalidInput, match="invalid YAML"):
        Script.load(tmp_path / "bad.yaml")
    with pytest.raises(InvalidInput, match="cannot read script"):
        Script.load(tmp_path / "missing.yaml")


def test_http_api_streamed_and_not() -> None:
    with ScriptedModel(SCRIPT, models=["m1", "m2"]) as model:
        base = model.base_url
        models = httpx.get(f"{base}/models").json()
        assert [m["id"] for m in models["data"]] == ["m1", "m2"]

        whole = httpx.post(
            f"{base}/chat/completions",
            json={"model": "m1", "messages": user("run pwd"), "tools": [{"type": "function"}]},
        ).json()
        choice = whole["choices"][0]
        assert choice["finish_reason"] == "tool_calls"
        call = choice["message"]["tool_calls"][0]
        assert call["function"]["name"] == "bash"
        assert json.loads(call["function"]["arguments"])["command"] == "pwd"
        assert whole["usage"]["total_tokens"] > 0

        body = {"model": "m1", "stream": True, "messages": user("hello " + "x" * 60)}
        with httpx.stream("POST", f"{base}/chat/completions", json=body) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            frames = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
        assert frames[-1] == "[DONE]"
        chunks = [json.loads(f) for f in frames[:-1]]
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        assert text == "hi there, hello!"
        assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
        assert chunks[-1]["usage"]["completion_tokens"] > 0
        assert len(model.requests) == 2

        assert httpx.post(f"{base}/chat/completions", content=b"not json").status_code == 400
        assert httpx.get(f"{base}/nothing").status_code == 404


def test_delay_and_prompt_stop() -> None:
    model = ScriptedModel([{"match": "wait", "delay": 30, "reply": "late"}]).start()
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{model.base_url}/chat/completions", json={"messages": user("wait")}, timeout=0.3)
    model.stop()  # ends the waiting answer too
    assert time.monotonic() - started < 5


def test_configure_writes_and_merges(cli, tmp_path: Path) -> None:  # noqa: ANN001
    project = tmp_path / "project"
    project.mkdir()
    (project / "opencode.json").write_text(json.dumps({"theme": "dark", "provider": {"other": {"npm": "x"}}}))
    out = cli.json("model", "configure", str(project), "--port", "4999")
    assert out["base_url"] == "http://127.0.0.1:4999/v1" and out["model"] == "local/m1"
    config = json.loads((project / "opencode.json").read_text())
    assert config["theme"] == "dark" and set(config["provider"]) == {"other", "local"}
    assert config["provider"]["local"]["options"]["baseURL"] == "http://127.0.0.1:4999/v1"
    assert config["enabled_providers"] == ["local"] and config["model"] == "local/m1"
    assert "ask" not in json.dumps(config["permission"])

    (project / "opencode.json").write_text("{oops")
    result = cli("model", "configure", str(project), code=2)
    assert "not valid JSON" in result.stderr


def test_answer_command(cli, tmp_path: Path) -> None:  # noqa: ANN001
    script = tmp_path / "s.yaml"
    script.write_text("- match: 'deploy (\\w+)'\n  bash: 'make deploy ENV={1}'\n- role: tool\n  reply: ok\n")
    out = cli.json("model", "answer", "deploy staging", "--script", str(script))
    assert out["tool_calls"] == [
        {"name": "bash", "arguments": {"command": "make deploy ENV=staging", "description": "scripted command"}}
    ]
    assert cli.json("model", "answer", "done", "--role", "tool", "--turn", "1", "--script", str(script))["text"] == "ok"
    assert "echo: hi" in cli("model", "answer", "hi").stdout


def test_serve_command_runs_until_terminated(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps([{"match": "ping", "reply": "pong"}]))
    project = tmp_path / "project"
    command = [
        sys.executable,
        "-m",
        "switchboard",
        "model",
        "serve",
        "--script",
        str(script),
        "--port",
        "0",
        "--configure",
        str(project),
        "--json",
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            info = json.loads(process.stdout.readline())
            assert info["rules"] == 1
            reply = httpx.post(f"{info['base_url']}/chat/completions", json={"messages": user("ping")}).json()
            assert reply["choices"][0]["message"]["content"] == "pong"
            config = json.loads((project / "opencode.json").read_text())
            assert config["provider"]["local"]["options"]["baseURL"] == info["base_url"]
        finally:
            process.terminate()
    assert process.returncode == 0


def test_serve_command_refuses_a_taken_port(cli) -> None:  # noqa: ANN001
    with ScriptedModel() as model:
        result = cli("model", "serve", "--port", str(model.port), code=2)
    assert "cannot listen" in result.stderr
