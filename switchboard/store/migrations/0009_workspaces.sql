-- Isolated workspaces: a runner or task may ask for its own git worktree per attempt.

-- 'none' (the workdir itself) or 'worktree'.
ALTER TABLE runners ADD COLUMN isolation TEXT NOT NULL DEFAULT 'none';
-- NULL: the runner's isolation; base_ref NULL: the repository's HEAD; deliver NULL: 'branch'.
ALTER TABLE tasks ADD COLUMN isolation TEXT;
ALTER TABLE tasks ADD COLUMN base_ref TEXT;
ALTER TABLE tasks ADD COLUMN deliver TEXT;

-- One worktree per attempt, on the host that ran it, and what came out of it.
CREATE TABLE workspaces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    host TEXT NOT NULL,
    -- The main working tree, the worktree, and the session's directory inside it.
    repo TEXT NOT NULL,
    path TEXT NOT NULL,
    directory TEXT NOT NULL,
    branch TEXT NOT NULL,
    base_ref TEXT NOT NULL,
    base_commit TEXT NOT NULL,
    -- Where `deliver merge` goes: the base if it is a branch, else the branch checked out then.
    target_branch TEXT,
    deliver TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'finished')),
    -- branch, patch, merged, needs merge, no changes, discarded.
    outcome TEXT,
    note TEXT,
    head_commit TEXT,
    commits TEXT,
    files TEXT,
    diff_stat TEXT,
    patch TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    finished_at DOUBLE PRECISION,
    branch_removed_at DOUBLE PRECISION,
    UNIQUE (task_id, attempt)
);

CREATE INDEX workspaces_active ON workspaces (host, status);
