-- The HTTP API: bearer tokens, and what changed since the event stream last looked.

-- name: token_insert
INSERT INTO web_tokens (name, scope, token_hash, created_at)
VALUES (:name, :scope, :token_hash, :now)
RETURNING *;

-- name: token_by_hash
SELECT * FROM web_tokens WHERE token_hash = :token_hash AND revoked_at IS NULL;

-- name: tokens
SELECT * FROM web_tokens ORDER BY id;

-- name: token_revoke
UPDATE web_tokens SET revoked_at = :now WHERE id = :id AND revoked_at IS NULL RETURNING *;

-- name: token_used
UPDATE web_tokens SET last_used_at = :now WHERE id = :id;

-- name: tasks_changed
-- A task's session is its run's (as tasks.run_session).
SELECT t.*, r.session_id, r.server_url FROM tasks t LEFT JOIN runs r ON r.id = t.run_id
WHERE t.updated_at > :since ORDER BY t.updated_at, t.id;

-- name: runs_changed
SELECT * FROM runs WHERE started_at > :since
UNION
SELECT * FROM runs WHERE finished_at > :since;

-- name: mail_since
SELECT * FROM messages WHERE created_at > :since ORDER BY id;
