-- Quota grants are idempotent by id across users and shards (campaign files and
-- the admin API): the first application of an id claims it with its body, and a
-- later grant with the same id and another body is refused.
CREATE TABLE IF NOT EXISTS grant_claim (
  grant_id    VARCHAR(64) NOT NULL,
  user_id     VARCHAR(64) NOT NULL,
  activity_id BIGINT      NOT NULL,
  total_count BIGINT      NOT NULL,
  day_count   BIGINT      NOT NULL,
  month_count BIGINT      NOT NULL,
  create_time BIGINT      NOT NULL,
  PRIMARY KEY (grant_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
