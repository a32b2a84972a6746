"""`switchboard mcp`: the stdio MCP server, or the OpenCode config that starts it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from switchboard.cliopts import LogLevel, LogLevelOpt, QuietOpt, VerboseOpt, part_app, settings, setup_logging
from switchboard.errors import InvalidInput
from switchboard.runners.wiring import URL_FILE_VAR
from switchboard.output import print_json

app = part_app()


@app.command()
def mcp(
    ctx: typer.Context,
    agent: Annotated[
        Optional[str], typer.Option("--agent", help="The runner whose tools these are [env SWITCHBOARD_AGENT].")
    ] = None,
    print_config: Annotated[
        bool,
        typer.Option(
            "--print-config",
            help="Print the opencode.json entry that starts this server (with the tool "
            "names and the prompts' tools map) instead of serving.",
        ),
    ] = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = 0,
    log_level: LogLevelOpt = None,
) -> None:
    """Serve switchboard's tools to one runner's sessions over stdio (MCP).

    Tools: memory_recall, memory_store (the runner's namespace and 'shared'),
    mail_send, mail_check, mail_read (as the runner) and task_report. Runners put
    this server into their workdir's opencode.json themselves; --print-config shows
    the entry, for other MCP clients."""
    setup_logging(verbose, quiet, log_level, default=LogLevel.WARNING)  # on stderr: stdout speaks MCP
    config = settings(ctx)
    url_file = os.environ.get(URL_FILE_VAR)
    if url_file:  # the entry's way to a database URL with a password (see wiring.entry)
        try:
            config = config.with_overrides(database_url=Path(url_file).read_text(encoding="utf-8").strip())
        except OSError as exc:
            raise InvalidInput(f"cannot read the database URL from {url_file}: {exc.strerror}") from None
    name = agent or config.agent
    if not name:
        raise InvalidInput("no runner: give --agent NAME or set SWITCHBOARD_AGENT")
    from switchboard.names import check_name

    check_name(name, "runner name")
    if print_config:
        from switchboard.runners import wiring

        print_json(
            {
                "mcp": {wiring.server_name(name): wiring.entry(config, name)},
                "tools": wiring.tool_names(name),
                "prompt_tools": wiring.prompt_tools(name),
            }
        )
        return
    from switchboard.mcp.server import serve

    serve(config, name)
