package awarddb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// The tests of this file force credit deliveries into one batch: the shard's
// only batcher is held by a first delivery waiting for a credit account row
// another transaction locks (on SQLite: for the writer, which another
// transaction keeps), while the others queue; the lock is released once they
// all wait.

type creditFixture struct {
	t       *testing.T
	db      *sqldb.DB
	records *awarddb.Store
	credits *creditdb.Store
	d       *awarddb.Deliveries
	batched bool
}

var ct0 = time.UnixMilli(1_700_000_000_000)

func newCreditFixture(t *testing.T, cfg sqldb.Config, batched bool) *creditFixture {
	db := sqldbtest.OpenConfig(t, cfg)
	opt := awarddb.WithCreditBatches(-1, 0)
	if batched {
		opt = awarddb.WithCreditBatches(1, 64)
	}
	records, credits := awarddb.New(db), creditdb.New(db)
	return &creditFixture{t: t, db: db, records: records, credits: credits,
		d: awarddb.NewDeliveries(db, records, credits, opt), batched: batched}
}

func (f *creditFixture) order(user, awardOrder, id string, cents int64) credit.Order {
	return credit.Order{UserID: user, OrderID: id, TradeName: credit.TradeAward, TradeType: credit.Forward,
		Amount: money.FromCents(cents), OutBusinessNo: awardOrder, Time: ct0}
}

// hold delivers a first award to a fresh user whose credit account another
// transaction keeps locked: the batcher waits in that delivery until release.
// done reports that delivery's error.
func (f *creditFixture) hold() (release func(), done <-chan error) {
	f.t.Helper()
	if f.db.Driver() == sqldb.DriverSQLite {
		return f.holdWriter()
	}
	ctx := context.Background()
	if err := f.credits.Apply(ctx, f.order("holder", "seed", "c-seed", 1)); err != nil {
		f.t.Fatal(err)
	}
	if err := f.records.Insert(ctx, record("holder", "order-holder", ct0)); err != nil {
		f.t.Fatal(err)
	}
	r := f.db.Route("holder")
	tx, err := f.db.Shard(r.Shard).Write().BeginTx(ctx, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	var n int
	if err := tx.QueryRowContext(ctx, r.SQL(`SELECT COUNT(*) FROM user_credit_account{{suffix}} WHERE user_id = ? FOR UPDATE`), "holder").Scan(&n); err != nil || n != 1 {
		f.t.Fatalf("lock the holder's account: %d, %v", n, err)
	}
	errc := make(chan error, 1)
	go func() {
		errc <- f.d.CreditAndComplete(ctx, "holder", "order-holder", f.order("holder", "order-holder", "c-holder", 100), ct0)
	}()
	// Wait until the holder's batch waits for the lock: its request shows in
	// the shard database's process list.
	for i := 0; ; i++ {
		var n int
		err := f.db.Shard(0).Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.PROCESSLIST
			WHERE DB = DATABASE() AND INFO LIKE 'INSERT INTO user_credit_account%'`).Scan(&n)
		if err != nil {
			f.t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if i > 1000 {
			f.t.Fatal("the holding delivery never waited for the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return func() {
		if err := tx.Commit(); err != nil {
			f.t.Error(err)
		}
	}, errc
}

// holdWriter is hold on SQLite: a transaction of the writer's group commit
// waits until release, and a first delivery's batch waits for the writer.
func (f *creditFixture) holdWriter() (release func(), done <-chan error) {
	f.t.Helper()
	ctx := context.Background()
	if err := f.records.Insert(ctx, record("holder", "order-holder", ct0)); err != nil {
		f.t.Fatal(err)
	}
	entered, gate, held := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		held <- sqldb.InTx(ctx, f.db.Shard(0), func(*sql.Tx) error {
			close(entered)
			<-gate
			return nil
		})
	}()
	<-entered
	errc := make(chan error, 1)
	go func() {
		errc <- f.d.CreditAndComplete(ctx, "holder", "order-holder", f.order("holder", "order-holder", "c-holder", 100), ct0)
	}()
	// The batcher took the holder's delivery and waits for the writer.
	for i := 0; f.d.RunningCredits(0) != 1 || f.d.QueuedCredits(0) != 0; i++ {
		if i > 10_000_000 {
			f.t.Fatal("the holding delivery never reached the batcher")
		}
		runtime.Gosched()
	}
	return func() {
		close(gate)
		if err := <-held; err != nil {
			f.t.Error(err)
		}
	}, errc
}

// deliverAll delivers one award per user at once, in one batch when batched.
func (f *creditFixture) deliverAll(users []string, cents int64) map[string]error {
	f.t.Helper()
	release, holder := func() {}, (<-chan error)(nil)
	if f.batched {
		release, holder = f.hold()
	}
	var mu sync.Mutex
	errs := map[string]error{}
	var wg sync.WaitGroup
	for _, u := range users {
		wg.Go(func() {
			err := f.d.CreditAndComplete(context.Background(), u, "order-"+u, f.order(u, "order-"+u, "c-"+u, cents), ct0)
			mu.Lock()
			errs[u] = err
			mu.Unlock()
		})
	}
	if f.batched {
		for i := 0; f.d.QueuedCredits(0) < len(users); i++ {
			if i > 10_000_000 {
				f.t.Fatalf("%d deliveries queued, want %d", f.d.QueuedCredits(0), len(users))
			}
			runtime.Gosched()
		}
	}
	release()
	wg.Wait()
	if holder != nil {
		if err := <-holder; err != nil {
			f.t.Fatalf("holding delivery: %v", err)
		}
	}
	return errs
}

// TestCreditBatchSharesOneTransaction: twenty queued deliveries cost three
// requests (begin, the writes with their count, commit) and each credits its
// user once and completes its record.
func TestCreditBatchSharesOneTransaction(t *testing.T) {
	cfg, proxy := sqldbtest.CountedMySQLConfig(t, 1, 2)
	f := newCreditFixture(t, cfg, true)
	ctx := context.Background()
	var users []string
	for i := range 20 {
		u := fmt.Sprintf("u-credit-%02d", i)
		users = append(users, u)
		if err := f.records.Insert(ctx, record(u, "order-"+u, ct0)); err != nil {
			t.Fatal(err)
		}
	}
	// Connections opened now, not while requests are counted (a new
	// connection sends its settings).
	warm(t, f.db, 4)
	release, holder := f.hold()
	var wg sync.WaitGroup
	errs := make([]error, len(users))
	for i, u := range users {
		wg.Go(func() {
			errs[i] = f.d.CreditAndComplete(ctx, u, "order-"+u, f.order(u, "order-"+u, "c-"+u, 250), ct0)
		})
	}
	for i := 0; f.d.QueuedCredits(0) < len(users); i++ {
		if i > 10_000_000 {
			t.Fatalf("%d deliveries queued, want %d", f.d.QueuedCredits(0), len(users))
		}
		runtime.Gosched()
	}
	before := proxy.Commands()
	release()
	wg.Wait()
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
	// The lock's release, the held batch's writes and commit, then two for
	// the queued batch, its begin travelling with its writes (alone, the
	// twenty would send forty).
	if got := proxy.Commands() - before; got > 5 {
		t.Fatalf("20 queued deliveries and the end of the held one sent %d requests, want at most 5", got)
	}
	for i, u := range users {
		if errs[i] != nil {
			t.Fatalf("delivery to %s: %v", u, errs[i])
		}
		if b, err := f.credits.Balance(ctx, u); err != nil || b != money.FromCents(250) {
			t.Fatalf("balance of %s: %s, %v; want 2.50", u, b, err)
		}
		if rec, err := f.records.Get(ctx, u, "order-"+u); err != nil || rec.State != award.RecordCompleted {
			t.Fatalf("record of %s: %s, %v; want completed", u, rec.State, err)
		}
	}
}

// creditScenario delivers, at once, awards that end every way a delivery
// can; the outcomes, balances and record states are the same batched and
// alone.
func creditScenario(t *testing.T, f *creditFixture) map[string]string {
	ctx := context.Background()
	for _, u := range []string{"fresh", "done", "manual", "in-ledger", "fresh2"} {
		if err := f.records.Insert(ctx, record(u, "order-"+u, ct0)); err != nil {
			t.Fatal(err)
		}
	}
	// delivered before: credited, record completed
	if err := f.d.CreditAndComplete(ctx, "done", "order-done", f.order("done", "order-done", "c-done-1", 100), ct0); err != nil {
		t.Fatal(err)
	}
	// kept for an operator
	if ok, err := f.records.SetState(ctx, "manual", "order-manual", award.RecordCreate, award.RecordPendingManual, ct0); err != nil || !ok {
		t.Fatalf("set pending_manual: %v, %v", ok, err)
	}
	// its credit is in the ledger, its record still in create
	if err := f.credits.Apply(ctx, f.order("in-ledger", "order-in-ledger", "c-in-ledger-1", 100)); err != nil {
		t.Fatal(err)
	}
	users := []string{"fresh", "done", "manual", "in-ledger", "fresh2", "no-record"}
	errs := f.deliverAll(users, 250)
	out := map[string]string{}
	for _, u := range users {
		err := errs[u]
		var what string
		switch {
		case err == nil:
			what = "ok"
		case errors.Is(err, award.ErrRecordState):
			what = "record state"
		case errors.Is(err, credit.ErrDuplicate):
			what = "duplicate"
		default:
			what = "error"
		}
		b, _ := f.credits.Balance(ctx, u)
		rec, _ := f.records.Get(ctx, u, "order-"+u)
		out[u] = fmt.Sprintf("%s, balance %s, record %s", what, b, rec.State)
	}
	return out
}

func TestCreditBatchEqualsAlone(t *testing.T) {
	for _, engine := range []string{sqldb.DriverSQLite, sqldb.DriverMySQL} {
		t.Run(engine, func(t *testing.T) {
			cfg := func() sqldb.Config { return sqldbtest.SQLiteConfig(t) }
			if engine == sqldb.DriverMySQL {
				cfg = func() sqldb.Config { return sqldbtest.MySQLConfig(t, 1, 2) }
			}
			batched := creditScenario(t, newCreditFixture(t, cfg(), true))
			alone := creditScenario(t, newCreditFixture(t, cfg(), false))
			for u, want := range alone {
				if batched[u] != want {
					t.Errorf("%s: batched %q, alone %q", u, batched[u], want)
				}
			}
			if alone["fresh"] != "ok, balance 2.50, record completed" || alone["done"] != "record state, balance 1.00, record completed" ||
				alone["in-ledger"] != "duplicate, balance 1.00, record create" {
				t.Fatalf("the scenario's outcomes alone: %v", alone)
			}
		})
	}
}

// warm opens n connections to shard 0 (at once, then idle in the pool).
func warm(t *testing.T, db *sqldb.DB, n int) {
	t.Helper()
	ctx := context.Background()
	var txs []*sql.Tx
	for range n {
		tx, err := db.Shard(0).Write().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "SELECT 1"); err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	for _, tx := range txs {
		_ = tx.Rollback()
	}
}

// TestCreditBatchPlanSQLite: SQLite finds a batch's records by their order
// ids, not by their state (every record still in create, after a backlog).
func TestCreditBatchPlanSQLite(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	q := db.Route("u").SQL(awarddb.CompleteRecordsSQLite)
	rows, err := db.Shard(0).Read().QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, "completed", 1, "create", `["a","b"]`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if len(plan) == 0 || !strings.Contains(plan[0], "(order_id=?)") {
		t.Fatalf("plan %q: want the search by order id first", plan)
	}
}

// TestCreditPaceByEngine: on MySQL a shard's credit batches are paced by
// default (a steady stream shares fewer, larger transactions); on SQLite,
// whose batches already share the writer's commits, they are not; a negative
// pace turns it off and any other is kept.
func TestCreditPaceByEngine(t *testing.T) {
	for _, engine := range []string{sqldb.DriverSQLite, sqldb.DriverMySQL} {
		t.Run(engine, func(t *testing.T) {
			var db *sqldb.DB
			if engine == sqldb.DriverMySQL {
				db = sqldbtest.OpenConfig(t, sqldbtest.MySQLConfig(t, 1, 2))
			} else {
				db = sqldbtest.OpenSQLite(t)
			}
			records, credits := awarddb.New(db), creditdb.New(db)
			want := time.Duration(0)
			if engine == sqldb.DriverMySQL {
				want = awarddb.DefaultCreditPace
			}
			for _, c := range []struct {
				opt  time.Duration
				want time.Duration
			}{{0, want}, {-1, 0}, {5 * time.Millisecond, 5 * time.Millisecond}} {
				d := awarddb.NewDeliveries(db, records, credits, awarddb.WithCreditPace(c.opt))
				if got := d.CreditPace(0); got != c.want {
					t.Errorf("WithCreditPace(%v): pace %v, want %v", c.opt, got, c.want)
				}
			}
		})
	}
}
