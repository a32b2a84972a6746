"""The README's first command runs the demo: it must keep working."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_demo_dispatches_three_runners_in_parallel_and_collects_reports(opencode_bin: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SB": str(Path(sys.executable).with_name("sb")),
        "SWITCHBOARD_OPENCODE_BIN": opencode_bin,
        "TMPDIR": str(tmp_path),
    }
    env.pop("SWITCHBOARD_HOME", None)
    result = subprocess.run([str(ROOT / "examples" / "demo.sh")], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "tasks: queued 0   running 0   done 4" in out
    assert "src/calc.py:14:    return eval(expression)" in out  # the reviewer's real tool call on the repo
    assert "def test_divide_by_zero" in out and "# calc-service API" in out
    assert out.count("completed (success") == 4  # every runner's status_report reached the coordinator
    # The test generator and docs writer wrote files, each on its own branch; the main tree has neither.
    assert "tests/test_calc.py | 11 +++++++++++" in out and "docs/API.md | 6 ++++++" in out
    assert "?? opencode.json" in out and "?? tests/" not in out and "?? docs/" not in out
