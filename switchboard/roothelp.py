"""What `sb --help` prints, without importing typer (which costs more than the rest of the
call): the parts, the root options, and click's help layout. `cli.py` builds the typer
root from the same texts, and a test checks that both print the same help."""

from __future__ import annotations

import shutil
import textwrap

DESCRIPTION = "Coordinate headless AI coding agents running in OpenCode."

# Each part's commands, imported only when used so that `sb mail ...` never pays
# for the memory model, the OpenCode client or the coordinator. name: (module, help)
PARTS = {
    "mail": ("switchboard.mailbox.cli", "Send, check, claim and ack messages between agents."),
    "memory": ("switchboard.memory.cli", "Store and recall namespaced memories (keyword + semantic search)."),
    "opencode": ("switchboard.opencode.cli", "Install OpenCode, run the managed server, dispatch a prompt."),
    "model": ("switchboard.modelserver.cli", "The scripted model: an offline OpenAI-compatible server."),
    "runner": ("switchboard.runners.cli", "Create runners and run tasks in their OpenCode sessions."),
    "mcp": ("switchboard.mcp.cli", "The MCP server that gives runner sessions memory, mail and task reports."),
    "task": ("switchboard.coordinator.task_cli", "Queue tasks for the coordinator and wait for them."),
    "cron": ("switchboard.coordinator.cron_cli", "Recurring tasks that the coordinator fires."),
    "coordinator": ("switchboard.coordinator.cli", "Run the loop that hands tasks to runners and collects reports."),
    "db": ("switchboard.store.cli", "The database: status, schema upgrades, moving to PostgreSQL."),
    "serve": ("switchboard.web.cli", "The HTTP API, live dashboard and dispatch endpoint; its access tokens."),
    "hook": ("switchboard.hooks.cli", "Webhooks posted (signed) when tasks end, and their delivery log."),
    "compat": ("switchboard.compat.cli", "Wrappers that run scripts written for the reference shell helpers."),
}

# The root's options as `--help` lists them: the first three are `cli.root`'s, the rest typer's.
OPTIONS = {
    "--home <path>": "Home directory [env SWITCHBOARD_HOME].",
    "--database-url <str>": "Database URL [env SWITCHBOARD_DATABASE_URL].",
    "--version": "Show the version.",
    "--install-completion": "Install completion for the current shell.",
    "--show-completion": "Show completion for the current shell, to copy it or customize the installation.",
    "--help": "Show this message and exit.",
}


def _definitions(rows: list[tuple[str, str]], width: int) -> list[str]:
    """Rows as click's `HelpFormatter.write_dl` lays them out, indented by 2."""
    first = min(max(len(name) for name, _ in rows), 30) + 2
    text_width = max(width - first - 2, 10)
    lines = []
    for name, text in rows:
        wrapped = textwrap.wrap(text, text_width, replace_whitespace=False) or [""]
        if len(name) <= first - 2:
            lines.append(f"  {name}{' ' * (first - len(name))}{wrapped[0]}")
        else:
            lines += [f"  {name}", f"{' ' * (first + 2)}{wrapped[0]}"]
        lines += [f"{' ' * (first + 2)}{line}" for line in wrapped[1:]]
    return lines


def root_help() -> str:
    width = max(min(shutil.get_terminal_size().columns, 80) - 2, 50)
    description = textwrap.fill(
        DESCRIPTION, width, initial_indent="  ", subsequent_indent="  ", replace_whitespace=False
    )
    return "\n".join(
        [
            "Usage: sb [OPTIONS] COMMAND [ARGS]...",
            "",
            description,
            "",
            "Options:",
            *_definitions(list(OPTIONS.items()), width),
            "",
            "Commands:",
            *_definitions([(name, PARTS[name][1]) for name in sorted(PARTS)], width),
            "",
        ]
    )
