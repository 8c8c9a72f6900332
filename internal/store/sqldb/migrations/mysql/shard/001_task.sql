-- Outbox: one task table per shard database (not split by suffix), so the relay
-- and the retry job scan one table per shard.

CREATE TABLE IF NOT EXISTS task (
  id          BIGINT      NOT NULL AUTO_INCREMENT,
  user_id     VARCHAR(64) NOT NULL,
  topic       VARCHAR(64) NOT NULL,
  message_id  VARCHAR(32) NOT NULL,
  message     TEXT        NOT NULL,
  state       VARCHAR(16) NOT NULL,
  attempts    INT         NOT NULL DEFAULT 0,
  create_time BIGINT      NOT NULL,
  update_time BIGINT      NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_task_message_id (message_id),
  KEY idx_task_state_update (state, update_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
