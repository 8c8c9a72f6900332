-- Sweep of credit exchanges (internal/exchange): quota orders left in wait_pay
-- or close, by last update.
CREATE INDEX IF NOT EXISTS idx_raffle_activity_order_state{{suffix}} ON raffle_activity_order{{suffix}} (state, update_time);
