"""`switchboard db`: the database itself — status, upgrades, and moving to another one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from switchboard.cliopts import AGE, DryRunOpt, JsonFlag, part_app, settings
from switchboard.output import print_json, print_table
from switchboard.store.opening import open_store

app = part_app()


@app.command()
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The database in use: URL, schema version, vector support and row counts."""
    from switchboard.store.migrate import current_version, head
    from switchboard.store.transfer import table_counts

    store = open_store(settings(ctx), migrate=False)
    report: dict[str, Any] = {
        "database": store.connector.describe(),
        "dialect": store.dialect,
        "schema_version": current_version(store),
        "schema_head": head(store.dialect),
        "sqlite_vec": getattr(store.connector, "vec_version", None),
    }
    if report["schema_version"] == report["schema_head"]:
        report["rows"] = table_counts(store)
    if as_json:
        print_json(report)
        return
    for key in ("database", "dialect", "schema_version", "schema_head", "sqlite_vec"):
        typer.echo(f"{key + ':':<16}{report[key] if report[key] is not None else '-'}")
    if "rows" in report:
        print_table(["table", "rows"], report["rows"].items())


@app.command()
def prune(
    ctx: typer.Context,
    older_than: Annotated[
        Optional[float],
        typer.Option("--older-than", help="Age such as 30d, 12h, 2w [setting retention_days: 30].", click_type=AGE),
    ] = None,
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Remove the run logs, outcome memories and handled mail of work settled before the horizon."""
    from switchboard.coordinator.retention import Retention

    config = settings(ctx)
    report = Retention(open_store(config), config).prune(older_than, dry_run=dry_run)
    if as_json:
        print_json(report.to_dict())
        return
    verb = "would remove" if dry_run else "removed"
    mail = report.to_dict()["mail_total"]
    typer.echo(
        f"{verb} {report.run_logs} run log(s), {report.memories} outcome memory(ies) and {mail} "
        f"handled message(s) from before {report.to_dict()['cutoff']}"
    )


@app.command()
def init(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Create the database (and its schema) explicitly: first use does it too, but a SQLite
    file the home has used before is never re-created silently once it is gone."""
    from switchboard.store.migrate import current_version

    store = open_store(settings(ctx), create=True)
    report = {"database": store.connector.describe(), "schema_version": current_version(store)}
    if as_json:
        print_json(report)
    else:
        typer.echo(f"database {report['database']} ready (schema version {report['schema_version']})")


@app.command()
def check(
    ctx: typer.Context,
    quick: Annotated[bool, typer.Option("--quick", help="SQLite's quick_check: faster, skips index contents.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check the database for damage (SQLite: PRAGMA integrity_check; PostgreSQL: every
    table reads). One line: ok, or what is wrong (exit 2)."""
    from switchboard.store.integrity import verdict

    store = open_store(settings(ctx), migrate=False)
    report = verdict(store, quick=quick)  # raises DatabaseCorrupt when damaged
    if as_json:
        print_json(report)
    else:
        typer.echo(f"database {report['database']}: ok ({report['check']})")


@app.command()
def backup(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The new file to write the copy to (must not exist).")],
    as_json: JsonFlag = False,
) -> None:
    """A consistent copy of the SQLite database, taken while it is in use (SQLite's backup
    API). For PostgreSQL, use pg_dump."""
    from switchboard.store.integrity import backup as take_backup

    report = take_backup(open_store(settings(ctx), migrate=False), path)
    if as_json:
        print_json(report)
    else:
        typer.echo(f"backed up {report['database']} to {report['backup']} ({report['bytes']} bytes)")


@app.command()
def upgrade(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Create or upgrade the schema now (every command also does this on first use)."""
    from switchboard.store.migrate import current_version, ensure_current

    store = open_store(settings(ctx), migrate=False)
    before = current_version(store)
    ensure_current(store)
    after = current_version(store)
    if as_json:
        print_json({"database": store.connector.describe(), "from": before, "to": after})
    else:
        typer.echo(f"schema version {before} -> {after}" if after != before else f"schema is current ({after})")


@app.command("migrate-to")
def migrate_to(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(help="The new, empty database, e.g. postgresql+psycopg://user@host/db.")],
    as_json: JsonFlag = False,
) -> None:
    """Copy everything (mail, memory, runners, runs, tasks, schedules) into a new database,
    all or nothing. Then point SWITCHBOARD_DATABASE_URL at it."""
    from switchboard.progress import bar
    from switchboard.store.transfer import transfer

    config = settings(ctx)
    source = open_store(config)
    target = open_store(config.with_overrides(database_url=url))
    with bar("copying rows") as progress:
        report = transfer(source, target, progress=progress)
    if as_json:
        print_json(report.to_dict())
        return
    print_table(["table", "rows copied"], report.rows.items())
    typer.echo(
        f"copied {sum(report.rows.values())} rows to {report.target}; now set SWITCHBOARD_DATABASE_URL to use it"
    )
