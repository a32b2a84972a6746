"""`Workspaces`: a fresh git worktree and branch for each attempt of an isolated task,
and what becomes of it when the attempt ends (collect, deliver, remove).

A worktree lives under this host's part of the home (`worktrees/<host>/`) and its
row says which host, so that after a crash each host finds its own (`sweep`). The
row is written before the worktree exists: nothing on disk is ever unaccounted for.
Every method blocks (git runs as a subprocess); async callers use a thread.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import re
import shutil
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from switchboard.config import Settings
from switchboard.errors import InvalidInput, NotFound
from switchboard.store import Store, open_store
from switchboard.workspaces import git
from switchboard.workspaces.models import Delivery, ForTask, Outcome, Result, Workspace


log = logging.getLogger("switchboard.workspaces")

BRANCH_PREFIX = "switchboard/"
# What OpenCode and switchboard put into a session's directory; never part of a task's commit.
TOOL_FILES = ("opencode.json", ".opencode")
_COPIED_FROM_WORKDIR = ("opencode.json", ".opencode/agent", ".opencode/agents")
PATCH_LIMIT = 10 * 1024 * 1024  # characters of patch kept in the record


def slug(text: str, width: int = 32) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return words[:width].rstrip("-") or "task"


def branch_name(task_id: int, prompt: str) -> str:
    return f"{BRANCH_PREFIX}{task_id}-{slug(prompt)}"


def check_repository(workdir: str | Path) -> Path:
    """The git working tree that holds `workdir`, or a one-line refusal."""
    top = git.toplevel(workdir)
    if top is None:
        raise InvalidInput(f"--isolation worktree needs a git repository, and {workdir} is not in one")
    return top


class Workspaces:
    def __init__(self, store: Store, settings: Settings, host: str | None = None) -> None:
        self.store = store
        self.settings = settings
        self.host = host or socket.gethostname()

    @classmethod
    def open(cls, settings: Settings | None = None) -> Workspaces:
        settings = settings or Settings.load()
        return cls(open_store(settings), settings)

    @property
    def root(self) -> Path:
        return self.settings.home / "worktrees" / self.host

    # -- an attempt's worktree -----------------------------------------------------

    def create(
        self,
        task_id: int,
        attempt: int,
        prompt: str,
        workdir: str | Path,
        *,
        base: str | None = None,
        deliver: Delivery | str = Delivery.BRANCH,
    ) -> Workspace:
        """A fresh worktree for this attempt on branch `switchboard/<task>-<slug>`, from `base`
        (default: HEAD's commit). The same attempt asked again gets the same worktree."""
        with self._lock(f"task-{task_id}"):  # two starts of one attempt must not undo each other
            return self._create(task_id, attempt, prompt, workdir, base=base, deliver=deliver)

    def _create(
        self, task_id: int, attempt: int, prompt: str, workdir: str | Path, *, base: str | None, deliver: Delivery | str
    ) -> Workspace:
        existing = self.get(task_id, attempt)
        if existing is not None and existing.status == "active" and Path(existing.directory).is_dir():
            return existing
        repo = check_repository(workdir)
        base_commit = git.commit_of(repo, base or "HEAD")
        if base_commit is None:
            raise InvalidInput(f"base {base or 'HEAD'} is not a commit in {repo}")
        checked_out = git.current_branch(repo)
        base_ref = base or checked_out or base_commit
        target = base if base is not None and git.branch_tip(repo, base) else checked_out
        note = None
        if git.dirty(repo):
            named = "" if base_commit.startswith(base_ref) else f"{base_ref} "
            note = f"the main tree has uncommitted changes: branched from the committed {named}({base_commit[:10]})"
        path = self.root / f"task-{task_id}-{attempt}"
        directory = path / Path(workdir).resolve().relative_to(repo)
        branch = branch_name(task_id, prompt)
        if existing is None or existing.status == "finished":
            branch = _free_branch(repo, branch)
        values = {
            "task_id": task_id,
            "attempt": attempt,
            "host": self.host,
            "repo": str(repo),
            "path": str(path),
            "directory": str(directory),
            "branch": branch,
            "base_ref": base_ref,
            "base_commit": base_commit,
            "target_branch": target,
            "deliver": Delivery(deliver).value,
            "note": note,
            "now": time.time(),
        }
        with self.store.transaction(write=True) as tx:
            # An attempt given back uncounted (shutdown, restart) comes again under its number.
            row = tx.row("workspaces.insert" if existing is None else "workspaces.renew", values)
        workspace = Workspace.from_row(row)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        # git's worktree bookkeeping in one repository takes one writer at a time.
        with self._lock("worktrees-" + hashlib.sha1(str(Path(repo).resolve()).encode()).hexdigest()[:16]):
            self._remove_worktree(workspace)
            # -B: a retry starts its branch afresh from the base.
            git.out(repo, "worktree", "add", "--quiet", "-B", branch, str(path), workspace.base_commit)
        self._bring_tool_files(Path(workdir), workspace)
        return workspace

    def _bring_tool_files(self, workdir: Path, workspace: Workspace) -> None:
        """The runner's `opencode.json` (its model and MCP server) and agents go with it into
        the worktree. Copies of tracked files are hidden from git (`skip-worktree`)."""
        target = Path(workspace.directory)
        target.mkdir(parents=True, exist_ok=True)
        copied = []
        for name in _COPIED_FROM_WORKDIR:
            source = workdir / name
            if source.is_file():
                shutil.copy2(source, target / name)
            elif source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True)
            else:
                continue
            copied.append(str((target / name).relative_to(workspace.path)))
        hidden = git.tracked(workspace.path, copied)
        if hidden:
            git.out(workspace.path, "update-index", "--skip-worktree", "--", *hidden)

    def collect(self, workspace: Workspace, runner: str, prompt: str) -> Result:
        """The attempt's work: the agent's commits, plus one commit of what it left uncommitted."""
        path, base = workspace.path, workspace.base_commit
        git.out(path, "add", "--all", "--", ".", *self._tool_file_excludes(workspace))
        if git.git(path, "diff", "--cached", "--quiet", check=False).returncode != 0:
            first_line = prompt.strip().splitlines()[0][:72] if prompt.strip() else ""
            message = f"switchboard: task #{workspace.task_id} by {runner}\n\n{first_line}\n"
            git.git(path, "commit", "--quiet", "--no-verify", "-m", message, identity=True)
            made_by_us = git.out(path, "rev-parse", "HEAD")
        else:
            made_by_us = None
        head = git.out(path, "rev-parse", "HEAD")
        commits = []
        for line in git.out(path, "log", "--reverse", "--format=%H%x09%s", f"{base}..{head}").splitlines():
            sha, _, subject = line.partition("\t")
            commits.append({"sha": sha, "subject": subject, "by": "switchboard" if sha == made_by_us else "agent"})
        return Result(
            head_commit=head,
            commits=commits,
            files=_files(path, base, head),
            diff_stat=git.out(path, "diff", "--stat", base, head),
            patch=git.out(path, "format-patch", "--stdout", f"{base}..{head}")[:PATCH_LIMIT] if commits else "",
        )

    def _tool_file_excludes(self, workspace: Workspace) -> list[str]:
        sub = Path(workspace.directory).relative_to(workspace.path)
        return [f":(top,exclude){(sub / name).as_posix()}" for name in TOOL_FILES]

    def settle(self, workspace: Workspace, *, ok: bool, runner: str, prompt: str) -> Workspace:
        """End an attempt's workspace: collect and deliver a successful attempt's work (a failed
        one's is discarded), remove the worktree, and record the result with the task."""
        if workspace.status != "active":
            return workspace
        result = self.collect(workspace, runner, prompt) if ok else None
        outcome, note, remove_branch = self._deliver(workspace, result)
        self._remove_worktree(workspace)
        if remove_branch:
            _delete_branch(workspace.repo, workspace.branch, result.head_commit if result else None)
        now = time.time()
        notes = "; ".join(n for n in (workspace.note, note) if n) or None
        with self.store.transaction(write=True) as tx:
            row = tx.one(
                "workspaces.finish",
                {
                    "id": workspace.id,
                    "outcome": outcome.value,
                    "note": notes,
                    "head_commit": result.head_commit if result else None,
                    "commits": json.dumps(result.commits if result else []),
                    "files": json.dumps(result.files if result else []),
                    "diff_stat": result.diff_stat if result else None,
                    "patch": result.patch if result else None,
                    "now": now,
                    "branch_removed_at": now if remove_branch else None,
                },
            )
        return Workspace.from_row(row) if row is not None else self._stored(workspace)

    def _deliver(self, workspace: Workspace, result: Result | None) -> tuple[Outcome, str | None, bool]:
        """(outcome, note, whether the branch goes)."""
        if result is None:
            return Outcome.DISCARDED, "the attempt failed: its changes were discarded", True
        if not result.changed:
            return Outcome.NO_CHANGES, "the task changed nothing", True
        if workspace.deliver == Delivery.PATCH:
            return Outcome.PATCH, "the patch is in the task's record (`sb task diff`)", True
        if workspace.deliver == Delivery.MERGE:
            merged, note = self._merge(workspace, result.head_commit)
            return (Outcome.MERGED if merged else Outcome.NEEDS_MERGE), note, False
        return Outcome.BRANCH, None, False

    # -- merge delivery --------------------------------------------------------------

    def _merge(self, workspace: Workspace, head: str) -> tuple[bool, str]:
        """Fast-forward or merge the task's branch into its base branch when that applies
        cleanly, without a working tree (`merge-tree`), then bring along the working tree that
        has the base branch checked out, if any. A conflict changes nothing."""
        repo, base = workspace.repo, workspace.target_branch
        with self._lock("merge-" + hashlib.sha1(str(Path(repo).resolve()).encode()).hexdigest()[:16]):
            tip = git.branch_tip(repo, base) if base else None
            if base is None or tip is None:
                return False, f"needs merge: no branch to merge into ({workspace.base_ref} is not one)"
            if git.is_ancestor(repo, head, tip):
                return True, f"already in {base}"
            if git.is_ancestor(repo, tip, head):
                new, how = head, "fast-forwarded"
            else:
                merged = git.git(
                    repo, "merge-tree", "--write-tree", "--name-only", "--no-messages", tip, head, check=False
                )
                if merged.returncode != 0:
                    lines = merged.stdout.strip().splitlines()
                    conflicts = ", ".join(lines[1:6]) or merged.stderr.strip()
                    return False, f"needs merge: {workspace.branch} conflicts with {base} ({conflicts})"
                tree = merged.stdout.split()[0]
                message = f"Merge {workspace.branch} (task #{workspace.task_id})"
                new = git.git(
                    repo, "commit-tree", tree, "-p", tip, "-p", head, "-m", message, identity=True
                ).stdout.strip()
                how = "merged"
            checked_out = git.checked_out_at(repo, base)
            if checked_out is not None:
                # As `git merge` would: update that tree's files, refusing if local edits are in the way.
                moved = git.git(checked_out, "read-tree", "-m", "-u", tip, new, check=False)
                if moved.returncode != 0:
                    return False, (
                        f"needs merge: {checked_out} has local changes to files the task "
                        f"changed; the branch {workspace.branch} is kept"
                    )
            git.out(
                repo,
                "update-ref",
                "-m",
                f"switchboard: {how} task #{workspace.task_id}",
                f"refs/heads/{base}",
                new,
                tip,
            )
            return True, f"{how} into {base} ({new[:10]})"

    @contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        """One holder at a time among this host's processes (merges into one repository, say)."""
        locks = self.settings.home / "locks"
        locks.mkdir(parents=True, exist_ok=True, mode=0o700)
        with (locks / f"{name}.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    # -- records ---------------------------------------------------------------------

    def get(self, task_id: int, attempt: int) -> Workspace | None:
        with self.store.transaction() as tx:
            row = tx.one("workspaces.get", {"task_id": task_id, "attempt": attempt})
        return Workspace.from_row(row) if row is not None else None

    def _stored(self, workspace: Workspace) -> Workspace:
        """`workspace` as it stands now (workspace rows are never deleted)."""
        current = self.get(workspace.task_id, workspace.attempt)
        if current is None:
            raise NotFound(f"no workspace for task {workspace.task_id}, attempt {workspace.attempt}")
        return current

    def latest(self, task_id: int) -> Workspace | None:
        """The workspace of the task's latest isolated attempt."""
        with self.store.transaction() as tx:
            row = tx.one("workspaces.latest", {"task_id": task_id})
        return Workspace.from_row(row) if row is not None else None

    def task_record(self, task: ForTask) -> dict[str, Any]:
        """A task as `task show --json` and the HTTP API give it: with its latest workspace."""
        workspace = self.latest(task.id)
        return {**task.to_dict(), "workspace": workspace.to_dict() if workspace else None}

    def diff(self, task_id: int) -> Workspace:
        workspace = self.latest(task_id)
        if workspace is None:
            raise NotFound(f"task {task_id} did not run in a worktree (--isolation worktree)")
        return workspace

    # -- after a crash, and old branches ---------------------------------------------------

    def sweep(self) -> list[Workspace]:
        """This host's worktrees whose attempt no longer runs (a coordinator was killed):
        a task that finished has its work collected and delivered; any other is discarded.
        Worktrees of attempts still running are left to the coordinator that follows them."""
        with self.store.transaction() as tx:
            rows = tx.all("workspaces.active_here", {"host": self.host})
        settled = []
        for row in rows:
            if row["task_status"] == "running" and row["task_attempts"] == row["attempt"]:
                continue
            workspace = Workspace.from_row(row)
            finished = row["task_status"] == "done" and row["task_attempts"] == row["attempt"]
            if finished and not Path(workspace.path).is_dir():
                finished = False  # nothing left to collect
            try:
                settled.append(
                    self.settle(workspace, ok=finished, runner=row["task_runner"] or "agent", prompt=row["task_prompt"])
                )
                log.info(
                    "orphaned worktree of task %s (attempt %s): %s",
                    workspace.task_id,
                    workspace.attempt,
                    settled[-1].outcome,
                )
            except git.GitError as exc:
                log.warning("orphaned worktree %s left in place: %s", workspace.path, exc)
        return settled

    def clean(self, older_than_days: float | None = None) -> list[Workspace]:
        """Remove orphaned worktrees, then the branches finished tasks left more than
        `older_than_days` ago (default: the `worktree_retention_days` setting). A branch
        that someone has added commits to, or has checked out, is kept."""
        days = self.settings.worktree_retention_days if older_than_days is None else older_than_days
        if not (math.isfinite(days) and days >= 0):
            raise InvalidInput("--older-than must be zero or more days")
        removed = self.sweep()
        with self.store.transaction() as tx:
            rows = tx.all("workspaces.kept_branches", {"host": self.host, "before": time.time() - days * 86400})
        for row in rows:
            workspace = Workspace.from_row(row)
            if _delete_branch(workspace.repo, workspace.branch, workspace.head_commit):
                with self.store.transaction(write=True) as tx:
                    tx.execute("workspaces.branch_removed", {"id": workspace.id, "now": time.time()})
                removed.append(self._stored(workspace))
        return removed

    def _remove_worktree(self, workspace: Workspace) -> None:
        path = Path(workspace.path)
        if path.exists():
            done = git.git(workspace.repo, "worktree", "remove", "--force", "--force", str(path), check=False)
            if done.returncode != 0:
                shutil.rmtree(path, ignore_errors=True)
        if Path(workspace.repo).is_dir():
            git.git(workspace.repo, "worktree", "prune", check=False)


def _files(path: str, base: str, head: str) -> list[dict[str, object]]:
    statuses: dict[str, str] = {}
    for line in git.out(path, "diff", "--name-status", "--no-renames", base, head).splitlines():
        status, _, name = line.partition("\t")
        statuses[name] = status
    files: list[dict[str, object]] = []
    for line in git.out(path, "diff", "--numstat", "--no-renames", base, head).splitlines():
        added, deleted, name = line.split("\t", 2)
        files.append(
            {
                "path": name,
                "status": statuses.get(name, "M"),
                "added": int(added) if added.isdigit() else None,
                "deleted": int(deleted) if deleted.isdigit() else None,
            }
        )
    return files


def _free_branch(repo: Path, branch: str) -> str:
    """`branch`, or `branch-2`, `-3`...: a branch kept from an earlier run of the task
    (`task retry` of a finished one) is never reset."""
    candidate, n = branch, 1
    while git.branch_tip(repo, candidate) is not None:
        n += 1
        candidate = f"{branch}-{n}"
    return candidate


def _delete_branch(repo: str, branch: str, expected: str | None) -> bool:
    """Delete `branch` if it still points where switchboard left it and is not checked out."""
    if not Path(repo).is_dir() or not branch.startswith(BRANCH_PREFIX):
        return False
    tip = git.branch_tip(repo, branch)
    if tip is None:
        return True
    if (expected is not None and tip != expected) or git.checked_out_at(repo, branch) is not None:
        return False
    return git.git(repo, "update-ref", "-d", f"refs/heads/{branch}", tip, check=False).returncode == 0
