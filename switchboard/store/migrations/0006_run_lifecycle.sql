-- A run's session is recorded once, on the run: tasks and runners find it through
-- their runs. Runs also record when their prompt was sent (a coordinator restarted
-- between context and prompt sends it on the same run) and what became of the
-- session on the server (kept for `--continue` / `--keep-sessions`, or deleted).

DROP INDEX tasks_session;
ALTER TABLE tasks DROP COLUMN session_id;
ALTER TABLE tasks DROP COLUMN server_url;
ALTER TABLE runners DROP COLUMN session_id;
ALTER TABLE runners DROP COLUMN server_url;

ALTER TABLE runs ADD COLUMN prompted_at DOUBLE PRECISION;
-- 0: the session is deleted after the run; 1: kept on request; 2: the runner's live session (`--continue`).
ALTER TABLE runs ADD COLUMN keep_session INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN session_deleted_at DOUBLE PRECISION;

CREATE INDEX runs_task ON runs (task_id) WHERE task_id IS NOT NULL;
