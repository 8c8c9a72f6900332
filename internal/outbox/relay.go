package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

// Defaults of RelayConfig.
const (
	DefaultRelayWorkers   = 64
	DefaultRelayQueueSize = 8192
	DefaultFlushInterval  = 50 * time.Millisecond
	DefaultFlushSize      = 256
	DefaultPublishTimeout = 5 * time.Second
	// finalFlushGrace bounds the last flush of Close once Close's own context
	// has ended: unflushed marks only cost a republish, but are worth a try.
	finalFlushGrace = 2 * time.Second
)

// RelayConfig configures a Relay. Publisher and Store are required; every other
// zero field means its default.
type RelayConfig struct {
	// Publisher publishes the tasks (the bus).
	Publisher bus.Publisher
	// Store marks tasks completed or failed.
	Store Store
	// Workers is the number of goroutines publishing concurrently; a confirmed
	// RabbitMQ publish takes about three milliseconds (the bus gathers its
	// writes for 2 ms), so thousands of tasks a second need dozens in flight. Zero means DefaultRelayWorkers.
	Workers int
	// QueueSize is how many enqueued tasks may wait for a worker; Enqueue drops
	// (and counts) a task when the queue is full, leaving it to the retry job.
	// Zero means DefaultRelayQueueSize.
	QueueSize int
	// FlushInterval is how often completion marks are written. Zero means
	// DefaultFlushInterval.
	FlushInterval time.Duration
	// FlushSize writes a shard's marks at once when that many are pending. Zero
	// means DefaultFlushSize.
	FlushSize int
	// PublishTimeout bounds each publish. Zero means DefaultPublishTimeout.
	PublishTimeout time.Duration
	// Now is the clock of update times. Nil means time.Now.
	Now func() time.Time
	// Logger receives failures. Nil means discard.
	Logger *slog.Logger
}

// RelayStats are the relay's counters since it started, for metrics.
type RelayStats struct {
	Enqueued      int64 // tasks accepted by Enqueue
	Dropped       int64 // tasks Enqueue refused (queue full or relay closed)
	Published     int64 // publishes that succeeded
	PublishErrors int64 // publishes that failed (task marked fail)
	Marked        int64 // tasks marked completed in the store
	MarkErrors    int64 // completion or failure marks that could not be written
}

// Relay publishes tasks handed to it after their transaction committed. Enqueue
// never blocks: workers publish concurrently, completions are written in batches
// per shard, failures at once. A task the relay loses (full queue, crash, failed
// mark) stays in the store for the RetryJob. A Relay is safe for concurrent use;
// create it with NewRelay and stop it with Close.
type Relay struct {
	cfg RelayConfig
	log *slog.Logger

	mu     sync.RWMutex
	closed bool
	queue  chan Task

	stop    chan struct{}      // closed by Close: workers drain the queue and exit
	pctx    context.Context    // publishes and failure marks
	pcancel context.CancelFunc // cancelled when Close's context ends first
	workers sync.WaitGroup

	marks       chan mark
	flushStop   chan context.Context // Close sends its context: final flush
	flusherGone chan struct{}

	closeOnce sync.Once
	closeErr  error

	enqueued, dropped, published, publishErrors, marked, markErrors atomic.Int64
}

type mark struct {
	shard int
	id    string
}

// NewRelay starts a relay configured by cfg. It returns an error wrapping
// bus.ErrInvalid when Publisher or Store is nil.
func NewRelay(cfg RelayConfig) (*Relay, error) {
	if cfg.Publisher == nil || cfg.Store == nil {
		return nil, fmt.Errorf("new outbox relay: publisher and store are required: %w", bus.ErrInvalid)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultRelayWorkers
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultRelayQueueSize
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.FlushSize <= 0 {
		cfg.FlushSize = DefaultFlushSize
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = DefaultPublishTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pctx, cancel := context.WithCancel(context.Background())
	r := &Relay{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "outbox.relay"),
		queue:       make(chan Task, cfg.QueueSize),
		stop:        make(chan struct{}),
		pctx:        pctx,
		pcancel:     cancel,
		marks:       make(chan mark, cfg.QueueSize),
		flushStop:   make(chan context.Context),
		flusherGone: make(chan struct{}),
	}
	for range cfg.Workers {
		r.workers.Go(r.work)
	}
	go r.flusher()
	return r, nil
}

// Enqueue hands t, whose transaction has committed, to the publishing workers
// without blocking. When the queue is full or the relay closed, the task is
// dropped and counted (RelayStats.Dropped): it stays in the store, and the retry
// job publishes it once it is older than its MinAge.
func (r *Relay) Enqueue(t Task) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		r.dropped.Add(1)
		return
	}
	select {
	case r.queue <- t:
		r.enqueued.Add(1)
	default:
		r.dropped.Add(1)
	}
}

// Stats returns the relay's counters.
func (r *Relay) Stats() RelayStats {
	return RelayStats{
		Enqueued: r.enqueued.Load(), Dropped: r.dropped.Load(), Published: r.published.Load(),
		PublishErrors: r.publishErrors.Load(), Marked: r.marked.Load(), MarkErrors: r.markErrors.Load(),
	}
}

// Pending returns the number of tasks waiting for a worker.
func (r *Relay) Pending() int { return len(r.queue) }

func (r *Relay) work() {
	for {
		select {
		case t := <-r.queue:
			r.publish(t)
		case <-r.stop:
			for {
				if r.pctx.Err() != nil {
					return // Close gave up: what is left stays for the retry job
				}
				select {
				case t := <-r.queue:
					r.publish(t)
				default:
					return
				}
			}
		}
	}
}

func (r *Relay) publish(t Task) {
	ctx, cancel := context.WithTimeout(r.pctx, r.cfg.PublishTimeout)
	defer cancel()
	shard := r.cfg.Store.ShardOf(t.UserID)
	err := r.cfg.Publisher.Publish(ctx, t.Message())
	if err == nil {
		r.published.Add(1)
		select {
		case r.marks <- mark{shard: shard, id: t.MessageID}:
		case <-r.flusherGone: // cannot happen before the workers stop; stays create
		}
		return
	}
	r.publishErrors.Add(1)
	attempts := t.Attempts
	if Counted(err) {
		attempts++
	} else if r.pctx.Err() != nil {
		return // Close gave up on it: the task stays as stored, for the retry job
	}
	r.log.Warn("outbox: publish failed; left for the retry job",
		"topic", t.Topic, "id", t.MessageID, "user", t.UserID, "attempts", attempts, "err", err)
	// A fresh deadline: the publish's own may be what expired.
	mctx, mcancel := context.WithTimeout(r.pctx, r.cfg.PublishTimeout)
	defer mcancel()
	if err := r.cfg.Store.MarkFailed(mctx, shard, t.MessageID, attempts, TruncateError(err), r.cfg.Now()); err != nil {
		r.markErrors.Add(1)
		r.log.Warn("outbox: mark failed", "id", t.MessageID, "err", err)
	}
}

// flusher collects completion marks per shard and writes them in batches.
func (r *Relay) flusher() {
	defer close(r.flusherGone)
	pending := make(map[int][]string)
	flush := func(ctx context.Context, shard int) {
		ids := pending[shard]
		if len(ids) == 0 {
			return
		}
		delete(pending, shard)
		ctx, cancel := context.WithTimeout(ctx, r.cfg.PublishTimeout)
		defer cancel()
		if err := r.cfg.Store.MarkCompleted(ctx, shard, ids, r.cfg.Now()); err != nil {
			r.markErrors.Add(int64(len(ids)))
			r.log.Warn("outbox: mark completed failed; tasks will be republished", "shard", shard, "tasks", len(ids), "err", err)
			return
		}
		r.marked.Add(int64(len(ids)))
	}
	add := func(ctx context.Context, m mark) {
		pending[m.shard] = append(pending[m.shard], m.id)
		if len(pending[m.shard]) >= r.cfg.FlushSize {
			flush(ctx, m.shard)
		}
	}
	tick := time.NewTicker(r.cfg.FlushInterval)
	defer tick.Stop()
	bg := context.Background()
	for {
		select {
		case m := <-r.marks:
			add(bg, m)
		case <-tick.C:
			for shard := range pending {
				flush(bg, shard)
			}
		case ctx := <-r.flushStop:
		drain:
			for {
				select {
				case m := <-r.marks:
					add(ctx, m)
				default:
					break drain
				}
			}
			for shard := range pending {
				flush(ctx, shard)
			}
			return
		}
	}
}

// Close stops accepting tasks, lets the workers publish what is queued until ctx
// ends (then cancels the publishes in flight: those tasks stay in the store for
// the retry job), and writes the pending completion marks (given at least a
// short grace when ctx has already ended). It returns ctx's error when the queue
// was not drained in time. Later calls return nil.
func (r *Relay) Close(ctx context.Context) error {
	first := false
	r.closeOnce.Do(func() {
		first = true
		r.closeErr = r.close(ctx)
	})
	if first {
		return r.closeErr
	}
	return nil
}

func (r *Relay) close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	close(r.stop)

	var err error
	done := make(chan struct{})
	go func() { r.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("outbox relay: close: %d tasks left for the retry job: %w", len(r.queue), ctx.Err())
		r.pcancel()
		<-done // publishes honour their context: the workers stop promptly
	}
	r.pcancel()

	fctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), finalFlushGrace)
		defer cancel()
	}
	r.flushStop <- fctx
	<-r.flusherGone
	return err
}
