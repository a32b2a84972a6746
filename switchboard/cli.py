"""The `switchboard` (alias `sb`) command: mounts each part's commands.

Every command works on the database directly. Errors a user can cause print as
one line, `error: ...`, on standard error and exit with code 2.
"""

from __future__ import annotations

import copy
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import typer.main
from typer._click.core import Command, Context
from typer._click.exceptions import ClickException, NoArgsIsHelpError  # typer 0.28 carries its own click
from typer.core import TyperGroup

from switchboard import __version__
from switchboard.errors import SwitchboardError
from switchboard.output import print_error
from switchboard.roothelp import DESCRIPTION, OPTIONS, PARTS
from switchboard.validate import utf8_args


class _Part(TyperGroup):
    """A part's command group that builds each command from the part's Typer app when it
    is asked for: typer builds every command's parameters up front (a part has up to 26),
    and a call runs one."""

    source: typer.Typer

    @classmethod
    def of(cls, source: typer.Typer) -> Command:
        if source.registered_callback is None and len(source.registered_commands) == 1 and not source.registered_groups:
            return typer.main.get_command(source)  # a single-command part is a command, not a group
        shell = copy.copy(source)  # the part's own callback and settings, none of its commands
        shell.registered_commands, shell.registered_groups = [], []
        shell.info = copy.copy(source.info)
        shell.info.cls = cls
        group = typer.main.get_group(shell)
        assert isinstance(group, cls)
        group.source = source
        return group

    def _infos(self) -> dict[str, Any]:
        infos: dict[str, Any] = {}
        for command in self.source.registered_commands:
            assert command.callback is not None
            infos[command.name or typer.main.get_command_name(command.callback.__name__)] = command
        for group in self.source.registered_groups:
            name = typer.main.solve_typer_info_defaults(group).name
            assert isinstance(name, str)
            infos[name] = group
        return infos

    def list_commands(self, ctx: Context) -> list[str]:
        return list(self._infos())

    def get_command(self, ctx: Context, name: str) -> Command | None:
        if name not in self.commands and (info := self._infos().get(name)) is not None:
            short, markup = self.source.pretty_exceptions_short, self.source.rich_markup_mode
            if isinstance(info, typer.models.CommandInfo):
                self.commands[name] = typer.main.get_command_from_info(
                    info, pretty_exceptions_short=short, rich_markup_mode=markup
                )
            else:
                self.commands[name] = typer.main.get_group_from_info(
                    info,
                    pretty_exceptions_short=short,
                    rich_markup_mode=markup,
                    suggest_commands=self.source.suggest_commands,
                )
        return self.commands.get(name)


class _Root(TyperGroup):
    def list_commands(self, ctx: Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *PARTS})

    def get_command(self, ctx: Context, name: str) -> Command | None:
        if name not in PARTS:
            return super().get_command(ctx, name)
        module, help_text = PARTS[name]
        command = _Part.of(importlib.import_module(module).app)
        command.name, command.help = name, help_text
        return command

    def format_commands(self, ctx: Context, formatter: Any) -> None:
        # From PARTS, not from the parts' modules: `sb --help` imports none of them.
        rows = []
        for name in self.list_commands(ctx):
            command = None if name in PARTS else self.get_command(ctx, name)
            rows.append((name, command.get_short_help_str() if command else PARTS[name][1]))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run a command; every error a user can cause, usage errors included, ends as one
        line on standard error (`{"error": ..., "code": N}` under `--json`) and exit code 2."""
        args = list(sys.argv[1:] if args is None else args)
        try:
            utf8_args(args)
            result = super().main(
                args, prog_name, complete_var, standalone_mode=False, windows_expand_args=windows_expand_args, **extra
            )
            code = result if isinstance(result, int) else 0
        except NoArgsIsHelpError as exc:
            exc.show()
            code = exc.exit_code
        except ClickException as exc:
            failed_in = getattr(exc, "ctx", None)
            hint = f" (see '{failed_in.command_path} --help')" if failed_in else ""
            code = print_error(exc.format_message().rstrip(".") + hint, exc.exit_code, args)
        except SwitchboardError as exc:
            code = print_error(str(exc), 2, args)
        except typer.Abort:
            code = print_error("aborted", 1, args)
        if not standalone_mode:
            return code
        sys.exit(code)


app = typer.Typer(
    cls=_Root,
    help=DESCRIPTION,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"switchboard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Annotated[Optional[Path], typer.Option(help=OPTIONS["--home <path>"])] = None,
    database_url: Annotated[Optional[str], typer.Option("--database-url", help=OPTIONS["--database-url <str>"])] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help=OPTIONS["--version"])
    ] = False,
) -> None:
    ctx.obj = {"home": home, "database_url": database_url}


def main() -> None:
    """The typer path for every command (`switchboard.entry` tries the hot mail verbs first)."""
    app()
