package activitydb_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/fencedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// The tests of this file force draws into one batch: the shard's only
// batcher is held inside a first draw's raffle while the others queue, and
// released once they all wait.

// batchEngines runs fn as a subtest per engine with open, which opens a fresh
// database of one shard (two tables on MySQL) and a Store whose draws are
// batched by one batcher, or run alone.
func batchEngines(t *testing.T, fn func(t *testing.T, open func(batched bool) *fixture)) {
	for _, engine := range []string{sqldb.DriverSQLite, sqldb.DriverMySQL} {
		t.Run(engine, func(t *testing.T) {
			fn(t, func(batched bool) *fixture {
				var db *sqldb.DB
				if engine == sqldb.DriverSQLite {
					db = sqldbtest.OpenSQLite(t)
				} else {
					db = sqldbtest.OpenConfig(t, sqldbtest.MySQLConfig(t, 1, 2))
				}
				opt := activitydb.WithDrawBatches(-1, 0)
				if batched {
					opt = activitydb.WithDrawBatches(1, 64)
				}
				return &fixture{t: t, db: db, s: activitydb.New(db, opt), ids: idgen.New(nil), batched: batched}
			})
		})
	}
}

// holdBatcher starts a draw of a fresh user whose raffle waits for release,
// and returns once the raffle runs: the shard's one batcher is busy until then.
// done reports that draw's error.
func holdBatcher(f *fixture) (release func(), done <-chan error) {
	f.t.Helper()
	f.grant("g-holder", "u-holder", 10, 10, 10, t0)
	entered, gate, errc := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := f.drawWith("u-holder", t0, func(*activitydb.DrawTx, activity.Partake, *sqldb.Batch) error {
			close(entered)
			<-gate
			return nil
		})
		errc <- err
	}()
	<-entered
	return func() { close(gate) }, errc
}

// waitQueued waits until n draws are queued on shard 0.
func waitQueued(f *fixture, n int) {
	f.t.Helper()
	for i := 0; f.s.QueuedDraws(0) < n; i++ {
		if i > 10_000_000 {
			f.t.Fatalf("%d draws queued, want %d", f.s.QueuedDraws(0), n)
		}
		runtime.Gosched()
	}
}

// drawAll runs a draw per user at once with raffle; the batcher is held
// until all of them are queued, so that they share a batch.
func drawAll(f *fixture, users []string, raffle activitydb.Raffle) (map[string]activity.Partake, map[string]error) {
	f.t.Helper()
	release, holder := func() {}, (<-chan error)(nil)
	if f.batched {
		release, holder = holdBatcher(f)
	}
	var mu sync.Mutex
	parts, errs := map[string]activity.Partake{}, map[string]error{}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			p, err := f.drawWith(u, t0, raffle)
			mu.Lock()
			defer mu.Unlock()
			parts[u], errs[u] = p, err
		})
	}
	if f.batched {
		waitQueued(f, len(users))
	}
	release()
	wg.Wait()
	if holder != nil {
		if err := <-holder; err != nil {
			f.t.Fatalf("holding draw: %v", err)
		}
	}
	return parts, errs
}

// TestDrawBatchSharesOneTransaction: twenty queued draws, whose raffles hold
// stock fences, cost the requests of one draw (begin with the locks, fences
// and reads; writes and their check; commit) and as many answers from the
// server whatever the tables they span, and each takes one draw of its own
// user's quota.
func TestDrawBatchSharesOneTransaction(t *testing.T) {
	cfg, proxy := sqldbtest.CountedMySQLConfig(t, 1, 2)
	db := sqldbtest.OpenConfig(t, cfg)
	f := &fixture{t: t, db: db, s: activitydb.New(db, activitydb.WithDrawBatches(1, 64)), ids: idgen.New(nil)}
	records, fences := awarddb.New(db), fencedb.New(db)
	// The raffles hold stock fences; the batch takes them with its locks.
	f.stockKeys = []string{"award_stock:100006:101", "award_stock:100006:102"}
	for _, k := range f.stockKeys {
		if err := fences.Ensure(context.Background(), k); err != nil {
			t.Fatal(err)
		}
	}

	var users []string
	for i := range 20 {
		u := fmt.Sprintf("u-batch-%02d", i)
		users = append(users, u)
		f.grant("g-"+u, u, 10, 3, 10, t0)
		if i%2 == 0 { // half of them have their period rows already
			if _, err := f.draw(u, t0); err != nil {
				t.Fatal(err)
			}
		}
	}
	release, holder := holdBatcher(f)
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	for i, u := range users {
		wg.Go(func() {
			_, errs[i] = f.drawWith(u, t0, func(dt *activitydb.DrawTx, p activity.Partake, w *sqldb.Batch) error {
				if gen, err := dt.Hold(f.stockKeys[i%2], fences.Hold); err != nil || gen != 0 {
					return fmt.Errorf("hold: gen %d, %v", gen, err)
				}
				records.AddInsert(w, dt.Route, award.Record{UserID: u, ActivityID: testAct.ID, StrategyID: testAct.StrategyID,
					OrderID: p.Order.OrderID, AwardID: 101, State: award.RecordCreate, Time: t0})
				return nil
			})
		})
	}
	waitQueued(f, len(users))
	before, answersBefore := proxy.Commands(), proxy.Answers()
	release()
	wg.Wait()
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	// The held batch ends with two (writes, commit), the queued one sends three.
	if got := proxy.Commands() - before; got > 5 {
		t.Fatalf("20 queued draws and the end of the held one sent %d requests, want at most 5", got)
	}
	// The server answers the held batch's writes, their count and its commit,
	// and the queued batch's begin, locks (both tables' in one statement),
	// reads (likewise), fences, writes, count and commit.
	if got := proxy.Answers() - answersBefore; got != 10 {
		t.Fatalf("the server answered %d statements, want 10", got)
	}
	for i, u := range users {
		if errs[i] != nil {
			t.Fatalf("draw of %s: %v", u, errs[i])
		}
		used := int64(1 + (i+1)%2) // the earlier draw of half of them
		f.wantAccount(u, t0, activity.Account{TotalCount: 10, TotalSurplus: 10 - used, DayCount: 3, DaySurplus: 3 - used,
			MonthCount: 10, MonthSurplus: 10 - used})
		recs, err := records.ListByUser(context.Background(), u, 10)
		if err != nil || len(recs) != 1 {
			t.Fatalf("records of %s: %d, %v; want the batch's one", u, len(recs), err)
		}
	}
}

// scenario sets up users whose draws end every way a draw can, and runs one
// draw of each at once; the outcomes and the accounts afterwards are the same
// batched and alone.
func scenario(t *testing.T, f *fixture) (outcome map[string]string, accounts map[string]activity.Account) {
	ctx := context.Background()
	f.grant("g-fresh", "fresh", 10, 3, 10, t0) // no period rows yet
	f.grant("g-drawn", "drawn", 10, 3, 10, t0) // period rows exist
	f.grant("g-day", "day-spent", 10, 1, 10, t0)
	f.grant("g-month", "month-spent", 10, 3, 1, t0)
	f.grant("g-total", "total-spent", 1, 3, 10, t0)
	f.grant("g-unused", "unused", 10, 3, 10, t0)
	for _, u := range []string{"drawn", "day-spent", "month-spent", "total-spent", "unused"} {
		if _, err := f.draw(u, t0); err != nil {
			t.Fatal(err)
		}
	}
	r := f.db.Route("unused")
	ms := t0.Add(-time.Hour).UnixMilli()
	if _, err := f.db.Shard(r.Shard).Write().ExecContext(ctx, r.SQL(`INSERT INTO user_raffle_order{{suffix}}
		(user_id, activity_id, activity_name, strategy_id, order_id, order_time, order_state, create_time, update_time)
		VALUES (?, ?, ?, ?, ?, ?, 'create', ?, ?)`), "unused", testAct.ID, testAct.Name, testAct.StrategyID, "left-unused", ms, ms, ms); err != nil {
		t.Fatal(err)
	}
	users := []string{"fresh", "drawn", "day-spent", "month-spent", "total-spent", "unused", "no-account"}
	parts, errs := drawAll(f, users, noRaffle)
	outcome, accounts = map[string]string{}, map[string]activity.Account{}
	for _, u := range users {
		p, err := parts[u], errs[u]
		switch {
		case err == nil:
			outcome[u] = fmt.Sprintf("ok total %d today %d reused %v state %s", p.TotalUsed, p.TodayUsed, p.Reused, p.Order.State)
		case errors.Is(err, activity.ErrDayQuota):
			outcome[u] = "day quota"
		case errors.Is(err, activity.ErrMonthQuota):
			outcome[u] = "month quota"
		case errors.Is(err, activity.ErrTotalQuota):
			outcome[u] = "total quota"
		default:
			outcome[u] = "error " + err.Error()
		}
		accounts[u] = f.account(u, t0)
	}
	return outcome, accounts
}

func TestDrawBatchEqualsAlone(t *testing.T) {
	batchEngines(t, func(t *testing.T, open func(bool) *fixture) {
		batched, batchedAcc := scenario(t, open(true))
		alone, aloneAcc := scenario(t, open(false))
		for u, want := range alone {
			if batched[u] != want {
				t.Errorf("%s: batched %q, alone %q", u, batched[u], want)
			}
			if batchedAcc[u] != aloneAcc[u] {
				t.Errorf("%s: account batched %+v, alone %+v", u, batchedAcc[u], aloneAcc[u])
			}
		}
		if alone["fresh"] != "ok total 1 today 1 reused false state used" || alone["day-spent"] != "day quota" ||
			alone["unused"] != "ok total 1 today 1 reused true state used" || alone["no-account"] != "total quota" {
			t.Fatalf("the scenario's outcomes alone: %v", alone)
		}
	})
}

// TestDrawBatchChecksItsTakes: a batch whose takes do not change the rows
// its reads planned on (here a raffle deletes its own user's month row inside
// the transaction, so the batch's take of that user's month misses) must not
// commit: its draws run again alone, each user's total, month and day taken
// exactly once, the deleted row back.
func TestDrawBatchChecksItsTakes(t *testing.T) {
	batchEngines(t, func(t *testing.T, open func(bool) *fixture) {
		f := open(true)
		users := []string{"u-a", "u-b", "u-c"}
		for _, u := range users {
			f.grant("g-"+u, u, 10, 3, 10, t0)
			if _, err := f.draw(u, t0); err != nil {
				t.Fatal(err)
			}
		}
		var deleted atomic.Bool // in the batch only: the draw alone runs the raffle again
		_, errs := drawAll(f, users, func(dt *activitydb.DrawTx, p activity.Partake, _ *sqldb.Batch) error {
			if p.Order.UserID != "u-b" || deleted.Swap(true) {
				return nil
			}
			_, err := dt.Tx.Exec(dt.Route.SQL(`DELETE FROM raffle_activity_account_month{{suffix}} WHERE user_id = ?`), "u-b")
			return err
		})
		for _, u := range users {
			if errs[u] != nil {
				t.Fatalf("draw of %s: %v", u, errs[u])
			}
			if a := f.account(u, t0); a.TotalSurplus != 8 || a.DaySurplus != 1 || a.MonthSurplus != 8 {
				t.Errorf("%s after two draws: %+v, want total surplus 8, day surplus 1, month surplus 8", u, a)
			}
		}
	})
}

// TestDrawBatchRaffleFailure: a raffle's error is its own draw's; the other
// draws of its batch run alone and succeed, each taking once.
func TestDrawBatchRaffleFailure(t *testing.T) {
	batchEngines(t, func(t *testing.T, open func(bool) *fixture) {
		f := open(true)
		users := []string{"u-a", "u-b", "u-c"}
		for _, u := range users {
			f.grant("g-"+u, u, 10, 3, 10, t0)
		}
		boom := errors.New("boom")
		_, errs := drawAll(f, users, func(_ *activitydb.DrawTx, p activity.Partake, _ *sqldb.Batch) error {
			if p.Order.UserID == "u-b" {
				return boom
			}
			return nil
		})
		if !errors.Is(errs["u-b"], boom) {
			t.Fatalf("u-b: err = %v, want boom", errs["u-b"])
		}
		f.wantAccount("u-b", t0, activity.Account{TotalCount: 10, TotalSurplus: 10, DayCount: 3, DaySurplus: 3, MonthCount: 10, MonthSurplus: 10})
		for _, u := range []string{"u-a", "u-c"} {
			if errs[u] != nil {
				t.Fatalf("%s: %v", u, errs[u])
			}
			f.wantAccount(u, t0, activity.Account{TotalCount: 10, TotalSurplus: 9, DayCount: 3, DaySurplus: 2, MonthCount: 10, MonthSurplus: 9})
		}
	})
}

// TestDrawBatchCallerGoneWhileQueued: a caller whose context ends while its
// draw waits for a batch leaves with the context's error, and nothing of its
// draw is written.
func TestDrawBatchCallerGoneWhileQueued(t *testing.T) {
	batchEngines(t, func(t *testing.T, open func(bool) *fixture) {
		f := open(true)
		f.grant("g-gone", "u-gone", 10, 3, 10, t0)
		release, holder := holdBatcher(f)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := f.s.Draw(ctx, activitydb.DrawInput{UserID: "u-gone", Activity: testAct, OrderID: f.ids.Next(), Now: t0,
				Day: activity.DayKey(t0, time.UTC), Month: activity.MonthKey(t0, time.UTC)}, noRaffle)
			errc <- err
		}()
		waitQueued(f, 1)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("draw: err = %v, want context.Canceled", err)
		}
		release()
		if err := <-holder; err != nil {
			t.Fatal(err)
		}
		if n := f.s.QueuedDraws(0); n != 0 {
			t.Fatalf("%d draws still queued", n)
		}
		f.wantAccount("u-gone", t0, activity.Account{TotalCount: 10, TotalSurplus: 10, DayCount: 3, DaySurplus: 3, MonthCount: 10, MonthSurplus: 10})
	})
}
