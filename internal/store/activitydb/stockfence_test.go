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
			case <-time.After(30 * time.Millisecond):
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
	for i := range 200 {
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

// pausingCounter holds the first successful take until released, so that the
// order that made it stays in flight.
type pausingCounter struct {
	*counter.Redis
	once    sync.Once
	taken   chan struct{}
	release chan struct{}
}

func (c *pausingCounter) Acquire(ctx context.Context, key string, limit int64) (int64, bool, bool, error) {
	n, taken, missing, err := c.Redis.Acquire(ctx, key, limit)
	if taken {
		c.once.Do(func() {
			close(c.taken)
			<-c.release
		})
	}
	return n, taken, missing, err
}

// TestSKUOrderInFlightAcrossRebuild is the SKU form of the interleaving of
// issue 7 (5), on MariaDB and Redis: order 1 takes the only unit and has not
// stored its order; the counter is wiped; order 2 comes; order 1 is stored;
// more orders come. At most one order may be stored. Before the fence, order 2
// rebuilt the counter from 0 stored orders and took a second unit.
func TestSKUOrderInFlightAcrossRebuild(t *testing.T) {
	db := sqldbtest.OpenConfig(t, sqldbtest.MySQLConfig(t, 2, 4))
	rc, prefix := redisxtest.New(t)
	ctx := context.Background()
	sku := activity.SKU{SKU: 7702, ActivityID: 770002, CountID: 78, Stock: 1}
	act := activity.Activity{ID: 770002, Name: "fence", StrategyID: 1, State: activity.StateOpen,
		Begin: time.Now().Add(-time.Hour), End: time.Now().Add(time.Hour)}
	count := activity.Count{ID: 78, Total: 1, Day: 1, Month: 1}
	store := activitydb.New(db)
	ctr := &pausingCounter{Redis: counter.NewRedis(rc, prefix), taken: make(chan struct{}), release: make(chan struct{})}
	svc := activity.NewService(activity.Config{Store: store, Counter: ctr, Fence: fencedb.New(db)})
	order := func(i int) error {
		req := activity.SKUOrderRequest{UserID: fmt.Sprintf("iu%d", i), SKU: sku.SKU, OutBusinessNo: fmt.Sprintf("ib%d", i), Trade: activity.TradeRebate}
		_, err := svc.CreateSKUOrder(ctx, req, sku, act, count)
		return err
	}
	first := make(chan error, 1)
	go func() { first <- order(1) }()
	<-ctr.taken
	if err := ctr.Delete(ctx, activity.SKUStockKey(sku.SKU)); err != nil {
		t.Fatal(err)
	}
	second := make(chan error, 1)
	go func() { second <- order(2) }()
	time.Sleep(300 * time.Millisecond)
	close(ctr.release)
	errs := []error{<-first, <-second}
	for i := 3; i < 6; i++ {
		errs = append(errs, order(i))
	}
	sold := 0
	for i, err := range errs {
		switch {
		case err == nil:
			sold++
		case errors.Is(err, activity.ErrSKUStockOut), errors.Is(err, activity.ErrStockCounterLost):
		default:
			t.Errorf("order %d: %v", i+1, err)
		}
	}
	stored, err := store.CountSKUOrders(ctx, sku.SKU)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("orders answered %d, stored %d, stock 1", sold, stored)
	if sold > 1 || stored > 1 {
		t.Fatalf("SKU of stock 1: %d orders answered, %d stored", sold, stored)
	}
}
