"""`switchboard cron`: recurring tasks, fired by the coordinator."""

from __future__ import annotations

import time
from typing import Annotated, Optional

import typer

from switchboard.cliopts import DryRunOpt, JsonFlag, part_app, settings
from switchboard.coordinator.schedules import Schedules
from switchboard.output import emit, preview, print_json, print_table
from switchboard.timefmt import age, iso

app = part_app()

NameArg = Annotated[str, typer.Argument(help="Schedule name.")]


def _schedules(ctx: typer.Context) -> Schedules:
    return Schedules.open(settings(ctx))


@app.command()
def add(
    ctx: typer.Context,
    schedule: Annotated[str, typer.Option("--schedule", help=(
        "Cron expression in UTC: five fields, minute hour day-of-month month day-of-week, e.g. "
        "'*/5 * * * *'; a sixth field is seconds, first: '30 */5 * * * *'; or @daily, @hourly ..."))],
    task: Annotated[str, typer.Option("--task", help="The prompt each run queues.")],
    runner: Annotated[Optional[str], typer.Option(help="Run it on this runner.")] = None,
    role: Annotated[Optional[str], typer.Option(help="Run it on any runner with this role.")] = None,
    name: Annotated[Optional[str], typer.Option(help="Schedule name [job-N].")] = None,
    catch_up: Annotated[str, typer.Option("--catch-up", help="Runs missed while stopped: 'once' or 'skip'.")] = "once",
    as_json: JsonFlag = False,
) -> None:
    """Add a schedule."""
    added = _schedules(ctx).add(schedule, task, name=name, runner=runner, role=role, catch_up=catch_up)
    emit(added, as_json, f"added {added.name}; next run {iso(added.next_run_at)}")


@app.command("list")
def list_(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List schedules."""
    rows = _schedules(ctx).list()
    if as_json:
        print_json([s.to_dict() for s in rows])
        return
    now = time.time()
    print_table(["name", "schedule", "status", "runner", "next run", "last run", "task"],
                [(s.name, s.schedule, s.status, s.runner or (f"role:{s.role}" if s.role else "any"),
                  iso(s.next_run_at), age(s.last_run_at, now) + " ago" if s.last_run_at else "-",
                  preview(s.prompt, 40)) for s in rows], empty="no schedules")


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
