package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/platform/bus/bustest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// counts records how many times the handler was called per message id.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[id]++
	return c.n[id]
}

func (c *counts) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// currentAcker returns the acker of the bus's only subscription, nil while
// disconnected.
func currentAcker(b *RabbitMQ) *acker {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.sess == nil || len(b.sess.consumers) == 0 {
		return nil
	}
	return b.sess.consumers[0].acks
}

func publishIDs(t *testing.T, b *RabbitMQ, topic string, ids ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	for _, id := range ids {
		if err := b.Publish(ctx, bustest.Message(t, topic, id)); err != nil {
			t.Fatalf("publish %s: %v", id, err)
		}
	}
}

// queueDepth returns how many messages wait in queue name (ready ones: after the
// bus closed, unacknowledged ones are ready again).
func queueDepth(t *testing.T, cfg Config, name string, args amqp.Table) int {
	t.Helper()
	depth := -1
	withChannel(t, cfg.URL, func(ch *amqp.Channel) {
		q, err := ch.QueueDeclarePassive(name, true, false, false, false, args)
		if err != nil {
			t.Fatalf("inspect %s: %v", name, err)
		}
		depth = q.Messages
	})
	return depth
}

// Handled deliveries wait for the oldest one's handler and then leave in one
// basic.ack with multiple=true, which covers all of them; nothing is
// acknowledged while the oldest handler runs.
func TestRabbitMQAcksBatchedBehindUnfinishedHandler(t *testing.T) {
	cfg := testConfig(t)
	px := newProxy(t, testsvc.Addr(t, "rabbitmq"))
	cfg.dial = px.dial
	cfg.ackHold = time.Hour // only the oldest handler's return may release the others
	b := newTestBus(t, cfg)
	release := make(chan struct{})
	var seen counts
	if err := b.Subscribe("send_award", func(_ context.Context, m bus.Message) error {
		seen.add(m.ID)
		if m.ID == "m0" {
			<-release
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	startBus(t, b)
	ids := make([]string, cfg.Prefetch)
	for i := range ids {
		ids[i] = fmt.Sprint("m", i)
	}
	publishIDs(t, b, "send_award", ids...) // delivery tags 1..8, m0 first

	a := currentAcker(b)
	testsvc.Eventually(t, "the 7 later handlers to report", func() bool {
		return a.waiting.Load() == int64(len(ids)-1) || len(px.ackFrames()) > 0 // (the latter: a bug)
	})
	if got := px.ackFrames(); len(got) != 0 {
		t.Fatalf("acknowledgements sent while the oldest handler runs: %+v", got)
	}
	close(release)
	testsvc.Eventually(t, "an acknowledgement", func() bool { return len(px.ackFrames()) > 0 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got := px.ackFrames()
	if len(got) != 1 || got[0].tag != uint64(len(ids)) || !got[0].multiple || got[0].nack {
		t.Errorf("acknowledgements = %+v, want one basic.ack of tag %d with multiple=true", got, len(ids))
	}
	for _, id := range ids {
		if n := seen.get(id); n != 1 {
			t.Errorf("%s handled %d times, want 1", id, n)
		}
	}
	if n := queueDepth(t, cfg, b.QueueName("send_award"), nil); n != 0 {
		t.Errorf("%d messages left in the queue after Close, want 0 (all acknowledged)", n)
	}
}

// A delivery whose handler has not returned is never acknowledged: its later
// neighbours are acknowledged one by one after the hold, and when the connection
// dies the unfinished one alone is delivered again.
func TestRabbitMQUnfinishedHandlerNeverAcked(t *testing.T) {
	cfg := testConfig(t)
	px := newProxy(t, testsvc.Addr(t, "rabbitmq"))
	states := &stateLog{ch: make(chan bool, 64)}
	cfg.dial = px.dial
	cfg.onState = states.hook
	cfg.ackHold = time.Millisecond
	b := newTestBus(t, cfg)
	release := make(chan struct{})
	var seen counts
	if err := b.Subscribe("send_award", func(_ context.Context, m bus.Message) error {
		if seen.add(m.ID) == 1 && m.ID == "m0" {
			<-release
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	startBus(t, b)
	states.waitFor(t, true)
	ids := make([]string, cfg.Prefetch)
	for i := range ids {
		ids[i] = fmt.Sprint("m", i)
	}
	publishIDs(t, b, "send_award", ids...) // delivery tags 1..8, m0 first

	// Tags 2..8 acknowledged, each alone.
	testsvc.Eventually(t, "tags 2..8 acknowledged", func() bool {
		acked := map[uint64]bool{}
		for _, f := range px.ackFrames() {
			for tag := f.tag; tag > 0 && (tag == f.tag || f.multiple); tag-- {
				acked[tag] = true
			}
		}
		for tag := uint64(2); tag <= uint64(len(ids)); tag++ {
			if !acked[tag] {
				return false
			}
		}
		return true
	})
	for _, f := range px.ackFrames() {
		if f.tag == 1 || f.multiple || f.nack {
			t.Fatalf("acknowledgement %+v covers the unfinished delivery (tag 1) or is not a single ack", f)
		}
	}

	px.cut()
	states.waitFor(t, false)
	close(release) // its ack, if any, goes to a dead channel
	states.waitFor(t, true)
	testsvc.Eventually(t, "m0 delivered again", func() bool { return seen.get("m0") == 2 })
	publishIDs(t, b, "send_award", "end")
	testsvc.Eventually(t, "end handled", func() bool { return seen.get("end") == 1 })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[1:] {
		if n := seen.get(id); n != 1 {
			t.Errorf("%s handled %d times, want 1 (it was acknowledged before the connection died)", id, n)
		}
	}
	if n := queueDepth(t, cfg, b.QueueName("send_award"), nil); n != 0 {
		t.Errorf("%d messages left in the queue after Close, want 0", n)
	}
}

// A failed delivery that cannot be moved to the retry queue is nacked and
// requeued; one that is moved is acknowledged alone; batched acknowledgements
// around them (multiple=true over tags already nacked or acknowledged alone)
// neither close the channel nor lose or repeat a message.
func TestRabbitMQBatchedAcksAroundNacksAndRetries(t *testing.T) {
	cfg := testConfig(t)
	px := newProxy(t, testsvc.Addr(t, "rabbitmq"))
	var losses atomic.Int32
	cfg.dial = px.dial
	cfg.onState = func(up bool) {
		if !up {
			losses.Add(1)
		}
	}
	cfg.ackHold = time.Hour
	cfg.MaxAttempts = 100
	cfg.OnFailed = func(m bus.Message, err error) { t.Errorf("%s parked: %v", m.ID, err) }
	b := newTestBus(t, cfg)
	release := make(chan struct{})
	var failing atomic.Bool
	failing.Store(true)
	var seen, succeeded counts
	if err := b.Subscribe("send_award", func(_ context.Context, m bus.Message) error {
		n := seen.add(m.ID)
		switch {
		case m.ID == "m0" && n == 1:
			<-release
		case m.ID == "m1" && failing.Load():
			return errors.New("award service down")
		}
		succeeded.add(m.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	startBus(t, b)
	q := b.QueueName("send_award")
	retryArgs := argsOf(q+".retry", q)
	withChannel(t, cfg.URL, func(ch *amqp.Channel) { // moving to retry now fails: m1 is nacked
		if _, err := ch.QueueDelete(q+".retry", false, false, false); err != nil {
			t.Fatal(err)
		}
	})
	ids := make([]string, cfg.Prefetch)
	for i := range ids {
		ids[i] = fmt.Sprint("m", i)
	}
	publishIDs(t, b, "send_award", ids...) // m0 tag 1 (blocks), m1 tag 2 (fails)

	a := currentAcker(b)
	testsvc.Eventually(t, "m1 nacked and m2..m7 reported", func() bool {
		nacked, acked := false, false
		for _, f := range px.ackFrames() {
			nacked = nacked || (f.nack && f.tag == 2)
			acked = acked || !f.nack
		}
		return acked || (nacked && a.waiting.Load() == int64(len(ids)-2)) // acked: a bug, reported below
	})
	for _, f := range px.ackFrames() {
		if !f.nack {
			t.Fatalf("acknowledgement %+v sent while the oldest handler runs", f)
		}
	}
	withChannel(t, cfg.URL, func(ch *amqp.Channel) {
		if _, err := ch.QueueDeclare(q+".retry", true, false, false, false, retryArgs); err != nil {
			t.Fatal(err)
		}
	})
	testsvc.Eventually(t, "m1 moved to the retry queue (a single ack)", func() bool {
		for _, f := range px.ackFrames() {
			if !f.nack && !f.multiple {
				return true
			}
		}
		return false
	})
	failing.Store(false)
	close(release)
	testsvc.Eventually(t, "every message handled", func() bool {
		for _, id := range ids {
			if succeeded.get(id) != 1 {
				return false
			}
		}
		return true
	})
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	if n := losses.Load(); n != 1 { // the one of Close
		t.Errorf("the session was lost %d times before Close, want 0 (a channel error?)", n-1)
	}
	frames := px.ackFrames()
	mixed := false
	for _, f := range frames {
		if f.multiple && !f.nack && f.tag > 2 {
			mixed = true
		}
	}
	if !mixed {
		t.Errorf("no basic.ack with multiple=true over the nacked tag 2: %+v", frames)
	}
	for _, id := range ids {
		if id == "m1" {
			continue
		}
		if n := seen.get(id); n != 1 {
			t.Errorf("%s handled %d times, want 1", id, n)
		}
	}
	for name, args := range map[string]amqp.Table{q: nil, q + ".retry": retryArgs, q + ".failed": nil} {
		if n := queueDepth(t, cfg, name, args); n != 0 {
			t.Errorf("%d messages left in %s, want 0", n, name)
		}
	}
}

// Under a stream of concurrent deliveries every delivery is acknowledged exactly
// once — no tag twice, none missing, none unknown to the broker — and the queue
// is empty after Close.
func TestRabbitMQEveryDeliveryAckedOnce(t *testing.T) {
	const publishers, each = 8, 100
	cfg := testConfig(t)
	px := newProxy(t, testsvc.Addr(t, "rabbitmq"))
	var losses atomic.Int32
	cfg.dial = px.dial
	cfg.onState = func(up bool) {
		if !up {
			losses.Add(1)
		}
	}
	cfg.Prefetch = 32
	b := newTestBus(t, cfg)
	var handled atomic.Int32
	if err := b.Subscribe("send_rebate", func(_ context.Context, m bus.Message) error {
		handled.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	startBus(t, b)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				publishIDs(t, b, "send_rebate", fmt.Sprintf("p%d-%d", p, i))
			}
		})
	}
	wg.Wait()
	testsvc.Eventually(t, "every message handled", func() bool { return handled.Load() == publishers*each })
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if n := losses.Load(); n != 1 {
		t.Errorf("the session was lost %d times before Close, want 0", n-1)
	}
	if n := handled.Load(); n != publishers*each {
		t.Errorf("handled %d deliveries, want %d (one each)", n, publishers*each)
	}
	acked := map[uint64]bool{}
	frames := px.ackFrames()
	for _, f := range frames {
		switch {
		case f.nack:
			t.Fatalf("unexpected nack %+v", f)
		case acked[f.tag]:
			t.Errorf("%+v: tag %d was already acknowledged (the broker closes the channel for that)", f, f.tag)
		case !f.multiple:
			acked[f.tag] = true
		default:
			for tag := uint64(1); tag <= f.tag; tag++ {
				acked[tag] = true
			}
		}
	}
	for tag := uint64(1); tag <= publishers*each; tag++ {
		if !acked[tag] {
			t.Errorf("tag %d never acknowledged", tag)
		}
	}
	if len(acked) != publishers*each {
		t.Errorf("%d tags acknowledged, want %d", len(acked), publishers*each)
	}
	t.Logf("%d deliveries acknowledged with %d frames", publishers*each, len(frames))
	if n := queueDepth(t, cfg, b.QueueName("send_rebate"), nil); n != 0 {
		t.Errorf("%d messages left in the queue after Close, want 0", n)
	}
}
