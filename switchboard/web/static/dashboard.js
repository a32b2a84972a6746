// The dashboard, kept live: task, run and mail events from /events update the page
// in place; the form adds a task through POST /tasks. Data goes into the page as text
// only (textContent), never as HTML.
"use strict";

const STATES = ["running", "queued", "done", "dead", "cancelled"];
let detailId = null;
let refreshTimer = null;

function preview(text, width) {
  const line = (text || "").trim().split("\n")[0] || "";
  return line.length <= width ? line : line.slice(0, width - 1) + "…";
}

function age(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60]]) {
    if (seconds >= size) return Math.floor(seconds / size) + unit;
  }
  return Math.floor(seconds) + "s";
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}

async function api(method, path, body) {
  const options = {method, headers: {"Accept": "application/json"}, credentials: "same-origin"};
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function upsertTask(task) {
  const body = document.getElementById("tasks-" + task.status);
  if (!body) return;
  let row = document.getElementById("task-" + task.id);
  if (!row) {
    row = document.createElement("tr");
    row.id = "task-" + task.id;
    row.dataset.id = task.id;
  }
  row.replaceChildren();
  const outcome = task.status === "done" ? task.result : task.error;
  cell(row, "#" + task.id);
  cell(row, task.assigned_runner || task.runner || (task.role ? "role:" + task.role : "any"), "runner");
  cell(row, task.attempts + "/" + task.max_attempts, "attempts");
  cell(row, age(task.created_at));
  cell(row, preview(task.prompt, 80), "prompt");
  cell(row, preview(outcome, 80), "outcome");
  // Newest first within a state.
  const after = [...body.rows].find((r) => Number(r.dataset.id) < task.id && r !== row);
  body.insertBefore(row, after || null);
  if (detailId === task.id) showDetail(task.id);
}

function refreshSoon() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(async () => {
    refreshTimer = null;
    try {
      const snap = await api("GET", "/coordinator");
      for (const state of STATES) {
        const count = document.querySelector(`[data-count="${state}"]`);
        if (count) count.textContent = snap.tasks[state] || 0;
      }
      const coordinator = document.getElementById("coordinator");
      coordinator.textContent = snap.coordinator ? `coordinator running (pid ${snap.coordinator.pid})` : "coordinator not running";
      coordinator.className = snap.coordinator ? "ok" : "warn";
      const runners = document.getElementById("runners-body");
      runners.replaceChildren();
      for (const r of snap.runners) {
        const row = document.createElement("tr");
        row.dataset.runner = r.name;
        for (const [text, cls] of [[r.name], [r.role], [r.model || "-"],
            [`${r.busy ? "busy" : "idle"} (${r.busy}/${r.max_parallel})`, "busy"], [String(r.runs)], [r.last_status || "-"]]) {
          cell(row, text, cls);
        }
        runners.appendChild(row);
      }
    } catch (error) {
      document.getElementById("live").textContent = "refresh failed: " + error.message;
    }
  }, 300);
}

async function showDetail(id) {
  detailId = id;
  const panel = document.getElementById("detail");
  const task = await api("GET", "/tasks/" + id);
  const run = task.run_id ? await api("GET", "/runs/" + task.run_id).catch(() => null) : null;
  const fields = {
    id: "#" + task.id, status: task.status, runner: task.assigned_runner || task.runner || "any",
    session: task.session_id || "-", attempts: task.attempts + "/" + task.max_attempts,
    tokens: run && run.tokens_input !== null ? `${run.tokens_input} in, ${run.tokens_output} out` : "-",
    cost: run && run.cost !== null ? "$" + Number(run.cost).toFixed(4) : "-",
    prompt: task.prompt, result: task.result || "", error: task.error || "", diff: task.diff || "",
  };
  for (const [name, value] of Object.entries(fields)) {
    panel.querySelector(`[data-field="${name}"]`).textContent = value;
  }
  panel.hidden = false;
}

function addMail(message) {
  if (message.to_agent !== "coordinator") return;
  const list = document.getElementById("inbox-list");
  const empty = list.querySelector(".dim");
  if (empty) empty.remove();
  const item = document.createElement("li");
  const who = document.createElement("b");
  who.textContent = message.from_agent;
  item.append(who, ` ${message.type}: ${preview(message.payload, 120)}`);
  list.prepend(item);
}

function connect() {
  const live = document.getElementById("live");
  const events = new EventSource("/events");
  events.onopen = () => { live.textContent = "live"; live.className = "ok"; };
  events.onerror = () => { live.textContent = "reconnecting…"; live.className = "warn"; };
  events.addEventListener("task", (e) => { upsertTask(JSON.parse(e.data)); refreshSoon(); });
  events.addEventListener("run", (e) => {
    const run = JSON.parse(e.data);
    if (detailId !== null && run.task_id === detailId) showDetail(detailId);
    refreshSoon();
  });
  events.addEventListener("mail", (e) => addMail(JSON.parse(e.data)));
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("add-task").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const output = document.getElementById("add-result");
    const spec = {prompt: form.prompt.value};
    if (form.runner.value) spec.runner = form.runner.value;
    try {
      const task = await api("POST", "/tasks", spec);
      output.textContent = `queued #${task.id}`;
      output.className = "ok";
      upsertTask(task);
      form.prompt.value = "";
    } catch (error) {
      output.textContent = error.message;
      output.className = "warn";
    }
  });
  document.getElementById("tasks").addEventListener("click", (event) => {
    const row = event.target.closest("tr[data-id]");
    if (row) showDetail(Number(row.dataset.id));
  });
  document.getElementById("close-detail").addEventListener("click", () => {
    detailId = null;
    document.getElementById("detail").hidden = true;
  });
  connect();
});
