"""Isolated workspaces end to end: the coordinator runs tasks in real OpenCode sessions,
each in its own git worktree, on a real repository (scripted model, real tool calls)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.coordinator.loop import Coordinator
from switchboard.coordinator.tasks import Tasks
from switchboard.opencode.server import Endpoint
from switchboard.runners import Runners
from switchboard.workspaces import Workspaces
from tests.conftest import Cli
from tests.opencode_fixtures import scripted_project
from tests.test_coordinator import all_finished, run_until
from tests.test_workspaces import branches, make_repo, sh, show

SCRIPT = [
    {
        "name": "write",
        "match": r"^write '([^']*)' to (\S+)",
        "turn": 0,
        "delay": 0.5,
        "bash": "printf '%s\\n' '{1}' > {2} && pwd",
    },
    {"name": "wrote", "role": "tool", "reply": "wrote it in {text}"},
]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, opencode_server: Endpoint) -> Iterator[Path]:
    """A git repository configured for the scripted model (its opencode.json is not committed)."""
    root = make_repo(
        tmp_path_factory.mktemp("isolated") / "project", {"README.md": "# project\n", "shared.txt": "base\n"}
    )
    with scripted_project(root, SCRIPT, opencode_server):
        yield root


@pytest.fixture
def fresh_repo(repo: Path) -> Iterator[Path]:
    """The module's repository, back at its first commit after each test."""
    first = sh(repo, "rev-list", "--max-parents=0", "HEAD")
    yield repo
    sh(repo, "reset", "--quiet", "--hard", first)
    for branch in branches(repo):
        sh(repo, "branch", "--quiet", "-D", branch)


@pytest.fixture
def tasks(settings: Settings, fresh_repo: Path) -> Tasks:
    runners = Runners.open(settings)
    runners.create("writer", "writes files", workdir=fresh_repo, max_parallel=3)
    return Tasks(runners.store, settings)


def test_three_runs_write_one_file_at_once_each_on_its_own_branch(
    settings: Settings, tasks: Tasks, fresh_repo: Path, attach: str, cli: Cli
) -> None:
    ids = [
        tasks.add(f"write '{word}' to shared.txt", runner="writer", isolation="worktree").id
        for word in ("alpha", "beta", "gamma")
    ]
    run_until(Coordinator(settings, concurrency=3, attach=[attach], remember=False), all_finished(tasks, ids))
    finished = [tasks.get(i) for i in ids]
    assert [t.status.value for t in finished] == ["done"] * 3
    assert max(t.started_at for t in finished) < min(t.finished_at for t in finished)  # all at once
    spaces = Workspaces.open(settings)
    for task, word in zip(finished, ("alpha", "beta", "gamma"), strict=True):
        workspace = spaces.latest(task.id)
        assert show(fresh_repo, workspace.branch, "shared.txt") == word  # only its own change
        assert [f["path"] for f in workspace.files] == ["shared.txt"]  # no opencode.json, no .opencode/
        assert workspace.path in task.result  # the agent's `pwd`: it worked in the worktree
        assert not Path(workspace.path).exists()
    assert sorted(branches(fresh_repo)) == sorted(spaces.latest(i).branch for i in ids)
    assert (fresh_repo / "shared.txt").read_text() == "base\n"  # the main tree is untouched
    assert sh(fresh_repo, "status", "--porcelain", "--untracked-files=no") == ""
    shown = cli("task", "show", str(ids[0])).stdout
    assert "workspace: branch" in shown and "M shared.txt (+1 -1)" in shown
    assert "+alpha" in cli("task", "diff", str(ids[0])).stdout
    assert cli.json("task", "show", str(ids[0]))["workspace"]["files"][0]["path"] == "shared.txt"


def test_merge_delivery_merges_two_and_flags_the_conflicting_third(
    settings: Settings, tasks: Tasks, fresh_repo: Path, attach: str
) -> None:
    first = sh(fresh_repo, "rev-parse", "HEAD")
    a = tasks.add("write 'from a' to a.txt", runner="writer", isolation="worktree", deliver="merge").id
    b = tasks.add("write 'from b' to b.txt", runner="writer", isolation="worktree", deliver="merge").id
    c = tasks.add(
        "write 'from c' to a.txt", runner="writer", isolation="worktree", deliver="merge", base=first, after=[a, b]
    ).id
    run_until(Coordinator(settings, concurrency=3, attach=[attach], remember=False), all_finished(tasks, [c]))
    spaces = Workspaces.open(settings)
    assert [tasks.get(i).status.value for i in (a, b, c)] == ["done"] * 3
    assert [spaces.latest(i).outcome.value for i in (a, b, c)] == ["merged", "merged", "needs merge"]
    assert "conflicts with main (a.txt)" in spaces.latest(c).note
    assert (fresh_repo / "a.txt").read_text() == "from a\n" and (fresh_repo / "b.txt").read_text() == "from b\n"
    assert sh(fresh_repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert branches(fresh_repo) == sorted(spaces.latest(i).branch for i in (a, b, c))
