"""Printing for the CLI: JSON for scripts, rich tables for people.

rich is imported only when a table is drawn, so `--json` calls stay light.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def print_error(message: str, code: int, args: list[str]) -> int:
    """Print an error as one line (JSON if the command line asked for JSON) and return `code`."""
    line = " ".join(message.split())
    line = line[:1].lower() + line[1:] if line[:2] != line[:2].upper() else line
    if "--json" in args[: args.index("--") if "--" in args else None]:
        sys.stderr.write(json.dumps({"error": line, "code": code}) + "\n")
    else:
        sys.stderr.write(f"error: {line}\n")
    return code


def emit(record: Any, as_json: bool, text: object, *, dry_run: bool = False) -> None:
    """A command's result: the record (`to_dict()`) as JSON for scripts, or one line for people.
    A `--dry-run`'s record says so (`"dry_run": true`): it is what would change."""
    if as_json:
        print_json({**record.to_dict(), "dry_run": True} if dry_run else record.to_dict())
    else:
        sys.stdout.write(f"{text}\n")


def console() -> Console:
    """A rich console; piped output is not cut to 80 columns: it is read in files and logs."""
    from rich.console import Console

    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None, empty: str = "nothing to show"
) -> None:
    from rich.table import Table

    rows = list(rows)
    if not rows:
        console().print(f"[dim]{empty}[/dim]")
        return
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column, overflow="ellipsis", no_wrap=True)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console().print(table)


def print_fields(pairs: Iterable[tuple[str, Any]], body: str | None = None) -> None:
    """A record as aligned `name: value` lines, then an optional body."""
    pairs = [(k, v) for k, v in pairs if v is not None]
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        sys.stdout.write(f"{key + ':':<{width + 1}} {value}\n")
    if body is not None:
        sys.stdout.write("\n" + body + ("" if body.endswith("\n") else "\n"))


def preview(text: str, width: int = 60) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"
