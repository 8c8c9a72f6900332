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
	// QueueSize is the capacity of each topic's queue; a Publish finding it full
	// waits until there is room or its context ends. Zero means 1024.
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
	// context and gives up on them. Zero means 10s.
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
// backoff, and a list of failed messages. It keeps nothing across restarts: a
// message still queued when the process dies is lost, and one still queued when
// Close gives up is dropped and logged. Memory is safe for concurrent use; create
// it with NewMemory.
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

	tmu     sync.Mutex
	timers  map[*time.Timer]memItem // redeliveries waiting for their delay
	stopped bool

	fmu    sync.Mutex
	failed []Message

	closeOnce sync.Once
	closeErr  error // written once inside closeOnce
}

type memSub struct {
	topic string
	h     Handler
	q     chan memItem
}

type memItem struct {
	sub     *memSub
	m       Message
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
	b.subs[topic] = &memSub{topic: topic, h: h, q: make(chan memItem, b.cfg.QueueSize)}
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

// Publish queues m for its topic's handler, waiting while the queue is full. It
// returns an error wrapping ErrInvalid for an empty topic, ErrUnroutable when the
// topic has no subscriber, ErrClosed after Close, and ErrUnavailable together
// with the context's error when ctx ends before there is room.
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
	// Counted while holding the read lock, so Close (which takes the write lock
	// before waiting) never waits on a counter that can still grow.
	b.pending.Add(1)
	b.inflight.Add(1)
	b.mu.RUnlock()

	m.Body = bytes.Clone(m.Body) // the caller may reuse its buffer
	select {
	case s.q <- memItem{sub: s, m: m, attempt: 1}:
		return nil
	case <-ctx.Done():
		b.done()
		return fmt.Errorf("publish: topic[%s] id[%s]: queue full: %w: %w", m.Topic, m.ID, ErrUnavailable, ctx.Err())
	case <-b.closing:
		b.done()
		return fmt.Errorf("publish: topic[%s] id[%s]: %w", m.Topic, m.ID, ErrClosed)
	}
}

// Failed returns a copy of the messages parked as failed, oldest first.
func (b *Memory) Failed() []Message {
	b.fmu.Lock()
	defer b.fmu.Unlock()
	return append([]Message(nil), b.failed...)
}

// Close stops accepting publishes, waits up to CloseTimeout for every accepted
// message to be acknowledged or parked (redeliveries included), then cancels the
// handlers' context and stops the workers, waiting for them up to CloseTimeout
// again. Messages still undelivered are dropped and logged, and Close then
// returns an error wrapping context.DeadlineExceeded. Later calls return nil.
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
	err := Invoke(b.hctx, it.sub.h, it.m)
	if err == nil {
		b.done()
		return
	}
	if it.attempt >= b.cfg.MaxAttempts {
		b.park(it, err)
		return
	}
	delay := Backoff(b.cfg.RetryDelay, b.cfg.MaxRetryDelay, it.attempt)
	b.cfg.Logger.Warn("bus: handler failed, will redeliver",
		"topic", it.m.Topic, "id", it.m.ID, "attempt", it.attempt, "delay", delay, "err", err)
	next := memItem{sub: it.sub, m: it.m, attempt: it.attempt + 1}

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
		case next.sub.q <- next:
		case <-b.stop:
			b.drop(next)
		}
	})
	b.timers[t] = next
}

func (b *Memory) park(it memItem, err error) {
	b.cfg.Logger.Error("bus: message failed, parked",
		"topic", it.m.Topic, "id", it.m.ID, "attempts", it.attempt, "err", err)
	b.fmu.Lock()
	b.failed = append(b.failed, it.m)
	b.fmu.Unlock()
	if b.cfg.OnFailed != nil {
		b.cfg.OnFailed(it.m, err)
	}
	b.done()
}

func (b *Memory) drop(it memItem) {
	b.cfg.Logger.Error("bus: message dropped at close", "topic", it.m.Topic, "id", it.m.ID, "attempt", it.attempt)
	b.done()
}

func (b *Memory) done() {
	b.inflight.Add(-1)
	b.pending.Done()
}
