-- Runners: named agent identities, and the record of every run.

CREATE TABLE runners (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    role TEXT NOT NULL DEFAULT 'worker',
    -- provider/model; NULL uses the OpenCode server's default.
    model TEXT,
    -- OpenCode agent (.opencode/agents/NAME.md or opencode.json); NULL is OpenCode's default.
    agent TEXT,
    workdir TEXT NOT NULL,
    timeout_seconds DOUBLE PRECISION NOT NULL,
    max_parallel INTEGER NOT NULL DEFAULT 1,
    instructions TEXT NOT NULL,
    -- The session `run --continue` and `stop` use, and the server it lives on.
    session_id TEXT,
    server_url TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    runner TEXT NOT NULL REFERENCES runners (name) ON DELETE CASCADE,
    task_id INTEGER,
    prompt TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'success', 'failed', 'aborted')),
    session_id TEXT,
    server_url TEXT,
    started_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    duration_seconds DOUBLE PRECISION,
    tokens_input INTEGER,
    tokens_output INTEGER,
    cost DOUBLE PRECISION,
    answer TEXT,
    error TEXT,
    log_path TEXT
);

CREATE INDEX runs_runner ON runs (runner, id);
CREATE INDEX runs_session ON runs (session_id);
