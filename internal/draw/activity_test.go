package draw_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/draw"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/fencedb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/store/strategydb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// The doubles nopRelay, fixedCatalog and openSwitches are in breaker_test.go.

// pausingCounter holds the first successful take until released, so that the
// draw that made it stays in flight (its transaction open) as long as the test
// wants.
type pausingCounter struct {
	*counter.Redis
	once    sync.Once
	taken   chan struct{}
	release chan struct{}
}

func (c *pausingCounter) Acquire(ctx context.Context, key string, limit int64) (int64, bool, bool, error) {
	n, taken, missing, err := c.Redis.Acquire(ctx, key, limit)
	if taken {
		c.once.Do(func() {
			close(c.taken)
			<-c.release
		})
	}
	return n, taken, missing, err
}

// deletableCounter is a stock counter a test can wipe.
type deletableCounter interface {
	strategy.Counter
	Delete(ctx context.Context, keys ...string) error
}

// rig is a draw service on real stores with one strategy (award 102 of count
// stock under a rule_stock → luck award tree) and one open activity; users
// fu0…fu<users-1> hold 5 draws each.
type rig struct {
	svc *draw.ActivityService
	db  *sqldb.DB
	act activity.Activity
}

func newRig(t *testing.T, db *sqldb.DB, ctr deletableCounter, stock int64, users int) *rig {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	ids := idgen.New(nil)
	fences := fencedb.New(db)
	eng := strategy.NewEngine(strategy.Config{Counter: ctr, Store: strategydb.New(db), Fence: fences})
	tree := strategy.Tree{
		ID: "luck", Root: strategy.NodeStock,
		Nodes: []strategy.Node{{Key: strategy.NodeStock}, {Key: strategy.NodeLuckAward, Value: "101:1,100"}},
		Lines: []strategy.Line{{From: strategy.NodeStock, To: strategy.NodeLuckAward, When: strategy.Allow}},
	}
	st := strategy.Strategy{ID: 7001, Awards: []strategy.Award{{AwardID: 102, Title: "limited", Rate: strategy.RateScale, Count: stock, TreeID: "luck", Sort: 1}}}
	if err := eng.Arm([]strategy.Strategy{st}, []strategy.Tree{tree}); err != nil {
		t.Fatal(err)
	}
	act := activity.Activity{ID: 7101, Name: "fence", StrategyID: 7001, State: activity.StateOpen, Begin: now.Add(-time.Hour), End: now.Add(time.Hour)}
	snap := &catalog.Snapshot{
		Location:   time.UTC,
		Awards:     map[int64]award.Award{101: {ID: 101, Key: "user_credit_random", Config: "1,100"}, 102: {ID: 102, Key: "openai_use_count", Config: "5"}},
		Activities: map[int64]activity.Activity{act.ID: act},
	}
	activities := activitydb.New(db)
	svc := draw.NewActivityService(draw.ActivityConfig{
		Engine:   eng,
		Draws:    activities,
		Records:  awarddb.New(db),
		Tasks:    outboxdb.New(db),
		Relay:    nopRelay{},
		Catalog:  fixedCatalog{snap},
		Switches: openSwitches{},
		Fences:   fences,
		Timeout:  time.Minute,
		NewID:    ids.Next,
		Now:      time.Now,
	})
	day, month := activity.DayKey(now, time.UTC), activity.MonthKey(now, time.UTC)
	for i := range users {
		o := activity.QuotaOrder{UserID: fmt.Sprintf("fu%d", i), ActivityID: act.ID, StrategyID: act.StrategyID, OrderID: ids.Next(),
			OrderTime: now, Total: 5, Day: 5, Month: 5, State: activity.QuotaOrderCompleted, OutBusinessNo: ids.Next()}
		if err := activities.AddQuota(ctx, o, day, month); err != nil {
			t.Fatal(err)
		}
	}
	return &rig{svc: svc, db: db, act: act}
}

// recorded returns the award records of award 102 that took stock.
func (r *rig) recorded(t *testing.T) int64 {
	t.Helper()
	n, err := strategydb.New(r.db).CountTakes(context.Background(), 7001, 102)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDrawInFlightAcrossRebuild runs the interleaving of issue 7 (5) through
// real draws on MariaDB (2 × 4) and Redis: draw 1 takes the only unit of an
// award and stays in flight; the counter is wiped; draw 2 comes (its take finds
// the counter missing); draw 1 commits; then more draws. The award (count 1)
// must have at most one record. On the code before the fence the rebuild
// counted 0 records, draw 2 took a second unit and both committed.
func TestDrawInFlightAcrossRebuild(t *testing.T) {
	db := sqldbtest.OpenConfig(t, sqldbtest.MySQLConfig(t, 2, 4))
	rc, prefix := redisxtest.New(t)
	ctx := context.Background()
	ctr := &pausingCounter{Redis: counter.NewRedis(rc, prefix), taken: make(chan struct{}), release: make(chan struct{})}
	rg := newRig(t, db, ctr, 1, 8)
	svc, act := rg.svc, rg.act
	won := func(r draw.Result, err error) int {
		t.Helper()
		if err != nil {
			t.Fatalf("draw: %v", err)
		}
		if r.AwardID == 102 {
			return 1
		}
		return 0
	}

	first := make(chan int, 1)
	go func() {
		r, err := svc.Draw(ctx, "fu0", act.ID)
		first <- won(r, err)
	}()
	<-ctr.taken // draw 1 took the unit; its transaction is open
	if err := ctr.Delete(ctx, strategy.StockKey(7001, 102)); err != nil {
		t.Fatal(err)
	}
	second := make(chan int, 1)
	go func() {
		r, err := svc.Draw(ctx, "fu1", act.ID)
		second <- won(r, err)
	}()
	time.Sleep(300 * time.Millisecond) // draw 2 and the rebuild it triggers run as far as they can
	close(ctr.release)
	issued := <-first + <-second
	// Wait for the counter to be back (rebuilt by whoever got there).
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok, err := ctr.Get(ctx, strategy.StockKey(7001, 102)); err != nil {
			t.Fatal(err)
		} else if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the counter was never rebuilt")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 2; i < 8; i++ {
		issued += won(svc.Draw(ctx, fmt.Sprintf("fu%d", i), act.ID))
	}
	recorded := rg.recorded(t)
	t.Logf("award 102 answered %d times, %d records took stock (count 1)", issued, recorded)
	if issued > 1 || recorded > 1 {
		t.Fatalf("award of count 1 answered %d times, %d records took stock", issued, recorded)
	}
}

// TestDrawsWhileCountersWiped draws from 32 goroutines while another keeps
// deleting the award's counter (a cache loss under load), on SQLite with the
// in-process counter and on MariaDB (2 × 4) with Redis (only this test's keys):
// the award records that took stock never exceed the count.
func TestDrawsWhileCountersWiped(t *testing.T) {
	const stock, users, each = 100, 80, 5
	run := func(t *testing.T, db *sqldb.DB, ctr deletableCounter) {
		rg := newRig(t, db, ctr, stock, users)
		ctx := context.Background()
		stop, done := make(chan struct{}), make(chan struct{})
		wipes := 0
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				if _, ok, _ := ctr.Get(ctx, strategy.StockKey(7001, 102)); ok {
					if err := ctr.Delete(ctx, strategy.StockKey(7001, 102)); err != nil {
						t.Errorf("wipe: %v", err)
						return
					}
					wipes++
				}
			}
		}()
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			issued int
			failed = map[string]int{}
		)
		sem := make(chan struct{}, 32)
		for u := range users {
			for range each {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					r, err := rg.svc.Draw(ctx, fmt.Sprintf("fu%d", u), rg.act.ID)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						failed[err.Error()]++
					case r.AwardID == 102:
						issued++
					}
				})
			}
		}
		wg.Wait()
		close(stop)
		<-done
		recorded := rg.recorded(t)
		t.Logf("wipes %d; award 102 answered %d times, %d records (count %d); failed draws %v", wipes, issued, recorded, stock, failed)
		if wipes == 0 {
			t.Fatal("the counter was never wiped")
		}
		if issued > stock || recorded > stock {
			t.Fatalf("award of count %d: answered %d times, %d records took stock", stock, issued, recorded)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, sqldbtest.OpenSQLite(t), counter.NewMemory()) })
	t.Run("mysql", func(t *testing.T) {
		rc, prefix := redisxtest.New(t)
		run(t, sqldbtest.OpenConfig(t, sqldbtest.MySQLConfig(t, 2, 4)), counter.NewRedis(rc, prefix))
	})
}
