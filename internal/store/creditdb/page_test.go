package creditdb_test

import (
	"context"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestLedgerPage: pages newest first, and the balance after each order is
// right on every page, whatever the offset.
func TestLedgerPage(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := creditdb.New(db), context.Background()
		steps := []credit.Order{
			order("bob", "f1", credit.Forward, 1000, t0),                     // 10.00
			order("bob", "r1", credit.Reverse, 250, t0.Add(time.Second)),     // 7.50
			order("bob", "f2", credit.Forward, 5, t0.Add(2*time.Second)),     // 7.55
			order("bob", "r2", credit.Reverse, 700, t0.Add(3*time.Second)),   // 0.55
			order("bob", "f3", credit.Forward, 10045, t0.Add(4*time.Second)), // 101.00
		}
		for _, o := range steps {
			if err := s.Apply(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Apply(ctx, order("carol", "c1", credit.Forward, 99, t0)); err != nil {
			t.Fatal(err)
		}
		after := []int64{10100, 55, 755, 750, 1000} // newest first
		for _, tc := range []struct{ offset, limit int }{{0, 10}, {0, 2}, {2, 2}, {4, 2}, {1, 3}} {
			got, err := s.LedgerPage(ctx, "bob", tc.offset, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			want := min(tc.limit, len(steps)-tc.offset)
			if len(got) != want {
				t.Fatalf("offset %d limit %d: %d entries, want %d", tc.offset, tc.limit, len(got), want)
			}
			for i, e := range got {
				k := tc.offset + i
				if e.OutBusinessNo != steps[len(steps)-1-k].OutBusinessNo || e.BalanceAfter.Cents() != after[k] {
					t.Fatalf("offset %d limit %d row %d: %s balance %s, want %s balance %d cents",
						tc.offset, tc.limit, i, e.OutBusinessNo, e.BalanceAfter, steps[len(steps)-1-k].OutBusinessNo, after[k])
				}
			}
		}
		if got, err := s.LedgerPage(ctx, "bob", 5, 10); err != nil || len(got) != 0 || got == nil {
			t.Fatalf("past the end: %v, %v; want an empty page", got, err)
		}
		if got, err := s.LedgerPage(ctx, "nobody", 0, 10); err != nil || len(got) != 0 {
			t.Fatalf("no account: %v, %v", got, err)
		}
	})
}
