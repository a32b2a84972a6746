"""The `sb`/`switchboard` executable: the hot mail verbs first (`mailbox/hot.py`, no typer),
every other command line through the typer CLI (`cli.py`)."""

from __future__ import annotations

import sys


def main() -> None:
    from switchboard.mailbox.hot import run

    code = run(sys.argv[1:])
    if code is None:
        from switchboard.cli import main as typer_main

        typer_main()
    sys.exit(code)
