"""Pieces every part's CLI shares: the settings of this invocation, option types that
check their values (`validate.py`), and the options every part spells the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.types import ParamType  # typer 0.28 carries its own click

from switchboard import validate
from switchboard.config import Settings


def part_app(help: str | None = None) -> typer.Typer:
    """The Typer app of one part (`mail`, `memory`, ...), configured like the root:
    plain help, no completion installers, one-line usage errors."""
    return typer.Typer(no_args_is_help=True, add_completion=False, rich_markup_mode=None, help=help)


class Checked(ParamType):
    """A parameter type whose value passes one of `validate`'s checks; the error names the flag."""

    def __init__(self, name: str, check: Callable[[Any, str], Any]) -> None:
        self.name = name
        self.check = check

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        what = "value"
        if param is not None and param.param_type_name == "option":
            what = max(param.opts, key=len)
        elif param is not None and param.name:
            what = param.name.replace("_", " ")
        return self.check(value, what)


ID = Checked("id", validate.integer)
COUNT = Checked("n", validate.integer)
COUNT0 = Checked("n", lambda v, what: validate.integer(v, what, minimum=0))
SECONDS = Checked("seconds", validate.seconds)
POSITIVE_SECONDS = Checked("seconds", lambda v, what: validate.seconds(v, what, positive=True))
DAYS = Checked("days", validate.days)
FRACTION = Checked("x", lambda v, what: validate.number(v, what, maximum=1.0, unit=""))

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Only report what would change; change nothing.")]


def settings(ctx: typer.Context) -> Settings:
    """The settings for this invocation: root flags, then environment, then file."""
    root = ctx.find_root()
    cached = root.meta.get("settings")
    if cached is None:
        flags = root.obj or {}
        cached = Settings.load(flags.get("home"), database_url=flags.get("database_url"))
        root.meta["settings"] = cached
    return cached


def text_arg(ctx: typer.Context, value: str, what: str) -> str:
    """A text option where `-` reads standard input (`--payload -`), capped at max_payload_bytes."""
    return validate.read_arg(value, what, settings(ctx).max_payload_bytes)


def text_file(ctx: typer.Context, path: Path | str, what: str) -> str:
    """A text file given by path (`-` for standard input), capped at max_payload_bytes."""
    return validate.read_file(path, what, settings(ctx).max_payload_bytes)
