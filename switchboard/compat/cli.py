"""`switchboard compat`: a thin CLI over `install`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from switchboard.cliopts import JsonFlag, part_app
from switchboard.compat.service import install as install_wrappers
from switchboard.output import print_json

app = part_app()


@app.callback()
def group() -> None:
    """Drop-in wrappers for scripts written for the reference shell helpers."""


@app.command()
def install(
    directory: Annotated[Path, typer.Argument(help="Where to write the scripts (created if missing).")],
    sb: Annotated[Optional[Path], typer.Option(help="The sb to call [default: the one running now].")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace files of the same names not written by sb.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Write mail-helper.sh, memory-helper.sh and runner-helper.sh, which take the reference
    helpers' commands and print their output lines, served by switchboard."""
    installed = install_wrappers(directory, sb=sb, force=force)
    if as_json:
        print_json(installed.to_dict())
    else:
        typer.echo("\n".join(str(p) for p in installed.scripts))
