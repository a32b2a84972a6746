"""`switchboard hook`: webhooks posted when tasks end, and their delivery log."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from switchboard.cliopts import JsonFlag, part_app, settings
from switchboard.hooks.service import Hooks
from switchboard.output import emit, print_json, print_table
from switchboard.timefmt import iso

app = part_app()

IdArg = Annotated[int, typer.Argument(help="Hook id.", min=1)]


def _hooks(ctx: typer.Context) -> Hooks:
    return Hooks.open(settings(ctx))


@app.command()
def add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="Where to POST: an http:// or https:// URL.")],
    on: Annotated[
        str, typer.Option("--on", help="When: done, failed, dead, cancelled (comma-separated).")
    ] = "done,failed,dead",
    format: Annotated[str, typer.Option("--format", help="json (signed event), slack or discord.")] = "json",
    secret: Annotated[Optional[str], typer.Option(help="The HMAC secret [a random one, shown once].")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Post to URL when a task ends. Prints the hook's id and its signing secret."""
    hook = _hooks(ctx).add(url, on, format=format, secret=secret)
    if as_json:
        print_json({**hook.to_dict(), "secret": hook.secret})
    else:
        typer.echo(f"hook {hook.id}: {hook.format.value} to {hook.url} on {','.join(hook.events)}")
        typer.echo(f"secret: {hook.secret}  (verify X-Switchboard-Signature with it; it is not shown again)")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List hooks."""
    hooks = _hooks(ctx).list()
    if as_json:
        print_json([h.to_dict() for h in hooks])
        return
    print_table(
        ["id", "url", "on", "format", "created"],
        [(h.id, h.url, ",".join(h.events), h.format.value, iso(h.created_at)) for h in hooks],
        empty="no hooks: add one with `switchboard hook add URL`",
    )


@app.command()
def remove(ctx: typer.Context, hook_id: IdArg, as_json: JsonFlag = False) -> None:
    """Remove a hook (and its delivery log)."""
    hook = _hooks(ctx).remove(hook_id)
    emit(hook, as_json, f"removed hook {hook.id}")


@app.command()
def log(
    ctx: typer.Context,
    hook_id: Annotated[Optional[int], typer.Option("--hook", help="Only this hook's deliveries.", min=1)] = None,
    limit: Annotated[int, typer.Option(min=1)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Recent deliveries, newest first: delivered, pending (with retries left) or dead."""
    entries = _hooks(ctx).log(hook_id, limit)
    if as_json:
        print_json([{**d.to_dict(), "url": url} for d, url in entries])
        return
    print_table(
        ["id", "hook", "task", "event", "status", "tries", "code", "error", "url"],
        [
            (d.id, d.hook_id, d.task_id, d.event.value, d.status, d.tries, d.response_code, d.last_error, url)
            for d, url in entries
        ],
        empty="no deliveries yet",
    )
