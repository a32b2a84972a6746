-- What `db prune` removes past the retention horizon (switchboard.coordinator.retention).

-- name: settled_runs
-- Runs with a log that ended before :cutoff, of tasks settled before it (or of no task).
SELECT r.id, r.log_path FROM runs r
LEFT JOIN tasks t ON t.id = r.task_id
WHERE r.log_path IS NOT NULL AND r.status <> 'running' AND r.finished_at < :cutoff
  AND (r.task_id IS NULL
       OR (t.status IN ('done', 'dead', 'cancelled') AND COALESCE(t.finished_at, t.updated_at) < :cutoff))
ORDER BY r.id;

-- name: forget_log
UPDATE runs SET log_path = NULL WHERE id = :id;

-- name: outcome_memories
-- Outcome memories (source task-N) of tasks settled before :cutoff.
SELECT m.id FROM memories m
JOIN tasks t ON m.source = 'task-' || CAST(t.id AS TEXT)
WHERE t.status IN ('done', 'dead', 'cancelled') AND COALESCE(t.finished_at, t.updated_at) < :cutoff
ORDER BY m.id;
