-- Config database: awards, strategies, rule trees, activities, quota packages,
-- SKUs, stages, rebates, quota grants, campaign metadata, dynamic configuration
-- and job leases. Times are unix milliseconds, money hundredths, rates millionths.
-- Indexes are declared inside CREATE TABLE so IF NOT EXISTS covers them (MySQL
-- has no CREATE INDEX IF NOT EXISTS).

CREATE TABLE IF NOT EXISTS award (
  award_id     BIGINT       NOT NULL,
  award_key    VARCHAR(64)  NOT NULL,
  award_config VARCHAR(255) NOT NULL DEFAULT '',
  award_desc   VARCHAR(255) NOT NULL DEFAULT '',
  create_time  BIGINT       NOT NULL,
  update_time  BIGINT       NOT NULL,
  PRIMARY KEY (award_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS strategy (
  strategy_id   BIGINT       NOT NULL,
  strategy_desc VARCHAR(255) NOT NULL DEFAULT '',
  weight_match  VARCHAR(16)  NOT NULL DEFAULT '',
  create_time   BIGINT       NOT NULL,
  update_time   BIGINT       NOT NULL,
  PRIMARY KEY (strategy_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS strategy_award (
  id                  BIGINT       NOT NULL AUTO_INCREMENT,
  strategy_id         BIGINT       NOT NULL,
  award_id            BIGINT       NOT NULL,
  award_title         VARCHAR(128) NOT NULL DEFAULT '',
  award_subtitle      VARCHAR(128) NOT NULL DEFAULT '',
  award_count         BIGINT       NOT NULL,
  award_count_surplus BIGINT       NOT NULL,
  award_rate          BIGINT       NOT NULL,
  rule_models         VARCHAR(64)  NOT NULL DEFAULT '',
  sort                INT          NOT NULL DEFAULT 0,
  create_time         BIGINT       NOT NULL,
  update_time         BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_strategy_award (strategy_id, award_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS strategy_rule (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  strategy_id BIGINT       NOT NULL,
  seq         INT          NOT NULL,
  rule_model  VARCHAR(32)  NOT NULL,
  rule_value  TEXT         NOT NULL,
  rule_desc   VARCHAR(255) NOT NULL DEFAULT '',
  create_time BIGINT       NOT NULL,
  update_time BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_strategy_rule (strategy_id, rule_model)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS rule_tree (
  tree_id            VARCHAR(64)  NOT NULL,
  tree_name          VARCHAR(128) NOT NULL DEFAULT '',
  tree_desc          VARCHAR(255) NOT NULL DEFAULT '',
  tree_root_rule_key VARCHAR(32)  NOT NULL,
  create_time        BIGINT       NOT NULL,
  update_time        BIGINT       NOT NULL,
  PRIMARY KEY (tree_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS rule_tree_node (
  id          BIGINT       NOT NULL AUTO_INCREMENT,
  tree_id     VARCHAR(64)  NOT NULL,
  rule_key    VARCHAR(32)  NOT NULL,
  rule_value  VARCHAR(255) NOT NULL DEFAULT '',
  rule_desc   VARCHAR(255) NOT NULL DEFAULT '',
  create_time BIGINT       NOT NULL,
  update_time BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_rule_tree_node (tree_id, rule_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS rule_tree_node_line (
  id               BIGINT      NOT NULL AUTO_INCREMENT,
  tree_id          VARCHAR(64) NOT NULL,
  rule_node_from   VARCHAR(32) NOT NULL,
  rule_node_to     VARCHAR(32) NOT NULL,
  rule_limit_value VARCHAR(16) NOT NULL,
  create_time      BIGINT      NOT NULL,
  update_time      BIGINT      NOT NULL,
  PRIMARY KEY (id),
  KEY idx_rule_tree_node_line_tree (tree_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS raffle_activity (
  activity_id     BIGINT       NOT NULL,
  activity_name   VARCHAR(128) NOT NULL DEFAULT '',
  activity_desc   VARCHAR(255) NOT NULL DEFAULT '',
  begin_date_time BIGINT       NOT NULL,
  end_date_time   BIGINT       NOT NULL,
  strategy_id     BIGINT       NOT NULL,
  state           VARCHAR(16)  NOT NULL,
  create_time     BIGINT       NOT NULL,
  update_time     BIGINT       NOT NULL,
  PRIMARY KEY (activity_id),
  KEY idx_raffle_activity_strategy (strategy_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS raffle_activity_count (
  activity_count_id BIGINT NOT NULL,
  total_count       BIGINT NOT NULL,
  day_count         BIGINT NOT NULL,
  month_count       BIGINT NOT NULL,
  create_time       BIGINT NOT NULL,
  update_time       BIGINT NOT NULL,
  PRIMARY KEY (activity_count_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS raffle_activity_sku (
  sku                 BIGINT NOT NULL,
  activity_id         BIGINT NOT NULL,
  activity_count_id   BIGINT NOT NULL,
  stock_count         BIGINT NOT NULL,
  stock_count_surplus BIGINT NOT NULL,
  product_amount      BIGINT NOT NULL,
  create_time         BIGINT NOT NULL,
  update_time         BIGINT NOT NULL,
  PRIMARY KEY (sku),
  KEY idx_raffle_activity_sku_activity (activity_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS raffle_activity_stage (
  id          BIGINT      NOT NULL,
  channel     VARCHAR(64) NOT NULL,
  source      VARCHAR(64) NOT NULL,
  activity_id BIGINT      NOT NULL,
  state       VARCHAR(16) NOT NULL,
  create_time BIGINT      NOT NULL,
  update_time BIGINT      NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_raffle_activity_stage (channel, source)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS daily_behavior_rebate (
  id            BIGINT       NOT NULL,
  behavior_type VARCHAR(64)  NOT NULL,
  rebate_desc   VARCHAR(255) NOT NULL DEFAULT '',
  rebate_type   VARCHAR(32)  NOT NULL,
  rebate_config VARCHAR(255) NOT NULL,
  state         VARCHAR(16)  NOT NULL,
  create_time   BIGINT       NOT NULL,
  update_time   BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_daily_behavior_rebate (behavior_type, rebate_type, rebate_config)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS quota_grant (
  grant_id    VARCHAR(64) NOT NULL,
  user_id     VARCHAR(64) NOT NULL,
  activity_id BIGINT      NOT NULL,
  total_count BIGINT      NOT NULL,
  day_count   BIGINT      NOT NULL,
  month_count BIGINT      NOT NULL,
  state       VARCHAR(16) NOT NULL,
  create_time BIGINT      NOT NULL,
  update_time BIGINT      NOT NULL,
  PRIMARY KEY (grant_id),
  KEY idx_quota_grant_state (state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS campaign_meta (
  meta_key    VARCHAR(64)  NOT NULL,
  meta_value  VARCHAR(255) NOT NULL,
  create_time BIGINT       NOT NULL,
  update_time BIGINT       NOT NULL,
  PRIMARY KEY (meta_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS dynamic_config (
  config_key   VARCHAR(128)  NOT NULL,
  config_value VARCHAR(1024) NOT NULL,
  create_time  BIGINT        NOT NULL,
  update_time  BIGINT        NOT NULL,
  PRIMARY KEY (config_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS job_lease (
  lease_name  VARCHAR(128) NOT NULL,
  owner       VARCHAR(128) NOT NULL,
  expires_at  BIGINT       NOT NULL,
  create_time BIGINT       NOT NULL,
  update_time BIGINT       NOT NULL,
  PRIMARY KEY (lease_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
