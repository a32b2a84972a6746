-- Outbound webhooks and the outbox of their deliveries (filled by the trigger of
-- migration 0008 when a task ends). Times are epoch seconds.

-- name: insert
INSERT INTO hooks (url, events, format, secret, created_at)
VALUES (:url, :events, :format, :secret, :now)
RETURNING *;

-- name: get
SELECT * FROM hooks WHERE id = :id;

-- name: list
SELECT * FROM hooks ORDER BY id;

-- name: delete
DELETE FROM hooks WHERE id = :id RETURNING *;

-- name: log
SELECT d.*, h.url FROM hook_deliveries d JOIN hooks h ON h.id = d.hook_id
WHERE (CAST(:hook_id AS INTEGER) IS NULL OR d.hook_id = :hook_id)
ORDER BY d.id DESC
LIMIT :limit;

-- name: claim
-- Due deliveries, leased so that two delivery loops never send the same one at once.
UPDATE hook_deliveries
SET lease_expires_at = :lease_until, tries = tries + 1
WHERE id IN (
    SELECT id FROM hook_deliveries
    WHERE status = 'pending' AND available_at <= :now
      AND (lease_expires_at IS NULL OR lease_expires_at < :now)
    ORDER BY id
    LIMIT :limit)
RETURNING *;

-- name: delivered
UPDATE hook_deliveries
SET status = 'delivered', response_code = :code, last_error = NULL, delivered_at = :now,
    lease_expires_at = NULL
WHERE id = :id;

-- name: failed
-- A failed try: again at :available_at, or dead when the tries are used up.
UPDATE hook_deliveries
SET status = CASE WHEN tries >= :max_tries THEN 'dead' ELSE 'pending' END,
    response_code = :code, last_error = :error, available_at = :available_at,
    lease_expires_at = NULL
WHERE id = :id;

-- name: next_due
SELECT min(available_at) AS at FROM hook_deliveries WHERE status = 'pending';

-- name: remember_signature
-- A dispatch request's signature, once: a replay finds it taken and inserts nothing.
INSERT INTO dispatch_nonces (signature, seen_at) VALUES (:signature, :now)
ON CONFLICT (signature) DO NOTHING
RETURNING signature;

-- name: forget_signatures
-- Signatures older than the accepted clock skew can no longer be replayed: their timestamp is refused.
DELETE FROM dispatch_nonces WHERE seen_at < :before;
