-- The console's statistics (GET /api/admin/v1/stats) count today's and the last
-- hour's rows of each table by time; without these indexes each count scans
-- every shard table whole.
CREATE INDEX IF NOT EXISTS idx_user_raffle_order_time{{suffix}} ON user_raffle_order{{suffix}} (order_time);
CREATE INDEX IF NOT EXISTS idx_user_award_record_time{{suffix}} ON user_award_record{{suffix}} (award_time);
CREATE INDEX IF NOT EXISTS idx_raffle_activity_order_time{{suffix}} ON raffle_activity_order{{suffix}} (order_time);
CREATE INDEX IF NOT EXISTS idx_user_behavior_rebate_order_time{{suffix}} ON user_behavior_rebate_order{{suffix}} (create_time);
CREATE INDEX IF NOT EXISTS idx_user_credit_order_time{{suffix}} ON user_credit_order{{suffix}} (create_time);
