-- The last publish error of an outbox task, shown to operators (admin API
-- GET tasks and the console's outbox screen); cleared when the task completes.

ALTER TABLE task ADD COLUMN IF NOT EXISTS last_error VARCHAR(512) NOT NULL DEFAULT '';
