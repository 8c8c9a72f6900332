package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// fakeClock is a manually advanced clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// factory builds a limiter for cfg that reads the time from clk.
type factory func(t *testing.T, cfg Config, clk *fakeClock) (Limiter, error)

func memoryFactory(_ *testing.T, cfg Config, clk *fakeClock) (Limiter, error) {
	return NewMemory(cfg, MemoryOptions{Now: clk.Now})
}

func redisFactory(t *testing.T, cfg Config, clk *fakeClock) (Limiter, error) {
	c, prefix := redisxtest.New(t)
	return NewRedis(c, prefix, cfg, clk.Now)
}

func TestMemoryContract(t *testing.T) { runContract(t, memoryFactory) }
func TestRedisContract(t *testing.T)  { runContract(t, redisFactory) }

func runContract(t *testing.T, f factory) {
	t.Run("ZeroConfigOnePerSecond", func(t *testing.T) { testDefaults(t, f) })
	t.Run("Burst", func(t *testing.T) { testBurst(t, f) })
	t.Run("KeysIndependent", func(t *testing.T) { testKeys(t, f) })
	t.Run("BlacklistBlocksForBlockFor", func(t *testing.T) { testBlacklist(t, f) })
	t.Run("RefusalsForgottenAfterBlockFor", func(t *testing.T) { testRefusalWindow(t, f) })
	t.Run("NoBlacklistNeverBlocks", func(t *testing.T) { testNoBlacklist(t, f) })
	t.Run("ConcurrentBurstExact", func(t *testing.T) { testConcurrent(t, f) })
	t.Run("ConcurrentBlacklistExact", func(t *testing.T) { testConcurrentBlacklist(t, f) })
	t.Run("InvalidConfig", func(t *testing.T) { testInvalid(t, f) })
}

func mustNew(t *testing.T, f factory, cfg Config, clk *fakeClock) Limiter {
	t.Helper()
	l, err := f(t, cfg, clk)
	if err != nil {
		t.Fatalf("new limiter %+v: %v", cfg, err)
	}
	return l
}

// expect calls Allow and checks the decision.
func expect(t *testing.T, l Limiter, key string, want Decision, what string) {
	t.Helper()
	got, err := l.Allow(context.Background(), key)
	if err != nil {
		t.Fatalf("%s: Allow(%q): %v", what, key, err)
	}
	if got != want {
		t.Fatalf("%s: Allow(%q) = %+v, want %+v", what, key, got, want)
	}
}

var (
	allowed = Decision{Allowed: true}
	refused = Decision{}
	blocked = Decision{Blocked: true}
)

func testDefaults(t *testing.T, f factory) {
	clk := newClock()
	l := mustNew(t, f, Config{}, clk)
	expect(t, l, "u", allowed, "first call")
	expect(t, l, "u", refused, "immediate second call")
	clk.Advance(999 * time.Millisecond)
	expect(t, l, "u", refused, "after 999ms")
	clk.Advance(time.Millisecond)
	expect(t, l, "u", allowed, "after 1s")
	expect(t, l, "u", refused, "again at once")
	for i := range 50 { // no blacklisting by default
		clk.Advance(10 * time.Millisecond)
		if d, err := l.Allow(context.Background(), "u"); err != nil || d.Blocked {
			t.Fatalf("call %d: %+v, %v: zero Config must not block", i, d, err)
		}
	}
}

func testBurst(t *testing.T, f factory) {
	clk := newClock()
	l := mustNew(t, f, Config{Rate: 2, Burst: 3}, clk)
	for i := range 3 {
		expect(t, l, "u", allowed, fmt.Sprintf("burst call %d", i))
	}
	expect(t, l, "u", refused, "past the burst")
	clk.Advance(500 * time.Millisecond)
	expect(t, l, "u", allowed, "one permit after 500ms at 2/s")
	expect(t, l, "u", refused, "only one")
	clk.Advance(10 * time.Second) // refills to Burst, not more
	for i := range 3 {
		expect(t, l, "u", allowed, fmt.Sprintf("refilled call %d", i))
	}
	expect(t, l, "u", refused, "bucket holds Burst permits at most")
}

func testKeys(t *testing.T, f factory) {
	clk := newClock()
	l := mustNew(t, f, Config{BlacklistCount: 1, BlockFor: time.Hour}, clk)
	expect(t, l, "a", allowed, "a first")
	expect(t, l, "a", refused, "a second")
	expect(t, l, "a", blocked, "a third")
	expect(t, l, "b", allowed, "b is not limited by a")
	expect(t, l, "a}", allowed, "a key with a brace is another key")
	expect(t, l, "", allowed, "the empty key is a key")
}

func testBlacklist(t *testing.T, f factory) {
	clk := newClock()
	l := mustNew(t, f, Config{Rate: 1, BlacklistCount: 2, BlockFor: time.Hour}, clk)
	expect(t, l, "u", allowed, "first call")
	expect(t, l, "u", refused, "refusal 1")
	expect(t, l, "u", refused, "refusal 2")
	expect(t, l, "u", blocked, "refusal 3 exceeds BlacklistCount")
	clk.Advance(5 * time.Second) // permits are available again, but the key is blocked
	expect(t, l, "u", blocked, "blocked with permits available")
	clk.Advance(time.Hour - 5*time.Second - time.Millisecond)
	expect(t, l, "u", blocked, "1ms before the block ends")
	clk.Advance(time.Millisecond)
	expect(t, l, "u", allowed, "block over")
	// Refusals restarted from zero: two more refusals do not block.
	expect(t, l, "u", refused, "refusal 1 after block")
	expect(t, l, "u", refused, "refusal 2 after block")
	expect(t, l, "u", blocked, "refusal 3 after block")
}

func testRefusalWindow(t *testing.T, f factory) {
	clk := newClock()
	l := mustNew(t, f, Config{BlacklistCount: 2, BlockFor: time.Minute}, clk)
	expect(t, l, "u", allowed, "first call")
	expect(t, l, "u", refused, "refusal 1")
	expect(t, l, "u", refused, "refusal 2")
	clk.Advance(time.Minute) // no refusal for BlockFor: forgotten
	expect(t, l, "u", allowed, "after a quiet minute")
	expect(t, l, "u", refused, "refusal 1 of a new window")
	expect(t, l, "u", refused, "refusal 2 of a new window")
	expect(t, l, "u", blocked, "refusal 3 of the new window")
}

func testNoBlacklist(t *testing.T, f factory) {
	clk := newClock()
	l := mustNew(t, f, Config{Rate: 1}, clk)
	expect(t, l, "u", allowed, "first call")
	for i := range 100 {
		expect(t, l, "u", refused, fmt.Sprintf("refusal %d", i))
	}
	clk.Advance(time.Second)
	expect(t, l, "u", allowed, "next second")
}

// testConcurrent: 32 goroutines hit one key at one instant; exactly Burst pass.
func testConcurrent(t *testing.T, f factory) {
	const workers, calls, burst = 32, 4, 10
	clk := newClock()
	l := mustNew(t, f, Config{Rate: 1, Burst: burst}, clk)
	var ok atomic.Int32
	errs := make(chan error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			<-start
			for range calls {
				d, err := l.Allow(context.Background(), "hot")
				if err != nil {
					errs <- err
					return
				}
				if d.Allowed {
					ok.Add(1)
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
	if n := ok.Load(); n != burst {
		t.Fatalf("%d of %d concurrent calls allowed, want exactly %d", n, workers*calls, burst)
	}
}

// testConcurrentBlacklist: with one permit and BlacklistCount 5, of many
// concurrent calls exactly 1 is allowed, exactly 5 refused, and the rest
// blocked: refusals are counted atomically.
func testConcurrentBlacklist(t *testing.T, f factory) {
	const workers, calls = 16, 4
	clk := newClock()
	l := mustNew(t, f, Config{BlacklistCount: 5, BlockFor: time.Hour}, clk)
	var counts [3]atomic.Int32 // allowed, refused, blocked
	errs := make(chan error, workers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			<-start
			for range calls {
				d, err := l.Allow(context.Background(), "hot")
				if err != nil {
					errs <- err
					return
				}
				switch {
				case d.Allowed:
					counts[0].Add(1)
				case d.Blocked:
					counts[2].Add(1)
				default:
					counts[1].Add(1)
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
	a, r, b := counts[0].Load(), counts[1].Load(), counts[2].Load()
	if a != 1 || r != 5 || b != workers*calls-6 {
		t.Fatalf("allowed %d refused %d blocked %d; want 1, 5, %d", a, r, b, workers*calls-6)
	}
}

func testInvalid(t *testing.T, f factory) {
	for _, cfg := range []Config{
		{Rate: -1}, {Rate: 1e-9}, {Rate: 1e7}, {Burst: -1}, {BlacklistCount: -1},
		{BlockFor: -time.Second}, {BlockFor: time.Microsecond},
	} {
		if _, err := f(t, cfg, newClock()); !errors.Is(err, ErrConfig) {
			t.Errorf("config %+v: error %v, want ErrConfig", cfg, err)
		}
	}
}

// TestRedisServerClock uses the Redis server's clock (no fake clock), with a
// rate slow enough (one permit per 100 s) that no scheduling delay can refill
// the bucket between calls.
func TestRedisServerClock(t *testing.T) {
	c, prefix := redisxtest.New(t)
	l, err := NewRedis(c, prefix, Config{Rate: 0.01, BlacklistCount: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	expect(t, l, "u", allowed, "first call")
	expect(t, l, "u", refused, "refusal 1")
	expect(t, l, "u", refused, "refusal 2")
	expect(t, l, "u", blocked, "refusal 3")
	expect(t, l, "u", blocked, "still blocked")
	expect(t, l, "v", allowed, "another user")

	// The layout documented in the package doc, with garbage-collecting TTLs.
	ctx := context.Background()
	keys := l.Keys("u")
	if want := prefix + "ratelimit:{u}:block"; keys[2] != want {
		t.Fatalf("block key = %q, want %q", keys[2], want)
	}
	ttl, err := c.PTTL(ctx, keys[2]).Result()
	if err != nil || ttl <= 23*time.Hour || ttl > 24*time.Hour {
		t.Fatalf("block key PTTL = %v, %v; want about 24h", ttl, err)
	}
	if n, _ := c.Exists(ctx, keys[0], keys[1]).Result(); n != 0 {
		t.Fatalf("tat and refusals keys survive the block start (%d exist)", n)
	}
	vk := l.Keys("v")
	ttl, err = c.PTTL(ctx, vk[0]).Result()
	if err != nil || ttl <= 0 || ttl > 102*time.Second {
		t.Fatalf("tat key PTTL = %v, %v; want at most interval + slack", ttl, err)
	}
}

func TestRedisScriptCacheFlushed(t *testing.T) {
	c, prefix := redisxtest.New(t)
	l, err := NewRedis(c, prefix, Config{Rate: 0.01}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ScriptFlush(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	expect(t, l, "u", allowed, "after SCRIPT FLUSH")
}

// TestMemoryBounded: many distinct idle keys never hold more than MaxKeys
// entries, and eviction keeps blocked keys blocked.
func TestMemoryBounded(t *testing.T) {
	const maxKeys = 64
	clk := newClock()
	m, err := NewMemory(Config{BlacklistCount: 1, BlockFor: time.Hour}, MemoryOptions{Now: clk.Now, MaxKeys: maxKeys})
	if err != nil {
		t.Fatal(err)
	}
	expect(t, m, "bad", allowed, "bad first")
	expect(t, m, "bad", refused, "bad refusal 1")
	expect(t, m, "bad", blocked, "bad refusal 2")
	for i := range 10_000 {
		clk.Advance(10 * time.Millisecond)
		expect(t, m, fmt.Sprintf("user-%d", i), allowed, "fresh user")
		if n := m.size(); n > maxKeys {
			t.Fatalf("after %d users the table holds %d keys, bound %d", i+1, n, maxKeys)
		}
	}
	expect(t, m, "bad", blocked, "blocked key survived eviction")
	// A key evicted while idle decides as if it had been kept.
	expect(t, m, "user-0", allowed, "idle key")
}

func TestMemoryZeroOptions(t *testing.T) {
	m, err := NewMemory(Config{}, MemoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.shards)*m.per != DefaultMaxKeys {
		t.Fatalf("capacity %d, want %d", len(m.shards)*m.per, DefaultMaxKeys)
	}
	expect(t, m, "u", allowed, "real clock, first call")
	if _, err := NewMemory(Config{}, MemoryOptions{MaxKeys: -1}); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative MaxKeys: %v, want ErrConfig", err)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	m, _ := NewMemory(Config{Rate: 1e6, Burst: 1000}, MemoryOptions{})
	benchAllow(b, m)
}

func BenchmarkRedisAllow(b *testing.B) {
	c, prefix := redisxtest.New(b)
	l, _ := NewRedis(c, prefix, Config{Rate: 1e6, Burst: 1000}, nil)
	b.SetParallelism(16) // network-bound: many requests in flight, as on a server
	benchAllow(b, l)
}

func benchAllow(b *testing.B, l Limiter) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprintf("user-%d", i)
	}
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := keys[n.Add(1)%int64(len(keys))]
			if _, err := l.Allow(context.Background(), key); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
