package strategy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// oneAward is a strategy with a single award under tree_luck_award.
func oneAward(strategyID, awardID, count int64) Strategy {
	return Strategy{ID: strategyID, Awards: []Award{{AwardID: awardID, Title: "prize", Rate: RateScale, Count: count, TreeID: "tree_luck_award", Sort: 1}}}
}

func TestStockKey(t *testing.T) {
	if got := StockKey(100006, 105); got != "award_stock:100006:105" {
		t.Errorf("StockKey = %q", got)
	}
}

// deletableCounter is a Counter whose keys a test can delete (a cache loss).
type deletableCounter interface {
	Counter
	Delete(ctx context.Context, keys ...string) error
}

// counterImpls are the Counter implementations the stock tests run against: the
// in-process one, and Redis (skipped without the service unless
// BIGMARKET_REQUIRE_SERVICES=1).
var counterImpls = []struct {
	name string
	new  func(t *testing.T) deletableCounter
}{
	{"memory", func(*testing.T) deletableCounter { return counter.NewMemory() }},
	{"redis", func(t *testing.T) deletableCounter {
		c, prefix := redisxtest.New(t)
		return counter.NewRedis(c, prefix)
	}},
}

// instances returns n engines (instances of the service) sharing one counter
// and one store, each armed with strategies.
func instances(t *testing.T, n int, c Counter, store StockStore, strategies []Strategy) []*Engine {
	t.Helper()
	out := make([]*Engine, n)
	for i := range out {
		out[i] = NewEngine(Config{Counter: c, Store: store})
		if err := out[i].Arm(strategies, demoTrees()); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestConcurrentTakesNeverOversell: 64 goroutines on two engine instances sharing
// one counter draw an award with count 100; exactly 100 draws take stock (run
// with -race).
func TestConcurrentTakesNeverOversell(t *testing.T) {
	for _, impl := range counterImpls {
		t.Run(impl.name, func(t *testing.T) {
			c := impl.new(t)
			engines := instances(t, 2, c, nil, []Strategy{oneAward(7, 105, 100)})
			var taken, luck atomic.Int64
			var wg sync.WaitGroup
			for g := range 64 {
				e := engines[g%2]
				wg.Go(func() {
					for range 20 {
						res, err := e.Raffle(context.Background(), Request{UserID: "u", StrategyID: 7})
						switch {
						case err != nil:
							t.Error(err)
							return
						case res.StockTaken && res.AwardID == 105:
							taken.Add(1)
						case !res.StockTaken && res.AwardID == 101:
							luck.Add(1)
						default:
							t.Errorf("unexpected result %+v", res)
						}
					}
				})
			}
			wg.Wait()
			if taken.Load() != 100 || luck.Load() != 64*20-100 {
				t.Errorf("taken %d, luck %d; want exactly 100 takes of 1280 draws", taken.Load(), luck.Load())
			}
			if v := counterValue(t, c, 7, 105); v != 100 {
				t.Errorf("counter = %d, want 100", v)
			}
			if p := engines[0].pendingTakes(7, 105) + engines[1].pendingTakes(7, 105); p != 100 {
				t.Errorf("pending = %d, want 100", p)
			}
			if left, err := engines[0].Left(context.Background(), 7, 105); err != nil || left != 0 {
				t.Errorf("Left = %d, %v; want 0", left, err)
			}
		})
	}
}

// TestCacheLossReseedsFromDurableTakes deletes the counter after some recorded
// takes: the next take reseeds from the records (count − recorded left) and the
// award is never issued more than count times, across two instances.
func TestCacheLossReseedsFromDurableTakes(t *testing.T) {
	for _, impl := range counterImpls {
		t.Run(impl.name, func(t *testing.T) {
			const count = 50
			c := impl.new(t)
			store := newFakeStore()
			engines := instances(t, 2, c, store, []Strategy{oneAward(7, 105, count)})
			ctx := context.Background()
			draw := func(e *Engine) bool {
				res := raffle(t, e, Request{UserID: "u", StrategyID: 7})
				if res.StockTaken {
					store.record(7, 105, 1) // the award record written with the draw
				}
				return res.StockTaken
			}
			for i := range 20 {
				if !draw(engines[i%2]) {
					t.Fatal("take failed with stock left")
				}
			}
			if err := c.Delete(ctx, StockKey(7, 105)); err != nil {
				t.Fatal(err)
			}
			if left, _ := engines[0].Left(ctx, 7, 105); left != count-20 {
				t.Errorf("Left with the counter lost = %d, want %d from the records", left, count-20)
			}
			if !draw(engines[1]) {
				t.Fatal("take after cache loss failed")
			}
			if v := counterValue(t, c, 7, 105); v != 21 {
				t.Errorf("counter after reseed and take = %d, want 21", v)
			}
			var total atomic.Int64
			total.Store(21)
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					for range 10 {
						if draw(engines[g%2]) {
							total.Add(1)
						}
					}
				})
			}
			wg.Wait()
			if total.Load() != count {
				t.Errorf("issued %d with stock, want exactly %d", total.Load(), count)
			}
			if n, _ := store.CountTakes(ctx, 7, 105); n != count {
				t.Errorf("records with stock = %d, want %d", n, count)
			}
		})
	}
}

// TestCacheLossNeverUsesLaggingCounter: takes whose records were lost (a crash
// before the record) are given back on reseed — undersell is repaired from the
// records — and the records never exceed count.
func TestCacheLossRebuildsFromRecordsOnly(t *testing.T) {
	const count = 10
	store := newFakeStore()
	e, mem := newTestEngine(t, store, []Strategy{oneAward(7, 105, count)}, demoTrees())
	for i := range 8 {
		res := raffle(t, e, Request{UserID: "u", StrategyID: 7})
		if res.StockTaken && i < 5 { // the last three records are lost in a crash
			store.record(7, 105, 1)
		}
	}
	_ = mem.Delete(context.Background(), StockKey(7, 105))
	issued := 0
	for range 50 {
		if res := raffle(t, e, Request{UserID: "u", StrategyID: 7}); res.StockTaken {
			store.record(7, 105, 1)
			issued++
		}
	}
	if issued != count-5 {
		t.Errorf("issued after reseed = %d, want count − recorded = %d", issued, count-5)
	}
	if n, _ := store.CountTakes(context.Background(), 7, 105); n != count {
		t.Errorf("records = %d, want %d", n, count)
	}
}

func TestArmSeedsFromStoreWithoutOverwriting(t *testing.T) {
	store := newFakeStore()
	store.record(7, 105, 95)
	store.record(7, 106, 3)
	mem := newMemory()
	if _, err := mem.Seed(context.Background(), StockKey(7, 106), 10); err != nil { // a live counter ahead of the records
		t.Fatal(err)
	}
	e := NewEngine(Config{Counter: mem, Store: store})
	s := oneAward(7, 105, 100)
	s.Awards = append(s.Awards, Award{AwardID: 106, Rate: 1, Count: 100, TreeID: "tree_luck_award"})
	if err := e.Arm([]Strategy{s}, demoTrees()); err != nil {
		t.Fatal(err)
	}
	if left, _ := e.Left(context.Background(), 7, 105); left != 5 {
		t.Errorf("Left(105) = %d, want 100 − 95 recorded", left)
	}
	if v := counterValue(t, mem, 7, 106); v != 10 {
		t.Errorf("live counter overwritten on Arm: %d, want 10", v)
	}
	sa, _ := e.strategy(7)
	ok := 0
	for range 20 {
		if took, _, err := e.take(context.Background(), &sa.awards[0], nil); err != nil {
			t.Fatal(err)
		} else if took {
			ok++
		}
	}
	if ok != 5 {
		t.Errorf("takes after seeding = %d, want 5", ok)
	}
}

func takeN(t *testing.T, e *Engine, strategyID, awardID int64, n int) {
	t.Helper()
	s, err := e.strategy(strategyID)
	if err != nil {
		t.Fatal(err)
	}
	a := &s.awards[s.index[awardID]]
	for range n {
		if ok, _, err := e.take(context.Background(), a, nil); err != nil || !ok {
			t.Fatalf("take %d/%d: %v %v", strategyID, awardID, ok, err)
		}
	}
}

func TestFlushBatchesTakes(t *testing.T) {
	store := newFakeStore()
	e, _ := newTestEngine(t, store, demoStrategies(), demoTrees())
	ctx := context.Background()
	takeN(t, e, 100006, 102, 7)
	takeN(t, e, 100006, 103, 3)
	takeN(t, e, 100001, 102, 2)
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if store.batchCount() != 1 {
		t.Fatalf("ApplyTakes called %d times, want one batch", store.batchCount())
	}
	got := slices.Clone(store.batches[0])
	slices.SortFunc(got, func(a, b Take) int {
		if a.StrategyID != b.StrategyID {
			return int(a.StrategyID - b.StrategyID)
		}
		return int(a.AwardID - b.AwardID)
	})
	want := []Take{{100001, 102, 2}, {100006, 102, 7}, {100006, 103, 3}}
	if !slices.Equal(got, want) {
		t.Errorf("batch = %v, want %v", got, want)
	}
	if err := e.Flush(ctx); err != nil || store.batchCount() != 1 {
		t.Errorf("empty flush: err %v, batches %d; want no call", err, store.batchCount())
	}

	// A failing store keeps the deltas; they go out with the next batch.
	store.setApplyErr(errors.New("db down"))
	takeN(t, e, 100006, 102, 4)
	if err := e.Flush(ctx); err == nil {
		t.Fatal("flush with failing store returned nil")
	}
	if p := e.pendingTakes(100006, 102); p != 4 {
		t.Errorf("pending after failed flush = %d, want 4", p)
	}
	takeN(t, e, 100006, 102, 2)
	store.setApplyErr(nil)
	if err := e.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := store.batches[len(store.batches)-1]; !slices.Equal(got, []Take{{100006, 102, 6}}) {
		t.Errorf("batch after recovery = %v, want [{100006 102 6}]", got)
	}
	if n := store.appliedOf(100006, 102); n != 13 {
		t.Errorf("applied total = %d, want 13", n)
	}
}

func TestFlushWithoutStoreDropsDeltas(t *testing.T) {
	e, _ := newTestEngine(t, nil, demoStrategies(), demoTrees())
	takeN(t, e, 100006, 102, 3)
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := e.pendingTakes(100006, 102); p != 0 {
		t.Errorf("pending = %d, want 0", p)
	}
}

// TestFlushDuringTakes flushes repeatedly while raffles take stock; every take
// reaches the store exactly once (run with -race).
func TestFlushDuringTakes(t *testing.T) {
	store := newFakeStore()
	e, _ := newTestEngine(t, store, withStock(demoStrategies(), bigStock), demoTrees())
	var taken atomic.Int64
	var wg sync.WaitGroup
	var stop atomic.Bool
	for range 4 {
		wg.Go(func() {
			for i := 0; i < 500 || !stop.Load(); i++ {
				res, err := e.Raffle(context.Background(), Request{UserID: "u", StrategyID: 10007, TodayDraws: 3})
				if err != nil {
					t.Error(err)
					return
				}
				if res.StockTaken {
					taken.Add(1)
				}
			}
		})
	}
	for range 200 {
		if err := e.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var applied int64
	for _, a := range demoStrategy(t, 10007).Awards {
		applied += store.appliedOf(10007, a.AwardID)
	}
	if applied != taken.Load() || applied == 0 {
		t.Errorf("applied %d takes, raffles took %d", applied, taken.Load())
	}
}

func TestRunFlusherFlushesOnStop(t *testing.T) {
	store := newFakeStore()
	e, _ := newTestEngine(t, store, demoStrategies(), demoTrees())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.RunFlusher(ctx, 1<<40) }() // ticks never come in this test
	takeN(t, e, 100006, 104, 5)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunFlusher = %v", err)
	}
	if n := store.appliedOf(100006, 104); n != 5 {
		t.Errorf("applied on stop = %d, want 5", n)
	}
}

// TestArmSeedFailureKeepsSnapshot: when durable takes cannot be read, ArmContext
// fails and the previous configuration stays armed.
func TestArmSeedFailureKeepsSnapshot(t *testing.T) {
	store := newFakeStore()
	e, _ := newTestEngine(t, store, []Strategy{oneAward(7, 105, 10)}, demoTrees())
	store.mu.Lock()
	store.countErr = errors.New("db down")
	store.mu.Unlock()
	err := e.ArmContext(context.Background(), []Strategy{oneAward(8, 106, 10)}, demoTrees())
	if err == nil || !strings.Contains(err.Error(), "strategy[8] award[106]") {
		t.Fatalf("ArmContext with failing store = %v, want an error naming strategy[8] award[106]", err)
	}
	if !e.Armed(7) || e.Armed(8) {
		t.Errorf("after failed arm: 7 armed %v, 8 armed %v; want the old snapshot", e.Armed(7), e.Armed(8))
	}
}

// fakeFence models store/fencedb with a read-write lock: Hold read-locks for
// the (fake) transaction, which unlocks at its end; Barrier write-locks, so it
// waits for every transaction holding the fence, and bumps the generation.
type fakeFence struct {
	rw  sync.RWMutex
	gen atomic.Int64
}

// tx is a fake transaction that holds fences until end.
type tx struct {
	f     *fakeFence
	holds int
}

func (t *tx) hold(context.Context, string) (int64, error) {
	t.f.rw.RLock()
	t.holds++
	return t.f.gen.Load(), nil
}

func (t *tx) end() {
	for range t.holds {
		t.f.rw.RUnlock()
	}
	t.holds = 0
}

func (f *fakeFence) Ensure(context.Context, string) error { return nil }

func (f *fakeFence) Barrier(context.Context, string) error {
	f.rw.Lock()
	f.gen.Add(1)
	f.rw.Unlock()
	return nil
}

// TestRebuildWaitsForTakesInFlight is the interleaving of issue 7 (5): a draw
// takes the last unit and has not committed; the counter is wiped; a rebuild
// starts; the draw commits; more draws come. The rebuild must count the draw
// in flight, so no further unit is taken. (Without the fence the rebuild
// counted 0 records and a second unit of a count-1 award was taken.)
func TestRebuildWaitsForTakesInFlight(t *testing.T) {
	for _, impl := range counterImpls {
		t.Run(impl.name, func(t *testing.T) {
			ctx := context.Background()
			mem := impl.new(t)
			store, fence := newFakeStore(), &fakeFence{}
			e := NewEngine(Config{Counter: mem, Store: store, Fence: fence})
			if err := e.Arm([]Strategy{oneAward(31, 131, 1)}, demoTrees()); err != nil {
				t.Fatal(err)
			}
			records := int64(0)
			draw := func(user string) (Result, *tx) {
				t.Helper()
				x := &tx{f: fence}
				return raffle(t, e, Request{UserID: user, StrategyID: 31, Hold: x.hold}), x
			}
			r1, tx1 := draw("u1") // takes the only unit, stays in flight
			if !r1.StockTaken || r1.StockKey != StockKey(31, 131) {
				t.Fatalf("first draw = %+v, want the unit taken", r1)
			}
			if err := mem.Delete(ctx, StockKey(31, 131)); err != nil { // cache loss
				t.Fatal(err)
			}
			r2, tx2 := draw("u2") // finds the counter missing: refused, rebuild started
			if r2.StockTaken {
				t.Fatal("a draw took stock from a missing counter")
			}
			tx2.end()
			time.Sleep(50 * time.Millisecond) // the rebuild is now waiting for tx1
			if v := counterValue(t, mem, 31, 131); v != -1 {
				t.Fatalf("counter installed (%d) while a take was in flight", v)
			}
			store.record(31, 131, 1) // draw 1 commits
			records++
			tx1.end()
			deadline := time.Now().Add(5 * time.Second)
			for counterValue(t, mem, 31, 131) == -1 {
				if time.Now().After(deadline) {
					t.Fatal("the counter was never rebuilt")
				}
				time.Sleep(5 * time.Millisecond)
			}
			if v := counterValue(t, mem, 31, 131); v != 1 {
				t.Fatalf("rebuilt counter = %d, want 1 (the draw that was in flight)", v)
			}
			for i := range 5 {
				r, x := draw(fmt.Sprintf("u%d", 3+i))
				if r.StockTaken {
					records++
				}
				x.end()
			}
			if records > 1 {
				t.Fatalf("%d award records took stock against a count of 1", records)
			}
		})
	}
}

// TestRetriedTransactionReusesTakeOnlyUnderSameGen: the generation a take was
// made under changes when a rebuild's barrier passes, which is how a draw
// retried after a rollback knows its remembered take was not counted.
func TestRetriedTransactionReusesTakeOnlyUnderSameGen(t *testing.T) {
	store, fence := newFakeStore(), &fakeFence{}
	e := NewEngine(Config{Counter: counter.NewMemory(), Store: store, Fence: fence})
	if err := e.Arm([]Strategy{oneAward(32, 132, 5)}, demoTrees()); err != nil {
		t.Fatal(err)
	}
	x := &tx{f: fence}
	r := raffle(t, e, Request{UserID: "u", StrategyID: 32, Hold: x.hold})
	x.end()
	if !r.StockTaken {
		t.Fatal("no take")
	}
	if err := fence.Barrier(context.Background(), r.StockKey); err != nil {
		t.Fatal(err)
	}
	gen, _ := x.hold(context.Background(), r.StockKey)
	x.end()
	if gen == r.StockGen {
		t.Fatalf("gen %d unchanged across a barrier", gen)
	}
}
