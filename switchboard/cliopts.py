"""Pieces every part's CLI shares: the settings of this invocation, option types that
check their values (`validate.py`), and the options every part spells the same way."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from typer._click.types import ParamType  # typer 0.28 carries its own click

from switchboard import validate
from switchboard.config import Settings
from switchboard.errors import InvalidInput
from switchboard.names import parse_choice

if TYPE_CHECKING:
    from switchboard.opencode.files import Attachment


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
AGE = Checked("age", validate.age_days)
FRACTION = Checked("x", lambda v, what: validate.number(v, what, maximum=1.0, unit=""))

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
# `--format json`, as `opencode run` spells it, on the commands that run prompts.
FormatOpt = Annotated[str, typer.Option("--format", help="text or json (json: as --json).")]
FilesOpt = Annotated[
    Optional[list[Path]], typer.Option("--file", "-f", help="Attach a text file to the prompt (repeatable).")
]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Only report what would change; change nothing.")]
# For the commands that only report unless told (`mail prune`, `memory namespaces delete`),
# as the reference helpers did: --force acts, --dry-run is the default said out loud.
ForceOpt = Annotated[bool, typer.Option("--force", help="Do it; without it, only report.")]


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


# Long-running commands (coordinator, servers, mcp) take all three; --log-level beats -v/-q.
VerboseOpt = Annotated[
    int, typer.Option("--verbose", "-v", count=True, show_default=False, help="More log detail (-vv: debug).")
]
QuietOpt = Annotated[
    int, typer.Option("--quiet", "-q", count=True, show_default=False, help="Less log detail (-qq: errors only).")
]
LogLevelOpt = Annotated[Optional[str], typer.Option("--log-level", help="debug, info, warning or error.")]


def setup_logging(verbose: int, quiet: int, level: str | None, default: LogLevel = LogLevel.INFO) -> LogLevel:
    """Log to standard error at the level the flags ask for; return it (to pass on to a child)."""
    import logging

    levels = list(LogLevel)
    chosen = (
        parse_choice(LogLevel, level, "log level")
        if level is not None
        else levels[max(0, min(len(levels) - 1, levels.index(default) - verbose + quiet))]
    )
    logging.basicConfig(stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    logging.getLogger().setLevel(chosen.name)
    if chosen is not LogLevel.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request drowns the log
    return chosen


def acting(force: bool, dry_run: bool) -> bool:
    """Whether a report-unless-forced command acts: `--force`, and not `--dry-run` too."""
    if force and dry_run:
        raise InvalidInput("give --force or --dry-run, not both")
    return force


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


def json_format(output: str, as_json: bool) -> bool:
    """Whether to print JSON: `--json`, or `--format json`."""
    if output not in ("text", "json"):
        raise InvalidInput("--format must be text or json")
    return as_json or output == "json"


def attachments(ctx: typer.Context, paths: list[Path] | None) -> list[Attachment]:
    """`--file` paths read as `Attachment`s, capped together at max_payload_bytes."""
    if not paths:
        return []
    from switchboard.opencode.files import read_attachments

    return read_attachments(paths, settings(ctx).max_payload_bytes)
