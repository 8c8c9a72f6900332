-- Shard marker: which shard of which layout (shard_layout in the config
-- database) this database is, so that reordered or replaced shard DSNs are
-- detected at start. One row, id = 1.

CREATE TABLE IF NOT EXISTS shard_marker (
  id               INT         NOT NULL,
  layout_id        VARCHAR(32) NOT NULL,
  shard_index      INT         NOT NULL,
  shards           INT         NOT NULL,
  tables_per_shard INT         NOT NULL,
  create_time      BIGINT      NOT NULL,
  update_time      BIGINT      NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
