-- Every query of runners and their runs.

-- name: insert
INSERT INTO runners (name, description, role, model, agent, workdir, timeout_seconds,
                     max_parallel, max_steps, instructions, isolation, redact, created_at, updated_at)
VALUES (:name, :description, :role, :model, :agent, :workdir, :timeout_seconds,
        :max_parallel, :max_steps, :instructions, :isolation, :redact, :now, :now)
RETURNING *;

-- name: get
-- A runner with its live session: the session of its latest `--continue` run.
SELECT r.*, live.session_id, live.server_url FROM runners r
LEFT JOIN runs live ON live.id = (
    SELECT max(id) FROM runs WHERE runs.runner = r.name AND keep_session = 2
       AND session_id IS NOT NULL AND session_deleted_at IS NULL)
WHERE r.name = :name;

-- name: list
SELECT r.*, live.session_id, live.server_url,
       (SELECT count(*) FROM runs WHERE runs.runner = r.name) AS run_count,
       (SELECT max(id) FROM runs WHERE runs.runner = r.name) AS last_run_id
FROM runners r
LEFT JOIN runs live ON live.id = (
    SELECT max(id) FROM runs WHERE runs.runner = r.name AND keep_session = 2
       AND session_id IS NOT NULL AND session_deleted_at IS NULL)
ORDER BY r.name;

-- name: update
UPDATE runners
SET description = :description, role = :role, model = :model, agent = :agent,
    workdir = :workdir, timeout_seconds = :timeout_seconds, max_parallel = :max_parallel,
    max_steps = :max_steps, instructions = :instructions, isolation = :isolation,
    redact = :redact, updated_at = :now
WHERE name = :name
RETURNING *;

-- name: delete
DELETE FROM runners WHERE name = :name RETURNING *;

-- name: run_insert
INSERT INTO runs (runner, task_id, prompt, started_at, keep_session)
VALUES (:runner, :task_id, :prompt, :now, :keep_session)
RETURNING *;

-- name: run_set_log
UPDATE runs SET log_path = :log_path WHERE id = :id;

-- name: run_finish
UPDATE runs
SET status = :status, finished_at = :now, duration_seconds = :now - started_at,
    tokens_input = :tokens_input, tokens_output = :tokens_output, cost = :cost,
    answer = :answer, error = :error
WHERE id = :id AND status = 'running'
RETURNING *;

-- name: run_get
SELECT * FROM runs WHERE id = :id;

-- name: runs
SELECT * FROM runs WHERE runner = :runner ORDER BY id DESC LIMIT :limit;

-- name: running
SELECT * FROM runs WHERE runner = :runner AND status = 'running' ORDER BY id;

-- name: run_session
-- The one place a run's session is recorded.
UPDATE runs SET session_id = :session_id, server_url = :server_url WHERE id = :id;

-- name: run_prompted
UPDATE runs SET prompted_at = :now WHERE id = :id;

-- name: close_task_runs
-- Runs of a task left `running` by an attempt that no longer goes on (its coordinator died).
UPDATE runs
SET status = 'aborted', error = :error, finished_at = :now, duration_seconds = :now - started_at
WHERE task_id = :task_id AND status = 'running' AND id <> :keep
RETURNING *;

-- name: sessions
-- The runner's sessions still on a server.
SELECT DISTINCT session_id, server_url FROM runs
WHERE runner = :runner AND session_id IS NOT NULL AND session_deleted_at IS NULL;

-- name: stale_live_sessions
-- Sessions the runner kept as its live one before `session_id` took over.
SELECT DISTINCT session_id, server_url FROM runs
WHERE runner = :runner AND keep_session = 2 AND session_id IS NOT NULL AND session_deleted_at IS NULL
  AND session_id <> :session_id AND status <> 'running';

-- name: retained_sessions
-- Sessions that must stay on the servers: in use, or kept on purpose.
SELECT DISTINCT session_id FROM runs
WHERE session_id IS NOT NULL AND session_deleted_at IS NULL AND (status = 'running' OR keep_session > 0);

-- name: session_deleted
UPDATE runs SET session_deleted_at = :now WHERE session_id = :session_id AND session_deleted_at IS NULL;
