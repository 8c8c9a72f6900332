-- Delivery bookkeeping of award records and rebate orders (internal/award,
-- internal/reconcile): the claim of a webhook delivery (award_state
-- 'delivering', claim_owner, update_time), the reconciler's attempts and the
-- last delivery error, shown to operators; indexes for the reconciler's scan of
-- records not finished, by state and last update.
ALTER TABLE user_award_record{{suffix}} ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_award_record{{suffix}} ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE user_award_record{{suffix}} ADD COLUMN claim_owner TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS idx_user_award_record_state{{suffix}} ON user_award_record{{suffix}} (award_state, update_time);
ALTER TABLE user_behavior_rebate_order{{suffix}} ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE user_behavior_rebate_order{{suffix}} ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS idx_user_behavior_rebate_order_state{{suffix}} ON user_behavior_rebate_order{{suffix}} (state, update_time);
