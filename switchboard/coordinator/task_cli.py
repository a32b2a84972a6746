"""`switchboard task`: queue work for the coordinator and wait for it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from switchboard import validate
from switchboard.cliopts import (
    COUNT,
    ID,
    POSITIVE_SECONDS,
    SECONDS,
    DryRunOpt,
    FilesOpt,
    JsonFlag,
    attachments,
    part_app,
    settings,
    text_arg,
)
from switchboard.coordinator.models import Task
from switchboard.coordinator.tasks import Tasks
from switchboard.coordinator.todo import blockers_first, parse_todo
from switchboard.errors import Conflict
from switchboard.output import emit, preview, print_fields, print_json, print_table
from switchboard.timefmt import age, iso

if TYPE_CHECKING:  # imported at run time only by the commands that use it
    from switchboard.workspaces import Workspace, Workspaces

app = part_app()

IdArg = Annotated[int, typer.Argument(help="Task id.", click_type=ID)]
RunnerOpt = Annotated[Optional[str], typer.Option("--runner", help="Run it on this runner.")]
RoleOpt = Annotated[Optional[str], typer.Option("--role", help="Run it on any runner with this role.")]
ConvoyOpt = Annotated[Optional[str], typer.Option("--convoy", help="Group tasks under a name.")]
IsolationOpt = Annotated[
    Optional[str],
    typer.Option("--isolation", help="worktree: each attempt in its own git worktree and branch; none [runner's]."),
]
BaseOpt = Annotated[Optional[str], typer.Option("--base", help="Ref the worktree starts from [the repository's HEAD].")]
DeliverOpt = Annotated[
    Optional[str],
    typer.Option(
        "--deliver", help="branch (keep it), patch (in the record, branch removed) or merge (into the base) [branch]."
    ),
]
WAIT_TIMED_OUT = 124  # as timeout(1)


def _tasks(ctx: typer.Context) -> Tasks:
    return Tasks.open(settings(ctx))


def _ids(text: Optional[str]) -> list[int]:
    """`--after 1,2`: task ids separated by commas."""
    return [validate.integer(part, "--after") for part in (text or "").split(",") if part.strip()]


def tasks_table(tasks: list[Task], empty: str = "no tasks") -> None:
    now = time.time()
    print_table(
        ["id", "status", "runner", "attempts", "priority", "convoy", "after", "age", "prompt / outcome"],
        [
            (
                t.id,
                t.status.value,
                t.assigned_runner or t.target,
                f"{t.attempts}/{t.max_attempts}",
                t.priority.label,
                t.convoy,
                ",".join(map(str, t.after)),
                age(t.created_at, now),
                preview(t.error if t.error and t.status.value != "done" else (t.result or t.prompt), 50),
            )
            for t in tasks
        ],
        empty=empty,
    )


@app.command()
def add(
    ctx: typer.Context,
    prompt: Annotated[str, typer.Argument(help="What to do; '-' reads standard input.")],
    runner: RunnerOpt = None,
    role: RoleOpt = None,
    after: Annotated[Optional[str], typer.Option("--after", help="Ids of tasks that must finish first: 1,2.")] = None,
    priority: Annotated[str, typer.Option(help="urgent, high, normal or low.")] = "normal",
    convoy: ConvoyOpt = None,
    max_attempts: Annotated[
        Optional[int], typer.Option("--max-attempts", help="Attempts before it is dead [3].", click_type=COUNT)
    ] = None,
    timeout: Annotated[
        Optional[float], typer.Option(help="Seconds an attempt may take [runner's].", click_type=POSITIVE_SECONDS)
    ] = None,
    max_steps: Annotated[
        Optional[int],
        typer.Option(
            "--max-steps", help="Model requests an attempt may make before it is aborted [runner's].", click_type=COUNT
        ),
    ] = None,
    isolation: IsolationOpt = None,
    base: BaseOpt = None,
    deliver: DeliverOpt = None,
    files: FilesOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Queue a task and print its id. Attached files are kept with it: a retry sends the same."""
    text, attached = text_arg(ctx, prompt, "task prompt"), attachments(ctx, files)
    task = _tasks(ctx).add(
        text,
        runner=runner,
        role=role,
        after=_ids(after),
        priority=priority,
        convoy=convoy,
        max_attempts=max_attempts,
        timeout=timeout,
        max_steps=max_steps,
        isolation=isolation,
        base=base,
        deliver=deliver,
        files=attached,
    )
    emit(task, as_json, task.id)


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[Optional[str], typer.Option(help="queued, running, done, dead or cancelled.")] = None,
    convoy: ConvoyOpt = None,
    limit: Annotated[int, typer.Option(help="At most this many.", click_type=COUNT)] = 100,
    as_json: JsonFlag = False,
) -> None:
    """List tasks, newest first."""
    tasks = _tasks(ctx).list(status=status, convoy=convoy, limit=limit)
    print_json([t.to_dict() for t in tasks]) if as_json else tasks_table(tasks)


@app.command()
def show(ctx: typer.Context, task_id: IdArg, as_json: JsonFlag = False) -> None:
    """Show a task, its result or its error, and the files its worktree changed."""
    task, workspaces = _tasks(ctx).get(task_id), _workspaces(ctx)
    if as_json:
        print_json(workspaces.task_record(task))
        return
    workspace = workspaces.latest(task_id)
    print_fields(
        [
            ("id", task.id),
            ("status", task.status.value),
            ("for", task.target),
            ("runner", task.assigned_runner),
            ("attempts", f"{task.attempts}/{task.max_attempts}"),
            ("priority", task.priority.label),
            ("convoy", task.convoy),
            ("after", ", ".join(map(str, task.after)) or None),
            ("source", task.source),
            ("session", task.session_id),
            ("server", task.server_url),
            ("run", task.run_id),
            ("created", iso(task.created_at)),
            ("finished", iso(task.finished_at)),
            ("error", task.error),
            *workspace_fields(workspace),
        ],
        body=f"{task.prompt}\n\n--- result ---\n{task.result}" if task.result else task.prompt,
    )


def _workspaces(ctx: typer.Context) -> Workspaces:
    from switchboard.workspaces import Workspaces

    return Workspaces.open(settings(ctx))


def workspace_fields(workspace: Workspace | None) -> list[tuple[str, object]]:
    """A task's worktree result as `show` lines: outcome, branch, files changed."""
    if workspace is None:
        return []
    files = "".join(f"\n  {f['status']} {f['path']} (+{f['added']} -{f['deleted']})" for f in workspace.files)
    return [
        ("workspace", f"{workspace.outcome or 'working'} (attempt {workspace.attempt}, host {workspace.host})"),
        ("branch", workspace.branch + ("" if workspace.branch_kept or workspace.status == "active" else " (removed)")),
        ("base", f"{workspace.base_ref} ({workspace.base_commit[:10]})"),
        ("note", workspace.note),
        ("files", f"{len(workspace.files)}{files}" if workspace.status == "finished" else None),
    ]


@app.command()
def diff(
    ctx: typer.Context,
    task_id: IdArg,
    stat: Annotated[bool, typer.Option("--stat", help="Only the diff stat.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print the patch of a task's worktree (its commits, as `git am` takes them)."""
    _tasks(ctx).get(task_id)
    workspace = _workspaces(ctx).diff(task_id)
    if as_json:
        print_json(workspace.to_dict(patch=True))
    elif workspace.status != "finished":
        raise Conflict(f"task {task_id} is still working in {workspace.path}")
    elif not workspace.changed:
        typer.echo(f"task {task_id}: {workspace.outcome}")
    else:
        typer.echo(workspace.diff_stat if stat else (workspace.patch or "").rstrip("\n"))


@app.command()
def clean(
    ctx: typer.Context,
    older_than: Annotated[
        Optional[float],
        typer.Option(
            "--older-than", help="Days a finished task's branch is kept [setting worktree_retention_days: 14]."
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Remove this host's orphaned worktrees, and the branches of tasks finished long enough ago."""
    removed = _workspaces(ctx).clean(older_than)
    if as_json:
        print_json([w.to_dict() for w in removed])
        return
    for workspace in removed:
        typer.echo(
            f"task {workspace.task_id}: {workspace.outcome} — "
            f"{'branch removed ' if workspace.branch_removed_at else ''}{workspace.branch}"
        )
    typer.echo(f"removed {len(removed)}")


@app.command()
def cancel(ctx: typer.Context, task_id: IdArg, dry_run: DryRunOpt = False, as_json: JsonFlag = False) -> None:
    """Cancel a queued or running task (its session is aborted); tasks after it die too."""
    if dry_run:
        task = _tasks(ctx).get(task_id)
        if task.status.finished:
            raise Conflict(f"task {task_id} is already {task.status.value}")
        emit(task, as_json, f"would cancel {task.id} ({task.status.value})", dry_run=True)
        return
    task = _tasks(ctx).cancel(task_id)
    emit(task, as_json, f"cancelled {task.id}")


@app.command()
def retry(ctx: typer.Context, task_id: IdArg, as_json: JsonFlag = False) -> None:
    """Requeue a finished task with fresh attempts (and the tasks that died waiting on it)."""
    task = _tasks(ctx).retry(task_id)
    emit(task, as_json, f"requeued {task.id}")


@app.command()
def wait(
    ctx: typer.Context,
    task_ids: Annotated[Optional[list[int]], typer.Argument(help="Task ids.", click_type=ID)] = None,
    convoy: ConvoyOpt = None,
    timeout: Annotated[
        Optional[float], typer.Option(help="Give up after this many seconds.", click_type=SECONDS)
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Wait until tasks (or a convoy) finish. Exit 0 if all are done, 1 if any died or was
    cancelled, 124 on timeout."""
    tasks, finished = _tasks(ctx).wait(task_ids or [], convoy=convoy, timeout=timeout)
    if as_json:
        print_json({"finished": finished, "tasks": [t.to_dict() for t in tasks]})
    else:
        tasks_table(tasks)
    if not finished:
        if not as_json:
            typer.echo(f"timed out after {timeout:g}s", err=True)
        raise typer.Exit(WAIT_TIMED_OUT)
    if any(t.status.value != "done" for t in tasks):
        raise typer.Exit(1)


@app.command("import")
def import_(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A TODO.md file.")],
    runner: RunnerOpt = None,
    role: RoleOpt = None,
    convoy: ConvoyOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Queue the open `- [ ]` lines of a TODO.md, with `blocked-by:` as dependencies.
    Importing the same file again adds only new lines."""
    tasks = import_todo(_tasks(ctx), path, runner=runner, role=role, convoy=convoy)
    print_json([t.to_dict() for t in tasks]) if as_json else tasks_table(tasks, "no open tasks in the file")


def import_todo(
    tasks: Tasks, path: Path, *, runner: str | None = None, role: str | None = None, convoy: str | None = None
) -> list[Task]:
    """Add a TODO file's open items in one transaction, blockers first: all or nothing."""
    items = parse_todo(path)[0]
    source = str(path.resolve())
    by_key: dict[str, Task] = {}
    with tasks.store.transaction(write=True) as tx:
        for item in blockers_first(items, path):
            by_key[item.key] = tasks.add_in(
                tx,
                item.text,
                runner=runner,
                role=role,
                convoy=convoy,
                source="todo",
                after=[by_key[b].id for b in item.blocked_by if b in by_key],
                source_ref=f"{source}#{item.key}",
            )
    return [by_key[item.key] for item in items]
