"""The git commands workspaces need, as blocking calls (async callers run them in a thread)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from switchboard.errors import SwitchboardError

# Commits switchboard makes: never signed (no one is there to unlock a key), no hooks
# (they belong to people's commits), and an identity that says who made them.
_COMMIT_CONFIG = ("-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null")
IDENTITY = {
    "GIT_AUTHOR_NAME": "switchboard",
    "GIT_AUTHOR_EMAIL": "switchboard@localhost",
    "GIT_COMMITTER_NAME": "switchboard",
    "GIT_COMMITTER_EMAIL": "switchboard@localhost",
}


class GitError(SwitchboardError):
    """A git command failed."""


def git(cwd: str | Path, *args: str, check: bool = True, identity: bool = False) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(IDENTITY if identity else {})}
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    try:
        done = subprocess.run(
            ["git", *_COMMIT_CONFIG, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise GitError(f"cannot run git in {cwd}: {exc.strerror}") from None
    if check and done.returncode != 0:
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise GitError(f"git {args[0]} in {cwd} failed: {message[-1] if message else f'exit {done.returncode}'}")
    return done


def out(cwd: str | Path, *args: str) -> str:
    return git(cwd, *args).stdout.strip()


def toplevel(path: str | Path) -> Path | None:
    """The root of the working tree that holds `path`, or None outside git."""
    if not Path(path).is_dir():
        return None
    done = git(path, "rev-parse", "--show-toplevel", check=False)
    return Path(done.stdout.strip()) if done.returncode == 0 and done.stdout.strip() else None


def commit_of(repo: str | Path, ref: str) -> str | None:
    done = git(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False)
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def branch_tip(repo: str | Path, branch: str) -> str | None:
    done = git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False)
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def current_branch(repo: str | Path) -> str | None:
    done = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return (done.stdout.strip() or None) if done.returncode == 0 else None


def dirty(repo: str | Path) -> bool:
    """Uncommitted changes to tracked files (untracked files do not count)."""
    return bool(git(repo, "status", "--porcelain", "--untracked-files=no").stdout.strip())


def tracked(repo: str | Path, paths: list[str]) -> list[str]:
    """Which of `paths` (relative to the root) the index holds."""
    return git(repo, "ls-files", "--", *paths).stdout.splitlines() if paths else []


def is_ancestor(repo: str | Path, older: str, newer: str) -> bool:
    return git(repo, "merge-base", "--is-ancestor", older, newer, check=False).returncode == 0


def checked_out_at(repo: str | Path, branch: str) -> Path | None:
    """The working tree (main or linked) that has `branch` checked out, if any."""
    current: str | None = None
    for line in out(repo, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = line[len("worktree ") :]
        elif line == f"branch refs/heads/{branch}" and current is not None:
            return Path(current)
    return None
