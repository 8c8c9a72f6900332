package rebate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

// SKUOrderer creates free quota orders (the app adapts activity.Service and the
// catalog to it).
type SKUOrderer interface {
	// CreateSKUOrder creates a rebate-trade (free) quota order of sku for
	// userID, idempotent by outBusinessNo. It returns errors wrapping
	// activity.ErrDuplicate when outBusinessNo was ordered before (nothing
	// changed), activity.ErrUnknownSKU or activity.ErrUnknownActivity for a SKU
	// the configuration does not hold, activity.ErrNotOpen,
	// activity.ErrNotInDate or activity.ErrSKUStockOut when it cannot be
	// ordered now.
	CreateSKUOrder(ctx context.Context, userID string, sku int64, outBusinessNo string) error
}

// CreditApplier applies credit orders (creditdb.Store implements it).
type CreditApplier interface {
	// Apply stores o and changes the balance, returning an error wrapping
	// credit.ErrDuplicate when o's out_business_no is in the ledger already.
	Apply(ctx context.Context, o credit.Order) error
}

// OrderMarker marks rebate orders delivered (rebatedb.Store implements it).
type OrderMarker interface {
	// MarkCompleted moves userID's rebate order orderID from OrderCreate to
	// OrderCompleted; an order in another state or unknown is left alone.
	MarkCompleted(ctx context.Context, userID, orderID string, now time.Time) error
}

// Outcome is what handling one send_rebate message did, for metrics.
type Outcome string

// Delivery outcomes.
const (
	OutcomeCredited    Outcome = "credited"     // a forward credit order was applied
	OutcomeQuota       Outcome = "quota"        // a free quota order was created
	OutcomeAlreadyDone Outcome = "already_done" // delivered before: nothing done
	OutcomeRejected    Outcome = "rejected"     // permanent failure: logged and acknowledged
	OutcomeError       Outcome = "error"        // transient failure: the bus redelivers
)

// DelivererConfig configures a Deliverer. SKUs and Credits are required; every
// other zero field means its default.
type DelivererConfig struct {
	// SKUs creates the quota orders of sku rebates.
	SKUs SKUOrderer
	// Credits applies the credit orders of integral rebates.
	Credits CreditApplier
	// Orders marks rebate orders completed after delivery (best effort: a
	// failed mark is logged). Nil means orders are not marked.
	Orders OrderMarker
	// NewID makes credit order ids. Nil means an idgen generator.
	NewID func() string
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// OnResult, when not nil, is called after every message with its outcome
	// and error (nil unless OutcomeRejected or OutcomeError), for metrics.
	OnResult func(Outcome, SendRebate, error)
	// Logger receives rejected rebates and failures. Nil means discard.
	Logger *slog.Logger
}

// Deliverer grants rebate orders: it is the consumer of send_rebate. Every
// grant is idempotent by the order's biz id (the out_business_no of the quota
// or credit order), so duplicated and reordered messages grant once. Create it
// with NewDeliverer; it is safe for concurrent use.
type Deliverer struct {
	cfg DelivererConfig
	log *slog.Logger
}

// NewDeliverer returns a Deliverer configured by cfg. It returns an error
// wrapping bus.ErrInvalid when SKUs or Credits is nil.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	if cfg.SKUs == nil || cfg.Credits == nil {
		return nil, fmt.Errorf("new rebate deliverer: SKU orderer and credit applier are required: %w", bus.ErrInvalid)
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
	return &Deliverer{cfg: cfg, log: cfg.Logger.With("component", "rebate.delivery")}, nil
}

// errPermanent marks failures that no redelivery can fix.
var errPermanent = errors.New("permanent")

// Handle is the bus.Handler of send_rebate: subscribe it with
// bus.Subscribe(outbox.TopicSendRebate, d.Handle). It decodes the envelope and
// delivers (see Deliver). Permanent failures (a malformed message, an unknown
// type or SKU, a bad amount, a SKU sold out or an activity closed) are logged
// at error level and acknowledged (nil): the rebate order stays in
// OrderCreate, visible to operators. Transient failures (storage, timeouts)
// are returned, so the bus redelivers the message with backoff.
func (d *Deliverer) Handle(ctx context.Context, m bus.Message) error {
	var sr SendRebate
	if _, _, err := bus.DecodeEnvelope(m.Body, &sr); err != nil {
		d.result(OutcomeRejected, sr, err)
		d.log.Error("send_rebate message malformed; acknowledged without delivery", "message", m.ID, "err", err)
		return nil
	}
	out, err := d.Deliver(ctx, sr)
	if out == OutcomeRejected {
		d.log.Error("rebate cannot be delivered; acknowledged, order left in state create for an operator",
			"message", m.ID, "user", sr.UserID, "order", sr.OrderID, "biz_id", sr.BizID,
			"type", sr.Type, "config", sr.Config, "err", err)
		return nil
	}
	return err
}

// Deliver grants sr once: a sku rebate creates a free quota order of the SKU
// in Config, an integral rebate a forward credit order of the amount in Config
// (trade name credit.TradeRebate), each with out_business_no = sr.BizID. Then
// the rebate order is marked completed (best effort). A grant already made
// returns OutcomeAlreadyDone and nil. A permanent failure returns
// OutcomeRejected with an error (a malformed message, an unknown type, a
// Config that is not a SKU id or a positive amount, an unknown SKU, a SKU sold
// out, an activity not open or not in date); a transient one OutcomeError.
func (d *Deliverer) Deliver(ctx context.Context, sr SendRebate) (Outcome, error) {
	out, err := d.deliver(ctx, sr)
	switch {
	case out == OutcomeError:
		d.log.Warn("rebate delivery failed; the bus will retry", "user", sr.UserID, "biz_id", sr.BizID, "err", err)
	case out != OutcomeRejected && d.cfg.Orders != nil && sr.OrderID != "":
		if merr := d.cfg.Orders.MarkCompleted(ctx, sr.UserID, sr.OrderID, d.cfg.Now()); merr != nil {
			d.log.Warn("rebate delivered but its order not marked completed", "user", sr.UserID, "order", sr.OrderID, "err", merr)
		}
	}
	d.result(out, sr, err)
	return out, err
}

func (d *Deliverer) deliver(ctx context.Context, sr SendRebate) (Outcome, error) {
	if sr.UserID == "" || sr.BizID == "" {
		return OutcomeRejected, fmt.Errorf("deliver rebate: user[%s] biz[%s]: missing user or biz id: %w",
			sr.UserID, sr.BizID, errPermanent)
	}
	switch sr.Type {
	case TypeSKU:
		sku, err := strconv.ParseInt(sr.Config, 10, 64)
		if err != nil || sku <= 0 {
			return OutcomeRejected, fmt.Errorf("deliver rebate: user[%s] biz[%s]: config %q is not a SKU id: %w",
				sr.UserID, sr.BizID, sr.Config, errPermanent)
		}
		err = d.cfg.SKUs.CreateSKUOrder(ctx, sr.UserID, sku, sr.BizID)
		switch {
		case err == nil:
			return OutcomeQuota, nil
		case errors.Is(err, activity.ErrDuplicate):
			return OutcomeAlreadyDone, nil
		case errors.Is(err, activity.ErrUnknownSKU), errors.Is(err, activity.ErrUnknownActivity),
			errors.Is(err, activity.ErrInvalid), errors.Is(err, activity.ErrSKUStockOut),
			errors.Is(err, activity.ErrNotOpen), errors.Is(err, activity.ErrNotInDate):
			return OutcomeRejected, fmt.Errorf("deliver rebate: user[%s] biz[%s] sku[%d]: %w", sr.UserID, sr.BizID, sku, err)
		}
		return OutcomeError, fmt.Errorf("deliver rebate: user[%s] biz[%s] sku[%d]: %w", sr.UserID, sr.BizID, sku, err)
	case TypeIntegral:
		amount, err := money.Parse(sr.Config)
		if err != nil || !amount.IsPositive() {
			return OutcomeRejected, fmt.Errorf("deliver rebate: user[%s] biz[%s]: config %q is not a positive amount: %w",
				sr.UserID, sr.BizID, sr.Config, errPermanent)
		}
		o := credit.Order{
			UserID: sr.UserID, OrderID: d.cfg.NewID(), TradeName: credit.TradeRebate, TradeType: credit.Forward,
			Amount: amount, OutBusinessNo: sr.BizID, Time: d.cfg.Now(),
		}
		err = d.cfg.Credits.Apply(ctx, o)
		switch {
		case err == nil:
			return OutcomeCredited, nil
		case errors.Is(err, credit.ErrDuplicate):
			return OutcomeAlreadyDone, nil
		case errors.Is(err, credit.ErrInvalidAmount), errors.Is(err, credit.ErrInvalidOrder):
			return OutcomeRejected, fmt.Errorf("deliver rebate: user[%s] biz[%s]: %w", sr.UserID, sr.BizID, err)
		}
		return OutcomeError, fmt.Errorf("deliver rebate: user[%s] biz[%s] amount %s: %w", sr.UserID, sr.BizID, amount, err)
	}
	return OutcomeRejected, fmt.Errorf("deliver rebate: user[%s] biz[%s]: unknown type %q: %w",
		sr.UserID, sr.BizID, sr.Type, errPermanent)
}

func (d *Deliverer) result(out Outcome, sr SendRebate, err error) {
	if d.cfg.OnResult != nil {
		d.cfg.OnResult(out, sr, err)
	}
}
