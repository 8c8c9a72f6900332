-- Per-user tables. {{suffix}} is "" in SQLite; it is kept in table and index
-- names so the file reads like its MySQL twin.

CREATE TABLE IF NOT EXISTS raffle_activity_account{{suffix}} (
  id                  INTEGER PRIMARY KEY,
  user_id             TEXT    NOT NULL,
  activity_id         INTEGER NOT NULL,
  total_count         INTEGER NOT NULL,
  total_count_surplus INTEGER NOT NULL,
  day_count           INTEGER NOT NULL,
  day_count_surplus   INTEGER NOT NULL,
  month_count         INTEGER NOT NULL,
  month_count_surplus INTEGER NOT NULL,
  create_time         INTEGER NOT NULL,
  update_time         INTEGER NOT NULL,
  UNIQUE (user_id, activity_id)
);

CREATE TABLE IF NOT EXISTS raffle_activity_account_month{{suffix}} (
  id                  INTEGER PRIMARY KEY,
  user_id             TEXT    NOT NULL,
  activity_id         INTEGER NOT NULL,
  month               TEXT    NOT NULL,
  month_count         INTEGER NOT NULL,
  month_count_surplus INTEGER NOT NULL,
  create_time         INTEGER NOT NULL,
  update_time         INTEGER NOT NULL,
  UNIQUE (user_id, activity_id, month)
);

CREATE TABLE IF NOT EXISTS raffle_activity_account_day{{suffix}} (
  id                INTEGER PRIMARY KEY,
  user_id           TEXT    NOT NULL,
  activity_id       INTEGER NOT NULL,
  day               TEXT    NOT NULL,
  day_count         INTEGER NOT NULL,
  day_count_surplus INTEGER NOT NULL,
  create_time       INTEGER NOT NULL,
  update_time       INTEGER NOT NULL,
  UNIQUE (user_id, activity_id, day)
);

CREATE TABLE IF NOT EXISTS raffle_activity_order{{suffix}} (
  id              INTEGER PRIMARY KEY,
  user_id         TEXT    NOT NULL,
  sku             INTEGER NOT NULL,
  activity_id     INTEGER NOT NULL,
  activity_name   TEXT    NOT NULL DEFAULT '',
  strategy_id     INTEGER NOT NULL,
  order_id        TEXT    NOT NULL UNIQUE,
  order_time      INTEGER NOT NULL,
  total_count     INTEGER NOT NULL,
  day_count       INTEGER NOT NULL,
  month_count     INTEGER NOT NULL,
  pay_amount      INTEGER NOT NULL,
  state           TEXT    NOT NULL,
  out_business_no TEXT    NOT NULL UNIQUE,
  create_time     INTEGER NOT NULL,
  update_time     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_raffle_activity_order_user{{suffix}} ON raffle_activity_order{{suffix}} (user_id, activity_id);

CREATE TABLE IF NOT EXISTS user_raffle_order{{suffix}} (
  id            INTEGER PRIMARY KEY,
  user_id       TEXT    NOT NULL,
  activity_id   INTEGER NOT NULL,
  activity_name TEXT    NOT NULL DEFAULT '',
  strategy_id   INTEGER NOT NULL,
  order_id      TEXT    NOT NULL UNIQUE,
  order_time    INTEGER NOT NULL,
  order_state   TEXT    NOT NULL,
  create_time   INTEGER NOT NULL,
  update_time   INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_user_raffle_order_state{{suffix}} ON user_raffle_order{{suffix}} (user_id, activity_id, order_state);

CREATE TABLE IF NOT EXISTS user_award_record{{suffix}} (
  id           INTEGER PRIMARY KEY,
  user_id      TEXT    NOT NULL,
  activity_id  INTEGER NOT NULL,
  strategy_id  INTEGER NOT NULL,
  order_id     TEXT    NOT NULL UNIQUE,
  award_id     INTEGER NOT NULL,
  award_title  TEXT    NOT NULL DEFAULT '',
  award_config TEXT    NOT NULL DEFAULT '',
  award_amount INTEGER NOT NULL DEFAULT 0,
  stock_taken  INTEGER NOT NULL DEFAULT 0,
  award_time   INTEGER NOT NULL,
  award_state  TEXT    NOT NULL,
  create_time  INTEGER NOT NULL,
  update_time  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_user_award_record_stock{{suffix}} ON user_award_record{{suffix}} (strategy_id, award_id, stock_taken);
CREATE INDEX IF NOT EXISTS idx_user_award_record_user{{suffix}} ON user_award_record{{suffix}} (user_id, award_time);

CREATE TABLE IF NOT EXISTS user_behavior_rebate_order{{suffix}} (
  id              INTEGER PRIMARY KEY,
  user_id         TEXT    NOT NULL,
  order_id        TEXT    NOT NULL UNIQUE,
  behavior_type   TEXT    NOT NULL,
  rebate_desc     TEXT    NOT NULL DEFAULT '',
  rebate_type     TEXT    NOT NULL,
  rebate_config   TEXT    NOT NULL,
  out_business_no TEXT    NOT NULL,
  biz_id          TEXT    NOT NULL UNIQUE,
  state           TEXT    NOT NULL,
  create_time     INTEGER NOT NULL,
  update_time     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_user_behavior_rebate_order_user{{suffix}} ON user_behavior_rebate_order{{suffix}} (user_id, out_business_no);

CREATE TABLE IF NOT EXISTS user_credit_account{{suffix}} (
  id               INTEGER PRIMARY KEY,
  user_id          TEXT    NOT NULL UNIQUE,
  total_amount     INTEGER NOT NULL,
  available_amount INTEGER NOT NULL,
  account_status   TEXT    NOT NULL,
  create_time      INTEGER NOT NULL,
  update_time      INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS user_credit_order{{suffix}} (
  id              INTEGER PRIMARY KEY,
  user_id         TEXT    NOT NULL,
  order_id        TEXT    NOT NULL UNIQUE,
  trade_name      TEXT    NOT NULL,
  trade_type      TEXT    NOT NULL,
  trade_amount    INTEGER NOT NULL,
  out_business_no TEXT    NOT NULL UNIQUE,
  create_time     INTEGER NOT NULL,
  update_time     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_user_credit_order_user{{suffix}} ON user_credit_order{{suffix}} (user_id, create_time);
