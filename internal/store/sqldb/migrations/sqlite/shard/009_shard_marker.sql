-- Shard marker (see the MySQL file).

CREATE TABLE IF NOT EXISTS shard_marker (
  id               INTEGER NOT NULL PRIMARY KEY,
  layout_id        TEXT    NOT NULL,
  shard_index      INTEGER NOT NULL,
  shards           INTEGER NOT NULL,
  tables_per_shard INTEGER NOT NULL,
  create_time      INTEGER NOT NULL,
  update_time      INTEGER NOT NULL
);
