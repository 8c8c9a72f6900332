package activitydb_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

var (
	testAct = activity.Activity{ID: 100301, Name: "test activity", StrategyID: 100006, State: activity.StateOpen}
	// t0 is a Monday noon in UTC; the tests compute period keys in UTC.
	t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
)

type fixture struct {
	t   *testing.T
	db  *sqldb.DB
	s   *activitydb.Store
	ids *idgen.Generator
	// batched: draws go through one batcher (batchEngines)
	batched bool
	// stockKeys are the draws' DrawInput.StockKeys
	stockKeys []string
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	return &fixture{t: t, db: db, s: activitydb.New(db), ids: idgen.New(nil)}
}

func noRaffle(*activitydb.DrawTx, activity.Partake, *sqldb.Batch) error { return nil }

func (f *fixture) drawWith(user string, now time.Time, raffle activitydb.Raffle) (activity.Partake, error) {
	return f.s.Draw(context.Background(), activitydb.DrawInput{
		UserID:    user,
		Activity:  testAct,
		OrderID:   f.ids.Next(),
		Now:       now,
		Day:       activity.DayKey(now, time.UTC),
		Month:     activity.MonthKey(now, time.UTC),
		StockKeys: f.stockKeys,
	}, raffle)
}

func (f *fixture) draw(user string, now time.Time) (activity.Partake, error) {
	return f.drawWith(user, now, noRaffle)
}

func (f *fixture) grant(id, user string, total, day, month int64, now time.Time) {
	f.t.Helper()
	g := activity.Grant{ID: id, UserID: user, ActivityID: testAct.ID, Total: total, Day: day, Month: month}
	if err := f.s.ApplyGrant(context.Background(), g, testAct, now, activity.DayKey(now, time.UTC), activity.MonthKey(now, time.UTC)); err != nil {
		f.t.Fatalf("apply grant %s: %v", id, err)
	}
}

func (f *fixture) account(user string, now time.Time) activity.Account {
	f.t.Helper()
	a, err := f.s.Account(context.Background(), user, testAct.ID, activity.DayKey(now, time.UTC), activity.MonthKey(now, time.UTC))
	if err != nil {
		f.t.Fatalf("account %s: %v", user, err)
	}
	return a
}

func (f *fixture) wantAccount(user string, now time.Time, want activity.Account) {
	f.t.Helper()
	if got := f.account(user, now); got != want {
		f.t.Fatalf("account %s at %s = %+v, want %+v", user, now.Format(time.DateOnly), got, want)
	}
}

// drawConcurrently runs n draws of user at now at once and returns how many
// succeeded and how many failed with each error among wantErrs; any other
// error fails the test.
func (f *fixture) drawConcurrently(user string, now time.Time, n int, wantErrs ...error) (ok int, failed map[error]int) {
	f.t.Helper()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		errs []error
	)
	failed = map[error]int{}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.draw(user, now)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
				return
			}
			for _, w := range wantErrs {
				if errors.Is(err, w) {
					failed[w]++
					return
				}
			}
			errs = append(errs, err)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		f.t.Errorf("unexpected draw error: %v", err)
	}
	if len(errs) > 0 {
		f.t.FailNow()
	}
	return ok, failed
}

func TestDrawQuotas(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		t.Run("day quota under concurrency, then next day", func(t *testing.T) {
			f := newFixture(t, db)
			f.grant("g-day", "u-day", 10, 3, 10, t0)
			ok, failed := f.drawConcurrently("u-day", t0, 32, activity.ErrDayQuota)
			if ok != 3 || failed[activity.ErrDayQuota] != 29 {
				t.Fatalf("day 1: %d ok, %v failed; want 3 ok, 29 ErrDayQuota", ok, failed)
			}
			f.wantAccount("u-day", t0, activity.Account{TotalCount: 10, TotalSurplus: 7, DayCount: 3, DaySurplus: 0, MonthCount: 10, MonthSurplus: 7})
			next := t0.Add(24 * time.Hour)
			ok, failed = f.drawConcurrently("u-day", next, 32, activity.ErrDayQuota)
			if ok != 3 || failed[activity.ErrDayQuota] != 29 {
				t.Fatalf("day 2: %d ok, %v failed; want 3 ok, 29 ErrDayQuota", ok, failed)
			}
			f.wantAccount("u-day", next, activity.Account{TotalCount: 10, TotalSurplus: 4, DayCount: 3, DaySurplus: 0, MonthCount: 10, MonthSurplus: 4})
		})

		t.Run("month quota under concurrency, then next month", func(t *testing.T) {
			f := newFixture(t, db)
			f.grant("g-month", "u-month", 20, 10, 4, t0)
			ok, failed := f.drawConcurrently("u-month", t0, 32, activity.ErrMonthQuota)
			if ok != 4 || failed[activity.ErrMonthQuota] != 28 {
				t.Fatalf("month 1: %d ok, %v failed; want 4 ok, 28 ErrMonthQuota", ok, failed)
			}
			// Another day of the same month: the month is still exhausted.
			if _, err := f.draw("u-month", t0.Add(48*time.Hour)); !errors.Is(err, activity.ErrMonthQuota) {
				t.Fatalf("same month, other day: err = %v, want ErrMonthQuota", err)
			}
			nextMonth := time.Date(2025, 4, 2, 9, 0, 0, 0, time.UTC)
			ok, failed = f.drawConcurrently("u-month", nextMonth, 8, activity.ErrMonthQuota)
			if ok != 4 || failed[activity.ErrMonthQuota] != 4 {
				t.Fatalf("month 2: %d ok, %v failed; want 4 ok, 4 ErrMonthQuota", ok, failed)
			}
			f.wantAccount("u-month", nextMonth, activity.Account{TotalCount: 20, TotalSurplus: 12, DayCount: 10, DaySurplus: 6, MonthCount: 4, MonthSurplus: 0})
		})

		t.Run("total quota under concurrency", func(t *testing.T) {
			f := newFixture(t, db)
			f.grant("g-total", "u-total", 5, 10, 10, t0)
			ok, failed := f.drawConcurrently("u-total", t0, 32, activity.ErrTotalQuota)
			if ok != 5 || failed[activity.ErrTotalQuota] != 27 {
				t.Fatalf("%d ok, %v failed; want 5 ok, 27 ErrTotalQuota", ok, failed)
			}
			if _, err := f.draw("u-total", t0.AddDate(0, 1, 0)); !errors.Is(err, activity.ErrTotalQuota) {
				t.Fatalf("next month: err = %v, want ErrTotalQuota", err)
			}
		})

		t.Run("no account", func(t *testing.T) {
			f := newFixture(t, db)
			if _, err := f.draw("u-nobody", t0); !errors.Is(err, activity.ErrTotalQuota) {
				t.Fatalf("draw without account: err = %v, want ErrTotalQuota", err)
			}
			f.wantAccount("u-nobody", t0, activity.Account{})
			ctx := context.Background()
			if n, err := f.s.TodayDraws(ctx, "u-nobody", testAct.ID, activity.DayKey(t0, time.UTC)); err != nil || n != 0 {
				t.Fatalf("TodayDraws = %d, %v; want 0", n, err)
			}
			if n, err := f.s.TotalDraws(ctx, "u-nobody", testAct.ID); err != nil || n != 0 {
				t.Fatalf("TotalDraws = %d, %v; want 0", n, err)
			}
			if orders, err := f.s.RaffleOrdersByUser(ctx, "u-nobody", 0); err != nil || len(orders) != 0 {
				t.Fatalf("orders = %v, %v; want none", orders, err)
			}
		})

		t.Run("invalid input", func(t *testing.T) {
			f := newFixture(t, db)
			_, err := f.s.Draw(context.Background(), activitydb.DrawInput{UserID: "u", Activity: testAct, Now: t0}, noRaffle)
			if !errors.Is(err, activity.ErrInvalid) {
				t.Fatalf("draw without order id: err = %v, want ErrInvalid", err)
			}
		})
	})
}

func TestDrawProgressAndRollback(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()

		t.Run("used counts", func(t *testing.T) {
			f := newFixture(t, db)
			f.grant("g-progress", "u-progress", 10, 3, 10, t0)
			check := func(now time.Time, wantTotal, wantToday int64) {
				t.Helper()
				seen := 0
				p, err := f.drawWith("u-progress", now, func(dt *activitydb.DrawTx, p activity.Partake, _ *sqldb.Batch) error {
					seen++
					if p.TotalUsed != wantTotal || p.TodayUsed != wantToday || p.Reused {
						return fmt.Errorf("raffle saw %+v, want total %d today %d", p, wantTotal, wantToday)
					}
					if p.Order.State != activity.RaffleOrderCreate {
						return fmt.Errorf("raffle saw order state %q", p.Order.State)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("draw: %v", err)
				}
				if seen == 0 || p.TotalUsed != wantTotal || p.TodayUsed != wantToday || p.Order.State != activity.RaffleOrderUsed {
					t.Fatalf("partake %+v (raffle ran %d times), want total %d today %d, used", p, seen, wantTotal, wantToday)
				}
				if n, _ := f.s.TotalDraws(ctx, "u-progress", testAct.ID); n != wantTotal {
					t.Fatalf("TotalDraws = %d, want %d", n, wantTotal)
				}
				if n, _ := f.s.TodayDraws(ctx, "u-progress", testAct.ID, activity.DayKey(now, time.UTC)); n != wantToday {
					t.Fatalf("TodayDraws = %d, want %d", n, wantToday)
				}
			}
			check(t0, 1, 1)
			check(t0.Add(time.Minute), 2, 2)
			check(t0.Add(2*time.Minute), 3, 3)
			check(t0.Add(24*time.Hour), 4, 1)
			check(t0.Add(25*time.Hour), 5, 2)
			orders, err := f.s.RaffleOrdersByUser(ctx, "u-progress", 0)
			if err != nil || len(orders) != 5 {
				t.Fatalf("orders = %d, %v; want 5", len(orders), err)
			}
			for _, o := range orders {
				if o.State != activity.RaffleOrderUsed || o.ActivityName != testAct.Name || o.StrategyID != testAct.StrategyID {
					t.Fatalf("order %+v: want used, with the activity's name and strategy", o)
				}
			}
		})

		t.Run("raffle error rolls back quota, order and raffle writes", func(t *testing.T) {
			f := newFixture(t, db)
			records := awarddb.New(db)
			f.grant("g-rollback", "u-rollback", 10, 3, 10, t0)
			boom := errors.New("boom")
			_, err := f.drawWith("u-rollback", t0, func(dt *activitydb.DrawTx, p activity.Partake, _ *sqldb.Batch) error {
				tx, r := dt.Tx, dt.Route
				rec := award.Record{UserID: "u-rollback", ActivityID: testAct.ID, StrategyID: testAct.StrategyID,
					OrderID: p.Order.OrderID, AwardID: 101, State: award.RecordCreate, Time: t0}
				if err := records.InsertTx(ctx, tx, r, rec); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("draw: err = %v, want boom", err)
			}
			// No day or month row was left behind: the account reads as fresh.
			f.wantAccount("u-rollback", t0, activity.Account{TotalCount: 10, TotalSurplus: 10, DayCount: 3, DaySurplus: 3, MonthCount: 10, MonthSurplus: 10})
			if orders, _ := f.s.RaffleOrdersByUser(ctx, "u-rollback", 0); len(orders) != 0 {
				t.Fatalf("orders after rollback: %v", orders)
			}
			if recs, _ := records.ListByUser(ctx, "u-rollback", 0); len(recs) != 0 {
				t.Fatalf("award records after rollback: %v", recs)
			}
			// Rows that exist are restored too.
			if _, err := f.draw("u-rollback", t0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.drawWith("u-rollback", t0, func(*activitydb.DrawTx, activity.Partake, *sqldb.Batch) error { return boom }); !errors.Is(err, boom) {
				t.Fatalf("draw: err = %v, want boom", err)
			}
			f.wantAccount("u-rollback", t0, activity.Account{TotalCount: 10, TotalSurplus: 9, DayCount: 3, DaySurplus: 2, MonthCount: 10, MonthSurplus: 9})
		})

		t.Run("an unused order is reused without quota", func(t *testing.T) {
			f := newFixture(t, db)
			user := "u-reuse"
			f.grant("g-reuse", user, 10, 3, 10, t0)
			if _, err := f.draw(user, t0); err != nil {
				t.Fatal(err)
			}
			// An order left unused by an interrupted draw.
			r := db.Route(user)
			ms := t0.Add(-time.Hour).UnixMilli()
			_, err := db.Shard(r.Shard).Write().ExecContext(ctx, r.SQL(`INSERT INTO user_raffle_order{{suffix}}
				(user_id, activity_id, activity_name, strategy_id, order_id, order_time, order_state, create_time, update_time)
				VALUES (?, ?, ?, ?, ?, ?, 'create', ?, ?)`), user, testAct.ID, testAct.Name, testAct.StrategyID, "hand-made-order", ms, ms, ms)
			if err != nil {
				t.Fatal(err)
			}
			before := f.account(user, t0)
			p, err := f.drawWith(user, t0, func(dt *activitydb.DrawTx, p activity.Partake, _ *sqldb.Batch) error {
				if !p.Reused || p.Order.OrderID != "hand-made-order" || p.TotalUsed != 1 || p.TodayUsed != 1 {
					return fmt.Errorf("raffle saw %+v", p)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("draw: %v", err)
			}
			if !p.Reused || p.Order.OrderID != "hand-made-order" || p.Order.State != activity.RaffleOrderUsed || !p.Order.OrderTime.Equal(time.UnixMilli(ms)) {
				t.Fatalf("partake %+v, want the hand-made order reused and used", p)
			}
			f.wantAccount(user, t0, before)
			// The order is used now: the next draw takes quota again.
			p, err = f.draw(user, t0)
			if err != nil || p.Reused || p.TotalUsed != 2 {
				t.Fatalf("next draw: %+v, %v; want a new order, total used 2", p, err)
			}
		})

		t.Run("order already used", func(t *testing.T) {
			f := newFixture(t, db)
			user := "u-used"
			f.grant("g-used", user, 10, 3, 10, t0)
			r := db.Route(user)
			ms := t0.Add(-time.Hour).UnixMilli()
			_, err := db.Shard(r.Shard).Write().ExecContext(ctx, r.SQL(`INSERT INTO user_raffle_order{{suffix}}
				(user_id, activity_id, activity_name, strategy_id, order_id, order_time, order_state, create_time, update_time)
				VALUES (?, ?, ?, ?, ?, ?, 'create', ?, ?)`), user, testAct.ID, testAct.Name, testAct.StrategyID, "left-unused", ms, ms, ms)
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.drawWith(user, t0, func(dt *activitydb.DrawTx, p activity.Partake, _ *sqldb.Batch) error {
				tx, r := dt.Tx, dt.Route
				if !p.Reused {
					return fmt.Errorf("raffle saw %+v, want the unused order", p)
				}
				// Something else used the order within the transaction.
				_, err := tx.ExecContext(ctx, r.SQL(`UPDATE user_raffle_order{{suffix}} SET order_state = 'used' WHERE order_id = ?`), p.Order.OrderID)
				return err
			})
			if !errors.Is(err, activity.ErrOrderUsed) {
				t.Fatalf("draw: err = %v, want ErrOrderUsed", err)
			}
			f.wantAccount(user, t0, activity.Account{TotalCount: 10, TotalSurplus: 10, DayCount: 3, DaySurplus: 3, MonthCount: 10, MonthSurplus: 10})
		})

		t.Run("a failing batch rolls back the whole draw", func(t *testing.T) {
			f := newFixture(t, db)
			records := awarddb.New(db)
			user := "u-batch"
			f.grant("g-batch", user, 10, 3, 10, t0)
			if _, err := f.draw(user, t0); err != nil { // the period rows exist now
				t.Fatal(err)
			}
			before := f.account(user, t0)
			_, err := f.drawWith(user, t0, func(dt *activitydb.DrawTx, p activity.Partake, w *sqldb.Batch) error {
				r := dt.Route
				rec := award.Record{UserID: user, ActivityID: testAct.ID, StrategyID: testAct.StrategyID,
					OrderID: p.Order.OrderID, AwardID: 101, State: award.RecordCreate, Time: t0}
				records.AddInsert(w, r, rec)
				records.AddInsert(w, r, rec) // the same order twice: a duplicate key
				return nil
			})
			if !db.Dialect().IsDuplicate(err) {
				t.Fatalf("draw: err = %v, want a duplicate key", err)
			}
			f.wantAccount(user, t0, before)
			orders, err := f.s.RaffleOrdersByUser(ctx, user, 10)
			if err != nil || len(orders) != 1 {
				t.Fatalf("orders: %+v, %v; want only the first draw's", orders, err)
			}
			r := db.Route(user)
			var n int
			if err := db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(`SELECT COUNT(*) FROM user_award_record{{suffix}} WHERE user_id = ?`), user).Scan(&n); err != nil || n != 0 {
				t.Fatalf("award records of %s: %d, %v; want 0", user, n, err)
			}
		})
	})
}

// TestDrawRoundTripsMySQL counts the requests a draw sends to MySQL (commands
// seen by a proxy between the store and the server): a draw alone in its batch
// that records an award and a task sends three (the account lock with the
// reads under it, led by the transaction's begin; the order, the surpluses,
// the award record and the task with the read of the surpluses left; commit;
// a raffle that takes stock adds its fence hold).
func TestDrawRoundTripsMySQL(t *testing.T) {
	ctx := context.Background()
	cfg, proxy := sqldbtest.CountedMySQLConfig(t, 1, 1)
	db := sqldbtest.OpenConfig(t, cfg)
	f := newFixture(t, db)
	records, tasks := awarddb.New(db), outboxdb.New(db)
	user := "u-trips"
	f.grant("g-trips", user, 10, 3, 10, t0)
	if _, err := f.draw(user, t0); err != nil { // the period rows exist now
		t.Fatal(err)
	}
	before := proxy.Commands()
	_, err := f.drawWith(user, t0, func(dt *activitydb.DrawTx, p activity.Partake, w *sqldb.Batch) error {
		r := dt.Route
		records.AddInsert(w, r, award.Record{UserID: user, ActivityID: testAct.ID, StrategyID: testAct.StrategyID,
			OrderID: p.Order.OrderID, AwardID: 101, State: award.RecordCreate, Time: t0})
		task, err := outbox.New(user, outbox.TopicSendAward, "trip-task", map[string]string{"orderId": p.Order.OrderID}, t0)
		if err != nil {
			return err
		}
		tasks.AddInsert(w, r, task)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := proxy.Commands() - before; got != 3 {
		t.Fatalf("a draw sent %d requests, want 3 (begin+lock+reads, order+surpluses+award record+task+check, commit)", got)
	}
	var n int
	r := db.Route(user)
	if err := db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(`SELECT COUNT(*) FROM user_award_record{{suffix}} WHERE user_id = ?`), user).Scan(&n); err != nil || n != 1 {
		t.Fatalf("award records of %s: %d, %v; want 1", user, n, err)
	}
}

func TestAddQuota(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		day, month := activity.DayKey(t0, time.UTC), activity.MonthKey(t0, time.UTC)

		t.Run("grant is idempotent", func(t *testing.T) {
			f := newFixture(t, db)
			f.grant("g-once", "u-grant", 10, 3, 5, t0)
			f.grant("g-once", "u-grant", 10, 3, 5, t0.Add(time.Hour))
			f.wantAccount("u-grant", t0, activity.Account{TotalCount: 10, TotalSurplus: 10, DayCount: 3, DaySurplus: 3, MonthCount: 5, MonthSurplus: 5})
			o, err := f.s.QuotaOrder(ctx, "u-grant", activity.GrantOutBusinessNo("g-once"))
			if err != nil || o.SKU != 0 || o.State != activity.QuotaOrderCompleted || o.Total != 10 || o.ActivityName != testAct.Name || !o.OrderTime.Equal(t0) {
				t.Fatalf("grant order %+v, %v", o, err)
			}
			if err := f.s.ApplyGrant(ctx, activity.Grant{ID: "g-bad", UserID: "u-grant", ActivityID: testAct.ID, Total: -1}, testAct, t0, day, month); !errors.Is(err, activity.ErrInvalid) {
				t.Fatalf("negative grant: err = %v, want ErrInvalid", err)
			}
		})

		t.Run("duplicate out_business_no changes nothing", func(t *testing.T) {
			f := newFixture(t, db)
			o := activity.QuotaOrder{UserID: "u-dup", SKU: 9011, ActivityID: testAct.ID, ActivityName: testAct.Name,
				StrategyID: testAct.StrategyID, OrderID: f.ids.Next(), OrderTime: t0, Total: 5, Day: 2, Month: 3,
				PayAmount: money.FromInt(5), State: activity.QuotaOrderCompleted, OutBusinessNo: "biz-1"}
			if err := f.s.AddQuota(ctx, o, day, month); err != nil {
				t.Fatal(err)
			}
			o2 := o
			o2.OrderID = f.ids.Next()
			if err := f.s.AddQuota(ctx, o2, day, month); !errors.Is(err, activity.ErrDuplicate) || !errors.Is(err, sqldb.ErrDuplicate) {
				t.Fatalf("second AddQuota: err = %v, want ErrDuplicate", err)
			}
			f.wantAccount("u-dup", t0, activity.Account{TotalCount: 5, TotalSurplus: 5, DayCount: 2, DaySurplus: 2, MonthCount: 3, MonthSurplus: 3})
			got, err := f.s.QuotaOrder(ctx, "u-dup", "biz-1")
			if got.OrderTime.Equal(o.OrderTime) {
				got.OrderTime = o.OrderTime // same instant, other location
			}
			if err != nil || got != o {
				t.Fatalf("QuotaOrder = %+v, %v; want %+v", got, err, o)
			}
			if _, err := f.s.QuotaOrder(ctx, "u-dup", "biz-none"); !errors.Is(err, activity.ErrOrderNotFound) {
				t.Fatalf("unknown order: err = %v, want ErrOrderNotFound", err)
			}
			if n, err := f.s.CountSKUOrders(ctx, 9011); err != nil || n != 1 {
				t.Fatalf("CountSKUOrders = %d, %v; want 1", n, err)
			}
		})

		t.Run("adding quota grows existing day and month rows", func(t *testing.T) {
			f := newFixture(t, db)
			user := "u-grow"
			f.grant("g-grow-1", user, 10, 3, 5, t0)
			for range 2 {
				if _, err := f.draw(user, t0); err != nil {
					t.Fatal(err)
				}
			}
			f.wantAccount(user, t0, activity.Account{TotalCount: 10, TotalSurplus: 8, DayCount: 3, DaySurplus: 1, MonthCount: 5, MonthSurplus: 3})
			f.grant("g-grow-2", user, 4, 2, 2, t0)
			f.wantAccount(user, t0, activity.Account{TotalCount: 14, TotalSurplus: 12, DayCount: 5, DaySurplus: 3, MonthCount: 7, MonthSurplus: 5})
			ok, _ := f.drawConcurrently(user, t0, 8, activity.ErrDayQuota)
			if ok != 3 {
				t.Fatalf("%d draws after the second grant, want 3", ok)
			}
			// A new day starts from the grown per-day quota.
			f.wantAccount(user, t0.Add(24*time.Hour), activity.Account{TotalCount: 14, TotalSurplus: 9, DayCount: 5, DaySurplus: 5, MonthCount: 7, MonthSurplus: 2})
		})

		t.Run("wait_pay adds on completion, once", func(t *testing.T) {
			f := newFixture(t, db)
			user := "u-pay"
			o := activity.QuotaOrder{UserID: user, SKU: 9012, ActivityID: testAct.ID, ActivityName: testAct.Name,
				StrategyID: testAct.StrategyID, OrderID: f.ids.Next(), OrderTime: t0, Total: 5, Day: 5, Month: 5,
				PayAmount: money.FromInt(100), State: activity.QuotaOrderWaitPay, OutBusinessNo: "pay-1"}
			if err := f.s.AddQuota(ctx, o, day, month); err != nil {
				t.Fatal(err)
			}
			f.wantAccount(user, t0, activity.Account{})
			if _, err := f.draw(user, t0); !errors.Is(err, activity.ErrTotalQuota) {
				t.Fatalf("draw before payment: err = %v, want ErrTotalQuota", err)
			}
			for i := range 2 {
				if err := f.s.CompleteQuotaOrder(ctx, user, "pay-1", t0, day, month); err != nil {
					t.Fatalf("complete #%d: %v", i+1, err)
				}
				f.wantAccount(user, t0, activity.Account{TotalCount: 5, TotalSurplus: 5, DayCount: 5, DaySurplus: 5, MonthCount: 5, MonthSurplus: 5})
			}
			if got, _ := f.s.QuotaOrder(ctx, user, "pay-1"); got.State != activity.QuotaOrderCompleted {
				t.Fatalf("state %q, want completed", got.State)
			}
			if err := f.s.CompleteQuotaOrder(ctx, user, "pay-none", t0, day, month); !errors.Is(err, activity.ErrOrderNotFound) {
				t.Fatalf("complete unknown: err = %v, want ErrOrderNotFound", err)
			}
			orders, err := f.s.QuotaOrdersByUser(ctx, user, 0)
			if err != nil || len(orders) != 1 || orders[0].OrderID != o.OrderID {
				t.Fatalf("QuotaOrdersByUser = %+v, %v", orders, err)
			}
		})

		t.Run("accounts by user", func(t *testing.T) {
			f := newFixture(t, db)
			f.grant("g-list", "u-list", 3, 2, 1, t0)
			accs, err := f.s.AccountsByUser(ctx, "u-list", day, month)
			want := activity.Account{TotalCount: 3, TotalSurplus: 3, DayCount: 2, DaySurplus: 2, MonthCount: 1, MonthSurplus: 1}
			if err != nil || len(accs) != 1 || accs[testAct.ID] != want {
				t.Fatalf("AccountsByUser = %v, %v", accs, err)
			}
		})
	})
}

func TestGrants(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		for _, id := range []string{"g2", "g1"} {
			_, err := db.Config().Write().ExecContext(ctx, `INSERT INTO quota_grant (grant_id, user_id, activity_id, total_count,
				day_count, month_count, state, create_time, update_time) VALUES (?, ?, ?, 1, 1, 1, 'pending', 0, 0)`, id, "u-"+id, testAct.ID)
			if err != nil {
				t.Fatal(err)
			}
		}
		gs, err := f.s.PendingGrants(ctx)
		if err != nil || len(gs) != 2 || gs[0].ID != "g1" || gs[1].UserID != "u-g2" || gs[1].Total != 1 {
			t.Fatalf("PendingGrants = %+v, %v", gs, err)
		}
		if err := f.s.MarkGrantApplied(ctx, "g1", t0); err != nil {
			t.Fatal(err)
		}
		if gs, _ := f.s.PendingGrants(ctx); len(gs) != 1 || gs[0].ID != "g2" {
			t.Fatalf("PendingGrants after mark = %+v", gs)
		}
		if err := f.s.MarkGrantApplied(ctx, "g-none", t0); !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("mark unknown: err = %v, want ErrNotFound", err)
		}
	})
}

func TestRecentRaffleOrders(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		const users = 16
		shards := map[sqldb.Route]bool{}
		for i := range users {
			user := fmt.Sprintf("u-recent-%02d", i)
			shards[db.Route(user)] = true
			f.grant("g-recent-"+user, user, 5, 5, 5, t0)
		}
		if db.Driver() == sqldb.DriverMySQL && len(shards) < 4 {
			t.Fatalf("users spread over %d tables only; pick other names", len(shards))
		}
		// Every user's first draw at once (lazy day and month rows in shared
		// tables), each at its own time: user i draws at t0 + i seconds.
		var wg sync.WaitGroup
		errs := make(chan error, users)
		for i := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.draw(fmt.Sprintf("u-recent-%02d", i), t0.Add(time.Duration(i)*time.Second))
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("draw: %v", err)
			}
		}
		got, err := f.s.RecentRaffleOrders(ctx, 5)
		if err != nil || len(got) != 5 {
			t.Fatalf("RecentRaffleOrders(5) = %d orders, %v", len(got), err)
		}
		for k, o := range got {
			want := fmt.Sprintf("u-recent-%02d", users-1-k)
			if o.UserID != want || !o.OrderTime.Equal(t0.Add(time.Duration(users-1-k)*time.Second)) || o.State != activity.RaffleOrderUsed {
				t.Fatalf("order %d = %+v, want user %s", k, o, want)
			}
		}
		all, err := f.s.RecentRaffleOrders(ctx, 0)
		if err != nil || len(all) != users {
			t.Fatalf("RecentRaffleOrders(0) = %d orders, %v; want %d", len(all), err, users)
		}
	})
}
