-- Shard layout: how many shard databases (N) and tables per shard (M) user rows
-- are routed over, and an identity, recorded by the first migrate (or start)
-- and checked at every start. One row, id = 1; complete is set once every
-- shard database carries its marker (shard_marker).

CREATE TABLE IF NOT EXISTS shard_layout (
  id               INT         NOT NULL,
  layout_id        VARCHAR(32) NOT NULL,
  shards           INT         NOT NULL,
  tables_per_shard INT         NOT NULL,
  complete         TINYINT     NOT NULL DEFAULT 0,
  create_time      BIGINT      NOT NULL,
  update_time      BIGINT      NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
