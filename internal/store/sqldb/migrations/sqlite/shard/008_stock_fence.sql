-- Stock fences: one row per stock counter key (see the MySQL migration and
-- store/fencedb). SQLite write transactions are exclusive, so the shared lock is
-- the write transaction itself.

CREATE TABLE IF NOT EXISTS stock_fence (
  stock_key TEXT    NOT NULL PRIMARY KEY,
  gen       INTEGER NOT NULL DEFAULT 0
);
