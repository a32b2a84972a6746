"""The dashboard at `/`: rendered here from the same API calls the JSON endpoints
make, then kept live by `static/dashboard.js` from the event stream. No build step,
nothing from elsewhere: the page loads only this server's own script and style."""

from __future__ import annotations

import time
from html import escape
from starlette.responses import HTMLResponse

from switchboard.coordinator.models import Task, TaskStatus
from switchboard.output import preview
from switchboard.runners.service import COORDINATOR
from switchboard.timefmt import age
from switchboard.web.api import Api

PER_STATE = 200  # rows rendered per state; the JSON API pages the rest
STATES = (TaskStatus.RUNNING, TaskStatus.QUEUED, TaskStatus.DONE, TaskStatus.DEAD, TaskStatus.CANCELLED)
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/dashboard.css">'
        f'<script src="/static/dashboard.js" defer></script></head><body>{body}</body></html>'
    )


def render(api: Api) -> str:
    """The whole dashboard as HTML (blocking: run it off the event loop)."""
    snap = api.snapshot()
    by_state = {s: api.tasks.list(status=s.value, limit=PER_STATE) for s in STATES}
    inbox = api.mailbox.check(COORDINATOR, limit=20)
    counts = snap["tasks"]
    now = time.time()
    state = snap["coordinator"]
    head = (
        f'<span class="ok">coordinator running (pid {state["pid"]})</span>'
        if state
        else '<span class="warn">coordinator not running</span>'
    )
    count_text = " · ".join(f'{s.value} <b data-count="{s.value}">{counts.get(s.value, 0)}</b>' for s in STATES)
    options = "".join(f'<option value="{escape(r["name"])}">{escape(r["name"])}</option>' for r in snap["runners"])
    sections = "".join(_state_table(s, by_state[s], counts.get(s.value, 0), now) for s in STATES)
    runners = "".join(
        f'<tr data-runner="{escape(r["name"])}"><td>{escape(r["name"])}</td><td>{escape(r["role"])}</td>'
        f'<td>{escape(r["model"] or "-")}</td><td class="busy">{"busy" if r["busy"] else "idle"} '
        f"({r['busy']}/{r['max_parallel']})</td><td>{r['runs']}</td><td>{escape(r['last_status'] or '-')}</td></tr>"
        for r in snap["runners"]
    )
    mail = (
        "".join(
            f"<li><b>{escape(m.from_agent)}</b> {escape(m.type.value)}: {escape(preview(m.payload, 120))}</li>"
            for m in inbox
        )
        or '<li class="dim">no mail</li>'
    )
    body = f"""
<header><h1>switchboard</h1><span id="coordinator">{head}</span><span id="counts">{count_text}</span>
<span id="live" class="dim">connecting…</span></header>
<main>
<section id="add"><h2>Add a task</h2>
<form id="add-task"><textarea name="prompt" rows="3" required placeholder="What to do"></textarea>
<label>runner <select name="runner"><option value="">any</option>{options}</select></label>
<button type="submit">Add task</button> <output id="add-result"></output></form></section>
<section id="tasks"><h2>Tasks</h2>{sections}</section>
<aside id="detail" hidden><h2>Task <span data-field="id"></span> <button id="close-detail">close</button></h2>
<dl><dt>status</dt><dd data-field="status"></dd><dt>runner</dt><dd data-field="runner"></dd>
<dt>session</dt><dd data-field="session"></dd><dt>attempts</dt><dd data-field="attempts"></dd>
<dt>tokens</dt><dd data-field="tokens"></dd><dt>cost</dt><dd data-field="cost"></dd></dl>
<h3>prompt</h3><pre data-field="prompt"></pre><h3>result</h3><pre data-field="result"></pre>
<h3>error</h3><pre data-field="error"></pre><h3>diff</h3><pre data-field="diff"></pre></aside>
<section id="runners"><h2>Runners</h2><table><thead><tr><th>runner</th><th>role</th><th>model</th><th>state</th>
<th>runs</th><th>last run</th></tr></thead><tbody id="runners-body">{runners}</tbody></table></section>
<section id="inbox"><h2>Coordinator inbox</h2><ul id="inbox-list">{mail}</ul></section>
</main>"""
    return _page("switchboard", body)


def _state_table(status: TaskStatus, tasks: list[Task], total: int, now: float) -> str:
    more = f'<p class="dim">showing {len(tasks)} of {total}</p>' if total > len(tasks) else ""
    rows = "".join(task_row(t, now) for t in tasks)
    return (
        f'<h3>{status.value}</h3><table class="tasks"><thead><tr><th>id</th><th>runner</th><th>attempts</th>'
        f"<th>age</th><th>prompt</th><th>outcome</th></tr></thead>"
        f'<tbody id="tasks-{status.value}">{rows}</tbody></table>{more}'
    )


def task_row(task: Task, now: float) -> str:
    outcome = task.result if task.status is TaskStatus.DONE else task.error
    return (
        f'<tr id="task-{task.id}" data-id="{task.id}"><td>#{task.id}</td>'
        f'<td class="runner">{escape(task.assigned_runner or task.target)}</td>'
        f'<td class="attempts">{task.attempts}/{task.max_attempts}</td><td>{age(task.created_at, now)}</td>'
        f'<td class="prompt">{escape(preview(task.prompt, 80))}</td>'
        f'<td class="outcome">{escape(preview(outcome or "", 80))}</td></tr>'
    )


def html(text: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status, headers=HEADERS)


def login_page(message: str) -> str:
    """What a browser without a token sees (with status 401): a form to give one."""
    return _page(
        "switchboard: sign in",
        f"""
<main class="login"><h1>switchboard</h1><p>{escape(message)}</p>
<form method="post" action="/login"><label>token <input name="token" type="password" autocomplete="off"
required></label> <button type="submit">Open the dashboard</button></form>
<p class="dim">Make one with <code>switchboard serve token create --scope write</code>.</p></main>""",
    )
