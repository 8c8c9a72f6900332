package activity_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// countingOrders counts the cross-shard counts of quota orders.
type countingOrders struct {
	*activitydb.Store
	counts atomic.Int64
}

func (c *countingOrders) CountSKUOrders(ctx context.Context, sku int64) (int64, error) {
	c.counts.Add(1)
	return c.Store.CountSKUOrders(ctx, sku)
}

// TestSKUStockLeftCountsOnce: the SKU list reads stock left for every SKU; with
// the counter absent (a fresh instance, a cache loss) the quota orders are
// counted across shards once, by one caller, and the counter is seeded so that
// later reads stay in the counter store.
func TestSKUStockLeftCountsOnce(t *testing.T) {
	forEachSetup(t, func(t *testing.T, db *sqldb.DB, c counterStore) {
		f := newSvcFixture(t, db, c)
		sku := f.newSKU(testsvcSKU(t), 10)
		for i := range 3 {
			if _, err := f.order(fmt.Sprintf("lister-%d", i), fmt.Sprintf("list-%d-%d", sku.SKU, i), sku, activity.TradeRebate); err != nil {
				t.Fatal(err)
			}
		}
		ctx := context.Background()
		if err := c.Delete(ctx, activity.SKUStockKey(sku.SKU)); err != nil {
			t.Fatal(err)
		}
		store := &countingOrders{Store: f.store}
		svc := activity.NewService(activity.Config{Store: store, Counter: c})
		var wg sync.WaitGroup
		for range 32 {
			wg.Go(func() {
				if left, err := svc.SKUStockLeft(ctx, sku); err != nil || left != 7 {
					t.Errorf("stock left %d, %v; want 7", left, err)
				}
			})
		}
		wg.Wait()
		for range 10 {
			if left, err := svc.SKUStockLeft(ctx, sku); err != nil || left != 7 {
				t.Fatalf("stock left %d, %v; want 7", left, err)
			}
		}
		if n := store.counts.Load(); n != 1 {
			t.Fatalf("42 stock reads counted the quota orders across shards %d times, want 1", n)
		}
		if got := f.counterValue(sku.SKU); got != 3 {
			t.Fatalf("counter seeded to %d, want the 3 units taken", got)
		}
	})
}
