package counter_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// pipeHook records the size of every pipeline of takes (EVALSHA) sent and
// holds the first one until release is closed. (A new connection's own
// pipeline, CLIENT SETINFO, is not counted.)
type pipeHook struct {
	mu      sync.Mutex
	sizes   []int
	held    chan struct{} // closed when the first pipeline is held
	release chan struct{}
	once    sync.Once
}

func newPipeHook() *pipeHook {
	return &pipeHook{held: make(chan struct{}), release: make(chan struct{})}
}

func (h *pipeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *pipeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (h *pipeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if cmds[0].Name() != "evalsha" {
			return next(ctx, cmds)
		}
		h.mu.Lock()
		h.sizes = append(h.sizes, len(cmds))
		first := len(h.sizes) == 1
		h.mu.Unlock()
		if first {
			h.once.Do(func() { close(h.held) })
			<-h.release
		}
		return next(ctx, cmds)
	}
}

func (h *pipeHook) pipelines() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.sizes)
}

// waitQueued waits until n takes wait for a pipeline.
func waitQueued(t *testing.T, r *counter.Redis, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for counter.QueuedTakes(r) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d takes queued, want %d", counter.QueuedTakes(r), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// hookedCounter returns a Redis counter whose client records its pipelines of
// takes (and holds the first), with the counter "k" seeded at 0.
func hookedCounter(t *testing.T) (*counter.Redis, *pipeHook) {
	t.Helper()
	c, prefix := redisxtest.New(t)
	h := newPipeHook()
	c.AddHook(h)
	r := counter.NewRedis(c, prefix)
	if _, err := r.Seed(context.Background(), "k", 0); err != nil {
		t.Fatal(err)
	}
	return r, h
}

// TestRedisTakesSharePipelines holds one take's pipeline in flight, queues
// more takes than the stock left behind it, and checks that they go to Redis
// in one pipeline and that each keeps its own outcome: exactly the stock is
// taken, each value once, the rest refused.
func TestRedisTakesSharePipelines(t *testing.T) {
	r, h := hookedCounter(t)
	ctx := context.Background()
	const stock, callers = 20, 30
	type outcome struct {
		n     int64
		taken bool
		err   error
	}
	out := make([]outcome, callers)
	var wg sync.WaitGroup
	take := func(i int) {
		out[i].n, out[i].taken, _, out[i].err = r.Acquire(ctx, "k", stock)
	}
	wg.Go(func() { take(0) })
	<-h.held
	for i := 1; i < callers; i++ {
		wg.Go(func() { take(i) })
	}
	waitQueued(t, r, callers-1)
	close(h.release)
	wg.Wait()

	if got := h.pipelines(); !slices.Equal(got, []int{1, callers - 1}) {
		t.Fatalf("pipelines of %v commands, want [1 %d]", got, callers-1)
	}
	var values []int64
	for i, o := range out {
		if o.err != nil {
			t.Fatalf("take %d: %v", i, o.err)
		}
		if o.taken {
			values = append(values, o.n)
		}
	}
	slices.Sort(values)
	for i, v := range values {
		if v != int64(i+1) || len(values) != stock {
			t.Fatalf("values taken %v, want 1..%d once each", values, stock)
		}
	}
	if n, _, err := r.Get(ctx, "k"); err != nil || n != stock {
		t.Fatalf("counter = %d, %v; want %d", n, err, stock)
	}
}

// TestRedisPipedTakeCallerGone cancels one queued take's context: it gets the
// context's error and is not sent, and its neighbours in the pipeline are
// taken.
func TestRedisPipedTakeCallerGone(t *testing.T) {
	r, h := hookedCounter(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	wg.Go(func() { _, _, _, errs[0] = r.Acquire(ctx, "k", 100) })
	<-h.held
	gone, cancel := context.WithCancel(ctx)
	wg.Go(func() { _, _, _, errs[1] = r.Acquire(gone, "k", 100) })
	waitQueued(t, r, 1)
	wg.Go(func() { _, _, _, errs[2] = r.Acquire(ctx, "k", 100) })
	wg.Go(func() { _, _, _, errs[3] = r.Acquire(ctx, "k", 100) })
	waitQueued(t, r, 3)
	cancel()
	close(h.release)
	wg.Wait()

	if !errors.Is(errs[1], context.Canceled) {
		t.Fatalf("cancelled take: %v, want context.Canceled", errs[1])
	}
	for _, i := range []int{0, 2, 3} {
		if errs[i] != nil {
			t.Fatalf("take %d: %v", i, errs[i])
		}
	}
	if got := h.pipelines(); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("pipelines of %v commands, want [1 2]: the cancelled take is not sent", got)
	}
	if n, _, err := r.Get(ctx, "k"); err != nil || n != 3 {
		t.Fatalf("counter = %d, %v; want 3", n, err)
	}
}

// TestRedisPipedTakesRedisGone sends queued takes to a Redis that does not
// answer: each caller gets an error, none hangs.
func TestRedisPipedTakesRedisGone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	r := counter.NewRedis(c, "gone:")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { _, _, _, errs[i] = r.Acquire(context.Background(), "k", 10) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			t.Fatalf("take %d: no error from a Redis that is gone", i)
		}
	}
}
