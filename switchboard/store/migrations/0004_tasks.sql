-- Tasks for the coordinator, their dependencies, and cron schedules.

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    prompt TEXT NOT NULL,
    -- Who may run it: one runner by name, any runner with a role, or (both NULL) any runner.
    runner TEXT,
    role TEXT,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'done', 'dead', 'cancelled')),
    priority SMALLINT NOT NULL DEFAULT 2,
    convoy TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    -- NULL: the runner's own timeout.
    timeout_seconds DOUBLE PRECISION,
    -- A queued task is not handed out before this time (retry backoff).
    available_at DOUBLE PRECISION NOT NULL,
    -- The attempt in flight: which runner, which coordinator holds it and until when,
    -- and the OpenCode session doing the work.
    assigned_runner TEXT,
    owner TEXT,
    lease_expires_at DOUBLE PRECISION,
    server_url TEXT,
    session_id TEXT,
    run_id INTEGER,
    started_at DOUBLE PRECISION,
    deadline_at DOUBLE PRECISION,
    finished_at DOUBLE PRECISION,
    result TEXT,
    error TEXT,
    -- Set when the task died because this dependency died; `task retry` revives both.
    failed_dependency INTEGER,
    -- Where the task came from (cli, mail, todo, cron) and a reference that makes
    -- re-importing the same source idempotent.
    source TEXT NOT NULL DEFAULT 'cli',
    source_ref TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE INDEX tasks_ready ON tasks (status, priority, id);
CREATE INDEX tasks_convoy ON tasks (convoy) WHERE convoy IS NOT NULL;
CREATE INDEX tasks_session ON tasks (session_id) WHERE session_id IS NOT NULL;
CREATE UNIQUE INDEX tasks_source ON tasks (source, source_ref) WHERE source_ref IS NOT NULL;

CREATE TABLE task_deps (
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    depends_on INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, depends_on)
);

CREATE INDEX task_deps_reverse ON task_deps (depends_on);

CREATE TABLE schedules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    schedule TEXT NOT NULL,
    prompt TEXT NOT NULL,
    runner TEXT,
    role TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    -- Fire a schedule missed while no coordinator ran once on start ('once') or not ('skip').
    catch_up TEXT NOT NULL DEFAULT 'once' CHECK (catch_up IN ('once', 'skip')),
    next_run_at DOUBLE PRECISION NOT NULL,
    last_run_at DOUBLE PRECISION,
    created_at DOUBLE PRECISION NOT NULL
);
