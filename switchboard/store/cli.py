"""`switchboard db`: the database itself — status, upgrades, and moving to another one."""

from __future__ import annotations

from typing import Annotated

import typer

from switchboard.cliopts import JsonFlag, part_app, settings
from switchboard.output import print_json, print_table
from switchboard.store.core import open_store

app = part_app()


@app.command()
def status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """The database in use: URL, schema version, vector support and row counts."""
    from switchboard.store.migrate import current_version, head
    from switchboard.store.transfer import table_counts

    store = open_store(settings(ctx), migrate=False)
    report = {"database": store.connector.describe(), "dialect": store.dialect,
              "schema_version": current_version(store), "schema_head": head(store.dialect),
              "sqlite_vec": getattr(store.connector, "vec_version", None)}
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
    typer.echo(f"copied {sum(report.rows.values())} rows to {report.target}; "
               f"now set SWITCHBOARD_DATABASE_URL to use it")
