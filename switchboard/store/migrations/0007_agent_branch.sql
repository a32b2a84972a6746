-- The branch and worktree an agent works in, as the reference helper's `register --branch
-- --worktree` records them (NULL when not given).

ALTER TABLE agents ADD COLUMN branch TEXT;
ALTER TABLE agents ADD COLUMN worktree TEXT;
