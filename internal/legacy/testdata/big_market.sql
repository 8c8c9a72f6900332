-- Fixture: the config database `big_market` of the original Java big-market
-- platform, written for bigmarket's import tests from the original's schema and
-- sample data (awards, strategies 100001-100006 and 10007, rule trees,
-- activities 100301/100401, counts, SKUs, behaviour rebates, a stage). Column
-- types, collation and value formats are the original's (a MySQL 8 dump); the
-- test loader swaps the collation when the server is MariaDB. Like many forks,
-- it carries columns and a table the original did not have (award.award_img,
-- strategy_award.award_img, raffle_activity.activity_banner, table
-- raffle_activity_banner): the import must ignore them.
SET NAMES utf8mb4;

CREATE TABLE `award` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `award_id` int NOT NULL COMMENT 'award id',
  `award_key` varchar(32) NOT NULL COMMENT 'delivery key',
  `award_config` varchar(32) NOT NULL COMMENT 'delivery parameter',
  `award_desc` varchar(128) NOT NULL,
  `award_img` varchar(255) DEFAULT NULL COMMENT 'fork column',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_award_id` (`award_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `award` (`id`, `award_id`, `award_key`, `award_config`, `award_desc`, `create_time`, `update_time`) VALUES
  (1, 101, 'user_credit_random', '1,100', '用户积分【优先透彻规则范围，如果没有则走配置】', '2023-12-09 11:07:06', '2023-12-09 11:21:31'),
  (2, 102, 'openai_use_count', '5', 'OpenAI 增加使用次数', '2023-12-09 11:07:06', '2023-12-09 11:12:59'),
  (3, 103, 'openai_use_count', '10', 'OpenAI 增加使用次数', '2023-12-09 11:07:06', '2023-12-09 11:12:59'),
  (4, 104, 'openai_use_count', '20', 'OpenAI 增加使用次数', '2023-12-09 11:07:06', '2023-12-09 11:12:58'),
  (5, 105, 'openai_model', 'gpt-4', 'OpenAI 增加模型', '2023-12-09 11:07:06', '2023-12-09 11:12:01'),
  (6, 106, 'openai_model', 'dall-e-2', 'OpenAI 增加模型', '2023-12-09 11:07:06', '2023-12-09 11:12:08'),
  (7, 107, 'openai_model', 'dall-e-3', 'OpenAI 增加模型', '2023-12-09 11:07:06', '2023-12-09 11:12:10'),
  (8, 108, 'openai_use_count', '100', 'OpenAI 增加使用次数', '2023-12-09 11:07:06', '2023-12-09 11:12:55'),
  (9, 109, 'openai_model', 'gpt-4,dall-e-2,dall-e-3', 'OpenAI 增加模型', '2023-12-09 11:07:06', '2023-12-09 11:12:39'),
  (10, 100, 'user_credit_blacklist', '1', '黑名单积分', '2024-01-06 12:30:40', '2024-01-06 12:30:46'),
  (11, 110, 'openai_use_count', '1', 'OpenAI 增加使用次数', '2024-10-06 12:00:00', '2024-10-06 12:00:00'),
  (12, 111, 'openai_use_count', '5', 'OpenAI 增加使用次数', '2024-10-06 12:00:00', '2024-10-06 12:00:00'),
  (13, 112, 'openai_use_count', '10', 'OpenAI 增加使用次数', '2024-10-06 12:00:00', '2024-10-06 12:00:00'),
  (14, 113, 'openai_use_count', '15', 'OpenAI 增加使用次数', '2024-10-06 12:00:00', '2024-10-06 12:00:00'),
  (15, 114, 'openai_use_count', '20', 'OpenAI 增加使用次数', '2024-10-06 12:00:00', '2024-10-06 12:00:00'),
  (16, 115, 'openai_use_count', '25', 'OpenAI 增加使用次数', '2024-10-06 12:00:00', '2024-10-06 12:00:00'),
  (17, 116, 'openai_use_count', '50', 'OpenAI 增加使用次数', '2024-10-06 12:00:00', '2024-10-06 12:00:00'),
  (18, 117, 'openai_use_count', '100', 'OpenAI 增加使用次数', '2024-10-06 12:00:00', '2024-10-06 12:00:00');

CREATE TABLE `strategy` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `strategy_id` bigint NOT NULL,
  `strategy_desc` varchar(128) NOT NULL,
  `rule_models` varchar(256) DEFAULT NULL COMMENT 'strategy-level rule chain, in order',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  KEY `idx_strategy_id` (`strategy_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `strategy` (`id`, `strategy_id`, `strategy_desc`, `rule_models`) VALUES
  (1, 100001, '抽奖策略', 'rule_blacklist,rule_weight'),
  (2, 100003, '抽奖策略-验证lock', NULL),
  (3, 100002, '抽奖策略-非完整1概率', NULL),
  (4, 100004, '抽奖策略-随机抽奖', NULL),
  (5, 100005, '抽奖策略-测试概率计算', NULL),
  (6, 100006, '抽奖策略-规则树', 'rule_blacklist,rule_weight'),
  (7, 10007, '抽奖策略-规则树', NULL);

CREATE TABLE `strategy_award` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `strategy_id` bigint NOT NULL,
  `award_id` int NOT NULL,
  `award_title` varchar(128) NOT NULL,
  `award_subtitle` varchar(128) DEFAULT NULL,
  `award_count` int NOT NULL DEFAULT '0',
  `award_count_surplus` int NOT NULL DEFAULT '0',
  `award_rate` decimal(6,4) NOT NULL,
  `rule_models` varchar(256) DEFAULT NULL COMMENT 'rule tree id',
  `sort` int NOT NULL DEFAULT '0',
  `award_img` varchar(255) DEFAULT NULL COMMENT 'fork column',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  KEY `idx_strategy_id_award_id` (`strategy_id`,`award_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `strategy_award` (`id`, `strategy_id`, `award_id`, `award_title`, `award_subtitle`, `award_count`, `award_count_surplus`, `award_rate`, `rule_models`, `sort`) VALUES
  (1, 100001, 101, '随机积分', NULL, 80000, 79998, 0.3000, 'tree_luck_award', 1),
  (2, 100001, 102, '5次使用', NULL, 10000, 9999, 0.2000, 'tree_luck_award', 2),
  (3, 100001, 103, '10次使用', NULL, 5000, 4998, 0.2000, 'tree_luck_award', 3),
  (4, 100001, 104, '20次使用', NULL, 4000, 3999, 0.1000, 'tree_luck_award', 4),
  (5, 100001, 105, '增加gpt-4对话模型', NULL, 600, 600, 0.1000, 'tree_luck_award', 5),
  (6, 100001, 106, '增加dall-e-2画图模型', NULL, 200, 200, 0.0500, 'tree_luck_award', 6),
  (7, 100001, 107, '增加dall-e-3画图模型', '抽奖1次后解锁', 200, 200, 0.0400, 'tree_luck_award', 7),
  (8, 100001, 108, '增加100次使用', '抽奖2次后解锁', 199, 199, 0.0099, 'tree_luck_award', 8),
  (9, 100001, 109, '解锁全部模型', '抽奖6次后解锁', 1, 1, 0.0001, 'tree_luck_award', 9),
  (10, 100002, 101, '随机积分', NULL, 1, 1, 0.5000, 'tree_luck_award', 1),
  (11, 100002, 102, '5次使用', NULL, 1, 1, 0.1000, 'tree_luck_award', 2),
  (12, 100002, 106, '增加dall-e-2画图模型', NULL, 1, 1, 0.0100, 'tree_luck_award', 3),
  (13, 100003, 107, '增加dall-e-3画图模型', '抽奖1次后解锁', 200, 200, 0.0400, 'tree_luck_award', 7),
  (14, 100003, 108, '增加100次使用', '抽奖2次后解锁', 199, 199, 0.0099, 'tree_luck_award', 8),
  (15, 100003, 109, '解锁全部模型', '抽奖6次后解锁', 1, 1, 0.0001, 'tree_luck_award', 9),
  (16, 100004, 109, '解锁全部模型', '抽奖6次后解锁', 1, 1, 1.0000, 'tree_luck_award', 9),
  (17, 100005, 101, '随机积分', NULL, 80000, 80000, 0.0300, 'tree_luck_award', 1),
  (18, 100005, 102, '随机积分', NULL, 80000, 80000, 0.0300, 'tree_luck_award', 1),
  (19, 100005, 103, '随机积分', NULL, 80000, 80000, 0.0300, 'tree_luck_award', 1),
  (20, 100005, 104, '随机积分', NULL, 80000, 80000, 0.0300, 'tree_luck_award', 1),
  (21, 100005, 105, '随机积分', NULL, 80000, 80000, 0.0010, 'tree_luck_award', 1),
  (22, 100006, 101, '随机积分', NULL, 10000, 9982, 0.7900, 'tree_luck_award', 1),
  (23, 100006, 102, 'OpenAI会员卡', NULL, 100, 15, 0.0300, 'tree_luck_award', 2),
  (24, 100006, 103, '支付优惠券', NULL, 100, 38, 0.0300, 'tree_luck_award', 3),
  (25, 100006, 104, '小米台灯', NULL, 100, 28, 0.0300, 'tree_luck_award', 4),
  (26, 100006, 105, '小米su7周体验', '抽奖3次后解锁', 100, 37, 0.0300, 'tree_lock_3', 5),
  (27, 100006, 106, '轻奢办公椅', '抽奖2次后解锁', 100, 22, 0.0300, 'tree_lock_2', 6),
  (28, 100006, 107, '小霸王游戏机', '抽奖1次后解锁', 100, 21, 0.0300, 'tree_lock_1', 7),
  (29, 100006, 108, '暴走玩偶', NULL, 100, 25, 0.0003, 'tree_luck_award', 8),
  (30, 10007, 101, '随机积分', NULL, 1000000, 999990, 0.1000, 'tree_luck_award', 1),
  (31, 10007, 110, '1次使用次数', NULL, 1000000, 999990, 0.8000, 'tree_luck_award', 2),
  (32, 10007, 111, '5次使用次数', NULL, 1000000, 999990, 0.0800, 'tree_luck_award', 3),
  (33, 10007, 112, '10次使用次数', NULL, 1000000, 999990, 0.0100, 'tree_luck_award', 4),
  (34, 10007, 113, '50次使用次数', '抽奖3次后解锁', 1000000, 999990, 0.0002, 'tree_lock_3', 5),
  (35, 10007, 114, '20次使用次数', '抽奖2次后解锁', 1000000, 999990, 0.0040, 'tree_lock_2', 6),
  (36, 10007, 115, '25次使用次数', '抽奖1次后解锁', 1000000, 999990, 0.0008, 'tree_lock_1', 7),
  (37, 10007, 116, '15次使用次数', NULL, 1000000, 999990, 0.0050, 'tree_luck_award', 8);

CREATE TABLE `strategy_rule` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `strategy_id` int NOT NULL,
  `award_id` int DEFAULT NULL COMMENT 'NULL for a strategy-level rule',
  `rule_type` tinyint(1) NOT NULL DEFAULT '0' COMMENT '1 strategy rule, 2 award rule',
  `rule_model` varchar(16) NOT NULL,
  `rule_value` varchar(256) NOT NULL,
  `rule_desc` varchar(128) NOT NULL,
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  KEY `idx_strategy_id_award_id` (`strategy_id`,`award_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

-- Row 3 is an award-level rule from before rule trees: inert in the original.
INSERT INTO `strategy_rule` (`id`, `strategy_id`, `award_id`, `rule_type`, `rule_model`, `rule_value`, `rule_desc`) VALUES
  (1, 100001, NULL, 1, 'rule_weight', '60:102,103,104,105 200:106,107 1000:105', '消耗6000分，必中奖范围'),
  (2, 100001, NULL, 1, 'rule_blacklist', '101:user001,user002,user003', '黑名单抽奖，积分兜底'),
  (3, 100001, 107, 2, 'rule_lock', '1', '抽奖1次后解锁'),
  (4, 100006, NULL, 1, 'rule_weight', '10:102,103 70:106,107 1000:104,105', '消耗6000分，必中奖范围'),
  (5, 100006, NULL, 1, 'rule_blacklist', '101:user001,user002,user003', '黑名单抽奖，积分兜底');

CREATE TABLE `rule_tree` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `tree_id` varchar(32) NOT NULL,
  `tree_name` varchar(64) NOT NULL,
  `tree_desc` varchar(128) DEFAULT NULL,
  `tree_node_rule_key` varchar(32) NOT NULL COMMENT 'root node',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_tree_id` (`tree_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `rule_tree` (`id`, `tree_id`, `tree_name`, `tree_desc`, `tree_node_rule_key`) VALUES
  (1, 'tree_lock_1', '规则树', '规则树', 'rule_lock'),
  (2, 'tree_luck_award', '规则树-兜底奖励', '规则树-兜底奖励', 'rule_stock'),
  (3, 'tree_lock_2', '规则树', '规则树', 'rule_lock'),
  (4, 'tree_lock_3', '规则树', '规则树', 'rule_lock');

CREATE TABLE `rule_tree_node` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `tree_id` varchar(32) NOT NULL,
  `rule_key` varchar(32) NOT NULL,
  `rule_desc` varchar(64) NOT NULL,
  `rule_value` varchar(128) DEFAULT NULL,
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `rule_tree_node` (`id`, `tree_id`, `rule_key`, `rule_desc`, `rule_value`) VALUES
  (1, 'tree_lock_1', 'rule_lock', '限定用户已完成N次抽奖后解锁', '1'),
  (2, 'tree_lock_1', 'rule_luck_award', '兜底奖品随机积分', '101:1,100'),
  (3, 'tree_lock_1', 'rule_stock', '库存扣减规则', NULL),
  (4, 'tree_luck_award', 'rule_stock', '库存扣减规则', NULL),
  (5, 'tree_luck_award', 'rule_luck_award', '兜底奖品随机积分', '101:1,100'),
  (6, 'tree_lock_2', 'rule_lock', '限定用户已完成N次抽奖后解锁', '2'),
  (7, 'tree_lock_2', 'rule_luck_award', '兜底奖品随机积分', '101:1,100'),
  (8, 'tree_lock_2', 'rule_stock', '库存扣减规则', NULL),
  (9, 'tree_lock_3', 'rule_lock', '限定用户已完成N次抽奖后解锁', '3'),
  (10, 'tree_lock_3', 'rule_luck_award', '兜底奖品随机积分', '101:1,100'),
  (11, 'tree_lock_3', 'rule_stock', '库存扣减规则', NULL);

CREATE TABLE `rule_tree_node_line` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `tree_id` varchar(32) NOT NULL,
  `rule_node_from` varchar(32) NOT NULL,
  `rule_node_to` varchar(32) NOT NULL,
  `rule_limit_type` varchar(8) NOT NULL COMMENT 'EQUAL',
  `rule_limit_value` varchar(32) NOT NULL COMMENT 'ALLOW or TAKE_OVER',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `rule_tree_node_line` (`id`, `tree_id`, `rule_node_from`, `rule_node_to`, `rule_limit_type`, `rule_limit_value`) VALUES
  (1, 'tree_lock_1', 'rule_lock', 'rule_stock', 'EQUAL', 'ALLOW'),
  (2, 'tree_lock_1', 'rule_lock', 'rule_luck_award', 'EQUAL', 'TAKE_OVER'),
  (3, 'tree_lock_1', 'rule_stock', 'rule_luck_award', 'EQUAL', 'ALLOW'),
  (4, 'tree_luck_award', 'rule_stock', 'rule_luck_award', 'EQUAL', 'ALLOW'),
  (5, 'tree_lock_2', 'rule_lock', 'rule_stock', 'EQUAL', 'ALLOW'),
  (6, 'tree_lock_2', 'rule_lock', 'rule_luck_award', 'EQUAL', 'TAKE_OVER'),
  (7, 'tree_lock_2', 'rule_stock', 'rule_luck_award', 'EQUAL', 'ALLOW'),
  (8, 'tree_lock_3', 'rule_lock', 'rule_stock', 'EQUAL', 'ALLOW'),
  (9, 'tree_lock_3', 'rule_lock', 'rule_luck_award', 'EQUAL', 'TAKE_OVER'),
  (10, 'tree_lock_3', 'rule_stock', 'rule_luck_award', 'EQUAL', 'ALLOW');

CREATE TABLE `raffle_activity` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `activity_id` bigint NOT NULL,
  `activity_name` varchar(64) NOT NULL,
  `activity_desc` varchar(128) NOT NULL,
  `begin_date_time` datetime NOT NULL,
  `end_date_time` datetime NOT NULL,
  `strategy_id` bigint NOT NULL,
  `state` varchar(8) NOT NULL DEFAULT 'create',
  `activity_banner` varchar(255) DEFAULT NULL COMMENT 'fork column',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_activity_id` (`activity_id`),
  UNIQUE KEY `uq_strategy_id` (`strategy_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `raffle_activity` (`id`, `activity_id`, `activity_name`, `activity_desc`, `begin_date_time`, `end_date_time`, `strategy_id`, `state`) VALUES
  (1, 100301, '测试活动', '测试活动', '2024-03-09 10:15:10', '2034-03-09 10:15:10', 100006, 'open'),
  (2, 100401, 'OpenAi抽奖活动', '签到&支付有奖返利', '2024-10-06 12:09:34', '2034-10-06 12:09:34', 10007, 'open');

CREATE TABLE `raffle_activity_count` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `activity_count_id` bigint NOT NULL,
  `total_count` int NOT NULL,
  `day_count` int NOT NULL,
  `month_count` int NOT NULL,
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_activity_count_id` (`activity_count_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `raffle_activity_count` (`id`, `activity_count_id`, `total_count`, `day_count`, `month_count`) VALUES
  (1, 11101, 150, 150, 150), (2, 11102, 50, 50, 50), (3, 11103, 5, 5, 5), (4, 11104, 1, 1, 1),
  (5, 22201, 1, 1, 1), (6, 22202, 5, 5, 5), (7, 22203, 10, 10, 10);

CREATE TABLE `raffle_activity_sku` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `sku` bigint NOT NULL,
  `activity_id` bigint NOT NULL,
  `activity_count_id` bigint NOT NULL,
  `stock_count` int NOT NULL,
  `stock_count_surplus` int NOT NULL,
  `product_amount` decimal(10,2) NOT NULL COMMENT 'price in credits',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_sku` (`sku`),
  KEY `idx_activity_id_activity_count_id` (`activity_id`,`activity_count_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `raffle_activity_sku` (`id`, `sku`, `activity_id`, `activity_count_id`, `stock_count`, `stock_count_surplus`, `product_amount`) VALUES
  (1, 9011, 100301, 11101, 100000, 99887, 200.00),
  (2, 9012, 100301, 11102, 100000, 99885, 100.00),
  (3, 9013, 100301, 11103, 100000, 99884, 20.00),
  (4, 9014, 100301, 11104, 100000, 99866, 5.00),
  (5, 9901, 100401, 22201, 100000, 99990, 5.00),
  (6, 9902, 100401, 22202, 100000, 99990, 10.00),
  (7, 9903, 100401, 22203, 100000, 99990, 20.00);

CREATE TABLE `daily_behavior_rebate` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `behavior_type` varchar(16) NOT NULL COMMENT 'sign, openai_pay',
  `rebate_desc` varchar(128) NOT NULL,
  `rebate_type` varchar(16) NOT NULL COMMENT 'sku, integral',
  `rebate_config` varchar(32) NOT NULL,
  `state` varchar(12) NOT NULL COMMENT 'open, close',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  KEY `idx_behavior_type` (`behavior_type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `daily_behavior_rebate` (`id`, `behavior_type`, `rebate_desc`, `rebate_type`, `rebate_config`, `state`) VALUES
  (1, 'sign', '签到返利-积分', 'integral', '10', 'open'),
  (2, 'sign', '签到返利-sku额度', 'sku', '9901', 'open'),
  (3, 'openai_pay', '支付返利-积分', 'integral', '10', 'open'),
  (4, 'openai_pay', '支付返利-sku额度', 'sku', '9901', 'open');

CREATE TABLE `raffle_activity_stage` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `channel` varchar(8) NOT NULL,
  `source` varchar(8) NOT NULL,
  `activity_id` bigint NOT NULL,
  `state` varchar(8) NOT NULL DEFAULT 'create' COMMENT 'create, active, expire',
  `create_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `update_time` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (`id`),
  UNIQUE KEY `uq_channel_source` (`channel`,`source`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `raffle_activity_stage` (`id`, `channel`, `source`, `activity_id`, `state`) VALUES
  (1, 'c01', 's01', 100401, 'active');

-- A table of a fork, unknown to the import.
CREATE TABLE `raffle_activity_banner` (
  `id` bigint unsigned NOT NULL AUTO_INCREMENT,
  `activity_id` bigint NOT NULL,
  `banner_url` varchar(255) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;

INSERT INTO `raffle_activity_banner` (`activity_id`, `banner_url`) VALUES (100301, 'https://example.invalid/banner.png');
