"""Finding the `opencode` binary, and installing the pinned version into the home.

Order: an explicit path (flag), the `opencode_bin` setting (config file or
`SWITCHBOARD_OPENCODE_BIN`), switchboard's own install under the home, then
`opencode` on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from switchboard.config import Settings
from switchboard.opencode.errors import NotInstalled, OpenCodeError

OPENCODE_VERSION = "1.18.33"
PACKAGE = "opencode-ai"
INSTALL_HINT = "run `switchboard opencode install` (or set SWITCHBOARD_OPENCODE_BIN)"


def install_dir(settings: Settings) -> Path:
    return settings.home / "opencode" / "npm"


def installed_binary(settings: Settings) -> Path:
    return install_dir(settings) / "node_modules" / ".bin" / "opencode"


def find_binary(settings: Settings, explicit: str | Path | None = None) -> str:
    """The path of the `opencode` binary to run; `NotInstalled` if there is none."""
    chosen = explicit or settings.opencode_bin
    if chosen:
        path = Path(chosen).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        found = shutil.which(str(chosen))
        if found:
            return found
        raise NotInstalled(f"no executable opencode binary at {chosen}; {INSTALL_HINT}")
    own = installed_binary(settings)
    if own.is_file() and os.access(own, os.X_OK):
        return str(own)
    found = shutil.which("opencode")
    if found:
        return found
    raise NotInstalled(f"OpenCode is not installed: {INSTALL_HINT}")


def binary_version(binary: str) -> str:
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise NotInstalled(f"cannot run {binary}: {exc}") from None
    return done.stdout.strip() or done.stderr.strip()


def install(settings: Settings, version: str = OPENCODE_VERSION) -> Path:
    """`npm install opencode-ai@VERSION` into the home; returns the binary's path."""
    npm = shutil.which("npm")
    if npm is None:
        raise NotInstalled("npm is needed to install OpenCode: install Node.js (which brings npm), then retry")
    target = install_dir(settings)
    target.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--silent", "--no-audit", "--no-fund", "--prefix", str(target), f"{PACKAGE}@{version}"]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise OpenCodeError(f"npm install {PACKAGE}@{version} failed: {lines[-1] if lines else done.returncode}")
    binary = installed_binary(settings)
    if not binary.exists():
        raise OpenCodeError(f"npm installed {PACKAGE}@{version} but {binary} is missing")
    return binary
