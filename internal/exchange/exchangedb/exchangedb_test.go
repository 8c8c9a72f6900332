package exchangedb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/exchange"
	"github.com/bigmarket/bigmarket/internal/exchange/exchangedb"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

var t0 = time.UnixMilli(1_741_608_000_000)

const price = 250

type world struct {
	t       *testing.T
	acts    *activitydb.Store
	credits *creditdb.Store
	tasks   *outboxdb.Store
	s       *exchangedb.Store
}

func newWorld(t *testing.T, db *sqldb.DB) *world {
	credits, tasks := creditdb.New(db), outboxdb.New(db)
	return &world{t: t, acts: activitydb.New(db), credits: credits, tasks: tasks, s: exchangedb.New(db, credits, tasks)}
}

// order stores a wait_pay quota order of user at time at.
func (w *world) order(user, obn string, at time.Time) activity.QuotaOrder {
	w.t.Helper()
	o := activity.QuotaOrder{UserID: user, SKU: 9011, ActivityID: 100301, StrategyID: 100006, OrderID: "o-" + obn,
		OrderTime: at, Total: 10, Day: 3, Month: 6, PayAmount: money.FromCents(price),
		State: activity.QuotaOrderWaitPay, OutBusinessNo: obn}
	if err := w.acts.AddQuota(context.Background(), o, "2025-03-10", "2025-03"); err != nil {
		w.t.Fatal(err)
	}
	return o
}

func (w *world) fund(user string, cents int64) {
	w.t.Helper()
	err := w.credits.Apply(context.Background(), credit.Order{UserID: user, OrderID: "f-" + user, TradeName: credit.TradeRebate,
		TradeType: credit.Forward, Amount: money.FromCents(cents), OutBusinessNo: "fund-" + user, Time: t0})
	if err != nil {
		w.t.Fatal(err)
	}
}

func payment(o activity.QuotaOrder, msgID string) (credit.Order, outbox.Task) {
	c := credit.Order{UserID: o.UserID, OrderID: "c-" + o.OutBusinessNo, TradeName: credit.TradeExchange,
		TradeType: credit.Reverse, Amount: o.PayAmount, OutBusinessNo: o.OutBusinessNo, Time: t0}
	task, err := outbox.New(o.UserID, outbox.TopicCreditAdjustSuccess, msgID,
		exchange.CreditAdjustSuccess{UserID: o.UserID, OrderID: c.OrderID, OutBusinessNo: o.OutBusinessNo, TotalAmount: c.Amount}, t0)
	if err != nil {
		panic(err)
	}
	return c, task
}

func (w *world) balance(user string) int64 {
	w.t.Helper()
	b, err := w.credits.Balance(context.Background(), user)
	if err != nil {
		w.t.Fatal(err)
	}
	return b.Cents()
}

func (w *world) lookup(user, obn string) exchange.Order {
	w.t.Helper()
	o, err := w.s.Lookup(context.Background(), user, obn)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

func (w *world) taskExists(id string) bool {
	_, _, err := w.tasks.Get(context.Background(), id)
	return err == nil
}

// Pay commits the payment and the task together, or nothing: a closed or
// missing order, an overdraft, a duplicate payment and a failing task insert
// each leave the balance, the ledger and the tasks as they were.
func TestPay(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		w, ctx := newWorld(t, db), context.Background()
		w.fund("ann", 2*price)
		a := w.order("ann", "ann-1", t0)
		c, task := payment(a, "m-ann-1")
		if err := w.s.Pay(ctx, a, c, task); err != nil {
			t.Fatal(err)
		}
		if got := w.lookup("ann", "ann-1"); !got.Paid || got.State != activity.QuotaOrderWaitPay {
			t.Fatalf("after Pay: %+v; want paid, wait_pay", got)
		}
		if w.balance("ann") != price || !w.taskExists("m-ann-1") {
			t.Fatal("payment or task missing")
		}

		// Paying twice is a duplicate: nothing changes.
		c2, task2 := payment(a, "m-ann-1b")
		c2.OrderID = "c-other"
		if err := w.s.Pay(ctx, a, c2, task2); !errors.Is(err, credit.ErrDuplicate) {
			t.Fatalf("second Pay: %v, want ErrDuplicate", err)
		}
		if w.balance("ann") != price || w.taskExists("m-ann-1b") {
			t.Fatal("a duplicate payment changed something")
		}

		// The task insert fails (its message id is taken): the payment rolls back.
		b := w.order("ann", "ann-2", t0)
		cb, tb := payment(b, "m-ann-1")
		if err := w.s.Pay(ctx, b, cb, tb); !errors.Is(err, sqldb.ErrDuplicate) {
			t.Fatalf("Pay with a duplicate task: %v, want sqldb.ErrDuplicate", err)
		}
		if w.balance("ann") != price || w.lookup("ann", "ann-2").Paid {
			t.Fatal("payment kept although its task was not stored")
		}

		// Overdraft: refused, nothing kept.
		w.fund("bob", price-1)
		o := w.order("bob", "bob-1", t0)
		co, to := payment(o, "m-bob-1")
		if err := w.s.Pay(ctx, o, co, to); !errors.Is(err, credit.ErrInsufficient) {
			t.Fatalf("overdraft: %v, want ErrInsufficient", err)
		}
		if w.balance("bob") != price-1 || w.taskExists("m-bob-1") || w.lookup("bob", "bob-1").Paid {
			t.Fatal("a refused payment changed something")
		}

		// A closed order cannot be paid; neither can a missing one.
		w.fund("cid", 10*price)
		cl := w.order("cid", "cid-1", t0)
		if res, err := w.s.Close(ctx, "cid", "cid-1", t0); err != nil || res != exchange.Closed {
			t.Fatalf("Close = %v, %v", res, err)
		}
		cc, tc := payment(cl, "m-cid-1")
		if err := w.s.Pay(ctx, cl, cc, tc); !errors.Is(err, exchange.ErrOrderClosed) {
			t.Fatalf("Pay of a closed order: %v, want ErrOrderClosed", err)
		}
		ghost := cl
		ghost.OutBusinessNo = "cid-none"
		cg, tg := payment(ghost, "m-cid-none")
		if err := w.s.Pay(ctx, ghost, cg, tg); !errors.Is(err, exchange.ErrOrderClosed) {
			t.Fatalf("Pay of a missing order: %v, want ErrOrderClosed", err)
		}
		if w.balance("cid") != 10*price || w.taskExists("m-cid-1") || w.taskExists("m-cid-none") {
			t.Fatal("paying a closed or missing order changed something")
		}
	})
}

// Close closes only unpaid wait_pay orders, once; DeleteClosed deletes only
// closed orders.
func TestCloseAndDelete(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		w, ctx := newWorld(t, db), context.Background()
		close := func(user, obn string, want exchange.CloseResult) {
			t.Helper()
			if res, err := w.s.Close(ctx, user, obn, t0.Add(time.Second)); err != nil || res != want {
				t.Fatalf("Close(%s) = %v, %v; want %v", obn, res, err, want)
			}
		}
		w.order("dan", "dan-1", t0)
		close("dan", "dan-1", exchange.Closed)
		if got := w.lookup("dan", "dan-1"); got.State != exchange.StateClosed || got.Paid {
			t.Fatalf("closed order = %+v", got)
		}
		close("dan", "dan-1", exchange.NotWaiting) // once
		close("dan", "missing", exchange.NotWaiting)

		w.fund("dan", price)
		paid := w.order("dan", "dan-2", t0)
		c, task := payment(paid, "m-dan-2")
		if err := w.s.Pay(ctx, paid, c, task); err != nil {
			t.Fatal(err)
		}
		close("dan", "dan-2", exchange.AlreadyPaid)
		if got := w.lookup("dan", "dan-2"); got.State != activity.QuotaOrderWaitPay {
			t.Fatalf("paid order after Close: %s", got.State)
		}

		// DeleteClosed leaves wait_pay orders and missing ones alone.
		w.order("dan", "dan-3", t0)
		for _, obn := range []string{"dan-1", "dan-2", "dan-3", "missing"} {
			if err := w.s.DeleteClosed(ctx, "dan", obn); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.s.Lookup(ctx, "dan", "dan-1"); !errors.Is(err, activity.ErrOrderNotFound) {
			t.Fatalf("closed order after DeleteClosed: %v", err)
		}
		for _, obn := range []string{"dan-2", "dan-3"} {
			if got := w.lookup("dan", obn); got.State != activity.QuotaOrderWaitPay {
				t.Fatalf("%s after DeleteClosed: %s", obn, got.State)
			}
		}
	})
}

// A payment and a close racing for one order: exactly one wins, and the other
// sees it (never a paid closed order, never a cancelled payment).
func TestPayCloseRace(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		w, ctx := newWorld(t, db), context.Background()
		w.fund("eve", 1000*price)
		for i := range 20 {
			o := w.order("eve", fmt.Sprintf("eve-%d", i), t0)
			c, task := payment(o, fmt.Sprintf("m-eve-%d", i))
			var payErr, closeErr error
			var res exchange.CloseResult
			var wg sync.WaitGroup
			wg.Go(func() { payErr = w.s.Pay(ctx, o, c, task) })
			wg.Go(func() { res, closeErr = w.s.Close(ctx, "eve", o.OutBusinessNo, t0) })
			wg.Wait()
			if closeErr != nil {
				t.Fatal(closeErr)
			}
			got := w.lookup("eve", o.OutBusinessNo)
			switch {
			case payErr == nil && res == exchange.AlreadyPaid && got.Paid && got.State == activity.QuotaOrderWaitPay:
			case errors.Is(payErr, exchange.ErrOrderClosed) && res == exchange.Closed && !got.Paid && got.State == exchange.StateClosed:
			default:
				t.Fatalf("round %d: pay %v, close %v, order %+v", i, payErr, res, got)
			}
		}
	})
}

// Stale finds wait_pay and closed orders older than the cut-off on every
// shard and table, paid or not, and nothing else.
func TestStale(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		w, ctx := newWorld(t, db), context.Background()
		want := map[string]bool{} // obn -> paid
		for i := range 16 {       // users spread over every shard and table
			user := fmt.Sprintf("user-%02d", i)
			obn := user + "-old"
			o := w.order(user, obn, t0)
			want[obn] = false
			switch i % 3 {
			case 1:
				w.fund(user, price)
				c, task := payment(o, "m-"+obn)
				if err := w.s.Pay(ctx, o, c, task); err != nil {
					t.Fatal(err)
				}
				want[obn] = true
			case 2:
				if res, err := w.s.Close(ctx, user, obn, t0); err != nil || res != exchange.Closed {
					t.Fatalf("Close = %v, %v", res, err)
				}
			}
			w.order(user, user+"-new", t0.Add(time.Hour)) // too recent
		}
		done := activity.QuotaOrder{UserID: "user-00", SKU: 9011, ActivityID: 100301, OrderID: "o-done", OrderTime: t0,
			Total: 1, State: activity.QuotaOrderCompleted, OutBusinessNo: "done"}
		if err := w.acts.AddQuota(ctx, done, "2025-03-10", "2025-03"); err != nil {
			t.Fatal(err)
		}
		got, err := w.s.Stale(ctx, t0.Add(time.Minute), 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("Stale returned %d orders, want %d: %+v", len(got), len(want), got)
		}
		for _, o := range got {
			paid, ok := want[o.OutBusinessNo]
			if !ok || o.Paid != paid {
				t.Fatalf("unexpected stale order %+v", o)
			}
		}
		if got, err := w.s.Stale(ctx, t0, 0); err != nil || len(got) != 0 {
			t.Fatalf("Stale before every order = %d, %v", len(got), err)
		}
		if db.Driver() == sqldb.DriverSQLite { // one table: the limit applies to all
			if got, err := w.s.Stale(ctx, t0.Add(time.Minute), 5); err != nil || len(got) != 5 {
				t.Fatalf("Stale limit 5 = %d, %v", len(got), err)
			}
		}
	})
}
