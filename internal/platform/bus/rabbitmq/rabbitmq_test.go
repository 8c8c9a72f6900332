package rabbitmq

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/platform/bus/bustest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// bound is how long any one expectation may take before the test fails: a guard
// against hanging, not a performance assertion.
const bound = 30 * time.Second

// testConfig returns a configuration with a unique exchange and queue prefix and
// fast retries, and registers the removal of the exchange and of every queue the
// bus declared.
func testConfig(t *testing.T) Config {
	t.Helper()
	url := testsvc.AMQPURL(t)
	name := testsvc.UniqueName("bustest_")
	cfg := Config{
		URL:            url,
		Exchange:       name,
		QueuePrefix:    name + ".",
		Prefetch:       8,
		RetryDelay:     10 * time.Millisecond,
		MaxRetryDelay:  50 * time.Millisecond,
		ReconnectDelay: 20 * time.Millisecond,
		ConfirmTimeout: 10 * time.Second,
		CloseTimeout:   5 * time.Second,
	}
	return cfg
}

// newTestBus makes a bus from cfg and registers its Close and the removal of its
// broker objects.
func newTestBus(t *testing.T, cfg Config) *RabbitMQ {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		b.mu.RLock()
		topics := make([]string, 0, len(b.subs))
		for topic := range b.subs {
			topics = append(topics, topic)
		}
		b.mu.RUnlock()
		deleteTopology(t, cfg, topics)
	})
	return b
}

func deleteTopology(t *testing.T, cfg Config, topics []string) {
	withChannel(t, cfg.URL, func(ch *amqp.Channel) {
		for _, topic := range topics {
			q := cfg.QueuePrefix + topic
			for _, name := range []string{q, q + ".retry", q + ".failed"} {
				if _, err := ch.QueueDelete(name, false, false, false); err != nil {
					t.Errorf("delete queue %s: %v", name, err)
				}
			}
		}
		if err := ch.ExchangeDelete(cfg.Exchange, false, false); err != nil {
			t.Errorf("delete exchange %s: %v", cfg.Exchange, err)
		}
	})
}

func withChannel(t testing.TB, url string, f func(*amqp.Channel)) {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Errorf("dial: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Errorf("channel: %v", err)
		return
	}
	defer ch.Close()
	f(ch)
}

func TestRabbitMQContract(t *testing.T) {
	bustest.Run(t, func(t *testing.T, s bustest.Setup) bus.Bus {
		cfg := testConfig(t)
		cfg.MaxAttempts = s.MaxAttempts
		cfg.OnFailed = s.OnFailed
		return newTestBus(t, cfg)
	})
}

func startBus(t *testing.T, b *RabbitMQ) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
}

// The parked message sits in <prefix><topic>.failed with its attempts and the
// handler's error, and nothing of it is left in the main or retry queue.
func TestRabbitMQParkedInFailedQueue(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxAttempts = 2
	parked := make(chan struct{})
	cfg.OnFailed = func(bus.Message, error) { close(parked) }
	b := newTestBus(t, cfg)
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error {
		return errors.New("award service down")
	}); err != nil {
		t.Fatal(err)
	}
	startBus(t, b)
	m := bustest.Message(t, "send_award", "poison-1")
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	if err := b.Publish(ctx, m); err != nil {
		t.Fatal(err)
	}
	select {
	case <-parked:
	case <-ctx.Done():
		t.Fatal("never parked")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	q := b.QueueName("send_award")
	withChannel(t, cfg.URL, func(ch *amqp.Channel) {
		for _, name := range []string{q, q + ".retry"} {
			qi, err := ch.QueueDeclarePassive(name, true, false, false, false, argsOf(name, q))
			if err != nil {
				t.Fatalf("inspect %s: %v", name, err)
			}
			if qi.Messages != 0 {
				t.Errorf("%s holds %d messages, want 0", name, qi.Messages)
			}
		}
		d, ok, err := ch.Get(q+".failed", false)
		if err != nil || !ok {
			t.Fatalf("get from %s.failed: ok=%v err=%v", q, ok, err)
		}
		if d.MessageId != m.ID || string(d.Body) != string(m.Body) {
			t.Errorf("parked message %q %s, want %q %s", d.MessageId, d.Body, m.ID, m.Body)
		}
		if got := attemptOf(d.Headers); got != 2 {
			t.Errorf("x-attempts = %d, want 2", got)
		}
		if got, _ := d.Headers[headerError].(string); got != "award service down" {
			t.Errorf("x-error = %q", got)
		}
		if _, more, _ := ch.Get(q+".failed", false); more {
			t.Error("more than one parked message")
		}
	})
}

func argsOf(name, q string) amqp.Table {
	if name == q+".retry" {
		return amqp.Table{"x-dead-letter-exchange": "", "x-dead-letter-routing-key": q}
	}
	return nil
}

// Messages published while no consumer runs wait in the durable queue and are
// delivered once a bus subscribes again (as after a restart).
func TestRabbitMQDurableAcrossRestart(t *testing.T) {
	cfg := testConfig(t)
	first := newTestBus(t, cfg)
	if err := first.Subscribe("send_rebate", func(context.Context, bus.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	startBus(t, first) // declares the durable topology
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	publisher := newTestBus(t, cfg)
	startBus(t, publisher) // no subscriptions: publish only
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for i := range 5 {
		if err := publisher.Publish(ctx, bustest.Message(t, "send_rebate", fmt.Sprint("r", i))); err != nil {
			t.Fatal(err)
		}
	}

	got := make(chan string, 10)
	second := newTestBus(t, cfg)
	if err := second.Subscribe("send_rebate", func(_ context.Context, m bus.Message) error {
		got <- m.ID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	startBus(t, second)
	seen := map[string]bool{}
	for len(seen) < 5 {
		select {
		case id := <-got:
			seen[id] = true
		case <-ctx.Done():
			t.Fatalf("only %d of 5 delivered after restart", len(seen))
		}
	}
}

// proxy is a TCP proxy between the bus and RabbitMQ that the test can cut
// (kill every connection and refuse new ones) and freeze (stop forwarding from
// the broker, so confirms never arrive).
type proxy struct {
	t      *testing.T
	ln     net.Listener
	target string

	mu     sync.Mutex
	down   bool
	conns  []net.Conn
	thawed chan struct{} // closed while not frozen
	acks   []ackFrame    // basic.ack and basic.nack frames the clients sent, in order
}

// ackFrame is a basic.ack or basic.nack seen by the proxy.
type ackFrame struct {
	channel  uint16
	tag      uint64
	multiple bool
	nack     bool
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target, thawed: make(chan struct{})}
	close(p.thawed)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
	})
	return p
}

func (p *proxy) dial(string, string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", p.ln.Addr().String(), 5*time.Second)
	if err != nil {
		return nil, err
	}
	return c, c.SetDeadline(time.Now().Add(5 * time.Second)) // cleared after the handshake
}

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go p.fromClient(c, up)
		go p.fromBroker(c, up)
	}
}

// fromClient forwards the client's bytes and records its acknowledgements.
func (p *proxy) fromClient(c, up net.Conn) {
	defer up.Close()
	buf := make([]byte, 32<<10)
	var pending []byte
	header := true // the protocol header comes first
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
			pending = append(pending, buf[:n]...)
			if header && len(pending) >= 8 {
				pending, header = pending[8:], false
			}
			if !header {
				pending = p.parse(pending)
			}
		}
		if err != nil {
			return
		}
	}
}

// parse records the acknowledgements among the complete frames of b and returns
// what is left of b.
func (p *proxy) parse(b []byte) []byte {
	for len(b) >= 7 {
		size := int(binary.BigEndian.Uint32(b[3:7]))
		if len(b) < 7+size+1 {
			break
		}
		typ, ch, payload := b[0], binary.BigEndian.Uint16(b[1:3]), b[7:7+size]
		if typ == 1 && len(payload) >= 13 { // a method frame: class, method, arguments
			class, method := binary.BigEndian.Uint16(payload[0:2]), binary.BigEndian.Uint16(payload[2:4])
			tag, bits := binary.BigEndian.Uint64(payload[4:12]), payload[12]
			if class == 60 && (method == 80 || method == 120) { // basic.ack, basic.nack
				p.mu.Lock()
				p.acks = append(p.acks, ackFrame{channel: ch, tag: tag, multiple: bits&1 != 0, nack: method == 120})
				p.mu.Unlock()
			}
		}
		b = b[7+size+1:]
	}
	return b
}

// ackFrames returns the acknowledgements seen so far.
func (p *proxy) ackFrames() []ackFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]ackFrame(nil), p.acks...)
}

func (p *proxy) fromBroker(c, up net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			p.mu.Lock()
			thawed := p.thawed
			p.mu.Unlock()
			<-thawed
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes every proxied connection.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
	if down {
		p.cut()
	}
}

func (p *proxy) freeze() {
	p.mu.Lock()
	p.thawed = make(chan struct{})
	p.mu.Unlock()
}

func (p *proxy) thaw() {
	p.mu.Lock()
	select {
	case <-p.thawed:
	default:
		close(p.thawed)
	}
	p.mu.Unlock()
}

// stateLog records the bus's connection state changes.
type stateLog struct{ ch chan bool }

func (s *stateLog) hook(up bool) {
	select {
	case s.ch <- up:
	default:
	}
}

func (s *stateLog) waitFor(t *testing.T, want bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for {
		select {
		case up := <-s.ch:
			if up == want {
				return
			}
		case <-ctx.Done():
			t.Fatalf("bus never became connected=%v", want)
		}
	}
}

// While the broker is unreachable Publish fails at once with ErrUnavailable
// rather than blocking; after it comes back the bus reconnects by itself, and
// publishing and consuming work again.
func TestRabbitMQReconnects(t *testing.T) {
	cfg := testConfig(t)
	addr := testsvc.Addr(t, "rabbitmq")
	px := newProxy(t, addr)
	states := &stateLog{ch: make(chan bool, 64)}
	cfg.dial = px.dial
	cfg.onState = states.hook
	cfg.Heartbeat = time.Second
	b := newTestBus(t, cfg)
	got := make(chan string, 100)
	if err := b.Subscribe("send_award", func(_ context.Context, m bus.Message) error {
		got <- m.ID
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	startBus(t, b)
	states.waitFor(t, true)

	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	expect := func(id string) {
		t.Helper()
		for {
			select {
			case g := <-got:
				if g == id {
					return
				}
			case <-ctx.Done():
				t.Fatalf("%s never delivered", id)
			}
		}
	}
	if err := b.Publish(ctx, bustest.Message(t, "send_award", "before")); err != nil {
		t.Fatal(err)
	}
	expect("before")

	for round := range 2 { // a second loss proves the rebuilt session is watched too
		px.setDown(true)
		states.waitFor(t, false)
		err := b.Publish(ctx, bustest.Message(t, "send_award", "while-down"))
		if !errors.Is(err, bus.ErrUnavailable) {
			t.Fatalf("round %d: Publish while down = %v, want ErrUnavailable", round, err)
		}
		if ctx.Err() != nil {
			t.Fatal("Publish while down waited for its context instead of failing fast")
		}

		px.setDown(false)
		states.waitFor(t, true)
		id := fmt.Sprint("after-", round)
		if err := b.Publish(ctx, bustest.Message(t, "send_award", id)); err != nil {
			t.Fatalf("round %d: Publish after reconnect: %v", round, err)
		}
		expect(id)
	}
}

// A connection killed under a stream of publishes loses nothing that Publish
// reported as sent: every id whose Publish returned nil is delivered.
func TestRabbitMQNoConfirmedMessageLostOnDisconnect(t *testing.T) {
	cfg := testConfig(t)
	px := newProxy(t, testsvc.Addr(t, "rabbitmq"))
	states := &stateLog{ch: make(chan bool, 64)}
	cfg.dial = px.dial
	cfg.onState = states.hook
	b := newTestBus(t, cfg)
	var mu sync.Mutex
	seen := map[string]bool{}
	if err := b.Subscribe("send_rebate", func(_ context.Context, m bus.Message) error {
		mu.Lock()
		seen[m.ID] = true
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	startBus(t, b)
	states.waitFor(t, true)

	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var confirmed []string
	var failures int
	for i := range 400 {
		if i == 100 || i == 250 {
			px.cut() // the bus reconnects at once: the proxy is still up
		}
		id := fmt.Sprint("m", i)
		if err := b.Publish(ctx, bustest.Message(t, "send_rebate", id)); err != nil {
			if !errors.Is(err, bus.ErrUnavailable) {
				t.Fatalf("Publish %s: %v, want nil or ErrUnavailable", id, err)
			}
			failures++
			time.Sleep(5 * time.Millisecond) // let the reconnection happen
			continue
		}
		confirmed = append(confirmed, id)
	}
	if failures == 0 {
		t.Log("no publish hit the disconnection")
	}
	// The bus came back by itself: a last publish goes through.
	for {
		err := b.Publish(ctx, bustest.Message(t, "send_rebate", "last"))
		if err == nil {
			confirmed = append(confirmed, "last")
			break
		}
		if !errors.Is(err, bus.ErrUnavailable) || ctx.Err() != nil {
			t.Fatalf("Publish after the disconnections: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for {
		mu.Lock()
		missing := ""
		for _, id := range confirmed {
			if !seen[id] {
				missing = id
				break
			}
		}
		mu.Unlock()
		if missing == "" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("confirmed message %s never delivered (%d confirmed, %d failed)", missing, len(confirmed), failures)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Close returns, and releases every waiting publisher, even when the broker has
// stopped answering and confirms are outstanding.
func TestRabbitMQCloseWithUnconfirmedPublishes(t *testing.T) {
	cfg := testConfig(t)
	px := newProxy(t, testsvc.Addr(t, "rabbitmq"))
	cfg.dial = px.dial
	cfg.CloseTimeout = 200 * time.Millisecond
	cfg.ConfirmTimeout = time.Hour // only Close may end the wait
	b := newTestBus(t, cfg)
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	startBus(t, b)
	t.Cleanup(px.thaw)

	px.freeze()
	var started sync.WaitGroup
	var waiting atomic.Int32
	results := make(chan error, 16)
	for i := range 16 {
		started.Add(1)
		go func() {
			waiting.Add(1)
			started.Done()
			results <- b.Publish(context.Background(), bustest.Message(t, "send_award", fmt.Sprint("u", i)))
		}()
	}
	started.Wait()
	// Give the publishes a chance to be on the wire; whether they are or not,
	// Close must return and release them.
	time.Sleep(50 * time.Millisecond)

	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case <-closed:
	case <-ctx.Done():
		t.Fatal("Close hung with unconfirmed publishes outstanding")
	}
	for range 16 {
		select {
		case err := <-results:
			if err == nil {
				t.Error("a publish reported success although no confirm could arrive")
			} else if !errors.Is(err, bus.ErrClosed) && !errors.Is(err, bus.ErrUnavailable) {
				t.Errorf("released publish = %v, want ErrClosed or ErrUnavailable", err)
			}
		case <-ctx.Done():
			t.Fatal("a publisher stayed blocked after Close")
		}
	}
	if err := b.Publish(ctx, bustest.Message(t, "send_award", "late")); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
}

// Start gives up when its context ends and the broker cannot be reached.
func TestRabbitMQStartRespectsContext(t *testing.T) {
	cfg := testConfig(t)
	px := newProxy(t, testsvc.Addr(t, "rabbitmq"))
	px.setDown(true)
	cfg.dial = px.dial
	b := newTestBus(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := b.Start(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start = %v, want DeadlineExceeded", err)
	}
	if err := b.Publish(context.Background(), bustest.Message(t, "send_award", "x")); !errors.Is(err, bus.ErrUnavailable) {
		t.Fatalf("Publish before a successful Start = %v, want ErrUnavailable", err)
	}
	px.setDown(false)
	startBus(t, b) // may be called again after a failure
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("New without URL = %v, want ErrInvalid", err)
	}
	if _, err := New(Config{URL: "http://x"}); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("New with a bad URL = %v, want ErrInvalid", err)
	}
}

// BenchmarkRabbitMQPublish measures confirmed publishes from many goroutines
// (persistent messages, one confirm awaited per message).
func BenchmarkRabbitMQPublish(b *testing.B) {
	cfg := Config{URL: testsvc.AMQPURL(b)}
	name := testsvc.UniqueName("busbench_")
	cfg.Exchange, cfg.QueuePrefix = name, name+"."
	bb, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var delivered atomic.Int64
	if err := bb.Subscribe("send_award", func(context.Context, bus.Message) error {
		delivered.Add(1)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := bb.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		bb.Close()
		conn, err := amqp.Dial(cfg.URL)
		if err != nil {
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		q := bb.QueueName("send_award")
		for _, n := range []string{q, q + ".retry", q + ".failed"} {
			ch.QueueDelete(n, false, false, false)
		}
		ch.ExchangeDelete(cfg.Exchange, false, false)
	})
	body, _ := bus.NewEnvelope("x", time.UnixMilli(0), map[string]int{"awardId": 101})
	var seq atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint("b", seq.Add(1))
			if err := bb.Publish(context.Background(), bus.Message{Topic: "send_award", ID: id, Body: body}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
