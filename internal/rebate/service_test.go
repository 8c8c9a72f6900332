package rebate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/rebatedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

var shanghai = mustZone("Asia/Shanghai")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// recorder is a relay that records the tasks handed to it.
type recorder struct {
	mu    sync.Mutex
	tasks []outbox.Task
}

func (r *recorder) Enqueue(t outbox.Task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks = append(r.tasks, t)
}

func (r *recorder) all() []outbox.Task {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]outbox.Task(nil), r.tasks...)
}

// demoRules are the demo campaign's open rules.
var demoRules = map[string][]rebate.Rule{
	rebate.BehaviorSign: {
		{ID: 1, Behavior: rebate.BehaviorSign, Type: rebate.TypeIntegral, Config: "10", Desc: "签到返利-积分", State: rebate.StateOpen},
		{ID: 2, Behavior: rebate.BehaviorSign, Type: rebate.TypeSKU, Config: "9901", Desc: "签到返利-sku额度", State: rebate.StateOpen},
	},
	"openai_pay": {
		{ID: 3, Behavior: "openai_pay", Type: rebate.TypeIntegral, Config: "10", Desc: "支付返利-积分", State: rebate.StateOpen},
		{ID: 4, Behavior: "openai_pay", Type: rebate.TypeSKU, Config: "9901", Desc: "支付返利-sku额度", State: rebate.StateOpen},
	},
}

type fixture struct {
	svc   *rebate.Service
	store *rebatedb.Store
	tasks *outboxdb.Store
	clock *clock
	relay *recorder
}

func newFixture(db *sqldb.DB, rules map[string][]rebate.Rule, at time.Time) *fixture {
	f := &fixture{store: rebatedb.New(db), tasks: outboxdb.New(db), clock: &clock{t: at}, relay: &recorder{}}
	f.svc = rebate.NewService(rebate.Config{
		Store:    f.store,
		Relay:    f.relay,
		Rules:    func(b string) []rebate.Rule { return rules[b] },
		Location: func() *time.Location { return shanghai },
		Now:      f.clock.Now,
	})
	return f
}

func (f *fixture) orders(t *testing.T, user string) []rebate.Order {
	t.Helper()
	got, err := f.svc.Orders(context.Background(), user, 0)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *fixture) taskCount(t *testing.T) int64 {
	t.Helper()
	c, err := f.tasks.CountByState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, v := range c {
		n += v
	}
	return n
}

func (f *fixture) signedIn(t *testing.T, user string) bool {
	t.Helper()
	ok, err := f.svc.IsSignedIn(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// day returns 10:00 of the given day in Shanghai.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, shanghai) }

func TestSignInOncePerDay(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f, ctx := newFixture(db, demoRules, day(2023, 11, 14)), context.Background()
		if f.signedIn(t, "alice") {
			t.Fatal("signed in before signing in")
		}
		orders, err := f.svc.SignIn(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(orders) != 2 {
			t.Fatalf("SignIn made %d orders, want 2", len(orders))
		}
		wantBiz := map[string]rebate.Type{"alice_integral_20231114": rebate.TypeIntegral, "alice_sku_20231114": rebate.TypeSKU}
		for _, o := range orders {
			if wantBiz[o.BizID] != o.Type || o.OutBusinessNo != "20231114" || o.Behavior != rebate.BehaviorSign ||
				o.State != rebate.OrderCreate || o.OrderID == "" {
				t.Fatalf("order %+v", o)
			}
		}
		// Each enqueued task announces one stored order.
		tasks := f.relay.all()
		if len(tasks) != 2 {
			t.Fatalf("%d tasks enqueued, want 2", len(tasks))
		}
		for i, tk := range tasks {
			var sr rebate.SendRebate
			if _, _, err := bus.DecodeEnvelope(tk.Body, &sr); err != nil {
				t.Fatal(err)
			}
			o := orders[i]
			want := rebate.SendRebate{UserID: "alice", Behavior: rebate.BehaviorSign, Type: o.Type, Config: o.Config,
				BizID: o.BizID, OrderID: o.OrderID}
			if sr != want || tk.Topic != outbox.TopicSendRebate || tk.UserID != "alice" {
				t.Fatalf("task %d: topic %s data %+v, want %+v", i, tk.Topic, sr, want)
			}
			if _, _, err := f.tasks.Get(ctx, tk.MessageID); err != nil {
				t.Fatalf("enqueued task not stored: %v", err)
			}
		}
		if !f.signedIn(t, "alice") || f.signedIn(t, "bob") {
			t.Fatal("IsSignedIn: want alice true, bob false")
		}

		// The same day again, even a second before midnight: duplicate, nothing more.
		f.clock.Set(time.Date(2023, 11, 14, 23, 59, 59, 0, shanghai))
		if _, err := f.svc.SignIn(ctx, "alice"); !errors.Is(err, rebate.ErrDuplicate) {
			t.Fatalf("second sign-in the same day: %v, want ErrDuplicate", err)
		}
		if n := len(f.orders(t, "alice")); n != 2 {
			t.Fatalf("%d orders after the duplicate, want 2", n)
		}
		if n := f.taskCount(t); n != 2 {
			t.Fatalf("%d tasks stored after the duplicate, want 2", n)
		}
		if n := len(f.relay.all()); n != 2 {
			t.Fatalf("%d tasks enqueued after the duplicate, want 2", n)
		}

		// Next day in Shanghai (still the 14th in UTC): a new sign-in.
		f.clock.Set(time.Date(2023, 11, 15, 0, 0, 1, 0, shanghai))
		if f.signedIn(t, "alice") {
			t.Fatal("signed in on a new day before signing in")
		}
		orders, err = f.svc.SignIn(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if orders[0].OutBusinessNo != "20231115" {
			t.Fatalf("next day's business number %q", orders[0].OutBusinessNo)
		}
		if !f.signedIn(t, "alice") {
			t.Fatal("not signed in after the next day's sign-in")
		}
		if n := len(f.orders(t, "alice")); n != 4 {
			t.Fatalf("%d orders after two days, want 4", n)
		}
		if n := f.taskCount(t); n != 4 {
			t.Fatalf("%d tasks after two days, want 4", n)
		}
	})
}

func TestConcurrentSignInsOneWins(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f, ctx := newFixture(db, demoRules, day(2023, 11, 14)), context.Background()
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = f.svc.SignIn(ctx, "alice")
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, rebate.ErrDuplicate):
				t.Fatalf("concurrent sign-in: %v, want success or ErrDuplicate", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d sign-ins succeeded, want exactly 1", won)
		}
		if got := len(f.orders(t, "alice")); got != 2 {
			t.Fatalf("%d orders stored, want 2", got)
		}
		if got := f.taskCount(t); got != 2 {
			t.Fatalf("%d tasks stored, want 2", got)
		}
		if got := len(f.relay.all()); got != 2 {
			t.Fatalf("%d tasks enqueued, want 2", got)
		}
	})
}

func TestPartnerRebate(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f, ctx := newFixture(db, demoRules, day(2023, 11, 14)), context.Background()
		orders, err := f.svc.Rebate(ctx, "alice", "openai_pay", "pay-0001")
		if err != nil {
			t.Fatal(err)
		}
		if len(orders) != 2 || orders[0].BizID != "alice_integral_pay-0001" || orders[1].BizID != "alice_sku_pay-0001" {
			t.Fatalf("orders %+v", orders)
		}
		if _, err := f.svc.Rebate(ctx, "alice", "openai_pay", "pay-0001"); !errors.Is(err, rebate.ErrDuplicate) {
			t.Fatalf("the same paid order again: %v, want ErrDuplicate", err)
		}
		if _, err := f.svc.Rebate(ctx, "alice", "openai_pay", "pay-0002"); err != nil {
			t.Fatalf("another paid order: %v", err)
		}
		// A paid order is not a sign-in, even with today's date as its number.
		if _, err := f.svc.Rebate(ctx, "bob", "openai_pay", "20231114"); err != nil {
			t.Fatal(err)
		}
		if f.signedIn(t, "bob") {
			t.Fatal("a paid-order rebate counted as a sign-in")
		}
	})
}

func TestRebateRefusals(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		rules := map[string][]rebate.Rule{
			rebate.BehaviorSign: demoRules[rebate.BehaviorSign],
			"twice": {
				{ID: 5, Behavior: "twice", Type: rebate.TypeIntegral, Config: "1", State: rebate.StateOpen},
				{ID: 6, Behavior: "twice", Type: rebate.TypeIntegral, Config: "2", State: rebate.StateOpen},
			},
			"odd": {{ID: 7, Behavior: "odd", Type: "coupon", Config: "1", State: rebate.StateOpen}},
		}
		f, ctx := newFixture(db, rules, day(2023, 11, 14)), context.Background()
		long := strings.Repeat("u", 60) // within the user column, but the biz id is over 64
		for _, c := range []struct {
			name, user, behavior, obn string
			want                      error
		}{
			{"no rule", "alice", "unknown", "x1", rebate.ErrNoRebate},
			{"empty user", "", rebate.BehaviorSign, "x1", rebate.ErrInvalid},
			{"empty behaviour", "alice", "", "x1", rebate.ErrInvalid},
			{"empty number", "alice", rebate.BehaviorSign, "", rebate.ErrInvalid},
			{"number too long", "alice", rebate.BehaviorSign, strings.Repeat("9", 65), rebate.ErrInvalid},
			{"biz id too long", long, rebate.BehaviorSign, "20231114", rebate.ErrInvalid},
			{"two rules of a type", "alice", "twice", "x1", rebate.ErrBadRule},
			{"unknown type", "alice", "odd", "x1", rebate.ErrBadRule},
		} {
			if _, err := f.svc.Rebate(ctx, c.user, c.behavior, c.obn); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if _, err := f.svc.IsSignedIn(ctx, ""); !errors.Is(err, rebate.ErrInvalid) {
			t.Errorf("IsSignedIn(\"\"): %v, want ErrInvalid", err)
		}
		if n := f.taskCount(t); n != 0 || len(f.relay.all()) != 0 {
			t.Fatalf("refusals stored %d tasks and enqueued %d", n, len(f.relay.all()))
		}
		if n := len(f.orders(t, "alice")) + len(f.orders(t, long)); n != 0 {
			t.Fatalf("refusals stored %d orders", n)
		}
	})
}

// failingStore fails every Create after running nothing.
type failingStore struct{ rebate.Storer }

var errStoreDown = errors.New("test store down")

func (failingStore) Create(context.Context, []rebate.Order, []outbox.Task) error { return errStoreDown }

func TestNothingEnqueuedWithoutCommit(t *testing.T) {
	relay := &recorder{}
	svc := rebate.NewService(rebate.Config{
		Store: failingStore{},
		Relay: relay,
		Rules: func(b string) []rebate.Rule { return demoRules[b] },
	})
	if _, err := svc.SignIn(context.Background(), "alice"); !errors.Is(err, errStoreDown) {
		t.Fatalf("SignIn on a failing store: %v", err)
	}
	if n := len(relay.all()); n != 0 {
		t.Fatalf("%d tasks enqueued although nothing committed", n)
	}
}

func TestSignOutBusinessNo(t *testing.T) {
	utcLate := time.Date(2023, 11, 14, 23, 30, 0, 0, time.UTC) // 07:30 on the 15th in Shanghai
	for _, c := range []struct {
		loc  *time.Location
		want string
	}{
		{time.UTC, "20231114"},
		{shanghai, "20231115"},
		{mustZone("America/Los_Angeles"), "20231114"},
	} {
		if got := rebate.SignOutBusinessNo(utcLate, c.loc); got != c.want {
			t.Errorf("SignOutBusinessNo(%s) = %s, want %s", c.loc, got, c.want)
		}
	}
	if got, want := rebate.SignOutBusinessNo(utcLate, nil), utcLate.In(time.Local).Format("20060102"); got != want {
		t.Errorf("SignOutBusinessNo(nil) = %s, want the local day %s", got, want)
	}
	if got := rebate.BizID("xiaofuge", rebate.TypeSKU, "20240101"); got != "xiaofuge_sku_20240101" {
		t.Errorf("BizID = %s", got)
	}
}
