-- Secrets in what a runner's runs store and log are redacted, unless the runner opts out
-- (1: redact, 0: raw text; `runner edit --no-redact`, or "redact": false in its config.json).
ALTER TABLE runners ADD COLUMN redact INTEGER NOT NULL DEFAULT 1;
