"""The CLI reference is generated from the commands: it must not drift from them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WITHOUT_JSON = {"memory export", "mcp"}  # they print JSON (or speak MCP) by nature


def test_cli_reference_is_current_and_every_command_has_json() -> None:
    generated = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py")], capture_output=True, text=True, check=True
    ).stdout
    assert generated == (ROOT / "docs" / "cli.md").read_text(), (
        "docs/cli.md is out of date: python scripts/cli_reference.py > docs/cli.md"
    )
    for block in generated.split("### `switchboard ")[1:]:
        name = block.split("`", 1)[0]
        assert "--json" in block or name in WITHOUT_JSON, f"switchboard {name} has no --json"
