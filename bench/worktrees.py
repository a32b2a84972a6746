"""The time an isolated workspace adds per task: create + remove of its git worktree.

Prints, for the demo's sample repository and for a generated repository of 10,000
files, the median time of switchboard's workspace per task (worktree and branch
created, the runner's opencode.json brought in, the record written; at the end the
work collected into a commit, the result recorded, the worktree removed) next to the
floor measured in the same run: bare `git worktree add` + `git worktree remove`.

    python bench/worktrees.py [--tasks 10] [--files 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.runners import Runners
from switchboard.workspaces import Workspaces

ROOT = Path(__file__).resolve().parents[1]
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True)


def commit_all(repo: Path) -> Path:
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "initial")
    return repo


def demo_repo(path: Path) -> Path:
    shutil.copytree(ROOT / "examples" / "demo" / "sample-repo", path)
    return commit_all(path)


def generated_repo(path: Path, files: int) -> Path:
    for i in range(files):
        file = path / f"pkg{i // 100:03d}" / f"module{i % 100:02d}.py"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(f'"""Module {i}."""\n\n\ndef f{i}(x):\n    return x + {i}\n')
    return commit_all(path)


def floor(repo: Path, scratch: Path, tasks: int) -> float:
    scratch.mkdir(exist_ok=True)
    times = []
    for i in range(tasks):
        started = time.perf_counter()
        git(repo, "worktree", "add", "--quiet", "--detach", str(scratch / f"bare-{i}"), "HEAD")
        git(repo, "worktree", "remove", "--force", str(scratch / f"bare-{i}"))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def switchboard(home: Path, repo: Path, tasks: int, change: bool) -> tuple[float, float, float]:
    """Median seconds per task: create, settle (collect, record, remove), both."""
    settings = Settings.load(home)
    runners = Runners.open(settings)
    name = f"bench-{'edit' if change else 'noop'}"
    runners.create(name, workdir=repo, isolation="worktree", max_parallel=tasks)
    queue = Tasks(runners.store, settings)
    spaces = Workspaces(runners.store, settings)
    created, settled = [], []
    for i in range(tasks):
        task = queue.add(f"bench task {i}", runner=name)
        started = time.perf_counter()
        workspace = spaces.create(task.id, 1, task.prompt, repo)
        created.append(time.perf_counter() - started)
        if change:  # as an agent would: one edited file
            target = (
                Path(workspace.directory) / "README.md"
                if (repo / "README.md").exists()
                else next(Path(workspace.directory).glob("pkg000/module00.py"))
            )
            target.write_text(target.read_text() + f"\n# edited by task {i}\n")
        started = time.perf_counter()
        spaces.settle(workspace, ok=True, runner=name, prompt=task.prompt)
        settled.append(time.perf_counter() - started)
    both = [a + b for a, b in zip(created, settled, strict=True)]
    return statistics.median(created), statistics.median(settled), statistics.median(both)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        repos = [
            ("demo repository", demo_repo(scratch / "demo")),
            (f"generated, {args.files:,} files", generated_repo(scratch / "big", args.files)),
        ]
        print(f"per task, median of {args.tasks} (ms)")
        print(
            f"{'repository':<26} {'git add+remove':>15} {'sb create':>10} {'sb settle':>10} {'sb total':>9}"
            f" {'with an edit':>13}"
        )
        for label, repo in repos:
            floor(repo, scratch / "warm-up", 2)  # files in the page cache, git's index fresh: no one-off costs
            bare = floor(repo, scratch, args.tasks)
            home = scratch / f"home-{repo.name}"
            _, _, noop = switchboard(home, repo, args.tasks, change=False)
            create, settle, edited = switchboard(home, repo, args.tasks, change=True)
            print(
                f"{label:<26} {bare * 1000:>15.0f} {create * 1000:>10.0f} {settle * 1000:>10.0f}"
                f" {noop * 1000:>9.0f} {edited * 1000:>13.0f}"
            )
        print(
            "sb total: a task that changed nothing; with an edit: one file changed, committed, "
            "recorded (create and settle columns are for this case)"
        )


if __name__ == "__main__":
    main()
