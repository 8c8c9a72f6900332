// Package exchange spends credits on quota packages
// (activity/credit_pay_exchange_sku): a user pays a SKU's price in credits and
// gets its count of draws on the SKU's activity.
//
// # The flow, and why no path leaves it half done
//
//  1. Checks that cost nothing: the SKU exists, its activity is open and in
//     date, and the balance covers the price (a cheap read; the real guard is
//     the payment in step 3).
//  2. activity.Service.CreateSKUOrder stores a wait_pay quota order with a fresh
//     out_business_no and takes one unit of SKU stock. A wait_pay order adds
//     nothing to the account.
//  3. Payment: ONE transaction on the user's shard locks the quota order (it
//     must still be wait_pay), applies a reverse credit order (amount = the
//     price, out_business_no = the quota order's; the SQL refuses to overdraw:
//     credit.ErrInsufficient) and stores a credit_adjust_success outbox task.
//     Payment and event commit together or not at all.
//  4. After the commit the task is handed to the relay, and the order is
//     completed at once (activity.Service.CompleteQuotaOrder: wait_pay →
//     completed + quotas added, idempotent), so the answer reflects the new
//     quota. If that fails, the consumer of credit_adjust_success (Consumer)
//     completes it from the event, retried by the bus and the outbox retry job;
//     Sweep completes it too if both are stuck.
//
// When the payment fails (a concurrent exchange spent the balance first, or an
// error), the order is cancelled so that nothing stays visible: the order is
// moved wait_pay → close in a transaction that first checks, under the order's
// lock, that no credit order with its out_business_no exists; then the SKU unit
// is given back (counter Release) and the closed row deleted. Close is the
// marker that the unit is being given back, taken exactly once per order, so a
// crash at any point never releases a unit twice (which could oversell): at
// worst a unit is not given back (undersell until the counter is rebuilt from
// durable facts). Release comes before the delete because a counter rebuilt
// from the stored orders between the two must still count the unit.
//
// Invariants: quota is added only to an order whose payment committed (the
// consumer checks the credit order exists); a committed payment is never
// cancelled (close checks under the lock, payment requires wait_pay under the
// same lock); the balance never goes negative (creditdb's conditional UPDATE).
//
// # Recovery (Sweep)
//
// A process that dies between steps 2 and 3 leaves a wait_pay order without
// payment; one that dies inside the cancel leaves a wait_pay or close order.
// Sweep, run periodically by one instance of the fleet, finds quota orders in
// wait_pay or close untouched for longer than a grace period (minutes: far
// longer than an exchange takes) and settles them: a paid wait_pay order is
// completed, an unpaid one cancelled as above (its unit released), a close
// order deleted (its unit may or may not have been given back already, so it is
// not released again).
package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
)

// StateClosed is the state of a credit quota order whose payment failed or
// never came, while its SKU unit is given back; the row is deleted right after.
// It is never completed.
const StateClosed activity.QuotaOrderState = "close"

// ErrOrderClosed reports a quota order that is no longer waiting for its
// payment (cancelled by Sweep, or gone): it cannot be paid.
var ErrOrderClosed = errors.New("exchange: quota order closed")

// CreditAdjustSuccess is the data of a credit_adjust_success event: the credit
// payment of a quota order committed. Field names are kept from the original
// platform.
type CreditAdjustSuccess struct {
	UserID string `json:"userId"`
	// OrderID is the credit order's id.
	OrderID string `json:"orderId"`
	// OutBusinessNo is the quota order's (and the credit order's)
	// out_business_no.
	OutBusinessNo string `json:"outBusinessNo"`
	// TotalAmount is the amount paid.
	TotalAmount money.Amount `json:"totalAmount"`
}

// Order is a quota order bought with credits and the state of its payment.
type Order struct {
	activity.QuotaOrder
	// Paid reports that a credit order with the quota order's out_business_no
	// exists: the payment committed.
	Paid bool
}

// CloseResult is what Store.Close found.
type CloseResult int

// Close results.
const (
	// Closed: the order was wait_pay and unpaid; it is now StateClosed and its
	// SKU unit is the caller's to give back.
	Closed CloseResult = iota + 1
	// AlreadyPaid: the payment committed; the order was left wait_pay (complete
	// it).
	AlreadyPaid
	// NotWaiting: the order does not exist or is not wait_pay (completed, or
	// closed by someone else); nothing changed.
	NotWaiting
)

// Store is the storage of exchanges (exchangedb.Store implements it). Every
// method works on the user's shard.
type Store interface {
	// Pay, in one transaction: locks userID's quota order o.OutBusinessNo,
	// which must be wait_pay (else an error wrapping ErrOrderClosed), applies
	// the reverse credit order c (errors wrapping credit.ErrInsufficient,
	// credit.ErrDuplicate, …) and stores task t. Any error leaves nothing.
	Pay(ctx context.Context, o activity.QuotaOrder, c credit.Order, t outbox.Task) error
	// Lookup returns userID's quota order outBusinessNo and whether it is paid,
	// or an error wrapping activity.ErrOrderNotFound.
	Lookup(ctx context.Context, userID, outBusinessNo string) (Order, error)
	// Close, in one transaction: locks the order and moves it wait_pay →
	// StateClosed unless it is paid; see CloseResult. now stamps the row.
	Close(ctx context.Context, userID, outBusinessNo string, now time.Time) (CloseResult, error)
	// DeleteClosed deletes the order if it is StateClosed; otherwise (or when it
	// does not exist) nothing changes and the result is nil.
	DeleteClosed(ctx context.Context, userID, outBusinessNo string) error
	// Stale returns quota orders in wait_pay or StateClosed not updated since
	// before, oldest first, at most limit per table, across every shard.
	Stale(ctx context.Context, before time.Time, limit int) ([]Order, error)
}

// Activity is the part of activity.Service an exchange uses.
type Activity interface {
	// CreateSKUOrder: see activity.Service.CreateSKUOrder.
	CreateSKUOrder(ctx context.Context, req activity.SKUOrderRequest, sku activity.SKU, act activity.Activity, count activity.Count) (activity.QuotaOrder, error)
	// CompleteQuotaOrder: see activity.Service.CompleteQuotaOrder.
	CompleteQuotaOrder(ctx context.Context, userID, outBusinessNo string) error
}

// Balances reads credit balances (creditdb.Store implements it).
type Balances interface {
	// Balance returns userID's available credits; zero without an account.
	Balance(ctx context.Context, userID string) (money.Amount, error)
}

// StockReleaser gives SKU stock units back (counter.Memory and counter.Redis
// implement it).
type StockReleaser interface {
	// Release subtracts one from key when it exists and is above 0, and
	// reports whether it did.
	Release(ctx context.Context, key string) (bool, error)
}

// Enqueuer hands committed outbox tasks to the publisher (*outbox.Relay
// implements it).
type Enqueuer interface {
	// Enqueue publishes t soon, without blocking; a task it drops stays for
	// the outbox retry job.
	Enqueue(t outbox.Task)
}

// cleanupTimeout bounds the cancel of an unpaid order, which runs even when the
// request's context has ended.
const cleanupTimeout = 10 * time.Second

// DefaultSweepLimit is the number of orders Sweep settles per table and run.
const DefaultSweepLimit = 500

// Config wires a Service. Catalog, Activity, Balances, Store and Stock are
// required.
type Config struct {
	// Catalog returns the configuration in force ((*catalog.Catalog).Current).
	Catalog func() *catalog.Snapshot
	// Activity creates and completes quota orders (*activity.Service).
	Activity Activity
	// Balances reads balances for the cheap pre-check (creditdb.Store).
	Balances Balances
	// Store pays, cancels and finds stale orders (exchangedb.Store).
	Store Store
	// Stock gives back the SKU units of cancelled orders (the counter store
	// activity.Service takes them from).
	Stock StockReleaser
	// Relay publishes credit_adjust_success after the payment commits. Nil
	// means the tasks wait for the outbox retry job.
	Relay Enqueuer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NewID makes out_business_nos, credit order ids and message ids (at most
	// 32 characters); nil means a fresh idgen.Generator.
	NewID func() string
	// Logger receives the failures that do not fail the exchange (a direct
	// completion left to the consumer, a cleanup left to Sweep); nil discards.
	Logger *slog.Logger
}

// Service exchanges credits for quota packages. It is safe for concurrent use;
// create it with NewService.
type Service struct {
	cfg Config
	log *slog.Logger
}

// NewService returns a Service wired by cfg. It panics when a required field
// is nil (a wiring error).
func NewService(cfg Config) *Service {
	if cfg.Catalog == nil || cfg.Activity == nil || cfg.Balances == nil || cfg.Store == nil || cfg.Stock == nil {
		panic("exchange: NewService needs Catalog, Activity, Balances, Store and Stock")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = idgen.New(cfg.Now).Next
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Logger.With("component", "exchange")}
}

// Exchange buys one package of sku for userID with credits (see the package doc
// for the steps) and returns the quota order: completed, or, when the payment
// committed but the direct completion failed, wait_pay with a nil error (the
// credit_adjust_success consumer adds the quota shortly).
//
// Errors (wrapped; test with errors.Is), after which nothing changed:
// activity.ErrInvalid for an empty user; activity.ErrUnknownSKU for a SKU the
// configuration does not hold; activity.ErrNotOpen, activity.ErrNotInDate;
// credit.ErrInsufficient when the balance does not cover the price (checked
// first, and again by the payment itself); activity.ErrSKUStockOut; storage
// errors. A SKU priced 0 is exchanged as a free (rebate-trade) order, with no
// credit order and no event.
func (s *Service) Exchange(ctx context.Context, userID string, skuID int64) (activity.QuotaOrder, error) {
	if userID == "" {
		return activity.QuotaOrder{}, fmt.Errorf("exchange: sku[%d]: empty user: %w", skuID, activity.ErrInvalid)
	}
	snap := s.cfg.Catalog()
	sku, ok := snap.SKUs[skuID]
	act, okAct := snap.Activities[sku.ActivityID]
	count, okCount := snap.Counts[sku.CountID]
	if !ok || !okAct || !okCount {
		return activity.QuotaOrder{}, fmt.Errorf("exchange: user[%s] sku[%d]: %w", userID, skuID, activity.ErrUnknownSKU)
	}
	now := s.cfg.Now()
	if err := act.Check(now); err != nil {
		return activity.QuotaOrder{}, fmt.Errorf("exchange: user[%s] sku[%d]: %w", userID, skuID, err)
	}
	req := activity.SKUOrderRequest{UserID: userID, SKU: skuID, OutBusinessNo: s.cfg.NewID(), Trade: activity.TradeCredit}
	if !sku.Price.IsPositive() {
		req.Trade = activity.TradeRebate
	} else {
		bal, err := s.cfg.Balances.Balance(ctx, userID)
		if err != nil {
			return activity.QuotaOrder{}, fmt.Errorf("exchange: user[%s] sku[%d]: %w", userID, skuID, err)
		}
		if bal.Cmp(sku.Price) < 0 {
			return activity.QuotaOrder{}, fmt.Errorf("exchange: user[%s] sku[%d]: balance %s, price %s: %w",
				userID, skuID, bal, sku.Price, credit.ErrInsufficient)
		}
	}
	o, err := s.cfg.Activity.CreateSKUOrder(ctx, req, sku, act, count)
	if err != nil {
		return activity.QuotaOrder{}, fmt.Errorf("exchange: %w", err)
	}
	if req.Trade == activity.TradeRebate {
		return o, nil
	}

	pay := credit.Order{
		UserID: userID, OrderID: s.cfg.NewID(), TradeName: credit.TradeExchange, TradeType: credit.Reverse,
		Amount: o.PayAmount, OutBusinessNo: o.OutBusinessNo, Time: now,
	}
	task, err := outbox.New(userID, outbox.TopicCreditAdjustSuccess, s.cfg.NewID(), CreditAdjustSuccess{
		UserID: userID, OrderID: pay.OrderID, OutBusinessNo: o.OutBusinessNo, TotalAmount: pay.Amount,
	}, now)
	if err == nil {
		err = s.cfg.Store.Pay(ctx, o, pay, task)
	}
	if err != nil {
		return s.unpaid(ctx, o, err)
	}
	if s.cfg.Relay != nil {
		s.cfg.Relay.Enqueue(task)
	}
	return s.complete(ctx, o), nil
}

// complete completes the paid order o and returns it, completed; when that
// fails it is logged and o is returned wait_pay: the consumer (or Sweep)
// completes it.
func (s *Service) complete(ctx context.Context, o activity.QuotaOrder) activity.QuotaOrder {
	if err := s.cfg.Activity.CompleteQuotaOrder(ctx, o.UserID, o.OutBusinessNo); err != nil {
		s.log.Warn("exchange: paid order not completed; left to the credit_adjust_success consumer",
			"user", o.UserID, "out_business_no", o.OutBusinessNo, "err", err)
		return o
	}
	o.State = activity.QuotaOrderCompleted
	return o
}

// unpaid settles order o after its payment failed with payErr: it is cancelled
// (unit released), unless the payment committed after all (an error on commit
// can hide a success), in which case it is completed and returned. A cancel that
// fails is logged and left to Sweep. The result is payErr, wrapped.
func (s *Service) unpaid(ctx context.Context, o activity.QuotaOrder, payErr error) (activity.QuotaOrder, error) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	res, err := s.cancel(cctx, o)
	switch {
	case err != nil:
		s.log.Warn("exchange: unpaid order not cancelled; left to Sweep",
			"user", o.UserID, "out_business_no", o.OutBusinessNo, "pay_err", payErr, "err", err)
	case res == AlreadyPaid:
		s.log.Warn("exchange: payment reported failed but committed; completing",
			"user", o.UserID, "out_business_no", o.OutBusinessNo, "pay_err", payErr)
		return s.complete(ctx, o), nil
	}
	return activity.QuotaOrder{}, fmt.Errorf("exchange: user[%s] sku[%d] out_business_no[%s]: pay: %w",
		o.UserID, o.SKU, o.OutBusinessNo, payErr)
}

// cancel closes the unpaid wait_pay order o, gives its SKU unit back and
// deletes it. The unit is released only by the caller whose Close moved the
// order (once per order); a failed release or delete is logged (the unit stays
// taken: undersell; the closed row is deleted by Sweep).
func (s *Service) cancel(ctx context.Context, o activity.QuotaOrder) (CloseResult, error) {
	res, err := s.cfg.Store.Close(ctx, o.UserID, o.OutBusinessNo, s.cfg.Now())
	if err != nil || res != Closed {
		return res, err
	}
	if _, err := s.cfg.Stock.Release(ctx, activity.SKUStockKey(o.SKU)); err != nil {
		s.log.Warn("exchange: sku unit of a cancelled order not given back",
			"sku", o.SKU, "user", o.UserID, "out_business_no", o.OutBusinessNo, "err", err)
	}
	if err := s.cfg.Store.DeleteClosed(ctx, o.UserID, o.OutBusinessNo); err != nil {
		s.log.Warn("exchange: closed order not deleted; left to Sweep",
			"user", o.UserID, "out_business_no", o.OutBusinessNo, "err", err)
	}
	return Closed, nil
}

// SweepReport counts what one Sweep did.
type SweepReport struct {
	Completed int // paid wait_pay orders completed
	Cancelled int // unpaid wait_pay orders cancelled (unit given back)
	Deleted   int // close orders of interrupted cancels deleted
	Failed    int // orders whose settling failed (retried next run)
}

// Sweep settles the credit quota orders left in wait_pay or close for longer
// than olderThan (see the package doc): paid ones are completed, unpaid ones
// cancelled, closed ones deleted. Run it from one instance at a time (a lease
// job) every minute or so, with olderThan of a few minutes (≤ 0 means 5
// minutes): an exchange in flight must never look stale. It returns what it did
// and the errors of the orders it could not settle, joined (they are retried on
// the next run).
func (s *Service) Sweep(ctx context.Context, olderThan time.Duration) (SweepReport, error) {
	if olderThan <= 0 {
		olderThan = 5 * time.Minute
	}
	var rep SweepReport
	stale, err := s.cfg.Store.Stale(ctx, s.cfg.Now().Add(-olderThan), DefaultSweepLimit)
	if err != nil {
		return rep, fmt.Errorf("exchange sweep: %w", err)
	}
	var errs []error
	for _, o := range stale {
		if err := s.settle(ctx, o, &rep); err != nil {
			rep.Failed++
			errs = append(errs, fmt.Errorf("user[%s] out_business_no[%s]: %w", o.UserID, o.OutBusinessNo, err))
		}
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("exchange sweep: %d of %d orders: %w", len(errs), len(stale), errors.Join(errs...))
	}
	return rep, nil
}

func (s *Service) settle(ctx context.Context, o Order, rep *SweepReport) error {
	if o.State == StateClosed {
		if err := s.cfg.Store.DeleteClosed(ctx, o.UserID, o.OutBusinessNo); err != nil {
			return err
		}
		rep.Deleted++
		return nil
	}
	if !o.Paid {
		res, err := s.cancel(ctx, o.QuotaOrder)
		if err != nil {
			return err
		}
		switch res {
		case Closed:
			s.log.Info("exchange: stale unpaid order cancelled", "user", o.UserID, "out_business_no", o.OutBusinessNo)
			rep.Cancelled++
			return nil
		case NotWaiting:
			return nil
		}
		// AlreadyPaid: the payment committed since Stale read the order.
	}
	if err := s.cfg.Activity.CompleteQuotaOrder(ctx, o.UserID, o.OutBusinessNo); err != nil {
		return err
	}
	s.log.Info("exchange: stale paid order completed", "user", o.UserID, "out_business_no", o.OutBusinessNo)
	rep.Completed++
	return nil
}
