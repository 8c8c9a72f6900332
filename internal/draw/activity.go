package draw

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/ratelimit"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// Errors of the draw guard; the HTTP layer maps them to 0004, 0005 and 0006.
var (
	// ErrDegraded: the degrade switch is open.
	ErrDegraded = errors.New("draw: degraded")
	// ErrRateLimited: the user exceeded the draw rate limit or is blacklisted.
	ErrRateLimited = errors.New("draw: rate limited")
	// ErrCircuitOpen: the draw's dependencies failed repeatedly, or the draw ran
	// past its time budget.
	ErrCircuitOpen = errors.New("draw: circuit open")
)

// DrawStore runs a draw's partake, raffle and record in one transaction on the
// user's shard.
type DrawStore interface {
	Draw(ctx context.Context, in activitydb.DrawInput, raffle activitydb.Raffle) (activity.Partake, error)
}

// RecordTxStore writes award records inside a transaction.
type RecordTxStore interface {
	InsertTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, rec award.Record) error
}

// RecordBatchStore adds award records to the batch of a draw's transaction.
type RecordBatchStore interface {
	AddInsert(w *sqldb.Batch, r sqldb.Route, rec award.Record)
}

// TaskBatchStore adds outbox tasks to the batch of a draw's transaction.
type TaskBatchStore interface {
	AddInsert(w *sqldb.Batch, r sqldb.Route, t outbox.Task)
}

// FenceHolder takes a stock fence inside a transaction (store/fencedb.Store):
// a take made after Hold cannot be missed by a counter rebuild while tx is
// open.
type FenceHolder interface {
	Hold(ctx context.Context, tx *sql.Tx, r sqldb.Route, stockKey string) (gen int64, err error)
}

// Relay publishes committed outbox tasks.
type Relay interface {
	Enqueue(t outbox.Task)
}

// Switches are the dynamic switches the draw consults.
type Switches interface {
	Degraded() bool
	RateLimit() (on bool, permits float64, blacklist int)
}

// Snapshots gives the configuration in force.
type Snapshots interface {
	Current() *catalog.Snapshot
}

// ActivityConfig wires an ActivityService. Every field is required unless noted.
type ActivityConfig struct {
	Engine   Engine
	Draws    DrawStore
	Records  RecordBatchStore
	Tasks    TaskBatchStore
	Relay    Relay
	Catalog  Snapshots
	Switches Switches
	// Fences holds the stock fence of each take inside the draw's
	// transaction, so that a counter rebuild waits for the draw (DESIGN §2).
	// Nil takes without fences (tests without a database).
	Fences FenceHolder
	// Quotas and Views serve the read endpoints; Reloader refreshes the
	// configuration on armory (nil: no refresh).
	Quotas   Quotas
	Views    Views
	Reloader Reloader
	// NewLimiter builds the per-user rate limiter for the switch values in force
	// (in process or Redis). Nil disables rate limiting.
	NewLimiter func(ratelimit.Config) (ratelimit.Limiter, error)
	// Timeout is a draw's time budget; zero means 2s.
	Timeout time.Duration
	NewID   func() string
	Now     func() time.Time
	// OnDraw, when set, is told about each successful draw (metrics).
	OnDraw func(strategyID, awardID int64)
}

// Result is what a draw answers.
type Result struct {
	AwardID    int64  `json:"awardId"`
	AwardTitle string `json:"awardTitle"`
	AwardIndex int    `json:"awardIndex"`
}

// ActivityService runs the draw of DESIGN §3.
type ActivityService struct {
	cfg     ActivityConfig
	breaker *gobreaker.CircuitBreaker[Result]

	limMu  sync.Mutex
	limKey ratelimit.Config
	lim    ratelimit.Limiter
}

// NewActivityService returns the draw service.
func NewActivityService(cfg ActivityConfig) *ActivityService {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	s := &ActivityService{cfg: cfg}
	s.breaker = gobreaker.NewCircuitBreaker[Result](gobreaker.Settings{
		Name:    "draw",
		Timeout: 5 * time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool {
			return c.ConsecutiveFailures >= 20
		},
		// Business outcomes (quota, state, unknown ids) are not failures of the
		// dependencies: only infrastructure errors trip the breaker.
		IsSuccessful: func(err error) bool { return err == nil || isBusiness(err) },
		// A draw whose caller went away (a client disconnect) says nothing
		// about the dependencies: it counts neither way. A draw past its own
		// time budget still counts as a failure (a slow database).
		IsExcluded: func(err error) bool {
			var gone callerGoneError
			return errors.As(err, &gone)
		},
	})
	return s
}

// callerGoneError marks the error of a draw whose caller's context ended
// before the draw did, for the breaker to leave it out. It reads and unwraps as
// the draw's own error.
type callerGoneError struct{ err error }

func (e callerGoneError) Error() string { return e.err.Error() }
func (e callerGoneError) Unwrap() error { return e.err }

// isBusiness reports whether err is a business outcome rather than a failure.
func isBusiness(err error) bool {
	for _, e := range []error{
		activity.ErrNotOpen, activity.ErrNotInDate, activity.ErrTotalQuota, activity.ErrMonthQuota,
		activity.ErrDayQuota, activity.ErrOrderUsed, activity.ErrUnknownActivity, strategy.ErrNotArmed,
		strategy.ErrNoAward, ErrDegraded, ErrRateLimited,
	} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// Draw runs one draw for a user on an activity: guard checks, activity state and
// dates, partake (quota), raffle, award record and send_award task in one
// transaction, then publication of the task.
func (s *ActivityService) Draw(ctx context.Context, userID string, activityID int64) (Result, error) {
	if s.cfg.Switches.Degraded() {
		return Result{}, ErrDegraded
	}
	if err := s.limit(ctx, userID); err != nil {
		return Result{}, err
	}
	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	res, err := s.breaker.Execute(func() (Result, error) {
		res, err := s.draw(ctx, userID, activityID)
		if err != nil && caller.Err() != nil {
			err = callerGoneError{err}
		}
		return res, err
	})
	switch {
	case errors.Is(err, gobreaker.ErrOpenState), errors.Is(err, gobreaker.ErrTooManyRequests):
		return Result{}, fmt.Errorf("draw user[%s] activity[%d]: %w", userID, activityID, ErrCircuitOpen)
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return Result{}, fmt.Errorf("draw user[%s] activity[%d]: over the %s budget: %w", userID, activityID, s.cfg.Timeout, ErrCircuitOpen)
	}
	return res, err
}

func (s *ActivityService) limit(ctx context.Context, userID string) error {
	if s.cfg.NewLimiter == nil {
		return nil
	}
	on, permits, blacklist := s.cfg.Switches.RateLimit()
	if !on {
		return nil
	}
	lim, err := s.limiter(ratelimit.Config{Rate: permits, Burst: 1, BlacklistCount: blacklist})
	if err != nil {
		return err
	}
	d, err := lim.Allow(ctx, "draw:"+userID)
	if err != nil {
		return fmt.Errorf("rate limit user[%s]: %w", userID, err)
	}
	if !d.Allowed || d.Blocked {
		return fmt.Errorf("user[%s]: %w", userID, ErrRateLimited)
	}
	return nil
}

// limiter returns the limiter for cfg, building a new one when the switch values
// changed.
func (s *ActivityService) limiter(cfg ratelimit.Config) (ratelimit.Limiter, error) {
	s.limMu.Lock()
	defer s.limMu.Unlock()
	if s.lim != nil && s.limKey == cfg {
		return s.lim, nil
	}
	lim, err := s.cfg.NewLimiter(cfg)
	if err != nil {
		return nil, fmt.Errorf("rate limiter: %w", err)
	}
	s.lim, s.limKey = lim, cfg
	return lim, nil
}

func (s *ActivityService) draw(ctx context.Context, userID string, activityID int64) (Result, error) {
	snap := s.cfg.Catalog.Current()
	act, ok := snap.Activities[activityID]
	if !ok {
		return Result{}, fmt.Errorf("draw activity[%d]: %w", activityID, activity.ErrUnknownActivity)
	}
	now := s.cfg.Now()
	if err := act.Check(now); err != nil {
		return Result{}, fmt.Errorf("draw user[%s] activity[%d]: %w", userID, activityID, err)
	}
	if !s.cfg.Engine.Armed(act.StrategyID) {
		return Result{}, fmt.Errorf("draw activity[%d] strategy[%d]: %w", activityID, act.StrategyID, strategy.ErrNotArmed)
	}
	in := activitydb.DrawInput{
		UserID:   userID,
		Activity: act,
		OrderID:  s.cfg.NewID(),
		Now:      now,
		Day:      activity.DayKey(now, snap.Location),
		Month:    activity.MonthKey(now, snap.Location),
	}
	if s.cfg.Fences != nil {
		// The fences the raffle may hold: a batch of draws takes them at once.
		in.StockKeys = snap.StockKeys[act.StrategyID]
	}
	var (
		out  Result
		task outbox.Task
		won  int64
		// raf is the raffle of order rafOrder, kept across transaction retries.
		raf      strategy.Result
		rafOrder string
	)
	_, err := s.cfg.Draws.Draw(ctx, in, func(t *activitydb.DrawTx, p activity.Partake, w *sqldb.Batch) error {
		r := t.Route
		// The store may run this closure again when it retries the transaction
		// (SQLITE_BUSY, a deadlock); the raffle of an order is kept so that a
		// retry does not take stock twice. The rollback dropped the stock
		// fence, though: the kept take is reused only if no counter rebuild
		// passed since (same fence generation); otherwise the rebuild did not
		// count it, and the raffle runs again (the old unit is lost: undersell).
		var hold func(context.Context, string) (int64, error)
		if s.cfg.Fences != nil {
			// The transaction holds each fence once, on its own context.
			hold = func(_ context.Context, key string) (int64, error) { return t.Hold(key, s.cfg.Fences.Hold) }
		}
		if rafOrder == p.Order.OrderID && raf.StockTaken && hold != nil {
			gen, err := hold(ctx, raf.StockKey)
			if err != nil {
				return err
			}
			if gen != raf.StockGen {
				rafOrder = ""
			}
		}
		if rafOrder != p.Order.OrderID {
			r, err := s.cfg.Engine.Raffle(ctx, strategy.Request{
				UserID:     userID,
				StrategyID: act.StrategyID,
				TotalDraws: p.TotalUsed,
				TodayDraws: p.TodayUsed,
				Hold:       hold,
			})
			if err != nil {
				return err
			}
			raf, rafOrder = r, p.Order.OrderID
		}
		res := raf
		aw := snap.Awards[res.AwardID]
		cfgValue := aw.Config
		if res.HasAmount {
			cfgValue = res.Amount.String()
		}
		rec := award.Record{
			UserID:      userID,
			ActivityID:  act.ID,
			StrategyID:  act.StrategyID,
			OrderID:     p.Order.OrderID,
			AwardID:     res.AwardID,
			AwardTitle:  res.Title,
			AwardConfig: cfgValue,
			Amount:      res.Amount,
			StockTaken:  res.StockTaken,
			State:       award.RecordCreate,
			Time:        now,
		}
		s.cfg.Records.AddInsert(w, r, rec)
		var err error
		task, err = outbox.New(userID, outbox.TopicSendAward, s.cfg.NewID(), award.SendAward{
			UserID:      userID,
			StrategyID:  act.StrategyID,
			ActivityID:  act.ID,
			OrderID:     p.Order.OrderID,
			AwardID:     res.AwardID,
			AwardTitle:  res.Title,
			AwardKey:    aw.Key,
			AwardConfig: cfgValue,
		}, now)
		if err != nil {
			return err
		}
		s.cfg.Tasks.AddInsert(w, r, task)
		out = Result{AwardID: res.AwardID, AwardTitle: res.Title, AwardIndex: res.Sort}
		won = res.AwardID
		return nil
	})
	if err != nil {
		return Result{}, fmt.Errorf("draw user[%s] activity[%d]: %w", userID, activityID, err)
	}
	s.cfg.Relay.Enqueue(task)
	if s.cfg.OnDraw != nil {
		s.cfg.OnDraw(act.StrategyID, won)
	}
	return out, nil
}
