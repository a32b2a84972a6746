"""The managed server's keeper: stops `opencode serve` once nobody needs it.

Started beside each managed server (`python -m switchboard.opencode.keeper HOME PID
IDLE`), it exits with the server, and stops the server when, for IDLE seconds, no
coordinator ran for the home and no command started using the server (`endpoint()`
touches `opencode/server.used`); or at once when the home is gone. The default idle
period (15 min) is longer than a run's default timeout (10 min).
A one-shot `runner run` thus leaves no server running for ever.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from switchboard.config import COORDINATOR_LOCK, Settings
from switchboard.opencode.server import USED_FILE, ManagedServer
from switchboard.processes import alive, lock_held, terminate


def keep(home: Path, pid: int, idle: float) -> str:
    """Watch server `pid` until it exits or is stopped; returns why the watch ended."""
    every = min(5.0, max(idle / 4, 0.2))  # cheap checks: a lock probe, a stat, a small file
    active = time.time()
    while True:
        time.sleep(every)
        if not alive(pid):
            return "server exited"
        if not home.is_dir():
            terminate(pid, 5.0)
            return "home gone"
        settings = Settings.load(home)
        server = ManagedServer(settings)
        info = server.read()
        if info is None or info.pid != pid:
            return "server replaced"
        used = server.dir / USED_FILE
        if lock_held(settings.home / COORDINATOR_LOCK):  # a running coordinator uses its servers
            active = time.time()
        elif used.exists():
            active = max(active, used.stat().st_mtime)
        if time.time() - active > idle:
            server.stop(timeout=5.0)
            return f"idle for {idle:g}s"


if __name__ == "__main__":
    reason = keep(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]))
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} keeper: stopped watching: {reason}", flush=True)
