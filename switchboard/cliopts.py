"""Pieces every part's CLI shares: the settings of this invocation and common options."""

from __future__ import annotations

from typing import Annotated

import typer

from switchboard.config import Settings

def part_app() -> typer.Typer:
    """The Typer app of one part (`mail`, `memory`, ...), configured like the root:
    plain help, no completion installers, one-line usage errors."""
    return typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None)


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def settings(ctx: typer.Context) -> Settings:
    """The settings for this invocation: root flags, then environment, then file."""
    root = ctx.find_root()
    cached = root.meta.get("settings")
    if cached is None:
        flags = root.obj or {}
        cached = Settings.load(flags.get("home"), database_url=flags.get("database_url"))
        root.meta["settings"] = cached
    return cached


def read_text_arg(value: str) -> str:
    """`-` means standard input, as in `--payload -` and `--content -`."""
    if value == "-":
        import sys

        return sys.stdin.read()
    return value
