package exchange_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/exchange"
	"github.com/bigmarket/bigmarket/internal/exchange/exchangedb"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

var (
	t0        = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	openAct   = activity.Activity{ID: 100301, Name: "open", StrategyID: 100006, State: activity.StateOpen}
	closedAct = activity.Activity{ID: 100302, Name: "closed", StrategyID: 100007, State: activity.StateClose}
	endedAct  = activity.Activity{ID: 100303, Name: "ended", StrategyID: 100008, State: activity.StateOpen,
		Begin: t0.AddDate(0, -2, 0), End: t0.AddDate(0, -1, 0)}
	pkg   = activity.Count{ID: 11101, Total: 10, Day: 3, Month: 6}
	price = money.FromCents(250)
)

// SKUs of the test catalog.
const (
	skuPaid   int64 = 9011 // price 2.50, stock 100
	skuClosed int64 = 9012 // of the closed activity
	skuEnded  int64 = 9013 // of the ended activity
	skuFree   int64 = 9014 // price 0
	skuScarce int64 = 9015 // price 2.50, stock 2
	skuPaid2  int64 = 9016 // as skuPaid
)

func snapshot() *catalog.Snapshot {
	sku := func(id, act, stock int64, p money.Amount) activity.SKU {
		return activity.SKU{SKU: id, ActivityID: act, CountID: pkg.ID, Stock: stock, Surplus: stock, Price: p}
	}
	return &catalog.Snapshot{
		Activities: map[int64]activity.Activity{openAct.ID: openAct, closedAct.ID: closedAct, endedAct.ID: endedAct},
		Counts:     map[int64]activity.Count{pkg.ID: pkg},
		SKUs: map[int64]activity.SKU{
			skuPaid:   sku(skuPaid, openAct.ID, 100, price),
			skuClosed: sku(skuClosed, closedAct.ID, 100, price),
			skuEnded:  sku(skuEnded, endedAct.ID, 100, price),
			skuFree:   sku(skuFree, openAct.ID, 100, money.Amount{}),
			skuScarce: sku(skuScarce, openAct.ID, 2, price),
			skuPaid2:  sku(skuPaid2, openAct.ID, 100, price),
		},
	}
}

// stockCounter is the counter API the tests need: what activity takes with and
// what exchange gives back with.
type stockCounter interface {
	activity.Counter
	exchange.StockReleaser
}

// clock is a settable test clock.
type clock struct{ ms atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.ms.Store(t.UnixMilli()); return c }
func (c *clock) Now() time.Time      { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *clock) Add(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// capture is an Enqueuer that keeps the tasks handed to it.
type capture struct {
	mu    sync.Mutex
	tasks []outbox.Task
}

func (c *capture) Enqueue(t outbox.Task) { c.mu.Lock(); c.tasks = append(c.tasks, t); c.mu.Unlock() }
func (c *capture) all() []outbox.Task {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]outbox.Task(nil), c.tasks...)
}

var errBoom = errors.New("injected failure")

// flaky wraps the activity service; CompleteQuotaOrder fails while fail > 0
// (each failure uses one up) or forever when failAlways is set.
type flaky struct {
	*activity.Service
	fail       atomic.Int64
	failAlways atomic.Bool
	calls      atomic.Int64
}

func (f *flaky) CompleteQuotaOrder(ctx context.Context, userID, outBusinessNo string) error {
	f.calls.Add(1)
	if f.failAlways.Load() || f.fail.Add(-1) >= 0 {
		return errBoom
	}
	return f.Service.CompleteQuotaOrder(ctx, userID, outBusinessNo)
}

// fixture is one engine and one counter store with the services on top.
type fixture struct {
	t       *testing.T
	db      *sqldb.DB
	acts    *activitydb.Store
	credits *creditdb.Store
	tasks   *outboxdb.Store
	store   *exchangedb.Store
	stock   stockCounter
	clock   *clock
	ids     *idgen.Generator
	actSvc  *activity.Service
	act     *flaky // what the exchange service completes with
	relay   *capture
	snap    *catalog.Snapshot
	svc     *exchange.Service
}

func newFixture(t *testing.T, db *sqldb.DB, stock stockCounter) *fixture {
	f := &fixture{t: t, db: db, acts: activitydb.New(db), credits: creditdb.New(db), tasks: outboxdb.New(db),
		stock: stock, clock: newClock(t0), relay: &capture{}, snap: snapshot()}
	f.ids = idgen.New(f.clock.Now)
	f.store = exchangedb.New(db, f.credits, f.tasks)
	f.actSvc = activity.NewService(activity.Config{
		Store: f.acts, Counter: stock, Now: f.clock.Now, NewID: f.ids.Next,
		Location: func() *time.Location { return time.UTC },
	})
	f.act = &flaky{Service: f.actSvc}
	f.svc = f.service(nil)
	return f
}

// service returns an exchange service on f, changed by mod when not nil.
func (f *fixture) service(mod func(*exchange.Config)) *exchange.Service {
	cfg := exchange.Config{
		Catalog: func() *catalog.Snapshot { return f.snap }, Activity: f.act, Balances: f.credits,
		Store: f.store, Stock: f.stock, Relay: f.relay, Now: f.clock.Now, NewID: f.ids.Next,
	}
	if mod != nil {
		mod(&cfg)
	}
	return exchange.NewService(cfg)
}

func (f *fixture) consumer() *exchange.Consumer {
	c, err := exchange.NewConsumer(exchange.ConsumerConfig{Store: f.store, Activity: f.actSvc})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// forEachSetup runs fn on every engine (a fresh database per subtest: SKU
// counters are rebuilt from the stored orders) with the memory counter and,
// when withRedis, also with the Redis counter.
func forEachSetup(t *testing.T, withRedis bool, fn func(t *testing.T, f *fixture)) {
	engines := []struct {
		name string
		open func(testing.TB) *sqldb.DB
	}{{sqldb.DriverSQLite, sqldbtest.OpenSQLite}, {sqldb.DriverMySQL, sqldbtest.OpenMySQL}}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			t.Run("memory", func(t *testing.T) { fn(t, newFixture(t, e.open(t), counter.NewMemory())) })
			if withRedis {
				t.Run("redis", func(t *testing.T) {
					client, prefix := redisxtest.New(t)
					fn(t, newFixture(t, e.open(t), counter.NewRedis(client, prefix)))
				})
			}
		})
	}
}

// grant gives user credits with a forward order.
func (f *fixture) grant(user string, amount money.Amount) {
	f.t.Helper()
	err := f.credits.Apply(context.Background(), credit.Order{UserID: user, OrderID: f.ids.Next(), TradeName: credit.TradeRebate,
		TradeType: credit.Forward, Amount: amount, OutBusinessNo: "grant-" + f.ids.Next(), Time: f.clock.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) balance(user string) money.Amount {
	f.t.Helper()
	b, err := f.credits.Balance(context.Background(), user)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fixture) account(user string) activity.Account {
	f.t.Helper()
	day, month := f.actSvc.Periods(f.clock.Now())
	a, err := f.acts.Account(context.Background(), user, openAct.ID, day, month)
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// wantPackages fails unless user's account on openAct holds exactly n packages.
func (f *fixture) wantPackages(user string, n int64) {
	f.t.Helper()
	want := activity.Account{TotalCount: n * pkg.Total, TotalSurplus: n * pkg.Total, DayCount: n * pkg.Day,
		DaySurplus: n * pkg.Day, MonthCount: n * pkg.Month, MonthSurplus: n * pkg.Month}
	if got := f.account(user); got != want {
		f.t.Fatalf("account of %s = %+v, want %d packages %+v", user, got, n, want)
	}
}

// taken returns the SKU units the counter holds as taken (0 when missing).
func (f *fixture) taken(sku int64) int64 {
	f.t.Helper()
	n, _, err := f.stock.Get(context.Background(), activity.SKUStockKey(sku))
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) orders(user string) []activity.QuotaOrder {
	f.t.Helper()
	os, err := f.acts.QuotaOrdersByUser(context.Background(), user, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return os
}

// ledger returns user's credit orders by trade type.
func (f *fixture) ledger(user string) map[credit.TradeType]int {
	f.t.Helper()
	l, err := f.credits.Ledger(context.Background(), user, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[credit.TradeType]int{}
	for _, o := range l {
		out[o.TradeType]++
	}
	return out
}

// storedTasks returns the credit_adjust_success tasks stored for user.
func (f *fixture) storedTasks(user string) []outbox.Task {
	f.t.Helper()
	all, err := f.tasks.List(context.Background(), "", 0)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []outbox.Task
	for _, t := range all {
		if t.UserID == user && t.Topic == outbox.TopicCreditAdjustSuccess {
			out = append(out, t)
		}
	}
	return out
}
