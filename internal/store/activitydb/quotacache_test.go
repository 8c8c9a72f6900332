package activitydb_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// The quota cache is MySQL's: these tests run on MariaDB only.

// cacheFixture opens a fresh MySQL database of one shard and two tables and a
// batching Store on it, with the quota cache or without.
func cacheFixture(t *testing.T, cached bool) *fixture {
	t.Helper()
	db := sqldbtest.OpenConfig(t, sqldbtest.MySQLConfig(t, 1, 2))
	return storeOn(t, db, cached)
}

// storeOn returns a fixture with a Store of its own on db: another instance
// of the service on the same database.
func storeOn(t *testing.T, db *sqldb.DB, cached bool) *fixture {
	t.Helper()
	size := 0
	if !cached {
		size = -1
	}
	s := activitydb.New(db, activitydb.WithDrawBatches(1, 64), activitydb.WithQuotaCache(size))
	return &fixture{t: t, db: db, s: s, ids: idgen.New(nil), batched: true}
}

// outcome describes a draw's result for comparison: the partake's counts, or
// the quota error.
func outcome(p activity.Partake, err error) string {
	for _, q := range []error{activity.ErrTotalQuota, activity.ErrMonthQuota, activity.ErrDayQuota} {
		if errors.Is(err, q) {
			return q.Error()
		}
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("total used %d, today %d, reused %v", p.TotalUsed, p.TodayUsed, p.Reused)
}

// TestQuotaCacheEqualsLockedReads runs one story of draws, grants and
// period changes on a Store with the quota cache and on one without: every
// answer and every account must be the same, and the cache must have decided
// draws.
func TestQuotaCacheEqualsLockedReads(t *testing.T) {
	day2 := t0.Add(24 * time.Hour)
	nextMonth := time.Date(2025, 4, 1, 9, 0, 0, 0, time.UTC)
	story := func(f *fixture) (answers []string, accounts []activity.Account) {
		f.grant("g1", "u1", 7, 3, 5, t0)
		f.grant("g2", "u2", 2, 5, 5, t0)
		step := func(user string, now time.Time) {
			answers = append(answers, user+" "+now.Format(time.DateOnly)+": "+outcome(f.draw(user, now)))
		}
		for range 4 { // the day quota (3) is spent by the fourth
			step("u1", t0)
		}
		step("u2", t0)
		step("u2", t0)
		step("u2", t0) // the total (2) is spent
		step("u1", day2)
		step("u1", day2) // the month (5) is spent
		f.grant("g3", "u1", 3, 1, 2, day2)
		step("u1", day2) // a grant added one to the day and two to the month
		step("u1", day2)
		step("u1", nextMonth)
		step("u1", nextMonth) // the total (10) is spent
		f.grant("g4", "u2", 1, 0, 0, day2)
		step("u2", day2)
		for _, u := range []string{"u1", "u2"} {
			for _, at := range []time.Time{t0, day2, nextMonth} {
				accounts = append(accounts, f.account(u, at))
			}
		}
		return answers, accounts
	}
	cached, plain := cacheFixture(t, true), cacheFixture(t, false)
	gotAnswers, gotAccounts := story(cached)
	wantAnswers, wantAccounts := story(plain)
	if !slices.Equal(gotAnswers, wantAnswers) {
		t.Errorf("answers with the cache:\n%q\nwithout:\n%q", gotAnswers, wantAnswers)
	}
	if !slices.Equal(gotAccounts, wantAccounts) {
		t.Errorf("accounts with the cache:\n%+v\nwithout:\n%+v", gotAccounts, wantAccounts)
	}
	if st := cached.s.QuotaCacheStats(); st.Hits == 0 {
		t.Error("the cache decided no draw")
	}
	if st := plain.s.QuotaCacheStats(); st != (activitydb.QuotaCacheStats{}) {
		t.Errorf("the Store without a cache has %+v", st)
	}
}

// TestQuotaCacheStaleRows changes a user's rows behind the cache (another
// instance's draws and grants, an unused order written by an import): the
// next draw must see them.
func TestQuotaCacheStaleRows(t *testing.T) {
	a := cacheFixture(t, true)
	b := storeOn(t, a.db, true) // another instance on the same database
	a.grant("g1", "u1", 10, 10, 10, t0)
	mustDraw := func(f *fixture, want string) {
		t.Helper()
		if got := outcome(f.draw("u1", t0)); got != want {
			t.Fatalf("draw = %s, want %s", got, want)
		}
	}
	mustDraw(a, "total used 1, today 1, reused false")
	mustDraw(a, "total used 2, today 2, reused false") // from the cache
	if st := a.s.QuotaCacheStats(); st.Hits != 1 || st.Stale != 0 {
		t.Fatalf("%+v, want 1 hit and 0 stale", st)
	}

	// Another instance draws: a's entry is stale.
	mustDraw(b, "total used 3, today 3, reused false")
	mustDraw(a, "total used 4, today 4, reused false")
	if st := a.s.QuotaCacheStats(); st.Hits != 2 || st.Stale != 1 {
		t.Fatalf("after another instance's draw: %+v, want 2 hits and 1 stale", st)
	}

	// Another instance grants: the counts and surpluses grow.
	b.grant("g2", "u1", 5, 5, 5, t0)
	mustDraw(a, "total used 5, today 5, reused false")
	if st := a.s.QuotaCacheStats(); st.Stale != 2 {
		t.Fatalf("after another instance's grant: %+v, want 2 stale", st)
	}
	a.wantAccount("u1", t0, activity.Account{TotalCount: 15, TotalSurplus: 10, DayCount: 15, DaySurplus: 10, MonthCount: 15, MonthSurplus: 10})

	// Another instance makes the first draw of a new day: the cache takes
	// the day row for one to insert, and the insert finds it.
	day2 := t0.Add(24 * time.Hour)
	if got := outcome(b.draw("u1", day2)); got != "total used 6, today 1, reused false" {
		t.Fatalf("b's draw on day 2 = %s", got)
	}
	if got := outcome(a.draw("u1", day2)); got != "total used 7, today 2, reused false" {
		t.Fatalf("a's draw on day 2 = %s", got)
	}

	// An unused order written behind the cache (as an import does) is
	// reused, and takes nothing.
	r := a.db.Route("u1")
	_, err := a.db.Shard(r.Shard).Write().Exec(r.SQL(`INSERT INTO user_raffle_order{{suffix}} (user_id, activity_id, activity_name,
		strategy_id, order_id, order_time, order_state, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, 'create', ?, ?)`),
		"u1", testAct.ID, testAct.Name, testAct.StrategyID, "imported-1", t0.UnixMilli(), t0.UnixMilli(), t0.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	if got := outcome(a.draw("u1", day2)); got != "total used 7, today 2, reused true" {
		t.Fatalf("draw with an unused order = %s", got)
	}
	if got := outcome(a.draw("u1", day2)); got != "total used 8, today 3, reused false" {
		t.Fatalf("draw after the reuse = %s", got)
	}
}

// TestQuotaCacheInstancesUnderLoad draws for a few users from two
// instances at once, each with its cache, until every user's total is spent:
// each user's successful draws must have counted 1, 2, … total, each once,
// and the account must agree.
func TestQuotaCacheInstancesUnderLoad(t *testing.T) {
	const (
		users   = 6
		total   = 25
		workers = 6
	)
	a := cacheFixture(t, true)
	b := storeOn(t, a.db, true)
	for u := range users {
		a.grant(fmt.Sprintf("g%d", u), fmt.Sprintf("u%d", u), total, total, total, t0)
	}
	var (
		mu   sync.Mutex
		used = map[string][]int64{}
		wg   sync.WaitGroup
	)
	for _, f := range []*fixture{a, b} {
		for range workers {
			wg.Go(func() {
				for i := 0; i < 2*total*users/(2*workers)+total; i++ {
					user := fmt.Sprintf("u%d", rand.IntN(users))
					p, err := f.draw(user, t0)
					switch {
					case errors.Is(err, activity.ErrTotalQuota):
					case err != nil:
						t.Errorf("draw %s: %v", user, err)
						return
					default:
						mu.Lock()
						used[user] = append(used[user], p.TotalUsed)
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	for u := range users {
		user := fmt.Sprintf("u%d", u)
		got := used[user]
		slices.Sort(got)
		for i, n := range got {
			if n != int64(i+1) {
				t.Fatalf("%s: total used counts %v, want each of 1..%d once", user, got, len(got))
			}
		}
		acc := a.account(user, t0)
		if acc.TotalSurplus != total-int64(len(got)) || acc.DaySurplus != acc.TotalSurplus || acc.MonthSurplus != acc.TotalSurplus {
			t.Errorf("%s: %d draws, account %+v", user, len(got), acc)
		}
	}
	t.Logf("quota caches: %+v and %+v", a.s.QuotaCacheStats(), b.s.QuotaCacheStats())
}

// TestQuotaCacheCallerContext checks that a draw from the cache still
// answers a caller whose context ended while it was queued.
func TestQuotaCacheCallerContext(t *testing.T) {
	f := cacheFixture(t, true)
	f.grant("g1", "u1", 5, 5, 5, t0)
	if _, err := f.draw("u1", t0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.s.Draw(ctx, activitydb.DrawInput{UserID: "u1", Activity: testAct, OrderID: f.ids.Next(), Now: t0,
		Day: activity.DayKey(t0, time.UTC), Month: activity.MonthKey(t0, time.UTC)}, noRaffle)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("draw with a cancelled context = %v", err)
	}
	f.wantAccount("u1", t0, activity.Account{TotalCount: 5, TotalSurplus: 4, DayCount: 5, DaySurplus: 4, MonthCount: 5, MonthSurplus: 4})
}
