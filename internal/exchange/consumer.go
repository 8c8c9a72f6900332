package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

// Completer completes paid quota orders (*activity.Service implements it).
type Completer interface {
	// CompleteQuotaOrder: see activity.Service.CompleteQuotaOrder.
	CompleteQuotaOrder(ctx context.Context, userID, outBusinessNo string) error
}

// Outcome is what handling one credit_adjust_success message did, for metrics.
type Outcome string

// Consumer outcomes.
const (
	OutcomeCompleted   Outcome = "completed"    // the order was completed now
	OutcomeAlreadyDone Outcome = "already_done" // completed before: nothing done
	OutcomeRejected    Outcome = "rejected"     // can never succeed: logged and acknowledged
	OutcomeError       Outcome = "error"        // transient failure: the bus redelivers
)

// ConsumerConfig wires a Consumer. Store and Activity are required.
type ConsumerConfig struct {
	// Store looks orders and their payments up (exchangedb.Store).
	Store Store
	// Activity completes the orders (*activity.Service).
	Activity Completer
	// OnResult, when not nil, is called after every message with its outcome
	// and error (nil unless OutcomeRejected or OutcomeError), for metrics.
	OnResult func(Outcome, CreditAdjustSuccess, error)
	// Logger receives rejected messages and failures; nil discards them.
	Logger *slog.Logger
}

// Consumer completes quota orders whose credit payment committed: it is the
// consumer of credit_adjust_success. It is idempotent (completing a completed
// order changes nothing), so duplicated and reordered messages add each
// package once. Create it with NewConsumer; it is safe for concurrent use.
type Consumer struct {
	cfg ConsumerConfig
	log *slog.Logger
}

// NewConsumer returns a Consumer wired by cfg. It returns an error wrapping
// bus.ErrInvalid when Store or Activity is nil.
func NewConsumer(cfg ConsumerConfig) (*Consumer, error) {
	if cfg.Store == nil || cfg.Activity == nil {
		return nil, fmt.Errorf("new exchange consumer: store and activity are required: %w", bus.ErrInvalid)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Consumer{cfg: cfg, log: cfg.Logger.With("component", "exchange.consumer")}, nil
}

// errRejected marks messages no redelivery can fix.
var errRejected = errors.New("rejected")

// Handle is the bus.Handler of credit_adjust_success: subscribe it with
// bus.Subscribe(outbox.TopicCreditAdjustSuccess, c.Handle). It completes the
// message's quota order when the order is wait_pay and its payment exists.
// Messages that can never succeed are logged at error level and acknowledged
// (nil): a malformed message, an unknown order (the event commits only with the
// payment of an order that exists and can then no longer be cancelled, so this
// is a foreign or forged message), a closed order, or an order without payment
// (no quota without payment). Transient failures (storage, timeouts) are
// returned, so the bus redelivers the message with backoff.
func (c *Consumer) Handle(ctx context.Context, m bus.Message) error {
	var ev CreditAdjustSuccess
	out, err := c.handle(ctx, m, &ev)
	if c.cfg.OnResult != nil {
		c.cfg.OnResult(out, ev, err)
	}
	switch out {
	case OutcomeRejected:
		c.log.Error("credit_adjust_success rejected; acknowledged without completing",
			"message", m.ID, "user", ev.UserID, "out_business_no", ev.OutBusinessNo, "err", err)
		return nil
	case OutcomeError:
		return err
	}
	return nil
}

func (c *Consumer) handle(ctx context.Context, m bus.Message, ev *CreditAdjustSuccess) (Outcome, error) {
	if _, _, err := bus.DecodeEnvelope(m.Body, ev); err != nil {
		return OutcomeRejected, err
	}
	if ev.UserID == "" || ev.OutBusinessNo == "" {
		return OutcomeRejected, fmt.Errorf("credit_adjust_success[%s]: user[%s] out_business_no[%s]: missing: %w",
			m.ID, ev.UserID, ev.OutBusinessNo, errRejected)
	}
	o, err := c.cfg.Store.Lookup(ctx, ev.UserID, ev.OutBusinessNo)
	switch {
	case errors.Is(err, activity.ErrOrderNotFound):
		return OutcomeRejected, err
	case err != nil:
		return OutcomeError, err
	case o.State == activity.QuotaOrderCompleted:
		return OutcomeAlreadyDone, nil
	case o.State != activity.QuotaOrderWaitPay:
		return OutcomeRejected, fmt.Errorf("quota order user[%s] out_business_no[%s] state %q: %w",
			ev.UserID, ev.OutBusinessNo, o.State, errRejected)
	case !o.Paid:
		return OutcomeRejected, fmt.Errorf("quota order user[%s] out_business_no[%s]: no payment: %w",
			ev.UserID, ev.OutBusinessNo, errRejected)
	}
	if err := c.cfg.Activity.CompleteQuotaOrder(ctx, ev.UserID, ev.OutBusinessNo); err != nil {
		return OutcomeError, err
	}
	return OutcomeCompleted, nil
}
