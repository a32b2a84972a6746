"""The reference helpers' output lines, made from switchboard's `--json` output.

The wrappers run `python -m switchboard.compat.render KIND [ARGS...]` with one or
more JSON documents on standard input. Scripts written for the reference parse
these lines (ids, `Total:` counts, TOON blocks, table columns), so their shapes
follow the reference; the ids carry its prefixes (`msg-12`, `mem_7`, `run-3`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

PRIORITY_ORDER = {"urgent": 0, "high": 0, "normal": 1, "low": 2}


def documents(text: str) -> list[Any]:
    """Every JSON document in `text`, which holds them one after another."""
    decoder, at = json.JSONDecoder(), 0
    found: list[Any] = []
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return found
        value, at = decoder.raw_decode(text, at)
        found.append(value)


def stamp(iso: str | None) -> str:
    """switchboard's ISO times in the reference's form, 2026-01-31T12:00:00Z."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).strftime("%Y-%m-%dT%H:%M:%SZ")


def _toon(header: str, rows: list[str]) -> list[str]:
    return [f"<!--TOON:{header}:", *rows, "-->"]


# --- mail ---------------------------------------------------------------------


def _inbox(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reference's inbox order: archived left out, most urgent first, then newest."""
    kept = [m for m in messages if m["status"] != "archived"]
    return sorted(kept, key=lambda m: (PRIORITY_ORDER.get(m["priority"], 1), -m["id"]))


def mail_check(docs: list[Any], agent: str, unread_only: str) -> list[str]:
    inbox = _inbox(docs[0])
    unread = [m for m in inbox if m["status"] == "unread"]
    shown = unread if unread_only == "true" else inbox
    rows = [
        f"msg-{m['id']},{m['from_agent']},{m['type']},{m['priority']},{m['convoy'] or 'none'},"
        f"{stamp(m['created_at'])},{m['status']}"
        for m in shown
    ]
    return [
        *_toon("inbox{id,from,type,priority,convoy,timestamp,status}", rows),
        "",
        f"Total: {len(inbox)} messages ({len(unread)} unread) for {agent}",
    ]


def mail_read(docs: list[Any]) -> list[str]:
    m = docs[0]
    row = (
        f"msg-{m['id']},{m['from_agent']},{m['to_agent']},{m['type']},{m['priority']},"
        f"{m['convoy'] or 'none'},{stamp(m['created_at'])},read"
    )
    return [*_toon("message{id,from,to,type,priority,convoy,timestamp,status}", [row]), "", m["payload"]]


def mail_status_agent(docs: list[Any], agent: str) -> list[str]:
    inbox = _inbox(docs[0])
    unread = sum(m["status"] == "unread" for m in inbox)
    return [f"Agent: {agent}", f"  Inbox: {len(inbox)} messages ({unread} unread)"]


def _agent_row(a: dict[str, Any], *fields: str) -> str:
    values = {
        "id": a["name"],
        "role": a["role"],
        "branch": "",
        "worktree": "",
        "status": a["status"],
        "registered": stamp(a["registered_at"]),
        "last_seen": stamp(a["last_seen_at"]),
    }
    return ",".join(values[f] for f in fields)


def _newest_seen(agents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(agents, key=lambda a: a["last_seen_at"], reverse=True)


def mail_status(docs: list[Any]) -> list[str]:
    counts, agents = docs
    by_status = counts["by_status"]
    unread, read, archived = (by_status.get(s, 0) for s in ("unread", "read", "archived"))
    active = counts["agents"]["active"]
    lines = [
        *_toon("mail_status{inbox,outbox,archive,agents}", [f"{unread + read},0,{archived},{active}"]),
        "",
        "Mailbox Status:",
        f"  Active:   {unread + read} messages ({unread} unread, {read} read)",
        f"  Archived: {archived} messages",
        f"  Agents:   {active} active",
    ]
    if agents:
        fields = ("id", "role", "branch", "status", "registered", "last_seen")
        lines += [
            "",
            "Registered Agents:",
            *_toon(
                "agents{id,role,branch,status,registered,last_seen}",
                [_agent_row(a, *fields) for a in _newest_seen(agents)],
            ),
        ]
    return lines


def mail_agents(docs: list[Any], active_only: str) -> list[str]:
    agents = _newest_seen(docs[0])
    if active_only == "true":
        return [
            "Active Agents:",
            *(
                f"  {a['name']} ({a['role']}) on unknown - last seen: {stamp(a['last_seen_at'])}"
                for a in agents
                if a["status"] == "active"
            ),
        ]
    fields = ("id", "role", "branch", "worktree", "status", "registered", "last_seen")
    return _toon(
        "agents{id,role,branch,worktree,status,registered,last_seen}", [_agent_row(a, *fields) for a in agents]
    )


def mail_prune(docs: list[Any], days: str) -> list[str]:
    counts, report = docs
    by_status = counts["by_status"]
    if report["deleted"]:
        return [f"[MAIL] Pruned {report['total']} messages ({report['remembered']} captured to memory)"]
    lines = [
        "Mailbox Storage Report",
        "======================",
        "",
        f"  Database:    {counts['database']}",
        f"  Messages:    {counts['messages']} total",
        *(f"    {s.capitalize() + ':':<10} {by_status.get(s, 0)}" for s in ("unread", "read", "archived")),
        "",
        "  By type:",
        *(f"    {t}: {n}" for t, n in counts["by_type"].items()),
        "",
        f"  Prunable (older than {days}d): {report['total']} messages",
        "",
    ]
    if report["total"]:
        return [
            *lines,
            "  To delete prunable messages:  mail-helper.sh prune --force",
            "  To change threshold:          mail-helper.sh prune --older-than-days 30 --force",
        ]
    return [*lines, f"  Nothing to prune. All messages are within the {days}-day window."]


# --- memory -------------------------------------------------------------------


def mem_store(docs: list[Any]) -> list[str]:
    memory = docs[0]
    if memory["merged"]:
        return [f"[WARN] Duplicate detected (matches mem_{memory['id']}). Skipping store.", f"mem_{memory['id']}"]
    return [f"[OK] Stored learning: mem_{memory['id']}", f"mem_{memory['id']}"]


def _reference_record(m: dict[str, Any], score: float | None = None) -> dict[str, Any]:
    """A memory as the reference's `recall --json` gives it."""
    record = {
        "id": f"mem_{m['id']}",
        "content": m["content"],
        "type": m["type"],
        "tags": ",".join(m["tags"]),
        "confidence": m["confidence"],
        "created_at": stamp(m["created_at"]),
        "last_accessed_at": stamp(m["accessed_at"]),
        "access_count": m["access_count"],
        "namespace": m["namespace"],
    }
    if score is not None:
        record["score"] = score
    return record


def _entries(records: list[dict[str, Any]]) -> list[str]:
    lines = []
    for r in records:
        score = f"{r['score']:.4f}" if "score" in r else "N/A"
        lines += [
            f"[{r['type']}] ({r['confidence']}) - Score: {score}",
            f"  {r['content']}",
            f"  Tags: {r['tags']}",
            f"  Created: {r['created_at']} | Accessed: {r['access_count']}x",
            "",
        ]
    return lines


def _json_lines(records: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(records, indent=2, ensure_ascii=False)]


def mem_recall(docs: list[Any], query: str, namespace: str, fmt: str) -> list[str]:
    hits = [_reference_record(h, h["score"]) for h in docs[0]["hits"]]
    if fmt == "json":
        return _json_lines(hits)
    if not hits:
        return [f"[WARN] No results found for: {query}"]
    suffix = f" [namespace: {namespace}]" if namespace else ""
    own = [h for h in hits if not namespace or h["namespace"] == namespace]
    shared = [h for h in hits if namespace and h["namespace"] != namespace]
    lines = ["", f'=== Memory Recall: "{query}"{suffix} ===', "", *_entries(own)]
    if shared:
        lines += ["", "--- Shared (global) results ---", "", *_entries(shared)]
    return lines


def mem_recent(docs: list[Any], count: str, fmt: str) -> list[str]:
    records = [_reference_record(m) for m in docs[0]]
    if fmt == "json":
        return _json_lines(records)
    return ["", f"=== Recent Memories (last {count}) ===", "", *_entries(records)]


def mem_stats(docs: list[Any], namespace: str) -> list[str]:
    stats = docs[0]
    suffix = f" [namespace: {namespace}]" if namespace else ""
    return [
        "",
        f"=== Memory Statistics{suffix} ===",
        "",
        f"Total learnings|{stats['memories']}",
        *(f"By type: {t}|{n}" for t, n in stats["by_type"].items()),
        f"Superseded|{stats['superseded']}",
        f"Expired|{stats['expired']}",
    ]


def mem_prune(docs: list[Any]) -> list[str]:
    report = docs[0]
    if not report["total"]:
        return ["[OK] No entries to prune"]
    if not report["deleted"]:
        return [f"[INFO] [DRY RUN] Would delete {report['total']} entries"]
    return [f"[OK] Pruned {report['total']} stale entries"]


def mem_namespaces(docs: list[Any], fmt: str) -> list[str]:
    counts = {r["namespace"]: r["memories"] for r in docs[0]}
    shared = counts.pop("shared", 0)
    if fmt == "json":
        return _json_lines([{"namespace": ns, "entries": n} for ns, n in sorted(counts.items())])
    return [
        "",
        "=== Memory Namespaces ===",
        "",
        f"  {'(global)':<25} {shared} entries",
        *(f"  {ns:<25} {n} entries" for ns, n in sorted(counts.items())),
        "",
    ]


def mem_history(docs: list[Any], memory_id: str) -> list[str]:
    lines = ["", f"=== Version History for mem_{memory_id} ===", ""]
    for m in docs[0]:
        relation = f"[{m['relation']}] mem_{m['supersedes']} <- " if m["supersedes"] else ""
        marker = "Current: " if str(m["id"]) == memory_id else ""
        lines += [
            f"{marker}{relation}mem_{m['id']}",
            f"  [{m['type']}] {m['content'][:80]}...",
            f"  Created: {stamp(m['created_at'])}",
        ]
    return lines


def mem_id(docs: list[Any]) -> list[str]:
    return [f"mem_{docs[0]['id']}"]


# --- runners ------------------------------------------------------------------


def _folder(name: str) -> str:
    from switchboard.config import Settings

    return str(Settings.load().home / "runners" / name)


def runner_created(docs: list[Any]) -> list[str]:
    r = docs[0]
    return [
        "",
        f"Directory: {_folder(r['name'])}",
        f"Model: {r['model'] or '(server default)'}",
        "",
        "Next steps:",
        f"  1. Edit instructions: runner-helper.sh edit {r['name']}",
        f'  2. Test run: runner-helper.sh run {r["name"]} "your prompt"',
    ]


def runner_run(docs: list[Any], fmt: str) -> list[str]:
    """The answer on standard output; the reference's run log lines on standard error."""
    run = docs[0]
    seconds = round(run["duration_seconds"] or 0)
    outcome = (
        f"Run complete ({seconds}s)"
        if run["status"] == "success"
        else f"Run failed after {seconds}s ({run['status']}: {run['error']})"
    )
    sys.stderr.write(f"[RUNNER] Run ID: run-{run['id']}\n[RUNNER] {outcome}\n")
    return [run["answer"]] if run["answer"] and fmt != "json" else []


def runner_status(docs: list[Any], name: str) -> list[str]:
    """From `runner list --json`, which has each runner's run count and last run."""
    r = next((r for r in docs[0] if r["name"] == name), None)
    if r is None:
        sys.stderr.write(f"error: no runner named {name!r}\n")
        raise SystemExit(2)
    last = r["last_run"]
    duration = f"{round(last['duration_seconds'])}s" if last and last["duration_seconds"] is not None else "N/As"
    lines = [
        f"Runner: {name}",
        "─" * 34,
        f"Description: {r['description'] or 'N/A'}",
        f"Model: {r['model'] or '(server default)'}",
        f"Workdir: {r['workdir']}",
        f"Created: {stamp(r['created_at'])}",
        "",
        f"Total runs: {r['run_count']}",
        f"Last run: {stamp(last['started_at']) if last else 'never'}",
        f"Last status: {last['status'] if last else 'N/A'}",
        f"Last duration: {duration}",
        "",
        f"Directory: {_folder(name)}",
    ]
    return lines + ([f"Session ID: {r['session_id']}"] if r["session_id"] else [])


def runner_list(docs: list[Any], fmt: str) -> list[str]:
    rows = docs[0]
    if fmt == "json":  # the reference's config.json of each runner
        return _json_lines(
            [
                {
                    "name": r["name"],
                    "description": r["description"],
                    "model": r["model"],
                    "workdir": r["workdir"],
                    "created": stamp(r["created_at"]),
                    "lastRun": stamp(r["last_run"]["started_at"]) if r["last_run"] else None,
                    "lastStatus": r["last_run"]["status"] if r["last_run"] else None,
                    "lastDuration": round(r["last_run"]["duration_seconds"] or 0) if r["last_run"] else None,
                    "runCount": r["run_count"],
                }
                for r in rows
            ]
        )
    if not rows:
        return [
            "[RUNNER] No runners configured",
            "",
            "Create one with:",
            '  runner-helper.sh create my-runner --description "What it does"',
        ]
    lines = [
        f"{'Name':<20} {'Description':<35} {'Runs':<12} Last Status",
        f"{'─' * 18:<20} {'─' * 33:<35} {'─' * 10:<12} {'─' * 11}",
    ]
    for r in rows:
        status = r["last_run"]["status"] if r["last_run"] else "N/A"
        lines.append(f"{r['name']:<20} {(r['description'] or 'N/A')[:35]:<35} {r['run_count']:<12} {status}")
    return lines


def runner_logs(docs: list[Any]) -> list[str]:
    logs = docs[0]
    return [f"Latest run: run-{logs['run']['id']}", *logs["lines"]]


KINDS: dict[str, Callable[..., list[str]]] = {
    "mail-check": mail_check,
    "mail-read": mail_read,
    "mail-status": mail_status,
    "mail-status-agent": mail_status_agent,
    "mail-agents": mail_agents,
    "mail-prune": mail_prune,
    "mem-store": mem_store,
    "mem-recall": mem_recall,
    "mem-recent": mem_recent,
    "mem-stats": mem_stats,
    "mem-prune": mem_prune,
    "mem-namespaces": mem_namespaces,
    "mem-history": mem_history,
    "mem-id": mem_id,
    "runner-created": runner_created,
    "runner-run": runner_run,
    "runner-status": runner_status,
    "runner-list": runner_list,
    "runner-logs": runner_logs,
}


def stderr_lines(text: str) -> list[str]:
    """switchboard's standard error under `--json`, as the reference printed it: an
    `{"error": ..., "code": N}` line becomes `error: ...`; other lines pass as they are."""
    lines = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        lines.append(f"error: {record['error']}" if isinstance(record, dict) and "error" in record else line)
    return lines


def main(argv: list[str]) -> None:
    kind, *args = argv
    text = sys.stdin.read()
    lines = stderr_lines(text) if kind == "stderr" else KINDS[kind](documents(text), *args)
    for line in lines:
        sys.stdout.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
