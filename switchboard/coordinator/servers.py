"""The OpenCode servers a coordinator dispatches to, which of them are up, and the
managed server brought back when it dies. Only this class changes its own state."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from switchboard.config import Settings
from switchboard.offloop import off_loop

if TYPE_CHECKING:
    from switchboard.opencode.client import OpenCodeClient
    from switchboard.opencode.server import Endpoint, ManagedServer

log = logging.getLogger("switchboard.coordinator")

DOWN_FOR_SECONDS = 30.0  # a server that failed is not given new work for this long


class ServerPool:
    """`--attach` URLs (or the managed server), one client per server and project directory,
    least-loaded choice, a short quarantine for servers that fail, and restarts of the
    managed server."""

    def __init__(self, settings: Settings, attach: list[str] | tuple[str, ...] = ()) -> None:
        from switchboard.opencode.server import ManagedServer, endpoint

        self.managed: ManagedServer | None = None
        if attach:
            self.endpoints = {e.url: e for e in (endpoint(settings, url) for url in attach)}
        else:
            self.managed = ManagedServer(settings)
            info, _ = self.managed.start()  # starts the managed server when none runs
            self.endpoints = {info.url: info.endpoint}
        self._clients: dict[tuple[str, str], OpenCodeClient] = {}
        self._down_until: dict[str, float] = {}
        self._load: dict[str, int] = {url: 0 for url in self.endpoints}
        self._restarting = anyio.Lock() if self.managed is not None else None

    @property
    def urls(self) -> list[str]:
        return list(self.endpoints)

    def add(self, endpoint: Endpoint) -> None:
        """Dispatch to one more server."""
        self.endpoints[endpoint.url] = endpoint
        self._load.setdefault(endpoint.url, 0)

    def client(self, url: str, directory: str | Path | None = None) -> OpenCodeClient:
        key = (url, str(directory or ""))
        if key not in self._clients:
            endpoint = self.endpoints.get(url)
            if endpoint is None:  # a task adopted from a coordinator with other servers
                from switchboard.opencode.server import Endpoint

                endpoint = Endpoint(url)
            self._clients[key] = endpoint.client(directory=directory)
        return self._clients[key]

    def pick(self) -> str | None:
        """The least-loaded server that is not quarantined, or None if all are down."""
        now = time.monotonic()
        up = [url for url in self.endpoints if self._down_until.get(url, 0) <= now]
        return min(up, key=lambda url: (self._load.get(url, 0), url)) if up else None

    def load(self, url: str) -> int:
        return self._load.get(url, 0)

    def assign(self, url: str) -> None:
        """An attempt now runs on `url`."""
        self._load[url] = self._load.get(url, 0) + 1

    def unassign(self, url: str) -> None:
        if self._load.get(url, 0) > 0:
            self._load[url] -= 1

    def mark_down(self, url: str) -> None:
        self._down_until[url] = time.monotonic() + DOWN_FOR_SECONDS

    def mark_up(self, url: str) -> None:
        self._down_until.pop(url, None)

    def is_down(self, url: str) -> bool:
        return self._down_until.get(url, 0) > time.monotonic()

    def is_managed(self, url: str) -> bool:
        return self.managed is not None and url in self.endpoints and self.endpoints[url].managed

    async def restart(self, url: str) -> str | None:
        """Bring the managed server back after `url` (its old address) failed: the new URL
        (a new port and password), or None if `url` is not the managed server or it cannot
        start. Attempts assigned to the old URL count on the new one."""
        if self.managed is None or self._restarting is None:
            return None
        async with self._restarting:
            current = next((u for u, e in self.endpoints.items() if e.managed), None)
            if current != url:
                return current  # restarted already, by an attempt that failed first
            try:
                info, started = await off_loop(self.managed.start)
            except Exception as exc:  # noqa: BLE001 - a failed start is retried on the next failure
                log.error("could not restart the managed OpenCode server: %s", exc)
                return None
            if info.url == url:
                self.mark_up(url)
                return url
            log.warning(
                "managed OpenCode server at %s died; %s at %s",
                url,
                "restarted" if started else "found another",
                info.url,
            )
            del self.endpoints[url]
            self.endpoints[info.url] = info.endpoint
            self._load[info.url] = self._load.pop(url, 0)
            self._down_until.pop(url, None)  # its clients stay open until `aclose`: attempts may hold them
            return info.url

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
