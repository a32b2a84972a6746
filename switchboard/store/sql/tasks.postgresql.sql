-- PostgreSQL forms of task queries.

-- name: lock_runner
-- Two coordinators assigning to one runner at once would break its parallel limit.
SELECT name FROM runners WHERE name = :name FOR UPDATE;
