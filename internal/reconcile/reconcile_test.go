package reconcile_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/reconcile"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/rebatedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// clock is a settable clock shared by the deliverers, the stores' writes and
// the reconciler.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// keys are the award keys of the test configuration.
var keys = map[int64]award.Key{
	101: award.KeyCreditRandom,
	102: "hook_ok",
	103: "hook_down",
}

type fixture struct {
	clock    *clock
	records  *awarddb.Store
	credits  *creditdb.Store
	rebates  *rebatedb.Store
	rec      *reconcile.Reconciler
	okPosts  atomic.Int64
	outcomes map[string]int
	mu       sync.Mutex
}

func newFixture(t *testing.T, db *sqldb.DB) *fixture {
	t.Helper()
	f := &fixture{clock: &clock{now: time.UnixMilli(1_700_000_000_000)}, records: awarddb.New(db),
		credits: creditdb.New(db), rebates: rebatedb.New(db), outcomes: map[string]int{}}
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.okPosts.Add(1) }))
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "receiver broken", http.StatusInternalServerError)
	}))
	t.Cleanup(ok.Close)
	t.Cleanup(down.Close)
	d, err := award.NewDeliverer(award.DelivererConfig{
		Store: awarddb.NewDeliveries(db, f.records, f.credits),
		Webhooks: map[award.Key]award.WebhookConfig{
			"hook_ok":   {URL: ok.URL},
			"hook_down": {URL: down.URL},
		},
		WebhookAttempts: 1,
		ClaimTimeout:    2 * time.Minute,
		Now:             f.clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close(context.Background()) })
	rd, err := rebate.NewDeliverer(rebate.DelivererConfig{SKUs: noSKUs{}, Credits: f.credits, Orders: f.rebates, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.rec, err = reconcile.New(reconcile.Config{
		Awards:    f.records,
		Deliverer: d,
		AwardKey: func(id int64) (award.Key, bool) {
			k, ok := keys[id]
			return k, ok
		},
		ClaimTimeout:    d.ClaimTimeout(),
		Rebates:         f.rebates,
		RebateDeliverer: rd,
		Deadline:        time.Minute,
		MaxAttempts:     3,
		Now:             f.clock.Now,
		OnResult: func(kind string, out reconcile.Outcome) {
			f.mu.Lock()
			f.outcomes[kind+"/"+string(out)]++
			f.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// noSKUs refuses every SKU: sku rebates are rejected.
type noSKUs struct{}

func (noSKUs) CreateSKUOrder(context.Context, string, int64, string) error {
	return activity.ErrUnknownSKU
}

// stuck stores an award record in create, last changed at the clock's time.
func (f *fixture) stuck(t *testing.T, user, order string, awardID int64, config string) {
	t.Helper()
	err := f.records.Insert(context.Background(), award.Record{UserID: user, ActivityID: 100301, StrategyID: 100006,
		OrderID: order, AwardID: awardID, AwardTitle: "t", AwardConfig: config, State: award.RecordCreate, Time: f.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) get(t *testing.T, user, order string) award.Record {
	t.Helper()
	rec, err := f.records.Get(context.Background(), user, order)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (f *fixture) run(t *testing.T) reconcile.Result {
	t.Helper()
	res, err := f.rec.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestReconcileAwards(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		f.stuck(t, "alice", "o-credit", 101, "12.50")
		f.stuck(t, "bob", "o-hook", 102, "x")
		f.stuck(t, "carol", "o-down", 103, "x")
		f.stuck(t, "dave", "o-gone", 999, "x") // award removed from the configuration
		f.stuck(t, "erin", "o-claimed", 102, "x")
		if ok, _ := f.records.Claim(ctx, "erin", "o-claimed", "dead-process", f.clock.Now(), f.clock.Now()); !ok {
			t.Fatal("claim failed")
		}
		f.clock.Add(30 * time.Second)
		f.stuck(t, "frank", "o-young", 101, "1")

		// Within the deadline nothing is taken.
		if res := f.run(t); len(res) != 0 {
			t.Fatalf("records taken before their deadline: %v", res)
		}

		// Past it: credit and webhook records are delivered; the broken
		// webhook and the unknown award keep their error; the fresh claim
		// (90s old, timeout 2m) is left to its owner.
		f.clock.Add(time.Minute)
		res := f.run(t)
		if got := res[reconcile.KindAward]; got[reconcile.OutcomeRedelivered] != 2 || got[reconcile.OutcomeError] != 2 {
			t.Fatalf("first run: %v; want 2 redelivered, 2 errors", res)
		}
		if r := f.get(t, "alice", "o-credit"); r.State != award.RecordCompleted || r.Attempts != 1 {
			t.Fatalf("credit record %+v, want completed after 1 attempt", r)
		}
		if b, _ := f.credits.Balance(ctx, "alice"); b != money.FromCents(1250) {
			t.Fatalf("balance %s, want 12.50", b)
		}
		if r := f.get(t, "bob", "o-hook"); r.State != award.RecordCompleted || f.okPosts.Load() != 1 {
			t.Fatalf("webhook record %+v after %d posts, want completed after 1", r, f.okPosts.Load())
		}
		if r := f.get(t, "carol", "o-down"); r.State != award.RecordCreate || !strings.Contains(r.LastError, "500") {
			t.Fatalf("record of a broken webhook %+v, want create with its error", r)
		}
		if r := f.get(t, "dave", "o-gone"); !strings.Contains(r.LastError, "unknown to the configuration") {
			t.Fatalf("record of an unknown award %+v, want its error", r)
		}
		if r := f.get(t, "erin", "o-claimed"); r.State != award.RecordDelivering {
			t.Fatalf("claimed record %+v, want delivering (claim not timed out)", r)
		}

		// The stale claim is taken over once it times out; the failing records
		// use up their attempts and end failed with their last error.
		for range 4 {
			f.clock.Add(2 * time.Minute)
			f.run(t)
		}
		if r := f.get(t, "erin", "o-claimed"); r.State != award.RecordCompleted || f.okPosts.Load() != 2 {
			t.Fatalf("stale claim %+v after %d posts, want completed after 2", r, f.okPosts.Load())
		}
		down := f.get(t, "carol", "o-down")
		if down.State != award.RecordFailed || down.Attempts != 3 || !strings.Contains(down.LastError, "receiver broken") {
			t.Fatalf("record of a broken webhook %+v, want failed after 3 attempts with the receiver's answer", down)
		}
		if r := f.get(t, "dave", "o-gone"); r.State != award.RecordFailed || !strings.Contains(r.LastError, "unknown") {
			t.Fatalf("record of an unknown award %+v, want failed", r)
		}
		if r := f.get(t, "frank", "o-young"); r.State != award.RecordCompleted {
			t.Fatalf("young record %+v, want completed once past the deadline", r)
		}
		if f.outcomes["award/failed"] != 2 {
			t.Fatalf("outcomes %v, want 2 failed", f.outcomes)
		}
		// Failed records stay failed: the reconciler leaves them to an operator.
		f.clock.Add(time.Hour)
		if res := f.run(t); len(res) != 0 {
			t.Fatalf("failed records taken again: %v", res)
		}
	})
}

func TestReconcileRebates(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		mk := func(user, id string, typ rebate.Type, config string) rebate.Order {
			return rebate.Order{UserID: user, OrderID: id, Behavior: rebate.BehaviorSign, Type: typ, Config: config,
				OutBusinessNo: "20231114", BizID: rebate.BizID(user, typ, "20231114"), Time: f.clock.Now()}
		}
		credit := mk("gina", "r-credit", rebate.TypeIntegral, "5")
		sku := mk("hank", "r-sku", rebate.TypeSKU, "9011")
		for _, o := range []rebate.Order{credit, sku} {
			if err := f.rebates.Create(ctx, []rebate.Order{o}, nil); err != nil {
				t.Fatal(err)
			}
		}
		f.clock.Add(2 * time.Minute)
		res := f.run(t)
		if got := res[reconcile.KindRebate]; got[reconcile.OutcomeRedelivered] != 1 || got[reconcile.OutcomeFailed] != 1 {
			t.Fatalf("run: %v; want 1 redelivered, 1 failed", res)
		}
		if o, _ := f.rebates.Get(ctx, "gina", "r-credit"); o.State != rebate.OrderCompleted {
			t.Fatalf("integral rebate %+v, want completed", o)
		}
		if b, _ := f.credits.Balance(ctx, "gina"); b != money.FromInt(5) {
			t.Fatalf("balance %s, want 5.00", b)
		}
		o, err := f.rebates.Get(ctx, "hank", "r-sku")
		if err != nil || o.State != rebate.OrderFailed || !strings.Contains(o.LastError, "unknown sku") {
			t.Fatalf("rejected rebate %+v, %v; want failed with the refusal", o, err)
		}
		if _, err := f.rebates.Get(ctx, "hank", "none"); !errors.Is(err, rebate.ErrNotFound) {
			t.Fatalf("Get of an unknown order: %v", err)
		}
		// Delivered again (a second run after another deadline): nothing more.
		f.clock.Add(2 * time.Minute)
		if res := f.run(t); len(res) != 0 {
			t.Fatalf("finished orders taken again: %v", res)
		}
		if b, _ := f.credits.Balance(ctx, "gina"); b != money.FromInt(5) {
			t.Fatalf("balance %s after a second run, want 5.00", b)
		}
	})
}
