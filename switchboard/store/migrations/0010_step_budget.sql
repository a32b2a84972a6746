-- The step budget: how many model requests (assistant messages) one run may make before
-- it is aborted. A runner's default; a task may set its own (NULL: its runner's).
ALTER TABLE runners ADD COLUMN max_steps INTEGER NOT NULL DEFAULT 50;
ALTER TABLE tasks ADD COLUMN max_steps INTEGER;
