-- PostgreSQL forms of hook queries.

-- name: claim
-- SKIP LOCKED lets concurrent delivery loops pass over each other's rows.
UPDATE hook_deliveries
SET lease_expires_at = :lease_until, tries = tries + 1
WHERE id IN (
    SELECT id FROM hook_deliveries
    WHERE status = 'pending' AND available_at <= :now
      AND (lease_expires_at IS NULL OR lease_expires_at < :now)
    ORDER BY id
    LIMIT :limit
    FOR UPDATE SKIP LOCKED)
RETURNING *;
