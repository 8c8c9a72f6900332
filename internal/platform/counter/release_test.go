package counter_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// releaser is a Counter that can give units back.
type releaser interface {
	counter.Counter
	Release(ctx context.Context, key string) (bool, error)
}

func TestMemoryRelease(t *testing.T) {
	runRelease(t, func(*testing.T) releaser { return counter.NewMemory() })
}

func TestRedisRelease(t *testing.T) {
	runRelease(t, func(t *testing.T) releaser {
		c, prefix := redisxtest.New(t)
		return counter.NewRedis(c, prefix)
	})
}

func runRelease(t *testing.T, newCounter func(*testing.T) releaser) {
	t.Run("GivesBackOneUnit", func(t *testing.T) { testReleaseOne(t, newCounter(t)) })
	t.Run("MissingAndZeroChangeNothing", func(t *testing.T) { testReleaseMissingZero(t, newCounter(t)) })
	t.Run("ConcurrentTakeAndRelease", func(t *testing.T) { testReleaseConcurrent(t, newCounter(t)) })
	t.Run("FencedChangesNothing", func(t *testing.T) { testReleaseFenced(t, newCounter(t)) })
}

// A unit given back while its counter is being rebuilt is not applied to the
// fence (the rebuild counts the facts itself), and the installed value stands.
func testReleaseFenced(t *testing.T, c releaser) {
	ctx := context.Background()
	const key = "activity:sku:9013"
	if ok, err := c.Fence(ctx, key, "t", time.Minute); err != nil || !ok {
		t.Fatalf("Fence = %v, %v", ok, err)
	}
	if release(t, c, key) {
		t.Fatal("Release of a fenced key reported true")
	}
	if ok, err := c.Install(ctx, key, "t", 4); err != nil || !ok {
		t.Fatalf("Install = %v, %v", ok, err)
	}
	if v, ok := value(t, c, key); !ok || v != 4 {
		t.Fatalf("value = %d, %v; want 4", v, ok)
	}
}

func release(t *testing.T, c releaser, key string) bool {
	t.Helper()
	ok, err := c.Release(context.Background(), key)
	if err != nil {
		t.Fatalf("Release(%q): %v", key, err)
	}
	return ok
}

func value(t *testing.T, c releaser, key string) (int64, bool) {
	t.Helper()
	v, ok, err := c.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, ok
}

// A released unit can be taken again: a full counter accepts one more Acquire
// after one Release, and only one.
func testReleaseOne(t *testing.T, c releaser) {
	ctx := context.Background()
	const key = "activity:sku:9011"
	if _, err := c.Seed(ctx, key, 3); err != nil {
		t.Fatal(err)
	}
	if _, taken, _, err := c.Acquire(ctx, key, 3); err != nil || taken {
		t.Fatalf("Acquire at the limit = %v, %v; want refused", taken, err)
	}
	if !release(t, c, key) {
		t.Fatal("Release of a taken unit reported false")
	}
	if v, _ := value(t, c, key); v != 2 {
		t.Fatalf("value after Release = %d, want 2", v)
	}
	if _, taken, _, err := c.Acquire(ctx, key, 3); err != nil || !taken {
		t.Fatalf("Acquire after Release = %v, %v; want taken", taken, err)
	}
	if _, taken, _, err := c.Acquire(ctx, key, 3); err != nil || taken {
		t.Fatalf("second Acquire after one Release = %v, %v; want refused", taken, err)
	}
}

// Release never creates a key (a lost counter is rebuilt from durable facts,
// not from releases) and never goes below zero.
func testReleaseMissingZero(t *testing.T, c releaser) {
	ctx := context.Background()
	if release(t, c, "missing") {
		t.Fatal("Release of a missing key reported true")
	}
	if _, ok := value(t, c, "missing"); ok {
		t.Fatal("Release created a missing key")
	}
	if _, err := c.Seed(ctx, "zero", 0); err != nil {
		t.Fatal(err)
	}
	if release(t, c, "zero") {
		t.Fatal("Release at 0 reported true")
	}
	if v, ok := value(t, c, "zero"); !ok || v != 0 {
		t.Fatalf("value after Release at 0 = %d, %v; want 0", v, ok)
	}
}

// Goroutines that take units and give some back keep the counter exact and
// within [0, limit]: the final value is takes − releases.
func testReleaseConcurrent(t *testing.T, c releaser) {
	ctx := context.Background()
	const (
		key     = "activity:sku:9012"
		limit   = 40
		workers = 16
		rounds  = 25
	)
	if _, err := c.Seed(ctx, key, 0); err != nil {
		t.Fatal(err)
	}
	var taken, released atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				_, ok, _, err := c.Acquire(ctx, key, limit)
				if err != nil {
					t.Error(err)
					return
				}
				if !ok {
					continue
				}
				taken.Add(1)
				if (w+i)%2 == 0 {
					ok, err := c.Release(ctx, key)
					if err != nil || !ok {
						t.Errorf("Release of a unit just taken = %v, %v", ok, err)
						return
					}
					released.Add(1)
				}
			}
		})
	}
	wg.Wait()
	v, _ := value(t, c, key)
	if want := taken.Load() - released.Load(); v != want {
		t.Fatalf("value = %d, want takes %d − releases %d = %d", v, taken.Load(), released.Load(), want)
	}
	if v < 0 || v > limit {
		t.Fatalf("value %d outside [0, %d]", v, limit)
	}
	// Draining with releases stops at zero.
	for range v {
		if !release(t, c, key) {
			t.Fatal("Release refused while units were taken")
		}
	}
	if release(t, c, key) {
		t.Fatal("Release below zero reported true")
	}
}
