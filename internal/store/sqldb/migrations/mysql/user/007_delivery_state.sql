-- Delivery bookkeeping of award records and rebate orders (internal/award,
-- internal/reconcile): the claim of a webhook delivery (award_state
-- 'delivering', claim_owner, update_time), the reconciler's attempts and the
-- last delivery error, shown to operators; indexes for the reconciler's scan of
-- records not finished, by state and last update. MariaDB's IF NOT EXISTS lets
-- an interrupted run resume (DDL commits implicitly).
ALTER TABLE user_award_record{{suffix}}
  ADD COLUMN IF NOT EXISTS attempts INT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS last_error VARCHAR(512) NOT NULL DEFAULT '',
  ADD COLUMN IF NOT EXISTS claim_owner VARCHAR(64) NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS idx_state_time ON user_award_record{{suffix}} (award_state, update_time);
ALTER TABLE user_behavior_rebate_order{{suffix}}
  ADD COLUMN IF NOT EXISTS attempts INT NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS last_error VARCHAR(512) NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS idx_state_time ON user_behavior_rebate_order{{suffix}} (state, update_time);
