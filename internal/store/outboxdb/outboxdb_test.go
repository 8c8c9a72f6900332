package outboxdb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

var t0 = time.UnixMilli(1_700_000_000_000)

func task(t *testing.T, user, id string, at time.Time) outbox.Task {
	t.Helper()
	tk, err := outbox.New(user, outbox.TopicSendAward, id, map[string]string{"orderId": id}, at)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func insert(t *testing.T, db *sqldb.DB, s *outboxdb.Store, tasks ...outbox.Task) {
	t.Helper()
	for _, tk := range tasks {
		err := db.InUserTx(context.Background(), tk.UserID, func(tx *sql.Tx, r sqldb.Route) error {
			return s.InsertTx(context.Background(), tx, r, tk)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func get(t *testing.T, s *outboxdb.Store, id string) outbox.Task {
	t.Helper()
	tk, _, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func ids(tasks []outbox.Task) []string {
	out := make([]string, len(tasks))
	for i, t := range tasks {
		out[i] = t.MessageID
	}
	return out
}

// A task inserted in a transaction that rolls back is not stored.
func TestInsertTxRollsBack(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := outboxdb.New(db), context.Background()
		boom := errors.New("the fact failed")
		tk := task(t, "u1", "m-rollback", t0)
		err := db.InUserTx(ctx, "u1", func(tx *sql.Tx, r sqldb.Route) error {
			if err := s.InsertTx(ctx, tx, r, tk); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InUserTx: %v", err)
		}
		if _, _, err := s.Get(ctx, "m-rollback"); !errors.Is(err, outbox.ErrNotFound) || !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("Get after rollback: %v, want ErrNotFound", err)
		}
		if n, _ := s.CountByState(ctx); len(n) != 0 {
			t.Fatalf("tasks after rollback: %v", n)
		}
		insert(t, db, s, tk)
		got, shard, err := s.Get(ctx, "m-rollback")
		if err != nil {
			t.Fatal(err)
		}
		if shard != s.ShardOf("u1") || !reflect.DeepEqual(got, tk) {
			t.Fatalf("Get = %+v on shard %d; want %+v on shard %d", got, shard, tk, s.ShardOf("u1"))
		}
		err = db.InUserTx(ctx, "u1", func(tx *sql.Tx, r sqldb.Route) error { return s.InsertTx(ctx, tx, r, tk) })
		if !errors.Is(err, sqldb.ErrDuplicate) {
			t.Fatalf("second insert: %v, want ErrDuplicate", err)
		}
	})
}

func TestMarksAndRetryable(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := outboxdb.New(db), context.Background()
		// Users spread over every shard.
		var all []outbox.Task
		for i := range 40 {
			all = append(all, task(t, fmt.Sprintf("user-%d", i), fmt.Sprintf("m-%02d", i), t0.Add(time.Duration(i)*time.Millisecond)))
		}
		insert(t, db, s, all...)
		byShard := map[int][]string{}
		for _, tk := range all {
			byShard[s.ShardOf(tk.UserID)] = append(byShard[s.ShardOf(tk.UserID)], tk.MessageID)
		}
		if len(byShard) != db.Shards() {
			t.Fatalf("tasks on %d shards, want %d", len(byShard), db.Shards())
		}
		t1 := t0.Add(time.Minute)
		// Complete the first 10 of each shard in one batch per shard (an unknown id is ignored).
		completed := map[string]bool{}
		for shard, list := range byShard {
			batch := append(slices.Clone(list[:10]), "no-such-id")
			if err := s.MarkCompleted(ctx, shard, batch, t1); err != nil {
				t.Fatal(err)
			}
			for _, id := range list[:10] {
				completed[id] = true
			}
		}
		// Failing a completed task changes nothing.
		c := byShard[0][0]
		if err := s.MarkFailed(ctx, 0, c, 3, "refused", t1); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, c); got.State != outbox.StateCompleted || got.Attempts != 0 || !got.UpdateTime.Equal(t1) {
			t.Fatalf("completed task after MarkFailed: %+v", got)
		}
		// On shard 0: one failed task with attempts left, one exhausted.
		retry, exhausted := byShard[0][10], byShard[0][11]
		if err := s.MarkFailed(ctx, 0, retry, 2, "refused", t1); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkFailed(ctx, 0, exhausted, 5, "refused", t1); err != nil {
			t.Fatal(err)
		}
		if got := get(t, s, retry); got.State != outbox.StateFail || got.Attempts != 2 {
			t.Fatalf("failed task: %+v", got)
		}

		// Every create task is older than t0+20ms or not; the stale ones come first.
		olderThan := t0.Add(20 * time.Millisecond)
		for shard := range db.Shards() {
			got, err := s.Retryable(ctx, shard, olderThan, 5, 1000)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, id := range byShard[shard] {
				tk := get(t, s, id)
				if tk.State == outbox.StateCreate && tk.UpdateTime.Before(olderThan) {
					want = append(want, id)
				}
			}
			if shard == 0 {
				want = append(want, retry)
			}
			if !reflect.DeepEqual(ids(got), want) {
				t.Fatalf("shard %d Retryable = %v, want %v", shard, ids(got), want)
			}
			if len(want) > 1 {
				short, _ := s.Retryable(ctx, shard, olderThan, 5, 1)
				if !reflect.DeepEqual(ids(short), want[:1]) {
					t.Fatalf("shard %d Retryable limit 1 = %v", shard, ids(short))
				}
			}
		}
		counts, err := s.CountByState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := map[outbox.State]int64{
			outbox.StateCompleted: int64(len(completed)), outbox.StateFail: 2,
			outbox.StateCreate: int64(len(all) - len(completed) - 2),
		}
		if !reflect.DeepEqual(counts, want) {
			t.Fatalf("CountByState = %v, want %v", counts, want)
		}
	})
}

func TestListGetReset(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := outboxdb.New(db), context.Background()
		var all []outbox.Task
		for i := range 12 {
			all = append(all, task(t, fmt.Sprintf("lister-%d", i), fmt.Sprintf("l-%02d", i), t0.Add(time.Duration(i)*time.Second)))
		}
		insert(t, db, s, all...)
		got, err := s.List(ctx, "", 5)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"l-11", "l-10", "l-09", "l-08", "l-07"}; !reflect.DeepEqual(ids(got), want) {
			t.Fatalf("List all = %v, want %v", ids(got), want)
		}
		// Fail three at different times; the latest failure lists first.
		for i, id := range []string{"l-02", "l-05", "l-01"} {
			if err := s.MarkFailed(ctx, s.ShardOf(get(t, s, id).UserID), id, 10, "refused", t0.Add(time.Hour+time.Duration(i)*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		got, err = s.List(ctx, outbox.StateFail, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"l-01", "l-05", "l-02"}; !reflect.DeepEqual(ids(got), want) {
			t.Fatalf("List fail = %v, want %v", ids(got), want)
		}
		if got, err := s.List(ctx, outbox.StateCompleted, 0); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("List completed = %v, %v; want empty", got, err)
		}
		// Reset an exhausted task: retryable again.
		reset, err := s.Reset(ctx, "l-05", t0.Add(2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		stored := get(t, s, "l-05")
		if reset.State != outbox.StateFail || reset.Attempts != 0 || !reflect.DeepEqual(reset, stored) {
			t.Fatalf("Reset = %+v, stored %+v", reset, stored)
		}
		shard := s.ShardOf(stored.UserID)
		r, _ := s.Retryable(ctx, shard, t0, 10, 100)
		if !slices.Contains(ids(r), "l-05") || slices.Contains(ids(r), "l-02") && s.ShardOf(get(t, s, "l-02").UserID) == shard {
			t.Fatalf("Retryable after reset = %v: want l-05 and not the exhausted l-02", ids(r))
		}
		if _, err := s.Reset(ctx, "nope", t0); !errors.Is(err, outbox.ErrNotFound) {
			t.Fatalf("Reset unknown: %v", err)
		}
	})
}

// PurgeCompleted deletes only completed tasks last updated before the cut-off,
// oldest first, at most limit per call, on the shard asked.
func TestPurgeCompleted(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := outboxdb.New(db), context.Background()
		var all []outbox.Task
		for i := range 60 {
			all = append(all, task(t, fmt.Sprintf("purge-%d", i), fmt.Sprintf("p-%02d", i), t0))
		}
		insert(t, db, s, all...)
		cut := t0.Add(time.Hour)
		// Per task: completed before the cut-off (i%4 == 0 or 1, the higher i
		// the older), completed at the cut-off (2), failed long ago (3).
		old := map[int]map[string]time.Time{} // shard → ids to purge → update time
		var keep []string
		for i, tk := range all {
			shard := s.ShardOf(tk.UserID)
			switch i % 4 {
			case 0, 1:
				at := cut.Add(-time.Duration(i+1) * time.Minute)
				if err := s.MarkCompleted(ctx, shard, []string{tk.MessageID}, at); err != nil {
					t.Fatal(err)
				}
				if old[shard] == nil {
					old[shard] = map[string]time.Time{}
				}
				old[shard][tk.MessageID] = at
			case 2:
				if err := s.MarkCompleted(ctx, shard, []string{tk.MessageID}, cut); err != nil { // not before the cut-off
					t.Fatal(err)
				}
				keep = append(keep, tk.MessageID)
			case 3:
				if err := s.MarkFailed(ctx, shard, tk.MessageID, 10, "refused", t0); err != nil {
					t.Fatal(err)
				}
				keep = append(keep, tk.MessageID)
			}
		}
		for shard := range db.Shards() {
			want := len(old[shard])
			if want < 3 {
				t.Fatalf("shard %d has %d tasks to purge; the test needs more users", shard, want)
			}
			byAge := slices.SortedFunc(maps.Keys(old[shard]), func(a, b string) int { return old[shard][a].Compare(old[shard][b]) })
			// Limit 2: exactly the two oldest.
			n, err := s.PurgeCompleted(ctx, shard, cut, 2)
			if err != nil || n != 2 {
				t.Fatalf("shard %d: PurgeCompleted limit 2 = %d, %v", shard, n, err)
			}
			var gone []string
			for _, id := range byAge {
				_, _, err := s.Get(ctx, id)
				if errors.Is(err, outbox.ErrNotFound) {
					gone = append(gone, id)
				} else if err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(gone, byAge[:2]) {
				t.Fatalf("shard %d: purged %v, want the two oldest %v", shard, gone, byAge[:2])
			}
			n, err = s.PurgeCompleted(ctx, shard, cut, 1000)
			if err != nil || n != want-2 {
				t.Fatalf("shard %d: PurgeCompleted = %d, %v; want %d", shard, n, err, want-2)
			}
			if n, err := s.PurgeCompleted(ctx, shard, cut, 1000); err != nil || n != 0 {
				t.Fatalf("shard %d: PurgeCompleted again = %d, %v; want 0", shard, n, err)
			}
		}
		for _, id := range keep {
			get(t, s, id) // fails the test when gone
		}
		counts, err := s.CountByState(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (map[outbox.State]int64{outbox.StateCompleted: 15, outbox.StateFail: 15}); !reflect.DeepEqual(counts, want) {
			t.Fatalf("after purging: %v, want %v", counts, want)
		}
	})
}
