"""switchboard's side of OpenCode: the HTTP client, the managed `opencode serve`, the binary.

    from switchboard.opencode import OpenCodeClient, OpenCode, connect

Names are imported on first use, so that `switchboard mail ...` never loads httpx.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "OpenCodeClient": "switchboard.opencode.client",
    "OpenCode": "switchboard.opencode.sync",
    "EventStream": "switchboard.opencode.events",
    "Event": "switchboard.opencode.models",
    "Message": "switchboard.opencode.models",
    "Session": "switchboard.opencode.models",
    "ToolUse": "switchboard.opencode.models",
    "Turn": "switchboard.opencode.models",
    "OpenCodeError": "switchboard.opencode.errors",
    "ServerDown": "switchboard.opencode.errors",
    "AuthRefused": "switchboard.opencode.errors",
    "SessionNotFound": "switchboard.opencode.errors",
    "TimedOut": "switchboard.opencode.errors",
    "NotInstalled": "switchboard.opencode.errors",
    "Endpoint": "switchboard.opencode.server",
    "ManagedServer": "switchboard.opencode.server",
    "endpoint": "switchboard.opencode.server",
    "connect": "switchboard.opencode.server",
    "connect_sync": "switchboard.opencode.server",
    "find_binary": "switchboard.opencode.binary",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
