-- Every query of the mailbox. Parameters are :named; PostgreSQL overrides live in
-- mailbox.postgresql.sql. Times are Unix epoch seconds; priority 0 is most urgent.

-- name: insert
INSERT INTO messages (from_agent, to_agent, type, priority, convoy, payload, reply_to,
                      thread_id, max_attempts, available_at, created_at)
VALUES (:from_agent, :to_agent, :type, :priority, :convoy, :payload, :reply_to,
        :thread_id, :max_attempts, :now, :now)
RETURNING *;

-- name: get
SELECT * FROM messages WHERE id = :id;

-- name: check
SELECT * FROM messages
WHERE (CAST(:agent AS TEXT) IS NULL OR to_agent = :agent)
  AND (CAST(:type AS TEXT) IS NULL OR type = :type)
  AND (status = 'unread'
       OR (status = 'read' AND :include_read)
       OR (status = 'archived' AND :include_archived))
ORDER BY priority, id
LIMIT :limit;

-- name: mark_read
UPDATE messages
SET status = CASE WHEN status = 'unread' THEN 'read' ELSE status END,
    read_at = coalesce(read_at, :now)
WHERE id = :id
RETURNING *;

-- name: archive
UPDATE messages
SET status = 'archived', archived_at = coalesce(archived_at, :now), read_at = coalesce(read_at, :now)
WHERE id = :id
RETURNING *;

-- name: thread
SELECT * FROM messages WHERE id = :root OR thread_id = :root ORDER BY id;

-- name: bury_expired
-- Leases that ran out on a message's last attempt: the message is dead.
UPDATE messages
SET delivery = 'dead', lease_token = NULL,
    last_error = 'lease expired on attempt ' || attempts || ' of ' || max_attempts
WHERE to_agent = :agent AND delivery = 'leased' AND lease_expires_at <= :now
  AND attempts >= max_attempts;

-- name: claim_many
-- Up to :limit messages, most urgent and oldest first, under one lease token.
UPDATE messages
SET delivery = 'leased', attempts = attempts + 1, lease_token = :token,
    lease_expires_at = :expires, claimed_by = :claimer
WHERE id IN (
    SELECT id FROM messages
    WHERE to_agent = :agent
      AND delivery IN ('pending', 'leased')
      AND ((delivery = 'pending' AND available_at <= :now)
           OR (delivery = 'leased' AND lease_expires_at <= :now))
      AND (CAST(:type AS TEXT) IS NULL OR type = :type)
    ORDER BY priority, id
    LIMIT :limit
)
RETURNING *;

-- name: next_due
-- When the next message for this agent becomes claimable (a retry or an expiring lease).
SELECT min(CASE WHEN delivery = 'pending' THEN available_at ELSE lease_expires_at END) AS due
FROM messages
WHERE to_agent = :agent AND delivery IN ('pending', 'leased')
  AND (CAST(:type AS TEXT) IS NULL OR type = :type);

-- name: ack_many
-- :ids is a JSON array; a NULL :token acks whatever lease holds each message.
UPDATE messages
SET delivery = 'acked', acked_at = :now, lease_token = NULL, lease_expires_at = NULL,
    status = CASE WHEN status = 'unread' THEN 'read' ELSE status END,
    read_at = coalesce(read_at, :now)
WHERE id IN (SELECT value FROM json_each(:ids)) AND delivery = 'leased'
  AND (CAST(:token AS TEXT) IS NULL OR lease_token = :token)
RETURNING *;

-- name: nack
UPDATE messages
SET delivery = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'pending' END,
    available_at = :available_at, last_error = :reason,
    lease_token = NULL, lease_expires_at = NULL
WHERE id = :id AND delivery = 'leased' AND lease_token = :token
RETURNING *;

-- name: dead
SELECT * FROM messages
WHERE delivery = 'dead' AND (CAST(:agent AS TEXT) IS NULL OR to_agent = :agent)
ORDER BY id;

-- name: retry
UPDATE messages
SET delivery = 'pending', attempts = 0, available_at = :now,
    lease_token = NULL, lease_expires_at = NULL
WHERE id = :id AND delivery = 'dead'
RETURNING *;

-- name: register
-- A branch or worktree not given keeps the one registered before.
INSERT INTO agents (name, role, status, registered_at, last_seen_at, branch, worktree)
VALUES (:name, :role, 'active', :now, :now, :branch, :worktree)
ON CONFLICT (name) DO UPDATE
SET role = excluded.role, status = 'active', last_seen_at = excluded.last_seen_at,
    branch = COALESCE(excluded.branch, agents.branch), worktree = COALESCE(excluded.worktree, agents.worktree)
RETURNING *;

-- name: deregister
UPDATE agents SET status = 'inactive' WHERE name = :name RETURNING *;

-- name: touch
UPDATE agents SET last_seen_at = :now WHERE name = :name;

-- name: agents
SELECT * FROM agents WHERE (NOT :active_only OR status = 'active') ORDER BY name;

-- name: broadcast_recipients
SELECT name FROM agents WHERE status = 'active' AND name <> :sender ORDER BY name;

-- name: counts
SELECT type, status, delivery, count(*) AS n FROM messages
WHERE CAST(:agent AS TEXT) IS NULL OR to_agent = :agent
GROUP BY type, status, delivery;

-- name: prunable
-- Old messages that have been handled: read or archived by a person, or acked by a
-- program. Unread, unacked and leased messages are never pruned.
SELECT * FROM messages
WHERE created_at < :cutoff AND delivery <> 'leased'
  AND (status IN ('read', 'archived') OR delivery = 'acked')
ORDER BY id;

-- name: delete_upto
DELETE FROM messages
WHERE id <= :max_id AND created_at < :cutoff AND delivery <> 'leased'
  AND (status IN ('read', 'archived') OR delivery = 'acked');
