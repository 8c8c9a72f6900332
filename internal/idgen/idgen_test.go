package idgen

import (
	"sync"
	"testing"
	"time"
)

func TestUniqueAcrossGoroutinesAndInstances(t *testing.T) {
	fixed := func() time.Time { return time.UnixMilli(1_700_000_000_000) }
	gens := []*Generator{New(fixed), New(fixed)} // two instances in the same millisecond
	const perG = 5000
	var mu sync.Mutex
	seen := make(map[string]bool, 2*8*perG)
	var wg sync.WaitGroup
	for _, g := range gens {
		for range 8 {
			wg.Go(func() {
				local := make([]string, 0, perG)
				for range perG {
					local = append(local, g.Next())
				}
				mu.Lock()
				defer mu.Unlock()
				for _, id := range local {
					if seen[id] {
						t.Errorf("duplicate id %s", id)
					}
					seen[id] = true
				}
			})
		}
	}
	wg.Wait()
	if len(seen) != 2*8*perG {
		t.Fatalf("got %d ids, want %d", len(seen), 2*8*perG)
	}
}

func TestSortsByTime(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	g := New(func() time.Time { return now })
	a := g.Next()
	now = now.Add(time.Millisecond)
	b := g.Next()
	if len(a) != 24 || len(b) != 24 || !(a < b) {
		t.Fatalf("ids %q, %q: want 24 characters, increasing with time", a, b)
	}
}
