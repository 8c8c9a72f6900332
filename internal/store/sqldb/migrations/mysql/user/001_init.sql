-- Per-user tables, created once per table suffix ({{suffix}} = _000, _001, …) in
-- every shard database.

CREATE TABLE IF NOT EXISTS raffle_activity_account{{suffix}} (
  id                  BIGINT      NOT NULL AUTO_INCREMENT,
  user_id             VARCHAR(64) NOT NULL,
  activity_id         BIGINT      NOT NULL,
  total_count         BIGINT      NOT NULL,
  total_count_surplus BIGINT      NOT NULL,
  day_count           BIGINT      NOT NULL,
  day_count_surplus   BIGINT      NOT NULL,
  month_count         BIGINT      NOT NULL,
  month_count_surplus BIGINT      NOT NULL,
  create_time         BIGINT      NOT NULL,
  update_time         BIGINT      NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_user_activity (user_id, activity_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS raffle_activity_account_month{{suffix}} (
  id                  BIGINT      NOT NULL AUTO_INCREMENT,
  user_id             VARCHAR(64) NOT NULL,
  activity_id         BIGINT      NOT NULL,
  month               VARCHAR(7)  NOT NULL,
  month_count         BIGINT      NOT NULL,
  month_count_surplus BIGINT      NOT NULL,
  create_time         BIGINT      NOT NULL,
  update_time         BIGINT      NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_user_activity_month (user_id, activity_id, month)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS raffle_activity_account_day{{suffix}} (
  id                BIGINT      NOT NULL AUTO_INCREMENT,
  user_id           VARCHAR(64) NOT NULL,
  activity_id       BIGINT      NOT NULL,
  day               VARCHAR(10) NOT NULL,
  day_count         BIGINT      NOT NULL,
  day_count_surplus BIGINT      NOT NULL,
  create_time       BIGINT      NOT NULL,
  update_time       BIGINT      NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_user_activity_day (user_id, activity_id, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS raffle_activity_order{{suffix}} (
  id              BIGINT       NOT NULL AUTO_INCREMENT,
  user_id         VARCHAR(64)  NOT NULL,
  sku             BIGINT       NOT NULL,
  activity_id     BIGINT       NOT NULL,
  activity_name   VARCHAR(128) NOT NULL DEFAULT '',
  strategy_id     BIGINT       NOT NULL,
  order_id        VARCHAR(32)  NOT NULL,
  order_time      BIGINT       NOT NULL,
  total_count     BIGINT       NOT NULL,
  day_count       BIGINT       NOT NULL,
  month_count     BIGINT       NOT NULL,
  pay_amount      BIGINT       NOT NULL,
  state           VARCHAR(16)  NOT NULL,
  out_business_no VARCHAR(64)  NOT NULL,
  create_time     BIGINT       NOT NULL,
  update_time     BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_order_id (order_id),
  UNIQUE KEY uq_out_business_no (out_business_no),
  KEY idx_user_activity (user_id, activity_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS user_raffle_order{{suffix}} (
  id            BIGINT       NOT NULL AUTO_INCREMENT,
  user_id       VARCHAR(64)  NOT NULL,
  activity_id   BIGINT       NOT NULL,
  activity_name VARCHAR(128) NOT NULL DEFAULT '',
  strategy_id   BIGINT       NOT NULL,
  order_id      VARCHAR(32)  NOT NULL,
  order_time    BIGINT       NOT NULL,
  order_state   VARCHAR(16)  NOT NULL,
  create_time   BIGINT       NOT NULL,
  update_time   BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_order_id (order_id),
  KEY idx_user_activity_state (user_id, activity_id, order_state)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS user_award_record{{suffix}} (
  id           BIGINT       NOT NULL AUTO_INCREMENT,
  user_id      VARCHAR(64)  NOT NULL,
  activity_id  BIGINT       NOT NULL,
  strategy_id  BIGINT       NOT NULL,
  order_id     VARCHAR(32)  NOT NULL,
  award_id     BIGINT       NOT NULL,
  award_title  VARCHAR(128) NOT NULL DEFAULT '',
  award_config VARCHAR(255) NOT NULL DEFAULT '',
  award_amount BIGINT       NOT NULL DEFAULT 0,
  stock_taken  TINYINT      NOT NULL DEFAULT 0,
  award_time   BIGINT       NOT NULL,
  award_state  VARCHAR(16)  NOT NULL,
  create_time  BIGINT       NOT NULL,
  update_time  BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_order_id (order_id),
  KEY idx_strategy_award_stock (strategy_id, award_id, stock_taken),
  KEY idx_user_time (user_id, award_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS user_behavior_rebate_order{{suffix}} (
  id              BIGINT       NOT NULL AUTO_INCREMENT,
  user_id         VARCHAR(64)  NOT NULL,
  order_id        VARCHAR(32)  NOT NULL,
  behavior_type   VARCHAR(64)  NOT NULL,
  rebate_desc     VARCHAR(255) NOT NULL DEFAULT '',
  rebate_type     VARCHAR(32)  NOT NULL,
  rebate_config   VARCHAR(255) NOT NULL,
  out_business_no VARCHAR(64)  NOT NULL,
  biz_id          VARCHAR(255) NOT NULL,
  state           VARCHAR(16)  NOT NULL,
  create_time     BIGINT       NOT NULL,
  update_time     BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_order_id (order_id),
  UNIQUE KEY uq_biz_id (biz_id),
  KEY idx_user_out_business_no (user_id, out_business_no)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS user_credit_account{{suffix}} (
  id               BIGINT      NOT NULL AUTO_INCREMENT,
  user_id          VARCHAR(64) NOT NULL,
  total_amount     BIGINT      NOT NULL,
  available_amount BIGINT      NOT NULL,
  account_status   VARCHAR(16) NOT NULL,
  create_time      BIGINT      NOT NULL,
  update_time      BIGINT      NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_user_id (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS user_credit_order{{suffix}} (
  id              BIGINT       NOT NULL AUTO_INCREMENT,
  user_id         VARCHAR(64)  NOT NULL,
  order_id        VARCHAR(32)  NOT NULL,
  trade_name      VARCHAR(64)  NOT NULL,
  trade_type      VARCHAR(16)  NOT NULL,
  trade_amount    BIGINT       NOT NULL,
  out_business_no VARCHAR(64)  NOT NULL,
  create_time     BIGINT       NOT NULL,
  update_time     BIGINT       NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uq_order_id (order_id),
  UNIQUE KEY uq_out_business_no (out_business_no),
  KEY idx_user_time (user_id, create_time)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
