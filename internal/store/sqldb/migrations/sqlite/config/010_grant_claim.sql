-- Quota grants are idempotent by id across users and shards (campaign files and
-- the admin API): the first application of an id claims it with its body, and a
-- later grant with the same id and another body is refused.
CREATE TABLE IF NOT EXISTS grant_claim (
  grant_id    TEXT    PRIMARY KEY,
  user_id     TEXT    NOT NULL,
  activity_id INTEGER NOT NULL,
  total_count INTEGER NOT NULL,
  day_count   INTEGER NOT NULL,
  month_count INTEGER NOT NULL,
  create_time INTEGER NOT NULL
);
