package award

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
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
	// ErrBusy reports a webhook award the Deliverer could not hand to its
	// webhook workers (their queue is full, or the Deliverer is closed): the
	// record stays in create and the message is to be redelivered.
	ErrBusy = errors.New("award: webhook workers busy")
	// ErrInvalidConfig reports a DelivererConfig that cannot work.
	ErrInvalidConfig = errors.New("award: invalid deliverer configuration")
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
	// Claim moves the record to RecordDelivering for owner with claim (update)
	// time now, from RecordCreate or from a claim made before staleBefore, and
	// reports whether it did; concurrent callers see at most one true. Only
	// the claim's owner calls the webhook.
	Claim(ctx context.Context, userID, orderID, owner string, now, staleBefore time.Time) (bool, error)
	// CompleteClaimed moves the record to RecordCompleted after a successful
	// webhook call, from RecordDelivering or RecordCreate, and reports whether
	// it did.
	CompleteClaimed(ctx context.Context, userID, orderID string, now time.Time) (bool, error)
	// Release returns owner's claimed record to RecordCreate after a failed
	// call, storing lastErr as its last error, and reports whether it did
	// (false: the claim is no longer owner's).
	Release(ctx context.Context, userID, orderID, owner, lastErr string, now time.Time) (bool, error)
}

// Outcome is what handling one send_award message did, for metrics.
type Outcome string

// Delivery outcomes.
const (
	OutcomeCredited      Outcome = "credited"       // credits added, record completed
	OutcomeWebhook       Outcome = "webhook"        // webhook answered 2xx, record completed
	OutcomeQueued        Outcome = "webhook_queued" // record claimed and handed to the webhook workers
	OutcomePendingManual Outcome = "pending_manual" // no deliverer: kept for an operator
	OutcomeAlreadyDone   Outcome = "already_done"   // record already delivered (or claimed by another delivery): nothing done
	OutcomeConfigError   Outcome = "config_error"   // bad award config: kept for an operator
	OutcomeError         Outcome = "error"          // failed; the bus redelivers or parks it
)

// Defaults of DelivererConfig.
const (
	DefaultWebhookAttempts = 4
	DefaultWebhookBackoff  = 200 * time.Millisecond
	DefaultWebhookTimeout  = 10 * time.Second
	DefaultWebhookWorkers  = 8
	DefaultWebhookQueue    = 1024
	maxWebhookBackoff      = 5 * time.Second
	// minClaimTimeout is the least default claim timeout.
	minClaimTimeout = time.Minute
	// releaseTimeout bounds giving a claim back after a failed call, which
	// runs even when the delivery's context has ended.
	releaseTimeout = 5 * time.Second
)

// DelivererConfig configures a Deliverer. Store is required; every other zero
// field means its default.
type DelivererConfig struct {
	Store DeliveryStore
	// Webhooks maps an award key to the webhook that delivers it. Keys without
	// a built-in deliverer and without a webhook are kept pending_manual.
	Webhooks map[Key]WebhookConfig
	// HTTPClient posts to webhooks. Nil means http.DefaultTransport's pooled
	// connections; each call is bounded by WebhookTimeout anyway.
	HTTPClient *http.Client
	// WebhookTimeout bounds each webhook call (connect, send, answer). Zero
	// means DefaultWebhookTimeout.
	WebhookTimeout time.Duration
	// WebhookWorkers is the number of goroutines calling webhooks for Handle,
	// apart from the bus's workers, so that a slow webhook never delays
	// credit awards. Zero means DefaultWebhookWorkers.
	WebhookWorkers int
	// WebhookQueue bounds the claimed webhook awards waiting for a worker;
	// when it is full Handle gives the claim back and returns ErrBusy (the
	// bus redelivers). Zero means DefaultWebhookQueue.
	WebhookQueue int
	// ClaimTimeout is how long a webhook delivery's claim on its record
	// holds: a delivery stops calling before it ends, and a claim older than
	// that (its process died) may be taken again. It must exceed
	// WebhookTimeout. Zero means twice the longest delivery (WebhookAttempts
	// calls and the backoffs between them), at least one minute.
	ClaimTimeout time.Duration
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
	// OnDelivered, when not nil, is called after Handle brought a message's
	// award to a final state (OutcomeCredited, OutcomePendingManual,
	// OutcomeWebhook) with the time since the message was created, that is
	// since the draw that wrote it (the envelope's timestamp), for the
	// delivery lag metric. Webhook awards handed to the workers are not
	// reported.
	OnDelivered func(Outcome, time.Duration)
	// Logger receives failures. Nil means discard.
	Logger *slog.Logger
}

// Deliverer delivers award records: it is the consumer of send_award. It is
// idempotent by award record: a record leaves RecordCreate once, and a credit is
// added in the same transaction, so a message delivered twice never credits
// twice; a webhook award is claimed (RecordDelivering) before its webhook is
// called, so a message delivered twice never calls twice. Credit awards are
// delivered in the bus handler; webhook awards are claimed there and called by
// the Deliverer's own workers, so a slow webhook never holds up the bus's
// workers. Create it with NewDeliverer, Close it when done; it is safe for
// concurrent use.
type Deliverer struct {
	cfg DelivererConfig
	log *slog.Logger

	jobs   chan webhookJob
	ctx    context.Context // the webhook workers' context, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.RWMutex // guards closed and sends on jobs
	closed bool
}

// webhookJob is a claimed webhook award waiting for a worker.
type webhookJob struct {
	sa      SendAward
	hook    WebhookConfig
	owner   string
	claimed time.Time
}

// NewDeliverer returns a Deliverer configured by cfg and, when webhooks are
// configured, starts its webhook workers. It returns an error wrapping
// bus.ErrInvalid when Store is nil or a webhook has no URL, and wrapping
// ErrInvalidConfig for negative sizes or a ClaimTimeout not above
// WebhookTimeout.
func NewDeliverer(cfg DelivererConfig) (*Deliverer, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("new award deliverer: store is required: %w", bus.ErrInvalid)
	}
	for k, w := range cfg.Webhooks {
		if w.URL == "" {
			return nil, fmt.Errorf("new award deliverer: webhook of key %q has no URL: %w", k, bus.ErrInvalid)
		}
	}
	if cfg.WebhookTimeout < 0 || cfg.WebhookWorkers < 0 || cfg.WebhookQueue < 0 || cfg.ClaimTimeout < 0 {
		return nil, fmt.Errorf("new award deliverer: negative webhook timeout, workers, queue or claim timeout: %w", ErrInvalidConfig)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.WebhookAttempts <= 0 {
		cfg.WebhookAttempts = DefaultWebhookAttempts
	}
	if cfg.WebhookBackoff <= 0 {
		cfg.WebhookBackoff = DefaultWebhookBackoff
	}
	if cfg.WebhookTimeout == 0 {
		cfg.WebhookTimeout = DefaultWebhookTimeout
	}
	if cfg.WebhookWorkers == 0 {
		cfg.WebhookWorkers = DefaultWebhookWorkers
	}
	if cfg.WebhookQueue == 0 {
		cfg.WebhookQueue = DefaultWebhookQueue
	}
	if cfg.ClaimTimeout == 0 {
		cfg.ClaimTimeout = max(2*longestDelivery(cfg), minClaimTimeout)
	}
	if cfg.ClaimTimeout <= cfg.WebhookTimeout {
		return nil, fmt.Errorf("new award deliverer: claim timeout %v must exceed the webhook timeout %v: %w",
			cfg.ClaimTimeout, cfg.WebhookTimeout, ErrInvalidConfig)
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
	d := &Deliverer{cfg: cfg, log: cfg.Logger.With("component", "award.delivery")}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if len(cfg.Webhooks) > 0 {
		d.jobs = make(chan webhookJob, cfg.WebhookQueue)
		for range cfg.WebhookWorkers {
			d.wg.Go(d.work)
		}
	}
	return d, nil
}

// longestDelivery is the longest a webhook delivery of cfg can take: every
// call timing out, and the backoffs between them.
func longestDelivery(cfg DelivererConfig) time.Duration {
	total := time.Duration(cfg.WebhookAttempts) * cfg.WebhookTimeout
	for a := 1; a < cfg.WebhookAttempts; a++ {
		total += bus.Backoff(cfg.WebhookBackoff, maxWebhookBackoff, a)
	}
	return total
}

// ClaimTimeout returns the claim timeout in force: a record claimed longer
// ago than this is no longer being delivered.
func (d *Deliverer) ClaimTimeout() time.Duration { return d.cfg.ClaimTimeout }

// Close stops taking webhook awards and waits for the queued ones to be
// delivered until ctx ends; then it cancels the calls in flight and gives the
// claims of the awards not delivered back (their records return to create,
// for the reconciler). It returns ctx's error when it had to cancel, nil
// otherwise; calling it again returns nil at once.
func (d *Deliverer) Close(ctx context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	if d.jobs != nil {
		close(d.jobs)
	}
	d.mu.Unlock()
	done := make(chan struct{})
	go func() {
		d.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("close award deliverer: webhook deliveries cancelled: %w", ctx.Err())
		d.cancel()
		<-done
	}
	d.cancel()
	return err
}

// enqueue hands a claimed webhook award to the workers, without waiting, and
// reports whether it did.
func (d *Deliverer) enqueue(j webhookJob) bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed || d.jobs == nil {
		return false
	}
	select {
	case d.jobs <- j:
		return true
	default:
		return false
	}
}

// work delivers queued webhook awards until Close.
func (d *Deliverer) work() {
	for j := range d.jobs {
		var out Outcome
		var err error
		if d.ctx.Err() != nil {
			err = fmt.Errorf("deliverer closed before the call: %w", d.ctx.Err())
			d.release(j, err)
			out = OutcomeError
		} else {
			out, err = d.call(d.ctx, j)
		}
		if err != nil {
			err = fmt.Errorf("deliver award: user[%s] order[%s] award[%d] key[%s]: %w", j.sa.UserID, j.sa.OrderID, j.sa.AwardID, j.sa.AwardKey, err)
			d.log.Warn("webhook award not delivered; record back in create for a redelivery", "user", j.sa.UserID, "order", j.sa.OrderID, "err", err)
		}
		d.result(out, j.sa, err)
	}
}

// Handle is the bus.Handler of send_award: subscribe it with
// bus.Subscribe(outbox.TopicSendAward, d.Handle). It decodes the envelope and
// delivers as Deliver does, except for webhook awards: their record is claimed
// (durably: a record claimed by a process that dies is taken again after
// ClaimTimeout by the reconciler) and handed to the webhook workers
// (OutcomeQueued), and the message is acknowledged; a full queue gives the
// claim back and returns ErrBusy. A permanent configuration error is
// acknowledged (the record is pending_manual, visible to operators); any other
// error is returned, so the bus redelivers the message with backoff and parks
// it after its last attempt (the reconciler then finds the record).
func (d *Deliverer) Handle(ctx context.Context, m bus.Message) error {
	var sa SendAward
	_, ts, err := bus.DecodeEnvelope(m.Body, &sa)
	if err != nil {
		d.result(OutcomeError, sa, err)
		return fmt.Errorf("deliver award: message[%s]: %w", m.ID, err)
	}
	out, err := d.run(ctx, sa, true)
	switch out {
	case OutcomeCredited, OutcomePendingManual, OutcomeWebhook:
		if d.cfg.OnDelivered != nil {
			d.cfg.OnDelivered(out, d.cfg.Now().Sub(time.UnixMilli(ts)))
		}
	}
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
//   - another key with a webhook: the record is claimed (RecordDelivering;
//     a record claimed by another delivery is OutcomeAlreadyDone), posted to
//     the webhook with header DeliveryHeader = the order id (the receiver's
//     idempotency key: a delivery whose process died after the call and
//     before the record was completed is posted again), and completed after a
//     2xx answer (OutcomeWebhook); after a failure the claim is given back,
//     the record returns to create with the error as its last error;
//   - another key without a webhook makes the record pending_manual.
//
// An unusable config makes the record pending_manual and returns
// OutcomeConfigError with an error wrapping ErrConfigNotRange. Other failures
// return OutcomeError with an error (ErrRecordNotFound, ErrWebhook, storage).
func (d *Deliverer) Deliver(ctx context.Context, sa SendAward) (Outcome, error) {
	return d.run(ctx, sa, false)
}

// run delivers sa; async hands a claimed webhook award to the workers instead
// of calling the webhook itself.
func (d *Deliverer) run(ctx context.Context, sa SendAward, async bool) (Outcome, error) {
	out, err := d.deliver(ctx, sa, async)
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

func (d *Deliverer) deliver(ctx context.Context, sa SendAward, async bool) (Outcome, error) {
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
	if w, ok := d.cfg.Webhooks[sa.AwardKey]; ok {
		return d.webhook(ctx, sa, w, async)
	}
	changed, err := d.cfg.Store.SetState(ctx, sa.UserID, sa.OrderID, RecordCreate, RecordPendingManual, d.cfg.Now())
	if err != nil {
		return OutcomeError, err
	}
	if !changed {
		return d.notDone(ctx, sa)
	}
	return OutcomePendingManual, nil
}

// webhook claims sa's record and calls the webhook, or hands the claimed
// record to the workers when async.
func (d *Deliverer) webhook(ctx context.Context, sa SendAward, w WebhookConfig, async bool) (Outcome, error) {
	if async && d.isClosed() {
		// Not claimed: the record stays in create for the redelivery.
		return OutcomeError, fmt.Errorf("claim: deliverer closed: %w", ErrBusy)
	}
	now := d.cfg.Now()
	j := webhookJob{sa: sa, hook: w, owner: d.cfg.NewID(), claimed: now}
	ok, err := d.cfg.Store.Claim(ctx, sa.UserID, sa.OrderID, j.owner, now, now.Add(-d.cfg.ClaimTimeout))
	if err != nil {
		return OutcomeError, err
	}
	if !ok {
		return d.notDone(ctx, sa)
	}
	if !async {
		return d.call(ctx, j)
	}
	if d.enqueue(j) {
		return OutcomeQueued, nil
	}
	err = fmt.Errorf("queue of %d full or deliverer closed: %w", d.cfg.WebhookQueue, ErrBusy)
	d.release(j, err)
	return OutcomeError, err
}

func (d *Deliverer) isClosed() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.closed
}

// call posts a claimed record and completes it, or gives the claim back. The
// calls end before the claim times out, so no other delivery takes the record
// while this one may still call.
func (d *Deliverer) call(ctx context.Context, j webhookJob) (Outcome, error) {
	// What is left of the claim (time in the queue counts), by the injected
	// clock, as a timeout of the real one.
	pctx, cancel := context.WithTimeout(ctx, d.cfg.ClaimTimeout*9/10-d.cfg.Now().Sub(j.claimed))
	err := d.post(pctx, j.hook, j.sa)
	cancel()
	if err != nil {
		d.release(j, err)
		return OutcomeError, err
	}
	// Delivered. Recording it is retried for as long as the claim holds (the
	// database may be away for a while): while it holds nobody posts again.
	// Past it the reconciler takes the record and the award is posted again
	// (the receiver deduplicates by DeliveryHeader).
	if err := d.complete(ctx, j); err != nil {
		return OutcomeError, fmt.Errorf("webhook answered 2xx, record not completed: %w", err)
	}
	return OutcomeWebhook, nil
}

// Bounds of complete's retries.
const (
	completeBackoff    = 50 * time.Millisecond
	completeMaxBackoff = 2 * time.Second
	completeAttempt    = 5 * time.Second // one attempt's time at most
)

// complete marks j's record completed after a successful call, retrying with
// backoff until it succeeds or j's claim is about to expire. Closing the
// deliverer (ctx ends) stops the retries after the attempt under way.
func (d *Deliverer) complete(ctx context.Context, j webhookJob) error {
	expires := j.claimed.Add(d.cfg.ClaimTimeout * 19 / 20)
	wait := completeBackoff
	for {
		left := expires.Sub(d.cfg.Now())
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(max(left, time.Millisecond), completeAttempt))
		_, err := d.cfg.Store.CompleteClaimed(actx, j.sa.UserID, j.sa.OrderID, d.cfg.Now())
		cancel()
		if err == nil {
			return nil
		}
		if left = expires.Sub(d.cfg.Now()); left <= wait || ctx.Err() != nil {
			return err
		}
		d.log.Warn("webhook delivered, recording it failed; trying again while the claim holds",
			"user", j.sa.UserID, "order", j.sa.OrderID, "retry_in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(wait*2, completeMaxBackoff)
	}
}

// release gives j's claim back after a failed call, with cause as the
// record's last error. It runs even when the delivery's context has ended.
func (d *Deliverer) release(j webhookJob, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	if _, err := d.cfg.Store.Release(ctx, j.sa.UserID, j.sa.OrderID, j.owner, TruncateError(cause), d.cfg.Now()); err != nil {
		d.log.Warn("webhook claim not given back; the reconciler takes it after the claim timeout",
			"user", j.sa.UserID, "order", j.sa.OrderID, "err", err)
	}
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
