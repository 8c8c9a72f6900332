package activitydb_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// BenchmarkDrawParallel measures the quota transaction of a draw (lock account,
// take total/month/day, insert and use the raffle order; the raffle itself does
// nothing) from parallel goroutines over 1 000 users, on both engines.
func BenchmarkDrawParallel(b *testing.B) {
	const users = 1000
	for _, engine := range []string{sqldb.DriverSQLite, sqldb.DriverMySQL} {
		b.Run(engine, func(b *testing.B) {
			var db *sqldb.DB
			if engine == sqldb.DriverSQLite {
				db = sqldbtest.OpenSQLite(b)
			} else {
				db = sqldbtest.OpenMySQL(b)
			}
			s, ctx, ids := activitydb.New(db), context.Background(), idgen.New(nil)
			day, month := activity.DayKey(t0, time.UTC), activity.MonthKey(t0, time.UTC)
			for i := range users {
				g := activity.Grant{ID: fmt.Sprintf("bench-%d", i), UserID: fmt.Sprintf("bench-u-%d", i), ActivityID: testAct.ID,
					Total: 1 << 40, Day: 1 << 40, Month: 1 << 40}
				if err := s.ApplyGrant(ctx, g, testAct, t0, day, month); err != nil {
					b.Fatal(err)
				}
			}
			var seq atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					_, err := s.Draw(ctx, activitydb.DrawInput{UserID: fmt.Sprintf("bench-u-%d", n%users), Activity: testAct,
						OrderID: ids.Next(), Now: t0, Day: day, Month: month}, noRaffle)
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
