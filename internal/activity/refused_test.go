package activity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestSKUTakeRefusedByReplicas: on a Redis counter with ReplicaAcks 1 and no
// replica, every SKU take is refused: the order fails with the counter's
// refusal (not activity.ErrSKUStockOut, so a rebate delivery retries instead
// of rejecting for good), nothing is stored, nothing is sold (no order, no
// flushed stock), and no stock-zero report is made even when the refused
// takes reach the limit.
func TestSKUTakeRefusedByReplicas(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		client, prefix := redisxtest.New(t)
		c := counter.NewRedis(client, prefix, counter.RedisOptions{ReplicaAcks: 1, ReplicaAckTimeout: 5 * time.Millisecond})
		f := newSvcFixture(t, db, c)
		ctx := context.Background()
		sku := f.newSKU(testsvcSKU(t), 3)
		for i, biz := range []string{"r-1", "r-2", "r-3"} {
			_, err := f.order("refused-u", biz+"-"+t.Name(), sku, activity.TradeRebate)
			if !errors.Is(err, counter.ErrNotReplicated) || errors.Is(err, activity.ErrSKUStockOut) {
				t.Fatalf("order %d: %v; want the counter's refusal, not stock out", i, err)
			}
		}
		if got, err := f.store.CountSKUOrders(ctx, sku.SKU); err != nil || got != 0 {
			t.Fatalf("CountSKUOrders = %d, %v; want 0", got, err)
		}
		if err := f.svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.dbSurplus(sku.SKU); got != 3 {
			t.Fatalf("database surplus = %d, want 3: refused takes are not sold", got)
		}
		if got := f.zeroReports(sku.SKU); got != 0 {
			t.Fatalf("stock-zero reported %d times, want 0", got)
		}
	})
}
