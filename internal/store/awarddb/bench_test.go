package awarddb_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// BenchmarkInsertParallel measures award record inserts from parallel goroutines
// (one autocommit statement each) on both engines.
func BenchmarkInsertParallel(b *testing.B) {
	for _, engine := range []string{sqldb.DriverSQLite, sqldb.DriverMySQL} {
		b.Run(engine, func(b *testing.B) {
			var db *sqldb.DB
			if engine == sqldb.DriverSQLite {
				db = sqldbtest.OpenSQLite(b)
			} else {
				db = sqldbtest.OpenMySQL(b)
			}
			s, ctx := awarddb.New(db), context.Background()
			var seq atomic.Int64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					rec := record("user-"+strconv.FormatInt(n%5000, 10), "bench-"+strconv.FormatInt(n, 10), time.UnixMilli(n))
					if err := s.Insert(ctx, rec); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
