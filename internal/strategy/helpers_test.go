package strategy

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
)

// fakeStore is an in-test StockStore: records stand for award records that took
// stock; applied sums what ApplyTakes received.
type fakeStore struct {
	mu       sync.Mutex
	records  map[cellID]int64
	applied  map[cellID]int64
	batches  [][]Take
	applyErr error
	countErr error
}

func newFakeStore() *fakeStore {
	return &fakeStore{records: map[cellID]int64{}, applied: map[cellID]int64{}}
}

// record stores n award records of strategy/award that took stock.
func (f *fakeStore) record(strategyID, awardID, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.records[cellID{strategyID, awardID}] += n
}

func (f *fakeStore) CountTakes(_ context.Context, strategyID, awardID int64) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.countErr != nil {
		return 0, f.countErr
	}
	return f.records[cellID{strategyID, awardID}], nil
}

func (f *fakeStore) ApplyTakes(_ context.Context, takes []Take) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.applyErr != nil {
		return f.applyErr
	}
	f.batches = append(f.batches, append([]Take(nil), takes...))
	for _, t := range takes {
		f.applied[cellID{t.StrategyID, t.AwardID}] += t.N
	}
	return nil
}

func (f *fakeStore) setApplyErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applyErr = err
}

func (f *fakeStore) appliedOf(strategyID, awardID int64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied[cellID{strategyID, awardID}]
}

func (f *fakeStore) batchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.batches)
}

var _ StockStore = (*fakeStore)(nil)
var _ Counter = (*counter.Memory)(nil)

// failingCounter wraps a Memory counter and fails Acquire while failing is set.
type failingCounter struct {
	*counter.Memory
	failing atomic.Bool
}

var errCounterDown = errors.New("counter down")

func (c *failingCounter) Acquire(ctx context.Context, key string, limit int64) (int64, bool, bool, error) {
	if c.failing.Load() {
		return 0, false, false, errCounterDown
	}
	return c.Memory.Acquire(ctx, key, limit)
}

// newTestEngine arms strategies and the demo trees on a fresh memory counter.
func newTestEngine(t testing.TB, store StockStore, strategies []Strategy, trees []Tree) (*Engine, *counter.Memory) {
	t.Helper()
	mem := counter.NewMemory()
	cfg := Config{Counter: mem}
	if store != nil {
		cfg.Store = store
	}
	e := NewEngine(cfg)
	if err := e.Arm(strategies, trees); err != nil {
		t.Fatalf("Arm: %v", err)
	}
	return e, mem
}

// counterValue reads a stock counter; -1 when the key is missing.
func counterValue(t testing.TB, c Counter, strategyID, awardID int64) int64 {
	t.Helper()
	n, ok, err := c.Get(context.Background(), StockKey(strategyID, awardID))
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		return -1
	}
	return n
}

// raffle runs one raffle and fails the test on error or an empty award.
func raffle(t testing.TB, e *Engine, req Request) Result {
	t.Helper()
	res, err := e.Raffle(context.Background(), req)
	if err != nil {
		t.Fatalf("Raffle(%+v): %v", req, err)
	}
	if res.AwardID <= 0 {
		t.Fatalf("Raffle(%+v) returned no award: %+v", req, res)
	}
	return res
}

func rateOf(s Strategy, awardID int64) Rate {
	for _, a := range s.Awards {
		if a.AwardID == awardID {
			return a.Rate
		}
	}
	panic("award not in strategy")
}

func newMemory() *counter.Memory { return counter.NewMemory() }
