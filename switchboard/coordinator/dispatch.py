"""`task_dispatch` mail as a task: the payload is the prompt, or a JSON object
`{"prompt", "runner", "role", "priority", "convoy", "after", ...}`.

Mail comes from any agent, so its payload is checked here, field by field, before it
reaches `Tasks.add`: a wrong type is an `InvalidInput` naming the field, never a
`TypeError` from deep inside.
"""

from __future__ import annotations

import json
from typing import Any

from switchboard import validate
from switchboard.errors import InvalidInput

TEXT_FIELDS = ("prompt", "runner", "role", "priority", "convoy", "isolation", "base", "deliver")
COUNT_FIELDS = ("max_attempts", "max_steps")


def task_spec(payload: str) -> dict[str, Any]:
    """The keyword arguments of `Tasks.add` (with `prompt`) that a dispatch payload asks for.
    Fields it does not know are ignored; a field set to null is left to its default."""
    try:
        data = json.loads(payload)
    except ValueError:
        return {"prompt": payload}
    except RecursionError:
        raise InvalidInput("the dispatch payload is JSON nested too deeply") from None
    if not isinstance(data, dict) or "prompt" not in data:
        return {"prompt": payload}
    spec: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if data.get(name) is not None:
            spec[name] = _text(data[name], name)
    for name in COUNT_FIELDS:
        if data.get(name) is not None:
            spec[name] = validate.integer(data[name], name)
    if data.get("timeout") is not None:
        spec["timeout"] = validate.seconds(_scalar(data["timeout"], "timeout"), "timeout", positive=True)
    if data.get("after") is not None:
        after = data["after"] if isinstance(data["after"], list) else [data["after"]]
        spec["after"] = [validate.integer(dep, "after") for dep in after]
    if "prompt" not in spec:
        raise InvalidInput("the dispatch payload's prompt is null")
    return spec


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text, got {type(value).__name__}")
    return value


def _scalar(value: Any, name: str) -> Any:
    if isinstance(value, (bool, list, dict)):
        raise InvalidInput(f"{name} must be a number of seconds, got {type(value).__name__}")
    return value
