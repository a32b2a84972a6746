"""`switchboard memory`: a thin CLI over `Memory`.

`--namespace` is accepted by every command, after the command name or before it
(`switchboard memory --namespace NS recall ...`); the command's own wins.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from switchboard import validate
from switchboard.errors import InvalidInput
from switchboard.cliopts import (
    COUNT,
    DAYS,
    FRACTION,
    ID,
    Checked,
    DryRunOpt,
    ForceOpt,
    JsonFlag,
    acting,
    part_app,
    settings,
    text_arg,
)
from switchboard.memory.models import MemoryRecord
from switchboard.memory.service import Memory, dump_export, parse_export
from switchboard.output import preview, print_fields, print_json, print_table
from switchboard.progress import bar
from switchboard.timefmt import age, iso

if TYPE_CHECKING:
    from switchboard.memory.embedder import Embedder
    from switchboard.memory.warm import WarmEmbedder

app = part_app()
namespaces_app = part_app("List, rename and delete namespaces.")
app.add_typer(namespaces_app, name="namespaces")
service_app = typer.Typer(no_args_is_help=True, help="The background embedding service (started on demand).")
app.add_typer(service_app, name="service")

_NS_KEY = "switchboard.memory.namespace"
IMPORT_LIMIT = 256 * 1024 * 1024  # bytes of export read at most (vectors included)
TOKENS = Checked("n", lambda value, what: validate.integer(value, what, minimum=50))

IdArg = Annotated[int, typer.Argument(help="Memory id.", click_type=ID)]
NamespaceOpt = Annotated[
    Optional[str], typer.Option("--namespace", "-n", help="Namespace (default: SWITCHBOARD_AGENT, else 'default').")
]
ScopeOpt = Annotated[Optional[str], typer.Option("--namespace", "-n", help="Only this namespace (default: all).")]
ProjectOpt = Annotated[
    Optional[Path], typer.Option("--project", help="The project directory it is about: a scope within the namespace.")
]


@app.callback()
def group(ctx: typer.Context, namespace: NamespaceOpt = None) -> None:
    """Namespaced long-term memory with hybrid (keyword + semantic) recall."""
    if namespace is not None:
        ctx.meta[_NS_KEY] = namespace


def _ns(ctx: typer.Context, namespace: str | None) -> str | None:
    return namespace if namespace is not None else ctx.meta.get(_NS_KEY)


def _memory(ctx: typer.Context) -> Memory:
    def make_embedder() -> Embedder | WarmEmbedder:
        from switchboard.memory import warm
        from switchboard.progress import spinner

        return warm.embedder(settings(ctx), on_wait=lambda: spinner("loading the embedding model"))

    # The embedding service's loaded model embeds for us, started on first need (see warm.py);
    # commands that never embed (list, show, stats, export) do not even import it.
    return Memory.open(settings(ctx), make_embedder=make_embedder)


def _memories_table(memories: list[MemoryRecord], empty: str) -> None:
    now = time.time()
    print_table(
        ["id", "namespace", "type", "tags", "age", "expires", "memory"],
        [
            (
                m.id,
                m.namespace,
                m.type.value,
                ",".join(m.tags),
                age(m.created_at, now),
                ("in " + age(now, m.expires_at) if m.expires_at > now else "expired") if m.expires_at else "",
                preview(m.content),
            )
            for m in memories
        ],
        empty=empty,
    )


def _memory_out(memory: MemoryRecord, as_json: bool) -> None:
    if as_json:
        print_json(memory.to_dict())
        return
    print_fields(
        [
            ("id", memory.id),
            ("namespace", memory.namespace),
            ("type", memory.type.value),
            ("tags", ", ".join(memory.tags) or None),
            ("confidence", memory.confidence.value),
            ("source", memory.source),
            ("project", memory.project),
            ("happened", iso(memory.event_date)),
            (
                "supersedes",
                f"{memory.supersedes} ({memory.relation.value})" if memory.supersedes and memory.relation else None,
            ),
            (
                "accessed",
                f"{memory.access_count} time(s), last {iso(memory.accessed_at)}"
                if memory.accessed_at
                else f"{memory.access_count} time(s)",
            ),
            ("created", iso(memory.created_at)),
            ("updated", iso(memory.updated_at)),
            ("expires", iso(memory.expires_at)),
        ],
        body=memory.content,
    )


@app.command()
def store(
    ctx: typer.Context,
    content: Annotated[str, typer.Option("--content", "-c", help="The memory; '-' reads standard input.")],
    type: Annotated[
        str, typer.Option("--type", "-t", help="WORKING_SOLUTION, DECISION, ERROR_FIX ... (see docs).")
    ] = "WORKING_SOLUTION",
    tags: Annotated[Optional[str], typer.Option(help="Comma-separated tags.")] = None,
    namespace: NamespaceOpt = None,
    confidence: Annotated[str, typer.Option(help="high, medium or low.")] = "medium",
    supersedes: Annotated[Optional[int], typer.Option(help="Id of a memory this one replaces.", click_type=ID)] = None,
    relation: Annotated[
        str, typer.Option(help="How it supersedes: updates (hides the old one), extends, derives.")
    ] = "updates",
    ttl_days: Annotated[
        Optional[float], typer.Option("--ttl-days", help="Forget it after this many days.", click_type=DAYS)
    ] = None,
    source: Annotated[Optional[str], typer.Option(help="Where it came from (a run, a file, a person).")] = None,
    event_date: Annotated[
        Optional[str],
        typer.Option(
            "--event-date", help="When it happened (ISO 8601, e.g. 2026-11-30 or 2026-11-30T14:00Z) [when stored]."
        ),
    ] = None,
    project: ProjectOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Store a memory; storing the same content again merges into the first."""
    text = text_arg(ctx, content, "content")  # before the embedding service is asked for
    result = _memory(ctx).store(
        text,
        namespace=_ns(ctx, namespace),
        type=type,
        tags=tags,
        confidence=confidence,
        supersedes=supersedes,
        relation=relation,
        ttl_days=ttl_days,
        source=source,
        event_date=event_date,
        project=project,
    )
    memory = result.memory
    if as_json:
        print_json(result.to_dict())
    elif result.merged:
        tags = ", ".join(memory.tags) or "-"
        typer.echo(f"already stored: merged into {memory.id} in {memory.namespace} (tags: {tags})")
    else:
        typer.echo(f"stored {memory.id} in {memory.namespace}")


@app.command()
def recall(
    ctx: typer.Context,
    query: Annotated[Optional[str], typer.Option("--query", "-q", help="What to look for, in any words.")] = None,
    recent: Annotated[
        Optional[int],
        typer.Option(
            "--recent", help="Instead of a query: the N most recent memories (as `memory list`).", click_type=COUNT
        ),
    ] = None,
    namespace: NamespaceOpt = None,
    shared: Annotated[bool, typer.Option("--shared", help="Search the shared namespace too.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many.", click_type=COUNT)] = 5,
    type: Annotated[Optional[str], typer.Option("--type", "-t", help="Only memories of this type.")] = None,
    tags: Annotated[Optional[str], typer.Option(help="Only memories with all these tags (comma-separated).")] = None,
    max_age_days: Annotated[
        Optional[float], typer.Option("--max-age-days", help="Only memories this recent.", click_type=DAYS)
    ] = None,
    mode: Annotated[str, typer.Option(help="hybrid, semantic or keyword.")] = "hybrid",
    project: ProjectOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Find the memories that best match a query: keyword and semantic search, fused.
    With --recent N and no query, the N newest memories instead."""
    if (query is None) == (recent is None):
        raise InvalidInput("give --query or --recent")
    if recent is not None:
        if shared or type or tags or max_age_days or project:
            raise InvalidInput("--recent lists the newest memories, with no filters: give --query to filter")
        memories = _memory(ctx).list(_ns(ctx, namespace), recent=recent)
        print_json([m.to_dict() for m in memories]) if as_json else _memories_table(memories, "no memories")
        return
    assert query is not None  # one of --query and --recent, checked above
    result = _memory(ctx).recall(
        query,
        namespace=_ns(ctx, namespace),
        shared=shared,
        limit=limit,
        type=type,
        tags=tags,
        max_age_days=max_age_days,
        mode=mode,
        project=project,
    )
    if as_json:
        print_json(result.to_dict())
        return
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    now = time.time()
    print_table(
        ["id", "score", "found by", "namespace", "type", "age", "memory"],
        [
            (
                h.memory.id,
                f"{h.score:.4f}",
                "+".join(h.found_by),
                h.memory.namespace,
                h.memory.type.value,
                age(h.memory.created_at, now),
                preview(h.memory.content, 70),
            )
            for h in result.hits
        ],
        empty="no memories found",
    )


@app.command()
def context(
    ctx: typer.Context,
    query: Annotated[str, typer.Option("--query", "-q", help="The task to find memories for.")],
    namespace: NamespaceOpt = None,
    budget_tokens: Annotated[
        int, typer.Option("--budget-tokens", help="Size limit, in tokens (about 4 chars).", click_type=TOKENS)
    ] = 1500,
    shared: Annotated[bool, typer.Option("--shared/--no-shared", help="Include the shared namespace.")] = True,
    as_json: JsonFlag = False,
) -> None:
    """The best memories for a task, as a markdown block for an agent's session."""
    text = _memory(ctx).context(_ns(ctx, namespace), query, budget_tokens, shared=shared)
    if as_json:
        print_json({"context": text})
    elif text:
        typer.echo(text, nl=False)
    else:
        typer.echo("no relevant memories", err=True)


@app.command("list")
def list_(
    ctx: typer.Context,
    namespace: NamespaceOpt = None,
    recent: Annotated[int, typer.Option(help="The N most recent.", click_type=COUNT)] = 20,
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A", help="Every namespace.")] = False,
    include_expired: Annotated[bool, typer.Option("--include-expired", help="Expired ones too.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """The most recent memories of a namespace, newest first."""
    memories = _memory(ctx).list(
        _ns(ctx, namespace), recent=recent, all_namespaces=all_namespaces, include_expired=include_expired
    )
    if as_json:
        print_json([m.to_dict() for m in memories])
    else:
        _memories_table(memories, "no memories")


@app.command()
def show(ctx: typer.Context, memory_id: IdArg, as_json: JsonFlag = False) -> None:
    """Show one memory in full."""
    _memory_out(_memory(ctx).get(memory_id), as_json)


@app.command()
def forget(
    ctx: typer.Context,
    memory_ids: Annotated[list[int], typer.Argument(help="Memory ids.", click_type=ID)],
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete memories for good."""
    memory = _memory(ctx)
    gone = [memory.get(i) for i in memory_ids] if dry_run else memory.forget(memory_ids)
    if as_json:
        print_json([{**m.to_dict(), "dry_run": True} if dry_run else m.to_dict() for m in gone])
    else:
        typer.echo("\n".join(f"{'would forget' if dry_run else 'forgot'} {m.id}" for m in gone))


@app.command()
def history(ctx: typer.Context, memory_id: IdArg, as_json: JsonFlag = False) -> None:
    """The supersede chain through a memory, oldest first."""
    chain = _memory(ctx).history(memory_id)
    if as_json:
        print_json([{**m.to_dict(), "depth": depth} for m, depth in chain])
        return
    now = time.time()
    print_table(
        ["", "id", "supersedes", "type", "age", "memory"],
        [
            (
                "→" if m.id == memory_id else "",
                m.id,
                f"{m.supersedes} ({m.relation.value})" if m.supersedes and m.relation else "",
                m.type.value,
                age(m.created_at, now),
                preview(m.content),
            )
            for m, depth in chain
        ],
    )


@app.command()
def latest(ctx: typer.Context, memory_id: IdArg, as_json: JsonFlag = False) -> None:
    """The newest memory in a memory's supersede chain."""
    _memory_out(_memory(ctx).latest(memory_id), as_json)


@app.command()
def stats(ctx: typer.Context, namespace: ScopeOpt = None, as_json: JsonFlag = False) -> None:
    """Counts by namespace and type, vectors by model, and the vector index in use."""
    report = _memory(ctx).stats(_ns(ctx, namespace))
    if as_json:
        print_json(report)
        return
    typer.echo(f"database: {report['database']}")
    typer.echo(f"memories: {report['memories']}   expired: {report['expired']}   superseded: {report['superseded']}")
    typer.echo(
        f"model:    {report['model']}"
        + (f"   ({report['needs_reindex']} need `memory reindex`)" if report["needs_reindex"] else "")
    )
    if report["pending"]:
        typer.echo(f"pending:  {report['pending']} memories wait for their vector (keyword recall finds them)")
    typer.echo(f"index:    {report['index']}")
    print_table(
        ["namespace", "memories", "expired", "newest"],
        [(ns, e["memories"], e["expired"], e["newest"]) for ns, e in report["namespaces"].items()],
        empty="no memories",
    )
    if report["by_type"]:
        print_table(["type", "memories"], report["by_type"].items())


@app.command()
def prune(
    ctx: typer.Context,
    older_than_days: Annotated[
        float, typer.Option("--older-than-days", help="Unused for this many days.", click_type=DAYS)
    ] = 90,
    namespace: ScopeOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Delete expired memories and those unused (not stored again or recalled) for a while."""
    report = _memory(ctx).prune(older_than_days, namespace=_ns(ctx, namespace), dry_run=dry_run)
    if as_json:
        print_json(report.to_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    typer.echo(
        f"{verb} {report.total} memories: {len(report.expired)} expired, "
        f"{len(report.unused)} unused for {older_than_days:g} day(s)"
    )


@app.command()
def consolidate(
    ctx: typer.Context,
    threshold: Annotated[
        float, typer.Option(help="Cosine similarity from which memories merge.", click_type=FRACTION)
    ] = 0.95,
    namespace: ScopeOpt = None,
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Merge near-duplicate memories (by cosine similarity of their vectors)."""
    with bar("comparing memories") as progress:
        groups = _memory(ctx).consolidate(threshold, namespace=_ns(ctx, namespace), dry_run=dry_run, progress=progress)
    if as_json:
        print_json({"groups": [g.to_dict() for g in groups], "merged": not dry_run})
        return
    print_table(
        ["namespace", "keep", "merge", "similarity ≥"],
        [(g.namespace, g.keep, ", ".join(map(str, g.merged)), f"{g.similarity:.3f}") for g in groups],
        empty="no near-duplicates",
    )
    if groups:
        n = sum(len(g.merged) for g in groups)
        typer.echo(f"{'would merge' if dry_run else 'merged'} {n} near-duplicate(s) into {len(groups)} memory(ies)")


@app.command()
def export(
    ctx: typer.Context,
    format: Annotated[str, typer.Option("--format", "-f", help="json or jsonl.")] = "json",
    namespace: ScopeOpt = None,
    vectors: Annotated[bool, typer.Option("--vectors", help="Include vectors (import then skips embedding).")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file, not stdout.")] = None,
) -> None:
    """Export memories as JSON (an array) or JSON lines."""
    chunks = dump_export(_memory(ctx).export(_ns(ctx, namespace), vectors=vectors), format)
    if output is None:
        sys.stdout.writelines(chunks)
        return
    with output.open("w", encoding="utf-8") as fh:
        fh.writelines(chunks)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(help="An export (json or jsonl); '-' reads standard input.")],
    namespace: Annotated[Optional[str], typer.Option("--namespace", "-n", help="Put every memory here.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Import an export: times, counts and supersede links are kept; repeats merge."""
    text = validate.read_file(file, "export", IMPORT_LIMIT)
    records = parse_export(text)
    with bar("importing memories", len(records)) as progress:
        report = _memory(ctx).import_records(records, namespace=_ns(ctx, namespace), progress=progress)
    if as_json:
        print_json(report.to_dict())
        return
    typer.echo(f"imported {report.imported}, merged {report.merged}, skipped {len(report.skipped)}")
    if report.skipped:
        print_table(["record", "id", "reason"], [(s["record"], s["id"], s["reason"]) for s in report.skipped])


@app.command()
def reindex(
    ctx: typer.Context,
    all_memories: Annotated[bool, typer.Option("--all", help="Re-embed every memory, not only stale ones.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Embed memories with the configured model and rebuild the vector index."""
    with bar("embedding memories") as progress:
        report = _memory(ctx).reindex(all_memories=all_memories, progress=progress)
    if as_json:
        print_json(report)
    else:
        typer.echo(f"embedded {report['embedded']} memories with {report['model']}; index: {report['index']}")


@app.command()
def log(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="At most this many entries.", click_type=COUNT)] = 20,
    namespace: ScopeOpt = None,
    as_json: JsonFlag = False,
) -> None:
    """Recent stores and recalls, newest first: what, when, by whom, and how many hits."""
    entries = _memory(ctx).log(limit, namespace=_ns(ctx, namespace))
    if as_json:
        print_json([e.to_dict() for e in entries])
        return
    now = time.time()
    print_table(
        ["when", "action", "namespace", "agent", "memory", "hits", "stored or asked"],
        [
            (
                age(e.at, now) + " ago",
                e.action,
                e.namespace,
                e.agent or "",
                e.memory_id or "",
                "" if e.hits is None else e.hits,
                preview(e.text, 60),
            )
            for e in entries
        ],
        empty="nothing stored or recalled yet",
    )


_PROBLEMS = {
    "fts_missing": "memories missing from the full-text index",
    "fts_extra": "full-text entries with no memory",
    "fts_content": "full-text index disagrees with the memories",
    "vector_orphans": "vectors with no memory",
    "vector_malformed": "vectors whose size is not their dimension",
    "index_mismatch": "memories the vector index holds wrongly",
    "index_missing": "vector dimensions without their HNSW index",
}
_FTS_REBUILT = "rebuilt the full-text index"
_REPAIRS = {
    "fts_missing": _FTS_REBUILT,
    "fts_extra": _FTS_REBUILT,
    "fts_content": _FTS_REBUILT,
    "vector_orphans": "dropped orphan vectors",
    "vector_malformed": "dropped malformed vectors: their memories are pending (the embedding service re-embeds)",
    "index_mismatch": "rebuilt the vector index",
    "index_missing": "created the HNSW index",
}


@app.command("validate")
def validate_(
    ctx: typer.Context,
    repair: Annotated[bool, typer.Option("--repair", help="Fix what can be fixed, and say what was done.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Check that the full-text index, the vectors and the vector index agree with the
    memories. Exits 1 while problems remain."""
    report = _memory(ctx).validate(repair=repair)
    if as_json:
        print_json(report.to_dict())
    else:
        print_table(
            ["problem", "found", "left"], [(_PROBLEMS[k], n, report.remaining[k]) for k, n in report.problems.items()]
        )
        for kind, n in report.repaired.items():
            typer.echo(f"repaired {n} ({_PROBLEMS[kind]}): {_REPAIRS[kind]}")
        if report.pending:
            typer.echo(f"pending: {report.pending} memories wait for their vector (keyword recall finds them)")
        typer.echo("ok" if report.ok else "problems remain" + ("" if repair else ": run with --repair"))
    if not report.ok:
        raise typer.Exit(1)


@namespaces_app.command("list")
def namespaces_list(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Every namespace with its number of memories."""
    rows = _memory(ctx).namespaces()
    if as_json:
        print_json(rows)
    else:
        print_table(
            ["namespace", "memories", "latest"],
            [(r["namespace"], r["memories"], r["latest"]) for r in rows],
            empty="no namespaces",
        )


@namespaces_app.command("rename")
def namespaces_rename(
    ctx: typer.Context,
    old: Annotated[str, typer.Argument(help="Current name.")],
    new: Annotated[str, typer.Argument(help="New name; memories it already holds merge.")],
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Rename a namespace (or merge it into another)."""
    if dry_run:
        held = {r["namespace"]: r["memories"] for r in _memory(ctx).namespaces()}
        report = {"old": old, "new": new, "memories": held.get(old, 0), "new_holds": held.get(new, 0), "renamed": False}
        if as_json:
            print_json(report)
        else:
            typer.echo(
                f"would rename {old} to {new}: {report['memories']} memories"
                + (f" into the {report['new_holds']} it holds (repeats merge)" if report["new_holds"] else "")
            )
        return
    report = _memory(ctx).rename_namespace(old, new)
    if as_json:
        print_json(report)
    else:
        typer.echo(f"renamed {old} to {new}: {report['moved']} moved, {report['merged']} merged")


@namespaces_app.command("prune")
def namespaces_prune(
    ctx: typer.Context, force: ForceOpt = False, dry_run: DryRunOpt = False, as_json: JsonFlag = False
) -> None:
    """Report the namespaces no runner or mailbox agent owns (left by destroyed runners,
    deregistered agents); with --force, delete them and their memories. shared and default stay."""
    from switchboard.mailbox import Mailbox
    from switchboard.runners import Runners

    force = acting(force, dry_run)
    config = settings(ctx)
    owners = {r.name for r, _n, _last in Runners.open(config).list()} | {a.name for a in Mailbox.open(config).agents()}
    orphans = _memory(ctx).prune_namespaces(owners, dry_run=not force)
    if as_json:
        print_json({"namespaces": orphans, "deleted": force})
    elif not orphans:
        typer.echo("no namespace without an owner")
    else:
        listed = ", ".join(f"{ns} ({n} memories)" for ns, n in orphans.items())
        typer.echo(f"deleted {listed}" if force else f"would delete {listed}: run again with --force")


@namespaces_app.command("delete")
def namespaces_delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The namespace.")],
    force: ForceOpt = False,
    dry_run: DryRunOpt = False,
    as_json: JsonFlag = False,
) -> None:
    """Report a namespace's memories; with --force, delete it and every memory in it."""
    force = acting(force, dry_run)
    count = _memory(ctx).delete_namespace(name, dry_run=not force)
    if as_json:
        print_json({"namespace": name, "memories": count, "deleted": force})
    elif force:
        typer.echo(f"deleted namespace {name} ({count} memories)")
    else:
        typer.echo(f"would delete namespace {name} ({count} memories): run again with --force")


@service_app.command("status")
def service_status(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Whether the embedding service runs, its model, idle time and peak memory."""
    from switchboard.memory import embedservice

    report = embedservice.status(settings(ctx))
    if as_json:
        print_json(report)
    elif not report["running"]:
        typer.echo(
            f"not running (starts on the next memory command that embeds; idle exit after "
            f"{report['idle_timeout_minutes']:g} min)" + ("" if report["enabled"] else "; turned off")
        )
    else:
        print_fields(
            [
                ("pid", report.get("pid")),
                ("model", report.get("model")),
                ("loaded", report.get("loaded")),
                ("socket", report["socket"]),
                ("started", iso(report.get("started_at"))),
                ("idle", f"{report.get('idle_seconds', 0):g}s"),
                ("idle exit", f"after {report['idle_timeout_minutes']:g} min"),
                ("peak RSS", f"{report.get('peak_rss_mb')} MB"),
                ("error", report.get("error")),
            ]
        )


@service_app.command("stop")
def service_stop(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Stop the embedding service (the next memory command that embeds starts it again)."""
    from switchboard.memory import embedservice

    state = embedservice.stop(settings(ctx))
    if as_json:
        print_json({"stopped": state is not None, "pid": (state or {}).get("pid")})
    elif state is None:
        typer.echo("not running")
    else:
        typer.echo(f"stopped the embedding service (pid {state.get('pid')})")
