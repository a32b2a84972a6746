"""Saying an ongoing fault of the environment (a read-only filesystem, a database that
cannot be written) once a minute rather than at every retry, and saying when it is over."""

from __future__ import annotations

import logging
import time

NOTICE_EVERY = 60.0  # seconds between two reports of the same ongoing fault


class Notice:
    """Reports an ongoing fault at most once per `every` seconds, and when it is over."""

    def __init__(self, log: logging.Logger, every: float = NOTICE_EVERY) -> None:
        self.log = log
        self.every = every
        self._said: dict[str, float] = {}

    def fault(self, key: str, message: str) -> None:
        now = time.monotonic()
        if now - self._said.get(key, -self.every) >= self.every:
            self._said[key] = now
            self.log.error("%s: %s (retrying; said at most once a minute)", key, message)

    def over(self, key: str) -> None:
        if self._said.pop(key, None) is not None:
            self.log.info("%s works again", key)
