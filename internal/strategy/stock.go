package strategy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/poll"
)

// Counter is a store of atomic named counters (platform/counter.Memory and the
// Redis counter implement it). A stock counter holds the units TAKEN: a take is
// Acquire(key, limit = the award's count), so the configured count can change
// without touching the counter, and the counter never exceeds it.
type Counter interface {
	// Acquire adds one to key if its value is below limit, atomically, and
	// returns the value after the call. missing reports that key does not exist
	// or is fenced by a rebuild (nothing changed). An error with a method
	// TakeRefused() bool answering true (the Redis counter's
	// NotReplicatedError: too few replicas confirmed the take) refuses the take:
	// nothing was granted, and the engine treats it as a take at the limit.
	Acquire(ctx context.Context, key string, limit int64) (n int64, taken, missing bool, err error)
	// Get returns the value of key and whether it exists as a live counter.
	Get(ctx context.Context, key string) (int64, bool, error)
	// Fence marks a missing key as being rebuilt by token for at most ttl (every
	// Acquire reports it missing meanwhile) and reports whether it did.
	Fence(ctx context.Context, key, token string, ttl time.Duration) (bool, error)
	// Install turns key into a live counter holding n if it is still fenced by
	// token, and reports whether it did.
	Install(ctx context.Context, key, token string, n int64) (bool, error)
}

// StockFence waits out the transactions in flight that may have taken from a
// lost counter (store/fencedb implements it; see its package doc).
type StockFence interface {
	// Ensure creates key's fence where it is missing, so that Request.Hold
	// finds it (Arm calls it for every award; never inside a transaction).
	Ensure(ctx context.Context, key string) error
	// Barrier returns once every transaction that held key's fence (through
	// Request.Hold) before the call has ended.
	Barrier(ctx context.Context, key string) error
}

// StockStore is the durable side of award stock (the SQL store implements it).
type StockStore interface {
	// CountTakes returns how many award records of the strategy/award took stock,
	// across all shards.
	CountTakes(ctx context.Context, strategyID, awardID int64) (int64, error)
	// ApplyTakes lowers strategy_award.award_count_surplus by each Take's N in one
	// batch (never below 0). It must apply all takes or none: on error the engine
	// keeps the deltas and hands them over again on the next flush.
	ApplyTakes(ctx context.Context, takes []Take) error
}

// Take is a batch of N units of stock taken from one award of one strategy.
type Take struct{ StrategyID, AwardID, N int64 }

// StockKey returns the counter key of an award's stock in a strategy, e.g.
// "award_stock:100006:105". Counter implementations add their own prefix.
func StockKey(strategyID, awardID int64) string {
	b := make([]byte, 0, 40)
	b = append(b, "award_stock:"...)
	b = strconv.AppendInt(b, strategyID, 10)
	b = append(b, ':')
	b = strconv.AppendInt(b, awardID, 10)
	return string(b)
}

// stockCell is the engine's per strategy/award stock state. Cells outlive
// snapshots, so takes pending a flush survive a re-Arm.
type stockCell struct {
	strategyID, awardID int64
	key                 string
	pending             atomic.Int64 // units taken and not yet handed to StockStore
	rebuilding          atomic.Bool  // a background rebuild of this engine runs
	refused             atomic.Int64 // takes the counter refused (TakeRefused errors), for the log
}

type cellID struct{ strategyID, awardID int64 }

// cell returns the stock cell of strategy/award, creating it on first use.
func (e *Engine) cell(strategyID, awardID int64) *stockCell {
	e.cellsMu.Lock()
	defer e.cellsMu.Unlock()
	id := cellID{strategyID, awardID}
	c := e.cells[id]
	if c == nil {
		c = &stockCell{strategyID: strategyID, awardID: awardID, key: StockKey(strategyID, awardID)}
		e.cells[id] = c
	}
	return c
}

// durableTakes returns the takes recorded durably for a cell; 0 without a store.
func (e *Engine) durableTakes(ctx context.Context, c *stockCell) (int64, error) {
	if e.store == nil {
		return 0, nil
	}
	n, err := e.store.CountTakes(ctx, c.strategyID, c.awardID)
	if err != nil {
		return 0, fmt.Errorf("count takes: strategy[%d] award[%d]: %w", c.strategyID, c.awardID, err)
	}
	return n, nil
}

// fenceTTL bounds how long a rebuilder that died keeps a counter fenced.
const fenceTTL = 10 * time.Second

// rebuildTimeout bounds a rebuild started in the background.
const rebuildTimeout = 30 * time.Second

// rebuild rebuilds a missing counter from durable facts without racing the
// takes in flight: it fences the key (every take refused), waits them out
// (StockFence.Barrier), counts the takes recorded and installs the count. When
// the counter exists, or another rebuild holds the fence, it does nothing. A
// failure leaves the fence to expire (takes refused until then: undersell).
func (e *Engine) rebuild(ctx context.Context, c *stockCell) error {
	token := strconv.FormatUint(rand.Uint64(), 36)
	fenced, err := e.counter.Fence(ctx, c.key, token, fenceTTL)
	if err != nil {
		return fmt.Errorf("rebuild stock: strategy[%d] award[%d]: %w", c.strategyID, c.awardID, err)
	}
	if !fenced {
		return nil
	}
	if e.fence != nil {
		if err := e.fence.Barrier(ctx, c.key); err != nil {
			return fmt.Errorf("rebuild stock: %w", err)
		}
	}
	n, err := e.durableTakes(ctx, c)
	if err != nil {
		return fmt.Errorf("rebuild stock: %w", err)
	}
	installed, err := e.counter.Install(ctx, c.key, token, n)
	if err != nil {
		return fmt.Errorf("rebuild stock: strategy[%d] award[%d]: %w", c.strategyID, c.awardID, err)
	}
	if installed {
		e.log.Info("strategy: stock counter rebuilt", "strategy", c.strategyID, "award", c.awardID, "taken", n)
	}
	return nil
}

// rebuildLater starts a background rebuild of c unless one of this engine is
// running. A take that holds a fence (inside a transaction) must never rebuild
// itself: the rebuild's barrier would wait for that very transaction.
func (e *Engine) rebuildLater(c *stockCell) {
	if !c.rebuilding.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer c.rebuilding.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), rebuildTimeout)
		defer cancel()
		if err := e.rebuild(ctx, c); err != nil {
			e.log.Error("strategy: stock counter rebuild failed", "strategy", c.strategyID, "award", c.awardID, "err", err)
		}
	}()
}

// take acquires one unit of an award's stock and returns the fence generation
// the take was made under. hold, when not nil, takes the stock fence inside the
// caller's transaction first (Request.Hold); a counter reported missing (cache
// loss) is then rebuilt in the background and the take refused (undersell).
// Without hold (no transaction held) the counter is rebuilt at once and the take
// retried once.
func (e *Engine) take(ctx context.Context, a *armedAward, hold func(context.Context, string) (int64, error)) (bool, int64, error) {
	c := a.cell
	var gen int64
	if hold != nil {
		var err error
		if gen, err = hold(ctx, c.key); err != nil {
			return false, 0, fmt.Errorf("take stock: strategy[%d] award[%d]: hold fence: %w", c.strategyID, c.awardID, err)
		}
	}
	_, taken, missing, err := e.counter.Acquire(ctx, c.key, a.Count)
	if err == nil && missing {
		if hold != nil {
			e.log.Warn("strategy: stock counter missing, rebuilding", "strategy", c.strategyID, "award", c.awardID)
			e.rebuildLater(c)
			return false, gen, nil
		}
		if err := e.rebuild(ctx, c); err != nil {
			return false, 0, fmt.Errorf("take stock: %w", err)
		}
		_, taken, missing, err = e.counter.Acquire(ctx, c.key, a.Count)
		if err == nil && missing {
			e.log.Warn("strategy: stock counter still missing after a rebuild", "strategy", c.strategyID, "award", c.awardID)
		}
	}
	if err != nil && takeRefused(err) {
		// Not granted (e.g. no replica confirmed it in time): like a take at
		// the limit, the award's line falls through (undersell), and the draw
		// neither fails nor counts against the breaker.
		if n := c.refused.Add(1); n&(n-1) == 0 {
			e.log.Warn("strategy: stock take refused by the counter", "strategy", c.strategyID, "award", c.awardID, "refused", n, "err", err)
		}
		return false, gen, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("take stock: strategy[%d] award[%d]: %w", c.strategyID, c.awardID, err)
	}
	if taken {
		c.pending.Add(1)
	}
	return taken, gen, nil
}

// takeRefused reports an Acquire error that refused the take without granting
// it (see Counter.Acquire).
func takeRefused(err error) bool {
	var r interface{ TakeRefused() bool }
	return errors.As(err, &r) && r.TakeRefused()
}

// takenNow reads how many units of an award are taken, without changing anything:
// the counter when it exists, else the durable takes.
func (e *Engine) takenNow(ctx context.Context, c *stockCell) (int64, error) {
	n, ok, err := e.counter.Get(ctx, c.key)
	if err != nil {
		return 0, fmt.Errorf("read stock: strategy[%d] award[%d]: %w", c.strategyID, c.awardID, err)
	}
	if ok {
		return n, nil
	}
	return e.durableTakes(ctx, c)
}

// Left returns the stock left of an award in an armed strategy: its count minus
// the units taken (never below 0), for metrics. It returns ErrNotArmed for an
// unknown strategy, ErrUnknownAward for an award not in its table, and wrapped
// counter or store errors.
func (e *Engine) Left(ctx context.Context, strategyID, awardID int64) (int64, error) {
	s, err := e.strategy(strategyID)
	if err != nil {
		return 0, fmt.Errorf("stock left: %w", err)
	}
	pos, ok := s.index[awardID]
	if !ok {
		return 0, fmt.Errorf("stock left: strategy[%d] award[%d]: %w", strategyID, awardID, ErrUnknownAward)
	}
	a := &s.awards[pos]
	taken, err := e.takenNow(ctx, a.cell)
	if err != nil {
		return 0, fmt.Errorf("stock left: %w", err)
	}
	return max(a.Count-taken, 0), nil
}

// Flush hands the takes accumulated since the last successful flush to
// StockStore.ApplyTakes in one batch (one Take per strategy/award with the sum).
// Nothing to flush, or no StockStore configured, returns nil (without a store the
// deltas are dropped: there is nothing durable to update). When ApplyTakes fails
// the deltas are kept for the next flush and the error is returned wrapped.
// Flushes are serialised; takes keep running while a flush is in progress.
func (e *Engine) Flush(ctx context.Context) error {
	e.flushMu.Lock()
	defer e.flushMu.Unlock()
	e.cellsMu.Lock()
	cells := make([]*stockCell, 0, len(e.cells))
	for _, c := range e.cells {
		cells = append(cells, c)
	}
	e.cellsMu.Unlock()

	var takes []Take
	var owners []*stockCell
	for _, c := range cells {
		if n := c.pending.Swap(0); n > 0 {
			takes = append(takes, Take{StrategyID: c.strategyID, AwardID: c.awardID, N: n})
			owners = append(owners, c)
		}
	}
	if len(takes) == 0 || e.store == nil {
		return nil
	}
	if err := e.store.ApplyTakes(ctx, takes); err != nil {
		for i, t := range takes {
			owners[i].pending.Add(t.N)
		}
		return fmt.Errorf("flush stock: %d awards: %w", len(takes), err)
	}
	return nil
}

// RunFlusher flushes takes every interval until ctx ends, then once more with a
// fresh five-second deadline (so the last takes are not lost on shutdown), and
// returns that last flush's error. A failed periodic flush is logged and retried
// at the next tick. An interval ≤ 0 means one second.
func (e *Engine) RunFlusher(ctx context.Context, interval time.Duration) error {
	return poll.Flushes(ctx, interval, e.Flush, e.log, "strategy: stock flush failed, keeping deltas")
}

// pendingTakes returns the units taken and not yet flushed, for tests.
func (e *Engine) pendingTakes(strategyID, awardID int64) int64 {
	e.cellsMu.Lock()
	defer e.cellsMu.Unlock()
	if c := e.cells[cellID{strategyID, awardID}]; c != nil {
		return c.pending.Load()
	}
	return 0
}

// discardLogger is the logger used when Config.Logger is nil.
func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
