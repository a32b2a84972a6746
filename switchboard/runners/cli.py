"""`switchboard runner`: a thin CLI over `Runners`."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from switchboard.cliopts import (
    COUNT,
    COUNT0,
    ID,
    POSITIVE_SECONDS,
    DryRunOpt,
    FilesOpt,
    FormatOpt,
    JsonFlag,
    attachments,
    json_format,
    part_app,
    settings,
    text_arg,
    text_file,
)
from switchboard.config import private_file
from switchboard.errors import InvalidInput
from switchboard.runners.wiring import server_name
from switchboard.output import emit, preview, print_fields, print_json, print_table
from switchboard.runners.models import DEFAULT_MAX_STEPS, DEFAULT_TIMEOUT, Run
from switchboard.runners.service import Runners
from switchboard.timefmt import age, iso

app = part_app()

NameArg = Annotated[str, typer.Argument(help="Runner name.")]
RedactHelp = "Store and log its runs' secrets as [redacted:<kind>] (--no-redact: raw text)"
IsolationHelp = "worktree: each task attempt in its own git worktree and branch (switchboard/<task>-<slug>); none"
AttachOpt = Annotated[
    Optional[str], typer.Option("--attach", help="OpenCode server URL [default: the managed server].")
]


def _runners(ctx: typer.Context) -> Runners:
    return Runners.open(settings(ctx))


def _instructions(ctx: typer.Context, path: Optional[Path]) -> Optional[str]:
    return None if path is None else text_file(ctx, path, "instructions")


@app.command()
def create(
    ctx: typer.Context,
    name: NameArg,
    description: Annotated[str, typer.Option(help="What the runner is for.")] = "",
    model: Annotated[Optional[str], typer.Option(help="provider/model [default: the server's].")] = None,
    agent: Annotated[
        Optional[str],
        typer.Option(help="OpenCode agent to use: .opencode/agents/NAME.md in the workdir, or opencode.json."),
    ] = None,
    agent_file: Annotated[
        Optional[Path],
        typer.Option(
            "--agent-file", help="Install this agent (NAME.md) into the workdir's .opencode/agents/ and use it."
        ),
    ] = None,
    workdir: Annotated[
        Optional[Path], typer.Option(help="Project directory the session works in [default: .].")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds a run may take.", click_type=POSITIVE_SECONDS)
    ] = DEFAULT_TIMEOUT,
    instructions: Annotated[Optional[Path], typer.Option(help="AGENTS.md to use [default: a stub].")] = None,
    role: Annotated[str, typer.Option(help="Role, for tasks given to a role.")] = "worker",
    max_parallel: Annotated[
        int, typer.Option("--max-parallel", help="Tasks it may run at once.", click_type=COUNT)
    ] = 1,
    max_steps: Annotated[
        int, typer.Option("--max-steps", help="Model requests a run may make before it is aborted.", click_type=COUNT)
    ] = DEFAULT_MAX_STEPS,
    isolation: Annotated[str, typer.Option("--isolation", help=IsolationHelp + ".")] = "none",
    redact: Annotated[bool, typer.Option("--redact/--no-redact", help=RedactHelp + ".")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Create a runner: instructions (AGENTS.md), model, agent, workdir and timeout."""
    runner = _runners(ctx).create(
        name,
        description,
        model=model,
        agent=agent,
        workdir=workdir,
        timeout=timeout,
        instructions=_instructions(ctx, instructions),
        role=role,
        max_parallel=max_parallel,
        max_steps=max_steps,
        agent_file=agent_file,
        isolation=isolation,
        redact=redact,
    )
    if as_json:
        print_json(runner.to_dict())
    else:
        agent_note = f"agent {runner.agent}, " if runner.agent else ""
        typer.echo(
            f"created runner {runner.name} (workdir {runner.workdir}, {agent_note}"
            f"instructions in {_runners(ctx).folder(name) / 'AGENTS.md'})"
        )


@app.command()
def run(
    ctx: typer.Context,
    name: NameArg,
    prompt: Annotated[str, typer.Argument(help="The task; '-' reads standard input.")],
    attach: AttachOpt = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="provider/model for this run.")] = None,
    files: FilesOpt = None,
    output: FormatOpt = "text",
    timeout: Annotated[
        Optional[float], typer.Option(help="Seconds before the session is aborted.", click_type=POSITIVE_SECONDS)
    ] = None,
    continue_session: Annotated[
        bool,
        typer.Option(
            "--continue", "-c", help="Go on in the runner's live session (started now if it has none); it is kept."
        ),
    ] = False,
    session: Annotated[
        Optional[str], typer.Option("--session", "-s", help="Run in this session id instead (it is kept).")
    ] = None,
    fork: Annotated[
        bool,
        typer.Option(
            "--fork", help="Run in a fork of the runner's live session (or of --session); the one forked is unchanged."
        ),
    ] = False,
    title: Annotated[Optional[str], typer.Option(help="Title of the run's new session.")] = None,
    keep_sessions: Annotated[
        Optional[bool],
        typer.Option(
            "--keep-sessions/--delete-sessions",
            help="Keep the session on the server after the run [default: setting keep_sessions, off].",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run a task in the runner's OpenCode session and print the answer.
    Exit code 1 if the run failed (model error, timeout)."""
    as_json = json_format(output, as_json)
    text = text_arg(ctx, prompt, "prompt")
    attached = attachments(ctx, files)

    def progress(line: str) -> None:
        if not as_json:
            typer.echo(f"  · {line}", err=True)

    finished, turn = _runners(ctx).run(
        name,
        text,
        attach=attach,
        model=model,
        files=attached,
        timeout=timeout,
        continue_session=continue_session,
        session=session,
        fork=fork,
        title=title,
        keep_session=keep_sessions,
        on_event=progress,
    )
    if as_json:
        print_json({**finished.to_dict(), "turn": turn.to_dict() if turn is not None else None})
    elif finished.ok:
        typer.echo(finished.answer)
    else:
        typer.echo(f"run {finished.id} failed: {finished.error}", err=True)
    if not finished.ok:
        raise typer.Exit(1)


@app.command()
def context(
    ctx: typer.Context,
    name: NameArg,
    text: Annotated[
        Optional[str],
        typer.Argument(
            help="Context to add to the runner's live session ('-' reads standard input) [default: show what a run sends]."
        ),
    ] = None,
    prompt: Annotated[str, typer.Option("--for", help="Show the memory recalled for this task.")] = "",
    files: FilesOpt = None,
    attach: AttachOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Show what a run feeds the session (instructions, recalled memory, unread mail), or with
    TEXT add it to the session the runner continues without a reply (noReply)."""
    runners = _runners(ctx)
    if text is None:
        prepared = runners.preview(name, prompt)
        if as_json:
            print_json(
                {"runner": name, "instructions": prepared.system, "context": prepared.context, "mail": prepared.mail}
            )
        else:
            typer.echo("## Instructions (system prompt)\n\n" + prepared.system.rstrip("\n"))
            typer.echo("\n" + (prepared.context.rstrip("\n") or "(no memory recalled, no unread mail)"))
        return
    import anyio

    body, attached = text_arg(ctx, text, "context"), attachments(ctx, files)
    session_id, message_id = anyio.run(lambda: runners.add_context(name, body, files=attached, attach=attach))
    if as_json:
        print_json({"runner": name, "session": session_id, "message": message_id})
    else:
        typer.echo(f"added context to {session_id} (message {message_id})")


def _runs_table(runs: list[Run]) -> None:
    now = time.time()
    print_table(
        ["run", "status", "started", "duration", "tokens in/out", "cost", "session", "prompt"],
        [
            (
                r.id,
                r.status,
                age(r.started_at, now) + " ago",
                f"{r.duration_seconds:.1f}s" if r.duration_seconds is not None else "-",
                f"{r.tokens_input or 0}/{r.tokens_output or 0}",
                f"{r.cost or 0:.4f}",
                r.session_id,
                preview(r.prompt, 40),
            )
            for r in runs
        ],
        empty="no runs yet",
    )


@app.command()
def status(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """A runner's settings and its recent runs."""
    runners = _runners(ctx)
    runner, runs = runners.get(name), runners.runs(name, limit=10)
    if as_json:
        print_json({**runner.to_dict(), "runs": [r.to_dict() for r in runs]})
        return
    print_fields(
        [
            ("runner", runner.name),
            ("description", runner.description),
            ("role", runner.role),
            ("model", runner.model or "(server default)"),
            ("agent", runner.agent),
            ("tools", f"MCP server {server_name(runner.name)} in {Path(runner.workdir) / 'opencode.json'}"),
            ("workdir", runner.workdir),
            ("isolation", runner.isolation),
            ("redact", "yes" if runner.redact else "no (raw text)"),
            ("timeout", f"{runner.timeout_seconds:g}s"),
            ("session", runner.session_id),
            ("server", runner.server_url),
            ("created", iso(runner.created_at)),
        ]
    )
    _runs_table(runs)


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """All runners with their last run."""
    rows = _runners(ctx).list()
    if as_json:
        print_json(
            [{**r.to_dict(), "run_count": n, "last_run": last.to_dict() if last else None} for r, n, last in rows]
        )
        return
    now = time.time()
    print_table(
        ["name", "role", "model", "runs", "last run", "last status", "description"],
        [
            (
                r.name,
                r.role,
                r.model or "-",
                n,
                age(last.started_at, now) + " ago" if last else "-",
                last.status if last else "-",
                preview(r.description, 40),
            )
            for r, n, last in rows
        ],
        empty="no runners: create one with `switchboard runner create NAME`",
    )


@app.command()
def edit(
    ctx: typer.Context,
    name: NameArg,
    description: Annotated[Optional[str], typer.Option(help="New description.")] = None,
    model: Annotated[Optional[str], typer.Option(help="New provider/model.")] = None,
    agent: Annotated[Optional[str], typer.Option(help="New OpenCode agent.")] = None,
    agent_file: Annotated[
        Optional[Path], typer.Option("--agent-file", help="Install this agent file into the workdir and use it.")
    ] = None,
    workdir: Annotated[Optional[Path], typer.Option(help="New workdir.")] = None,
    timeout: Annotated[
        Optional[float], typer.Option(help="New timeout in seconds.", click_type=POSITIVE_SECONDS)
    ] = None,
    instructions: Annotated[Optional[Path], typer.Option(help="Replace AGENTS.md with this file.")] = None,
    role: Annotated[Optional[str], typer.Option(help="New role.")] = None,
    max_parallel: Annotated[
        Optional[int], typer.Option("--max-parallel", help="New parallel limit.", click_type=COUNT)
    ] = None,
    max_steps: Annotated[
        Optional[int], typer.Option("--max-steps", help="New step budget per run.", click_type=COUNT)
    ] = None,
    isolation: Annotated[Optional[str], typer.Option("--isolation", help=IsolationHelp + ".")] = None,
    redact: Annotated[
        Optional[bool], typer.Option("--redact/--no-redact", help=RedactHelp + ".", show_default=False)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Change a runner. With no options, opens its AGENTS.md in $EDITOR."""
    runners = _runners(ctx)
    changes = {
        "description": description,
        "model": model,
        "agent": agent,
        "workdir": str(workdir) if workdir else None,
        "timeout_seconds": timeout,
        "instructions": _instructions(ctx, instructions),
        "role": role,
        "max_parallel": max_parallel,
        "max_steps": max_steps,
        "isolation": isolation,
        "redact": redact,
    }
    if all(v is None for v in changes.values()) and agent_file is None:
        path = runners.folder(name) / "AGENTS.md"
        private_file(path).write_text(runners.get(name).instructions)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        if subprocess.call([*editor.split(), str(path)]) != 0:
            raise InvalidInput(f"{editor} exited with an error; instructions unchanged")
        changes["instructions"] = text_file(ctx, path, "instructions")
    runner = runners.update(name, agent_file=agent_file, **changes)
    emit(runner, as_json, f"updated runner {runner.name}")


@app.command()
def logs(
    ctx: typer.Context,
    name: NameArg,
    tail: Annotated[Optional[int], typer.Option(help="Only the last N lines.", click_type=COUNT0)] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing as the run goes on.")] = False,
    run_id: Annotated[
        Optional[int], typer.Option("--run", help="A given run [default: the latest].", click_type=ID)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the log of a runner's latest (or given) run."""
    runners = _runners(ctx)
    chosen, path, lines = runners.log(name, run_id, tail)
    if as_json:
        print_json({"run": chosen.to_dict(), "lines": lines})
        return
    for line in lines:
        typer.echo(line)
    if follow:
        _follow(runners, chosen, path)


def _follow(runners: Runners, run: Run, path: Path) -> None:
    offset = path.stat().st_size if path.exists() else 0
    while True:
        if path.exists() and path.stat().st_size > offset:
            with path.open(encoding="utf-8") as fh:
                fh.seek(offset)
                sys.stdout.write(fh.read())
                sys.stdout.flush()
                offset = fh.tell()
        elif runners.get_run(run.id).status != "running":
            return
        time.sleep(0.5)


@app.command()
def stop(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Abort the runner's running sessions. Exit code 1 if nothing was running."""
    import anyio

    aborted = anyio.run(_runners(ctx).stop, name)
    if as_json:
        print_json({"runner": name, "aborted": aborted})
    elif aborted:
        typer.echo("\n".join(f"aborted session {session_id}" for session_id in aborted))
    else:
        typer.echo(f"nothing running for runner {name}", err=True)
    if not aborted:
        raise typer.Exit(1)


@app.command()
def destroy(
    ctx: typer.Context,
    name: NameArg,
    force: Annotated[bool, typer.Option("--force", help="Even with a run in progress.")] = False,
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove a runner, its sessions on the servers, its history, its folder and its memory namespace."""
    runners = _runners(ctx)
    if dry_run:
        runner = runners.get(name)
        emit(
            runner,
            as_json,
            f"would destroy runner {runner.name}: its sessions, its runs, {runners.folder(name)}, "
            f"its mailbox identity and its memory namespace",
            dry_run=True,
        )
        return
    runner = runners.destroy(name, force=force)
    emit(runner, as_json, f"destroyed runner {runner.name}")
