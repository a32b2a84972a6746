"""A private OpenCode environment, for tests, benchmarks and offline demos.

OpenCode keeps sessions, logs and config under HOME and the XDG directories.
`isolated_env(root)` points them all into `root`, so nothing touches the user's
own OpenCode. At each instance start OpenCode also installs `@opencode-ai/plugin`
from the npm registry into its config directory, in the background, and waits
for that before it shuts down; the config directory is seeded so that OpenCode
finds the dependency recorded as installed and stays offline.
"""

from __future__ import annotations

import json
from pathlib import Path

from switchboard.opencode.binary import OPENCODE_VERSION

_XDG = ("DATA", "CONFIG", "CACHE", "STATE")


def isolated_env(root: str | Path) -> dict[str, str]:
    """Environment variables that keep an OpenCode process inside `root` (created if needed)."""
    root = Path(root).resolve()
    env = {"HOME": str(root), **{f"XDG_{kind}_HOME": str(root / kind.lower()) for kind in _XDG}}
    seed_config_dir(root / "config" / "opencode")
    return env


def seed_config_dir(config: Path) -> Path:
    """`config` (created if needed) with `@opencode-ai/plugin` recorded as installed."""
    (config / "node_modules").mkdir(parents=True, exist_ok=True)
    deps = {"@opencode-ai/plugin": OPENCODE_VERSION}
    (config / "package.json").write_text(json.dumps({"dependencies": deps}))
    (config / "package-lock.json").write_text(json.dumps({"packages": {"": {"dependencies": deps}}}))
    return config
