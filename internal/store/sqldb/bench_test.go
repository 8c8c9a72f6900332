package sqldb_test

import (
	"strconv"
	"testing"

	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

func BenchmarkRoute(b *testing.B) {
	db := sqldbtest.OpenSQLite(b)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "user-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = db.Route(ids[i&1023])
	}
}
