-- PostgreSQL forms of mailbox queries.

-- name: claim
-- SKIP LOCKED lets concurrent claimers pass over each other's rows instead of waiting.
UPDATE messages
SET delivery = 'leased', attempts = attempts + 1, lease_token = :token,
    lease_expires_at = :expires, claimed_by = :claimer
WHERE id = (
    SELECT id FROM messages
    WHERE to_agent = :agent
      AND delivery IN ('pending', 'leased')
      AND ((delivery = 'pending' AND available_at <= :now)
           OR (delivery = 'leased' AND lease_expires_at <= :now))
      AND (CAST(:type AS TEXT) IS NULL OR type = :type)
    ORDER BY priority, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING *;
