-- Shard layout (see the MySQL file); embedded mode always has 1 × 1.

CREATE TABLE IF NOT EXISTS shard_layout (
  id               INTEGER NOT NULL PRIMARY KEY,
  layout_id        TEXT    NOT NULL,
  shards           INTEGER NOT NULL,
  tables_per_shard INTEGER NOT NULL,
  complete         INTEGER NOT NULL DEFAULT 0,
  create_time      INTEGER NOT NULL,
  update_time      INTEGER NOT NULL
);
