// Package countertest is the contract suite every counter.Counter
// implementation must pass; the in-process and Redis counters both run it.
package countertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
)

// Run runs the contract suite. newCounter is called once per subtest and must
// return an empty counter store (for shared services: one with a fresh key
// prefix, cleaned up by the test).
func Run(t *testing.T, newCounter func(t *testing.T) counter.Counter) {
	t.Run("ConcurrentAcquireNeverExceedsLimit", func(t *testing.T) {
		testConcurrentAcquire(t, newCounter(t))
	})
	t.Run("AcquireMissingKeyChangesNothing", func(t *testing.T) {
		testAcquireMissing(t, newCounter(t))
	})
	t.Run("SeedDoesNotOverwrite", func(t *testing.T) {
		testSeedDoesNotOverwrite(t, newCounter(t))
	})
	t.Run("CacheLossRebuild", func(t *testing.T) {
		testCacheLossRebuild(t, newCounter(t))
	})
	t.Run("GetMissing", func(t *testing.T) {
		testGetMissing(t, newCounter(t))
	})
	t.Run("AtOrAboveLimit", func(t *testing.T) {
		testAtOrAboveLimit(t, newCounter(t))
	})
	t.Run("DeleteManyAndMissing", func(t *testing.T) {
		testDeleteMany(t, newCounter(t))
	})
	t.Run("KeysAreIndependent", func(t *testing.T) {
		testKeysIndependent(t, newCounter(t))
	})
}

func get(t *testing.T, c counter.Counter, key string) (int64, bool) {
	t.Helper()
	v, ok, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, ok
}

func seed(t *testing.T, c counter.Counter, key string, n int64) bool {
	t.Helper()
	ok, err := c.Seed(context.Background(), key, n)
	if err != nil {
		t.Fatalf("Seed(%q, %d): %v", key, n, err)
	}
	return ok
}

func acquire(t *testing.T, c counter.Counter, key string, limit int64) (taken, missing bool) {
	t.Helper()
	taken, missing, err := c.Acquire(context.Background(), key, limit)
	if err != nil {
		t.Fatalf("Acquire(%q, %d): %v", key, limit, err)
	}
	return taken, missing
}

// testConcurrentAcquire: 64 goroutines race for 100 units; exactly 100 win.
func testConcurrentAcquire(t *testing.T, c counter.Counter) {
	const (
		key        = "strategy:100006:award:101"
		workers    = 64
		limit      = 100
		maxRefusal = 3 // each worker stops after a few refusals
	)
	if !seed(t, c, key, 0) {
		t.Fatal("Seed on an empty store reported an existing key")
	}
	var wins, attempts atomic.Int64
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range workers {
		wg.Go(func() {
			<-start
			refused := 0
			// Bounded, so that a counter that never refuses fails the test
			// instead of hanging it.
			for try := 0; refused < maxRefusal && try < 4*limit; try++ {
				taken, missing, err := c.Acquire(context.Background(), key, limit)
				attempts.Add(1)
				if err != nil {
					errs <- err
					return
				}
				if missing {
					errs <- errors.New("Acquire reported a seeded key missing")
					return
				}
				if taken {
					wins.Add(1)
				} else {
					refused++
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := wins.Load(); got != limit {
		t.Fatalf("successful acquires = %d, want exactly %d (attempts %d)", got, limit, attempts.Load())
	}
	if v, ok := get(t, c, key); !ok || v != limit {
		t.Fatalf("final value = %d (exists %v), want %d", v, ok, limit)
	}
	if attempts.Load() <= limit {
		t.Fatalf("attempts = %d: the race never hit the limit", attempts.Load())
	}
}

func testAcquireMissing(t *testing.T, c counter.Counter) {
	taken, missing := acquire(t, c, "nobody", 10)
	if taken || !missing {
		t.Fatalf("Acquire on a missing key = taken %v missing %v, want false true", taken, missing)
	}
	if v, ok := get(t, c, "nobody"); ok {
		t.Fatalf("Acquire on a missing key created it with value %d", v)
	}
}

func testSeedDoesNotOverwrite(t *testing.T, c counter.Counter) {
	if !seed(t, c, "k", 5) {
		t.Fatal("first Seed reported an existing key")
	}
	if seed(t, c, "k", 9) {
		t.Fatal("second Seed reported it set the key")
	}
	if v, _ := get(t, c, "k"); v != 5 {
		t.Fatalf("value after second Seed = %d, want 5", v)
	}
	if taken, _ := acquire(t, c, "k", 7); !taken {
		t.Fatal("Acquire below limit refused")
	}
	if seed(t, c, "k", 0) {
		t.Fatal("Seed after Acquire overwrote the key")
	}
	if v, _ := get(t, c, "k"); v != 6 {
		t.Fatalf("value = %d, want 6", v)
	}
}

// testCacheLossRebuild: the counter disappears, the caller seeds it from
// durable facts (3 awards recorded), and the limit still holds exactly.
func testCacheLossRebuild(t *testing.T, c counter.Counter) {
	const key, limit = "sku:9011", 5
	seed(t, c, key, 0)
	for i := range 3 {
		if taken, _ := acquire(t, c, key, limit); !taken {
			t.Fatalf("Acquire %d refused", i)
		}
	}
	if err := c.Delete(context.Background(), key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if taken, missing := acquire(t, c, key, limit); taken || !missing {
		t.Fatalf("Acquire after loss = taken %v missing %v, want false true", taken, missing)
	}
	if !seed(t, c, key, 3) {
		t.Fatal("Seed after loss reported an existing key")
	}
	wins := 0
	for range 10 {
		taken, missing := acquire(t, c, key, limit)
		if missing {
			t.Fatal("rebuilt key reported missing")
		}
		if taken {
			wins++
		}
	}
	if wins != 2 {
		t.Fatalf("acquires after rebuild = %d, want 2", wins)
	}
	if v, _ := get(t, c, key); v != limit {
		t.Fatalf("value = %d, want %d", v, limit)
	}
}

func testGetMissing(t *testing.T, c counter.Counter) {
	v, ok, err := c.Get(context.Background(), "absent")
	if err != nil || ok || v != 0 {
		t.Fatalf("Get(missing) = %d, %v, %v; want 0, false, nil", v, ok, err)
	}
	if err := c.Delete(context.Background(), "absent"); err != nil {
		t.Fatalf("Delete(missing): %v", err)
	}
	if err := c.Delete(context.Background()); err != nil {
		t.Fatalf("Delete(): %v", err)
	}
}

func testAtOrAboveLimit(t *testing.T, c counter.Counter) {
	seed(t, c, "full", 10)
	for _, limit := range []int64{10, 5, 0, -1} {
		if taken, missing := acquire(t, c, "full", limit); taken || missing {
			t.Fatalf("Acquire(limit %d) at value 10 = taken %v missing %v", limit, taken, missing)
		}
	}
	if v, _ := get(t, c, "full"); v != 10 {
		t.Fatalf("value = %d, want 10 (unchanged)", v)
	}
	// Raising the stock (the limit) makes room without touching the counter.
	if taken, _ := acquire(t, c, "full", 11); !taken {
		t.Fatal("Acquire after raising the limit refused")
	}
	seed(t, c, "neg", -2) // e.g. a rebuild that found fewer records than expected
	if taken, _ := acquire(t, c, "neg", 0); !taken {
		t.Fatal("Acquire(limit 0) at value -2 refused")
	}
}

func testDeleteMany(t *testing.T, c counter.Counter) {
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("award:%d", i)
		seed(t, c, keys[i], int64(i))
	}
	if err := c.Delete(context.Background(), append(keys[:10:10], "never-seeded")...); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	for i, k := range keys {
		_, ok := get(t, c, k)
		if ok != (i >= 10) {
			t.Fatalf("after Delete, %s exists = %v", k, ok)
		}
	}
}

func testKeysIndependent(t *testing.T, c counter.Counter) {
	names := []string{"a", "b", "", "x}y", "{a}"}
	for i, n := range names {
		seed(t, c, n, int64(i*10))
	}
	for i, n := range names {
		if v, ok := get(t, c, n); !ok || v != int64(i*10) {
			t.Fatalf("Get(%q) = %d, %v; want %d", n, v, ok, i*10)
		}
	}
}
