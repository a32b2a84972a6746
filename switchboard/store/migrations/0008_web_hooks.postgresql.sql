-- PostgreSQL form of 0008_web_hooks.sql: the same tables; the trigger is a function.

CREATE TABLE web_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at DOUBLE PRECISION NOT NULL,
    last_used_at DOUBLE PRECISION,
    revoked_at DOUBLE PRECISION
);

CREATE TABLE hooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    format TEXT NOT NULL CHECK (format IN ('json', 'slack', 'discord')),
    secret TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);

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

CREATE FUNCTION tasks_hook_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ending TEXT := CASE WHEN NEW.status = 'queued' THEN 'failed' ELSE NEW.status END;
BEGIN
    INSERT INTO hook_deliveries (hook_id, task_id, event, attempt, result, error, available_at, created_at)
    SELECT h.id, NEW.id, ending, NEW.attempts, NEW.result, NEW.error, NEW.updated_at, NEW.updated_at
    FROM hooks h
    WHERE h.events LIKE '%,' || ending || ',%';
    RETURN NULL;
END;
$$;

CREATE TRIGGER tasks_hook_outbox AFTER UPDATE OF status ON tasks
FOR EACH ROW
WHEN (NEW.status <> OLD.status
      AND (NEW.status IN ('done', 'dead', 'cancelled')
           OR (OLD.status = 'running' AND NEW.status = 'queued' AND NEW.error IS NOT NULL)))
EXECUTE FUNCTION tasks_hook_outbox();

CREATE TABLE dispatch_nonces (
    signature TEXT PRIMARY KEY,
    seen_at DOUBLE PRECISION NOT NULL
);

CREATE INDEX tasks_updated ON tasks (updated_at);
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
