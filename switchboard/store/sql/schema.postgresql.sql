-- PostgreSQL forms of the migration runner's queries.

-- name: version_table_exists
SELECT to_regclass('schema_version') IS NOT NULL AS present;

-- name: lock
-- Serialises concurrent migrators across hosts until the transaction ends.
SELECT pg_advisory_xact_lock(7405013902) AS locked;
