"""The `sb`/`switchboard` executable: `sb --help` (`roothelp.py`) and the hot mail verbs
(`mailbox/hot.py`) without typer, every other command line through the typer CLI (`cli.py`)."""

from __future__ import annotations

import sys

HOT_VERBS = frozenset({"send", "check", "claim", "ack"})  # `mailbox/hot.py` takes these `sb mail` verbs


def _maybe_hot(args: list[str]) -> bool:
    """Whether the command line may be a hot mail verb; decided before importing the mailbox,
    which `sb --help` and every other part do not need."""
    at = args.index("mail") if "mail" in args else -1
    return 0 <= at < len(args) - 1 and args[at + 1] in HOT_VERBS and "--help" not in args


def main() -> None:
    args = sys.argv[1:]
    code = None
    if args == ["--help"]:
        from switchboard.roothelp import root_help

        sys.stdout.write(root_help())
        code = 0
    elif _maybe_hot(args):
        from switchboard.mailbox.hot import run

        code = run(args, one_shot=True)  # ends the process itself when it takes the call
    if code is None:
        from switchboard.cli import main as typer_main

        typer_main()
    sys.exit(code)
