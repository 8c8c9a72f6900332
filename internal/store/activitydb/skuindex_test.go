package activitydb_test

import (
	"context"
	"testing"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestQuotaOrdersIndexedBySKU: counting a SKU's quota orders (the durable count
// of its stock taken) reads an index led by sku in every shard table, not the
// whole table.
func TestQuotaOrdersIndexedBySKU(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		q := `SELECT COUNT(*) FROM information_schema.STATISTICS
			WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'sku' AND SEQ_IN_INDEX = 1`
		if db.Driver() == sqldb.DriverSQLite {
			q = `SELECT COUNT(*) FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii
				WHERE ii.seqno = 0 AND ii.name = 'sku'`
		}
		routes := db.Routes()
		if len(routes) == 0 {
			t.Fatal("no shard tables")
		}
		for _, r := range routes {
			table := r.SQL("raffle_activity_order{{suffix}}")
			var n int
			if err := db.Shard(r.Shard).Read().QueryRowContext(context.Background(), q, table).Scan(&n); err != nil {
				t.Fatalf("shard %d %s: %v", r.Shard, table, err)
			}
			if n == 0 {
				t.Errorf("shard %d: %s has no index led by sku", r.Shard, table)
			}
		}
	})
}
