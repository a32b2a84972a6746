-- Files attached to a task (`task add -f`): a JSON list of {filename, text}, kept with
-- the task so that every attempt, a retry too, sends the same content.
ALTER TABLE tasks ADD COLUMN files TEXT;
