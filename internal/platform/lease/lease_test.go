package lease_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/lease"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// harness is one implementation under test: a fresh lease table and a way to
// let time pass for it (a fake clock for Memory, real sleep for Redis).
type harness struct {
	l       lease.Lease
	advance func(time.Duration)
}

// fakeClock is a manually advanced clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
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

func newMemory(*testing.T) harness {
	clk := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return harness{l: lease.NewMemory(clk.Now), advance: clk.Advance}
}

func newRedis(t *testing.T) harness {
	c, prefix := redisxtest.New(t)
	return harness{l: lease.NewRedis(c, prefix), advance: time.Sleep}
}

func TestMemoryContract(t *testing.T) { runContract(t, newMemory) }
func TestRedisContract(t *testing.T)  { runContract(t, newRedis) }

func TestMemoryRunExclusive(t *testing.T) {
	testRunExclusive(t, lease.NewMemory(nil))
}

func TestRedisRunExclusive(t *testing.T) {
	c, prefix := redisxtest.New(t)
	testRunExclusive(t, lease.NewRedis(c, prefix))
}

func runContract(t *testing.T, newH func(*testing.T) harness) {
	t.Run("OneOfTenWins", func(t *testing.T) { testOneWinner(t, newH(t)) })
	t.Run("HolderRenews", func(t *testing.T) { testRenew(t, newH(t)) })
	t.Run("TakenAfterExpiry", func(t *testing.T) { testExpiry(t, newH(t)) })
	t.Run("ReleaseByNonOwnerDoesNothing", func(t *testing.T) { testRelease(t, newH(t)) })
	t.Run("NamesAreIndependent", func(t *testing.T) { testNames(t, newH(t)) })
	t.Run("InvalidArguments", func(t *testing.T) { testInvalid(t, newH(t)) })
}

func acquire(t *testing.T, l lease.Lease, name, owner string, ttl time.Duration) bool {
	t.Helper()
	ok, err := l.Acquire(context.Background(), name, owner, ttl)
	if err != nil {
		t.Fatalf("Acquire(%s, %s): %v", name, owner, err)
	}
	return ok
}

func testOneWinner(t *testing.T, h harness) {
	const owners = 10
	var wins atomic.Int32
	winner := make(chan string, owners)
	errs := make(chan error, owners)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range owners {
		wg.Go(func() {
			<-start
			owner := fmt.Sprintf("instance-%d", i)
			ok, err := h.l.Acquire(context.Background(), "outbox-retry", owner, time.Minute)
			if err != nil {
				errs <- err
				return
			}
			if ok {
				wins.Add(1)
				winner <- owner
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d owners hold the lease, want exactly 1", n)
	}
	w := <-winner
	for i := range owners {
		owner := fmt.Sprintf("instance-%d", i)
		if got := acquire(t, h.l, "outbox-retry", owner, time.Minute); got != (owner == w) {
			t.Fatalf("second round: %s holds = %v (winner %s)", owner, got, w)
		}
	}
}

// testRenew: a renewal with a longer ttl outlives the first ttl.
func testRenew(t *testing.T, h harness) {
	if !acquire(t, h.l, "job", "a", 100*time.Millisecond) {
		t.Fatal("a could not take a free lease")
	}
	if !acquire(t, h.l, "job", "a", time.Minute) {
		t.Fatal("holder a could not renew")
	}
	h.advance(300 * time.Millisecond) // past the first ttl
	if acquire(t, h.l, "job", "b", time.Minute) {
		t.Fatal("b took a lease that a renewed")
	}
	if !acquire(t, h.l, "job", "a", time.Minute) {
		t.Fatal("holder a lost its renewed lease")
	}
}

func testExpiry(t *testing.T, h harness) {
	if !acquire(t, h.l, "job", "a", 50*time.Millisecond) {
		t.Fatal("a could not take a free lease")
	}
	if acquire(t, h.l, "job", "b", time.Minute) {
		t.Fatal("b took a lease held by a")
	}
	// Let time pass until b gets it (at once with a fake clock; with Redis,
	// within a few polls). It must never take longer than a generous bound.
	took := false
	for range 500 {
		h.advance(10 * time.Millisecond)
		if acquire(t, h.l, "job", "b", time.Minute) {
			took = true
			break
		}
	}
	if !took {
		t.Fatal("b never took the lease after a's ttl expired")
	}
	if acquire(t, h.l, "job", "a", time.Minute) {
		t.Fatal("a took the lease back from b")
	}
}

func testRelease(t *testing.T, h harness) {
	ctx := context.Background()
	if !acquire(t, h.l, "job", "a", time.Minute) {
		t.Fatal("a could not take a free lease")
	}
	if err := h.l.Release(ctx, "job", "b"); err != nil {
		t.Fatalf("Release by non-owner: %v", err)
	}
	if acquire(t, h.l, "job", "b", time.Minute) {
		t.Fatal("b took the lease after its own Release of a's lease")
	}
	if err := h.l.Release(ctx, "job", "a"); err != nil {
		t.Fatalf("Release by owner: %v", err)
	}
	if !acquire(t, h.l, "job", "b", time.Minute) {
		t.Fatal("b could not take a released lease")
	}
	if err := h.l.Release(ctx, "never-taken", "a"); err != nil {
		t.Fatalf("Release of a free lease: %v", err)
	}
}

func testNames(t *testing.T, h harness) {
	if !acquire(t, h.l, "job-1", "a", time.Minute) || !acquire(t, h.l, "job-2", "b", time.Minute) {
		t.Fatal("two owners could not take two different leases")
	}
	if acquire(t, h.l, "job-2", "a", time.Minute) {
		t.Fatal("a took b's lease")
	}
}

func testInvalid(t *testing.T, h harness) {
	ctx := context.Background()
	for _, c := range []struct {
		name, owner string
		ttl         time.Duration
	}{{"", "a", time.Second}, {"job", "", time.Second}, {"job", "a", 0}, {"job", "a", time.Microsecond}, {"job", "a", -time.Second}} {
		if _, err := h.l.Acquire(ctx, c.name, c.owner, c.ttl); !errors.Is(err, lease.ErrInvalid) {
			t.Errorf("Acquire(%q, %q, %v) error = %v, want ErrInvalid", c.name, c.owner, c.ttl, err)
		}
	}
	if err := h.l.Release(ctx, "", "a"); !errors.Is(err, lease.ErrInvalid) {
		t.Errorf("Release with empty name error = %v, want ErrInvalid", err)
	}
}

// testRunExclusive runs two runners on one lease; the job records overlap.
// Without the lease the two would overlap: both tick at once and each run
// lasts a tenth of the period.
func testRunExclusive(t *testing.T, l lease.Lease) {
	const wantRuns = 10
	var running, overlaps, runs atomic.Int32
	enough := make(chan struct{})
	var once sync.Once
	job := func(ctx context.Context) error {
		if running.Add(1) != 1 {
			overlaps.Add(1)
		}
		defer running.Add(-1)
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
		}
		if runs.Add(1) >= wantRuns {
			once.Do(func() { close(enough) })
		}
		return nil
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	for _, owner := range []string{"a", "b"} {
		wg.Go(func() {
			// ttl shorter than every: the lease lapses between the holder's
			// ticks, so both runners compete for the runs; ttl is still ten
			// times the job, so scheduling delays cannot make a run outlive it.
			errs <- lease.RunExclusive(ctx, l, "job", owner, 50*time.Millisecond, 60*time.Millisecond, job, log)
		})
	}
	select {
	case <-enough:
	case <-time.After(30 * time.Second):
		t.Error("job did not run enough times within 30s")
	}
	cancel()
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("RunExclusive returned %v, want context.Canceled", err)
		}
	}
	if n := overlaps.Load(); n != 0 {
		t.Fatalf("job ran concurrently %d times", n)
	}
	if runs.Load() < 1 {
		t.Fatal("job never ran")
	}
	// RunExclusive released the lease on stop.
	if ok, err := l.Acquire(context.Background(), "job", "c", time.Minute); err != nil || !ok {
		t.Fatalf("lease not released after stop: %v, %v", ok, err)
	}
}

func TestRunExclusiveInvalid(t *testing.T) {
	l := lease.NewMemory(nil)
	job := func(context.Context) error { return nil }
	if err := lease.RunExclusive(context.Background(), l, "job", "a", time.Second, 0, job, nil); !errors.Is(err, lease.ErrInvalid) {
		t.Fatalf("every 0: error %v, want ErrInvalid", err)
	}
	if err := lease.RunExclusive(context.Background(), l, "job", "", time.Second, time.Second, job, nil); !errors.Is(err, lease.ErrInvalid) {
		t.Fatalf("empty owner: error %v, want ErrInvalid", err)
	}
}

// TestRunExclusiveCancelsLostJob: a job that outlives its lease (renewals fail
// because another owner took over) sees its context cancelled with ErrLost.
func TestRunExclusiveCancelsLostJob(t *testing.T) {
	l := lease.NewMemory(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cause := make(chan error, 1)
	job := func(jctx context.Context) error {
		// Simulate a pause long enough that the lease expired and another
		// instance took it.
		l.Release(context.Background(), "job", "a")
		if ok, _ := l.Acquire(context.Background(), "job", "thief", time.Hour); !ok {
			cause <- errors.New("thief could not take the released lease")
			return nil
		}
		<-jctx.Done()
		cause <- context.Cause(jctx)
		return jctx.Err()
	}
	done := make(chan error, 1)
	go func() {
		done <- lease.RunExclusive(ctx, l, "job", "a", 30*time.Millisecond, time.Hour, job,
			slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	select {
	case err := <-cause:
		if !errors.Is(err, lease.ErrLost) {
			t.Fatalf("job context cause = %v, want ErrLost", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("job context never cancelled")
	}
	cancel()
	<-done
}
