package awarddb_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestPageByUser: one activity's records, newest first, page by page.
func TestPageByUser(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := awarddb.New(db), context.Background()
		t0 := time.UnixMilli(1_700_000_000_123)
		var want []award.Record
		for i := range 5 {
			rec := record("pager", fmt.Sprintf("p-%02d", i), t0.Add(time.Duration(i)*time.Second))
			if err := s.Insert(ctx, rec); err != nil {
				t.Fatal(err)
			}
			want = append([]award.Record{rec}, want...)
		}
		other := record("pager", "elsewhere", t0.Add(time.Hour))
		other.ActivityID++
		if err := s.Insert(ctx, other); err != nil {
			t.Fatal(err)
		}
		act := want[0].ActivityID
		for _, tc := range []struct{ offset, limit int }{{0, 2}, {2, 2}, {4, 2}, {0, 10}} {
			got, err := s.PageByUser(ctx, "pager", act, tc.offset, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			end := min(tc.offset+tc.limit, len(want))
			if !reflect.DeepEqual(got, want[tc.offset:end]) {
				t.Fatalf("offset %d limit %d:\n got %+v\nwant %+v", tc.offset, tc.limit, got, want[tc.offset:end])
			}
		}
		if got, err := s.PageByUser(ctx, "pager", other.ActivityID, 0, 10); err != nil || len(got) != 1 || got[0].OrderID != "elsewhere" {
			t.Fatalf("other activity: %+v, %v", got, err)
		}
	})
}
