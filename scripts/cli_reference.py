"""Write docs/cli.md, the CLI reference, from the commands' own help.

    python scripts/cli_reference.py > docs/cli.md

tests/test_docs.py fails when docs/cli.md is out of date.
"""

from __future__ import annotations

import typer
import typer.main

from switchboard.cli import app


def _options(command: typer.main.TyperCommand, ctx: typer.Context) -> list[str]:
    rows = []
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None or param.name == "help":
            continue
        names, text = record
        text = text.replace("|", "\\|")
        rows.append(f"| `{names}` | {text} |")
    return rows


def _walk(command: typer.main.TyperCommand, ctx: typer.Context, path: list[str], out: list[str]) -> None:
    if hasattr(command, "list_commands"):  # a group (typer vendors click: no isinstance)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                _walk(sub, typer.Context(sub, info_name=name, parent=ctx), path + [name], out)
        return
    usage = " ".join(command.collect_usage_pieces(ctx))
    out += [
        f"### `switchboard {' '.join(path)}`",
        "",
        (command.help or "").strip(),
        "",
        f"```\nswitchboard {' '.join(path)} {usage}\n```",
        "",
    ]
    options = _options(command, ctx)
    if options:
        out += ["| option | meaning |", "|---|---|", *options, ""]


def render() -> str:
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name="switchboard")
    out = [
        "# CLI reference",
        "",
        "Generated from the commands' help by `scripts/cli_reference.py`; `sb` is the same program.",
        "Every command has `--json`; errors a user can cause print `error: ...` and exit with 2.",
        "",
    ]
    for name in root.list_commands(ctx):
        group = root.get_command(ctx, name)
        out += [f"## `switchboard {name}`", "", (group.help or "").strip(), ""]
        _walk(group, typer.Context(group, info_name=name, parent=ctx), [name], out)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
