-- Outbox: one task table per shard database (not split by suffix), so the relay
-- and the retry job scan one table per shard.

CREATE TABLE IF NOT EXISTS task (
  id          INTEGER PRIMARY KEY,
  user_id     TEXT    NOT NULL,
  topic       TEXT    NOT NULL,
  message_id  TEXT    NOT NULL UNIQUE,
  message     TEXT    NOT NULL,
  state       TEXT    NOT NULL,
  attempts    INTEGER NOT NULL DEFAULT 0,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_task_state_update ON task (state, update_time);
