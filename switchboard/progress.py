"""Progress bars for long work, on a terminal only.

The Python API takes a `Progress` (or None) and reports to it; the CLI hands it a
bar drawn on standard error when that is a terminal, and nothing otherwise, so
piped and scripted output stays clean.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any, Protocol


class Progress(Protocol):
    def total(self, count: int) -> None: ...
    def advance(self, count: int = 1) -> None: ...


class _Bar:
    def __init__(self, bar: Any, task: Any) -> None:
        self._bar, self._task = bar, task

    def total(self, count: int) -> None:
        self._bar.update(self._task, total=count)

    def advance(self, count: int = 1) -> None:
        self._bar.advance(self._task, count)


@contextlib.contextmanager
def bar(description: str, total: int | None = None) -> Iterator[Progress | None]:
    """A progress bar on standard error while the block runs; None when it is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

    with RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as rich_bar:
        yield _Bar(rich_bar, rich_bar.add_task(description, total=total))


@contextlib.contextmanager
def spinner(description: str) -> Iterator[None]:
    """A spinner on standard error while the block runs, on a terminal only."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(description):
        yield
