package exchange_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/exchange"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// 50 concurrent exchanges by a user whose credits pay for exactly 3: exactly 3
// succeed, the balance never goes negative and ends at 0, the account grows by
// exactly 3 packages, the SKU counter holds exactly 3 units taken (the losers'
// units were given back), the losers answer credit.ErrInsufficient and leave
// no order behind. It runs twice: with the balance pre-check, and with the
// pre-check blinded so that all 50 take a unit and race at the payment.
func TestConcurrentExchangesPayForExactlyThree(t *testing.T) {
	forEachSetup(t, true, func(t *testing.T, f *fixture) {
		t.Run("precheck", func(t *testing.T) { raceForThree(t, f, f.svc, "racer", skuPaid) })
		blind := f.service(func(cfg *exchange.Config) { cfg.Balances = richBalances{} })
		t.Run("payment", func(t *testing.T) { raceForThree(t, f, blind, "racer2", skuPaid2) })
	})
}

func raceForThree(t *testing.T, f *fixture, svc *exchange.Service, user string, sku int64) {
	const n = 50
	f.t = t
	f.grant(user, money.FromCents(3*price.Cents()))
	ctx := context.Background()
	enqueued := len(f.relay.all())

	stop := make(chan struct{})
	var negative atomic.Bool
	var watcher sync.WaitGroup
	watcher.Go(func() { // the balance is never seen below zero
		for {
			select {
			case <-stop:
				return
			default:
			}
			if b, err := f.credits.Balance(ctx, user); err == nil && b.IsNegative() {
				negative.Store(true)
			}
			time.Sleep(time.Millisecond)
		}
	})

	orders := make([]activity.QuotaOrder, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			orders[i], errs[i] = svc.Exchange(ctx, user, sku)
		})
	}
	close(start)
	wg.Wait()
	close(stop)
	watcher.Wait()

	ok, insufficient := 0, 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
			if orders[i].State != activity.QuotaOrderCompleted || orders[i].PayAmount != price {
				t.Errorf("successful exchange returned %+v", orders[i])
			}
		case errors.Is(err, credit.ErrInsufficient):
			insufficient++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 3 || insufficient != n-3 {
		t.Fatalf("%d succeeded, %d insufficient; want 3 and %d", ok, insufficient, n-3)
	}
	if negative.Load() {
		t.Fatal("balance seen negative")
	}
	if b := f.balance(user); b != (money.Amount{}) {
		t.Fatalf("balance = %s, want 0", b)
	}
	f.wantPackages(user, 3)
	if got := f.taken(sku); got != 3 {
		t.Fatalf("SKU units taken = %d, want 3", got)
	}
	stored := f.orders(user)
	if len(stored) != 3 {
		t.Fatalf("%d quota orders stored, want 3: %+v", len(stored), stored)
	}
	for _, o := range stored {
		if o.State != activity.QuotaOrderCompleted {
			t.Errorf("stored order %s is %s, want completed", o.OutBusinessNo, o.State)
		}
	}
	if l := f.ledger(user); l[credit.Forward] != 1 || l[credit.Reverse] != 3 {
		t.Fatalf("ledger = %v, want 1 forward and 3 reverse", l)
	}
	if got := len(f.storedTasks(user)); got != 3 {
		t.Fatalf("%d credit_adjust_success tasks stored, want 3", got)
	}
	if got := len(f.relay.all()) - enqueued; got != 3 {
		t.Fatalf("%d tasks enqueued, want 3", got)
	}
	// Nothing is left for the sweep, however stale.
	if stale, err := f.store.Stale(ctx, t0.AddDate(1, 0, 0), 0); err != nil || len(stale) != 0 {
		t.Fatalf("Stale = %+v, %v; want none", stale, err)
	}
}

// Duplicated and reordered credit_adjust_success messages add each package once:
// delivered before the order is completed (the direct completion failed), out
// of order and several times, and again after completion.
func TestDuplicatedAndReorderedMessagesChangeNothing(t *testing.T) {
	forEachSetup(t, false, func(t *testing.T, f *fixture) {
		const user = "dup"
		ctx := context.Background()
		f.grant(user, money.FromCents(2*price.Cents()))
		f.act.failAlways.Store(true) // the direct completion fails: orders stay wait_pay
		a, errA := f.svc.Exchange(ctx, user, skuPaid)
		b, errB := f.svc.Exchange(ctx, user, skuPaid)
		if errA != nil || errB != nil {
			t.Fatalf("Exchange: %v, %v", errA, errB)
		}
		if a.State != activity.QuotaOrderWaitPay || b.State != activity.QuotaOrderWaitPay {
			t.Fatalf("orders after failed completion: %s, %s; want wait_pay", a.State, b.State)
		}
		f.wantPackages(user, 0) // paid, not yet completed: no quota yet
		tasks := f.relay.all()
		if len(tasks) != 2 {
			t.Fatalf("%d tasks enqueued, want 2", len(tasks))
		}
		c := f.consumer()
		deliver := func(i int) {
			t.Helper()
			if err := c.Handle(ctx, tasks[i].Message()); err != nil {
				t.Fatalf("Handle(%d): %v", i, err)
			}
		}
		deliver(1) // b first
		f.wantPackages(user, 1)
		for _, i := range []int{1, 0, 1, 0, 0} {
			deliver(i)
		}
		f.wantPackages(user, 2)
		// Concurrent duplicates of both.
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				if err := c.Handle(ctx, tasks[i%2].Message()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		f.wantPackages(user, 2)
		if bal := f.balance(user); bal != (money.Amount{}) {
			t.Fatalf("balance = %s, want 0", bal)
		}

		// The normal path: completed at once; the message that follows is a
		// no-op.
		f.act.failAlways.Store(false)
		f.grant(user, price)
		o, err := f.svc.Exchange(ctx, user, skuPaid)
		if err != nil || o.State != activity.QuotaOrderCompleted {
			t.Fatalf("Exchange = %+v, %v", o, err)
		}
		f.wantPackages(user, 3)
		for _, task := range f.relay.all() {
			deliver := task.Message()
			if err := c.Handle(ctx, deliver); err != nil {
				t.Fatal(err)
			}
		}
		f.wantPackages(user, 3)
	})
}

// A paid order whose direct completion fails is completed by the consumer, fed
// by the real outbox relay and bus; a consumer that fails too is retried by
// the bus until it succeeds.
func TestFailedCompletionRepairedByConsumer(t *testing.T) {
	forEachSetup(t, false, func(t *testing.T, f *fixture) {
		const user = "repair"
		ctx := context.Background()
		f.grant(user, price)

		b := bus.NewMemory(bus.MemoryConfig{RetryDelay: time.Millisecond, MaxRetryDelay: 5 * time.Millisecond, MaxAttempts: 10})
		t.Cleanup(func() { b.Close() })
		consumerAct := &flaky{Service: f.actSvc}
		consumerAct.fail.Store(2) // the consumer's first two tries fail as well
		c, err := exchange.NewConsumer(exchange.ConsumerConfig{Store: f.store, Activity: consumerAct})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Subscribe(outbox.TopicCreditAdjustSuccess, c.Handle); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		relay, err := outbox.NewRelay(outbox.RelayConfig{Publisher: b, Store: f.tasks, FlushInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { relay.Close(context.Background()) })
		svc := f.service(func(cfg *exchange.Config) { cfg.Relay = relay })

		f.act.failAlways.Store(true)
		o, err := svc.Exchange(ctx, user, skuPaid)
		if err != nil {
			t.Fatalf("Exchange: %v", err)
		}
		if o.State != activity.QuotaOrderWaitPay {
			t.Fatalf("order state %s, want wait_pay (direct completion failed)", o.State)
		}
		testsvc.Eventually(t, "the consumer to complete the order", func() bool {
			got, err := f.acts.QuotaOrder(ctx, user, o.OutBusinessNo)
			return err == nil && got.State == activity.QuotaOrderCompleted
		})
		f.wantPackages(user, 1)
		if calls := consumerAct.calls.Load(); calls < 3 {
			t.Fatalf("consumer completion tried %d times, want ≥ 3 (two injected failures)", calls)
		}
		if failed := b.Failed(); len(failed) != 0 {
			t.Fatalf("messages parked as failed: %d", len(failed))
		}
		testsvc.Eventually(t, "the task to be marked completed", func() bool {
			ts := f.storedTasks(user)
			return len(ts) == 1 && ts[0].State == outbox.StateCompleted
		})
	})
}

// Requests refused before anything is taken change nothing: unknown SKU,
// activity not open or not in date, empty user, balance too low.
func TestRefusalsChangeNothing(t *testing.T) {
	forEachSetup(t, false, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		const user = "refused"
		f.grant(user, money.FromCents(price.Cents()-1))
		for _, tc := range []struct {
			name string
			user string
			sku  int64
			want error
		}{
			{"unknown sku", user, 424242, activity.ErrUnknownSKU},
			{"activity closed", user, skuClosed, activity.ErrNotOpen},
			{"activity ended", user, skuEnded, activity.ErrNotInDate},
			{"empty user", "", skuPaid, activity.ErrInvalid},
			{"balance below price", user, skuPaid, credit.ErrInsufficient},
			{"no credit account", "pauper", skuPaid, credit.ErrInsufficient},
		} {
			if _, err := f.svc.Exchange(ctx, tc.user, tc.sku); !errors.Is(err, tc.want) {
				t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
			}
		}
		if got := f.orders(user); len(got) != 0 {
			t.Fatalf("orders stored: %+v", got)
		}
		for _, sku := range []int64{skuPaid, skuClosed, skuEnded} {
			if n := f.taken(sku); n != 0 {
				t.Fatalf("sku %d: %d units taken, want 0", sku, n)
			}
		}
		if b := f.balance(user); b.Cents() != price.Cents()-1 {
			t.Fatalf("balance = %s", b)
		}
		if got := f.relay.all(); len(got) != 0 {
			t.Fatalf("tasks enqueued: %d", len(got))
		}
	})
}

// A payment refused at payment time (the pre-check passed on a stale read)
// leaves nothing: no order, the unit given back, no credit order, no task.
// Sold-out stock answers ErrSKUStockOut without paying.
func TestRefusedPaymentLeavesNothing(t *testing.T) {
	forEachSetup(t, true, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		const user = "late"
		f.grant(user, money.FromCents(price.Cents()-1))
		svc := f.service(func(cfg *exchange.Config) { cfg.Balances = richBalances{} })
		if _, err := svc.Exchange(ctx, user, skuPaid); !errors.Is(err, credit.ErrInsufficient) {
			t.Fatalf("Exchange: %v, want ErrInsufficient", err)
		}
		if got := f.orders(user); len(got) != 0 {
			t.Fatalf("orders left: %+v", got)
		}
		if n := f.taken(skuPaid); n != 0 {
			t.Fatalf("%d units taken after the refused payment, want 0", n)
		}
		if l := f.ledger(user); l[credit.Reverse] != 0 {
			t.Fatalf("ledger = %v", l)
		}
		if len(f.storedTasks(user)) != 0 || len(f.relay.all()) != 0 {
			t.Fatal("a task was stored or enqueued for a refused payment")
		}

		// Stock of 2: two exchanges, then sold out, nothing paid.
		f.grant(user, money.FromInt(100))
		for range 2 {
			if _, err := f.svc.Exchange(ctx, user, skuScarce); err != nil {
				t.Fatal(err)
			}
		}
		before := f.balance(user)
		if _, err := f.svc.Exchange(ctx, user, skuScarce); !errors.Is(err, activity.ErrSKUStockOut) {
			t.Fatalf("third exchange of a stock of 2: %v, want ErrSKUStockOut", err)
		}
		if b := f.balance(user); b != before {
			t.Fatalf("balance %s after sold out, want %s", b, before)
		}
		f.wantPackages(user, 2)
	})
}

// richBalances claims every user can pay anything: it makes the pre-check pass
// so that the payment itself refuses.
type richBalances struct{}

func (richBalances) Balance(context.Context, string) (money.Amount, error) {
	return money.FromInt(1_000_000), nil
}

// A SKU priced 0 is exchanged at once as a free order: no credit order, no
// event.
func TestFreeSKU(t *testing.T) {
	forEachSetup(t, false, func(t *testing.T, f *fixture) {
		o, err := f.svc.Exchange(context.Background(), "free", skuFree)
		if err != nil || o.State != activity.QuotaOrderCompleted {
			t.Fatalf("Exchange = %+v, %v", o, err)
		}
		f.wantPackages("free", 1)
		if l := f.ledger("free"); len(l) != 0 || len(f.relay.all()) != 0 {
			t.Fatalf("ledger %v / tasks for a free SKU", l)
		}
	})
}

// Sweep settles what crashes leave: an unpaid wait_pay order is cancelled and
// its unit given back; a paid one is completed; a close order (a cancel
// interrupted) is deleted without giving its unit back twice; recent orders
// are left alone.
func TestSweep(t *testing.T) {
	forEachSetup(t, true, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sku := f.snap.SKUs[skuPaid]
		newOrder := func(user string) activity.QuotaOrder {
			t.Helper()
			o, err := f.actSvc.CreateSKUOrder(ctx, activity.SKUOrderRequest{UserID: user, SKU: skuPaid,
				OutBusinessNo: f.ids.Next(), Trade: activity.TradeCredit}, sku, openAct, pkg)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		// 1. Crash between the order and its payment.
		unpaid := newOrder("crash-before-pay")
		// 2. Paid; the direct completion and the event were both lost.
		f.grant("paid", price)
		f.act.failAlways.Store(true)
		paid, err := f.service(func(cfg *exchange.Config) { cfg.Relay = nil }).Exchange(ctx, "paid", skuPaid)
		if err != nil || paid.State != activity.QuotaOrderWaitPay {
			t.Fatalf("Exchange = %+v, %v", paid, err)
		}
		f.act.failAlways.Store(false)
		// 3. A cancel interrupted after the close (its unit's fate unknown).
		closed := newOrder("crash-in-cancel")
		if res, err := f.store.Close(ctx, closed.UserID, closed.OutBusinessNo, f.clock.Now()); err != nil || res != exchange.Closed {
			t.Fatalf("Close = %v, %v", res, err)
		}
		if n := f.taken(skuPaid); n != 3 {
			t.Fatalf("units taken = %d, want 3", n)
		}

		// Too recent: nothing happens.
		f.clock.Add(time.Minute)
		rep, err := f.svc.Sweep(ctx, 5*time.Minute)
		if err != nil || rep != (exchange.SweepReport{}) {
			t.Fatalf("early Sweep = %+v, %v; want nothing done", rep, err)
		}
		// 4. A fresh order (in flight) made just before the sweep.
		f.clock.Add(5 * time.Minute)
		fresh := newOrder("in-flight")

		rep, err = f.svc.Sweep(ctx, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if want := (exchange.SweepReport{Completed: 1, Cancelled: 1, Deleted: 1}); rep != want {
			t.Fatalf("Sweep = %+v, want %+v", rep, want)
		}
		if _, err := f.acts.QuotaOrder(ctx, unpaid.UserID, unpaid.OutBusinessNo); !errors.Is(err, activity.ErrOrderNotFound) {
			t.Fatalf("unpaid order after sweep: %v, want not found", err)
		}
		if _, err := f.acts.QuotaOrder(ctx, closed.UserID, closed.OutBusinessNo); !errors.Is(err, activity.ErrOrderNotFound) {
			t.Fatalf("closed order after sweep: %v, want not found", err)
		}
		if got, err := f.acts.QuotaOrder(ctx, "paid", paid.OutBusinessNo); err != nil || got.State != activity.QuotaOrderCompleted {
			t.Fatalf("paid order after sweep = %+v, %v", got, err)
		}
		f.wantPackages("paid", 1)
		f.wantPackages(unpaid.UserID, 0)
		if got, err := f.acts.QuotaOrder(ctx, fresh.UserID, fresh.OutBusinessNo); err != nil || got.State != activity.QuotaOrderWaitPay {
			t.Fatalf("fresh order after sweep = %+v, %v; want untouched", got, err)
		}
		// Taken: paid + fresh + the close order's unit (not released twice:
		// whether its cancel released it is unknown, so it is kept, undersell).
		if n := f.taken(skuPaid); n != 3 {
			t.Fatalf("units taken after sweep = %d, want 3", n)
		}
		// A second sweep finds nothing more.
		if rep, err := f.svc.Sweep(ctx, 5*time.Minute); err != nil || rep != (exchange.SweepReport{}) {
			t.Fatalf("second Sweep = %+v, %v", rep, err)
		}
		// A stale message for the cancelled order is acknowledged and grants
		// nothing.
		msg := message(t, exchange.CreditAdjustSuccess{UserID: unpaid.UserID, OutBusinessNo: unpaid.OutBusinessNo})
		if err := f.consumer().Handle(ctx, msg); err != nil {
			t.Fatal(err)
		}
		f.wantPackages(unpaid.UserID, 0)
	})
}

func message(t *testing.T, ev exchange.CreditAdjustSuccess) bus.Message {
	t.Helper()
	task, err := outbox.New("test", outbox.TopicCreditAdjustSuccess, fmt.Sprintf("m-%s", ev.OutBusinessNo), ev, t0)
	if err != nil {
		t.Fatal(err)
	}
	return task.Message()
}

// The consumer never adds quota without payment and acknowledges what can never
// succeed; storage failures are returned for redelivery.
func TestConsumerRejections(t *testing.T) {
	forEachSetup(t, false, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		sku := f.snap.SKUs[skuPaid]
		o, err := f.actSvc.CreateSKUOrder(ctx, activity.SKUOrderRequest{UserID: "forger", SKU: skuPaid,
			OutBusinessNo: f.ids.Next(), Trade: activity.TradeCredit}, sku, openAct, pkg)
		if err != nil {
			t.Fatal(err)
		}
		var outcomes []exchange.Outcome
		c, err := exchange.NewConsumer(exchange.ConsumerConfig{Store: f.store, Activity: f.actSvc,
			OnResult: func(out exchange.Outcome, _ exchange.CreditAdjustSuccess, _ error) { outcomes = append(outcomes, out) }})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []bus.Message{
			{Topic: outbox.TopicCreditAdjustSuccess, ID: "junk", Body: []byte(`{"id":`)},
			message(t, exchange.CreditAdjustSuccess{UserID: "forger"}),
			message(t, exchange.CreditAdjustSuccess{UserID: "nobody", OutBusinessNo: "no-such-order"}),
			message(t, exchange.CreditAdjustSuccess{UserID: "forger", OutBusinessNo: o.OutBusinessNo}), // unpaid
		} {
			if err := c.Handle(ctx, m); err != nil {
				t.Fatalf("Handle(%s): %v, want acknowledged", m.ID, err)
			}
		}
		for i, out := range outcomes {
			if out != exchange.OutcomeRejected {
				t.Errorf("message %d: outcome %s, want rejected", i, out)
			}
		}
		if got, err := f.acts.QuotaOrder(ctx, "forger", o.OutBusinessNo); err != nil || got.State != activity.QuotaOrderWaitPay {
			t.Fatalf("unpaid order = %+v, %v; want still wait_pay", got, err)
		}
		f.wantPackages("forger", 0)

		broken, err := exchange.NewConsumer(exchange.ConsumerConfig{Store: failingStore{f.store}, Activity: f.actSvc})
		if err != nil {
			t.Fatal(err)
		}
		if err := broken.Handle(ctx, message(t, exchange.CreditAdjustSuccess{UserID: "forger", OutBusinessNo: o.OutBusinessNo})); !errors.Is(err, errBoom) {
			t.Fatalf("Handle with a failing store: %v, want the failure returned", err)
		}
		if _, err := exchange.NewConsumer(exchange.ConsumerConfig{}); !errors.Is(err, bus.ErrInvalid) {
			t.Fatalf("NewConsumer without store: %v", err)
		}
	})
}

// failingStore fails every Lookup.
type failingStore struct{ exchange.Store }

func (failingStore) Lookup(context.Context, string, string) (exchange.Order, error) {
	return exchange.Order{}, errBoom
}
