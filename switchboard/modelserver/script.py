"""Scripts for the scripted model: rules that pick an answer for a conversation.

A script is a list of rules, tried in order; the first that fits answers. A rule
fits when its regular expression is found in the latest user or tool message
(and its `role` and `turn`, when given, agree). Its answer is text, tool calls,
or both, after an optional delay. When no rule fits, the model echoes.

    - match: "run (.+)"           # re.search on the latest user/tool message
      bash: "{1}"                 # shorthand for one `bash` tool call
    - role: tool                  # the answer to that tool's output
      reply: "done: {text}"
    - match: slow
      delay: 5
      reply: "finally"
    - match: flaky
      reply: "half an answer"
      drop: true                  # close the stream mid-answer (no finish, no [DONE])
    - match: "two tools"
      tool_calls:
        - {name: bash, arguments: {command: "echo one", description: "first"}}
        - {name: bash, arguments: {command: "echo two", description: "second"}}

Templates: `{0}` is the whole match, `{1}`... its groups, `{name}` a named
group, `{text}` the latest message. Other braces are left as they are.
`turn` counts the model's answers since the last user message: 0 answers the
user, 1 answers the first round of tool results, and so on. The
`<system-reminder>` blocks OpenCode appends to a user message (plan mode) are
not part of the text rules see.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchboard.errors import InvalidInput

_RULE_KEYS = {"match", "role", "turn", "reply", "bash", "tool_calls", "delay", "name", "drop"}
_TEMPLATE = re.compile(r"\{(\w+)\}")
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """What the model says: text, tool calls, or both, after `delay` seconds; `drop`:
    the stream closes halfway through it, as a flaky provider's does."""

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    delay: float = 0.0
    rule: str = "echo"
    drop: bool = False


@dataclass(frozen=True)
class Rule:
    match: re.Pattern[str] = field(default_factory=lambda: re.compile(""))
    role: str | None = None
    turn: int | None = None
    reply: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    delay: float = 0.0
    name: str = ""
    drop: bool = False

    @classmethod
    def parse(cls, raw: Any, index: int) -> Rule:
        where = f"rule {index + 1}"
        if not isinstance(raw, Mapping):
            raise InvalidInput(f"{where}: must be a mapping, got {type(raw).__name__}")
        unknown = sorted(set(raw) - _RULE_KEYS)
        if unknown:
            raise InvalidInput(f"{where}: unknown key(s) {', '.join(unknown)}; use {', '.join(sorted(_RULE_KEYS))}")
        try:
            pattern = re.compile(str(raw.get("match", "")), re.IGNORECASE | re.DOTALL)
        except re.error as exc:
            raise InvalidInput(f"{where}: bad regular expression: {exc}") from None
        role = raw.get("role")
        if role not in (None, "user", "tool"):
            raise InvalidInput(f"{where}: role must be user or tool, got {role!r}")
        calls = [_tool_call(c, where) for c in raw.get("tool_calls") or []]
        if raw.get("bash") is not None:
            calls.insert(0, ToolCall("bash", {"command": str(raw["bash"]), "description": "scripted command"}))
        reply = raw.get("reply")
        if reply is None and not calls:
            raise InvalidInput(f"{where}: give reply, bash or tool_calls")
        try:
            delay = float(raw.get("delay", 0))
            turn = None if raw.get("turn") is None else int(raw["turn"])
        except (TypeError, ValueError):
            raise InvalidInput(f"{where}: delay must be a number and turn an integer") from None
        return cls(
            pattern,
            role,
            turn,
            None if reply is None else str(reply),
            tuple(calls),
            max(delay, 0.0),
            str(raw.get("name") or where),
            bool(raw.get("drop", False)),
        )

    def answer(self, latest: Latest) -> Answer | None:
        if self.role is not None and self.role != latest.role:
            return None
        if self.turn is not None and self.turn != latest.turn:
            return None
        found = self.match.search(latest.text)
        if found is None:
            return None
        values = {str(i): found.group(i) or "" for i in range(found.re.groups + 1)}
        values.update({k: v or "" for k, v in found.groupdict().items()})
        values["text"] = latest.text
        calls = tuple(ToolCall(c.name, _fill(c.arguments, values)) for c in self.tool_calls)
        return Answer(_fill(self.reply or "", values), calls, self.delay, self.name, self.drop)


@dataclass(frozen=True)
class Latest:
    """The message a rule looks at: the last user or tool message of a request."""

    role: str
    text: str
    turn: int

    @classmethod
    def of(cls, messages: Sequence[Mapping[str, Any]]) -> Latest:
        turn = sum(1 for m in messages[_last_user(messages) :] if m.get("role") == "assistant")
        for message in reversed(messages):
            if message.get("role") in ("user", "tool"):
                return cls(str(message["role"]), content_text(message.get("content")), turn)
        return cls("user", "", 0)


def _last_user(messages: Sequence[Mapping[str, Any]]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return i
    return 0


def content_text(content: Any) -> str:
    """The text of an OpenAI message `content` (a string or a list of parts),
    without the `<system-reminder>` blocks OpenCode adds (as in plan mode)."""
    if content is None:
        return ""
    if isinstance(content, list):
        content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return _REMINDER.sub("", str(content)).strip()


class Script:
    """An ordered list of rules with the echo rule as the fallback."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self.rules = list(rules)

    @classmethod
    def parse(cls, data: Any) -> Script:
        if isinstance(data, Mapping) and "rules" in data:
            data = data["rules"]
        if data is None:
            return cls()
        if not isinstance(data, list):
            raise InvalidInput("a script is a list of rules (or a mapping with a 'rules' list)")
        return cls(Rule.parse(raw, i) for i, raw in enumerate(data))

    @classmethod
    def load(cls, path: str | Path) -> Script:
        """Read a YAML or JSON script file (JSON is valid YAML)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot read script {path}: {exc.strerror or exc}") from None
        if path.suffix == ".json":
            try:
                return cls.parse(json.loads(text))
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"{path}: invalid JSON: {exc}") from None
        import yaml

        try:
            return cls.parse(yaml.safe_load(text))
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{path}: invalid YAML: {exc}") from None

    def answer(self, messages: Sequence[Mapping[str, Any]], *, tools_offered: bool = True) -> Answer:
        """The answer to a chat-completion request's `messages`.

        A rule with tool calls is skipped when the request offers no tools (as in
        OpenCode's title generation), so such side requests get the echo.
        """
        latest = Latest.of(messages)
        for rule in self.rules:
            if rule.tool_calls and not tools_offered:
                continue
            answer = rule.answer(latest)
            if answer is not None:
                return answer
        return Answer(f"echo: {latest.text}")


def _tool_call(raw: Any, where: str) -> ToolCall:
    if not isinstance(raw, Mapping) or not raw.get("name"):
        raise InvalidInput(f"{where}: each tool call needs a name (and arguments)")
    arguments = raw.get("arguments") or {}
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except json.JSONDecodeError:
            raise InvalidInput(f"{where}: tool call arguments must be a mapping or a JSON object") from None
    if not isinstance(arguments, Mapping):
        raise InvalidInput(f"{where}: tool call arguments must be a mapping")
    return ToolCall(str(raw["name"]), dict(arguments))


def _fill(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return _TEMPLATE.sub(lambda m: values.get(m.group(1), m.group(0)), value)
    if isinstance(value, Mapping):
        return {k: _fill(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    return value
