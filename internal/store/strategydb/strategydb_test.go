package strategydb_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/store/strategydb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

func TestCountTakesSumsEveryTable(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		records, s, ctx := awarddb.New(db), strategydb.New(db), context.Background()
		const users = 120
		want := map[[2]int64]int64{}
		perRoute := map[sqldb.Route]int64{}
		for i := 0; i < users; i++ {
			user := fmt.Sprintf("u%03d", i)
			for j, aw := range []int64{101, 102} {
				rec := award.Record{
					UserID: user, StrategyID: 100006, AwardID: aw, OrderID: fmt.Sprintf("%s-%d", user, j),
					StockTaken: (i+j)%3 != 0, State: award.RecordCreate, Time: time.UnixMilli(int64(i)),
				}
				if err := records.Insert(ctx, rec); err != nil {
					t.Fatal(err)
				}
				if rec.StockTaken {
					want[[2]int64{100006, aw}]++
					perRoute[db.Route(user)]++
				}
			}
			// Another strategy's takes of the same award never count.
			other := award.Record{UserID: user, StrategyID: 100001, AwardID: 101, OrderID: user + "-o", StockTaken: true, Time: time.UnixMilli(1)}
			if err := records.Insert(ctx, other); err != nil {
				t.Fatal(err)
			}
		}
		if len(perRoute) != len(db.Routes()) {
			t.Fatalf("takes landed in %d of %d tables; the test needs all", len(perRoute), len(db.Routes()))
		}
		for _, aw := range []int64{101, 102} {
			got, err := s.CountTakes(ctx, 100006, aw)
			if err != nil {
				t.Fatal(err)
			}
			if w := want[[2]int64{100006, aw}]; got != w || w == 0 {
				t.Fatalf("CountTakes(100006, %d) = %d, want %d", aw, got, w)
			}
		}
		if got, _ := s.CountTakes(ctx, 100001, 101); got != users {
			t.Fatalf("CountTakes(100001, 101) = %d, want %d", got, users)
		}
		if got, err := s.CountTakes(ctx, 42, 42); err != nil || got != 0 {
			t.Fatalf("CountTakes of nothing = %d, %v", got, err)
		}
	})
}

func surpluses(t *testing.T, c *campaigndb.Store) map[int64]int64 {
	t.Helper()
	loaded, err := c.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]int64{}
	for _, a := range loaded.Strategies[0].Awards {
		out[a.AwardID] = a.Surplus
	}
	return out
}

func seed(t *testing.T, db *sqldb.DB) *campaigndb.Store {
	t.Helper()
	c := campaigndb.New(db, func() time.Time { return time.UnixMilli(1) })
	_, err := c.Apply(context.Background(), &campaign.Campaign{
		Awards: []award.Award{{ID: 101, Key: "k"}, {ID: 102, Key: "k"}, {ID: 103, Key: "k"}},
		Strategies: []strategy.Strategy{{ID: 100006, Awards: []strategy.Award{
			{AwardID: 101, Count: 10, Rate: 1}, {AwardID: 102, Count: 100, Rate: 1}, {AwardID: 103, Count: 5, Rate: 1},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestApplyTakes(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		c, s, ctx := seed(t, db), strategydb.New(db), context.Background()
		err := s.ApplyTakes(ctx, []strategy.Take{
			{StrategyID: 100006, AwardID: 101, N: 3},
			{StrategyID: 100006, AwardID: 102, N: 40},
			{StrategyID: 100006, AwardID: 101, N: 2}, // summed with the first
			{StrategyID: 100006, AwardID: 103, N: 0},
			{StrategyID: 999, AwardID: 101, N: 7}, // not stored: no effect
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := surpluses(t, c); got[101] != 5 || got[102] != 60 || got[103] != 5 {
			t.Fatalf("surpluses %v, want 101:5 102:60 103:5", got)
		}
		// More than is left: stops at 0.
		if err := s.ApplyTakes(ctx, []strategy.Take{{StrategyID: 100006, AwardID: 101, N: 6}, {StrategyID: 100006, AwardID: 103, N: 1000}}); err != nil {
			t.Fatal(err)
		}
		if got := surpluses(t, c); got[101] != 0 || got[103] != 0 || got[102] != 60 {
			t.Fatalf("surpluses %v, want 101:0 102:60 103:0", got)
		}
		// A negative take is refused and nothing of the batch is applied.
		if err := s.ApplyTakes(ctx, []strategy.Take{{StrategyID: 100006, AwardID: 102, N: 1}, {StrategyID: 100006, AwardID: 101, N: -5}}); err == nil {
			t.Fatal("negative take accepted")
		}
		if got := surpluses(t, c); got[102] != 60 || got[101] != 0 {
			t.Fatalf("surpluses %v after a refused batch", got)
		}
		if err := s.ApplyTakes(ctx, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestConcurrentApplyTakes(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		c, s, ctx := seed(t, db), strategydb.New(db), context.Background()
		const workers = 12
		var wg sync.WaitGroup
		errs := make([]error, workers)
		for i := 0; i < workers; i++ {
			takes := []strategy.Take{{StrategyID: 100006, AwardID: 102, N: 2}, {StrategyID: 100006, AwardID: 101, N: 1}}
			if i%2 == 1 { // opposite order: the store sorts, so no deadlock
				takes[0], takes[1] = takes[1], takes[0]
			}
			wg.Go(func() { errs[i] = s.ApplyTakes(ctx, takes) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := surpluses(t, c); got[102] != 100-2*workers || got[101] != 0 {
			t.Fatalf("surpluses %v, want 102:%d 101:0", got, 100-2*workers)
		}
	})
}
