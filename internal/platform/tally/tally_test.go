package tally_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/platform/tally"
	"github.com/bigmarket/bigmarket/internal/platform/tally/tallytest"
)

func TestMemoryContract(t *testing.T) {
	tallytest.Run(t, func(*testing.T) tally.Store { return tally.NewMemory(0) })
}

func TestZeroMemoryContract(t *testing.T) {
	tallytest.Run(t, func(*testing.T) tally.Store { return new(tally.Memory) })
}

func TestRedisContract(t *testing.T) {
	tallytest.Run(t, func(t *testing.T) tally.Store {
		c, prefix := redisxtest.New(t)
		r, err := tally.NewRedis(c, prefix, "drawcodes", 0)
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
}

// TestRedisKeyLayout checks the documented layout: one hash per minute at
// <prefix>drawcodes:{minute}, a field per label, expiring after the
// retention.
func TestRedisKeyLayout(t *testing.T) {
	c, prefix := redisxtest.New(t)
	r, err := tally.NewRedis(c, prefix, "drawcodes", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Add(ctx, []tally.Bucket{{Minute: 29000000, Counts: map[string]int64{"0000": 2, "0004": 1}}}); err != nil {
		t.Fatal(err)
	}
	want := prefix + "drawcodes:{29000000}"
	if got := r.Key(29000000); got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
	keys, err := redisxtest.Keys(ctx, c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != want {
		t.Fatalf("keys = %v, want [%s]", keys, want)
	}
	fields, err := c.HGetAll(ctx, want).Result()
	if err != nil || !maps.Equal(fields, map[string]string{"0000": "2", "0004": "1"}) {
		t.Fatalf("hash = %v, %v", fields, err)
	}
	if ttl, err := c.PTTL(ctx, want).Result(); err != nil || ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("PTTL = %v, %v; want about an hour", ttl, err)
	}
	if _, err := tally.NewRedis(c, prefix, "a{b", 0); !errors.Is(err, tally.ErrConfig) {
		t.Fatalf("series with a brace: %v", err)
	}
}

// TestMemoryRetention: minutes older than the retention of the newest minute
// added are forgotten.
func TestMemoryRetention(t *testing.T) {
	s := tally.NewMemory(10 * time.Minute)
	ctx := context.Background()
	for _, m := range []int64{100, 105, 110, 111} {
		if err := s.Add(ctx, []tally.Bucket{{Minute: m, Counts: map[string]int64{"0000": 1}}}); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := s.Read(ctx, 0, 200)
	var ms []int64
	for _, b := range got {
		ms = append(ms, b.Minute)
	}
	if len(ms) != 3 || ms[0] != 105 || ms[2] != 111 {
		t.Fatalf("minutes kept = %v, want [105 110 111]", ms)
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// flaky is a Store whose Add fails while down (with a NotAddedError naming
// only the buckets of minute partial when partial is set), else adds to a
// Memory.
type flaky struct {
	tally.Memory
	mu      sync.Mutex
	down    bool
	partial int64
}

func (f *flaky) Add(ctx context.Context, batch []tally.Bucket) error {
	f.mu.Lock()
	down, partial := f.down, f.partial
	f.mu.Unlock()
	if !down {
		return f.Memory.Add(ctx, batch)
	}
	if partial == 0 {
		return errors.New("store down")
	}
	var added, not []tally.Bucket
	for _, b := range batch {
		if b.Minute == partial {
			not = append(not, b)
		} else {
			added = append(added, b)
		}
	}
	if err := f.Memory.Add(ctx, added); err != nil {
		return err
	}
	return &tally.NotAddedError{Buckets: not, Err: errors.New("some commands failed")}
}

func (f *flaky) set(down bool, partial int64) {
	f.mu.Lock()
	f.down, f.partial = down, partial
	f.mu.Unlock()
}

func counts(t *testing.T, s tally.Store, minute int64) map[string]int64 {
	t.Helper()
	bs, err := s.Read(context.Background(), minute, minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) == 0 {
		return map[string]int64{}
	}
	return bs[0].Counts
}

var t0 = time.Date(2026, 11, 30, 14, 0, 30, 0, time.UTC)

// TestRecorderFlushes: counts land in the minute of their time, once per
// flush, and a flush with nothing pending writes nothing.
func TestRecorderFlushes(t *testing.T) {
	store := tally.NewMemory(0)
	clk := &clock{t: t0}
	r, err := tally.NewRecorder(tally.RecorderConfig{Store: store, Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := tally.MinuteOf(t0)
	r.Count(t0, "0000")
	r.Count(t0.Add(10*time.Second), "0000")
	r.Count(t0.Add(40*time.Second), "ERR_BIZ_006") // the next minute
	if r.Pending() != 3 {
		t.Fatalf("pending = %d, want 3", r.Pending())
	}
	if got := counts(t, store, m); len(got) != 0 {
		t.Fatalf("counted before a flush: %v", got)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, store, m); !maps.Equal(got, map[string]int64{"0000": 2}) {
		t.Fatalf("minute %d = %v", m, got)
	}
	if got := counts(t, store, m+1); !maps.Equal(got, map[string]int64{"ERR_BIZ_006": 1}) {
		t.Fatalf("minute %d = %v", m+1, got)
	}
	if r.Pending() != 0 {
		t.Fatalf("pending after flush = %d", r.Pending())
	}
}

// TestRecorderKeepsCountsOfAFailedFlush: a failed flush keeps its counts and
// the next flush adds them with those made meanwhile; a partly failed flush
// retries only what was not added; counts past the retention are dropped.
func TestRecorderKeepsCountsOfAFailedFlush(t *testing.T) {
	store := &flaky{}
	clk := &clock{t: t0}
	r, err := tally.NewRecorder(tally.RecorderConfig{Store: store, Now: clk.now, Retention: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	m := tally.MinuteOf(t0)

	r.Count(t0, "0000")
	store.set(true, 0)
	if err := r.Flush(ctx); err == nil {
		t.Fatal("flush to a store that is down succeeded")
	}
	r.Count(t0, "0000")
	r.Count(t0, "0004")
	store.set(false, 0)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, store, m); !maps.Equal(got, map[string]int64{"0000": 2, "0004": 1}) {
		t.Fatalf("after recovery: %v, want 0000:2 0004:1", got)
	}

	// Part of a batch fails: only that part is retried.
	r.Count(t0, "0000")
	r.Count(t0.Add(time.Minute), "0005")
	store.set(true, m+1)
	if err := r.Flush(ctx); err == nil {
		t.Fatal("a partly failed flush reported success")
	}
	if r.Pending() != 1 {
		t.Fatalf("pending after a partial failure = %d, want 1", r.Pending())
	}
	store.set(false, 0)
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, store, m); !maps.Equal(got, map[string]int64{"0000": 3, "0004": 1}) {
		t.Fatalf("minute %d: %v, want 0000:3 0004:1 (no count twice)", m, got)
	}
	if got := counts(t, store, m+1); !maps.Equal(got, map[string]int64{"0005": 1}) {
		t.Fatalf("minute %d: %v", m+1, got)
	}

	// A long outage: counts past the retention are dropped, the rest kept.
	r.Count(t0, "0000")
	r.Count(t0.Add(20*time.Minute), "0000")
	clk.set(t0.Add(20 * time.Minute))
	store.set(true, 0)
	_ = r.Flush(ctx)
	if r.Pending() != 1 {
		t.Fatalf("pending after a long outage = %d, want 1 (the old count dropped)", r.Pending())
	}
}

// TestRecorderCountsWhileFlushing: counts made by many goroutines while
// flushes run are all added, once.
func TestRecorderCountsWhileFlushing(t *testing.T) {
	store := tally.NewMemory(0)
	r, err := tally.NewRecorder(tally.RecorderConfig{Store: store, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 2000
	done := make(chan struct{})
	var flushes sync.WaitGroup
	flushes.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				if err := r.Flush(context.Background()); err != nil {
					t.Error(err)
					return
				}
			}
		}
	})
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				r.Count(t0, "0000")
			}
		})
	}
	wg.Wait()
	close(done)
	flushes.Wait()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, store, tally.MinuteOf(t0))["0000"]; got != workers*each {
		t.Fatalf("counted %d, want %d", got, workers*each)
	}
}

// TestRecorderRunFlushesOnStop: the counts made before the stop are in the
// store when Run returns.
func TestRecorderRunFlushesOnStop(t *testing.T) {
	store := tally.NewMemory(0)
	r, err := tally.NewRecorder(tally.RecorderConfig{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, time.Hour) }()
	now := time.Now()
	r.Count(now, "0006")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := counts(t, store, tally.MinuteOf(now)); got["0006"] != 1 {
		t.Fatalf("after Run stopped: %v, want 0006:1", got)
	}
}

func TestNewRecorderNeedsAStore(t *testing.T) {
	if _, err := tally.NewRecorder(tally.RecorderConfig{}); err == nil {
		t.Fatal("a recorder without a store was made")
	}
}

// BenchmarkRecorderCount measures what a draw answer costs the request: one
// count, from all CPUs at once.
func BenchmarkRecorderCount(b *testing.B) {
	r, err := tally.NewRecorder(tally.RecorderConfig{Store: tally.NewMemory(0)})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r.Count(now, "0000")
		}
	})
}
