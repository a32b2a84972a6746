"""The HTTP connection to one OpenCode server, and the typed error for each way a call fails.

The client (`client.py`) and the event stream (`events.py`) both talk through a
`Transport`; neither reaches into the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from switchboard.opencode.errors import AuthRefused, OpenCodeError, ServerDown, SessionNotFound
from switchboard.opencode.models import error_text


class Transport:
    def __init__(self, url: str, *, auth: httpx.Auth | None, timeout: float, connect_timeout: float) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self.http = httpx.AsyncClient(
            base_url=url,
            auth=auth,
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            trust_env=not _loopback(url),
        )  # no HTTP_PROXY to 127.0.0.1

    async def aclose(self) -> None:
        await self.http.aclose()

    def down(self, exc: BaseException) -> ServerDown:
        detail = str(exc) or type(exc).__name__
        return ServerDown(f"no OpenCode server answers at {self.url} ({detail})")

    async def check(self, response: httpx.Response, session_id: str | None = None) -> None:
        """Raise the typed error for a failed response."""
        if response.is_success:
            return
        if response.status_code == 401:
            raise AuthRefused(
                f"the OpenCode server at {self.url} refused the credentials "
                "(check OPENCODE_SERVER_PASSWORD / OPENCODE_SERVER_USERNAME)"
            )
        await response.aread()
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        detail = error_text(body) if isinstance(body, Mapping) else str(body)[:300]
        if response.status_code == 404 and session_id is not None:
            raise SessionNotFound(f"no session {session_id} on {self.url}")
        raise OpenCodeError(
            f"OpenCode answered {response.status_code} to {response.request.method} "
            f"{response.request.url.path}: {detail or response.reason_phrase}"
        )


def _loopback(url: str) -> bool:
    return httpx.URL(url).host in ("127.0.0.1", "localhost", "::1")
