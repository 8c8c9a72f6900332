-- Fixture: user rows of `big_market_01` (schema: user_schema.sql).
-- lg_alice: draws used, one raffle order not yet drawn, one award not yet
-- delivered, SKU orders (one waiting for payment), a credit account and ledger,
-- a delivered sign-in rebate (its credit order carries the rebate's biz id).
-- lg_bob: plenty of total quota (the test adds today's exhausted day row).
-- lg_dave: an account on an activity the campaign does not have.
SET NAMES utf8mb4;

INSERT INTO `raffle_activity_account` (`user_id`, `activity_id`, `total_count`, `total_count_surplus`, `day_count`, `day_count_surplus`, `month_count`, `month_count_surplus`, `create_time`, `update_time`) VALUES
  ('lg_alice', 100301, 10, 3, 10, 3, 10, 3, '2024-06-09 16:39:17', '2024-06-09 18:44:43'),
  ('lg_bob', 100301, 100, 50, 100, 50, 100, 50, '2024-06-10 08:16:55', '2024-06-10 09:36:26'),
  ('lg_dave', 999999, 5, 5, 5, 5, 5, 5, '2024-06-10 08:16:55', '2024-06-10 08:16:55');

INSERT INTO `raffle_activity_account_month` (`user_id`, `activity_id`, `month`, `month_count`, `month_count_surplus`, `create_time`, `update_time`) VALUES
  ('lg_alice', 100301, '2024-06', 10, 3, '2024-06-09 16:39:17', '2024-06-09 18:44:43'),
  ('lg_bob', 100301, '2024-06', 100, 50, '2024-06-10 08:16:55', '2024-06-10 09:36:26');

INSERT INTO `raffle_activity_account_day` (`user_id`, `activity_id`, `day`, `day_count`, `day_count_surplus`, `create_time`, `update_time`) VALUES
  ('lg_alice', 100301, '2024-06-09', 10, 3, '2024-06-09 16:39:17', '2024-06-09 18:44:43'),
  ('lg_bob', 100301, '2024-06-10', 100, 50, '2024-06-10 08:16:55', '2024-06-10 09:36:26');

INSERT INTO `raffle_activity_order_001` (`user_id`, `sku`, `activity_id`, `activity_name`, `strategy_id`, `order_id`, `order_time`, `total_count`, `day_count`, `month_count`, `pay_amount`, `state`, `out_business_no`, `create_time`, `update_time`) VALUES
  ('lg_alice', 9011, 100301, '测试活动', 100006, '761345538871', '2024-06-08 10:40:25', 10, 10, 10, 0.00, 'completed', 'alice_sku_20240608', '2024-06-08 10:40:25', '2024-06-08 10:40:25'),
  ('lg_alice', 9014, 100301, '测试活动', 100006, '837744050164', '2024-06-09 10:40:25', 1, 1, 1, 5.00, 'wait_pay', 'alice_pay_20240609', '2024-06-09 10:40:25', '2024-06-09 10:40:25'),
  ('lg_bob', 9011, 100301, '测试活动', 100006, '164452591012', '2024-06-10 08:00:00', 100, 100, 100, NULL, 'completed', 'bob_sku_20240610', '2024-06-10 08:00:00', '2024-06-10 08:00:00');

INSERT INTO `user_raffle_order_001` (`user_id`, `activity_id`, `activity_name`, `strategy_id`, `order_id`, `order_time`, `order_state`, `endpoint`, `create_time`, `update_time`) VALUES
  ('lg_alice', 100301, '测试活动', 100006, '319208617373', '2024-06-09 16:40:00', 'used', 'web', '2024-06-09 16:40:00', '2024-06-09 16:40:01'),
  ('lg_alice', 100301, '测试活动', 100006, '319208617374', '2024-06-09 16:41:00', 'used', 'web', '2024-06-09 16:41:00', '2024-06-09 16:41:01'),
  ('lg_alice', 100301, '测试活动', 100006, '319208617375', '2024-06-09 18:44:43', 'create', 'web', '2024-06-09 18:44:43', '2024-06-09 18:44:43');

INSERT INTO `user_award_record_001` (`user_id`, `activity_id`, `strategy_id`, `order_id`, `award_id`, `award_title`, `award_time`, `award_state`, `create_time`, `update_time`) VALUES
  ('lg_alice', 100301, 100006, '319208617373', 101, '随机积分', '2024-06-09 16:40:00', 'completed', '2024-06-09 16:40:00', '2024-06-09 16:40:02'),
  ('lg_alice', 100301, 100006, '319208617374', 101, '随机积分', '2024-06-09 16:41:00', 'create', '2024-06-09 16:41:00', '2024-06-09 16:41:00');

INSERT INTO `user_credit_account` (`user_id`, `total_amount`, `available_amount`, `account_status`, `create_time`, `update_time`) VALUES
  ('lg_alice', 1234.56, 1000.01, 'open', '2024-06-01 09:00:00', '2024-06-09 16:40:02');

INSERT INTO `user_credit_order_001` (`user_id`, `order_id`, `trade_name`, `trade_type`, `trade_amount`, `out_business_no`, `create_time`, `update_time`) VALUES
  ('lg_alice', '100000000001', '行为返利', 'forward', 10.00, 'lg_alice_integral_20240601', '2024-06-01 09:00:00', '2024-06-01 09:00:00'),
  ('lg_alice', '100000000004', '充值', 'forward', 990.00, 'alice_topup_20240601', '2024-06-01 10:00:00', '2024-06-01 10:00:00'),
  ('lg_alice', '100000000002', '抽奖中奖', 'forward', 234.56, '319208617373', '2024-06-09 16:40:02', '2024-06-09 16:40:02'),
  ('lg_alice', '100000000003', '兑换抽奖', 'reverse', 234.55, 'alice_sku_20240607', '2024-06-07 12:00:00', '2024-06-07 12:00:00');

INSERT INTO `user_behavior_rebate_order_001` (`user_id`, `order_id`, `behavior_type`, `rebate_desc`, `rebate_type`, `rebate_config`, `out_business_no`, `biz_id`, `create_time`, `update_time`) VALUES
  ('lg_alice', '200000000001', 'sign', '签到返利-积分', 'integral', '10', '20240601', 'lg_alice_integral_20240601', '2024-06-01 09:00:00', '2024-06-01 09:00:00');

INSERT INTO `task` (`user_id`, `topic`, `message_id`, `message`, `state`) VALUES
  ('lg_alice', 'send_award', '12345678901', '{"data":{"userId":"lg_alice","awardId":101},"id":"12345678901"}', 'create');

INSERT INTO `user_login_log` (`user_id`, `login_time`) VALUES ('lg_alice', '2024-06-09 16:00:00');
