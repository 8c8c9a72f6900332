// Package rabbitmq is the RabbitMQ implementation of bus.Bus, on amqp091-go.
//
// Topology, all durable, declared on every (re)connection:
//
//   - a topic exchange (Config.Exchange, "bigmarket" by default);
//   - per subscribed topic a queue <prefix><topic> bound with routing key = topic;
//   - a retry queue <prefix><topic>.retry without consumer: a failed delivery is
//     republished there with a per-message expiration (the backoff delay) and an
//     x-attempts header, and dead-lettered back, through the default exchange, to
//     <prefix><topic> only, when it expires;
//   - a parking queue <prefix><topic>.failed: after MaxAttempts the message goes
//     there with x-attempts and x-error headers, where operators can see it; it
//     is never redelivered by the bus.
//
// Publishing uses persistent messages, publisher confirms (Publish returns after
// the broker acknowledged this very message) and the mandatory flag, so that a
// message no queue would receive is reported as bus.ErrUnroutable instead of
// being dropped silently by the broker.
//
// amqp091-go does not reconnect by itself (its Recovery option is experimental
// and left off): the bus watches the connection and every channel, and when one
// closes it drops the whole session, then dials again with backoff and rebuilds
// channels, topology and consumers. While disconnected, Publish fails at once
// with bus.ErrUnavailable; the outbox keeps the task for its retry job. Deliveries
// are acknowledged on the channel they came from, after the handler returned nil,
// so a delivery tag is never used on a newer channel, where tags start again; a
// delivery whose channel died is redelivered by the broker. Acknowledgements are
// batched per channel: one basic.ack with multiple=true for the longest run of
// handled deliveries from the oldest unacknowledged one, sent within a few
// milliseconds (see acker), never covering a delivery whose handler has not
// returned; a failed delivery moved to the retry or parking queue is
// acknowledged alone, at once, and one that could not be moved is nacked.
// Concurrent publishes share the publishing channel, many in flight, each
// waiting for its own deferred confirm. What the client writes within 2 ms
// (publishes, acknowledgements) leaves in one write (see lingerConn), so that
// the broker handles, syncs and confirms it together. No NotifyPublish
// listener is registered (confirms are awaited per message), and every
// notification channel is buffered and drained, so Close cannot hang on them.
package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

// DefaultPrefetch is Config.Prefetch's default. Deliveries wait in batches
// that a shard's credit batcher starts at most every 25 ms while the stream is
// steady (awarddb.DefaultCreditPace), so a subscription holds what arrives in
// that time on every shard: at 3 000 draws/s, 3 000 × (25 ms + a batch's
// ≈ 10 ms) ≈ 105. With 64 the prefetch, not the database, would bound the
// deliveries, by the same arithmetic near 64 / 35 ms ≈ 1 800/s (not
// measured); with 16 (before the batches) they trailed by seconds
// (docs/PERFORMANCE.md).
const DefaultPrefetch = 256

// Config configures RabbitMQ. Only URL is required.
type Config struct {
	// URL is the AMQP URL, e.g. amqp://guest:guest@127.0.0.1:5672/.
	URL string
	// Exchange is the topic exchange events are published to. Zero means
	// "bigmarket".
	Exchange string
	// QueuePrefix is prepended to a topic to name its queues. Zero means
	// "bigmarket.".
	QueuePrefix string
	// Prefetch is how many unacknowledged deliveries each subscription may hold,
	// and how many handler goroutines serve it. Zero means DefaultPrefetch.
	Prefetch int
	// MaxAttempts is how many times a message is handed to a failing handler
	// before it is parked in the .failed queue. Zero means 5.
	MaxAttempts int
	// RetryDelay is the delay before the first redelivery; it doubles for each
	// further one. Redeliveries share one retry queue per topic, and a message
	// expires only at its head, so a short delay may wait behind a longer one (at
	// most MaxRetryDelay). Zero means 1s.
	RetryDelay time.Duration
	// MaxRetryDelay caps the redelivery delay. Zero means 1 minute.
	MaxRetryDelay time.Duration
	// ReconnectDelay is the delay before the first reconnection attempt; it
	// doubles after each failed attempt, up to 30s. Zero means 1s.
	ReconnectDelay time.Duration
	// ConfirmTimeout bounds how long Publish waits for the broker's confirm when
	// its context has no earlier deadline. Zero means 10s.
	ConfirmTimeout time.Duration
	// CloseTimeout bounds how long Close waits for in-flight handlers before it
	// cancels their context, and then for the connection to close. Zero means 10s.
	CloseTimeout time.Duration
	// Heartbeat is the AMQP heartbeat interval, which bounds how long a dead
	// network goes unnoticed. Zero means 10s.
	Heartbeat time.Duration
	// OnFailed, when not nil, is called for every message parked as failed, with
	// the last handler error, after the parking was confirmed.
	OnFailed func(bus.Message, error)
	// Logger receives connection events and failures. Nil means discard.
	Logger *slog.Logger

	// dial replaces the TCP dialer (tests route connections through a proxy).
	dial func(network, addr string) (net.Conn, error)
	// onState is called with true after each (re)connection and false after each
	// loss (tests wait on it).
	onState func(connected bool)
	// ackDelay is how long a handled delivery may wait for later ones to share
	// its acknowledgement; zero means defaultAckDelay, negative means none.
	ackDelay time.Duration
	// ackHold is how long a handled delivery may wait behind an earlier,
	// unfinished one before it is acknowledged alone; zero means defaultAckHold.
	ackHold time.Duration
	// writeLinger is how long a write to the connection may wait for others to
	// share its system call; zero means defaultWriteLinger, negative means none.
	writeLinger time.Duration
}

func (c Config) withDefaults() Config {
	if c.Exchange == "" {
		c.Exchange = "bigmarket"
	}
	if c.QueuePrefix == "" {
		c.QueuePrefix = "bigmarket."
	}
	if c.Prefetch <= 0 {
		c.Prefetch = DefaultPrefetch
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = time.Second
	}
	if c.MaxRetryDelay <= 0 {
		c.MaxRetryDelay = time.Minute
	}
	if c.ReconnectDelay <= 0 {
		c.ReconnectDelay = time.Second
	}
	if c.ConfirmTimeout <= 0 {
		c.ConfirmTimeout = 10 * time.Second
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 10 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ackDelay == 0 {
		c.ackDelay = defaultAckDelay
	}
	if c.writeLinger == 0 {
		c.writeLinger = defaultWriteLinger
	}
	if c.ackHold <= 0 {
		c.ackHold = defaultAckHold
	}
	return c
}

const (
	maxReconnectDelay = 30 * time.Second
	headerAttempts    = "x-attempts"
	headerError       = "x-error"
	headerToken       = "x-bus-publish" // correlates a basic.return with its Publish
	maxErrorHeader    = 1024
)

// RabbitMQ is the RabbitMQ bus.Bus. Create it with New; it is safe for concurrent
// use.
type RabbitMQ struct {
	cfg Config
	log *slog.Logger

	mu       sync.RWMutex
	subs     map[string]bus.Handler
	sess     *session // nil while disconnected
	started  bool
	managing bool // the reconnect loop runs
	closed   bool

	closing     chan struct{} // closed when Close begins
	managerDone chan struct{} // closed when the reconnect loop (manage) has exited

	hctx     context.Context // handlers' context, cancelled when the drain ends
	hcancel  context.CancelFunc
	handlers sync.WaitGroup // consumer goroutines
	tags     atomic.Uint64  // consumer tag suffixes

	closeOnce sync.Once
	closeErr  error // written once inside closeOnce
}

var _ bus.Bus = (*RabbitMQ)(nil)

// New returns a RabbitMQ bus configured by cfg; it does not connect until Start.
// It returns an error wrapping bus.ErrInvalid when cfg.URL is empty or does not
// parse.
func New(cfg Config) (*RabbitMQ, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("rabbitmq: new: empty URL: %w", bus.ErrInvalid)
	}
	if _, err := amqp.ParseURI(cfg.URL); err != nil {
		return nil, fmt.Errorf("rabbitmq: new: %w: %w", bus.ErrInvalid, err)
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	return &RabbitMQ{
		cfg:         cfg,
		log:         cfg.Logger.With("component", "bus.rabbitmq", "exchange", cfg.Exchange),
		subs:        make(map[string]bus.Handler),
		closing:     make(chan struct{}),
		managerDone: make(chan struct{}),
		hctx:        ctx,
		hcancel:     cancel,
	}, nil
}

// QueueName returns the name of topic's main queue; its retry and parking queues
// add ".retry" and ".failed".
func (b *RabbitMQ) QueueName(topic string) string { return b.cfg.QueuePrefix + topic }

// Subscribe registers h as the handler of topic; its queues are declared and its
// consumer started by Start and after every reconnection. It returns an error
// wrapping bus.ErrInvalid for an empty topic, a nil handler, a topic already
// subscribed or a bus already started, and bus.ErrClosed after Close.
func (b *RabbitMQ) Subscribe(topic string, h bus.Handler) error {
	if topic == "" || h == nil {
		return fmt.Errorf("subscribe: topic[%s]: empty topic or nil handler: %w", topic, bus.ErrInvalid)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return fmt.Errorf("subscribe: topic[%s]: %w", topic, bus.ErrClosed)
	case b.started:
		return fmt.Errorf("subscribe: topic[%s]: bus already started: %w", topic, bus.ErrInvalid)
	case b.subs[topic] != nil:
		return fmt.Errorf("subscribe: topic[%s]: already subscribed: %w", topic, bus.ErrInvalid)
	}
	b.subs[topic] = h
	return nil
}

// Start connects, declares the topology, starts the consumers, and keeps them
// running (reconnecting when needed) until Close. It retries the first connection
// with backoff until it succeeds or ctx ends, in which case it returns ctx's
// error joined with the last connection error and Start may be called again; ctx
// is not retained after Start returns. It returns bus.ErrClosed after Close, and
// nil when already started.
func (b *RabbitMQ) Start(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return fmt.Errorf("start: %w", bus.ErrClosed)
	}
	if b.started {
		b.mu.Unlock()
		return nil
	}
	b.started = true
	b.mu.Unlock()
	failed := func(err error) error {
		b.mu.Lock()
		b.started = false
		b.mu.Unlock()
		return err
	}

	delay := b.cfg.ReconnectDelay
	for {
		s, err := b.connect()
		if err == nil {
			if !b.install(s) {
				s.shutdown(bus.ErrClosed, b.cfg.CloseTimeout)
				return failed(fmt.Errorf("start: %w", bus.ErrClosed))
			}
			b.mu.Lock()
			b.managing = true
			b.mu.Unlock()
			go b.manage(s)
			return nil
		}
		b.log.Warn("bus: connect failed", "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return failed(fmt.Errorf("start: connect to %s: %w", redact(b.cfg.URL), errors.Join(ctx.Err(), err)))
		case <-b.closing:
			t.Stop()
			return failed(fmt.Errorf("start: %w", bus.ErrClosed))
		}
		delay = min(delay*2, maxReconnectDelay)
	}
}

// manage waits for the session to die, then reconnects with backoff, until Close.
func (b *RabbitMQ) manage(s *session) {
	defer close(b.managerDone)
	for {
		select {
		case <-s.done:
		case <-b.closing:
			return
		}
		b.log.Warn("bus: connection lost", "err", s.cause())
		b.mu.Lock()
		if b.sess == s {
			b.sess = nil
		}
		b.mu.Unlock()
		s.shutdown(s.cause(), time.Second)
		b.state(false)

		delay := b.cfg.ReconnectDelay
		for s = nil; s == nil; {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-b.closing:
				t.Stop()
				return
			}
			ns, err := b.connect()
			if err != nil {
				delay = min(delay*2, maxReconnectDelay)
				b.log.Warn("bus: reconnect failed", "err", err, "retry_in", delay)
				continue
			}
			if !b.install(ns) {
				ns.shutdown(bus.ErrClosed, time.Second)
				return
			}
			b.log.Info("bus: reconnected")
			s = ns
		}
	}
}

// install makes s the current session and starts its consumers, unless the bus is
// closed, in which case it reports false.
func (b *RabbitMQ) install(s *session) bool {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return false
	}
	b.sess = s
	for _, c := range s.consumers {
		c.running.Store(int32(b.cfg.Prefetch))
		for range b.cfg.Prefetch {
			b.handlers.Add(1)
			go b.consume(s, c)
		}
		b.handlers.Add(1)
		go func() {
			defer b.handlers.Done()
			c.acks.run()
		}()
	}
	b.mu.Unlock()
	b.state(true)
	return true
}

func (b *RabbitMQ) state(up bool) {
	if b.cfg.onState != nil {
		b.cfg.onState(up)
	}
}

// Publish sends m to the exchange with routing key m.Topic and waits for the
// broker's confirm of this message (bounded by ctx and ConfirmTimeout). It
// returns an error wrapping bus.ErrInvalid for an empty topic, bus.ErrClosed
// after Close, bus.ErrUnavailable while disconnected or when the connection is
// lost before the confirm (the message may then have been delivered: publish
// again, consumers are idempotent), bus.ErrUnroutable when no queue is bound to
// the topic, bus.ErrNotConfirmed for a negative or missing confirm, or ctx's
// error.
func (b *RabbitMQ) Publish(ctx context.Context, m bus.Message) error {
	if err := bus.Validate(m); err != nil {
		return err
	}
	b.mu.RLock()
	closed, s := b.closed, b.sess
	b.mu.RUnlock()
	if closed {
		return fmt.Errorf("publish: topic[%s] id[%s]: %w", m.Topic, m.ID, bus.ErrClosed)
	}
	if s == nil {
		return fmt.Errorf("publish: topic[%s] id[%s]: not connected: %w", m.Topic, m.ID, bus.ErrUnavailable)
	}
	p := amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    m.ID,
		Body:         m.Body,
	}
	if err := s.publish(ctx, b.cfg.Exchange, m.Topic, p, b.cfg.ConfirmTimeout, b.closing); err != nil {
		return fmt.Errorf("publish: topic[%s] id[%s]: %w", m.Topic, m.ID, err)
	}
	return nil
}

// Close stops accepting publishes (waiting ones return bus.ErrClosed), cancels
// the consumers, waits up to CloseTimeout for running handlers (whose messages
// are then acknowledged as usual), cancels the handlers' context, and closes the
// connection within CloseTimeout. Unacknowledged messages stay in RabbitMQ and
// are delivered again later. It returns an error wrapping
// context.DeadlineExceeded when handlers were still running at the deadline;
// later calls return nil.
func (b *RabbitMQ) Close() error {
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

func (b *RabbitMQ) close() error {
	b.mu.Lock()
	b.closed = true
	close(b.closing)
	s := b.sess
	b.sess = nil
	managing := b.managing
	b.mu.Unlock()

	var err error
	if s != nil {
		// Asynchronous: on a dead network even a no-wait cancel may block in a
		// socket write, until shutdown below closes the socket.
		go s.cancelConsumers()
	}
	handlersDone := make(chan struct{})
	go func() { b.handlers.Wait(); close(handlersDone) }()
	t := time.NewTimer(b.cfg.CloseTimeout)
	select {
	case <-handlersDone:
	case <-t.C:
		err = fmt.Errorf("bus: close: handlers still running after %s: %w", b.cfg.CloseTimeout, context.DeadlineExceeded)
	}
	t.Stop()
	b.hcancel()
	if s != nil {
		s.shutdown(bus.ErrClosed, b.cfg.CloseTimeout)
	}
	if managing {
		// The manager only waits on timers and dials; it notices closing.
		t := time.NewTimer(b.cfg.CloseTimeout)
		select {
		case <-b.managerDone:
		case <-t.C:
			b.log.Error("bus: close: reconnect loop did not stop in time")
		}
		t.Stop()
	}
	b.state(false)
	return err
}

// consume runs deliveries of one consumer through its handler until the consumer
// ends (channel closed or consumer cancelled), which kills the session so that it
// is rebuilt. The last of a consumer's goroutines to return lets its acker
// acknowledge what is left and stop.
func (b *RabbitMQ) consume(s *session, c *consumer) {
	defer b.handlers.Done()
	for d := range c.deliveries {
		b.deliver(s, c, d)
	}
	s.fail(fmt.Errorf("consumer of %s ended", c.queue))
	if c.running.Add(-1) == 0 {
		close(c.acks.in)
	}
}

func (b *RabbitMQ) deliver(s *session, c *consumer, d amqp.Delivery) {
	m := bus.Message{Topic: c.topic, ID: d.MessageId, Body: d.Body}
	attempt := attemptOf(d.Headers)
	herr := bus.Invoke(b.hctx, c.h, m)
	if herr == nil {
		c.acks.settle(d.DeliveryTag, true) // acknowledged in a batch
		return
	}

	p := amqp.Publishing{
		ContentType:  d.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    d.MessageId,
		Timestamp:    d.Timestamp,
		Body:         d.Body,
		Headers:      amqp.Table{headerAttempts: int64(attempt + 1), headerError: truncate(herr.Error(), maxErrorHeader)},
	}
	target := c.queue + ".retry"
	park := attempt >= b.cfg.MaxAttempts
	if park {
		target = c.queue + ".failed"
		p.Headers[headerAttempts] = int64(attempt)
	} else {
		delay := bus.Backoff(b.cfg.RetryDelay, b.cfg.MaxRetryDelay, attempt)
		p.Expiration = strconv.FormatInt(max(delay.Milliseconds(), 1), 10)
		b.log.Warn("bus: handler failed, will redeliver",
			"topic", m.Topic, "id", m.ID, "attempt", attempt, "delay", delay, "err", herr)
	}
	// Through the default exchange, straight to the queue named target, on the
	// session the delivery came from: if that session is gone, so is the
	// delivery, which the broker will redeliver.
	if err := s.publish(context.Background(), "", target, p, b.cfg.ConfirmTimeout, nil); err != nil {
		b.log.Error("bus: could not move a failed message; it stays unacknowledged",
			"topic", m.Topic, "id", m.ID, "to", target, "err", err)
		// Requeue it after a pause rather than holding a prefetch slot forever;
		// its attempt count is unchanged, so no attempt is lost or gained.
		t := time.NewTimer(b.cfg.RetryDelay)
		select {
		case <-t.C:
		case <-s.done:
		case <-b.closing:
		}
		t.Stop()
		_ = d.Nack(false, true) // fails harmlessly when the channel is gone
		c.acks.settle(d.DeliveryTag, false)
		return
	}
	// Acknowledged alone, at once: OnFailed runs only once the ack is written.
	err := d.Ack(false)
	c.acks.settle(d.DeliveryTag, false)
	if err != nil {
		b.log.Warn("bus: ack after moving a failed message failed; it may be handled again",
			"topic", m.Topic, "id", m.ID, "err", err)
		return
	}
	if park {
		b.log.Error("bus: message failed, parked",
			"topic", m.Topic, "id", m.ID, "queue", target, "attempts", attempt, "err", herr)
		if b.cfg.OnFailed != nil {
			b.cfg.OnFailed(m, herr)
		}
	}
}

// attemptOf returns the attempt number of a delivery: the x-attempts header set
// when it was sent to the retry queue, or 1.
func attemptOf(h amqp.Table) int {
	switch v := h[headerAttempts].(type) {
	case int64:
		return max(int(v), 1)
	case int32:
		return max(int(v), 1)
	case int:
		return max(v, 1)
	}
	return 1
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// redact hides the password of an AMQP URL in messages.
func redact(url string) string {
	u, err := amqp.ParseURI(url)
	if err != nil {
		return "amqp://?"
	}
	return u.Scheme + "://" + u.Host + ":" + strconv.Itoa(u.Port) + "/" + u.Vhost
}
