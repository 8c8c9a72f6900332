-- Fixture: user rows of `big_market_02` (schema: user_schema.sql).
-- lg_carol: activity 100401, credits from sign-in, an award not yet delivered
-- whose key (openai_use_count) bigmarket hands to a webhook or an operator, and
-- a sign-in rebate not yet delivered (no credit order carries its biz id).
SET NAMES utf8mb4;

INSERT INTO `raffle_activity_account` (`user_id`, `activity_id`, `total_count`, `total_count_surplus`, `day_count`, `day_count_surplus`, `month_count`, `month_count_surplus`, `create_time`, `update_time`) VALUES
  ('lg_carol', 100401, 6, 5, 6, 5, 6, 5, '2024-10-07 10:00:00', '2024-10-07 10:05:00');

INSERT INTO `raffle_activity_account_month` (`user_id`, `activity_id`, `month`, `month_count`, `month_count_surplus`, `create_time`, `update_time`) VALUES
  ('lg_carol', 100401, '2024-10', 6, 5, '2024-10-07 10:00:00', '2024-10-07 10:05:00');

INSERT INTO `raffle_activity_account_day` (`user_id`, `activity_id`, `day`, `day_count`, `day_count_surplus`, `create_time`, `update_time`) VALUES
  ('lg_carol', 100401, '2024-10-07', 6, 5, '2024-10-07 10:00:00', '2024-10-07 10:05:00');

INSERT INTO `raffle_activity_order_002` (`user_id`, `sku`, `activity_id`, `activity_name`, `strategy_id`, `order_id`, `order_time`, `total_count`, `day_count`, `month_count`, `pay_amount`, `state`, `out_business_no`, `create_time`, `update_time`) VALUES
  ('lg_carol', 9901, 100401, 'OpenAi抽奖活动', 10007, '551234567890', '2024-10-07 10:00:00', 1, 1, 1, 0.00, 'completed', 'lg_carol_sku_20241007', '2024-10-07 10:00:00', '2024-10-07 10:00:00'),
  ('lg_carol', 9902, 100401, 'OpenAi抽奖活动', 10007, '551234567891', '2024-10-07 10:01:00', 5, 5, 5, 10.00, 'completed', 'carol_pay_20241007', '2024-10-07 10:01:00', '2024-10-07 10:01:30');

INSERT INTO `user_raffle_order_002` (`user_id`, `activity_id`, `activity_name`, `strategy_id`, `order_id`, `order_time`, `order_state`, `create_time`, `update_time`) VALUES
  ('lg_carol', 100401, 'OpenAi抽奖活动', 10007, '661234567890', '2024-10-07 10:05:00', 'used', '2024-10-07 10:05:00', '2024-10-07 10:05:01');

INSERT INTO `user_award_record_002` (`user_id`, `activity_id`, `strategy_id`, `order_id`, `award_id`, `award_title`, `award_time`, `award_state`, `create_time`, `update_time`) VALUES
  ('lg_carol', 100401, 10007, '661234567890', 110, '1次使用次数', '2024-10-07 10:05:00', 'create', '2024-10-07 10:05:00', '2024-10-07 10:05:00');

INSERT INTO `user_credit_account` (`user_id`, `total_amount`, `available_amount`, `account_status`, `create_time`, `update_time`) VALUES
  ('lg_carol', 30.00, 20.00, 'open', '2024-10-06 09:00:00', '2024-10-07 10:01:30');

INSERT INTO `user_credit_order_002` (`user_id`, `order_id`, `trade_name`, `trade_type`, `trade_amount`, `out_business_no`, `create_time`, `update_time`) VALUES
  ('lg_carol', '300000000001', '行为返利', 'forward', 10.00, 'lg_carol_integral_20241006', '2024-10-06 09:00:00', '2024-10-06 09:00:00'),
  ('lg_carol', '300000000002', '行为返利', 'forward', 20.00, 'lg_carol_integral_20241007', '2024-10-07 09:00:00', '2024-10-07 09:00:00'),
  ('lg_carol', '300000000003', '兑换抽奖', 'reverse', 10.00, 'carol_pay_20241007', '2024-10-07 10:01:30', '2024-10-07 10:01:30');

INSERT INTO `user_behavior_rebate_order_003` (`user_id`, `order_id`, `behavior_type`, `rebate_desc`, `rebate_type`, `rebate_config`, `out_business_no`, `biz_id`, `create_time`, `update_time`) VALUES
  ('lg_carol', '400000000001', 'sign', '签到返利-积分', 'integral', '10', '20241006', 'lg_carol_integral_20241006', '2024-10-06 09:00:00', '2024-10-06 09:00:00'),
  ('lg_carol', '400000000002', 'sign', '签到返利-sku额度', 'sku', '9901', '20241007', 'lg_carol_sku_20241007', '2024-10-07 10:00:00', '2024-10-07 10:00:00'),
  ('lg_carol', '400000000003', 'sign', '签到返利-积分', 'integral', '10', '20241008', 'lg_carol_integral_20241008', '2024-10-08 09:00:00', '2024-10-08 09:00:00');
