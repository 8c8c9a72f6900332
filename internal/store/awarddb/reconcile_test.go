package awarddb_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// Twenty concurrent claims of one record: one wins; only its owner releases
// it; a fresh claim keeps others away, a stale one does not.
func TestClaimOneWinner(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := awarddb.New(db), context.Background()
		t0 := time.UnixMilli(1_700_000_000_000)
		if err := s.Insert(ctx, record("claimer", "order-c", t0)); err != nil {
			t.Fatal(err)
		}
		var wins atomic.Int64
		var winner atomic.Value
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				owner := fmt.Sprintf("owner-%d", i)
				ok, err := s.Claim(ctx, "claimer", "order-c", owner, t0, t0.Add(-time.Minute))
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
					winner.Store(owner)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d claims won, want 1", wins.Load())
		}
		if ok, err := s.Release(ctx, "claimer", "order-c", "someone-else", "boom", t0); ok || err != nil {
			t.Fatalf("Release by another owner = %t, %v; want false", ok, err)
		}
		if ok, err := s.Claim(ctx, "claimer", "order-c", "late", t0, t0); ok || err != nil {
			t.Fatalf("Claim of a fresh claim = %t, %v; want false", ok, err)
		}
		long := strings.Repeat("é", award.MaxLastErrorLen) // twice the bytes allowed
		if ok, err := s.Release(ctx, "claimer", "order-c", winner.Load().(string), long, t0.Add(time.Second)); !ok || err != nil {
			t.Fatalf("Release by the owner = %t, %v", ok, err)
		}
		rec, err := s.Get(ctx, "claimer", "order-c")
		if err != nil || rec.State != award.RecordCreate || len(rec.LastError) != award.MaxLastErrorLen || !rec.Updated.Equal(t0.Add(time.Second)) {
			t.Fatalf("after release: %+v, %v; want create with a %d-byte last error", rec, err, award.MaxLastErrorLen)
		}
		// A claim older than staleBefore is taken over; completion takes the
		// record from delivering whoever holds it.
		if ok, _ := s.Claim(ctx, "claimer", "order-c", "first", t0, t0); !ok {
			t.Fatal("claim of a released record failed")
		}
		if ok, _ := s.Claim(ctx, "claimer", "order-c", "second", t0.Add(2*time.Minute), t0.Add(time.Minute)); !ok {
			t.Fatal("a stale claim was not taken over")
		}
		if ok, err := s.CompleteClaimed(ctx, "claimer", "order-c", t0.Add(3*time.Minute)); !ok || err != nil {
			t.Fatalf("CompleteClaimed = %t, %v", ok, err)
		}
		if ok, _ := s.Release(ctx, "claimer", "order-c", "second", "late failure", t0); ok {
			t.Fatal("a completed record was released")
		}
		if rec, _ := s.Get(ctx, "claimer", "order-c"); rec.State != award.RecordCompleted {
			t.Fatalf("state %s, want completed", rec.State)
		}
	})
}

// Stale finds unfinished records on every table; Retake and Fail act only on
// the record as read; Reset readies failed and pending records for a retry.
func TestStaleRetakeFailReset(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := awarddb.New(db), context.Background()
		t0 := time.UnixMilli(1_700_000_000_000)
		old, fresh := t0.Add(-10*time.Minute), t0.Add(-10*time.Second)
		for i := range 16 { // spread over the tables
			if err := s.Insert(ctx, record(fmt.Sprintf("old-%d", i), fmt.Sprintf("o-old-%d", i), old)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Insert(ctx, record("young", "o-young", fresh)); err != nil {
			t.Fatal(err)
		}
		done := record("done", "o-done", old)
		done.State = award.RecordCompleted
		if err := s.Insert(ctx, done); err != nil {
			t.Fatal(err)
		}
		if err := s.Insert(ctx, record("claimed", "o-claimed", old)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.Claim(ctx, "claimed", "o-claimed", "dead", t0.Add(-3*time.Minute), t0.Add(-time.Hour)); !ok {
			t.Fatal("claim failed")
		}
		if err := s.Insert(ctx, record("claimed-now", "o-claimed-now", old)); err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.Claim(ctx, "claimed-now", "o-claimed-now", "alive", t0.Add(-time.Second), t0.Add(-time.Hour)); !ok {
			t.Fatal("claim failed")
		}
		stale, err := s.Stale(ctx, t0.Add(-time.Minute), t0.Add(-2*time.Minute), 0)
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]award.Record{}
		for _, r := range stale {
			found[r.OrderID] = r
		}
		if len(stale) != 17 || found["o-young"].OrderID != "" || found["o-done"].OrderID != "" ||
			found["o-claimed-now"].OrderID != "" || found["o-claimed"].State != award.RecordDelivering {
			t.Fatalf("Stale found %d: %v; want the 16 old records and the stale claim", len(stale), found)
		}
		// Retake: once, on the record as read.
		r := found["o-claimed"]
		if ok, err := s.Retake(ctx, r, t0); !ok || err != nil {
			t.Fatalf("Retake = %t, %v", ok, err)
		}
		if ok, _ := s.Retake(ctx, r, t0); ok {
			t.Fatal("a second Retake of the same read succeeded")
		}
		got, _ := s.Get(ctx, "claimed", "o-claimed")
		if got.State != award.RecordCreate || got.Attempts != 1 || !got.Updated.Equal(t0) {
			t.Fatalf("after Retake: %+v; want create, 1 attempt, updated now", got)
		}
		// Fail keeps the last error, or stores the reason when there is none.
		if err := s.NoteError(ctx, "claimed", "o-claimed", "webhook answered 500"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Fail(ctx, got, "gave up", t0.Add(time.Second)); !ok || err != nil {
			t.Fatalf("Fail = %t, %v", ok, err)
		}
		r0 := found["o-old-0"]
		if ok, _ := s.Fail(ctx, r0, "gave up", t0); !ok {
			t.Fatal("Fail of an old record failed")
		}
		if got, _ := s.Get(ctx, "claimed", "o-claimed"); got.State != award.RecordFailed || got.LastError != "webhook answered 500" {
			t.Fatalf("failed record %+v, want its last error kept", got)
		}
		if got, _ := s.Get(ctx, r0.UserID, r0.OrderID); got.State != award.RecordFailed || got.LastError != "gave up" {
			t.Fatalf("failed record %+v, want the reason as last error", got)
		}
		// Reset: failed and pending_manual records back to create with no
		// attempts; completed and claimed ones are left alone.
		if ok, err := s.Reset(ctx, "claimed", "o-claimed", t0.Add(time.Hour)); !ok || err != nil {
			t.Fatalf("Reset of a failed record = %t, %v", ok, err)
		}
		if got, _ := s.Get(ctx, "claimed", "o-claimed"); got.State != award.RecordCreate || got.Attempts != 0 {
			t.Fatalf("after Reset: %+v", got)
		}
		for _, o := range []struct{ user, order string }{{"done", "o-done"}, {"claimed-now", "o-claimed-now"}, {"ghost", "none"}} {
			if ok, err := s.Reset(ctx, o.user, o.order, t0); ok || err != nil {
				t.Fatalf("Reset of %s = %t, %v; want false", o.order, ok, err)
			}
		}
	})
}
