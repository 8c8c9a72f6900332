package outboxdb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestOldestPending: the oldest task per pending state over every shard;
// completed tasks never count, states without tasks are absent.
func TestOldestPending(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := outboxdb.New(db), context.Background()
		if got, err := s.OldestPending(ctx); err != nil || len(got) != 0 {
			t.Fatalf("OldestPending on an empty outbox = %v, %v", got, err)
		}
		var all []outbox.Task
		for i := range 20 {
			all = append(all, task(t, fmt.Sprintf("user-%d", i), fmt.Sprintf("o-%02d", i), t0.Add(time.Duration(i)*time.Second)))
		}
		insert(t, db, s, all...)
		// The two oldest are completed, the next two failed.
		for i, tk := range all[:4] {
			shard := s.ShardOf(tk.UserID)
			var err error
			if i < 2 {
				err = s.MarkCompleted(ctx, shard, []string{tk.MessageID}, t0.Add(time.Hour))
			} else {
				err = s.MarkFailed(ctx, shard, tk.MessageID, 1, "refused", t0.Add(time.Hour))
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.OldestPending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[outbox.State]time.Time{outbox.StateFail: all[2].CreateTime, outbox.StateCreate: all[4].CreateTime}
		if len(got) != len(want) {
			t.Fatalf("OldestPending = %v, want %v", got, want)
		}
		for st, w := range want {
			if !got[st].Equal(w) {
				t.Errorf("oldest %s = %v, want %v", st, got[st], w)
			}
		}
	})
}
