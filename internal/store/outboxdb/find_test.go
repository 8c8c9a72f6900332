package outboxdb_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestFind: filters by state, topic and user combine; offset pages through the
// ordered list over every shard; the last publish error is kept with a failed
// task and cleared when it completes.
func TestFind(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := outboxdb.New(db), context.Background()
		var all []outbox.Task
		for i := range 12 {
			tk := task(t, fmt.Sprintf("finder-%d", i%4), fmt.Sprintf("f-%02d", i), t0.Add(time.Duration(i)*time.Second))
			if i%3 == 0 {
				tk.Topic = outbox.TopicSendRebate
			}
			all = append(all, tk)
		}
		insert(t, db, s, all...)
		find := func(q outbox.ListQuery) []string {
			t.Helper()
			got, err := s.Find(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			return ids(got)
		}
		for _, c := range []struct {
			name string
			q    outbox.ListQuery
			want []string
		}{
			{"all", outbox.ListQuery{Limit: 4}, []string{"f-11", "f-10", "f-09", "f-08"}},
			{"second page", outbox.ListQuery{Limit: 4, Offset: 4}, []string{"f-07", "f-06", "f-05", "f-04"}},
			{"last page", outbox.ListQuery{Limit: 4, Offset: 8}, []string{"f-03", "f-02", "f-01", "f-00"}},
			{"past the end", outbox.ListQuery{Limit: 4, Offset: 12}, []string{}},
			{"topic", outbox.ListQuery{Topic: outbox.TopicSendRebate}, []string{"f-09", "f-06", "f-03", "f-00"}},
			{"user", outbox.ListQuery{UserID: "finder-1"}, []string{"f-09", "f-05", "f-01"}},
			{"user and topic", outbox.ListQuery{UserID: "finder-1", Topic: outbox.TopicSendAward}, []string{"f-05", "f-01"}},
			{"unknown user", outbox.ListQuery{UserID: "nobody"}, []string{}},
		} {
			if got := find(c.q); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s: Find(%+v) = %v, want %v", c.name, c.q, got, c.want)
			}
		}

		// A failure keeps its error; state filters order by update time.
		long := strings.Repeat("é", outbox.MaxLastErrorLen) // 2 bytes each: cut at a rune boundary
		for i, id := range []string{"f-05", "f-09"} {
			msg := "refused by the broker"
			if i == 1 {
				msg = outbox.TruncateError(fmt.Errorf("%s", long))
			}
			if err := s.MarkFailed(ctx, s.ShardOf(get(t, s, id).UserID), id, 1, msg, t0.Add(time.Hour+time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if got := find(outbox.ListQuery{State: outbox.StateFail}); !reflect.DeepEqual(got, []string{"f-09", "f-05"}) {
			t.Fatalf("failed tasks %v, want f-09 then f-05", got)
		}
		if got := find(outbox.ListQuery{State: outbox.StateFail, Topic: outbox.TopicSendAward}); !reflect.DeepEqual(got, []string{"f-05"}) {
			t.Fatalf("failed send_award tasks %v, want f-05", got)
		}
		if got := get(t, s, "f-05"); got.LastError != "refused by the broker" || got.State != outbox.StateFail {
			t.Fatalf("failed task %+v: want its last error", got)
		}
		if got := get(t, s, "f-09").LastError; len(got) > outbox.MaxLastErrorLen || len(got) < outbox.MaxLastErrorLen-1 || !strings.HasPrefix(long, got) {
			t.Fatalf("last error of %d bytes: want the message cut to at most %d bytes on a rune boundary", len(got), outbox.MaxLastErrorLen)
		}
		// A reset keeps the error for operators; completion clears it.
		if _, err := s.Reset(ctx, "f-05", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, "f-05").LastError; got != "refused by the broker" {
			t.Fatalf("after a reset, last error %q", got)
		}
		if err := s.MarkCompleted(ctx, s.ShardOf(get(t, s, "f-05").UserID), []string{"f-05"}, t0.Add(3*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, "f-05"); got.LastError != "" || got.State != outbox.StateCompleted {
			t.Fatalf("completed task %+v: want no last error", got)
		}
	})
}
