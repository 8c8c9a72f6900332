package strategy

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// refusingCounter refuses every take after making it, as the Redis counter
// with replica acks does when no replica confirms: the unit is counted, the
// error reports TakeRefused.
type refusingCounter struct{ *counter.Memory }

type refusedErr struct{}

func (refusedErr) Error() string {
	return "counter acquire: 0 of 1 replicas confirmed the take: refused"
}
func (refusedErr) TakeRefused() bool { return true }

func (c refusingCounter) Acquire(ctx context.Context, key string, limit int64) (int64, bool, bool, error) {
	n, taken, missing, err := c.Memory.Acquire(ctx, key, limit)
	if taken {
		return n, false, false, refusedErr{}
	}
	return n, taken, missing, err
}

// TestRefusedTakeFallsThrough: a take the counter refuses (TakeRefused, e.g.
// no replica confirmed it) is not granted and not counted as sold: the draw
// answers the luck award without an error (so the draw breaker does not count
// it as a failure), nothing is pending for the flush, and the award is never
// issued. Run on the in-process twin and on a single Redis without replicas
// with ReplicaAcks 1.
func TestRefusedTakeFallsThrough(t *testing.T) {
	impls := []struct {
		name string
		new  func(t *testing.T) Counter
	}{
		{"refusing", func(*testing.T) Counter { return refusingCounter{counter.NewMemory()} }},
		{"redis-replica-acks", func(t *testing.T) Counter {
			c, prefix := redisxtest.New(t)
			return counter.NewRedis(c, prefix, counter.RedisOptions{ReplicaAcks: 1, ReplicaAckTimeout: 5 * time.Millisecond})
		}},
	}
	for _, impl := range impls {
		t.Run(impl.name, func(t *testing.T) {
			c := impl.new(t)
			store := newFakeStore()
			e := NewEngine(Config{Counter: c, Store: store})
			if err := e.Arm([]Strategy{oneAward(7, 105, 3)}, demoTrees()); err != nil {
				t.Fatal(err)
			}
			for i := range 6 {
				res, err := e.Raffle(context.Background(), Request{UserID: "u", StrategyID: 7})
				if err != nil {
					t.Fatalf("draw %d: %v; want the luck award, no error", i, err)
				}
				if res.StockTaken || res.AwardID == 105 {
					t.Fatalf("draw %d = %+v: a refused take was granted", i, res)
				}
				if res.AwardID != 101 {
					t.Fatalf("draw %d = %+v, want the luck award 101", i, res)
				}
			}
			if p := e.pendingTakes(7, 105); p != 0 {
				t.Errorf("pending = %d, want 0: refused takes are not sold", p)
			}
			if err := e.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := store.appliedOf(7, 105); n != 0 {
				t.Errorf("flushed %d takes, want 0", n)
			}
		})
	}
	// Any other counter error still fails the draw.
	fc := &failingCounter{Memory: counter.NewMemory()}
	fc.failing.Store(true)
	e := NewEngine(Config{Counter: fc})
	if err := e.Arm([]Strategy{oneAward(7, 105, 3)}, demoTrees()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Raffle(context.Background(), Request{UserID: "u", StrategyID: 7}); !errors.Is(err, errCounterDown) {
		t.Fatalf("draw with a failing counter: %v, want errCounterDown", err)
	}
}
