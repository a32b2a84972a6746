"""Isolated workspaces on real git repositories: a worktree per attempt, its result
collected and delivered (branch, patch, merge), crash leftovers and old branches."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.coordinator.tasks import Tasks
from switchboard.runners import Runners
from switchboard.workspaces import Workspaces
from tests.conftest import Cli

OWNER = "test-coordinator"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
}


def sh(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, env={**os.environ, **GIT_ENV}, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    sh(path, "init", "--quiet", "--initial-branch=main")
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    sh(path, "add", "-A")
    sh(path, "commit", "--quiet", "-m", "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project", {"README.md": "# project\n", "shared.txt": "base\n"})


@pytest.fixture
def tasks(settings: Settings, repo: Path) -> Tasks:
    runners = Runners.open(settings)
    runners.create("writer", "writes", workdir=repo, isolation="worktree", max_parallel=3)
    return Tasks(runners.store, settings)


@pytest.fixture
def spaces(settings: Settings, tasks: Tasks) -> Workspaces:
    return Workspaces(tasks.store, settings)


def start(tasks: Tasks, prompt: str, **options: str) -> int:
    """A task, claimed as the coordinator would: its first attempt is running."""
    task_id = tasks.add(prompt, runner="writer", **options).id
    assert [a.task.id for a in tasks.claim(OWNER, capacity=1, lease=60)] == [task_id]
    return task_id


def attempt(spaces: Workspaces, tasks: Tasks, task_id: int, repo: Path):  # noqa: ANN201
    task = tasks.get(task_id)
    return spaces.create(
        task.id, task.attempts, task.prompt, repo, base=task.base_ref, deliver=task.deliver or "branch"
    )


def branches(repo: Path) -> list[str]:
    return sh(repo, "branch", "--format=%(refname:short)", "--list", "switchboard/*").splitlines()


def show(repo: Path, ref: str, path: str) -> str:
    return sh(repo, "show", f"{ref}:{path}")


@pytest.mark.parametrize(
    ("deliver", "outcome", "branch_kept", "main_has_change"),
    [
        ("branch", "branch", True, False),
        ("patch", "patch", False, False),
        ("merge", "merged", True, True),
    ],
)
def test_an_attempt_works_in_its_own_worktree_and_its_result_is_delivered(
    tasks: Tasks, spaces: Workspaces, repo: Path, deliver: str, outcome: str, branch_kept: bool, main_has_change: bool
) -> None:
    task_id = start(tasks, "Add a changelog", deliver=deliver)
    ws = attempt(spaces, tasks, task_id, repo)
    assert ws.branch == f"switchboard/{task_id}-add-a-changelog" and Path(ws.directory).is_dir()
    assert (Path(ws.directory) / "opencode.json").exists()  # the runner's MCP wiring came along
    (Path(ws.directory) / "CHANGELOG.md").write_text("## 1.0\n")
    (Path(ws.directory) / ".opencode").mkdir(exist_ok=True)
    (Path(ws.directory) / ".opencode" / "package.json").write_text("{}\n")  # as OpenCode does at start
    assert not (repo / "CHANGELOG.md").exists()

    done = spaces.settle(ws, ok=True, runner="writer", prompt="Add a changelog")
    assert (done.outcome.value, done.branch_kept, done.status) == (outcome, branch_kept, "finished")
    assert [f["path"] for f in done.files] == ["CHANGELOG.md"]  # not opencode.json, not .opencode/
    assert [c["by"] for c in done.commits] == ["switchboard"]
    assert f"task #{task_id} by writer" in done.commits[0]["subject"]
    assert "CHANGELOG.md | 1 +" in done.diff_stat and "+## 1.0" in done.patch
    assert not Path(ws.path).exists() and sh(repo, "worktree", "list").count("\n") == 0
    assert (ws.branch in branches(repo)) == branch_kept
    assert (repo / "CHANGELOG.md").exists() == main_has_change
    assert sh(repo, "status", "--porcelain", "--untracked-files=no") == ""


def test_patch_delivery_applies_to_the_base(tasks: Tasks, spaces: Workspaces, repo: Path, tmp_path: Path) -> None:
    ws = attempt(spaces, tasks, start(tasks, "Edit shared", deliver="patch"), repo)
    (Path(ws.directory) / "shared.txt").write_text("edited\n")
    done = spaces.settle(ws, ok=True, runner="writer", prompt="Edit shared")
    clone = tmp_path / "clone"
    sh(tmp_path, "clone", "--quiet", str(repo), str(clone))
    (tmp_path / "task.patch").write_text(done.patch)
    sh(clone, "am", "--quiet", str(tmp_path / "task.patch"))
    assert (clone / "shared.txt").read_text() == "edited\n"


@pytest.mark.parametrize(
    ("ok", "outcome", "note"),
    [
        (True, "no changes", "the task changed nothing"),
        (False, "discarded", "the attempt failed"),
    ],
)
def test_an_attempt_with_nothing_to_deliver_leaves_no_branch(
    tasks: Tasks, spaces: Workspaces, repo: Path, ok: bool, outcome: str, note: str
) -> None:
    ws = attempt(spaces, tasks, start(tasks, "Maybe change"), repo)
    if not ok:
        (Path(ws.directory) / "half-done.txt").write_text("…\n")
    done = spaces.settle(ws, ok=ok, runner="writer", prompt="Maybe change")
    assert done.outcome.value == outcome and note in done.note and done.files == []
    assert branches(repo) == [] and not Path(ws.path).exists()


def test_the_agents_own_commits_are_kept_and_leftovers_committed(tasks: Tasks, spaces: Workspaces, repo: Path) -> None:
    ws = attempt(spaces, tasks, start(tasks, "Two steps"), repo)
    (Path(ws.directory) / "one.txt").write_text("1\n")
    sh(Path(ws.directory), "add", "one.txt")
    sh(Path(ws.directory), "commit", "--quiet", "-m", "step one")
    (Path(ws.directory) / "two.txt").write_text("2\n")
    done = spaces.settle(ws, ok=True, runner="writer", prompt="Two steps")
    assert [(c["subject"], c["by"]) for c in done.commits] == [
        ("step one", "agent"),
        (f"switchboard: task #{done.task_id} by writer", "switchboard"),
    ]
    assert sorted(f["path"] for f in done.files) == ["one.txt", "two.txt"]


def test_a_dirty_main_tree_branches_from_the_committed_base_and_says_so(
    tasks: Tasks, spaces: Workspaces, repo: Path
) -> None:
    (repo / "shared.txt").write_text("uncommitted edit\n")
    ws = attempt(spaces, tasks, start(tasks, "Work"), repo)
    assert (Path(ws.directory) / "shared.txt").read_text() == "base\n"
    assert "uncommitted changes: branched from the committed main" in ws.note
    spaces.settle(ws, ok=False, runner="writer", prompt="Work")
    assert (repo / "shared.txt").read_text() == "uncommitted edit\n"


def test_three_writers_of_one_file_at_the_same_time(tasks: Tasks, spaces: Workspaces, repo: Path) -> None:
    ids = [start(tasks, f"Write {name}") for name in ("alpha", "beta", "gamma")]
    results = {}

    def work(task_id: int, text: str) -> None:
        ws = attempt(Workspaces(tasks.store, spaces.settings), tasks, task_id, repo)
        (Path(ws.directory) / "shared.txt").write_text(text)
        results[task_id] = Workspaces(tasks.store, spaces.settings).settle(ws, ok=True, runner="writer", prompt=text)

    threads = [threading.Thread(target=work, args=(i, f"by task {i}\n")) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(branches(repo)) == sorted(results[i].branch for i in ids)
    for task_id in ids:
        assert show(repo, results[task_id].branch, "shared.txt") == f"by task {task_id}"
        assert [f["path"] for f in results[task_id].files] == ["shared.txt"]
    assert (repo / "shared.txt").read_text() == "base\n" and sh(repo, "status", "--porcelain") == "?? opencode.json"


def test_merge_delivery_merges_clean_work_and_flags_a_conflict(tasks: Tasks, spaces: Workspaces, repo: Path) -> None:
    base = sh(repo, "rev-parse", "HEAD")
    first = attempt(spaces, tasks, start(tasks, "Top line", deliver="merge"), repo)
    second = attempt(spaces, tasks, start(tasks, "New file", deliver="merge"), repo)
    third = attempt(spaces, tasks, start(tasks, "Other top line", deliver="merge"), repo)
    (Path(first.directory) / "shared.txt").write_text("first\nbase\n")
    (Path(second.directory) / "new.txt").write_text("new\n")
    (Path(third.directory) / "shared.txt").write_text("third\nbase\n")
    outcomes = [spaces.settle(ws, ok=True, runner="writer", prompt="x") for ws in (first, second, third)]
    assert [o.outcome.value for o in outcomes] == ["merged", "merged", "needs merge"]
    assert "fast-forwarded into main" in outcomes[0].note and "merged into main" in outcomes[1].note
    assert "conflicts with main (shared.txt)" in outcomes[2].note
    # The user's main tree (main checked out) has both merged changes, and no conflict markers.
    assert (repo / "shared.txt").read_text() == "first\nbase\n" and (repo / "new.txt").read_text() == "new\n"
    assert sh(repo, "status", "--porcelain", "--untracked-files=no") == ""
    assert sh(repo, "rev-list", "--count", f"{base}..main") == "3"  # two commits and a merge
    assert outcomes[2].branch in branches(repo)


def test_merge_never_overwrites_local_edits_in_the_main_tree(tasks: Tasks, spaces: Workspaces, repo: Path) -> None:
    ws = attempt(spaces, tasks, start(tasks, "Edit", deliver="merge"), repo)
    (Path(ws.directory) / "shared.txt").write_text("from the task\n")
    (repo / "shared.txt").write_text("the user's edit\n")
    done = spaces.settle(ws, ok=True, runner="writer", prompt="Edit")
    assert done.outcome.value == "needs merge" and "local changes" in done.note
    assert (repo / "shared.txt").read_text() == "the user's edit\n"
    assert sh(repo, "rev-list", "--count", "main") == "1"


@pytest.mark.parametrize(("finish", "outcome"), [("complete", "branch"), ("fail", "discarded")])
def test_sweep_after_a_crash_resumes_or_removes_orphaned_worktrees(
    tasks: Tasks, spaces: Workspaces, repo: Path, finish: str, outcome: str
) -> None:
    task_id = start(tasks, "Crash")
    ws = attempt(spaces, tasks, task_id, repo)
    (Path(ws.directory) / "work.txt").write_text("work\n")
    assert spaces.sweep() == []  # still running: its coordinator follows it
    if finish == "complete":
        tasks.complete(task_id, OWNER, "answer")
    else:
        tasks.fail(task_id, OWNER, "coordinator killed")
    [swept] = spaces.sweep()
    assert swept.outcome.value == outcome and not Path(ws.path).exists()
    assert spaces.sweep() == []


def test_clean_prunes_old_branches_but_keeps_ones_built_on(tasks: Tasks, spaces: Workspaces, repo: Path) -> None:
    done = []
    for prompt in ("One", "Two"):
        ws = attempt(spaces, tasks, start(tasks, prompt), repo)
        (Path(ws.directory) / f"{prompt}.txt").write_text(prompt)
        done.append(spaces.settle(ws, ok=True, runner="writer", prompt=prompt))
    assert spaces.clean() == []  # younger than the retention
    sh(repo, "branch", "--force", done[1].branch, f"{done[1].branch}~0")
    worktree = repo.parent / "people-work"
    sh(repo, "worktree", "add", "--quiet", str(worktree), done[1].branch)
    (worktree / "more.txt").write_text("more")
    sh(worktree, "add", "more.txt")
    sh(worktree, "commit", "--quiet", "-m", "built on it")
    removed = spaces.clean(older_than_days=0)
    assert [w.branch for w in removed] == [done[0].branch]
    assert branches(repo) == [done[1].branch]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runner", "create", "r2", "--isolation", "worktree", "--workdir", "{plain}"], "needs a git repository"),
        (["runner", "create", "r2", "--isolation", "sandbox", "--workdir", "{repo}"], "unknown isolation 'sandbox'"),
        (["task", "add", "x", "--runner", "plain", "--isolation", "worktree"], "needs a git repository"),
        (["task", "add", "x", "--runner", "plain", "--deliver", "merge"], "need --isolation worktree"),
        (["task", "add", "x", "--runner", "writer", "--base", "no-such-branch"], "is not a commit"),
        (["task", "add", "x", "--runner", "writer", "--deliver", "email"], "unknown delivery 'email'"),
        (["task", "diff", "1"], "did not run in a worktree"),
    ],
)
def test_bad_isolation_options_are_refused_with_one_line(
    cli: Cli, tasks: Tasks, repo: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    Runners(tasks.store, tasks.settings).create("plain", workdir=plain)
    tasks.add("plain job", runner="plain")
    before = len(tasks.list())
    result = cli(*[a.format(plain=plain, repo=repo) for a in args], code=2)
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1
    assert len(tasks.list()) == before


@pytest.mark.parametrize("next_attempt", [1, 2])  # given back uncounted (shutdown), or a retry
def test_an_attempt_run_again_gets_a_fresh_worktree(
    tasks: Tasks, spaces: Workspaces, repo: Path, next_attempt: int
) -> None:
    task_id = start(tasks, "Flaky")
    first = attempt(spaces, tasks, task_id, repo)
    (Path(first.directory) / "partial.txt").write_text("half\n")
    spaces.settle(first, ok=False, runner="writer", prompt="Flaky")
    again = spaces.create(task_id, next_attempt, "Flaky", repo)
    assert (again.status, again.outcome, again.branch) == ("active", None, first.branch)
    assert not (Path(again.directory) / "partial.txt").exists() and (Path(again.directory) / "shared.txt").exists()
    (Path(again.directory) / "fixed.txt").write_text("done\n")
    done = spaces.settle(again, ok=True, runner="writer", prompt="Flaky")
    assert [f["path"] for f in done.files] == ["fixed.txt"] and spaces.latest(task_id).attempt == next_attempt


def test_a_retried_finished_task_keeps_its_earlier_branch(tasks: Tasks, spaces: Workspaces, repo: Path) -> None:
    task_id = start(tasks, "Twice")
    first = attempt(spaces, tasks, task_id, repo)
    (Path(first.directory) / "one.txt").write_text("1\n")
    first = spaces.settle(first, ok=True, runner="writer", prompt="Twice")
    tasks.complete(task_id, OWNER, "done")
    tasks.retry(task_id)
    tasks.claim(OWNER, capacity=1, lease=60)
    second = attempt(spaces, tasks, task_id, repo)
    assert second.branch == first.branch + "-2" and not (Path(second.directory) / "one.txt").exists()
    assert show(repo, first.branch, "one.txt") == "1"
