package activity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bigmarket/bigmarket/internal/idgen"
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
	// CountSKUOrders returns the number of quota orders stored for sku, across
	// all shards: the durable count of SKU stock units taken.
	CountSKUOrders(ctx context.Context, sku int64) (int64, error)
	// ApplySKUTakes lowers the SKUs' database surplus by each take's N (never
	// below 0), all or nothing.
	ApplySKUTakes(ctx context.Context, takes []SKUTake) error
}

// SKUTake is a batch of N units of stock taken from a SKU.
type SKUTake struct{ SKU, N int64 }

// Counter is a store of atomic named counters (platform/counter.Memory and the
// Redis counter implement it). A SKU stock counter holds the units TAKEN.
type Counter interface {
	// Seed sets key to n if key does not exist and reports whether it did.
	Seed(ctx context.Context, key string, n int64) (bool, error)
	// Acquire adds one to key if its value is below limit, atomically. missing
	// reports that key does not exist (nothing changed; Seed it first).
	Acquire(ctx context.Context, key string, limit int64) (taken, missing bool, err error)
	// Get returns the value of key and whether it exists.
	Get(ctx context.Context, key string) (int64, bool, error)
}

// Config wires a Service. Store and Counter are required.
type Config struct {
	// Store is the durable side.
	Store Store
	// Counter holds SKU stock.
	Counter Counter
	// OnStockZero is called once when a take empties a SKU's stock (units taken
	// reach the stock), so that the caller emits activity_sku_stock_zero. It is
	// called synchronously inside CreateSKUOrder; nil means nobody is told. Once
	// means once per SKU and stock value while the counter store keeps its keys.
	OnStockZero func(ctx context.Context, sku int64)
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID makes quota order ids (at most 32 characters); nil means a fresh
	// idgen.Generator.
	NewID func() string
	// Location returns the time zone of day and month keys (the campaign's);
	// nil, or a nil result, means time.Local.
	Location func() *time.Location
	// Logger receives warnings (counter reseeds, failed stock-zero checks); nil
	// discards them.
	Logger *slog.Logger
}

// Service runs the activity rules that are not part of a draw transaction:
// quota orders bought with SKUs, grants, account queries and SKU stock. It is
// safe for concurrent use. Create it with NewService.
type Service struct {
	store   Store
	counter Counter
	onZero  func(ctx context.Context, sku int64)
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
		onZero:  cfg.OnStockZero,
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
// ErrDuplicate, before any stock is taken; then one unit of SKU stock is taken
// (ErrSKUStockOut when sold out). A TradeRebate order is stored completed and its
// counts added to the user's account at once; a TradeCredit order is stored
// wait_pay with PayAmount = the SKU's price and adds nothing until
// CompleteQuotaOrder (after the credit payment). An empty user or
// out_business_no or an unknown trade returns ErrInvalid; a SKU that is not
// req.SKU, not of act or not of count returns ErrUnknownSKU.
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
	taken, err := s.takeSKU(ctx, sku)
	if err != nil {
		return QuotaOrder{}, fmt.Errorf("sku order: user[%s]: %w", req.UserID, err)
	}
	if !taken {
		return QuotaOrder{}, fmt.Errorf("sku order: user[%s] sku[%d]: %w", req.UserID, req.SKU, ErrSKUStockOut)
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
	day, month := s.Periods(now)
	if err := s.store.AddQuota(ctx, o, day, month); err != nil {
		return QuotaOrder{}, fmt.Errorf("sku order: user[%s] sku[%d] out_business_no[%s]: %w", req.UserID, req.SKU, req.OutBusinessNo, err)
	}
	return o, nil
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
// rebuilt from the quota orders stored (seedSKU), by one caller at a time per
// SKU, so that a public read path counts across shards once, not per request.
func (s *Service) SKUStockLeft(ctx context.Context, sku SKU) (int64, error) {
	key := SKUStockKey(sku.SKU)
	n, ok, err := s.counter.Get(ctx, key)
	if err == nil && !ok {
		err = s.seeds.do(ctx, sku.SKU, func(ctx context.Context) error {
			if _, ok, err := s.counter.Get(ctx, key); err != nil || ok {
				return err // seeded by the flight before this one
			}
			return s.seedSKU(ctx, sku.SKU)
		})
		if err == nil {
			if n, ok, err = s.counter.Get(ctx, key); err == nil && !ok {
				err = ErrStockCounterLost
			}
		}
	}
	if err != nil {
		return 0, fmt.Errorf("sku stock left: sku[%d]: %w", sku.SKU, err)
	}
	return max(sku.Stock-n, 0), nil
}

// takeSKU takes one unit of sku's stock. A counter reported missing (cache loss)
// is reseeded from the quota orders stored and the take retried once.
func (s *Service) takeSKU(ctx context.Context, sku SKU) (bool, error) {
	key := SKUStockKey(sku.SKU)
	taken, missing, err := s.counter.Acquire(ctx, key, sku.Stock)
	if err == nil && missing {
		s.log.Warn("activity: sku stock counter missing, reseeding", "sku", sku.SKU)
		if err := s.seedSKU(ctx, sku.SKU); err != nil {
			return false, err
		}
		taken, missing, err = s.counter.Acquire(ctx, key, sku.Stock)
		if err == nil && missing {
			err = ErrStockCounterLost
		}
	}
	if err != nil {
		return false, fmt.Errorf("take sku stock: sku[%d]: %w", sku.SKU, err)
	}
	if taken {
		s.cell(sku.SKU).Add(1)
		s.reportZero(ctx, sku)
	}
	return taken, nil
}

// seedSKU rebuilds a missing stock counter from durable facts; Seed only sets a
// missing key, so a live counter is never overwritten.
func (s *Service) seedSKU(ctx context.Context, sku int64) error {
	n, err := s.store.CountSKUOrders(ctx, sku)
	if err != nil {
		return fmt.Errorf("seed sku stock: sku[%d]: %w", sku, err)
	}
	if _, err := s.counter.Seed(ctx, SKUStockKey(sku), n); err != nil {
		return fmt.Errorf("seed sku stock: sku[%d]: %w", sku, err)
	}
	return nil
}

// reportZero calls OnStockZero when the stock is all taken, once: the takers
// that see the counter at the stock race for a one-unit latch counter, and only
// the winner reports. Failures are logged, never fail the order.
func (s *Service) reportZero(ctx context.Context, sku SKU) {
	if s.onZero == nil {
		return
	}
	n, ok, err := s.counter.Get(ctx, SKUStockKey(sku.SKU))
	if err != nil || !ok || n < sku.Stock {
		if err != nil {
			s.log.Warn("activity: sku stock-zero check failed", "sku", sku.SKU, "err", err)
		}
		return
	}
	latch := skuZeroKey(sku.SKU, sku.Stock)
	if _, err := s.counter.Seed(ctx, latch, 0); err != nil {
		s.log.Warn("activity: sku stock-zero latch failed", "sku", sku.SKU, "err", err)
		return
	}
	won, _, err := s.counter.Acquire(ctx, latch, 1)
	if err != nil {
		s.log.Warn("activity: sku stock-zero latch failed", "sku", sku.SKU, "err", err)
		return
	}
	if won {
		s.onZero(ctx, sku.SKU)
	}
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
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			err := s.Flush(fctx)
			if err != nil {
				s.log.Error("activity: final sku stock flush failed", "err", err)
			}
			return err
		case <-t.C:
			if err := s.Flush(ctx); err != nil {
				s.log.Warn("activity: sku stock flush failed, keeping deltas", "err", err)
			}
		}
	}
}
