package rebate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/outbox"
)

// Storer is the rebate orders' storage (rebatedb.Store implements it).
type Storer interface {
	// Create stores orders, all of one user, and the outbox tasks that announce
	// them in one transaction on the user's shard. When the biz id of any order
	// is stored already it returns an error wrapping ErrDuplicate and nothing
	// is stored; on any other error nothing is stored either.
	Create(ctx context.Context, orders []Order, tasks []outbox.Task) error
	// ExistsByOutBusinessNo reports whether userID has a rebate order of
	// behavior with that business number.
	ExistsByOutBusinessNo(ctx context.Context, userID, behavior, outBusinessNo string) (bool, error)
	// ListByUser returns userID's rebate orders, newest first, at most limit
	// (limit ≤ 0 means the store's default).
	ListByUser(ctx context.Context, userID string, limit int) ([]Order, error)
}

// Enqueuer publishes committed outbox tasks (outbox.Relay implements it).
type Enqueuer interface {
	Enqueue(t outbox.Task)
}

// Config wires a Service. Store and Rules are required; every other zero field
// means its default.
type Config struct {
	// Store stores rebate orders with their tasks.
	Store Storer
	// Relay publishes the tasks after their commit. Nil means they are left to
	// the outbox retry job.
	Relay Enqueuer
	// Rules returns the open rebate rules of a behaviour (the catalog
	// snapshot's Rebates[behavior]); none means the behaviour earns nothing.
	Rules func(behavior string) []Rule
	// Location returns the time zone of the sign-in day (the campaign's). Nil,
	// or a nil result, means time.Local.
	Location func() *time.Location
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// NewID makes order and message ids (unique, at most 32 characters). Nil
	// means a fresh idgen generator.
	NewID func() string
	// Logger receives notes about rebates made. Nil means discard.
	Logger *slog.Logger
}

// Service makes behaviour rebates. It is safe for concurrent use; create it
// with NewService.
type Service struct {
	cfg Config
	log *slog.Logger
}

// NewService returns a Service wired by cfg. It panics when cfg.Store or
// cfg.Rules is nil (a wiring error).
func NewService(cfg Config) *Service {
	if cfg.Store == nil || cfg.Rules == nil {
		panic("rebate: NewService needs a Store and Rules")
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
	return &Service{cfg: cfg, log: cfg.Logger.With("component", "rebate")}
}

func (s *Service) location() *time.Location {
	if s.cfg.Location != nil {
		if loc := s.cfg.Location(); loc != nil {
			return loc
		}
	}
	return time.Local
}

// Rebate records what behavior with business number outBusinessNo earns userID:
// for every open rule of the behaviour, a rebate order with biz id
// BizID(userID, rule type, outBusinessNo) and a send_rebate task, all in one
// transaction; after the commit the tasks are handed to the relay. It returns
// the orders made, or an error wrapping
//   - ErrInvalid for an empty or too long user, behaviour or business number,
//     or a biz id longer than MaxBizIDLen;
//   - ErrNoRebate when the behaviour has no open rule;
//   - ErrBadRule when two open rules share a type or one has an unknown type;
//   - ErrDuplicate when any of the biz ids is stored already (this rebate was
//     made before);
//
// in which cases nothing was stored; or a storage error.
func (s *Service) Rebate(ctx context.Context, userID, behavior, outBusinessNo string) ([]Order, error) {
	if err := validRequest(userID, behavior, outBusinessNo); err != nil {
		return nil, err
	}
	rules := s.cfg.Rules(behavior)
	if len(rules) == 0 {
		return nil, fmt.Errorf("rebate: user[%s] behavior[%s]: %w", userID, behavior, ErrNoRebate)
	}
	now := s.cfg.Now()
	orders := make([]Order, 0, len(rules))
	tasks := make([]outbox.Task, 0, len(rules))
	seen := make(map[Type]bool, len(rules))
	for _, r := range rules {
		if r.Type != TypeIntegral && r.Type != TypeSKU {
			return nil, fmt.Errorf("rebate: behavior[%s] rule[%d]: type %q: %w", behavior, r.ID, r.Type, ErrBadRule)
		}
		if seen[r.Type] {
			return nil, fmt.Errorf("rebate: behavior[%s] rule[%d]: a second open rule of type %q: %w",
				behavior, r.ID, r.Type, ErrBadRule)
		}
		seen[r.Type] = true
		bizID := BizID(userID, r.Type, outBusinessNo)
		if len(bizID) > MaxBizIDLen {
			return nil, fmt.Errorf("rebate: user[%s] out_business_no[%s]: biz id of %d bytes > %d: %w",
				userID, outBusinessNo, len(bizID), MaxBizIDLen, ErrInvalid)
		}
		o := Order{
			UserID: userID, OrderID: s.cfg.NewID(), Behavior: behavior, RebateDesc: r.Desc,
			Type: r.Type, Config: r.Config, OutBusinessNo: outBusinessNo, BizID: bizID,
			State: OrderCreate, Time: now,
		}
		data := SendRebate{UserID: userID, Behavior: behavior, Type: r.Type, Config: r.Config, BizID: bizID, OrderID: o.OrderID}
		t, err := outbox.New(userID, outbox.TopicSendRebate, s.cfg.NewID(), data, now)
		if err != nil {
			return nil, fmt.Errorf("rebate: user[%s] biz[%s]: %w", userID, bizID, err)
		}
		orders = append(orders, o)
		tasks = append(tasks, t)
	}
	if err := s.cfg.Store.Create(ctx, orders, tasks); err != nil {
		return nil, fmt.Errorf("rebate: user[%s] behavior[%s] out_business_no[%s]: %w", userID, behavior, outBusinessNo, err)
	}
	if s.cfg.Relay != nil {
		for _, t := range tasks {
			s.cfg.Relay.Enqueue(t)
		}
	}
	s.log.Debug("rebate made", "user", userID, "behavior", behavior, "out_business_no", outBusinessNo, "orders", len(orders))
	return orders, nil
}

// SignIn is the daily sign-in (calendar_sign_rebate): Rebate(userID,
// BehaviorSign, today as yyyyMMdd in the campaign's time zone). A second
// sign-in the same day returns an error wrapping ErrDuplicate.
func (s *Service) SignIn(ctx context.Context, userID string) ([]Order, error) {
	return s.Rebate(ctx, userID, BehaviorSign, SignOutBusinessNo(s.cfg.Now(), s.location()))
}

// IsSignedIn reports whether userID signed in today (is_calendar_sign_rebate):
// whether today's sign rebate orders exist. An empty user id returns an error
// wrapping ErrInvalid.
func (s *Service) IsSignedIn(ctx context.Context, userID string) (bool, error) {
	day := SignOutBusinessNo(s.cfg.Now(), s.location())
	if err := validRequest(userID, BehaviorSign, day); err != nil {
		return false, err
	}
	ok, err := s.cfg.Store.ExistsByOutBusinessNo(ctx, userID, BehaviorSign, day)
	if err != nil {
		return false, fmt.Errorf("is signed in: user[%s] day[%s]: %w", userID, day, err)
	}
	return ok, nil
}

// Orders returns userID's rebate orders, newest first, at most limit (≤ 0
// means the store's default), for the admin users view.
func (s *Service) Orders(ctx context.Context, userID string, limit int) ([]Order, error) {
	out, err := s.cfg.Store.ListByUser(ctx, userID, limit)
	if err != nil {
		return nil, fmt.Errorf("rebate orders: user[%s]: %w", userID, err)
	}
	return out, nil
}
