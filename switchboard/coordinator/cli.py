"""`switchboard coordinator`: start, stop and watch the coordinator."""

from __future__ import annotations

import time
from typing import Annotated, Any, Optional

import typer

from switchboard.cliopts import (
    COUNT,
    COUNT0,
    POSITIVE_SECONDS,
    SECONDS,
    JsonFlag,
    LogLevelOpt,
    QuietOpt,
    VerboseOpt,
    part_app,
    settings,
    setup_logging,
)
from switchboard import validate
from switchboard.config import Settings
from switchboard.coordinator import daemon
from switchboard.errors import InvalidInput
from switchboard.output import console, print_json

app = part_app()

GRACE = 30.0


def _model_limits(values: Optional[list[str]]) -> dict[str, int]:
    limits = {}
    for value in values or []:
        model, sep, number = value.rpartition("=")
        if not sep or not model:
            raise InvalidInput(f"--model-limit takes provider/model=N, got {value!r}")
        limits[model] = validate.integer(number, "--model-limit N")
    return limits


@app.command()
def start(
    ctx: typer.Context,
    foreground: Annotated[bool, typer.Option("--foreground", help="Run here (for systemd and supervisors).")] = False,
    concurrency: Annotated[int, typer.Option(help="Tasks in flight at once.", click_type=COUNT)] = 4,
    attach: Annotated[
        Optional[list[str]],
        typer.Option("--attach", envvar=daemon.ATTACH_ENV, help="OpenCode server URL (repeatable) [managed]."),
    ] = None,
    model_limit: Annotated[
        Optional[list[str]], typer.Option("--model-limit", help="provider/model=N: at most N tasks on that model.")
    ] = None,
    grace: Annotated[
        float, typer.Option(help="Seconds in-flight work may take to finish at stop.", click_type=SECONDS)
    ] = GRACE,
    lease: Annotated[
        float,
        typer.Option(help="Seconds before another coordinator may take over a task.", click_type=POSITIVE_SECONDS),
    ] = 30.0,
    no_memory: Annotated[
        bool, typer.Option("--no-memory", help="Do not store outcome memories, nor load the embedding model at start.")
    ] = False,
    keep_sessions: Annotated[
        bool,
        typer.Option(
            "--keep-sessions", help="Keep finished tasks' sessions on the server [default: setting keep_sessions]."
        ),
    ] = False,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = 0,
    log_level: LogLevelOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Start the coordinator in the background (or in the foreground)."""
    level = setup_logging(verbose, quiet, log_level)
    options: dict[str, Any] = {
        "concurrency": concurrency,
        "attach": attach or [],
        "model_limits": _model_limits(model_limit),
        "lease": lease,
        "remember": not no_memory,
        "keep_sessions": keep_sessions or None,
    }
    if foreground:
        from switchboard.hooks import delivery  # webhooks, delivered beside the loop

        daemon.run_foreground(settings(ctx), grace=grace, companions=[delivery.run], **options)
        return
    argv = [f"--concurrency={concurrency}", f"--grace={grace}", f"--lease={lease}", f"--log-level={level}"]
    argv += [f"--model-limit={m}" for m in model_limit or []]
    argv += ["--no-memory"] if no_memory else []
    argv += ["--keep-sessions"] if keep_sessions else []
    state = daemon.start_background(settings(ctx), argv, attach=attach)
    if as_json:
        print_json(state)
    else:
        typer.echo(f"coordinator started (pid {state['pid']}); log: {daemon.log_path(settings(ctx))}")


@app.command()
def stop(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Stop the coordinator: it takes no new work and lets work in flight finish."""
    state = daemon.stop_background(settings(ctx))
    if as_json:
        print_json({"stopped": state is not None, "pid": state["pid"] if state else None})
    else:
        typer.echo(f"coordinator (pid {state['pid']}) stopped" if state else "no coordinator is running")


@app.command()
def status(
    ctx: typer.Context,
    watch: Annotated[bool, typer.Option("--watch", help="Keep refreshing until Ctrl-C.")] = False,
    until_done: Annotated[
        bool, typer.Option("--until-done", help="With --watch: stop when no task is queued or running.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """The coordinator, the runners, and the tasks in flight."""
    from switchboard.coordinator.view import snapshot, render

    config = settings(ctx)
    if as_json:
        print_json(snapshot(config))
        return
    if not watch:
        console().print(render(snapshot(config)))
        return
    from rich.live import Live

    with Live(render(snapshot(config)), console=console(), refresh_per_second=2, screen=False) as live:
        try:
            while True:
                time.sleep(1.0)
                current = snapshot(config)
                live.update(render(current))
                if until_done and not (current["tasks"].get("queued") or current["tasks"].get("running")):
                    break
        except KeyboardInterrupt:
            pass
    typer.echo()


@app.command()
def logs(
    ctx: typer.Context,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
    tail: Annotated[int, typer.Option(help="Lines to show first.", click_type=COUNT0)] = 50,
    as_json: JsonFlag = False,
) -> None:
    """Show the coordinator's log."""
    path = daemon.log_path(settings(ctx))
    if not path.exists():
        raise InvalidInput(f"no coordinator log yet at {path}")
    lines = path.read_text(errors="replace").splitlines()
    if as_json:
        print_json({"log": str(path), "lines": lines[-tail:] if tail else []})
        return
    for line in lines[-tail:] if tail else []:
        typer.echo(line)
    if follow:
        _follow(path)


def _follow(path: Any) -> None:
    with path.open(errors="replace") as fh:
        fh.seek(0, 2)
        try:
            while True:
                line = fh.readline()
                if line:
                    typer.echo(line.rstrip("\n"))
                else:
                    time.sleep(0.3)
        except KeyboardInterrupt:
            pass


@app.command()
def pulse(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(help="Tasks in flight at once.", click_type=COUNT)] = 4,
    attach: Annotated[Optional[list[str]], typer.Option("--attach", help="OpenCode server URL (repeatable).")] = None,
    as_json: JsonFlag = False,
) -> None:
    """One pass of the loop (for cron): collect finished sessions, take in mail and
    schedules, start ready tasks. Sessions keep running on the server between passes."""
    report = run_pulse(settings(ctx), concurrency=concurrency, attach=attach or [])
    if as_json:
        print_json(report)
    else:
        typer.echo(", ".join(f"{k} {v}" for k, v in report.items()))


def run_pulse(config: Settings, **options: Any) -> dict[str, int]:
    import anyio

    from switchboard.coordinator.loop import Coordinator

    async def once() -> dict[str, int]:
        coordinator = Coordinator(config, **options)
        try:
            return (await coordinator.pulse()).to_dict()
        finally:
            await coordinator.pool.aclose()

    return anyio.run(once)
