-- Stock fences: one row per stock counter key per shard database. A transaction
-- that takes stock and records its fact on this shard holds a shared lock on its
-- key's row from before the take until it ends; a counter rebuild bumps gen under
-- an exclusive lock on every shard, so it waits out the takes in flight and makes
-- a retried transaction notice that a rebuild passed (see store/fencedb).

CREATE TABLE IF NOT EXISTS stock_fence (
  stock_key VARCHAR(128) NOT NULL,
  gen       BIGINT       NOT NULL DEFAULT 0,
  PRIMARY KEY (stock_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
