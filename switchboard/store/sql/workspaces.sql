-- Every query of isolated workspaces (git worktrees per attempt). Times are epoch seconds.

-- name: insert
INSERT INTO workspaces (task_id, attempt, host, repo, path, directory, branch, base_ref,
                        base_commit, target_branch, deliver, note, created_at)
VALUES (:task_id, :attempt, :host, :repo, :path, :directory, :branch, :base_ref,
        :base_commit, :target_branch, :deliver, :note, :now)
RETURNING *;

-- name: renew
-- The same attempt number again (it was given back without counting): a fresh worktree.
UPDATE workspaces
SET host = :host, repo = :repo, path = :path, directory = :directory, branch = :branch,
    base_ref = :base_ref, base_commit = :base_commit, target_branch = :target_branch, deliver = :deliver, note = :note,
    status = 'active', outcome = NULL, head_commit = NULL, commits = NULL, files = NULL,
    diff_stat = NULL, patch = NULL, created_at = :now, finished_at = NULL, branch_removed_at = NULL
WHERE task_id = :task_id AND attempt = :attempt
RETURNING *;

-- name: get
SELECT * FROM workspaces WHERE task_id = :task_id AND attempt = :attempt;

-- name: latest
-- The workspace of a task's latest attempt that ran in one.
SELECT * FROM workspaces WHERE task_id = :task_id ORDER BY attempt DESC LIMIT 1;

-- name: finish
UPDATE workspaces
SET status = 'finished', outcome = :outcome, note = :note, head_commit = :head_commit,
    commits = :commits, files = :files, diff_stat = :diff_stat, patch = :patch,
    finished_at = :now, branch_removed_at = :branch_removed_at
WHERE id = :id AND status = 'active'
RETURNING *;

-- name: active_here
-- This host's worktrees still on disk, with the state of their task.
SELECT w.*, t.status AS task_status, t.attempts AS task_attempts, t.prompt AS task_prompt,
       t.assigned_runner AS task_runner
FROM workspaces w JOIN tasks t ON t.id = w.task_id
WHERE w.host = :host AND w.status = 'active'
ORDER BY w.id;

-- name: kept_branches
-- Branches that finished attempts left behind, oldest first.
SELECT * FROM workspaces
WHERE host = :host AND status = 'finished' AND branch_removed_at IS NULL
  AND outcome IN ('branch', 'needs merge', 'merged') AND finished_at < :before
ORDER BY finished_at;

-- name: branch_removed
UPDATE workspaces SET branch_removed_at = :now WHERE id = :id;


-- name: runners
-- What the isolation options of a task are checked against.
SELECT name, role, workdir, isolation FROM runners ORDER BY name;
