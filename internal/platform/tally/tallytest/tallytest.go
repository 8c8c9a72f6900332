// Package tallytest is the contract every tally.Store satisfies, run against
// the in-process Memory and Redis.
package tallytest

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/bigmarket/bigmarket/internal/platform/tally"
)

// Run runs the contract against stores made by newStore (a fresh, empty store
// each call, with the default retention).
func Run(t *testing.T, newStore func(t *testing.T) tally.Store) {
	ctx := context.Background()
	const m = 29_000_000 // a unix minute in 2025

	t.Run("AddThenRead", func(t *testing.T) {
		s := newStore(t)
		if err := s.Add(ctx, []tally.Bucket{
			{Minute: m, Counts: map[string]int64{"0000": 3, "ERR_BIZ_006": 2}},
			{Minute: m + 2, Counts: map[string]int64{"0004": 1}},
			{Minute: m + 3, Counts: map[string]int64{}},
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.Add(ctx, []tally.Bucket{{Minute: m, Counts: map[string]int64{"0000": 4}}}); err != nil {
			t.Fatal(err)
		}
		got := read(t, s, m-5, m+5)
		want := []tally.Bucket{
			{Minute: m, Counts: map[string]int64{"0000": 7, "ERR_BIZ_006": 2}},
			{Minute: m + 2, Counts: map[string]int64{"0004": 1}},
		}
		equal(t, got, want)
		// The range includes both ends and nothing outside.
		equal(t, read(t, s, m+1, m+2), want[1:])
		equal(t, read(t, s, m, m), want[:1])
		equal(t, read(t, s, m+3, m+10), nil)
		equal(t, read(t, s, m+2, m+1), nil)
	})

	t.Run("ConcurrentAddsSum", func(t *testing.T) {
		s := newStore(t)
		const workers, adds = 20, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				for i := range adds {
					if err := s.Add(ctx, []tally.Bucket{{Minute: m + int64(i%2), Counts: map[string]int64{"0000": 1, fmt.Sprint("w", w%3): 2}}}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got := read(t, s, m, m+1)
		total := map[string]int64{}
		for _, b := range got {
			for k, n := range b.Counts {
				total[k] += n
			}
		}
		want := map[string]int64{"0000": workers * adds}
		for w := range workers {
			want[fmt.Sprint("w", w%3)] += 2 * adds
		}
		if !maps.Equal(total, want) {
			t.Fatalf("sums = %v, want %v", total, want)
		}
	})

	t.Run("CancelledAddAddsNothing", func(t *testing.T) {
		s := newStore(t)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Add(cctx, []tally.Bucket{{Minute: m, Counts: map[string]int64{"0000": 1}}}); err == nil {
			t.Fatal("Add with a cancelled context succeeded")
		}
		equal(t, read(t, s, m, m), nil)
	})
}

func read(t *testing.T, s tally.Store, from, to int64) []tally.Bucket {
	t.Helper()
	got, err := s.Read(context.Background(), from, to)
	if err != nil {
		t.Fatalf("Read(%d, %d): %v", from, to, err)
	}
	return got
}

func equal(t *testing.T, got, want []tally.Bucket) {
	t.Helper()
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Minute == want[i].Minute && maps.Equal(got[i].Counts, want[i].Counts)
	}
	if !ok {
		t.Fatalf("buckets = %v, want %v", got, want)
	}
}
