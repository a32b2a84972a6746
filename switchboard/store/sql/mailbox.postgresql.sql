-- PostgreSQL forms of mailbox queries.

-- name: claim_many
-- SKIP LOCKED lets concurrent claimers pass over each other's rows instead of waiting.
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
    FOR UPDATE SKIP LOCKED
)
RETURNING *;

-- name: ack_many
UPDATE messages
SET delivery = 'acked', acked_at = :now, lease_token = NULL, lease_expires_at = NULL,
    status = CASE WHEN status = 'unread' THEN 'read' ELSE status END,
    read_at = coalesce(read_at, :now)
WHERE id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST(:ids AS JSONB)))
  AND delivery = 'leased' AND (CAST(:token AS TEXT) IS NULL OR lease_token = :token)
RETURNING *;
