"""`switchboard cron`: recurring tasks, fired by the coordinator."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from switchboard.cliopts import COUNT, POSITIVE_SECONDS, DryRunOpt, JsonFlag, part_app, settings
from switchboard.coordinator.models import Task
from switchboard.coordinator.schedules import Schedules
from switchboard.output import emit, preview, print_fields, print_json, print_table
from switchboard.timefmt import age, iso

app = part_app()

NameArg = Annotated[str, typer.Argument(help="Schedule name.")]


def _schedules(ctx: typer.Context) -> Schedules:
    return Schedules.open(settings(ctx))


@app.command()
def add(
    ctx: typer.Context,
    schedule: Annotated[
        str,
        typer.Option(
            "--schedule",
            help=(
                "Cron expression in UTC: five fields, minute hour day-of-month month day-of-week, e.g. "
                "'*/5 * * * *'; a sixth field is seconds, first: '30 */5 * * * *'; or @daily, @hourly ..."
            ),
        ),
    ],
    task: Annotated[str, typer.Option("--task", help="The prompt each run queues.")],
    runner: Annotated[Optional[str], typer.Option(help="Run it on this runner.")] = None,
    role: Annotated[Optional[str], typer.Option(help="Run it on any runner with this role.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Schedule name [job-N].")] = None,
    catch_up: Annotated[str, typer.Option("--catch-up", help="Runs missed while stopped: 'once' or 'skip'.")] = "once",
    timeout: Annotated[
        Optional[float], typer.Option(help="Seconds each run may take [runner's].", click_type=POSITIVE_SECONDS)
    ] = None,
    workdir: Annotated[Optional[Path], typer.Option(help="Directory the runs work in [runner's].")] = None,
    model: Annotated[
        Optional[str], typer.Option("--model", "-m", help="provider/model of the runs [runner's].")
    ] = None,
    notify: Annotated[
        Optional[str], typer.Option(help="Mail this agent each run's report (beside coordinator).")
    ] = None,
    paused: Annotated[bool, typer.Option("--paused", help="Add it paused: it fires once resumed.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Add a schedule."""
    added = _schedules(ctx).add(
        schedule,
        task,
        name=name,
        runner=runner,
        role=role,
        catch_up=catch_up,
        timeout=timeout,
        workdir=str(workdir) if workdir else None,
        model=model,
        notify=notify,
        paused=paused,
    )
    emit(
        added,
        as_json,
        f"added {added.name} (paused)" if paused else f"added {added.name}; next run {iso(added.next_run_at)}",
    )


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List schedules."""
    rows = _schedules(ctx).list()
    if as_json:
        print_json([s.to_dict() for s in rows])
        return
    now = time.time()
    print_table(
        ["name", "schedule", "status", "runner", "next run", "last run", "task"],
        [
            (
                s.name,
                s.schedule,
                s.status,
                s.runner or (f"role:{s.role}" if s.role else "any"),
                iso(s.next_run_at),
                age(s.last_run_at, now) + " ago" if s.last_run_at else "-",
                preview(s.prompt, 40),
            )
            for s in rows
        ],
        empty="no schedules",
    )


@app.command()
def remove(ctx: typer.Context, name: NameArg, dry_run: DryRunOpt = False, as_json: JsonFlag = False) -> None:
    """Remove a schedule (its queued tasks stay)."""
    if dry_run:
        schedule = _schedules(ctx).get(name)
        emit(schedule, as_json, f"would remove {schedule.name}", dry_run=True)
        return
    removed = _schedules(ctx).remove(name)
    emit(removed, as_json, f"removed {removed.name}")


@app.command()
def pause(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Stop firing a schedule until it is resumed."""
    paused = _schedules(ctx).pause(name)
    emit(paused, as_json, f"paused {paused.name}")


@app.command()
def resume(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Fire a paused schedule again, from its next time on."""
    resumed = _schedules(ctx).resume(name)
    emit(resumed, as_json, f"resumed {resumed.name}; next run {iso(resumed.next_run_at)}")


@app.command()
def run(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """Queue a schedule's task now, outside its timetable."""
    task = _schedules(ctx).run(name)
    emit(task, as_json, task.id)


def _runs_table(tasks: list[Task]) -> None:
    now = time.time()
    print_table(
        ["task", "status", "runner", "started", "took", "outcome"],
        [
            (
                t.id,
                t.status.value,
                t.assigned_runner or t.target,
                age(t.started_at, now) + " ago" if t.started_at else "-",
                f"{t.finished_at - t.started_at:.1f}s" if t.finished_at and t.started_at else "-",
                preview(t.error if t.error and t.status.value != "done" else (t.result or ""), 50),
            )
            for t in tasks
        ],
        empty="no runs yet",
    )


@app.command()
def logs(
    ctx: typer.Context,
    name: NameArg,
    limit: Annotated[int, typer.Option(help="At most this many runs.", click_type=COUNT)] = 20,
    as_json: JsonFlag = False,
) -> None:
    """A schedule's runs, newest first: each task it queued and how it ended
    (`task show ID` and `runner logs` have the detail)."""
    runs = _schedules(ctx).logs(name, limit)
    print_json([t.to_dict() for t in runs]) if as_json else _runs_table(runs)


@app.command()
def status(ctx: typer.Context, name: NameArg, as_json: JsonFlag = False) -> None:
    """A schedule: its settings, next run, last runs and failures."""
    schedule, runs, failures = _schedules(ctx).status(name)
    if as_json:
        print_json({**schedule.to_dict(), "failures": failures, "runs": [t.to_dict() for t in runs]})
        return
    print_fields(
        [
            ("schedule", schedule.name),
            ("when", schedule.schedule),
            ("status", schedule.status),
            ("runner", schedule.runner or (f"role:{schedule.role}" if schedule.role else "any")),
            ("next run", iso(schedule.next_run_at) if schedule.status == "active" else "(paused)"),
            ("last run", iso(schedule.last_run_at)),
            ("last status", runs[0].status.value if runs else None),
            ("failures", failures),
            ("timeout", f"{schedule.timeout_seconds:g}s" if schedule.timeout_seconds else None),
            ("model", schedule.model),
            ("workdir", schedule.workdir),
            ("notify", schedule.notify),
            ("task", schedule.prompt),
        ]
    )
    _runs_table(runs)
