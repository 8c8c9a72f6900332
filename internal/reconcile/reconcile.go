// Package reconcile finishes what delivery left behind. Award records and
// rebate orders are delivered by the consumers of send_award and send_rebate;
// a message parked after its last attempt, a process that died holding a
// webhook claim, or a completion mark that failed leaves a record unfinished
// with nothing to move it on. The Reconciler finds, on every shard, the records
// not finished past a deadline and redelivers them through the same idempotent
// delivery; after a bounded number of attempts it moves them to a visible
// final state (failed, with the last error), where an operator retries them.
// Run it on one instance of the fleet at a time (lease.RunExclusive).
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/rebate"
)

// ErrInvalid reports an unusable Config.
var ErrInvalid = errors.New("reconcile: invalid configuration")

// ErrUnknownAward reports an award record whose award the configuration no
// longer holds, so its delivery key is unknown.
var ErrUnknownAward = errors.New("reconcile: award unknown to the configuration")

// Kinds of records, the "kind" of OnResult.
const (
	KindAward  = "award"
	KindRebate = "rebate"
)

// Outcome is what one reconciled record became.
type Outcome string

// Outcomes of reconciled records.
const (
	// OutcomeRedelivered: delivered now (or found delivered meanwhile).
	OutcomeRedelivered Outcome = "redelivered"
	// OutcomePendingManual: an award with no deliverer or an unusable
	// config, kept pending_manual for an operator.
	OutcomePendingManual Outcome = "pending_manual"
	// OutcomeFailed: given up after MaxAttempts (or a permanent failure),
	// moved to failed with its last error.
	OutcomeFailed Outcome = "failed"
	// OutcomeError: this attempt failed; its error is stored and the record is
	// tried again after Deadline.
	OutcomeError Outcome = "error"
	// OutcomeSkipped: the record changed between the scan and the attempt
	// (another delivery finished or claimed it); left alone.
	OutcomeSkipped Outcome = "skipped"
)

// Defaults of Config.
const (
	DefaultDeadline    = time.Minute
	DefaultMaxAttempts = 5
	DefaultBatch       = 100
	DefaultWorkers     = 4
)

// AwardStore is what reconciling award records needs (awarddb.Store).
type AwardStore interface {
	// Stale returns records in create changed before createBefore and records
	// claimed (delivering) before claimBefore, at most limit per table and
	// state.
	Stale(ctx context.Context, createBefore, claimBefore time.Time, limit int) ([]award.Record, error)
	// Retake returns rec, unchanged since read, to create with one more
	// attempt and update time now; false when it changed.
	Retake(ctx context.Context, rec award.Record, now time.Time) (bool, error)
	// Fail moves rec, unchanged since read, to failed, keeping its last error
	// or storing reason; false when it changed.
	Fail(ctx context.Context, rec award.Record, reason string, now time.Time) (bool, error)
	// NoteError stores msg as the record's last error.
	NoteError(ctx context.Context, userID, orderID, msg string) error
}

// AwardDeliverer delivers one award record (award.Deliverer).
type AwardDeliverer interface {
	Deliver(ctx context.Context, sa award.SendAward) (award.Outcome, error)
}

// RebateStore is what reconciling rebate orders needs (rebatedb.Store).
type RebateStore interface {
	// Stale returns orders in create changed before before, at most limit per
	// table.
	Stale(ctx context.Context, before time.Time, limit int) ([]rebate.Order, error)
	// Retake counts one more attempt at o, unchanged since read, with update
	// time now; false when it changed.
	Retake(ctx context.Context, o rebate.Order, now time.Time) (bool, error)
	// Fail moves o, unchanged since read, to failed, keeping its last error or
	// storing reason; false when it changed.
	Fail(ctx context.Context, o rebate.Order, reason string, now time.Time) (bool, error)
	// NoteError stores msg as the order's last error.
	NoteError(ctx context.Context, userID, orderID, msg string) error
	// MarkCompleted moves the order from create to completed.
	MarkCompleted(ctx context.Context, userID, orderID string, now time.Time) error
}

// RebateDeliverer grants one rebate order (rebate.Deliverer).
type RebateDeliverer interface {
	Deliver(ctx context.Context, sr rebate.SendRebate) (rebate.Outcome, error)
}

// Config configures a Reconciler. Awards, Deliverer and AwardKey are
// required; Rebates and RebateDeliverer go together (both nil: rebate orders
// are not reconciled). Other zero fields mean their defaults.
type Config struct {
	Awards    AwardStore
	Deliverer AwardDeliverer
	// AwardKey returns the delivery key of an award id (from the
	// configuration in force); false when the award is unknown.
	AwardKey func(awardID int64) (award.Key, bool)
	// ClaimTimeout is the award deliverer's claim timeout: a record claimed
	// longer ago is no longer being delivered. Zero means Deadline.
	ClaimTimeout time.Duration

	Rebates         RebateStore
	RebateDeliverer RebateDeliverer

	// Deadline is how long after its last change an unfinished record is
	// taken. Zero means DefaultDeadline.
	Deadline time.Duration
	// MaxAttempts is how many attempts the reconciler makes at one record
	// before it moves it to failed. Zero means DefaultMaxAttempts.
	MaxAttempts int
	// Batch bounds the records read per table (and state) in one run. Zero
	// means DefaultBatch.
	Batch int
	// Workers is how many records are delivered at once. Zero means
	// DefaultWorkers.
	Workers int
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// OnResult, when not nil, is called for every record taken, with its kind
	// (KindAward, KindRebate) and outcome, for metrics.
	OnResult func(kind string, out Outcome)
	// Logger receives what the reconciler did. Nil means discard.
	Logger *slog.Logger
}

// Reconciler redelivers unfinished award records and rebate orders. Create it
// with New; RunOnce is safe for concurrent use, but run it on one instance of
// a fleet at a time.
type Reconciler struct {
	cfg Config
	log *slog.Logger
}

// New returns a Reconciler configured by cfg, or an error wrapping ErrInvalid
// when a required field is missing or a number is negative.
func New(cfg Config) (*Reconciler, error) {
	switch {
	case cfg.Awards == nil || cfg.Deliverer == nil || cfg.AwardKey == nil:
		return nil, fmt.Errorf("new reconciler: award store, deliverer and award keys are required: %w", ErrInvalid)
	case (cfg.Rebates == nil) != (cfg.RebateDeliverer == nil):
		return nil, fmt.Errorf("new reconciler: rebate store and rebate deliverer go together: %w", ErrInvalid)
	case cfg.Deadline < 0 || cfg.ClaimTimeout < 0 || cfg.MaxAttempts < 0 || cfg.Batch < 0 || cfg.Workers < 0:
		return nil, fmt.Errorf("new reconciler: negative deadline, claim timeout, attempts, batch or workers: %w", ErrInvalid)
	}
	if cfg.Deadline == 0 {
		cfg.Deadline = DefaultDeadline
	}
	if cfg.ClaimTimeout == 0 {
		cfg.ClaimTimeout = cfg.Deadline
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{cfg: cfg, log: cfg.Logger.With("component", "reconcile")}, nil
}

// Result counts the records one run took, by kind and outcome.
type Result map[string]map[Outcome]int

func (r Result) add(kind string, out Outcome) {
	if r[kind] == nil {
		r[kind] = map[Outcome]int{}
	}
	r[kind][out]++
}

// RunOnce reconciles one batch: award records in create past Deadline or
// claimed past ClaimTimeout, and rebate orders in create past Deadline, on
// every shard. Each is either moved to failed (after MaxAttempts) or taken for
// one more attempt and delivered. It returns what it did, and the first
// storage error that stopped a scan (records already taken are still
// delivered).
func (r *Reconciler) RunOnce(ctx context.Context) (Result, error) {
	var mu sync.Mutex
	res := Result{}
	count := func(kind string, out Outcome) {
		mu.Lock()
		res.add(kind, out)
		mu.Unlock()
		if r.cfg.OnResult != nil {
			r.cfg.OnResult(kind, out)
		}
	}
	now := r.cfg.Now()
	var errs []error
	recs, err := r.cfg.Awards.Stale(ctx, now.Add(-r.cfg.Deadline), now.Add(-r.cfg.ClaimTimeout), r.cfg.Batch)
	if err != nil {
		errs = append(errs, fmt.Errorf("reconcile award records: %w", err))
	}
	var orders []rebate.Order
	if r.cfg.Rebates != nil {
		if orders, err = r.cfg.Rebates.Stale(ctx, now.Add(-r.cfg.Deadline), r.cfg.Batch); err != nil {
			errs = append(errs, fmt.Errorf("reconcile rebate orders: %w", err))
		}
	}
	jobs := make(chan func(), r.cfg.Workers)
	var wg sync.WaitGroup
	for range r.cfg.Workers {
		wg.Go(func() {
			for j := range jobs {
				j()
			}
		})
	}
	for _, rec := range recs {
		jobs <- func() { count(KindAward, r.award(ctx, rec)) }
	}
	for _, o := range orders {
		jobs <- func() { count(KindRebate, r.rebate(ctx, o)) }
	}
	close(jobs)
	wg.Wait()
	if n := len(recs) + len(orders); n > 0 {
		r.log.Info("reconciled unfinished records", "awards", len(recs), "rebates", len(orders), "result", res)
	}
	return res, errors.Join(errs...)
}

// award reconciles one award record.
func (r *Reconciler) award(ctx context.Context, rec award.Record) Outcome {
	log := r.log.With("user", rec.UserID, "order", rec.OrderID, "award", rec.AwardID, "attempts", rec.Attempts)
	if rec.Attempts >= r.cfg.MaxAttempts {
		reason := fmt.Sprintf("not delivered after %d reconcile attempts", rec.Attempts)
		ok, err := r.cfg.Awards.Fail(ctx, rec, reason, r.cfg.Now())
		switch {
		case err != nil:
			log.Warn("award record not moved to failed", "err", err)
			return OutcomeError
		case !ok:
			return OutcomeSkipped
		}
		log.Error("award record failed: an operator retries it once the cause is fixed", "last_error", rec.LastError)
		return OutcomeFailed
	}
	ok, err := r.cfg.Awards.Retake(ctx, rec, r.cfg.Now())
	if err != nil {
		log.Warn("award record not taken", "err", err)
		return OutcomeError
	}
	if !ok {
		return OutcomeSkipped
	}
	key, known := r.cfg.AwardKey(rec.AwardID)
	if !known {
		return r.awardError(ctx, rec, fmt.Errorf("award[%d]: %w", rec.AwardID, ErrUnknownAward), log)
	}
	out, err := r.cfg.Deliverer.Deliver(ctx, award.SendAward{
		UserID: rec.UserID, StrategyID: rec.StrategyID, ActivityID: rec.ActivityID, OrderID: rec.OrderID,
		AwardID: rec.AwardID, AwardTitle: rec.AwardTitle, AwardKey: key, AwardConfig: rec.AwardConfig,
	})
	switch out {
	case award.OutcomeError:
		return r.awardError(ctx, rec, err, log)
	case award.OutcomePendingManual, award.OutcomeConfigError:
		return OutcomePendingManual
	}
	return OutcomeRedelivered
}

func (r *Reconciler) awardError(ctx context.Context, rec award.Record, cause error, log *slog.Logger) Outcome {
	log.Warn("award record redelivery failed; tried again after the deadline", "err", cause)
	if err := r.cfg.Awards.NoteError(ctx, rec.UserID, rec.OrderID, award.TruncateError(cause)); err != nil {
		log.Warn("award record error not stored", "err", err)
	}
	return OutcomeError
}

// rebate reconciles one rebate order.
func (r *Reconciler) rebate(ctx context.Context, o rebate.Order) Outcome {
	log := r.log.With("user", o.UserID, "rebate_order", o.OrderID, "biz_id", o.BizID, "attempts", o.Attempts)
	fail := func(reason string) Outcome {
		ok, err := r.cfg.Rebates.Fail(ctx, o, reason, r.cfg.Now())
		switch {
		case err != nil:
			log.Warn("rebate order not moved to failed", "err", err)
			return OutcomeError
		case !ok:
			return OutcomeSkipped
		}
		log.Error("rebate order failed", "reason", reason)
		return OutcomeFailed
	}
	if o.Attempts >= r.cfg.MaxAttempts {
		return fail(fmt.Sprintf("not delivered after %d reconcile attempts", o.Attempts))
	}
	now := r.cfg.Now()
	ok, err := r.cfg.Rebates.Retake(ctx, o, now)
	if err != nil {
		log.Warn("rebate order not taken", "err", err)
		return OutcomeError
	}
	if !ok {
		return OutcomeSkipped
	}
	o.Updated = time.UnixMilli(now.UnixMilli()) // as Retake left it, for a Fail below
	out, err := r.cfg.RebateDeliverer.Deliver(ctx, rebate.SendRebate{
		UserID: o.UserID, Behavior: o.Behavior, Type: o.Type, Config: o.Config, BizID: o.BizID, OrderID: o.OrderID,
	})
	switch out {
	case rebate.OutcomeRejected:
		// Permanent: no attempt can help; visible at once.
		o.Attempts++
		if nerr := r.cfg.Rebates.NoteError(ctx, o.UserID, o.OrderID, err.Error()); nerr != nil {
			log.Warn("rebate order error not stored", "err", nerr)
		}
		return fail(err.Error())
	case rebate.OutcomeError:
		log.Warn("rebate order redelivery failed; tried again after the deadline", "err", err)
		if nerr := r.cfg.Rebates.NoteError(ctx, o.UserID, o.OrderID, err.Error()); nerr != nil {
			log.Warn("rebate order error not stored", "err", nerr)
		}
		return OutcomeError
	}
	// Granted (now or before): the order must say so, or it comes back.
	if err := r.cfg.Rebates.MarkCompleted(ctx, o.UserID, o.OrderID, r.cfg.Now()); err != nil {
		log.Warn("rebate order granted but not marked completed", "err", err)
		if nerr := r.cfg.Rebates.NoteError(ctx, o.UserID, o.OrderID, err.Error()); nerr != nil {
			log.Warn("rebate order error not stored", "err", nerr)
		}
		return OutcomeError
	}
	return OutcomeRedelivered
}
