"""What can go wrong between switchboard and an OpenCode server.

All are `SwitchboardError`s: the CLI prints them as one line and exits with 2.
"""

from __future__ import annotations

from switchboard.errors import NotFound, SwitchboardError


class OpenCodeError(SwitchboardError):
    """The OpenCode server refused or failed a request."""


class ServerDown(OpenCodeError):
    """No OpenCode server answers at the URL (refused, unreachable, or it died mid-request)."""


class AuthRefused(OpenCodeError):
    """The server wants other credentials (HTTP 401)."""


class SessionNotFound(OpenCodeError, NotFound):
    """The server has no session with that id."""


class TimedOut(OpenCodeError):
    """A prompt or request took longer than allowed. `session_id` names the session, if any."""

    def __init__(self, message: str, session_id: str | None = None) -> None:
        super().__init__(message)
        self.session_id = session_id


class NotInstalled(OpenCodeError):
    """No `opencode` binary was found."""
