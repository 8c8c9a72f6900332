-- Config database: awards, strategies, rule trees, activities, quota packages,
-- SKUs, stages, rebates, quota grants, campaign metadata, dynamic configuration
-- and job leases. Times are unix milliseconds, money hundredths, rates millionths.

CREATE TABLE IF NOT EXISTS award (
  award_id     INTEGER PRIMARY KEY,
  award_key    TEXT    NOT NULL,
  award_config TEXT    NOT NULL DEFAULT '',
  award_desc   TEXT    NOT NULL DEFAULT '',
  create_time  INTEGER NOT NULL,
  update_time  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS strategy (
  strategy_id   INTEGER PRIMARY KEY,
  strategy_desc TEXT    NOT NULL DEFAULT '',
  weight_match  TEXT    NOT NULL DEFAULT '',
  create_time   INTEGER NOT NULL,
  update_time   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS strategy_award (
  id                  INTEGER PRIMARY KEY,
  strategy_id         INTEGER NOT NULL,
  award_id            INTEGER NOT NULL,
  award_title         TEXT    NOT NULL DEFAULT '',
  award_subtitle      TEXT    NOT NULL DEFAULT '',
  award_count         INTEGER NOT NULL,
  award_count_surplus INTEGER NOT NULL,
  award_rate          INTEGER NOT NULL,
  rule_models         TEXT    NOT NULL DEFAULT '',
  sort                INTEGER NOT NULL DEFAULT 0,
  create_time         INTEGER NOT NULL,
  update_time         INTEGER NOT NULL,
  UNIQUE (strategy_id, award_id)
);

CREATE TABLE IF NOT EXISTS strategy_rule (
  id          INTEGER PRIMARY KEY,
  strategy_id INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  rule_model  TEXT    NOT NULL,
  rule_value  TEXT    NOT NULL DEFAULT '',
  rule_desc   TEXT    NOT NULL DEFAULT '',
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  UNIQUE (strategy_id, rule_model)
);

CREATE TABLE IF NOT EXISTS rule_tree (
  tree_id            TEXT    PRIMARY KEY,
  tree_name          TEXT    NOT NULL DEFAULT '',
  tree_desc          TEXT    NOT NULL DEFAULT '',
  tree_root_rule_key TEXT    NOT NULL,
  create_time        INTEGER NOT NULL,
  update_time        INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS rule_tree_node (
  id          INTEGER PRIMARY KEY,
  tree_id     TEXT    NOT NULL,
  rule_key    TEXT    NOT NULL,
  rule_value  TEXT    NOT NULL DEFAULT '',
  rule_desc   TEXT    NOT NULL DEFAULT '',
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  UNIQUE (tree_id, rule_key)
);

CREATE TABLE IF NOT EXISTS rule_tree_node_line (
  id               INTEGER PRIMARY KEY,
  tree_id          TEXT    NOT NULL,
  rule_node_from   TEXT    NOT NULL,
  rule_node_to     TEXT    NOT NULL,
  rule_limit_value TEXT    NOT NULL,
  create_time      INTEGER NOT NULL,
  update_time      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_rule_tree_node_line_tree ON rule_tree_node_line (tree_id);

CREATE TABLE IF NOT EXISTS raffle_activity (
  activity_id     INTEGER PRIMARY KEY,
  activity_name   TEXT    NOT NULL DEFAULT '',
  activity_desc   TEXT    NOT NULL DEFAULT '',
  begin_date_time INTEGER NOT NULL,
  end_date_time   INTEGER NOT NULL,
  strategy_id     INTEGER NOT NULL,
  state           TEXT    NOT NULL,
  create_time     INTEGER NOT NULL,
  update_time     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_raffle_activity_strategy ON raffle_activity (strategy_id);

CREATE TABLE IF NOT EXISTS raffle_activity_count (
  activity_count_id INTEGER PRIMARY KEY,
  total_count       INTEGER NOT NULL,
  day_count         INTEGER NOT NULL,
  month_count       INTEGER NOT NULL,
  create_time       INTEGER NOT NULL,
  update_time       INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS raffle_activity_sku (
  sku                 INTEGER PRIMARY KEY,
  activity_id         INTEGER NOT NULL,
  activity_count_id   INTEGER NOT NULL,
  stock_count         INTEGER NOT NULL,
  stock_count_surplus INTEGER NOT NULL,
  product_amount      INTEGER NOT NULL,
  create_time         INTEGER NOT NULL,
  update_time         INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_raffle_activity_sku_activity ON raffle_activity_sku (activity_id);

CREATE TABLE IF NOT EXISTS raffle_activity_stage (
  id          INTEGER PRIMARY KEY,
  channel     TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  activity_id INTEGER NOT NULL,
  state       TEXT    NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  UNIQUE (channel, source)
);

CREATE TABLE IF NOT EXISTS daily_behavior_rebate (
  id            INTEGER PRIMARY KEY,
  behavior_type TEXT    NOT NULL,
  rebate_desc   TEXT    NOT NULL DEFAULT '',
  rebate_type   TEXT    NOT NULL,
  rebate_config TEXT    NOT NULL,
  state         TEXT    NOT NULL,
  create_time   INTEGER NOT NULL,
  update_time   INTEGER NOT NULL,
  UNIQUE (behavior_type, rebate_type, rebate_config)
);

CREATE TABLE IF NOT EXISTS quota_grant (
  grant_id    TEXT    PRIMARY KEY,
  user_id     TEXT    NOT NULL,
  activity_id INTEGER NOT NULL,
  total_count INTEGER NOT NULL,
  day_count   INTEGER NOT NULL,
  month_count INTEGER NOT NULL,
  state       TEXT    NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_quota_grant_state ON quota_grant (state);

CREATE TABLE IF NOT EXISTS campaign_meta (
  meta_key    TEXT    PRIMARY KEY,
  meta_value  TEXT    NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS dynamic_config (
  config_key   TEXT    PRIMARY KEY,
  config_value TEXT    NOT NULL,
  create_time  INTEGER NOT NULL,
  update_time  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS job_lease (
  lease_name  TEXT    PRIMARY KEY,
  owner       TEXT    NOT NULL,
  expires_at  INTEGER NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL
);
