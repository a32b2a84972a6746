-- What memory was asked to do: each store (or merge) and each recall, for `memory log`.
-- One INSERT per event, in the transaction that does it; rows older than the newest
-- 10,000 are deleted as new ones arrive (memory.sql log_trim), so it stays bounded.
CREATE TABLE memory_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DOUBLE PRECISION NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('store', 'merge', 'recall')),
    namespace TEXT NOT NULL,
    agent TEXT,
    -- What was stored (cut to 200 characters) or asked.
    text TEXT NOT NULL,
    memory_id INTEGER,
    hits INTEGER
);
