-- The console's statistics (GET /api/admin/v1/stats) count today's and the last
-- hour's rows of each table by time; without these indexes each count scans
-- every shard table whole.
CREATE INDEX IF NOT EXISTS idx_order_time ON user_raffle_order{{suffix}} (order_time);
CREATE INDEX IF NOT EXISTS idx_award_time ON user_award_record{{suffix}} (award_time);
CREATE INDEX IF NOT EXISTS idx_order_time ON raffle_activity_order{{suffix}} (order_time);
CREATE INDEX IF NOT EXISTS idx_create_time ON user_behavior_rebate_order{{suffix}} (create_time);
CREATE INDEX IF NOT EXISTS idx_create_time ON user_credit_order{{suffix}} (create_time);
