"""`switchboard mcp`: the stdio MCP server, and the OpenCode config that starts it."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from switchboard.cliopts import JsonFlag, part_app, settings
from switchboard.errors import InvalidInput
from switchboard.output import print_json

app = part_app()


@app.callback(invoke_without_command=True, no_args_is_help=False)
def serve(
    ctx: typer.Context,
    agent: Annotated[Optional[str], typer.Option(
        "--agent", help="The runner whose tools these are [env SWITCHBOARD_AGENT].")] = None,
) -> None:
    """Serve switchboard's tools to one runner's sessions over stdio (MCP).

    Tools: memory_recall, memory_store (the runner's namespace and 'shared'),
    mail_send, mail_check, mail_read (as the runner) and task_report. Runners put
    this server into their workdir's opencode.json themselves; `switchboard mcp
    config RUNNER` prints the entry for other MCP clients."""
    if ctx.invoked_subcommand is not None:
        return
    config = settings(ctx)
    name = agent or config.agent
    if not name:
        raise InvalidInput("no runner: give --agent NAME or set SWITCHBOARD_AGENT")
    from switchboard.mcp.server import serve as run_server

    run_server(config, name)


@app.command()
def config(
    ctx: typer.Context,
    runner: Annotated[str, typer.Argument(help="Runner name.")],
    as_json: JsonFlag = False,
) -> None:
    """The opencode.json block that gives RUNNER's sessions these tools, and the names they get."""
    from switchboard.mcp import wiring
    from switchboard.names import check_name

    check_name(runner, "runner name")
    block = {"mcp": {wiring.server_name(runner): wiring.entry(settings(ctx), runner)}}
    if as_json:
        print_json({**block, "tools": wiring.tool_names(runner), "prompt_tools": wiring.prompt_tools(runner)})
    else:
        print_json(block)
