package bus

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryConfig configures Memory. The zero value is a valid configuration.
type MemoryConfig struct {
	// QueueSize is the capacity of each topic's queue of messages waiting for a
	// worker; a Publish finding it full waits until there is room or its context
	// ends. Zero means 1024.
	QueueSize int
	// Workers is the number of goroutines running each subscription's handler.
	// Zero means 4.
	Workers int
	// MaxAttempts is how many times a message is handed to a failing handler
	// before it is parked as failed. Zero means 5.
	MaxAttempts int
	// RetryDelay is the delay before the first redelivery; it doubles for each
	// further one. Zero means 100ms.
	RetryDelay time.Duration
	// MaxRetryDelay caps the redelivery delay. Zero means 10s.
	MaxRetryDelay time.Duration
	// CloseTimeout bounds how long Close waits for queued and in-flight messages
	// (including ones waiting for a redelivery) before it cancels the handlers'
	// context and gives up on them (their publishers get ErrClosed). Zero means
	// 10s.
	CloseTimeout time.Duration
	// OnFailed, when not nil, is called once for every message parked as failed
	// with the last handler error. It must not block for long.
	OnFailed func(Message, error)
	// Logger receives warnings about failures. Nil means discard.
	Logger *slog.Logger
}

func (c MemoryConfig) withDefaults() MemoryConfig {
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = 100 * time.Millisecond
	}
	if c.MaxRetryDelay <= 0 {
		c.MaxRetryDelay = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Memory is the in-process Bus of the embedded mode: a buffered queue per
// subscribed topic served by a small worker pool, redelivery with exponential
// backoff, and a list of failed messages.
//
// An in-process queue is not durable, so Publish does not return success when
// the message is queued but when its handler has handled it (returned nil): a
// caller that marks its work done on a nil error (the outbox relay) never marks
// done what a crash or a stop could still lose. A message parked after its last
// attempt is reported to its publisher (ErrHandlerFailed), and so is one that
// Close gives up on (ErrClosed). A Publish of a message (same topic and id)
// whose delivery is still under way joins that delivery instead of queuing a
// second copy, so republishing a slow message never piles copies up. Memory
// keeps nothing across restarts. It is safe for concurrent use; create it with
// NewMemory.
type Memory struct {
	cfg MemoryConfig

	mu      sync.RWMutex
	subs    map[string]*memSub
	started bool
	closed  bool

	closing chan struct{} // closed when Close begins: publishers stop waiting
	stop    chan struct{} // closed when the drain is over: workers and timers stop

	hctx    context.Context // handlers' context, cancelled after the drain
	hcancel context.CancelFunc

	pending  sync.WaitGroup // accepted messages not yet acknowledged, parked or dropped
	inflight atomic.Int64   // the same count, for reporting
	workers  sync.WaitGroup

	dmu  sync.Mutex             // guards live, every memSub.active and delivery.settled
	live map[*delivery]struct{} // deliveries not yet settled

	tmu     sync.Mutex
	timers  map[*time.Timer]memItem // redeliveries waiting for their delay
	stopped bool

	fmu    sync.Mutex
	failed []Message

	closeOnce sync.Once
	closeErr  error // written once inside closeOnce
}

type memSub struct {
	topic  string
	h      Handler
	q      chan memItem
	active map[string]*delivery // deliveries under way by message id (guarded by Memory.dmu)
}

// delivery is one accepted message until its outcome is known; every Publish
// of it waits for done.
type delivery struct {
	sub     *memSub
	m       Message
	done    chan struct{} // closed once err is set
	err     error         // nil: handled; else why it was not
	settled bool          // guarded by Memory.dmu
}

type memItem struct {
	d       *delivery
	attempt int // 1 for the first delivery
}

var _ Bus = (*Memory)(nil)

// NewMemory returns an in-process bus configured by cfg.
func NewMemory(cfg MemoryConfig) *Memory {
	ctx, cancel := context.WithCancel(context.Background())
	return &Memory{
		cfg:     cfg.withDefaults(),
		subs:    make(map[string]*memSub),
		closing: make(chan struct{}),
		stop:    make(chan struct{}),
		hctx:    ctx,
		hcancel: cancel,
		timers:  make(map[*time.Timer]memItem),
		live:    make(map[*delivery]struct{}),
	}
}

// Subscribe registers h as the handler of topic. It returns an error wrapping
// ErrInvalid for an empty topic, a nil handler, a topic already subscribed or a
// bus already started, and ErrClosed after Close.
func (b *Memory) Subscribe(topic string, h Handler) error {
	if topic == "" || h == nil {
		return fmt.Errorf("subscribe: topic[%s]: empty topic or nil handler: %w", topic, ErrInvalid)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return fmt.Errorf("subscribe: topic[%s]: %w", topic, ErrClosed)
	case b.started:
		return fmt.Errorf("subscribe: topic[%s]: bus already started: %w", topic, ErrInvalid)
	case b.subs[topic] != nil:
		return fmt.Errorf("subscribe: topic[%s]: already subscribed: %w", topic, ErrInvalid)
	}
	b.subs[topic] = &memSub{topic: topic, h: h, q: make(chan memItem, b.cfg.QueueSize), active: make(map[string]*delivery)}
	return nil
}

// Start starts the workers of every subscription; messages published before
// Start wait in their queue. Calling it again does nothing. It returns ErrClosed
// after Close. ctx is not retained.
func (b *Memory) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return fmt.Errorf("start: %w", ErrClosed)
	}
	if b.started {
		return nil
	}
	b.started = true
	for _, s := range b.subs {
		for range b.cfg.Workers {
			b.workers.Add(1)
			go b.work(s)
		}
	}
	return nil
}

// Publish hands m to its topic's handler and waits for the outcome: nil once
// the handler has returned nil for it. It returns an error wrapping ErrInvalid
// for an empty topic, ErrUnroutable when the topic has no subscriber, ErrClosed
// after Close or when Close gave up on the message before it was handled,
// ErrHandlerFailed when the handler failed on every attempt (the message is
// parked), ErrUnavailable with the context's error when ctx ends while the
// queue is full (the message is not taken), and ErrPending with the context's
// error when ctx ends after the message was taken (it is still delivered,
// unless the process stops first). A message with an id whose delivery is under
// way is not queued again: this Publish waits for that delivery.
func (b *Memory) Publish(ctx context.Context, m Message) error {
	if err := Validate(m); err != nil {
		return err
	}
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return fmt.Errorf("publish: topic[%s] id[%s]: %w", m.Topic, m.ID, ErrClosed)
	}
	s := b.subs[m.Topic]
	if s == nil {
		b.mu.RUnlock()
		return fmt.Errorf("publish: topic[%s] id[%s]: %w", m.Topic, m.ID, ErrUnroutable)
	}
	b.dmu.Lock()
	d, joined := s.active[m.ID]
	if !joined {
		m.Body = bytes.Clone(m.Body) // the caller may reuse its buffer
		d = &delivery{sub: s, m: m, done: make(chan struct{})}
		b.live[d] = struct{}{}
		if m.ID != "" {
			s.active[m.ID] = d
		}
		// Counted while holding the read lock, so Close (which takes the write
		// lock before waiting) never waits on a counter that can still grow.
		b.pending.Add(1)
		b.inflight.Add(1)
	}
	b.dmu.Unlock()
	b.mu.RUnlock()

	if !joined {
		it := memItem{d: d, attempt: 1}
		select {
		case s.q <- it: // room: taken even if ctx has just ended
		default:
			if err := b.enqueue(ctx, it); err != nil {
				return fmt.Errorf("publish: topic[%s] id[%s]: %w", m.Topic, m.ID, err)
			}
		}
	}
	select {
	case <-d.done:
		return d.outcome()
	case <-ctx.Done():
		select {
		case <-d.done: // settled at the same time: the outcome wins
			return d.outcome()
		default:
		}
		return fmt.Errorf("publish: topic[%s] id[%s]: %w: %w", m.Topic, m.ID, ErrPending, ctx.Err())
	}
}

// enqueue waits for room in its topic's queue until ctx ends or Close begins; then it
// gives the delivery up and returns why.
func (b *Memory) enqueue(ctx context.Context, it memItem) error {
	select {
	case it.d.sub.q <- it:
		return nil
	case <-ctx.Done():
		err := fmt.Errorf("queue full: %w: %w", ErrUnavailable, ctx.Err())
		b.settle(it.d, err)
		b.done()
		return err
	case <-b.closing:
		b.settle(it.d, ErrClosed)
		b.done()
		return ErrClosed
	}
}

// outcome is the error a publisher of d gets once d is settled.
func (d *delivery) outcome() error {
	if d.err != nil {
		return fmt.Errorf("publish: topic[%s] id[%s]: %w", d.m.Topic, d.m.ID, d.err)
	}
	return nil
}

// Pending returns the number of messages accepted and not yet handled, parked
// or given up (redeliveries waiting for their delay included).
func (b *Memory) Pending() int { return int(b.inflight.Load()) }

// Failed returns a copy of the messages parked as failed, oldest first.
func (b *Memory) Failed() []Message {
	b.fmu.Lock()
	defer b.fmu.Unlock()
	return append([]Message(nil), b.failed...)
}

// Close stops accepting publishes, waits up to CloseTimeout for every accepted
// message to be acknowledged or parked (redeliveries included), then cancels the
// handlers' context and stops the workers, waiting for them up to CloseTimeout
// again. Messages still undelivered are dropped and logged, their publishers get
// an error wrapping ErrClosed, and Close then returns an error wrapping
// context.DeadlineExceeded. Later calls return nil.
func (b *Memory) Close() error {
	first := false
	b.closeOnce.Do(func() {
		first = true
		b.closeErr = b.close()
	})
	if first {
		return b.closeErr
	}
	return nil
}

func (b *Memory) close() error {
	b.mu.Lock()
	b.closed = true
	close(b.closing)
	started := b.started
	b.mu.Unlock()

	var err error
	if started {
		drained := make(chan struct{})
		go func() { b.pending.Wait(); close(drained) }()
		t := time.NewTimer(b.cfg.CloseTimeout)
		select {
		case <-drained:
		case <-t.C:
			err = fmt.Errorf("bus: close: %d messages undelivered after %s: %w",
				b.inflight.Load(), b.cfg.CloseTimeout, context.DeadlineExceeded)
		}
		t.Stop()
	}

	b.hcancel()
	b.tmu.Lock()
	b.stopped = true
	for t, it := range b.timers {
		if t.Stop() {
			delete(b.timers, t)
			b.drop(it)
		} // else its callback is waiting for tmu and will see stopped
	}
	b.tmu.Unlock()
	close(b.stop)

	workersDone := make(chan struct{})
	go func() { b.workers.Wait(); close(workersDone) }()
	t := time.NewTimer(b.cfg.CloseTimeout)
	defer t.Stop()
	select {
	case <-workersDone:
	case <-t.C:
		b.cfg.Logger.Error("bus: close: handlers still running after their context was cancelled")
	}

	// Whatever is still queued will never run.
	b.mu.RLock()
	defer b.mu.RUnlock()
	dropped := 0
	for _, s := range b.subs {
	drain:
		for {
			select {
			case it := <-s.q:
				b.drop(it)
				dropped++
			default:
				break drain
			}
		}
	}
	if err == nil && dropped > 0 {
		err = fmt.Errorf("bus: close: %d queued messages dropped (started: %t): %w", dropped, started, context.DeadlineExceeded)
	}
	// Handlers that ignored the cancellation: their publishers stop waiting.
	b.dmu.Lock()
	stuck := make([]*delivery, 0, len(b.live))
	for d := range b.live {
		stuck = append(stuck, d)
	}
	b.dmu.Unlock()
	for _, d := range stuck {
		b.settle(d, fmt.Errorf("handler still running after close: %w", ErrClosed))
	}
	return err
}

func (b *Memory) work(s *memSub) {
	defer b.workers.Done()
	for {
		// Prefer stopping over taking more work once the drain is over.
		select {
		case <-b.stop:
			return
		default:
		}
		select {
		case it := <-s.q:
			b.handle(it)
		case <-b.stop:
			return
		}
	}
}

func (b *Memory) handle(it memItem) {
	err := Invoke(b.hctx, it.d.sub.h, it.d.m)
	if err == nil {
		b.settle(it.d, nil)
		b.done()
		return
	}
	if it.attempt >= b.cfg.MaxAttempts {
		b.park(it, err)
		return
	}
	delay := Backoff(b.cfg.RetryDelay, b.cfg.MaxRetryDelay, it.attempt)
	b.cfg.Logger.Warn("bus: handler failed, will redeliver",
		"topic", it.d.m.Topic, "id", it.d.m.ID, "attempt", it.attempt, "delay", delay, "err", err)
	next := memItem{d: it.d, attempt: it.attempt + 1}

	b.tmu.Lock()
	defer b.tmu.Unlock()
	if b.stopped {
		b.drop(next)
		return
	}
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		b.tmu.Lock() // also orders the read of t after its assignment below
		_, live := b.timers[t]
		delete(b.timers, t)
		stopped := b.stopped
		b.tmu.Unlock()
		if !live {
			return
		}
		if stopped {
			b.drop(next)
			return
		}
		select {
		case next.d.sub.q <- next:
		case <-b.stop:
			b.drop(next)
		}
	})
	b.timers[t] = next
}

func (b *Memory) park(it memItem, err error) {
	m := it.d.m
	b.cfg.Logger.Error("bus: message failed, parked",
		"topic", m.Topic, "id", m.ID, "attempts", it.attempt, "err", err)
	b.fmu.Lock()
	b.failed = append(b.failed, m)
	b.fmu.Unlock()
	if b.cfg.OnFailed != nil {
		b.cfg.OnFailed(m, err)
	}
	b.settle(it.d, fmt.Errorf("%w after %d attempts: %w", ErrHandlerFailed, it.attempt, err))
	b.done()
}

// drop gives up on a message at close; its publishers learn it was not
// delivered.
func (b *Memory) drop(it memItem) {
	b.cfg.Logger.Warn("bus: message not delivered before close", "topic", it.d.m.Topic, "id", it.d.m.ID, "attempt", it.attempt)
	b.settle(it.d, fmt.Errorf("closed before the handler succeeded (attempt %d): %w", it.attempt, ErrClosed))
	b.done()
}

// settle records the outcome of d and releases its publishers; only the first
// call for a delivery counts.
func (b *Memory) settle(d *delivery, err error) {
	b.dmu.Lock()
	defer b.dmu.Unlock()
	if d.settled {
		return
	}
	d.settled = true
	d.err = err
	delete(b.live, d)
	if d.m.ID != "" && d.sub.active[d.m.ID] == d {
		delete(d.sub.active, d.m.ID)
	}
	close(d.done)
}

func (b *Memory) done() {
	b.inflight.Add(-1)
	b.pending.Done()
}
