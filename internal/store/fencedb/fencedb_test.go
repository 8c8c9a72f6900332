package fencedb_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/store/fencedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestBarrierWaitsForHolders: a Barrier does not return while a transaction
// holds the fence; after it, a new holder sees the next generation on every
// shard.
func TestBarrierWaitsForHolders(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := fencedb.New(db)
		const key = "award_stock:1:2"
		err := db.InUserTx(ctx, "fence-user", func(tx *sql.Tx, r sqldb.Route) error {
			_, err := s.Hold(ctx, tx, r, key)
			return err
		})
		if !errors.Is(err, fencedb.ErrNoFence) {
			t.Fatalf("Hold without a row: %v, want ErrNoFence", err)
		}
		if err := s.Ensure(ctx, key); err != nil {
			t.Fatal(err)
		}
		if err := s.Ensure(ctx, key); err != nil {
			t.Fatalf("second Ensure: %v", err)
		}
		held := make(chan int64)
		release := make(chan struct{})
		txDone := make(chan error, 1)
		go func() {
			txDone <- db.InUserTx(ctx, "fence-user", func(tx *sql.Tx, r sqldb.Route) error {
				gen, err := s.Hold(ctx, tx, r, key)
				if err != nil {
					return err
				}
				held <- gen
				<-release
				return nil
			})
		}()
		if gen := <-held; gen != 0 {
			t.Fatalf("first Hold gen = %d, want 0", gen)
		}
		barrier := make(chan error, 1)
		go func() { barrier <- s.Barrier(ctx, key) }()
		select {
		case err := <-barrier:
			t.Fatalf("Barrier returned (%v) while a transaction held the fence", err)
		case <-time.After(300 * time.Millisecond):
		}
		close(release)
		if err := <-txDone; err != nil {
			t.Fatalf("holder: %v", err)
		}
		select {
		case err := <-barrier:
			if err != nil {
				t.Fatalf("Barrier: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Barrier did not return after the holder committed")
		}
		for i := range db.Shards() {
			if gen, err := s.Gen(ctx, i, key); err != nil || gen != 1 {
				t.Fatalf("shard %d gen = %d, %v; want 1", i, gen, err)
			}
		}
		err = db.InUserTx(ctx, "another-user", func(tx *sql.Tx, r sqldb.Route) error {
			gen, err := s.Hold(ctx, tx, r, key)
			if err == nil && gen != 1 {
				t.Errorf("Hold after Barrier gen = %d, want 1", gen)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Barrier(ctx, key); err != nil {
			t.Fatal(err)
		}
		if gen, _ := s.Gen(ctx, 0, key); gen != 2 {
			t.Fatalf("gen after a second Barrier = %d, want 2", gen)
		}
	})
}
