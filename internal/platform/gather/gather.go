// Package gather batches requests for one worker at a time: the queue of an
// application-level group commit (the database batches) and of pipelined
// calls (the Redis stock takes).
package gather

import (
	"slices"
	"sync"
	"time"
)

// Gather queues requests and hands them to run in batches: a batch is
// whatever is queued when one of at most Runners goroutines becomes free (no
// timed wait: under light load a batch is a single request), in arrival order,
// at most Size requests and at most one per key. Runners start when requests
// arrive and end when the queue is empty, so an idle Gather holds no
// goroutine and needs no closing. With a pace (WithPace), a runner waits
// between its batches, so that a steady stream makes fewer, larger ones.
//
// It is the queue of an application-level group commit or of a pipeline: run
// executes a batch in one transaction or one round trip and answers each
// request through whatever the request carries (typically a buffered channel).
type Gather[R any] struct {
	runners, size int
	key           func(R) string
	run           func(batch []R)
	pace          time.Duration
	full          chan struct{} // with a pace: Size requests are queued

	mu      sync.Mutex
	pending []*gathered[R]
	running int
}

// Option configures a Gather.
type Option func(*options)

type options struct {
	pace time.Duration
}

// WithPace makes a runner start a batch no sooner than pace after the start
// of its previous one, unless a whole batch (Size requests) is queued: for
// work that can wait a little (deliveries, not answers to callers), a steady
// stream then shares a transaction per pace instead of one per batch that
// the stream keeps small. A runner's first batch starts at once, so a lone
// request waits for nothing. Zero or negative means no pace.
func WithPace(pace time.Duration) Option {
	return func(o *options) { o.pace = pace }
}

type gathered[R any] struct {
	r     R
	taken bool
}

// Ticket is a queued request; Withdraw takes it back while no batch has it.
type Ticket[R any] struct {
	g *Gather[R]
	q *gathered[R]
}

// New returns a Gather running batches with run, at most runners at
// once (at least one) of at most size requests (at least one). key, when not
// nil, names what two requests of one batch must not share (a user: its second
// request waits for the next batch).
func New[R any](runners, size int, key func(R) string, run func(batch []R), opts ...Option) *Gather[R] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	g := &Gather[R]{runners: max(runners, 1), size: max(size, 1), key: key, run: run}
	if o.pace > 0 {
		g.pace = o.pace
		g.full = make(chan struct{}, 1)
	}
	return g
}

// Add queues r, starting a runner when fewer than the most run.
func (g *Gather[R]) Add(r R) Ticket[R] {
	q := &gathered[R]{r: r}
	g.mu.Lock()
	g.pending = append(g.pending, q)
	if g.running < g.runners {
		g.running++
		go g.work()
	}
	if g.full != nil && len(g.pending) >= g.size {
		select {
		case g.full <- struct{}{}:
		default:
		}
	}
	g.mu.Unlock()
	return Ticket[R]{g: g, q: q}
}

// Withdraw removes the ticket's request from the queue and reports true when no
// batch took it yet; false means a batch has it and will answer it.
func (t Ticket[R]) Withdraw() bool {
	t.g.mu.Lock()
	defer t.g.mu.Unlock()
	if t.q.taken {
		return false
	}
	t.g.pending = slices.DeleteFunc(t.g.pending, func(q *gathered[R]) bool { return q == t.q })
	return true
}

// Queued is the number of requests waiting for a batch.
func (g *Gather[R]) Queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pending)
}

// Pace is the least time between the starts of a runner's batches while
// fewer than a whole batch are queued (WithPace); zero means none.
func (g *Gather[R]) Pace() time.Duration { return g.pace }

// Running is the number of runners (each running a batch or about to take one).
func (g *Gather[R]) Running() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.running
}

func (g *Gather[R]) work() {
	var started time.Time
	for {
		if g.pace > 0 && !started.IsZero() {
			g.waitPace(time.Until(started.Add(g.pace)))
		}
		g.mu.Lock()
		batch := g.takeLocked()
		if len(batch) == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		started = time.Now()
		g.run(batch)
	}
}

// waitPace waits for d, or less if a whole batch is (or becomes) queued.
func (g *Gather[R]) waitPace(d time.Duration) {
	if d <= 0 {
		return
	}
	g.mu.Lock()
	select {
	case <-g.full: // a signal for a batch already taken
	default:
	}
	queued := len(g.pending)
	g.mu.Unlock()
	if queued >= g.size {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-g.full:
	}
}

// takeLocked takes the next batch off the queue.
func (g *Gather[R]) takeLocked() []R {
	if len(g.pending) == 0 {
		return nil
	}
	seen := make(map[string]bool, min(len(g.pending), g.size))
	batch := make([]R, 0, min(len(g.pending), g.size))
	var rest []*gathered[R]
	for _, q := range g.pending {
		if len(batch) < g.size && (g.key == nil || !seen[g.key(q.r)]) {
			if g.key != nil {
				seen[g.key(q.r)] = true
			}
			q.taken = true
			batch = append(batch, q.r)
			continue
		}
		rest = append(rest, q)
	}
	g.pending = rest
	return batch
}
