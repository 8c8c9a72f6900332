package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

// maxInFlight bounds concurrent publishes per session. It is also the capacity of
// the basic.return buffer: every return belongs to an in-flight publish, so the
// buffer can never fill and the library never has to drop one.
const maxInFlight = 256

// dialTimeout bounds the TCP connect and the AMQP handshake of one attempt.
const dialTimeout = 10 * time.Second

// session is one connection with its publishing channel and consumers. It dies as
// a whole: when the connection or any channel closes, done is closed and the
// manager builds a new session.
type session struct {
	conn      *amqp.Connection
	pub       *amqp.Channel // confirm mode
	consumers []*consumer

	sem     chan struct{}    // in-flight publish slots
	returns chan amqp.Return // buffered maxInFlight, drained under rmu
	rmu     sync.Mutex
	waiting map[uint64]bool // publish token -> returned
	token   atomic.Uint64

	done    chan struct{}
	once    sync.Once
	errMu   sync.Mutex
	err     error
	closeMu sync.Once
}

type consumer struct {
	topic      string
	queue      string
	tag        string
	h          bus.Handler
	ch         *amqp.Channel
	deliveries <-chan amqp.Delivery
	acks       *acker       // acknowledges the deliveries of ch
	running    atomic.Int32 // handler goroutines still reading deliveries
}

// connect dials and builds a complete session: exchange, the publishing channel,
// and per subscription a channel with its queues, bindings and consumer. The
// consumer goroutines are started by install.
func (b *RabbitMQ) connect() (*session, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("bigmarket-bus")
	dial := b.cfg.dial
	if dial == nil {
		dial = amqp.DefaultDial(dialTimeout)
	}
	if linger := b.cfg.writeLinger; linger > 0 {
		raw := dial
		dial = func(network, addr string) (net.Conn, error) {
			c, err := raw(network, addr)
			if err != nil {
				return nil, err
			}
			return newLingerConn(c, linger), nil
		}
	}
	conn, err := amqp.DialConfig(b.cfg.URL, amqp.Config{
		Heartbeat:  b.cfg.Heartbeat,
		Properties: props,
		Dial:       dial,
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", redact(b.cfg.URL), err)
	}
	s := &session{
		conn:    conn,
		sem:     make(chan struct{}, maxInFlight),
		returns: make(chan amqp.Return, maxInFlight),
		waiting: make(map[uint64]bool),
		done:    make(chan struct{}),
	}
	s.watch(conn.NotifyClose(make(chan *amqp.Error, 1)), "connection")
	fail := func(op string, err error) (*session, error) {
		err = fmt.Errorf("%s: %w", op, err)
		s.shutdown(err, time.Second)
		return nil, err
	}

	if s.pub, err = conn.Channel(); err != nil {
		return fail("open publishing channel", err)
	}
	s.watch(s.pub.NotifyClose(make(chan *amqp.Error, 1)), "publishing channel")
	if err := s.pub.Confirm(false); err != nil {
		return fail("confirm mode", err)
	}
	s.pub.NotifyReturn(s.returns)
	if err := s.pub.ExchangeDeclare(b.cfg.Exchange, amqp.ExchangeTopic, true, false, false, false, nil); err != nil {
		return fail("declare exchange "+b.cfg.Exchange, err)
	}

	b.mu.RLock()
	subs := make(map[string]bus.Handler, len(b.subs))
	for topic, h := range b.subs {
		subs[topic] = h
	}
	b.mu.RUnlock()
	for topic, h := range subs {
		c, err := b.startConsumer(s, topic, h)
		if err != nil {
			return fail("subscribe "+topic, err)
		}
		s.consumers = append(s.consumers, c)
	}
	return s, nil
}

func (b *RabbitMQ) startConsumer(s *session, topic string, h bus.Handler) (*consumer, error) {
	q := b.QueueName(topic)
	ch, err := s.conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	s.watch(ch.NotifyClose(make(chan *amqp.Error, 1)), "channel of "+q)
	if err := ch.Qos(b.cfg.Prefetch, 0, false); err != nil {
		return nil, fmt.Errorf("qos: %w", err)
	}
	declare := []struct {
		name string
		args amqp.Table
	}{
		{q, nil},
		{q + ".retry", amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": q}},
		{q + ".failed", nil},
	}
	for _, d := range declare {
		if _, err := ch.QueueDeclare(d.name, true, false, false, false, d.args); err != nil {
			return nil, fmt.Errorf("declare queue %s: %w", d.name, err)
		}
	}
	if err := ch.QueueBind(q, topic, b.cfg.Exchange, false, nil); err != nil {
		return nil, fmt.Errorf("bind queue %s to %s: %w", q, b.cfg.Exchange, err)
	}
	tag := fmt.Sprintf("bigmarket-%s-%d", topic, b.tags.Add(1))
	deliveries, err := ch.Consume(q, tag, false, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("consume %s: %w", q, err)
	}
	acks := newAcker(ch, 2*b.cfg.Prefetch, b.cfg.ackDelay, b.cfg.ackHold, max(b.cfg.Prefetch/2, 1),
		b.log.With("queue", q))
	return &consumer{topic: topic, queue: q, tag: tag, h: h, ch: ch, deliveries: deliveries, acks: acks}, nil
}

// watch kills the session when notify reports a close (or is closed).
func (s *session) watch(notify chan *amqp.Error, what string) {
	go func() {
		select {
		case e, ok := <-notify:
			if ok && e != nil {
				s.fail(fmt.Errorf("%s closed: %w", what, e))
			} else {
				s.fail(fmt.Errorf("%s closed", what))
			}
		case <-s.done:
			// The buffer of one takes the library's single send, if any.
		}
	}()
}

// fail marks the session dead with cause err; only the first cause is kept.
func (s *session) fail(err error) {
	s.once.Do(func() {
		s.errMu.Lock()
		s.err = err
		s.errMu.Unlock()
		close(s.done)
	})
}

func (s *session) cause() error {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	return s.err
}

// cancelConsumers stops new deliveries without waiting for the broker (noWait),
// so it cannot block on a dead network. Prefetched deliveries not yet handled
// are requeued by the broker when the channel closes.
func (s *session) cancelConsumers() {
	for _, c := range s.consumers {
		if err := c.ch.Cancel(c.tag, true); err != nil && !errors.Is(err, amqp.ErrClosed) {
			s.fail(fmt.Errorf("cancel consumer %s: %w", c.tag, err))
		}
	}
}

// shutdown marks the session dead and closes its connection, waiting at most
// timeout for the broker's close-ok (the deadline is set on the socket).
func (s *session) shutdown(cause error, timeout time.Duration) {
	s.fail(cause)
	s.closeMu.Do(func() {
		// Whatever it returns, the library has closed the socket, channels and
		// notification channels when CloseDeadline returns.
		_ = s.conn.CloseDeadline(time.Now().Add(timeout))
	})
}

// publish sends p on the session's confirm channel and waits for its confirm,
// the session's end, ctx, abort (may be nil) or timeout. A message returned by
// the broker as unroutable gives bus.ErrUnroutable.
func (s *session) publish(ctx context.Context, exchange, key string, p amqp.Publishing, timeout time.Duration, abort <-chan struct{}) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return fmt.Errorf("%w: %w", bus.ErrUnavailable, s.cause())
	case <-abort:
		return bus.ErrClosed
	}
	defer func() { <-s.sem }()

	token := s.token.Add(1)
	headers := amqp.Table{headerToken: int64(token)}
	for k, v := range p.Headers {
		headers[k] = v
	}
	p.Headers = headers
	s.rmu.Lock()
	s.waiting[token] = false
	s.rmu.Unlock()
	defer func() {
		s.rmu.Lock()
		s.drainReturns()
		delete(s.waiting, token)
		s.rmu.Unlock()
	}()

	dc, err := s.pub.PublishWithDeferredConfirmWithContext(ctx, exchange, key, true, false, p)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return err
		}
		// Anything else is the transport failing (closed channel, reset
		// socket): the session is unusable, and the message is not sent.
		s.fail(fmt.Errorf("publish: %w", err))
		return fmt.Errorf("%w: %w", bus.ErrUnavailable, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-dc.Done():
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return fmt.Errorf("%w: connection lost before the confirm: %w", bus.ErrUnavailable, s.cause())
	case <-abort:
		return bus.ErrClosed
	case <-t.C:
		return fmt.Errorf("%w: no confirm within %s", bus.ErrNotConfirmed, timeout)
	}
	if !dc.Acked() {
		if s.pub.IsClosed() {
			return fmt.Errorf("%w: channel closed before the confirm", bus.ErrUnavailable)
		}
		return fmt.Errorf("%w: negative confirm", bus.ErrNotConfirmed)
	}
	// The broker sends basic.return before the ack of the same message, and the
	// library queues it in s.returns (never full, see maxInFlight) before it
	// handles the ack; so, the ack seen, the return is in the buffer or already
	// moved to waiting by another publisher.
	s.rmu.Lock()
	s.drainReturns()
	returned := s.waiting[token]
	s.rmu.Unlock()
	if returned {
		return bus.ErrUnroutable
	}
	return nil
}

// drainReturns moves the returns buffered so far into waiting. Caller holds rmu.
func (s *session) drainReturns() {
	for {
		select {
		case r, ok := <-s.returns:
			if !ok {
				return
			}
			if tok, ok := r.Headers[headerToken].(int64); ok {
				if _, mine := s.waiting[uint64(tok)]; mine {
					s.waiting[uint64(tok)] = true
				}
			}
		default:
			return
		}
	}
}
