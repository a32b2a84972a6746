"""`switchboard mail`: a thin CLI over `Mailbox`."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from switchboard.cliopts import (
    COUNT,
    DAYS,
    ID,
    POSITIVE_SECONDS,
    SECONDS,
    DryRunOpt,
    ForceOpt,
    JsonFlag,
    acting,
    part_app,
    settings,
    text_arg,
)
from switchboard.errors import InvalidInput
from switchboard.mailbox.service import Mailbox
from switchboard.mailbox.views import acked_out, batch_out, message_out, messages_table
from switchboard.output import emit, preview, print_json, print_table
from switchboard.timefmt import age

app = part_app()

IdArg = Annotated[int, typer.Argument(help="Message id.", click_type=ID)]
AgentOpt = Annotated[Optional[str], typer.Option("--agent", help="Agent name [env SWITCHBOARD_AGENT].")]
TypeOpt = Annotated[Optional[str], typer.Option("--type", help="Only messages of this type.")]


def _mailbox(ctx: typer.Context) -> Mailbox:
    return Mailbox.open(settings(ctx))


@app.command()
def send(
    ctx: typer.Context,
    to: Annotated[str, typer.Option("--to", help="Recipient agent, or 'all' for every active agent.")],
    type: Annotated[str, typer.Option("--type", help="task_dispatch, status_report, discovery, request or broadcast.")],
    payload: Annotated[str, typer.Option("--payload", help="Message text; '-' reads standard input.")],
    sender: Annotated[
        Optional[str], typer.Option("--from", help="Sender [env SWITCHBOARD_AGENT, else 'user'].")
    ] = None,
    priority: Annotated[str, typer.Option(help="urgent, high, normal or low.")] = "normal",
    convoy: Annotated[Optional[str], typer.Option(help="Group related messages under a name.")] = None,
    reply_to: Annotated[
        Optional[int], typer.Option("--reply-to", help="Id of the message this answers.", click_type=ID)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Send a message and print its id (one per recipient for broadcasts)."""
    sent = _mailbox(ctx).send(
        to, type, text_arg(ctx, payload, "payload"), sender=sender, priority=priority, convoy=convoy, reply_to=reply_to
    )
    if as_json:
        print_json({"ids": [m.id for m in sent], "to": [m.to_agent for m in sent]})
    else:
        typer.echo("\n".join(str(m.id) for m in sent))


@app.command()
def check(
    ctx: typer.Context,
    agent: AgentOpt = None,
    unread_only: Annotated[bool, typer.Option("--unread-only", help="Only unread messages.")] = False,
    type: TypeOpt = None,
    archived: Annotated[bool, typer.Option("--archived", help="Include archived messages.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.", click_type=COUNT)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List an agent's messages, most urgent first, then oldest first (everyone's without an agent)."""
    agent = agent or settings(ctx).agent
    messages = _mailbox(ctx).check(agent, unread_only=unread_only, type=type, include_archived=archived, limit=limit)
    if as_json:
        print_json([m.to_dict() for m in messages])
    else:
        messages_table(messages, "no messages")


@app.command()
def read(
    ctx: typer.Context,
    message_id: IdArg,
    agent: Annotated[Optional[str], typer.Option("--agent", help="Only if it is addressed to this agent.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a message and mark it read."""
    message_out(_mailbox(ctx).read(message_id, agent=agent), as_json)


@app.command()
def archive(ctx: typer.Context, message_id: IdArg, as_json: JsonFlag = False) -> None:
    """Archive a message: it leaves the inbox but is kept."""
    message = _mailbox(ctx).archive(message_id)
    emit(message, as_json, f"archived {message.id}")


@app.command()
def thread(ctx: typer.Context, message_id: IdArg, as_json: JsonFlag = False) -> None:
    """Show a message's thread: the first message and all replies, in order."""
    messages = _mailbox(ctx).thread(message_id)
    if as_json:
        print_json([m.to_dict() for m in messages])
    else:
        messages_table(messages, "empty thread")


@app.command()
def claim(
    ctx: typer.Context,
    agent: AgentOpt = None,
    type: TypeOpt = None,
    lease: Annotated[
        Optional[float], typer.Option(help="Lease length in seconds [default 300].", click_type=POSITIVE_SECONDS)
    ] = None,
    wait: Annotated[float, typer.Option(help="Wait up to this many seconds for a message.", click_type=SECONDS)] = 0.0,
    batch: Annotated[
        Optional[int],
        typer.Option("--batch", help="Lease up to N messages at once, under one lease token (a list).", click_type=ID),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Lease the most urgent, oldest deliverable message. Exit code 1 if there is none."""
    agent = agent or settings(ctx).agent
    if agent is None:
        raise InvalidInput("claim needs an agent: give --agent or set SWITCHBOARD_AGENT")
    if batch is not None:
        raise typer.Exit(batch_out(_mailbox(ctx).claim_many(agent, batch, type=type, lease=lease, wait=wait), as_json))
    message = _mailbox(ctx).claim(agent, type=type, lease=lease, wait=wait)
    if message is None:
        if as_json:
            print_json(None)
        else:
            typer.echo("no message", err=True)
        raise typer.Exit(1)
    message_out(message, as_json)


@app.command()
def ack(
    ctx: typer.Context,
    message_ids: Annotated[
        list[int], typer.Argument(help="Message id(s): several are acked together, all or none.", click_type=ID)
    ],
    lease: Annotated[Optional[str], typer.Option(help="Only if this lease token still holds the message.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Mark claimed messages done."""
    if len(message_ids) == 1:
        message = _mailbox(ctx).ack(message_ids[0], lease_token=lease)
        emit(message, as_json, f"acked {message.id}")
        return
    acked_out(_mailbox(ctx).ack_many(message_ids, lease_token=lease), as_json)


@app.command()
def nack(
    ctx: typer.Context,
    message_id: IdArg,
    reason: Annotated[Optional[str], typer.Option(help="Why it failed; kept as last_error.")] = None,
    retry_in: Annotated[
        Optional[float],
        typer.Option("--retry-in", help="Seconds before it is retried [default: backoff].", click_type=SECONDS),
    ] = None,
    lease: Annotated[Optional[str], typer.Option(help="Only if this lease token still holds the message.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Give a claimed message back for a retry (or to the dead letters, on its last attempt)."""
    message = _mailbox(ctx).nack(message_id, reason=reason, retry_in=retry_in, lease_token=lease)
    if as_json:
        print_json(message.to_dict())
    elif message.delivery.value == "dead":
        typer.echo(f"message {message.id} is dead after {message.attempts} attempts")
    else:
        delay = max(0.0, message.available_at - time.time())
        typer.echo(f"message {message.id} requeued; retry in {delay:.0f}s")


@app.command()
def dead(ctx: typer.Context, agent: AgentOpt = None, as_json: JsonFlag = False) -> None:
    """List dead letters: messages that used all their attempts."""
    messages = _mailbox(ctx).dead(agent)
    if as_json:
        print_json([m.to_dict() for m in messages])
    else:
        print_table(
            ["id", "to", "type", "attempts", "last error", "payload"],
            [(m.id, m.to_agent, m.type.value, m.attempts, m.last_error, preview(m.payload, 40)) for m in messages],
            empty="no dead letters",
        )


@app.command()
def retry(ctx: typer.Context, message_id: IdArg, as_json: JsonFlag = False) -> None:
    """Requeue a dead letter with fresh attempts."""
    message = _mailbox(ctx).retry(message_id)
    emit(message, as_json, f"requeued {message.id}")


@app.command()
def register(
    ctx: typer.Context,
    agent: Annotated[str, typer.Option("--agent", help="Agent name.")],
    role: Annotated[str, typer.Option(help="Role, e.g. worker or coordinator.")] = "worker",
    branch: Annotated[Optional[str], typer.Option(help="The git branch it works on [kept if not given].")] = None,
    worktree: Annotated[Optional[str], typer.Option(help="The worktree it works in [kept if not given].")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Register an agent (or reactivate it) so that broadcasts reach it."""
    agent_row = _mailbox(ctx).register(agent, role, branch=branch, worktree=worktree)
    where = f", branch {agent_row.branch}" if agent_row.branch else ""
    emit(agent_row, as_json, f"registered {agent_row.name} ({agent_row.role}{where})")


@app.command()
def deregister(
    ctx: typer.Context,
    agent: Annotated[str, typer.Option("--agent", help="Agent name.")],
    as_json: JsonFlag = False,
) -> None:
    """Mark an agent inactive: broadcasts skip it; its mail is kept."""
    agent_row = _mailbox(ctx).deregister(agent)
    emit(agent_row, as_json, f"deregistered {agent_row.name}")


@app.command()
def agents(
    ctx: typer.Context,
    active_only: Annotated[bool, typer.Option("--active-only", help="Only active agents.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List registered agents."""
    rows = _mailbox(ctx).agents(active_only)
    if as_json:
        print_json([a.to_dict() for a in rows])
    else:
        now = time.time()
        print_table(
            ["name", "role", "status", "branch", "registered", "last seen"],
            [
                (
                    a.name,
                    a.role,
                    a.status,
                    a.branch,
                    age(a.registered_at, now) + " ago",
                    age(a.last_seen_at, now) + " ago",
                )
                for a in rows
            ],
            empty="no agents registered",
        )


@app.command()
def status(
    ctx: typer.Context,
    agent: Annotated[Optional[str], typer.Option("--agent", help="Only the messages addressed to this agent.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Message counts by inbox status, delivery state and type (of one agent's mail with --agent)."""
    report = _mailbox(ctx).status(agent)
    if as_json:
        print_json(report)
        return
    if agent is not None:
        typer.echo(f"agent:    {agent}   inbox: {report['inbox']} messages ({report['unread']} unread)")
    typer.echo(f"database: {report['database']}")
    typer.echo(
        f"messages: {report['messages']}   agents: {report['agents']['active']} active, "
        f"{report['agents']['inactive']} inactive"
    )
    rows = [
        (group.removeprefix("by_"), key, n)
        for group in ("by_status", "by_delivery", "by_type")
        for key, n in report[group].items()
    ]
    print_table(["by", "value", "count"], rows, empty="no messages")


@app.command()
def prune(
    ctx: typer.Context,
    older_than_days: Annotated[
        float, typer.Option("--older-than-days", help="Age cutoff in days.", click_type=DAYS)
    ] = 7,
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Report handled messages older than the cutoff; with --force, delete them
    (discoveries and status reports are kept as memories of their recipient)."""
    force = acting(force, dry_run)
    report = _mailbox(ctx).prune(older_than_days, force=force)
    if as_json:
        print_json(report.to_dict())
        return
    verb = "deleted" if force else "would delete"
    typer.echo(f"{verb} {report.total} message(s) older than {older_than_days:g} day(s)")
    if report.remembered:
        typer.echo(f"kept {report.remembered} discovery/status_report message(s) as memories")
    if report.by_type:
        print_table(["type", "count"], report.by_type.items())
    if not force and report.total:
        typer.echo("run again with --force to delete them")
