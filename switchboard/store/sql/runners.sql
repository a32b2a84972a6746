-- Every query of runners and their runs.

-- name: insert
INSERT INTO runners (name, description, role, model, agent, workdir, timeout_seconds,
                     max_parallel, instructions, isolation, created_at, updated_at)
VALUES (:name, :description, :role, :model, :agent, :workdir, :timeout_seconds,
        :max_parallel, :instructions, :isolation, :now, :now)
RETURNING *;

-- name: get
SELECT * FROM runners WHERE name = :name;

-- name: list
SELECT r.*,
       (SELECT count(*) FROM runs WHERE runs.runner = r.name) AS run_count,
       (SELECT max(id) FROM runs WHERE runs.runner = r.name) AS last_run_id
FROM runners r ORDER BY r.name;

-- name: update
UPDATE runners
SET description = :description, role = :role, model = :model, agent = :agent,
    workdir = :workdir, timeout_seconds = :timeout_seconds, max_parallel = :max_parallel,
    instructions = :instructions, isolation = :isolation, updated_at = :now
WHERE name = :name
RETURNING *;

-- name: set_session
UPDATE runners SET session_id = :session_id, server_url = :server_url, updated_at = :now
WHERE name = :name;

-- name: delete
DELETE FROM runners WHERE name = :name RETURNING *;

-- name: run_insert
INSERT INTO runs (runner, task_id, prompt, session_id, server_url, started_at, log_path)
VALUES (:runner, :task_id, :prompt, :session_id, :server_url, :now, :log_path)
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
UPDATE runs SET session_id = :session_id, server_url = :server_url WHERE id = :id;
