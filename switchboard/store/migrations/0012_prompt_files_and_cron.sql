-- Files attached to a task (`task add -f`): a JSON list of {filename, text}, kept with
-- the task so that every attempt, a retry too, sends the same content.
ALTER TABLE tasks ADD COLUMN files TEXT;
-- What a cron job may set beyond its prompt (as the reference cron helper's jobs):
-- the model and workdir of its runs (NULL: the runner's), and who is mailed the
-- report of each run's end.
ALTER TABLE tasks ADD COLUMN model TEXT;
ALTER TABLE tasks ADD COLUMN workdir TEXT;
ALTER TABLE tasks ADD COLUMN notify TEXT;
ALTER TABLE schedules ADD COLUMN timeout_seconds DOUBLE PRECISION;
ALTER TABLE schedules ADD COLUMN model TEXT;
ALTER TABLE schedules ADD COLUMN workdir TEXT;
ALTER TABLE schedules ADD COLUMN notify TEXT;
-- A memory's own time (when it happened, not when it was stored: `store --event-date`)
-- and the project it is about, a scope within its namespace (`--project PATH`).
ALTER TABLE memories ADD COLUMN event_date DOUBLE PRECISION;
ALTER TABLE memories ADD COLUMN project TEXT;
