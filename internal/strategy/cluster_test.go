package strategy

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// TestConcurrentTakesNeverOversellOnCluster: two engine instances share a
// counter on a real six-node Redis Cluster; 64 goroutines draw six strategies
// whose stock keys live on different masters; each award is taken exactly its
// count, never more.
func TestConcurrentTakesNeverOversellOnCluster(t *testing.T) {
	const (
		strategies = 6
		count      = 100
	)
	cl := redisxtest.StartCluster(t, redisxtest.ClusterOptions{})
	client, prefix := cl.New(t)
	c := counter.NewRedis(client, prefix)
	var list []Strategy
	for s := range strategies {
		list = append(list, oneAward(int64(10+s), 105, count))
	}
	engines := instances(t, 2, c, nil, list)

	masters := map[string]bool{}
	for s := range strategies {
		m, err := cl.MasterOf(context.Background(), c.Key(StockKey(int64(10+s), 105)))
		if err != nil {
			t.Fatal(err)
		}
		masters[m] = true
	}
	if len(masters) < 2 {
		t.Fatalf("the %d stock keys all live on one master: the test would not cross nodes", strategies)
	}

	var taken [strategies]atomic.Int64
	var wg sync.WaitGroup
	for g := range 64 {
		e := engines[g%2]
		wg.Go(func() {
			for i := range 30 {
				s := (g + i) % strategies
				res, err := e.Raffle(context.Background(), Request{UserID: "u", StrategyID: int64(10 + s)})
				if err != nil {
					t.Error(err)
					return
				}
				if res.StockTaken && res.AwardID == 105 {
					taken[s].Add(1)
				}
			}
		})
	}
	wg.Wait()
	for s := range strategies {
		if n := taken[s].Load(); n != count {
			t.Errorf("strategy %d: %d takes, want exactly %d", 10+s, n, count)
		}
		if v := counterValue(t, c, int64(10+s), 105); v != count {
			t.Errorf("strategy %d: counter %d, want %d", 10+s, v, count)
		}
	}
	t.Logf("%d stock keys on %d of 3 masters, %d draws", strategies, len(masters), 64*30)
}
