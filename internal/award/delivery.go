package award

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

// Errors of delivery; they are wrapped with the operation and the order id, so
// test them with errors.Is.
var (
	// ErrConfigNotRange reports an award config that is neither a credit amount
	// nor a "min,max" range of amounts (ERR_CONFIG_001). The record is set
	// pending_manual for an operator: retrying cannot help.
	ErrConfigNotRange = errors.New("award: config is not an amount or a min,max range")
	// ErrRecordNotFound reports an award record that does not exist.
	ErrRecordNotFound = errors.New("award: record not found")
	// ErrRecordState reports an award record that is no longer in the state a
	// transition starts from (it was delivered meanwhile).
	ErrRecordState = errors.New("award: record not in the expected state")
	// ErrWebhook reports a webhook delivery that failed after its retries.
	ErrWebhook = errors.New("award: webhook delivery failed")
)

// SendAward is the data of a send_award event: what the consumer needs to
// deliver one award record. The draw service builds it with the record.
type SendAward struct {
	UserID     string `json:"userId"`
	StrategyID int64  `json:"strategyId"`
	ActivityID int64  `json:"activityId"`
	// OrderID is the award record's order id (the raffle order): the key of the
	// delivery, used as the credit order's out_business_no.
	OrderID    string `json:"orderId"`
	AwardID    int64  `json:"awardId"`
	AwardTitle string `json:"awardTitle"`
	AwardKey   Key    `json:"awardKey"`
	// AwardConfig is the record's delivery parameter: the luck amount decided
	// at draw time (e.g. "37.25"), else the award's config (e.g. "1,100").
	AwardConfig string `json:"awardConfig"`
}

// DeliveryStore is what delivery needs from storage (awarddb.Deliveries
// implements it).
type DeliveryStore interface {
	// Get returns userID's record of orderID, or an error wrapping
	// ErrRecordNotFound.
	Get(ctx context.Context, userID, orderID string) (Record, error)
	// SetState moves the record from state from to state to and reports
	// whether it did (false: the record was not in state from).
	SetState(ctx context.Context, userID, orderID string, from, to RecordState, now time.Time) (bool, error)
	// CreditAndComplete, in one transaction on the user's shard, moves the
	// record from RecordCreate to RecordCompleted and applies the forward credit
	// order o. It returns an error wrapping ErrRecordState when the record is
	// not in RecordCreate, or credit.ErrDuplicate when o's out_business_no is in
	// the ledger already; nothing changes then.
	CreditAndComplete(ctx context.Context, userID, orderID string, o credit.Order, now time.Time) error
}

// Outcome is what handling one send_award message did, for metrics.
type Outcome string

// Delivery outcomes.
const (
	OutcomeCredited      Outcome = "credited"       // credits added, record completed
	OutcomeWebhook       Outcome = "webhook"        // webhook answered 2xx, record completed
	OutcomePendingManual Outcome = "pending_manual" // no deliverer: kept for an operator
	OutcomeAlreadyDone   Outcome = "already_done"   // record already delivered: nothing done
	OutcomeConfigError   Outcome = "config_error"   // bad award config: kept for an operator
	OutcomeError         Outcome = "error"          // failed; the bus redelivers or parks it
)

// Defaults of DelivererConfig.
const (
	DefaultWebhookAttempts = 4
	DefaultWebhookBackoff  = 200 * time.Millisecond
	DefaultWebhookTimeout  = 10 * time.Second
	maxWebhookBackoff      = 5 * time.Second
)

// DelivererConfig configures a Deliverer. Store is required; every other zero
// field means its default.
type DelivererConfig struct {
	Store DeliveryStore
	// Webhooks maps an award key to the webhook that delivers it. Keys without
	// a built-in deliverer and without a webhook are kept pending_manual.
	Webhooks map[Key]WebhookConfig
	// HTTPClient posts to webhooks. Nil means a client with a
	// DefaultWebhookTimeout timeout.
	HTTPClient *http.Client
	// WebhookAttempts bounds the posts of one delivery before it fails (the bus
	// may then redeliver the message). Zero means DefaultWebhookAttempts.
	WebhookAttempts int
	// WebhookBackoff is the wait before the second post; it doubles for each
	// further one, up to 5s. Zero means DefaultWebhookBackoff.
	WebhookBackoff time.Duration
	// NewID makes credit order ids. Nil means an idgen generator.
	NewID func() string
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// RandN returns a uniform random number in [0, n) for credit ranges. Nil
	// means math/rand/v2's Int64N.
	RandN func(n int64) int64
	// OnResult, when not nil, is called after every message with its outcome
	// and error (nil unless OutcomeConfigError or OutcomeError), for metrics.
	OnResult func(Outcome, SendAward, error)
	// Logger receives failures. Nil means discard.
	Logger *slog.Logger
}

// Deliverer delivers award records: it is the consumer of send_award. It is
// idempotent by award record: a record leaves RecordCreate once, and a credit is
// added in the same transaction, so a message delivered twice never credits
// twice. Create it with NewDeliverer; it is safe for concurrent use.
type Deliverer struct {
	cfg DelivererConfig
	log *slog.Logger
}

// NewDeliverer returns a Deliverer configured by cfg. It returns an error
// wrapping bus.ErrInvalid when Store is nil or a webhook has no URL.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("new award deliverer: store is required: %w", bus.ErrInvalid)
	}
	for k, w := range cfg.Webhooks {
		if w.URL == "" {
			return nil, fmt.Errorf("new award deliverer: webhook of key %q has no URL: %w", k, bus.ErrInvalid)
		}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: DefaultWebhookTimeout}
	}
	if cfg.WebhookAttempts <= 0 {
		cfg.WebhookAttempts = DefaultWebhookAttempts
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = DefaultWebhookBackoff
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.NewID == nil {
		cfg.NewID = idgen.New(cfg.Now).Next
	}
	if cfg.RandN == nil {
		cfg.RandN = rand.Int64N
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{cfg: cfg, log: cfg.Logger.With("component", "award.delivery")}, nil
}

// Handle is the bus.Handler of send_award: subscribe it with
// bus.Subscribe(outbox.TopicSendAward, d.Handle). It decodes the envelope and
// delivers (see Deliver). A permanent configuration error is acknowledged (the
// record is pending_manual, visible to operators); any other error is returned,
// so the bus redelivers the message with backoff and parks it after its last
// attempt.
func (d *Deliverer) Handle(ctx context.Context, m bus.Message) error {
	var sa SendAward
	if _, _, err := bus.DecodeEnvelope(m.Body, &sa); err != nil {
		d.result(OutcomeError, sa, err)
		return fmt.Errorf("deliver award: message[%s]: %w", m.ID, err)
	}
	out, err := d.Deliver(ctx, sa)
	if out == OutcomeConfigError {
		d.log.Error("award config unusable; record kept pending_manual for an operator",
			"user", sa.UserID, "order", sa.OrderID, "award", sa.AwardID, "err", err)
		return nil
	}
	return err
}

// Deliver delivers sa's record once:
//   - a record no longer in RecordCreate is left alone (OutcomeAlreadyDone);
//   - user_credit_random adds AwardConfig credits when it is one amount (the
//     luck amount), else a uniform random amount with two fraction digits in the
//     "min,max" range it holds; user_credit_blacklist adds AwardConfig credits;
//     the forward credit order (trade name "award", out_business_no = the order
//     id) and the record becoming completed commit together (OutcomeCredited);
//   - another key with a webhook is posted to it, and the record becomes
//     completed after a 2xx answer (OutcomeWebhook);
//   - another key without a webhook makes the record pending_manual.
//
// An unusable config makes the record pending_manual and returns
// OutcomeConfigError with an error wrapping ErrConfigNotRange. Other failures
// return OutcomeError with an error (ErrRecordNotFound, ErrWebhook, storage).
func (d *Deliverer) Deliver(ctx context.Context, sa SendAward) (Outcome, error) {
	out, err := d.deliver(ctx, sa)
	if err != nil {
		err = fmt.Errorf("deliver award: user[%s] order[%s] award[%d] key[%s]: %w", sa.UserID, sa.OrderID, sa.AwardID, sa.AwardKey, err)
	}
	d.result(out, sa, err)
	return out, err
}

func (d *Deliverer) result(out Outcome, sa SendAward, err error) {
	if d.cfg.OnResult != nil {
		d.cfg.OnResult(out, sa, err)
	}
}

func (d *Deliverer) deliver(ctx context.Context, sa SendAward) (Outcome, error) {
	switch sa.AwardKey {
	case KeyCreditRandom, KeyCreditBlacklist:
		// Credit awards need no read first: the transaction that credits
		// moves the record out of create only if it is there, and a record
		// found in no other state is looked up afterwards (notDone).
		var amount money.Amount
		var err error
		if sa.AwardKey == KeyCreditRandom {
			amount, err = CreditAmount(sa.AwardConfig, d.cfg.RandN)
		} else {
			amount, err = parseAmount(sa.AwardConfig)
		}
		if err != nil {
			return d.park(ctx, sa, err)
		}
		return d.credit(ctx, sa, amount)
	}
	rec, err := d.cfg.Store.Get(ctx, sa.UserID, sa.OrderID)
	if err != nil {
		return OutcomeError, err
	}
	if rec.State != RecordCreate {
		return OutcomeAlreadyDone, nil
	}
	if w, ok := d.cfg.Webhooks[sa.AwardKey]; ok {
		if err := d.post(ctx, w, sa); err != nil {
			return OutcomeError, err
		}
		if _, err := d.cfg.Store.SetState(ctx, sa.UserID, sa.OrderID, RecordCreate, RecordCompleted, d.cfg.Now()); err != nil {
			return OutcomeError, err
		}
		return OutcomeWebhook, nil
	}
	changed, err := d.cfg.Store.SetState(ctx, sa.UserID, sa.OrderID, RecordCreate, RecordPendingManual, d.cfg.Now())
	if err != nil {
		return OutcomeError, err
	}
	if !changed {
		return OutcomeAlreadyDone, nil
	}
	return OutcomePendingManual, nil
}

// credit adds amount and completes the record in one transaction.
func (d *Deliverer) credit(ctx context.Context, sa SendAward, amount money.Amount) (Outcome, error) {
	now := d.cfg.Now()
	if !amount.IsPositive() { // a range starting at 0 drew 0: nothing to add
		changed, err := d.cfg.Store.SetState(ctx, sa.UserID, sa.OrderID, RecordCreate, RecordCompleted, now)
		if err != nil {
			return OutcomeError, err
		}
		if !changed {
			return d.notDone(ctx, sa)
		}
		return OutcomeCredited, nil
	}
	o := credit.Order{
		UserID: sa.UserID, OrderID: d.cfg.NewID(), TradeName: credit.TradeAward, TradeType: credit.Forward,
		Amount: amount, OutBusinessNo: sa.OrderID, Time: now,
	}
	err := d.cfg.Store.CreditAndComplete(ctx, sa.UserID, sa.OrderID, o, now)
	switch {
	case err == nil:
		return OutcomeCredited, nil
	case errors.Is(err, ErrRecordState):
		return d.notDone(ctx, sa)
	case errors.Is(err, credit.ErrDuplicate):
		// Credited before: the record completed in that same transaction, but
		// make sure of it rather than leave it behind.
		if _, err := d.cfg.Store.SetState(ctx, sa.UserID, sa.OrderID, RecordCreate, RecordCompleted, now); err != nil {
			return OutcomeError, err
		}
		return OutcomeAlreadyDone, nil
	}
	return OutcomeError, err
}

// notDone explains a record a transition from RecordCreate did not find in
// that state: OutcomeAlreadyDone when it exists (delivered meanwhile or
// before), OutcomeError with ErrRecordNotFound when it does not.
func (d *Deliverer) notDone(ctx context.Context, sa SendAward) (Outcome, error) {
	if _, err := d.cfg.Store.Get(ctx, sa.UserID, sa.OrderID); err != nil {
		return OutcomeError, err
	}
	return OutcomeAlreadyDone, nil
}

// park keeps the record for an operator after a configuration error. A record
// no longer in create is left alone (OutcomeAlreadyDone, as a delivered record
// is, whatever its config).
func (d *Deliverer) park(ctx context.Context, sa SendAward, cause error) (Outcome, error) {
	changed, err := d.cfg.Store.SetState(ctx, sa.UserID, sa.OrderID, RecordCreate, RecordPendingManual, d.cfg.Now())
	if err != nil {
		return OutcomeError, errors.Join(cause, err)
	}
	if !changed {
		return d.notDone(ctx, sa)
	}
	return OutcomeConfigError, cause
}

// CreditAmount returns the credit amount of a user_credit_random config: the
// amount itself when config is one amount ("37.25"), else a uniform random
// amount over the hundredths of the range "min,max" (0 ≤ min ≤ max), drawn with
// randN (which returns a number in [0, n)). It returns an error wrapping
// ErrConfigNotRange for anything else.
func CreditAmount(config string, randN func(n int64) int64) (money.Amount, error) {
	lo, hi, isRange := strings.Cut(config, ",")
	if !isRange {
		return parseAmount(config)
	}
	minA, err1 := money.Parse(strings.TrimSpace(lo))
	maxA, err2 := money.Parse(strings.TrimSpace(hi))
	if err1 != nil || err2 != nil || minA.IsNegative() || minA.Cmp(maxA) > 0 {
		return money.Amount{}, fmt.Errorf("credit range %q: %w", config, ErrConfigNotRange)
	}
	return money.FromCents(minA.Cents() + randN(maxA.Cents()-minA.Cents()+1)), nil
}

// parseAmount reads a non-negative credit amount.
func parseAmount(config string) (money.Amount, error) {
	a, err := money.Parse(strings.TrimSpace(config))
	if err != nil || a.IsNegative() {
		return money.Amount{}, fmt.Errorf("credit amount %q: %w", config, ErrConfigNotRange)
	}
	return a, nil
}
