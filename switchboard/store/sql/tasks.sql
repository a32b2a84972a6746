-- Every query of the coordinator's tasks and schedules. Times are epoch seconds.

-- name: insert
INSERT INTO tasks (prompt, runner, role, priority, convoy, max_attempts, timeout_seconds, max_steps,
                   available_at, source, source_ref, isolation, base_ref, deliver, files, model, workdir, notify,
                   created_at, updated_at)
VALUES (:prompt, :runner, :role, :priority, :convoy, :max_attempts, :timeout_seconds, :max_steps,
        :now, :source, :source_ref, :isolation, :base_ref, :deliver, :files, :model, :workdir, :notify,
        :now, :now)
RETURNING *;

-- name: by_source
SELECT * FROM tasks WHERE source = :source AND source_ref = :source_ref;

-- name: add_dep
INSERT INTO task_deps (task_id, depends_on) VALUES (:task_id, :depends_on);

-- name: get
SELECT * FROM tasks WHERE id = :id;

-- name: deps
SELECT depends_on FROM task_deps WHERE task_id = :id ORDER BY depends_on;

-- name: list
SELECT * FROM tasks
WHERE (CAST(:status AS TEXT) IS NULL OR status = :status)
  AND (CAST(:convoy AS TEXT) IS NULL OR convoy = :convoy)
ORDER BY id DESC
LIMIT :limit;

-- name: convoy
SELECT * FROM tasks WHERE convoy = :convoy ORDER BY id;

-- name: counts
SELECT status, count(*) AS n FROM tasks GROUP BY status;

-- name: cancel
UPDATE tasks SET status = 'cancelled', error = coalesce(:reason, error), finished_at = :now,
    updated_at = :now
WHERE id = :id AND status IN ('queued', 'running')
RETURNING *;

-- name: requeue
-- `task retry`: a finished task goes back to the queue with fresh attempts.
UPDATE tasks
SET status = 'queued', attempts = 0, available_at = :now, error = NULL, result = NULL,
    failed_dependency = NULL, owner = NULL, lease_expires_at = NULL, run_id = NULL,
    finished_at = NULL, updated_at = :now
WHERE id = :id AND status IN ('dead', 'cancelled', 'done')
RETURNING *;

-- name: dead_dependents
-- Tasks that died because `id` died.
SELECT id FROM tasks WHERE failed_dependency = :id AND status = 'dead';

-- name: bury_dependents
-- Queued tasks that wait on a task that can no longer finish die with it.
UPDATE tasks
SET status = 'dead', failed_dependency = :id, finished_at = :now, updated_at = :now,
    error = 'dependency #' || CAST(:id AS TEXT) || ' did not finish'
WHERE status = 'queued' AND id IN (SELECT task_id FROM task_deps WHERE depends_on = :id)
RETURNING id;

-- name: ready
-- Queued tasks whose time has come and whose dependencies are all done, most urgent first.
SELECT t.* FROM tasks t
WHERE t.status = 'queued' AND t.available_at <= :now
  AND NOT EXISTS (
      SELECT 1 FROM task_deps d JOIN tasks dep ON dep.id = d.depends_on
      WHERE d.task_id = t.id AND dep.status <> 'done')
ORDER BY t.priority, t.id
LIMIT :limit;

-- name: busy_runners
SELECT assigned_runner AS runner, count(*) AS n FROM tasks
WHERE status = 'running' GROUP BY assigned_runner;

-- name: lock_runner
-- SQLite's BEGIN IMMEDIATE already serialises assignment; PostgreSQL locks the row.
SELECT name FROM runners WHERE name = :name;

-- name: start
UPDATE tasks
SET status = 'running', attempts = attempts + 1, assigned_runner = :runner, owner = :owner,
    lease_expires_at = :lease_until, started_at = :now, deadline_at = :deadline,
    run_id = NULL, error = NULL, updated_at = :now
WHERE id = :id AND status = 'queued'
RETURNING *;

-- name: set_run
UPDATE tasks SET run_id = :run_id, updated_at = :now
WHERE id = :id AND owner = :owner AND status = 'running';

-- name: run_session
-- A task's session is its run's.
SELECT session_id, server_url FROM runs WHERE id = :id;

-- name: renew
-- Extends the leases of every running task this coordinator holds.
UPDATE tasks SET lease_expires_at = :lease_until
WHERE owner = :owner AND status = 'running';

-- name: mine
SELECT * FROM tasks WHERE owner = :owner AND status = 'running' ORDER BY id;

-- name: orphaned
-- Running tasks whose coordinator stopped renewing their lease.
SELECT * FROM tasks WHERE status = 'running' AND lease_expires_at < :now ORDER BY id;

-- name: adopt
UPDATE tasks SET owner = :owner, lease_expires_at = :lease_until, updated_at = :now
WHERE id = :id AND status = 'running' AND lease_expires_at < :now
RETURNING *;

-- name: complete
UPDATE tasks
SET status = 'done', result = :result, finished_at = :now, owner = NULL,
    lease_expires_at = NULL, updated_at = :now
WHERE id = :id AND status = 'running' AND owner = :owner
RETURNING *;

-- name: fail
-- A failed attempt: back to the queue after a backoff, or dead when attempts are used up.
UPDATE tasks
SET status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
    error = :error, available_at = :available_at, owner = NULL, lease_expires_at = NULL,
    finished_at = CASE WHEN attempts >= max_attempts THEN :now ELSE NULL END,
    updated_at = :now
WHERE id = :id AND status = 'running' AND owner = :owner
RETURNING *;

-- name: release
-- Give a task back without counting the attempt (the coordinator is shutting down).
UPDATE tasks
SET status = 'queued', attempts = attempts - 1, owner = NULL, lease_expires_at = NULL,
    run_id = NULL, updated_at = :now
WHERE id = :id AND status = 'running' AND owner = :owner;

-- name: schedule_insert
INSERT INTO schedules (name, schedule, prompt, runner, role, status, catch_up, next_run_at, timeout_seconds,
                       model, workdir, notify, created_at)
VALUES (:name, :schedule, :prompt, :runner, :role, :status, :catch_up, :next_run_at, :timeout_seconds,
        :model, :workdir, :notify, :now)
RETURNING *;

-- name: schedule_get
SELECT * FROM schedules WHERE name = :name;

-- name: schedules
SELECT * FROM schedules ORDER BY name;

-- name: schedule_delete
DELETE FROM schedules WHERE name = :name RETURNING *;

-- name: schedule_status
UPDATE schedules SET status = :status, next_run_at = coalesce(:next_run_at, next_run_at)
WHERE name = :name RETURNING *;

-- name: schedules_due
SELECT * FROM schedules WHERE status = 'active' AND next_run_at <= :now ORDER BY next_run_at;

-- name: schedule_fired
-- Guarded by the old next_run_at so that two coordinators fire a schedule once.
UPDATE schedules SET next_run_at = :next_run_at, last_run_at = :now
WHERE name = :name AND next_run_at = :previous
RETURNING *;

-- name: runners
SELECT name, role, model, max_parallel, timeout_seconds, redact FROM runners ORDER BY name;

-- name: busy_count
SELECT count(*) AS n FROM tasks WHERE status = 'running' AND assigned_runner = :runner;

-- name: bury
UPDATE tasks SET status = 'dead', error = :error, finished_at = :now, owner = NULL,
    lease_expires_at = NULL, updated_at = :now
WHERE id = :id AND status IN ('queued', 'running')
RETURNING *;

-- name: schedule_tasks
-- The tasks a schedule queued (its firings and manual runs), newest first.
SELECT * FROM tasks WHERE source = 'cron' AND source_ref LIKE :prefix ESCAPE '\' ORDER BY id DESC LIMIT :limit;

-- name: schedule_failures
SELECT count(*) AS n FROM tasks WHERE source = 'cron' AND source_ref LIKE :prefix ESCAPE '\' AND status = 'dead';
