package app_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// TestCounterWipesNeverOversellAwards draws from two instances (MariaDB 2 × 4,
// Redis, RabbitMQ) while another goroutine keeps deleting this test's stock
// counters from Redis (a cache loss under load, confined to the test's own key
// prefix): the award of stock 15 is never issued more than 15 times, whatever
// the rebuilds race.
func TestCounterWipesNeverOversellAwards(t *testing.T) {
	const users, each = 150, 4
	cfg, a, b := sharedStockPair(t, strings.Replace(stockCampaign, "count: 50,", "count: 15,", 1), "wu", users, each)

	rc := redisx.New(redisx.Config{Addrs: cfg.Redis.Addrs})
	defer rc.Close()
	stop := make(chan struct{})
	var wipes atomic.Int64
	wiper := wipeCounters(t, rc, cfg.Redis.Prefix, stop, &wipes)

	won, codes := drawAcross(t, a, b, "wu", users, each, 48) // a draw failed by a wipe: undersell
	close(stop)
	<-wiper
	t.Logf("counter wipes %d, awards issued %v, failed draws %v", wipes.Load(), won, codes)
	if wipes.Load() == 0 {
		t.Fatal("the counters were never wiped")
	}
	if won[102] > 15 {
		t.Fatalf("award 102 issued %d times: stock is 15 (oversold by %d)", won[102], won[102]-15)
	}
	env := call(t, b, "GET", "/api/admin/v1/stock", "")
	var rows []struct{ AwardID, Count, Recorded int64 }
	json.Unmarshal(env.Data, &rows)
	for _, r := range rows {
		if r.Recorded > r.Count {
			t.Fatalf("award %d: %d records against a count of %d (%s)", r.AwardID, r.Recorded, r.Count, env.Data)
		}
	}
	if !strings.Contains(string(env.Data), `"awardId":102`) {
		t.Fatalf("stock %s: award 102 missing", env.Data)
	}
}

// wipeCounters deletes the stock counters under prefix every 150 ms
// until stop closes, counting the rounds that deleted something; the returned
// channel closes when it has stopped. Only this test's keys are touched.
func wipeCounters(t *testing.T, rc redis.UniversalClient, prefix string, stop <-chan struct{}, wipes *atomic.Int64) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		for {
			select {
			case <-stop:
				return
			case <-time.After(150 * time.Millisecond):
			}
			keys, err := redisxtest.Keys(ctx, rc, prefix+"counter:")
			if err != nil {
				t.Errorf("list counters: %v", err)
				return
			}
			if len(keys) == 0 {
				continue
			}
			if err := redisxtest.DeletePrefix(ctx, rc, prefix+"counter:"); err != nil {
				t.Errorf("wipe counters: %v", err)
				return
			}
			wipes.Add(1)
		}
	}()
	return done
}
