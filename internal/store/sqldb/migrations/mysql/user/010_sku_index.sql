-- SKU stock: the durable count of units taken is the number of quota orders of
-- a SKU (activitydb.CountSKUOrders), read in every shard table when a counter is
-- rebuilt; without an index that count scans the whole table.
CREATE INDEX IF NOT EXISTS idx_sku ON raffle_activity_order{{suffix}} (sku);
