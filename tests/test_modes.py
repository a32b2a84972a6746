"""The home is its owner's alone: the directory 0700, every file in it 0600, every folder
0700 — whatever the umask, and even in a home that existed before with mode 0755."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from switchboard.config import Settings
from switchboard.store import open_store
from switchboard.store.sqlite import _driver


def _sb(*args: str, cwd: Path) -> None:
    # A fresh process with a loose umask, as a user's shell may have.
    subprocess.run(
        [sys.executable, "-m", "switchboard", *args],
        check=True,
        cwd=cwd,
        capture_output=True,
        preexec_fn=lambda: os.umask(0o022),
    )


def _loose(root: Path) -> list[str]:
    return [
        f"{p.relative_to(root)} {stat.filemode(p.lstat().st_mode)}"
        for p in [root, *root.rglob("*")]
        if not p.is_symlink() and p.lstat().st_mode & 0o077
    ]


@pytest.fixture
def short_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home with a short path: socket paths must fit in 100 bytes, pytest's do not."""
    root = Path(tempfile.mkdtemp(prefix="sb", dir="/tmp"))
    monkeypatch.setenv("SWITCHBOARD_HOME", str(root / "home"))
    yield root / "home"
    shutil.rmtree(root)


@pytest.mark.parametrize("existing", [False, True], ids=["new home", "home made 0755 by hand"])
def test_every_file_in_the_home_is_private(short_home: Path, tmp_path: Path, existing: bool) -> None:
    home = short_home
    work = tmp_path / "work"
    work.mkdir()
    if existing:
        (home / "notes").mkdir(parents=True)
        home.chmod(0o755)
        (home / "notes" / "old.log").write_text("from an older version\n")
        (home / "notes" / "old.log").chmod(0o644)
        (home / "notes" / "tool").write_text("#!/bin/sh\n")
        (home / "notes" / "tool").chmod(0o755)
    _sb("mail", "send", "--to", "bob", "--type", "request", "--payload", "secret plans", cwd=work)
    held = None
    if not os.environ.get("SWITCHBOARD_DATABASE_URL"):  # keep the WAL and SHM files in being
        # The driver switchboard uses: two SQLite libraries in one process break each other's locks.
        held = _driver().connect(home / "switchboard.db")
        held.execute("SELECT count(*) FROM messages").fetchall()
    _sb("runner", "create", "worker1", "--workdir", str(work), cwd=work)
    _sb("task", "add", "review it", "--runner", "worker1", cwd=work)
    with open_store(Settings.load(home)).listen("bob"):  # a wake-up socket, as `claim --wait` makes
        present = {p.name for p in home.rglob("*")}
        assert "AGENTS.md" in present and "config.json" in present
        if held is not None:
            assert {"switchboard.db", "switchboard.db-wal", "switchboard.db-shm"} <= present
            assert any(name.endswith(".sock") for name in present)
        assert _loose(home) == []
        if existing:  # tightened, not broken: an installed binary still runs
            assert stat.S_IMODE((home / "notes" / "tool").stat().st_mode) == 0o700
            assert stat.S_IMODE((home / "notes" / "old.log").stat().st_mode) == 0o600
    if held is not None:
        held.close()
