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
	"time"

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
	t.Run("AcquireReturnsValue", func(t *testing.T) {
		testAcquireValue(t, newCounter(t))
	})
	t.Run("FenceAndInstall", func(t *testing.T) {
		testFenceInstall(t, newCounter(t))
	})
	t.Run("FenceExpires", func(t *testing.T) {
		testFenceExpires(t, newCounter(t))
	})
	t.Run("FenceLostDuringRebuild", func(t *testing.T) {
		testFenceLost(t, newCounter(t))
	})
	t.Run("RebuildFencesInFlightTake", func(t *testing.T) {
		testRebuildInFlight(t, newCounter(t))
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
	_, taken, missing, err := c.Acquire(context.Background(), key, limit)
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
				_, taken, missing, err := c.Acquire(context.Background(), key, limit)
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

func fence(t *testing.T, c counter.Counter, key, token string, ttl time.Duration) bool {
	t.Helper()
	ok, err := c.Fence(context.Background(), key, token, ttl)
	if err != nil {
		t.Fatalf("Fence(%q, %q): %v", key, token, err)
	}
	return ok
}

func install(t *testing.T, c counter.Counter, key, token string, n int64) bool {
	t.Helper()
	ok, err := c.Install(context.Background(), key, token, n)
	if err != nil {
		t.Fatalf("Install(%q, %q, %d): %v", key, token, n, err)
	}
	return ok
}

// testAcquireValue: Acquire reports the value after the call, taken or not.
func testAcquireValue(t *testing.T, c counter.Counter) {
	seed(t, c, "v", 1)
	for want := int64(2); want <= 3; want++ {
		n, taken, _, err := c.Acquire(context.Background(), "v", 3)
		if err != nil || !taken || n != want {
			t.Fatalf("Acquire = %d, %v, %v; want %d, taken", n, taken, err, want)
		}
	}
	n, taken, missing, err := c.Acquire(context.Background(), "v", 3)
	if err != nil || taken || missing || n != 3 {
		t.Fatalf("Acquire at the limit = %d, %v, %v, %v; want 3, refused", n, taken, missing, err)
	}
	if n, _, missing, _ := c.Acquire(context.Background(), "none", 3); !missing || n != 0 {
		t.Fatalf("Acquire on a missing key = %d, missing %v; want 0, true", n, missing)
	}
}

// testFenceInstall: a fence is set only on a missing key; while it stands the
// key reads as missing and refuses takes; only its token installs the counter,
// once.
func testFenceInstall(t *testing.T, c counter.Counter) {
	const key = "award_stock:1:2"
	seed(t, c, "live", 4)
	if fence(t, c, "live", "t0", time.Minute) {
		t.Fatal("Fence on a live counter succeeded")
	}
	if v, _ := get(t, c, "live"); v != 4 {
		t.Fatalf("live counter = %d after a refused Fence, want 4", v)
	}
	if !fence(t, c, key, "t1", time.Minute) {
		t.Fatal("Fence on a missing key refused")
	}
	if fence(t, c, key, "t2", time.Minute) {
		t.Fatal("a second Fence replaced a live fence")
	}
	if taken, missing := acquire(t, c, key, 100); taken || !missing {
		t.Fatalf("Acquire on a fenced key = taken %v missing %v, want false true", taken, missing)
	}
	if _, ok := get(t, c, key); ok {
		t.Fatal("Get of a fenced key reported a counter")
	}
	if seed(t, c, key, 0) {
		t.Fatal("Seed overwrote a fence")
	}
	if install(t, c, key, "t2", 7) {
		t.Fatal("Install with another token succeeded")
	}
	if !install(t, c, key, "t1", 7) {
		t.Fatal("Install with the fence's token refused")
	}
	if v, ok := get(t, c, key); !ok || v != 7 {
		t.Fatalf("installed counter = %d (exists %v), want 7", v, ok)
	}
	if install(t, c, key, "t1", 9) {
		t.Fatal("a second Install overwrote the live counter")
	}
	if taken, _ := acquire(t, c, key, 8); !taken {
		t.Fatal("Acquire on the installed counter refused")
	}
	if v, _ := get(t, c, key); v != 8 {
		t.Fatalf("value = %d, want 8", v)
	}
}

// testFenceExpires: the fence of a rebuilder that died expires; a new
// rebuilder fences again, and the dead one's token no longer installs.
func testFenceExpires(t *testing.T, c counter.Counter) {
	const key = "sku_stock:1"
	if !fence(t, c, key, "dead", 50*time.Millisecond) {
		t.Fatal("Fence refused")
	}
	time.Sleep(150 * time.Millisecond)
	if !fence(t, c, key, "next", time.Minute) {
		t.Fatal("Fence after the previous one expired refused")
	}
	if install(t, c, key, "dead", 1) {
		t.Fatal("an expired, replaced fence's token installed")
	}
	if !install(t, c, key, "next", 2) {
		t.Fatal("Install refused")
	}
	if v, _ := get(t, c, key); v != 2 {
		t.Fatalf("value = %d, want 2", v)
	}
}

// testFenceLost: a cache loss during a rebuild deletes the fence; the
// rebuilder's Install must not resurrect the key from a stale count.
func testFenceLost(t *testing.T, c counter.Counter) {
	const key = "award_stock:3:4"
	fence(t, c, key, "t", time.Minute)
	if err := c.Delete(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	if install(t, c, key, "t", 5) {
		t.Fatal("Install after the fence was lost succeeded")
	}
	if _, ok := get(t, c, key); ok {
		t.Fatal("the key exists after a refused Install")
	}
}

// testRebuildInFlight is the interleaving the fence exists for: a take whose
// fact has not committed yet, then a cache loss, a rebuild, the commit, and
// more takes. The caller's part of the protocol (waiting out the transactions
// that took from the lost counter, before counting) is modelled by counting
// only once the in-flight fact committed; what the counter must guarantee is
// that nothing is taken between the loss and Install.
func testRebuildInFlight(t *testing.T, c counter.Counter) {
	const key, limit = "award_stock:5:6", 3
	committed := int64(0)
	seed(t, c, key, 0)
	if taken, _ := acquire(t, c, key, limit); !taken { // draw 1, committed
		t.Fatal("take 1 refused")
	}
	committed++
	if taken, _ := acquire(t, c, key, limit); !taken { // draw 2: in flight
		t.Fatal("take 2 refused")
	}
	if err := c.Delete(context.Background(), key); err != nil { // cache loss
		t.Fatal(err)
	}
	if !fence(t, c, key, "rebuild", time.Minute) {
		t.Fatal("Fence refused")
	}
	// Draws arriving during the rebuild are refused (undersell).
	for range 5 {
		if taken, missing := acquire(t, c, key, limit); taken || !missing {
			t.Fatalf("take during the rebuild = taken %v missing %v, want refused as missing", taken, missing)
		}
	}
	committed++ // draw 2 commits before the rebuild counts (the caller waited)
	if !install(t, c, key, "rebuild", committed) {
		t.Fatal("Install refused")
	}
	for range 5 {
		if taken, _ := acquire(t, c, key, limit); taken {
			committed++
		}
	}
	if committed != limit {
		t.Fatalf("facts committed = %d, want exactly the limit %d", committed, limit)
	}
}
