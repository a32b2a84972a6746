"""The CI recipe of docs/ci.md, run here as CI runs it: `examples/ci/pr-review.sh` in a
git checkout with a change, against a real `opencode serve` and the scripted model;
the review lands in the job summary and the exit code says how it went."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = [{"name": "review", "match": r"^Review this pull request", "reply": "LGTM: the scripted model read {text}"}]


def git(workdir: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(workdir), "-c", "user.name=ci", "-c", "user.email=ci@example.com", *args],
        check=True,
        capture_output=True,
    )


@pytest.fixture
def checkout(workdir: Path) -> Path:
    """The project as CI checks it out: a base branch and a PR branch on top of it."""
    if not (workdir / ".git").exists():
        git(workdir, "init", "-q", "-b", "main")
        (workdir / "app.py").write_text("def add(a, b):\n    return a + b\n")
        git(workdir, "add", "-A")
        git(workdir, "commit", "-qm", "base")
    git(workdir, "checkout", "-q", "-B", "pr", "main")
    return workdir


@pytest.mark.parametrize(
    "change, code, words",
    [
        (
            "def add(a, b):\n    return a - b\n",
            0,
            [
                "switchboard review (task #1: done)",
                "LGTM: the scripted model read",
                "-    return a + b",
                "+    return a - b",
            ],
        ),
        (None, 0, ["No changes against main"]),
    ],
)
def test_pr_review_script_writes_the_review_to_the_job_summary(
    home: Path, checkout: Path, attach: str, tmp_path: Path, change: str | None, code: int, words: list[str]
) -> None:
    if change is not None:
        (checkout / "app.py").write_text(change)
        git(checkout, "commit", "-qam", "the PR")
    summary = tmp_path / "summary.md"
    env = {
        **os.environ,
        "SB": str(Path(sys.executable).with_name("sb")),
        "BASE_REF": "main",
        "ATTACH": attach,
        "GITHUB_STEP_SUMMARY": str(summary),
        "REVIEW_TIMEOUT": "120",
    }
    done = subprocess.run(
        ["bash", str(ROOT / "examples" / "ci" / "pr-review.sh")],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == code, done.stderr
    text = summary.read_text()
    for word in words:
        assert word in text
    coordinator = subprocess.run(
        [sys.executable, "-m", "switchboard", "coordinator", "status", "--json"], capture_output=True, text=True
    )
    assert '"coordinator": null' in coordinator.stdout  # the script stopped what it started
