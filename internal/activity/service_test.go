package activity_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/fencedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

var (
	now     = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	openAct = activity.Activity{ID: 100301, Name: "test activity", StrategyID: 100006, State: activity.StateOpen,
		Begin: now.AddDate(0, 0, -1), End: now.AddDate(0, 1, 0)}
	count = activity.Count{ID: 11103, Total: 5, Day: 4, Month: 3}
)

// counterStore is the counter API the tests need (Delete included).
type counterStore interface {
	activity.Counter
	Delete(ctx context.Context, keys ...string) error
}

// forEachSetup runs fn on every engine with every counter implementation.
func forEachSetup(t *testing.T, fn func(t *testing.T, db *sqldb.DB, c counterStore)) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		t.Run("memory", func(t *testing.T) { fn(t, db, counter.NewMemory()) })
		t.Run("redis", func(t *testing.T) {
			client, prefix := redisxtest.New(t)
			fn(t, db, counter.NewRedis(client, prefix))
		})
	})
}

type svcFixture struct {
	t     *testing.T
	db    *sqldb.DB
	store *activitydb.Store
	c     counterStore
	svc   *activity.Service
	relay *relayRecorder
}

// relayRecorder is an activity.Relay that keeps the tasks it is given.
type relayRecorder struct {
	mu    sync.Mutex
	tasks []outbox.Task
}

func (r *relayRecorder) Enqueue(t outbox.Task) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tasks = append(r.tasks, t)
}

func newSvcFixture(t *testing.T, db *sqldb.DB, c counterStore) *svcFixture {
	f := &svcFixture{t: t, db: db, store: activitydb.New(db), c: c, relay: &relayRecorder{}}
	ids := idgen.New(nil)
	f.svc = activity.NewService(activity.Config{
		Store:    f.store,
		Counter:  c,
		Fence:    fencedb.New(db),
		Relay:    f.relay,
		Now:      func() time.Time { return now },
		NewID:    ids.Next,
		Location: func() *time.Location { return time.UTC },
	})
	return f
}

// zeroReports returns how many activity_sku_stock_zero outbox tasks of sku are
// stored (on every shard), after checking that the relay was handed as many.
func (f *svcFixture) zeroReports(sku int64) int64 {
	f.t.Helper()
	var stored int64
	for i := range f.db.Shards() {
		rows, err := f.db.Shard(i).Read().QueryContext(context.Background(), `SELECT message FROM task WHERE topic = ?`, outbox.TopicSKUStockZero)
		if err != nil {
			f.t.Fatal(err)
		}
		for rows.Next() {
			var msg string
			if err := rows.Scan(&msg); err != nil {
				f.t.Fatal(err)
			}
			var ev activity.StockZeroEvent
			if _, _, err := bus.DecodeEnvelope([]byte(msg), &ev); err != nil {
				f.t.Fatalf("stock-zero task %s: %v", msg, err)
			}
			if ev.SKU == sku {
				stored++
			}
		}
		if err := rows.Err(); err != nil {
			f.t.Fatal(err)
		}
		rows.Close()
	}
	f.relay.mu.Lock()
	defer f.relay.mu.Unlock()
	var relayed int64
	for _, tk := range f.relay.tasks {
		if tk.Topic == outbox.TopicSKUStockZero && strings.Contains(string(tk.Body), fmt.Sprintf(`"sku":%d}`, sku)) {
			relayed++
		}
	}
	if relayed != stored {
		f.t.Fatalf("stock-zero of sku %d: %d tasks stored, %d handed to the relay", sku, stored, relayed)
	}
	return stored
}

// newSKU stores a SKU of openAct with stock units (a unique SKU number per test,
// since engines are shared by subtests) and returns it.
func (f *svcFixture) newSKU(sku, stock int64) activity.SKU {
	f.t.Helper()
	_, err := f.db.Config().Write().ExecContext(context.Background(), `INSERT INTO raffle_activity_sku (sku, activity_id,
		activity_count_id, stock_count, stock_count_surplus, product_amount, create_time, update_time)
		VALUES (?, ?, ?, ?, ?, ?, 0, 0)`, sku, openAct.ID, count.ID, stock, stock, int64(2000))
	if err != nil {
		f.t.Fatalf("insert sku %d: %v", sku, err)
	}
	return activity.SKU{SKU: sku, ActivityID: openAct.ID, CountID: count.ID, Stock: stock, Surplus: stock, Price: money.FromInt(20)}
}

func (f *svcFixture) dbSurplus(sku int64) int64 {
	f.t.Helper()
	var n int64
	err := f.db.Config().Read().QueryRowContext(context.Background(), `SELECT stock_count_surplus FROM raffle_activity_sku WHERE sku = ?`, sku).Scan(&n)
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *svcFixture) counterValue(sku int64) int64 {
	f.t.Helper()
	n, ok, err := f.c.Get(context.Background(), activity.SKUStockKey(sku))
	if err != nil || !ok {
		f.t.Fatalf("counter of sku %d: %d, %v, %v", sku, n, ok, err)
	}
	return n
}

func (f *svcFixture) order(user, biz string, sku activity.SKU, trade activity.TradeType) (activity.QuotaOrder, error) {
	req := activity.SKUOrderRequest{UserID: user, SKU: sku.SKU, OutBusinessNo: biz, Trade: trade}
	return f.svc.CreateSKUOrder(context.Background(), req, sku, openAct, count)
}

func TestSKUStockNeverOversells(t *testing.T) {
	forEachSetup(t, func(t *testing.T, db *sqldb.DB, c counterStore) {
		f := newSvcFixture(t, db, c)
		ctx := context.Background()
		sku := f.newSKU(testsvcSKU(t), 50)
		const n = 200
		var (
			wg       sync.WaitGroup
			ok, out  atomic.Int64
			mu       sync.Mutex
			otherErr []error
			winners  sync.Map
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				user := fmt.Sprintf("sku-%d-u-%03d", sku.SKU, i)
				o, err := f.order(user, fmt.Sprintf("sku-%d-biz-%03d", sku.SKU, i), sku, activity.TradeRebate)
				switch {
				case err == nil:
					ok.Add(1)
					winners.Store(user, o)
				case errors.Is(err, activity.ErrSKUStockOut):
					out.Add(1)
				default:
					mu.Lock()
					otherErr = append(otherErr, err)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		for _, err := range otherErr {
			t.Errorf("unexpected error: %v", err)
		}
		if ok.Load() != 50 || out.Load() != n-50 {
			t.Fatalf("%d orders, %d stock out; want 50 and %d", ok.Load(), out.Load(), n-50)
		}
		if got := f.zeroReports(sku.SKU); got != 1 {
			t.Fatalf("stock-zero reported %d times, want 1", got)
		}
		if got, err := f.store.CountSKUOrders(ctx, sku.SKU); err != nil || got != 50 {
			t.Fatalf("CountSKUOrders = %d, %v; want 50", got, err)
		}
		if got := f.counterValue(sku.SKU); got != 50 {
			t.Fatalf("counter = %d, want 50", got)
		}
		if left, err := f.svc.SKUStockLeft(ctx, sku); err != nil || left != 0 {
			t.Fatalf("SKUStockLeft = %d, %v; want 0", left, err)
		}
		// Each winner got the count, completed.
		winners.Range(func(k, v any) bool {
			o := v.(activity.QuotaOrder)
			if o.State != activity.QuotaOrderCompleted || o.Total != count.Total || o.SKU != sku.SKU {
				t.Errorf("order %+v", o)
			}
			a, err := f.svc.Account(ctx, k.(string), openAct.ID)
			want := activity.Account{TotalCount: 5, TotalSurplus: 5, DayCount: 4, DaySurplus: 4, MonthCount: 3, MonthSurplus: 3}
			if err != nil || a != want {
				t.Errorf("account %s = %+v, %v; want %+v", k, a, err, want)
			}
			return true
		})
		// The database surplus follows in one batch.
		if err := f.svc.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if got := f.dbSurplus(sku.SKU); got != 0 {
			t.Fatalf("database surplus after flush = %d, want 0", got)
		}
		if err := f.svc.Flush(ctx); err != nil || f.dbSurplus(sku.SKU) != 0 {
			t.Fatalf("second flush: %v", err)
		}
	})
}

// skuSeq hands out SKU numbers unique within the test binary, since subtests
// share databases.
var skuSeq atomic.Int64

func testsvcSKU(t *testing.T) int64 { t.Helper(); return 9000 + skuSeq.Add(1) }

func TestSKUOrderRules(t *testing.T) {
	forEachSetup(t, func(t *testing.T, db *sqldb.DB, c counterStore) {
		ctx := context.Background()

		t.Run("duplicate out_business_no changes nothing", func(t *testing.T) {
			f := newSvcFixture(t, db, c)
			sku := f.newSKU(testsvcSKU(t), 10)
			user := fmt.Sprintf("dup-user-%d", sku.SKU)
			first, err := f.order(user, fmt.Sprintf("dup-%d", sku.SKU), sku, activity.TradeRebate)
			if err != nil {
				t.Fatal(err)
			}
			again, err := f.order(user, fmt.Sprintf("dup-%d", sku.SKU), sku, activity.TradeRebate)
			if !errors.Is(err, activity.ErrDuplicate) || again.OrderID != first.OrderID {
				t.Fatalf("second order: %+v, %v; want the first order and ErrDuplicate", again, err)
			}
			if got := f.counterValue(sku.SKU); got != 1 {
				t.Fatalf("counter = %d, want 1", got)
			}
			a, _ := f.svc.Account(ctx, user, openAct.ID)
			if a.TotalCount != count.Total {
				t.Fatalf("account %+v, want total %d", a, count.Total)
			}
		})

		t.Run("activity closed or out of date", func(t *testing.T) {
			f := newSvcFixture(t, db, c)
			sku := f.newSKU(testsvcSKU(t), 10)
			closed := openAct
			closed.State = activity.StateClose
			req := activity.SKUOrderRequest{UserID: "u-closed", SKU: sku.SKU, OutBusinessNo: fmt.Sprintf("closed-%d", sku.SKU), Trade: activity.TradeRebate}
			if _, err := f.svc.CreateSKUOrder(ctx, req, sku, closed, count); !errors.Is(err, activity.ErrNotOpen) {
				t.Fatalf("closed: err = %v, want ErrNotOpen", err)
			}
			late := openAct
			late.End = now.Add(-time.Second)
			if _, err := f.svc.CreateSKUOrder(ctx, req, sku, late, count); !errors.Is(err, activity.ErrNotInDate) {
				t.Fatalf("ended: err = %v, want ErrNotInDate", err)
			}
			if _, ok, _ := c.Get(ctx, activity.SKUStockKey(sku.SKU)); ok {
				t.Fatal("stock counter touched by a refused order")
			}
			if _, err := f.store.QuotaOrder(ctx, "u-closed", req.OutBusinessNo); !errors.Is(err, activity.ErrOrderNotFound) {
				t.Fatalf("order stored: %v", err)
			}
		})

		t.Run("bad requests", func(t *testing.T) {
			f := newSvcFixture(t, db, c)
			sku := f.newSKU(testsvcSKU(t), 10)
			if _, err := f.order("", "x", sku, activity.TradeRebate); !errors.Is(err, activity.ErrInvalid) {
				t.Fatalf("no user: %v", err)
			}
			if _, err := f.order("u", "x", sku, "gift"); !errors.Is(err, activity.ErrInvalid) {
				t.Fatalf("bad trade: %v", err)
			}
			other := sku
			other.ActivityID = 1
			req := activity.SKUOrderRequest{UserID: "u", SKU: sku.SKU, OutBusinessNo: "x", Trade: activity.TradeRebate}
			if _, err := f.svc.CreateSKUOrder(ctx, req, other, openAct, count); !errors.Is(err, activity.ErrUnknownSKU) {
				t.Fatalf("sku of another activity: %v", err)
			}
		})

		t.Run("counter rebuilt from orders after a cache loss", func(t *testing.T) {
			f := newSvcFixture(t, db, c)
			sku := f.newSKU(testsvcSKU(t), 10)
			for i := range 3 {
				if _, err := f.order(fmt.Sprintf("rb-%d", i), fmt.Sprintf("rb-%d-%d", sku.SKU, i), sku, activity.TradeRebate); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.order("rb-credit", fmt.Sprintf("rb-%d-credit", sku.SKU), sku, activity.TradeCredit); err != nil {
				t.Fatal(err)
			}
			if err := c.Delete(ctx, activity.SKUStockKey(sku.SKU)); err != nil {
				t.Fatal(err)
			}
			if left, err := f.svc.SKUStockLeft(ctx, sku); err != nil || left != 6 {
				t.Fatalf("SKUStockLeft after loss = %d, %v; want 6 (from the 4 orders)", left, err)
			}
			if _, err := f.order("rb-4", fmt.Sprintf("rb-%d-4", sku.SKU), sku, activity.TradeRebate); err != nil {
				t.Fatal(err)
			}
			orders, err := f.store.CountSKUOrders(ctx, sku.SKU)
			if err != nil || orders != 5 {
				t.Fatalf("CountSKUOrders = %d, %v; want 5", orders, err)
			}
			if got := f.counterValue(sku.SKU); got != orders {
				t.Fatalf("rebuilt counter = %d, want %d orders", got, orders)
			}
		})

		t.Run("credit order waits for payment", func(t *testing.T) {
			f := newSvcFixture(t, db, c)
			sku := f.newSKU(testsvcSKU(t), 10)
			biz := fmt.Sprintf("credit-%d", sku.SKU)
			user := fmt.Sprintf("u-credit-%d", sku.SKU)
			o, err := f.order(user, biz, sku, activity.TradeCredit)
			if err != nil || o.State != activity.QuotaOrderWaitPay || o.PayAmount != sku.Price {
				t.Fatalf("credit order %+v, %v; want wait_pay at the SKU price", o, err)
			}
			if a, _ := f.svc.Account(ctx, user, openAct.ID); a != (activity.Account{}) {
				t.Fatalf("account before payment %+v, want zero", a)
			}
			for range 2 {
				if err := f.svc.CompleteQuotaOrder(ctx, user, biz); err != nil {
					t.Fatal(err)
				}
			}
			if a, _ := f.svc.Account(ctx, user, openAct.ID); a.TotalCount != count.Total || a.TotalSurplus != count.Total {
				t.Fatalf("account after payment %+v, want total %d once", a, count.Total)
			}
			if n, _ := f.svc.TotalDraws(ctx, user, openAct.ID); n != 0 {
				t.Fatalf("TotalDraws = %d", n)
			}
		})

		t.Run("stock zero stored as an outbox task once per stock", func(t *testing.T) {
			f := newSvcFixture(t, db, c)
			sku := f.newSKU(testsvcSKU(t), 1)
			if _, err := f.order("z-1", fmt.Sprintf("z-%d-1", sku.SKU), sku, activity.TradeRebate); err != nil {
				t.Fatal(err)
			}
			if _, err := f.order("z-2", fmt.Sprintf("z-%d-2", sku.SKU), sku, activity.TradeRebate); !errors.Is(err, activity.ErrSKUStockOut) {
				t.Fatalf("second order: %v, want ErrSKUStockOut", err)
			}
			if got := f.zeroReports(sku.SKU); got != 1 {
				t.Fatalf("reports = %d, want 1", got)
			}
			// The operator raises the stock: selling out again is news again.
			sku.Stock = 2
			if _, err := f.order("z-3", fmt.Sprintf("z-%d-3", sku.SKU), sku, activity.TradeRebate); err != nil {
				t.Fatal(err)
			}
			if got := f.zeroReports(sku.SKU); got != 2 {
				t.Fatalf("reports = %d, want 2", got)
			}
		})
	})
}

func TestGrantService(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newSvcFixture(t, db, counter.NewMemory())
		closed := openAct
		closed.State = activity.StateCreate
		g := activity.Grant{ID: "svc-g1", UserID: "svc-u1", ActivityID: openAct.ID, Total: 3, Day: 2, Month: 3}
		for range 2 {
			if err := f.svc.ApplyGrant(ctx, g, closed); err != nil {
				t.Fatalf("grant on an activity not open yet: %v", err)
			}
		}
		if a, _ := f.svc.Account(ctx, "svc-u1", openAct.ID); a.TotalCount != 3 || a.DayCount != 2 {
			t.Fatalf("account %+v after the grant applied twice", a)
		}
		other := openAct
		other.ID = 7
		if err := f.svc.ApplyGrant(ctx, g, other); !errors.Is(err, activity.ErrUnknownActivity) {
			t.Fatalf("grant with another activity: %v", err)
		}

		for _, row := range []struct {
			id       string
			activity int64
		}{{"svc-p1", openAct.ID}, {"svc-p2", openAct.ID}, {"svc-p3", 999}} {
			_, err := db.Config().Write().ExecContext(ctx, `INSERT INTO quota_grant (grant_id, user_id, activity_id, total_count,
				day_count, month_count, state, create_time, update_time) VALUES (?, ?, ?, 2, 2, 2, 'pending', 0, 0)`, row.id, "u-"+row.id, row.activity)
			if err != nil {
				t.Fatal(err)
			}
		}
		lookup := func(id int64) (activity.Activity, bool) { return openAct, id == openAct.ID }
		n, err := f.svc.ApplyPendingGrants(ctx, lookup)
		if n != 2 || !errors.Is(err, activity.ErrUnknownActivity) {
			t.Fatalf("ApplyPendingGrants = %d, %v; want 2 and the unknown activity", n, err)
		}
		pending, _ := f.store.PendingGrants(ctx)
		if len(pending) != 1 || pending[0].ID != "svc-p3" {
			t.Fatalf("pending after apply: %+v", pending)
		}
		for _, u := range []string{"u-svc-p1", "u-svc-p2"} {
			if a, _ := f.svc.Account(ctx, u, openAct.ID); a.TotalCount != 2 {
				t.Fatalf("account %s = %+v", u, a)
			}
		}
		if n, err := f.svc.ApplyPendingGrants(ctx, lookup); n != 0 || !errors.Is(err, activity.ErrUnknownActivity) {
			t.Fatalf("second run = %d, %v", n, err)
		}
	})
}
