package activity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/poll"
)

// Store is the durable side of quota accounts, quota orders, grants and SKU
// stock (activitydb.Store implements it). Per-user operations run on the user's
// shard. day and month are the period keys (DayKey, MonthKey) of the caller's
// clock.
type Store interface {
	// Account returns userID's quota on the activity; a user without an account
	// reads as the zero Account.
	Account(ctx context.Context, userID string, activityID int64, day, month string) (Account, error)
	// TodayDraws returns the draws userID made on the activity on day (0 without
	// a day row).
	TodayDraws(ctx context.Context, userID string, activityID int64, day string) (int64, error)
	// TotalDraws returns the draws userID made on the activity (0 without an
	// account).
	TotalDraws(ctx context.Context, userID string, activityID int64) (int64, error)
	// QuotaOrder returns userID's quota order with outBusinessNo, or an error
	// wrapping ErrOrderNotFound.
	QuotaOrder(ctx context.Context, userID, outBusinessNo string) (QuotaOrder, error)
	// AddQuota stores o and, when it is completed, adds its counts to the account
	// (see the package doc), in one transaction. A repeated out_business_no or
	// order id returns an error wrapping ErrDuplicate and changes nothing.
	AddQuota(ctx context.Context, o QuotaOrder, day, month string) error
	// CompleteQuotaOrder turns userID's wait_pay order outBusinessNo completed
	// and adds its counts; an order already completed changes nothing and
	// returns nil; an unknown order returns an error wrapping ErrOrderNotFound.
	CompleteQuotaOrder(ctx context.Context, userID, outBusinessNo string, now time.Time, day, month string) error
	// ApplyGrant adds g.QuotaOrder(act, now); a grant already applied changes
	// nothing and returns nil.
	ApplyGrant(ctx context.Context, g Grant, act Activity, now time.Time, day, month string) error
	// PendingGrants returns the grants written by campaign apply and not applied
	// yet, in id order.
	PendingGrants(ctx context.Context) ([]Grant, error)
	// MarkGrantApplied records that grant id was applied.
	MarkGrantApplied(ctx context.Context, id string, now time.Time) error
	// AddSKUOrder stores the quota order o of a SKU as AddQuota does, in one
	// transaction on the user's shard that first holds the stock fence of
	// stockKey (store/fencedb: a counter rebuild waits for the transaction),
	// then calls take with the fence's generation. take takes one unit of the
	// SKU's stock; when it takes none, nothing is stored and the error wraps
	// ErrSKUStockOut; its own errors are returned wrapped, nothing stored. When
	// it took the last unit, zero is stored in the same transaction (the
	// outbox task announcing activity_sku_stock_zero). The transaction may be
	// retried (take is then called again).
	AddSKUOrder(ctx context.Context, o QuotaOrder, day, month, stockKey string, take SKUTakeFunc, zero outbox.Task) error
	// CountSKUOrders returns the number of quota orders stored for sku, across
	// all shards: the durable count of SKU stock units taken.
	CountSKUOrders(ctx context.Context, sku int64) (int64, error)
	// ApplySKUTakes lowers the SKUs' database surplus by each take's N (never
	// below 0), all or nothing.
	ApplySKUTakes(ctx context.Context, takes []SKUTake) error
}

// SKUTake is a batch of N units of stock taken from a SKU.
type SKUTake struct{ SKU, N int64 }

// SKUTakeFunc takes one unit of a SKU's stock inside the order's transaction,
// under the fence generation gen, and reports whether it took one and whether
// that was the last.
type SKUTakeFunc func(ctx context.Context, gen int64) (taken, last bool, err error)

// StockZeroEvent is the data of an activity_sku_stock_zero event: the SKU whose
// last unit an order took.
type StockZeroEvent struct {
	SKU int64 `json:"sku"`
}

// Fence waits out the transactions in flight that may have taken from a lost
// counter (store/fencedb implements it).
type Fence interface {
	// Barrier returns once every transaction that held key's fence before the
	// call has ended.
	Barrier(ctx context.Context, key string) error
}

// Relay publishes committed outbox tasks (*outbox.Relay implements it).
type Relay interface {
	Enqueue(t outbox.Task)
}

// Counter is a store of atomic named counters (platform/counter.Memory and the
// Redis counter implement it). A SKU stock counter holds the units TAKEN.
type Counter interface {
	// Acquire adds one to key if its value is below limit, atomically, and
	// returns the value after the call. missing reports that key does not exist
	// or is fenced by a rebuild (nothing changed). A take the counter refuses
	// after making it (the Redis counter's NotReplicatedError, with
	// replica acks: too few replicas confirmed it) is an error: the order fails
	// with it and nothing is sold; it is not ErrSKUStockOut, so callers retry
	// (a rebate delivery) rather than reject for good.
	Acquire(ctx context.Context, key string, limit int64) (n int64, taken, missing bool, err error)
	// Get returns the value of key and whether it exists as a live counter.
	Get(ctx context.Context, key string) (int64, bool, error)
	// Fence marks a missing key as being rebuilt by token for at most ttl and
	// reports whether it did.
	Fence(ctx context.Context, key, token string, ttl time.Duration) (bool, error)
	// Install turns key into a live counter holding n if it is still fenced by
	// token, and reports whether it did.
	Install(ctx context.Context, key, token string, n int64) (bool, error)
}

// Config wires a Service. Store and Counter are required.
type Config struct {
	// Store is the durable side.
	Store Store
	// Counter holds SKU stock.
	Counter Counter
	// Fence waits out the orders in flight before a lost SKU counter is
	// rebuilt (store/fencedb). Nil means no barrier: only safe when no order can
	// be in flight during a rebuild (tests, one process whose counters die with
	// it).
	Fence Fence
	// Relay publishes the activity_sku_stock_zero task of the order that took a
	// SKU's last unit, after it commits; nil leaves it to the outbox retry job.
	Relay Relay
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID makes quota order ids (at most 32 characters); nil means a fresh
	// idgen.Generator.
	NewID func() string
	// Location returns the time zone of day and month keys (the campaign's);
	// nil, or a nil result, means time.Local.
	Location func() *time.Location
	// Logger receives warnings (counter rebuilds, failed flushes); nil
	// discards them.
	Logger *slog.Logger
}

// Service runs the activity rules that are not part of a draw transaction:
// quota orders bought with SKUs, grants, account queries and SKU stock. It is
// safe for concurrent use. Create it with NewService.
type Service struct {
	store   Store
	counter Counter
	fence   Fence
	relay   Relay
	now     func() time.Time
	newID   func() string
	loc     func() *time.Location
	log     *slog.Logger

	cellsMu sync.Mutex
	cells   map[int64]*atomic.Int64 // SKU -> units taken and not yet flushed
	flushMu sync.Mutex
	seeds   flights // counter rebuilds from a read, one per SKU at a time
}

// NewService returns a Service wired by cfg. It panics when cfg.Store or
// cfg.Counter is nil (a wiring error).
func NewService(cfg Config) *Service {
	if cfg.Store == nil || cfg.Counter == nil {
		panic("activity: NewService needs a Store and a Counter")
	}
	s := &Service{
		store:   cfg.Store,
		counter: cfg.Counter,
		fence:   cfg.Fence,
		relay:   cfg.Relay,
		now:     cfg.Now,
		newID:   cfg.NewID,
		loc:     cfg.Location,
		log:     cfg.Logger,
		cells:   map[int64]*atomic.Int64{},
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		s.newID = idgen.New(s.now).Next
	}
	if s.loc == nil {
		s.loc = func() *time.Location { return time.Local }
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Periods returns the day and month keys of t in the configured time zone.
func (s *Service) Periods(t time.Time) (day, month string) {
	loc := s.loc()
	return DayKey(t, loc), MonthKey(t, loc)
}

// Account returns userID's quota on the activity now; a user without an
// account reads as the zero Account (no error).
func (s *Service) Account(ctx context.Context, userID string, activityID int64) (Account, error) {
	day, month := s.Periods(s.now())
	return s.store.Account(ctx, userID, activityID, day, month)
}

// TodayDraws returns the draws userID made today on the activity (0 if none).
func (s *Service) TodayDraws(ctx context.Context, userID string, activityID int64) (int64, error) {
	day, _ := s.Periods(s.now())
	return s.store.TodayDraws(ctx, userID, activityID, day)
}

// TotalDraws returns the draws userID made on the activity (0 if none).
func (s *Service) TotalDraws(ctx context.Context, userID string, activityID int64) (int64, error) {
	return s.store.TotalDraws(ctx, userID, activityID)
}

// SKUOrderRequest asks for a quota order bought with a SKU.
type SKUOrderRequest struct {
	UserID string
	SKU    int64
	// OutBusinessNo makes the request idempotent (per user table it must be
	// unique; callers derive it from their own unique order or rebate id).
	OutBusinessNo string
	Trade         TradeType
}

// CreateSKUOrder creates the quota order req asks for with sku (of act, adding
// count): the activity must be open and in date (ErrNotOpen, ErrNotInDate); a
// repeated out_business_no returns the stored order and an error wrapping
// ErrDuplicate, before any stock is taken; then, in the order's transaction,
// one unit of SKU stock is taken (ErrSKUStockOut when sold out) under the SKU's
// stock fence, so that a counter rebuild never misses the order. A TradeRebate
// order is stored completed and its counts added to the user's account at once;
// a TradeCredit order is stored wait_pay with PayAmount = the SKU's price and
// adds nothing until CompleteQuotaOrder (after the credit payment). The order
// that takes the last unit also stores the activity_sku_stock_zero outbox task.
// An empty user or out_business_no or an unknown trade returns ErrInvalid; a SKU
// that is not req.SKU, not of act or not of count returns ErrUnknownSKU; a
// counter lost again while it was being rebuilt returns ErrStockCounterLost.
//
// A unit taken by a request that then fails to store its order (a concurrent
// duplicate, a database error) stays taken: the SKU may undersell by such
// units, it never oversells.
func (s *Service) CreateSKUOrder(ctx context.Context, req SKUOrderRequest, sku SKU, act Activity, count Count) (QuotaOrder, error) {
	if req.UserID == "" || req.OutBusinessNo == "" || (req.Trade != TradeRebate && req.Trade != TradeCredit) {
		return QuotaOrder{}, fmt.Errorf("sku order: user[%s] sku[%d] out_business_no[%s] trade %q: %w",
			req.UserID, req.SKU, req.OutBusinessNo, req.Trade, ErrInvalid)
	}
	if req.SKU != sku.SKU || sku.ActivityID != act.ID || sku.CountID != count.ID {
		return QuotaOrder{}, fmt.Errorf("sku order: sku[%d] (config sku[%d] activity[%d] count[%d], given activity[%d] count[%d]): %w",
			req.SKU, sku.SKU, sku.ActivityID, sku.CountID, act.ID, count.ID, ErrUnknownSKU)
	}
	now := s.now()
	if err := act.Check(now); err != nil {
		return QuotaOrder{}, fmt.Errorf("sku order: user[%s] sku[%d]: %w", req.UserID, req.SKU, err)
	}
	prev, err := s.store.QuotaOrder(ctx, req.UserID, req.OutBusinessNo)
	switch {
	case err == nil:
		return prev, fmt.Errorf("sku order: user[%s] out_business_no[%s]: %w", req.UserID, req.OutBusinessNo, ErrDuplicate)
	case !errors.Is(err, ErrOrderNotFound):
		return QuotaOrder{}, fmt.Errorf("sku order: user[%s] out_business_no[%s]: %w", req.UserID, req.OutBusinessNo, err)
	}
	o := QuotaOrder{
		UserID:        req.UserID,
		SKU:           sku.SKU,
		ActivityID:    act.ID,
		ActivityName:  act.Name,
		StrategyID:    act.StrategyID,
		OrderID:       s.newID(),
		OrderTime:     now,
		Total:         count.Total,
		Day:           count.Day,
		Month:         count.Month,
		State:         QuotaOrderCompleted,
		OutBusinessNo: req.OutBusinessNo,
	}
	if req.Trade == TradeCredit {
		o.State, o.PayAmount = QuotaOrderWaitPay, sku.Price
	}
	zero, err := outbox.New(req.UserID, outbox.TopicSKUStockZero, s.newID(), StockZeroEvent{SKU: sku.SKU}, now)
	if err != nil {
		return QuotaOrder{}, fmt.Errorf("sku order: user[%s] sku[%d]: %w", req.UserID, req.SKU, err)
	}
	day, month := s.Periods(now)
	t := &skuTaker{s: s, sku: sku}
	err = s.store.AddSKUOrder(ctx, o, day, month, SKUStockKey(sku.SKU), t.take, zero)
	if errors.Is(err, errCounterMissing) {
		// The take found the counter lost; it could not rebuild it while its
		// transaction held the fence (the rebuild waits for that transaction).
		s.log.Warn("activity: sku stock counter missing, rebuilding", "sku", sku.SKU)
		if err = s.rebuildSKU(ctx, sku.SKU); err == nil {
			s.awaitCounter(ctx, SKUStockKey(sku.SKU))
			err = s.store.AddSKUOrder(ctx, o, day, month, SKUStockKey(sku.SKU), t.take, zero)
		}
		if errors.Is(err, errCounterMissing) {
			err = ErrStockCounterLost
		}
	}
	if err != nil {
		return QuotaOrder{}, fmt.Errorf("sku order: user[%s] sku[%d] out_business_no[%s]: %w", req.UserID, req.SKU, req.OutBusinessNo, err)
	}
	if t.last && s.relay != nil {
		s.relay.Enqueue(zero)
	}
	return o, nil
}

// errCounterMissing is returned by a take that found the SKU counter missing or
// fenced; CreateSKUOrder rebuilds it outside the transaction and tries again.
var errCounterMissing = errors.New("activity: sku stock counter missing")

// skuTaker is the take of one CreateSKUOrder. A transaction retried after a
// rollback (which dropped the fence) reuses the unit it took only if the fence
// generation is the same, i.e. no rebuild counted the orders in between;
// otherwise it takes again (the first unit is lost: undersell).
type skuTaker struct {
	s     *Service
	sku   SKU
	took  bool
	gen   int64
	taken bool
	last  bool
}

func (t *skuTaker) take(ctx context.Context, gen int64) (bool, bool, error) {
	if t.took && t.taken && t.gen == gen {
		return true, t.last, nil
	}
	n, taken, missing, err := t.s.counter.Acquire(ctx, SKUStockKey(t.sku.SKU), t.sku.Stock)
	if err != nil {
		return false, false, fmt.Errorf("take sku stock: sku[%d]: %w", t.sku.SKU, err)
	}
	if missing {
		return false, false, errCounterMissing
	}
	t.took, t.gen, t.taken, t.last = true, gen, taken, taken && n >= t.sku.Stock
	if taken {
		t.s.cell(t.sku.SKU).Add(1)
	}
	return taken, t.last, nil
}

// CompleteQuotaOrder marks userID's wait_pay quota order outBusinessNo completed
// and adds its counts to the account (once: an order already completed returns
// nil and changes nothing). An unknown order returns ErrOrderNotFound. Call it
// only after the credit payment succeeded.
func (s *Service) CompleteQuotaOrder(ctx context.Context, userID, outBusinessNo string) error {
	now := s.now()
	day, month := s.Periods(now)
	return s.store.CompleteQuotaOrder(ctx, userID, outBusinessNo, now, day, month)
}

// ApplyGrant gives g's draws on act to g's user, idempotent by g.ID: a grant
// applied before changes nothing and returns nil. The activity's state and dates
// are not checked (operators may grant before an activity opens). An invalid
// grant returns ErrInvalid; act not being g's activity returns
// ErrUnknownActivity.
func (s *Service) ApplyGrant(ctx context.Context, g Grant, act Activity) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("apply grant: %w", err)
	}
	if act.ID != g.ActivityID {
		return fmt.Errorf("apply grant[%s]: activity[%d] given for activity[%d]: %w", g.ID, act.ID, g.ActivityID, ErrUnknownActivity)
	}
	now := s.now()
	day, month := s.Periods(now)
	return s.store.ApplyGrant(ctx, g, act, now, day, month)
}

// ApplyPendingGrants applies every pending grant (written by campaign apply)
// and marks it applied. lookup returns the configured activity of an id. A grant
// whose activity is unknown, or that fails, stays pending and its error is
// joined into the result; the others are applied. It returns how many grants
// were applied.
func (s *Service) ApplyPendingGrants(ctx context.Context, lookup func(activityID int64) (Activity, bool)) (int, error) {
	grants, err := s.store.PendingGrants(ctx)
	if err != nil {
		return 0, fmt.Errorf("apply pending grants: %w", err)
	}
	var errs []error
	applied := 0
	for _, g := range grants {
		act, ok := lookup(g.ActivityID)
		if !ok {
			errs = append(errs, fmt.Errorf("grant[%s] activity[%d]: %w", g.ID, g.ActivityID, ErrUnknownActivity))
			continue
		}
		if err := s.ApplyGrant(ctx, g, act); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.store.MarkGrantApplied(ctx, g.ID, s.now()); err != nil {
			errs = append(errs, fmt.Errorf("grant[%s]: %w", g.ID, err))
			continue
		}
		applied++
	}
	if len(errs) > 0 {
		return applied, fmt.Errorf("apply pending grants: %w", errors.Join(errs...))
	}
	return applied, nil
}

// SKUStockLeft returns the units of sku's stock left to sell: its stock minus
// the units taken, never below 0. The counter answers; a missing counter is
// rebuilt from the quota orders stored (rebuildSKU: fenced against the orders in
// flight), by one caller at a time per SKU, so that a public read path counts
// across shards once, not per request. A counter another instance is rebuilding
// is waited for a little; still missing, it returns ErrStockCounterLost.
func (s *Service) SKUStockLeft(ctx context.Context, sku SKU) (int64, error) {
	key := SKUStockKey(sku.SKU)
	n, ok, err := s.counter.Get(ctx, key)
	if err == nil && !ok {
		err = s.seeds.do(ctx, sku.SKU, func(ctx context.Context) error {
			if _, ok, err := s.counter.Get(ctx, key); err != nil || ok {
				return err // seeded by the flight before this one
			}
			return s.rebuildSKU(ctx, sku.SKU)
		})
		if err == nil {
			if n, ok, err = s.counter.Get(ctx, key); err == nil && !ok {
				// Another instance holds the rebuild's fence: wait for it.
				s.awaitCounter(ctx, key)
				if n, ok, err = s.counter.Get(ctx, key); err == nil && !ok {
					err = ErrStockCounterLost
				}
			}
		}
	}
	if err != nil {
		return 0, fmt.Errorf("sku stock left: sku[%d]: %w", sku.SKU, err)
	}
	return max(sku.Stock-n, 0), nil
}

// fenceTTL bounds how long a rebuilder that died keeps a SKU counter fenced.
const fenceTTL = 10 * time.Second

// rebuildWait bounds how long an order waits for another rebuild of its SKU's
// counter (another order's, or another instance's) to install it.
const rebuildWait = 3 * time.Second

// awaitCounter waits until key is a live counter, at most rebuildWait or until
// ctx ends; it holds no lock meanwhile.
func (s *Service) awaitCounter(ctx context.Context, key string) {
	deadline := time.Now().Add(rebuildWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if _, ok, err := s.counter.Get(ctx, key); err != nil || ok {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// rebuildSKU rebuilds a missing SKU stock counter from durable facts without
// racing the orders in flight: it fences the key (every take refused), waits
// them out (Fence.Barrier), counts the quota orders stored and installs the
// count. When the counter exists or another rebuild holds the fence it does
// nothing; a failure leaves the fence to expire (undersell until then).
func (s *Service) rebuildSKU(ctx context.Context, sku int64) error {
	key := SKUStockKey(sku)
	token := strconv.FormatUint(rand.Uint64(), 36)
	fenced, err := s.counter.Fence(ctx, key, token, fenceTTL)
	if err != nil {
		return fmt.Errorf("rebuild sku stock: sku[%d]: %w", sku, err)
	}
	if !fenced {
		return nil
	}
	if s.fence != nil {
		if err := s.fence.Barrier(ctx, key); err != nil {
			return fmt.Errorf("rebuild sku stock: sku[%d]: %w", sku, err)
		}
	}
	n, err := s.store.CountSKUOrders(ctx, sku)
	if err != nil {
		return fmt.Errorf("rebuild sku stock: sku[%d]: %w", sku, err)
	}
	if _, err := s.counter.Install(ctx, key, token, n); err != nil {
		return fmt.Errorf("rebuild sku stock: sku[%d]: %w", sku, err)
	}
	return nil
}

// cell returns the pending-takes counter of sku, creating it on first use.
func (s *Service) cell(sku int64) *atomic.Int64 {
	s.cellsMu.Lock()
	defer s.cellsMu.Unlock()
	c := s.cells[sku]
	if c == nil {
		c = new(atomic.Int64)
		s.cells[sku] = c
	}
	return c
}

// Flush hands the SKU stock takes accumulated since the last successful flush to
// Store.ApplySKUTakes in one batch (one SKUTake per SKU, in SKU order). Nothing
// to flush returns nil. When ApplySKUTakes fails the takes are kept for the next
// flush and the error is returned wrapped. Flushes are serialised; takes keep
// running during a flush.
func (s *Service) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.cellsMu.Lock()
	skus := make([]int64, 0, len(s.cells))
	for sku := range s.cells {
		skus = append(skus, sku)
	}
	s.cellsMu.Unlock()
	sort.Slice(skus, func(i, j int) bool { return skus[i] < skus[j] })
	var takes []SKUTake
	for _, sku := range skus {
		if n := s.cell(sku).Swap(0); n > 0 {
			takes = append(takes, SKUTake{SKU: sku, N: n})
		}
	}
	if len(takes) == 0 {
		return nil
	}
	if err := s.store.ApplySKUTakes(ctx, takes); err != nil {
		for _, t := range takes {
			s.cell(t.SKU).Add(t.N)
		}
		return fmt.Errorf("flush sku stock: %d skus: %w", len(takes), err)
	}
	return nil
}

// RunFlusher flushes SKU stock takes every interval until ctx ends, then once
// more with a fresh five-second deadline, and returns that last flush's error. A
// failed periodic flush is logged and retried at the next tick. An interval ≤ 0
// means one second.
func (s *Service) RunFlusher(ctx context.Context, interval time.Duration) error {
	return poll.Flushes(ctx, interval, s.Flush, s.log, "activity: sku stock flush failed, keeping deltas")
}
