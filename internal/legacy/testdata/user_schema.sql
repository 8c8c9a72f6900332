-- Fixture: the schema of a user database of the original Java big-market
-- platform (`big_market_01`, `big_market_02`), written for bigmarket's import
-- tests. As in the original, quota accounts, credit accounts and tasks are one
-- table per database while orders, award records, rebate orders and the credit
-- ledger are split into tables _000 … _003. Column types and collation are the
-- original's; user_raffle_order carries a fork's extra column.
SET NAMES utf8mb4;

CREATE TABLE `raffle_activity_account` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `activity_id` bigint NOT NULL,
  `total_count` int NOT NULL,
  `total_count_surplus` int NOT NULL,
  `day_count` int NOT NULL,
  `day_count_surplus` int NOT NULL,
  `month_count` int NOT NULL,
  `month_count_surplus` int NOT NULL,
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_user_id_activity_id` (`user_id`,`activity_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `raffle_activity_account_day` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `activity_id` bigint NOT NULL,
  `day` varchar(10) NOT NULL COMMENT 'yyyy-mm-dd',
  `day_count` int NOT NULL,
  `day_count_surplus` int NOT NULL,
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_user_id_activity_id_day` (`user_id`,`activity_id`,`day`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `raffle_activity_account_month` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `activity_id` bigint NOT NULL,
  `month` varchar(7) NOT NULL COMMENT 'yyyy-mm',
  `month_count` int NOT NULL,
  `month_count_surplus` int NOT NULL,
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_user_id_activity_id_month` (`user_id`,`activity_id`,`month`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `raffle_activity_order_000` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `sku` bigint NOT NULL,
  `activity_id` bigint NOT NULL,
  `activity_name` varchar(64) NOT NULL,
  `strategy_id` bigint NOT NULL,
  `order_id` varchar(12) NOT NULL,
  `order_time` datetime NOT NULL,
  `total_count` int NOT NULL,
  `day_count` int NOT NULL,
  `month_count` int NOT NULL,
  `pay_amount` decimal(10,2) DEFAULT NULL COMMENT 'credits paid',
  `state` varchar(16) NOT NULL DEFAULT 'complete' COMMENT 'completed, wait_pay',
  `out_business_no` varchar(64) NOT NULL,
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_order_id` (`order_id`),
  UNIQUE KEY `uq_out_business_no` (`out_business_no`),
  KEY `idx_user_id_activity_id` (`user_id`,`activity_id`,`state`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `user_raffle_order_000` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `activity_id` bigint NOT NULL,
  `activity_name` varchar(64) NOT NULL,
  `strategy_id` bigint NOT NULL,
  `order_id` varchar(12) NOT NULL,
  `order_time` datetime NOT NULL,
  `order_state` varchar(16) NOT NULL COMMENT 'create, used, cancel',
  `endpoint` varchar(16) DEFAULT NULL COMMENT 'fork column',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_order_id` (`order_id`),
  KEY `idx_user_id_activity_id` (`user_id`,`activity_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `user_award_record_000` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `activity_id` bigint NOT NULL,
  `strategy_id` bigint NOT NULL,
  `order_id` varchar(12) NOT NULL COMMENT 'the raffle order',
  `award_id` int NOT NULL,
  `award_title` varchar(128) NOT NULL,
  `award_time` datetime NOT NULL,
  `award_state` varchar(16) NOT NULL DEFAULT 'create' COMMENT 'create, completed',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_order_id` (`order_id`),
  KEY `idx_user_id` (`user_id`),
  KEY `idx_activity_id` (`activity_id`),
  KEY `idx_award_id` (`strategy_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `user_behavior_rebate_order_000` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `order_id` varchar(12) NOT NULL,
  `behavior_type` varchar(16) NOT NULL,
  `rebate_desc` varchar(128) NOT NULL,
  `rebate_type` varchar(16) NOT NULL,
  `rebate_config` varchar(32) NOT NULL,
  `out_business_no` varchar(128) NOT NULL,
  `biz_id` varchar(128) NOT NULL,
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_order_id` (`order_id`),
  UNIQUE KEY `uq_biz_id` (`biz_id`),
  KEY `idx_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `user_credit_account` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `total_amount` decimal(10,2) NOT NULL,
  `available_amount` decimal(10,2) NOT NULL,
  `account_status` varchar(8) NOT NULL COMMENT 'open, close',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `user_credit_order_000` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `order_id` varchar(12) NOT NULL,
  `trade_name` varchar(32) NOT NULL,
  `trade_type` varchar(8) NOT NULL COMMENT 'forward, reverse',
  `trade_amount` decimal(10,2) NOT NULL,
  `out_business_no` varchar(64) NOT NULL,
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_order_id` (`order_id`),
  UNIQUE KEY `uq_out_business_no` (`out_business_no`),
  KEY `idx_user_id` (`user_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

CREATE TABLE `raffle_activity_order_001` LIKE `raffle_activity_order_000`;
CREATE TABLE `raffle_activity_order_002` LIKE `raffle_activity_order_000`;
CREATE TABLE `raffle_activity_order_003` LIKE `raffle_activity_order_000`;
CREATE TABLE `user_raffle_order_001` LIKE `user_raffle_order_000`;
CREATE TABLE `user_raffle_order_002` LIKE `user_raffle_order_000`;
CREATE TABLE `user_raffle_order_003` LIKE `user_raffle_order_000`;
CREATE TABLE `user_award_record_001` LIKE `user_award_record_000`;
CREATE TABLE `user_award_record_002` LIKE `user_award_record_000`;
CREATE TABLE `user_award_record_003` LIKE `user_award_record_000`;
CREATE TABLE `user_behavior_rebate_order_001` LIKE `user_behavior_rebate_order_000`;
CREATE TABLE `user_behavior_rebate_order_002` LIKE `user_behavior_rebate_order_000`;
CREATE TABLE `user_behavior_rebate_order_003` LIKE `user_behavior_rebate_order_000`;
CREATE TABLE `user_credit_order_001` LIKE `user_credit_order_000`;
CREATE TABLE `user_credit_order_002` LIKE `user_credit_order_000`;
CREATE TABLE `user_credit_order_003` LIKE `user_credit_order_000`;

CREATE TABLE `task` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `topic` varchar(32) NOT NULL,
  `message_id` varchar(11) DEFAULT NULL,
  `message` varchar(512) NOT NULL,
  `state` varchar(16) NOT NULL DEFAULT 'create' COMMENT 'create, completed, fail',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_message_id` (`message_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

-- A table of a fork, unknown to the import.
CREATE TABLE `user_login_log` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `user_id` varchar(32) NOT NULL,
  `login_time` datetime NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;
