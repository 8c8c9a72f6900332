package gather

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// blockedGather returns a Gather of one runner whose first batch waits for
// release, so that requests queue up behind it; batches lists every batch run.
func blockedGather(t *testing.T, size int, key func(string) string, opts ...Option) (g *Gather[string], release func(), batches func() [][]string) {
	t.Helper()
	var mu sync.Mutex
	var all [][]string
	started := make(chan struct{})
	gate := make(chan struct{})
	first := true
	g = New(1, size, key, func(batch []string) {
		mu.Lock()
		all = append(all, append([]string(nil), batch...))
		wait := first
		first = false
		mu.Unlock()
		if wait {
			close(started)
			<-gate
		}
	}, opts...)
	g.Add("first")
	<-started
	return g, func() { close(gate) }, func() [][]string {
		mu.Lock()
		defer mu.Unlock()
		return append([][]string(nil), all...)
	}
}

func waitIdle[R any](t *testing.T, g *Gather[R]) {
	t.Helper()
	waitFor(t, "the gather to become idle", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.running == 0 && len(g.pending) == 0
	})
}

// waitFor waits until cond holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

func TestGatherBatchesWhatIsQueued(t *testing.T) {
	g, release, batches := blockedGather(t, 4, nil)
	for i := range 10 {
		g.Add(fmt.Sprint(i))
	}
	release()
	waitIdle(t, g)
	got := fmt.Sprint(batches())
	if want := "[[first] [0 1 2 3] [4 5 6 7] [8 9]]"; got != want {
		t.Fatalf("batches %s, want %s", got, want)
	}
}

func TestGatherOnePerKey(t *testing.T) {
	g, release, batches := blockedGather(t, 10, func(r string) string { return r[:1] })
	for _, r := range []string{"a1", "b1", "a2", "c1", "a3", "b2"} {
		g.Add(r)
	}
	release()
	waitIdle(t, g)
	got := fmt.Sprint(batches())
	if want := "[[first] [a1 b1 c1] [a2 b2] [a3]]"; got != want {
		t.Fatalf("batches %s, want %s", got, want)
	}
}

func TestGatherWithdraw(t *testing.T) {
	g, release, batches := blockedGather(t, 10, nil)
	keep := g.Add("keep")
	gone := g.Add("gone")
	if !gone.Withdraw() {
		t.Fatal("a queued request could not be withdrawn")
	}
	release()
	waitIdle(t, g)
	if got := fmt.Sprint(batches()); got != "[[first] [keep]]" {
		t.Fatalf("batches %s, want the withdrawn request never run", got)
	}
	if keep.Withdraw() {
		t.Fatal("a request a batch took was withdrawn")
	}
}

// TestGatherRunsEachOnceWithinBounds adds requests from many goroutines: each
// is run exactly once, batches stay within size, at most runners run at once,
// and the runners end when the queue is empty.
func TestGatherRunsEachOnceWithinBounds(t *testing.T) {
	for _, pace := range []time.Duration{0, 50 * time.Microsecond} {
		t.Run(fmt.Sprint("pace=", pace), func(t *testing.T) { testRunsEachOnceWithinBounds(t, pace) })
	}
}

func testRunsEachOnceWithinBounds(t *testing.T, pace time.Duration) {
	const runners, size, n = 3, 5, 2000
	var running, most atomic.Int64
	seen := make([]atomic.Int32, n)
	g := New(runners, size, nil, func(batch []int) {
		now := running.Add(1)
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		if len(batch) > size {
			t.Errorf("a batch of %d", len(batch))
		}
		for _, i := range batch {
			seen[i].Add(1)
		}
		running.Add(-1)
	}, WithPace(pace))
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { g.Add(i) })
	}
	wg.Wait()
	waitIdle(t, g)
	for i := range seen {
		if c := seen[i].Load(); c != 1 {
			t.Fatalf("request %d ran %d times", i, c)
		}
	}
	if m := most.Load(); m > runners {
		t.Fatalf("%d batches ran at once, want at most %d", m, runners)
	}
}

// TestGatherPaceWaitsForAWholeBatch: with a pace (an hour: it never ends in
// the test), a runner's next batch starts only when a whole batch is queued;
// a whole batch queued while the runner was busy starts at once, and leaves
// no signal behind that would start the following batch early.
func TestGatherPaceWaitsForAWholeBatch(t *testing.T) {
	g, release, batches := blockedGather(t, 4, nil, WithPace(time.Hour))
	for i := range 4 {
		g.Add(fmt.Sprint(i)) // the fourth fills a batch while the runner is busy
	}
	release()
	waitFor(t, "the whole batch", func() bool { return len(batches()) == 2 })
	for i := 4; i < 7; i++ {
		g.Add(fmt.Sprint(i))
	}
	for range 1000 {
		runtime.Gosched()
	}
	if got := len(batches()); got != 2 {
		t.Fatalf("%d batches: a part of a batch ran within the pace (%v)", got, batches())
	}
	g.Add("7")
	waitFor(t, "the second whole batch", func() bool { return len(batches()) == 3 })
	if got, want := fmt.Sprint(batches()), "[[first] [0 1 2 3] [4 5 6 7]]"; got != want {
		t.Fatalf("batches %s, want %s", got, want)
	}
}

// TestGatherPaceFirstBatchAtOnce: a lone request on a paced Gather that ran
// nothing yet does not wait for the pace.
func TestGatherPaceFirstBatchAtOnce(t *testing.T) {
	ran := make(chan []string, 1)
	g := New(1, 4, nil, func(batch []string) { ran <- batch }, WithPace(time.Hour))
	g.Add("lone")
	select {
	case b := <-ran:
		if fmt.Sprint(b) != "[lone]" {
			t.Fatalf("batch %v, want [lone]", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone first request waited for the pace")
	}
}
