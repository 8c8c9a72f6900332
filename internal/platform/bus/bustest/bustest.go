// Package bustest is the contract test suite of bus.Bus: every implementation
// (the in-process Memory, RabbitMQ) runs the same tests through Run.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
)

// MaxAttempts is the number of attempts the suite configures and expects before a
// message is parked.
const MaxAttempts = 3

// Setup is what the suite asks of a new bus.
type Setup struct {
	// MaxAttempts the bus must be configured with.
	MaxAttempts int
	// OnFailed must be called by the bus for every message it parks as failed.
	OnFailed func(bus.Message, error)
}

// Factory returns a new, empty, not yet started bus configured as s asks, with
// fast redelivery (tens of milliseconds). The factory registers its own cleanup
// (Close, removal of broker objects) with t.Cleanup; the suite also closes the
// bus itself, so Close must be idempotent.
type Factory func(t *testing.T, s Setup) bus.Bus

// wait is how long the suite lets any single expectation take before it fails the
// test: a bound against hanging, not a performance assertion.
const wait = 30 * time.Second

// Run runs the contract suite against the buses newBus makes.
func Run(t *testing.T, newBus Factory) {
	t.Run("DeliversSameMessageOnce", func(t *testing.T) { testDelivers(t, newBus) })
	t.Run("ConcurrentPublishersAllDelivered", func(t *testing.T) { testConcurrent(t, newBus) })
	t.Run("FailTwiceThenSucceed", func(t *testing.T) { testFailTwice(t, newBus) })
	t.Run("AlwaysFailingIsParked", func(t *testing.T) { testParked(t, newBus) })
	t.Run("PublishAfterClose", func(t *testing.T) { testPublishAfterClose(t, newBus) })
	t.Run("Unroutable", func(t *testing.T) { testUnroutable(t, newBus) })
	t.Run("SubscribeRules", func(t *testing.T) { testSubscribeRules(t, newBus) })
	t.Run("TopicsAreSeparate", func(t *testing.T) { testTopicsSeparate(t, newBus) })
}

// Message returns a message of topic whose body is a real envelope with id.
func Message(t testing.TB, topic, id string) bus.Message {
	t.Helper()
	body, err := bus.NewEnvelope(id, time.UnixMilli(1700000000000), map[string]any{"userId": "u-" + id, "n": 1})
	if err != nil {
		t.Fatal(err)
	}
	return bus.Message{Topic: topic, ID: id, Body: body}
}

// recorder counts deliveries per id and signals each one.
type recorder struct {
	mu     sync.Mutex
	counts map[string]int
	msgs   map[string]bus.Message
	seen   chan string
}

func newRecorder() *recorder {
	return &recorder{counts: map[string]int{}, msgs: map[string]bus.Message{}, seen: make(chan string, 4096)}
}

func (r *recorder) record(m bus.Message) int {
	r.mu.Lock()
	r.counts[m.ID]++
	n := r.counts[m.ID]
	r.msgs[m.ID] = bus.Message{Topic: m.Topic, ID: m.ID, Body: append([]byte(nil), m.Body...)}
	r.mu.Unlock()
	select {
	case r.seen <- m.ID:
	default:
	}
	return n
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.counts[id]
}

func (r *recorder) distinct() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.counts)
}

// waitFor waits until cond holds, re-checking on every delivery signal.
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for !cond() {
		select {
		case <-r.seen:
		case <-time.After(20 * time.Millisecond): // re-check; signals may be dropped when full
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

func start(t *testing.T, b bus.Bus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

func publish(t *testing.T, b bus.Bus, m bus.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Publish(ctx, m); err != nil {
		t.Fatalf("Publish %s: %v", m.ID, err)
	}
}

func closeBus(t *testing.T, b bus.Bus) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Close did not return")
	}
}

func noFailures(t *testing.T) Setup {
	return Setup{MaxAttempts: MaxAttempts, OnFailed: func(m bus.Message, err error) {
		t.Errorf("unexpected failure of %s: %v", m.ID, err)
	}}
}

func testDelivers(t *testing.T, newBus Factory) {
	b := newBus(t, noFailures(t))
	rec := newRecorder()
	if err := b.Subscribe("send_award", func(_ context.Context, m bus.Message) error {
		rec.record(m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start(t, b)
	want := Message(t, "send_award", "msg-1")
	publish(t, b, want)
	rec.waitFor(t, "msg-1", func() bool { return rec.count("msg-1") >= 1 })
	closeBus(t, b)

	if n := rec.count("msg-1"); n != 1 {
		t.Errorf("msg-1 delivered %d times, want 1", n)
	}
	rec.mu.Lock()
	got := rec.msgs["msg-1"]
	rec.mu.Unlock()
	if got.Topic != want.Topic || got.ID != want.ID || string(got.Body) != string(want.Body) {
		t.Errorf("delivered %+q, want %+q", got, want)
	}
	id, ts, err := bus.DecodeEnvelope(got.Body, nil)
	if err != nil || id != "msg-1" || ts != 1700000000000 {
		t.Errorf("DecodeEnvelope = %q, %d, %v", id, ts, err)
	}
}

func testConcurrent(t *testing.T, newBus Factory) {
	const publishers, each = 8, 125
	b := newBus(t, noFailures(t))
	rec := newRecorder()
	if err := b.Subscribe("send_rebate", func(_ context.Context, m bus.Message) error {
		rec.record(m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start(t, b)

	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for p := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			for i := range each {
				m := Message(t, "send_rebate", fmt.Sprintf("p%d-%d", p, i))
				if err := b.Publish(ctx, m); err != nil {
					errs <- fmt.Errorf("publish %s: %w", m.ID, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rec.waitFor(t, "all 1000 ids", func() bool { return rec.distinct() == publishers*each })
	closeBus(t, b)
	if n := rec.distinct(); n != publishers*each {
		t.Fatalf("distinct ids delivered = %d, want %d", n, publishers*each)
	}
}

func testFailTwice(t *testing.T, newBus Factory) {
	b := newBus(t, noFailures(t))
	rec := newRecorder()
	var succeeded atomic.Int32
	if err := b.Subscribe("credit_adjust_success", func(_ context.Context, m bus.Message) error {
		if n := rec.record(m); n <= 2 {
			return fmt.Errorf("transient failure %d", n)
		}
		succeeded.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	start(t, b)
	publish(t, b, Message(t, "credit_adjust_success", "flaky"))
	rec.waitFor(t, "the third attempt to succeed", func() bool { return succeeded.Load() == 1 })
	closeBus(t, b)
	if n := rec.count("flaky"); n != 3 {
		t.Errorf("delivered %d times, want 3", n)
	}
}

func testParked(t *testing.T, newBus Factory) {
	type failure struct {
		m        bus.Message
		err      error
		attempts int
	}
	rec := newRecorder()
	failed := make(chan failure, 4)
	b := newBus(t, Setup{MaxAttempts: MaxAttempts, OnFailed: func(m bus.Message, err error) {
		failed <- failure{m: m, err: err, attempts: rec.count(m.ID)}
	}})
	okRec := newRecorder()
	if err := b.Subscribe("activity_sku_stock_zero", func(_ context.Context, m bus.Message) error {
		if m.ID == "good" {
			okRec.record(m)
			return nil
		}
		rec.record(m)
		return errors.New("poisoned")
	}); err != nil {
		t.Fatal(err)
	}
	start(t, b)
	poison := Message(t, "activity_sku_stock_zero", "poison")
	// A bus that confirms on acceptance (RabbitMQ) answers nil; one that waits
	// for the handler (Memory) reports the parking.
	pctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Publish(pctx, poison); err != nil && !errors.Is(err, bus.ErrHandlerFailed) {
		t.Fatalf("Publish poison = %v, want nil or ErrHandlerFailed", err)
	}

	var f failure
	select {
	case f = <-failed:
	case <-time.After(wait):
		t.Fatal("message was never parked as failed")
	}
	if f.m.ID != poison.ID || string(f.m.Body) != string(poison.Body) || f.m.Topic != poison.Topic {
		t.Errorf("parked %+q, want %+q", f.m, poison)
	}
	if f.err == nil || !strings.Contains(f.err.Error(), "poisoned") {
		t.Errorf("parked with error %v, want the handler's", f.err)
	}
	if f.attempts != MaxAttempts {
		t.Errorf("parked after %d attempts, want %d", f.attempts, MaxAttempts)
	}

	// The queue still works after the poisoned message.
	publish(t, b, Message(t, "activity_sku_stock_zero", "good"))
	okRec.waitFor(t, "the good message", func() bool { return okRec.count("good") == 1 })
	closeBus(t, b)
	if n := rec.count("poison"); n != MaxAttempts {
		t.Errorf("poisoned message handled %d times in all, want %d", n, MaxAttempts)
	}
	select {
	case f := <-failed:
		t.Errorf("parked twice: %+q", f.m)
	default:
	}
}

func testPublishAfterClose(t *testing.T, newBus Factory) {
	b := newBus(t, noFailures(t))
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	start(t, b)
	closeBus(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := b.Publish(ctx, Message(t, "send_award", "late"))
	if !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := b.Subscribe("send_rebate", func(context.Context, bus.Message) error { return nil }); !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
}

func testUnroutable(t *testing.T, newBus Factory) {
	b := newBus(t, noFailures(t))
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	start(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := b.Publish(ctx, Message(t, "nobody_listens", "x")); !errors.Is(err, bus.ErrUnroutable) {
		t.Errorf("Publish to a topic without queue = %v, want ErrUnroutable", err)
	}
	if err := b.Publish(ctx, bus.Message{ID: "no-topic"}); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Publish without topic = %v, want ErrInvalid", err)
	}
	closeBus(t, b)
}

func testSubscribeRules(t *testing.T, newBus Factory) {
	b := newBus(t, noFailures(t))
	h := func(context.Context, bus.Message) error { return nil }
	if err := b.Subscribe("send_award", h); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe("send_award", h); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("second Subscribe to a topic = %v, want ErrInvalid", err)
	}
	if err := b.Subscribe("", h); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Subscribe to empty topic = %v, want ErrInvalid", err)
	}
	if err := b.Subscribe("send_rebate", nil); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Subscribe with nil handler = %v, want ErrInvalid", err)
	}
	start(t, b)
	if err := b.Subscribe("send_rebate", h); !errors.Is(err, bus.ErrInvalid) {
		t.Errorf("Subscribe after Start = %v, want ErrInvalid", err)
	}
	closeBus(t, b)
}

func testTopicsSeparate(t *testing.T, newBus Factory) {
	b := newBus(t, noFailures(t))
	award, rebate := newRecorder(), newRecorder()
	if err := b.Subscribe("send_award", func(_ context.Context, m bus.Message) error { award.record(m); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := b.Subscribe("send_rebate", func(_ context.Context, m bus.Message) error { rebate.record(m); return nil }); err != nil {
		t.Fatal(err)
	}
	start(t, b)
	publish(t, b, Message(t, "send_award", "a1"))
	publish(t, b, Message(t, "send_rebate", "r1"))
	award.waitFor(t, "a1", func() bool { return award.count("a1") == 1 })
	rebate.waitFor(t, "r1", func() bool { return rebate.count("r1") == 1 })
	closeBus(t, b)
	if award.count("r1") != 0 || rebate.count("a1") != 0 {
		t.Errorf("a message reached the other topic's handler")
	}
	for _, r := range []*recorder{award, rebate} {
		r.mu.Lock()
		defer r.mu.Unlock()
		for id, m := range r.msgs {
			if (r == award) != (m.Topic == "send_award") {
				t.Errorf("message %s delivered with topic %q", id, m.Topic)
			}
		}
	}
}
