package activitydb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/fencedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestSKUCounterWipesNeverOversell sells a SKU of stock 40 from two services
// (two instances) on MariaDB (2 × 4) and Redis while another goroutine keeps
// deleting the test's counters: the quota orders stored never exceed the stock.
func TestSKUCounterWipesNeverOversell(t *testing.T) {
	db := sqldbtest.OpenConfig(t, sqldbtest.MySQLConfig(t, 2, 4))
	rc, prefix := redisxtest.New(t)
	const stock = 40
	sku := activity.SKU{SKU: 7701, ActivityID: 770001, CountID: 77, Stock: stock}
	act := activity.Activity{ID: 770001, Name: "fence", StrategyID: 1, State: activity.StateOpen,
		Begin: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour)}
	count := activity.Count{ID: 77, Total: 1, Day: 1, Month: 1}
	store := activitydb.New(db)
	fences := fencedb.New(db)
	svcs := []*activity.Service{
		activity.NewService(activity.Config{Store: store, Counter: counter.NewRedis(rc, prefix), Fence: fences}),
		activity.NewService(activity.Config{Store: store, Counter: counter.NewRedis(rc, prefix), Fence: fences}),
	}
	ctx := context.Background()

	stop := make(chan struct{})
	var wipes atomic.Int64
	wiped := make(chan struct{})
	go func() {
		defer close(wiped)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			keys, err := redisxtest.Keys(ctx, rc, prefix+"counter:")
			if err != nil {
				t.Errorf("list counters: %v", err)
				return
			}
			if len(keys) > 0 {
				if err := redisxtest.DeletePrefix(ctx, rc, prefix+"counter:"); err != nil {
					t.Errorf("wipe: %v", err)
					return
				}
				wipes.Add(1)
			}
		}
	}()
	var sold atomic.Int64
	var wg sync.WaitGroup
	inflight := make(chan struct{}, 32)
	for i := range 300 {
		wg.Go(func() {
			inflight <- struct{}{}
			defer func() { <-inflight }()
			req := activity.SKUOrderRequest{UserID: fmt.Sprintf("su%d", i), SKU: sku.SKU, OutBusinessNo: fmt.Sprintf("ob%d", i), Trade: activity.TradeRebate}
			_, err := svcs[i%2].CreateSKUOrder(ctx, req, sku, act, count)
			switch {
			case err == nil:
				sold.Add(1)
			case errors.Is(err, activity.ErrSKUStockOut), errors.Is(err, activity.ErrStockCounterLost):
			default:
				t.Logf("order %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-wiped
	stored, err := store.CountSKUOrders(ctx, sku.SKU)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wipes %d, orders answered %d, stored %d, stock %d", wipes.Load(), sold.Load(), stored, stock)
	if wipes.Load() == 0 {
		t.Fatal("the counters were never wiped")
	}
	if stored > stock || sold.Load() > stock {
		t.Fatalf("%d quota orders stored (%d answered) for a SKU of stock %d", stored, sold.Load(), stock)
	}
}
