"""`switchboard opencode`: install OpenCode, run the managed server, dispatch a prompt.

Imported at start-up by `switchboard.cli`: httpx and the client load only when a
command needs them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from switchboard.cliopts import (
    POSITIVE_SECONDS,
    FilesOpt,
    FormatOpt,
    JsonFlag,
    LogLevel,
    LogLevelOpt,
    QuietOpt,
    VerboseOpt,
    attachments,
    json_format,
    part_app,
    settings,
    setup_logging,
    text_arg,
)
from switchboard.errors import InvalidInput
from switchboard.opencode.server import ManagedServer, ServerInfo, endpoint
from switchboard.output import print_fields, print_json
from switchboard.timefmt import iso

app = part_app()

AttachOpt = Annotated[
    Optional[str],
    typer.Option(
        "--attach",
        help="URL of a running OpenCode server [setting opencode_url, env SWITCHBOARD_OPENCODE_URL]; "
        "default: the managed server.",
    ),
]

DirOpt = Annotated[Optional[Path], typer.Option("--dir", help="Project directory [default: current].")]


def _info_out(info: ServerInfo, as_json: bool, state: str) -> None:
    if as_json:
        print_json({"state": state, **info.to_dict()})
        return
    print_fields(
        [
            ("state", state),
            ("url", info.url),
            ("pid", info.pid),
            ("version", info.version),
            ("binary", info.binary),
            ("started", iso(info.started_at)),
            ("log", info.log),
        ]
    )


@app.command()
def install(
    ctx: typer.Context,
    version: Annotated[Optional[str], typer.Option(help="opencode-ai version [default: the pinned one].")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Install the pinned opencode-ai npm package into the switchboard home (needs npm)."""
    from switchboard.opencode.binary import OPENCODE_VERSION, binary_version
    from switchboard.opencode.binary import install as npm_install

    path = npm_install(settings(ctx), version or OPENCODE_VERSION)
    installed = binary_version(str(path))
    if as_json:
        print_json({"binary": str(path), "version": installed})
    else:
        typer.echo(f"installed opencode {installed} at {path}")


@app.command()
def serve(
    ctx: typer.Context,
    bin: Annotated[
        Optional[Path], typer.Option("--bin", help="The opencode binary [env SWITCHBOARD_OPENCODE_BIN].")
    ] = None,
    port: Annotated[Optional[int], typer.Option(help="Port [default: a free one].", min=1, max=65535)] = None,
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the server to answer.", click_type=POSITIVE_SECONDS)
    ] = 60.0,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = 0,
    log_level: LogLevelOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Start the managed `opencode serve` in the background (or report the one running)."""
    setup_logging(verbose, quiet, log_level, default=LogLevel.WARNING)
    server = ManagedServer(settings(ctx), binary=str(bin) if bin else None)
    info, started = server.start(port=port, wait=wait)
    _info_out(info, as_json, "started" if started else "running")


@app.command()
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Show the managed server. Exit code 1 if it is not running."""
    info = ManagedServer(settings(ctx)).status()
    if info is None:
        if as_json:
            print_json({"state": "stopped"})
        else:
            typer.echo("not running")
        raise typer.Exit(1)
    _info_out(info, as_json, "running")


@app.command()
def stop(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Stop the managed server."""
    info = ManagedServer(settings(ctx)).stop()
    if as_json:
        print_json({"state": "stopped", "pid": info.pid if info else None})
    else:
        typer.echo(f"stopped (pid {info.pid})" if info else "not running")


@app.command()
def env(ctx: typer.Context, attach: AttachOpt = None, as_json: JsonFlag = False) -> None:
    """Print the server's URL and credentials as shell exports (starts the managed server if needed).

    eval "$(switchboard opencode env)"; opencode run --attach "$OPENCODE_SERVER_URL" "hello"
    """
    values = endpoint(settings(ctx), attach).env()
    if as_json:
        print_json(values)
    else:
        import shlex

        typer.echo("\n".join(f"export {k}={shlex.quote(v)}" for k, v in values.items()))


@app.command()
def run(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="The prompt; '-' reads standard input.")],
    attach: AttachOpt = None,
    directory: DirOpt = None,
    session: Annotated[Optional[str], typer.Option("--session", "-s", help="Continue this session id.")] = None,
    continue_last: Annotated[
        bool, typer.Option("--continue", "-c", help="Continue the project's latest session (a new one if it has none).")
    ] = False,
    title: Annotated[Optional[str], typer.Option(help="Title of the new session.")] = None,
    agent: Annotated[Optional[str], typer.Option(help="OpenCode agent, e.g. build or plan.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="provider/model.")] = None,
    files: FilesOpt = None,
    timeout: Annotated[
        Optional[float], typer.Option(help="Abort after this many seconds.", click_type=POSITIVE_SECONDS)
    ] = None,
    output: FormatOpt = "text",
    as_json: JsonFlag = False,
) -> None:
    """Run one prompt in an OpenCode session and print the answer (exit code 1 if the turn failed)."""
    from switchboard.opencode.files import prompt_parts

    as_json = json_format(output, as_json)
    if session and continue_last:
        raise InvalidInput("give --session or --continue, not both")
    text = text_arg(ctx, prompt, "prompt")
    attached = attachments(ctx, files)
    with endpoint(settings(ctx), attach).sync_client(directory=directory or Path.cwd()) as oc:
        started = time.monotonic()
        if continue_last:
            session = next((s.id for s in oc.list_sessions(roots=True, limit=1)), None)
        session_id = session or oc.create_session(title=title or _title(text)).id
        turn = oc.run(session_id, prompt_parts(text, attached), agent=agent, model=model, timeout=timeout)
    if as_json:
        print_json(turn.to_dict())
    else:
        for tool in turn.tools:
            command = tool.input.get("command") or tool.input.get("filePath") or ""
            typer.echo(f"[{tool.tool}] {command}".rstrip(), err=True)
        if turn.text:
            typer.echo(turn.text.rstrip("\n"))
        typer.echo(f"session {session_id} · {time.monotonic() - started:.2f} s", err=True)
        if turn.error:
            typer.echo(f"error: {turn.error}", err=True)
    if not turn.ok:
        raise typer.Exit(1)


@app.command()
def fork(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="The session to fork.")],
    message: Annotated[
        Optional[str],
        typer.Option("--message", help="Fork before this message id (it and later messages stay out) [default: all]."),
    ] = None,
    title: Annotated[
        Optional[str], typer.Option(help="Title of the fork [default: OpenCode's 'TITLE (fork #N)'].")
    ] = None,
    attach: AttachOpt = None,
    directory: DirOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Branch a session: a new session with copies of its messages; the original is unchanged."""
    with endpoint(settings(ctx), attach).sync_client(directory=directory or Path.cwd()) as oc:
        forked = oc.fork(session, message_id=message, title=title)
    if as_json:
        print_json(forked.to_dict())
    else:
        typer.echo(f"forked {session} as {forked.id} ({forked.title})")


@app.command()
def context(
    ctx: typer.Context,
    session: Annotated[str, typer.Argument(help="The session to add to.")],
    text: Annotated[str, typer.Argument(help="The context; '-' reads standard input.")],
    files: FilesOpt = None,
    attach: AttachOpt = None,
    directory: DirOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Add context to a session without a reply (noReply): the next prompt sees it, the model is not asked."""
    from switchboard.opencode.files import prompt_parts

    body = text_arg(ctx, text, "context")
    if not body.strip():
        raise InvalidInput("context is empty")
    attached = attachments(ctx, files)
    with endpoint(settings(ctx), attach).sync_client(directory=directory or Path.cwd()) as oc:
        added = oc.add_context(session, prompt_parts(body, attached))
    if as_json:
        print_json({"session": session, "message": added.id})
    else:
        typer.echo(f"added context to {session} (message {added.id})")


def _title(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "switchboard"
    return line[:60]


sessions_app = typer.Typer(no_args_is_help=True, help="Sessions switchboard's runners leave on the server.")
app.add_typer(sessions_app, name="sessions")


@sessions_app.command()
def prune(
    ctx: typer.Context,
    attach: AttachOpt = None,
    older_than: Annotated[
        float, typer.Option("--older-than", help="Only sessions at least this many seconds old.", min=0)
    ] = 60.0,
    as_json: JsonFlag = False,
) -> None:
    """Delete the sessions this home's runners left on the server (titled runner/NAME [sb:TAG])
    that no run in progress uses and none keeps (`--continue`, `--keep-sessions`)."""
    import anyio

    from switchboard.runners import Runners

    config = settings(ctx)

    async def prune_all() -> list[str]:
        async with endpoint(config, attach).client() as client:
            return await Runners.open(config).prune_sessions(client, older_than=older_than)

    deleted = anyio.run(prune_all)
    if as_json:
        print_json({"deleted": deleted})
    else:
        typer.echo(f"deleted {len(deleted)} session(s)" + "".join(f"\n  {s}" for s in deleted))
