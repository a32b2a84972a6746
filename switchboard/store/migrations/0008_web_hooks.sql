-- The HTTP API's bearer tokens, outbound webhooks and their deliveries, and inbound
-- dispatch signatures already seen (replay refusal).

CREATE TABLE web_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    -- sha256 of the token: the token itself is shown once, at creation.
    token_hash TEXT NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL,
    last_used_at DOUBLE PRECISION,
    revoked_at DOUBLE PRECISION
);

CREATE TABLE hooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    -- Comma-framed events, e.g. ',done,dead,', so a trigger can match ',' || status || ','.
    events TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('json', 'slack', 'discord')),
    secret TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

-- The outbox: one row per hook and task ending, written by the trigger below in the
-- same transaction that ends the task, so no ending is missed and none is sent twice.
CREATE TABLE hook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    hook_id INTEGER NOT NULL REFERENCES hooks (id) ON DELETE CASCADE,
    task_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    result TEXT,
    error TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    tries INTEGER NOT NULL DEFAULT 0,
    available_at DOUBLE PRECISION NOT NULL,
    lease_expires_at DOUBLE PRECISION,
    response_code INTEGER,
    last_error TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    delivered_at DOUBLE PRECISION
);

CREATE INDEX hook_deliveries_due ON hook_deliveries (status, available_at) WHERE status = 'pending';
CREATE INDEX hook_deliveries_hook ON hook_deliveries (hook_id, id);

-- A task ends: done, dead or cancelled; or an attempt fails and the task is requeued.
CREATE TRIGGER tasks_hook_outbox AFTER UPDATE OF status ON tasks
WHEN NEW.status <> OLD.status
 AND (NEW.status IN ('done', 'dead', 'cancelled')
      OR (OLD.status = 'running' AND NEW.status = 'queued' AND NEW.error IS NOT NULL))
BEGIN
    INSERT INTO hook_deliveries (hook_id, task_id, event, attempt, result, error, available_at, created_at)
    SELECT h.id, NEW.id, CASE WHEN NEW.status = 'queued' THEN 'failed' ELSE NEW.status END,
           NEW.attempts, NEW.result, NEW.error, NEW.updated_at, NEW.updated_at
    FROM hooks h
    WHERE h.events LIKE '%,' || (CASE WHEN NEW.status = 'queued' THEN 'failed' ELSE NEW.status END) || ',%';
END;

CREATE TABLE dispatch_nonces (
    signature TEXT PRIMARY KEY,
    seen_at DOUBLE PRECISION NOT NULL
);

-- The event stream looks for tasks changed since its last look.
CREATE INDEX tasks_updated ON tasks (updated_at);
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
