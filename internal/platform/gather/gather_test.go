package gather

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// blockedGather returns a Gather of one runner whose first batch waits for
// release, so that requests queue up behind it; batches lists every batch run.
func blockedGather(t *testing.T, size int, key func(string) string) (g *Gather[string], release func(), batches func() [][]string) {
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
	})
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
	for i := 0; ; i++ {
		g.mu.Lock()
		idle := g.running == 0 && len(g.pending) == 0
		g.mu.Unlock()
		if idle {
			return
		}
		if i > 1e6 {
			t.Fatal("the gather never became idle")
		}
		runtime.Gosched()
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
	})
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
