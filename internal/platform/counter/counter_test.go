package counter_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/counter/countertest"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

func TestMemoryContract(t *testing.T) {
	countertest.Run(t, func(*testing.T) counter.Counter { return counter.NewMemory() })
}

func TestZeroMemoryContract(t *testing.T) {
	countertest.Run(t, func(*testing.T) counter.Counter { return new(counter.Memory) })
}

func TestRedisContract(t *testing.T) {
	countertest.Run(t, func(t *testing.T) counter.Counter {
		c, prefix := redisxtest.New(t)
		return counter.NewRedis(c, prefix)
	})
}

// TestRedisKeyLayout checks the documented layout: one string key per counter
// at <prefix>counter:{name}, holding the decimal value, without TTL.
func TestRedisKeyLayout(t *testing.T) {
	c, prefix := redisxtest.New(t)
	r := counter.NewRedis(c, prefix)
	ctx := context.Background()
	if _, err := r.Seed(ctx, "strategy:1:award:2", 7); err != nil {
		t.Fatal(err)
	}
	want := prefix + "counter:{strategy:1:award:2}"
	if got := r.Key("strategy:1:award:2"); got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
	keys, err := redisxtest.Keys(ctx, c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != want {
		t.Fatalf("keys = %v, want [%s]", keys, want)
	}
	if v, err := c.Get(ctx, want).Result(); err != nil || v != "7" {
		t.Fatalf("raw value = %q, %v", v, err)
	}
	if ttl, err := c.PTTL(ctx, want).Result(); err != nil || ttl >= 0 {
		t.Fatalf("PTTL = %v, %v; want no expiry", ttl, err)
	}
	// The script falls back to EVAL when the script cache is empty.
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, taken, _, err := r.Acquire(ctx, "strategy:1:award:2", 10); err != nil || !taken {
		t.Fatalf("Acquire after SCRIPT FLUSH = %v, %v", taken, err)
	}
}

func TestRedisErrorsAreWrapped(t *testing.T) {
	c, prefix := redisxtest.New(t)
	r := counter.NewRedis(c, prefix)
	ctx := context.Background()
	if err := c.Set(ctx, r.Key("bad"), "not-a-number", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := r.Acquire(ctx, "bad", 10); err == nil {
		t.Fatal("Acquire on a non-integer value succeeded")
	}
	if _, _, err := r.Get(ctx, "bad"); err == nil {
		t.Fatal("Get of a non-integer value succeeded")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Seed(cctx, "x", 1); err == nil {
		t.Fatal("Seed with a cancelled context succeeded")
	}
}

func BenchmarkMemoryAcquire(b *testing.B) {
	c := counter.NewMemory()
	ctx := context.Background()
	c.Seed(ctx, "k", 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, taken, _, _ := c.Acquire(ctx, "k", math.MaxInt64); !taken {
				b.Error("refused")
				return
			}
		}
	})
}

func BenchmarkRedisAcquire(b *testing.B) {
	rc, prefix := redisxtest.New(b)
	c := counter.NewRedis(rc, prefix)
	ctx := context.Background()
	if _, err := c.Seed(ctx, "k", 0); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16) // network-bound: many requests in flight, as on a server
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, taken, _, err := c.Acquire(ctx, "k", math.MaxInt64); err != nil || !taken {
				b.Errorf("Acquire = %v, %v", taken, err)
				return
			}
		}
	})
}

// TestRedisFenceLayout: a fence is the string "fence:<token>" at the counter's
// key with the fence's TTL; Install replaces it with the decimal value and no
// TTL.
func TestRedisFenceLayout(t *testing.T) {
	c, prefix := redisxtest.New(t)
	r := counter.NewRedis(c, prefix)
	ctx := context.Background()
	if ok, err := r.Fence(ctx, "award_stock:1:2", "tok", 30*time.Second); err != nil || !ok {
		t.Fatalf("Fence = %v, %v", ok, err)
	}
	key := r.Key("award_stock:1:2")
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "fence:tok" {
		t.Fatalf("raw fence = %q, %v", v, err)
	}
	if ttl, err := c.PTTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > 30*time.Second {
		t.Fatalf("fence PTTL = %v, %v; want ≤ 30s", ttl, err)
	}
	if ok, err := r.Install(ctx, "award_stock:1:2", "tok", 12); err != nil || !ok {
		t.Fatalf("Install = %v, %v", ok, err)
	}
	if v, err := c.Get(ctx, key).Result(); err != nil || v != "12" {
		t.Fatalf("raw value = %q, %v", v, err)
	}
	if ttl, err := c.PTTL(ctx, key).Result(); err != nil || ttl >= 0 {
		t.Fatalf("PTTL after Install = %v, %v; want no expiry", ttl, err)
	}
	if ok, err := r.Release(ctx, "award_stock:9:9"); err != nil || ok {
		t.Fatalf("Release of a missing key = %v, %v", ok, err)
	}
	if _, err := r.Fence(ctx, "award_stock:9:9", "t", time.Minute); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Release(ctx, "award_stock:9:9"); err != nil || ok {
		t.Fatalf("Release of a fenced key = %v, %v; want false, nil", ok, err)
	}
}
