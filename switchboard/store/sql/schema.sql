-- Queries of the migration runner.

-- name: version_table_exists
SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'schema_version';

-- name: current_version
SELECT max(version) AS version FROM schema_version;

-- name: has_version
SELECT 1 AS present FROM schema_version WHERE version = :version;

-- name: lock
-- BEGIN IMMEDIATE already holds the write lock on SQLite.
SELECT 1 AS locked;

-- name: create_version_table
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
);

-- name: record_version
INSERT INTO schema_version (version, name, applied_at) VALUES (:version, :name, :now);
