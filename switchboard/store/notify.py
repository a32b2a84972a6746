"""Cross-process wake-ups for SQLite: one Unix datagram socket per waiter.

A waiter binds `<dir>/<channel>.<pid>.<n>.sock` and blocks in select(); a writer,
after committing, sends one byte to every socket of the channel. No polling
while idle, and a wake-up is never lost: the waiter binds before it looks at the
database. Where Unix sockets are unavailable the waiter degrades to sleeping in
short steps, which callers tolerate because they re-check the database anyway.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket

# socket and select are imported where they are used: a hot `sb mail` call that finds
# no waiter to wake needs neither (~3 ms).

_counter = itertools.count()
_MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS
_FALLBACK_STEP = 0.2


class SocketWaiter:
    """Waits on one or more channels."""

    def __init__(self, directory: Path, channels: tuple[str, ...]) -> None:
        import socket

        self.socks: list[tuple[socket.socket, Path]] = []
        self.degraded = not hasattr(socket, "AF_UNIX")
        for channel in channels:
            path = directory / f"{channel}.{os.getpid()}.{next(_counter)}.sock"
            if self.degraded or len(str(path)) > _MAX_SOCKET_PATH:
                self.degraded = True
                continue
            try:
                directory.mkdir(mode=0o700, exist_ok=True)
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                sock.bind(str(path))
                path.chmod(0o600)  # the umask would leave it 0755
                sock.setblocking(False)
            except OSError:
                self.degraded = True
                continue
            self.socks.append((sock, path))

    def wait(self, timeout: float) -> bool:
        """Block until notified or `timeout` seconds pass. True if notified."""
        if timeout <= 0:
            return False
        if self.degraded:
            time.sleep(min(timeout, _FALLBACK_STEP))
            return False
        import select

        ready, _, _ = select.select([s for s, _ in self.socks], [], [], timeout)
        for sock in ready:
            try:
                while sock.recv(64):  # drain: several notifications are one wake-up
                    pass
            except BlockingIOError:
                pass
        return bool(ready)

    def close(self) -> None:
        for sock, path in self.socks:
            sock.close()
            path.unlink(missing_ok=True)
        self.socks = []

    def __enter__(self) -> SocketWaiter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def notify_sockets(directory: Path, channels: set[str]) -> None:
    if not directory.is_dir():
        return
    waiters = [path for channel in channels for path in directory.glob(f"{channel}.*.sock")]
    if not waiters:
        return
    import socket

    sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sender.setblocking(False)
    try:
        for path in waiters:
            try:
                sender.sendto(b"!", str(path))
            except BlockingIOError:
                pass  # its queue is full: it is already due to wake
            except (ConnectionRefusedError, FileNotFoundError):
                path.unlink(missing_ok=True)  # its process died without cleaning up
            except OSError:
                pass
    finally:
        sender.close()
