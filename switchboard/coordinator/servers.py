"""The OpenCode servers a coordinator dispatches to, and which of them are up."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from switchboard.config import Settings

if TYPE_CHECKING:
    from switchboard.opencode.client import OpenCodeClient
    from switchboard.opencode.server import Endpoint

DOWN_FOR_SECONDS = 30.0  # a server that failed is not given new work for this long


class ServerPool:
    """`--attach` URLs (or the managed server), one client per server and project directory,
    least-loaded choice, and a short quarantine for servers that fail."""

    def __init__(self, settings: Settings, attach: list[str] | tuple[str, ...] = ()) -> None:
        from switchboard.opencode.server import endpoint

        if attach:
            self.endpoints = {e.url: e for e in (endpoint(settings, url) for url in attach)}
        else:
            managed = endpoint(settings)  # starts the managed server when none runs
            self.endpoints = {managed.url: managed}
        self._clients: dict[tuple[str, str], OpenCodeClient] = {}
        self._down_until: dict[str, float] = {}
        self.load: dict[str, int] = {url: 0 for url in self.endpoints}

    @property
    def urls(self) -> list[str]:
        return list(self.endpoints)

    def endpoint(self, url: str) -> Endpoint:
        return self.endpoints[url]

    def client(self, url: str, directory: str | Path | None = None) -> OpenCodeClient:
        key = (url, str(directory or ""))
        if key not in self._clients:
            endpoint = self.endpoints.get(url)
            if endpoint is None:  # a task adopted from a coordinator with other servers
                from switchboard.opencode.server import Endpoint

                endpoint = self.endpoints[url] = Endpoint(url)
                self.load.setdefault(url, 0)
            self._clients[key] = endpoint.client(directory=directory)
        return self._clients[key]

    async def forget(self, url: str, directory: str | Path) -> None:
        """Close the client of a directory that is gone (an attempt's worktree)."""
        client = self._clients.pop((url, str(directory)), None)
        if client is not None:
            await client.aclose()

    def pick(self) -> str | None:
        """The least-loaded server that is not quarantined, or None if all are down."""
        now = time.monotonic()
        up = [url for url in self.endpoints if self._down_until.get(url, 0) <= now]
        return min(up, key=lambda url: (self.load.get(url, 0), url)) if up else None

    def mark_down(self, url: str) -> None:
        self._down_until[url] = time.monotonic() + DOWN_FOR_SECONDS

    def mark_up(self, url: str) -> None:
        self._down_until.pop(url, None)

    def is_down(self, url: str) -> bool:
        return self._down_until.get(url, 0) > time.monotonic()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
