package bus_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/platform/bus/bustest"
)

func newMemory(t *testing.T, s bustest.Setup) bus.Bus {
	b := bus.NewMemory(bus.MemoryConfig{
		MaxAttempts: s.MaxAttempts,
		RetryDelay:  5 * time.Millisecond,
		OnFailed:    s.OnFailed,
	})
	t.Cleanup(func() { b.Close() })
	return b
}

func TestMemoryContract(t *testing.T) {
	bustest.Run(t, newMemory)
}

func TestMemoryFailedList(t *testing.T) {
	parked := make(chan struct{})
	b := bus.NewMemory(bus.MemoryConfig{MaxAttempts: 2, RetryDelay: time.Millisecond,
		OnFailed: func(bus.Message, error) { close(parked) }})
	defer b.Close()
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error { return errors.New("no") }); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := bustest.Message(t, "send_award", "bad")
	if err := b.Publish(context.Background(), m); !errors.Is(err, bus.ErrHandlerFailed) {
		t.Fatalf("Publish = %v, want ErrHandlerFailed", err)
	}
	<-parked
	got := b.Failed()
	if len(got) != 1 || got[0].ID != "bad" || string(got[0].Body) != string(m.Body) {
		t.Fatalf("Failed() = %+q, want the parked message", got)
	}
}

// A publisher never blocks past its context when the queue is full.
func TestMemoryPublishFullQueueRespectsContext(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{QueueSize: 1})
	defer b.Close()
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	// Not started: nothing takes from the queue. The first message is taken
	// (queued) but not handled.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := b.Publish(ctx, bustest.Message(t, "send_award", "1")); !errors.Is(err, bus.ErrPending) {
		t.Fatalf("Publish to a bus not started = %v, want ErrPending", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := b.Publish(ctx, bustest.Message(t, "send_award", "2"))
	if !errors.Is(err, bus.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, bus.ErrPending) {
		t.Fatalf("Publish on a full queue = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
}

// A publisher blocked on a full queue is released by Close.
func TestMemoryCloseReleasesBlockedPublisher(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{QueueSize: 1, CloseTimeout: time.Millisecond})
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- b.Publish(context.Background(), bustest.Message(t, "send_award", "1")) }()
	for b.Pending() == 0 { // wait until it is queued
		time.Sleep(time.Millisecond)
	}
	go func() { second <- b.Publish(context.Background(), bustest.Message(t, "send_award", "2")) }()
	b.Close() // never started: both are given up
	for _, c := range []chan error{first, second} {
		if err := <-c; !errors.Is(err, bus.ErrClosed) {
			t.Fatalf("Publish = %v, want ErrClosed", err)
		}
	}
}

// Close delivers everything already accepted, including messages waiting for a
// redelivery, before it returns; their publishers learn they were handled.
func TestMemoryCloseDrains(t *testing.T) {
	const n = 200
	b := bus.NewMemory(bus.MemoryConfig{Workers: 2, RetryDelay: 20 * time.Millisecond})
	var handled, failed atomic.Int64
	var failedOnce sync.Map
	if err := b.Subscribe("send_rebate", func(_ context.Context, m bus.Message) error {
		if _, again := failedOnce.LoadOrStore(m.ID, true); !again {
			failed.Add(1)
			return errors.New("first attempt fails")
		}
		handled.Add(1)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, n)
	for i := range n {
		go func() { errc <- b.Publish(context.Background(), bustest.Message(t, "send_rebate", fmt.Sprint(i))) }()
	}
	for failed.Load() < n { // all accepted, many waiting for their redelivery
		time.Sleep(time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := handled.Load(); got != n {
		t.Fatalf("handled %d before Close returned, want %d", got, n)
	}
	for range n {
		if err := <-errc; err != nil {
			t.Fatalf("Publish of a message drained at close = %v", err)
		}
	}
}

// Close gives up on a handler that never returns: it cancels the handler's
// context and returns an error instead of hanging.
func TestMemoryCloseBoundedByTimeout(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{CloseTimeout: 20 * time.Millisecond})
	entered := make(chan struct{})
	cancelled := make(chan struct{})
	if err := b.Subscribe("send_award", func(ctx context.Context, _ bus.Message) error {
		close(entered)
		<-ctx.Done()
		close(cancelled)
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	pub := make(chan error, 1)
	go func() { pub <- b.Publish(context.Background(), bustest.Message(t, "send_award", "stuck")) }()
	<-entered
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close = %v, want DeadlineExceeded", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close hung")
	}
	<-cancelled
	if err := <-pub; !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish of the message Close gave up on = %v, want ErrClosed", err)
	}
}

// A panicking handler is treated as a failing one; the process survives.
func TestMemoryHandlerPanic(t *testing.T) {
	parked := make(chan error, 1)
	b := bus.NewMemory(bus.MemoryConfig{MaxAttempts: 1, OnFailed: func(_ bus.Message, err error) { parked <- err }})
	defer b.Close()
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error { panic("boom") }); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), bustest.Message(t, "send_award", "p")); !errors.Is(err, bus.ErrHandlerFailed) {
		t.Fatalf("Publish = %v, want ErrHandlerFailed", err)
	}
	if err := <-parked; err == nil {
		t.Fatal("parked without error")
	}
}

func TestBackoff(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{{1, 10 * ms}, {2, 20 * ms}, {3, 40 * ms}, {4, 80 * ms}, {5, 100 * ms}, {60, 100 * ms}} {
		if got := bus.Backoff(10*ms, 100*ms, c.attempt); got != c.want {
			t.Errorf("Backoff(attempt %d) = %v, want %v", c.attempt, got, c.want)
		}
	}
	if got := bus.Backoff(time.Second, 0, 200); got <= 0 {
		t.Errorf("uncapped Backoff overflowed: %v", got)
	}
}

// BenchmarkMemoryPublish measures Publish plus delivery to a trivial handler.
func BenchmarkMemoryPublish(b *testing.B) {
	m := bus.NewMemory(bus.MemoryConfig{})
	var delivered atomic.Int64
	if err := m.Subscribe("send_award", func(context.Context, bus.Message) error {
		delivered.Add(1)
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := m.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	body, _ := bus.NewEnvelope("x", time.UnixMilli(0), map[string]int{"awardId": 101})
	msg := bus.Message{Topic: "send_award", ID: "x", Body: body}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := m.Publish(context.Background(), msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := m.Close(); err != nil {
		b.Fatal(err)
	}
}

// Publish returns nil only once the handler has returned nil for the message:
// the in-process queue is not durable, so "accepted" must mean "handled".
func TestMemoryPublishWaitsForHandler(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{})
	defer b.Close()
	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) }) // before Close, even when the test fails
	var committed atomic.Bool
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error {
		close(entered)
		<-release
		committed.Store(true)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- b.Publish(context.Background(), bustest.Message(t, "send_award", "slow")) }()
	<-entered
	select {
	case err := <-errc:
		t.Fatalf("Publish returned %v while its handler was still running", err)
	case <-time.After(50 * time.Millisecond):
	}
	releaseOnce.Do(func() { close(release) })
	if err := <-errc; err != nil {
		t.Fatalf("Publish = %v, want nil once handled", err)
	}
	if !committed.Load() {
		t.Fatal("Publish returned nil before the handler committed")
	}
}

// A message parked after its last attempt is reported to its publisher.
func TestMemoryPublishReportsParked(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{MaxAttempts: 2, RetryDelay: time.Millisecond})
	defer b.Close()
	var calls atomic.Int32
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error {
		calls.Add(1)
		return errors.New("webhook down")
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := b.Publish(context.Background(), bustest.Message(t, "send_award", "bad"))
	if !errors.Is(err, bus.ErrHandlerFailed) {
		t.Fatalf("Publish of a message its handler always refuses = %v, want ErrHandlerFailed", err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler called %d times before Publish returned, want 2", n)
	}
}

// A message whose handler has not succeeded when Close gives up is reported to
// its publisher as not delivered.
func TestMemoryCloseReportsUndelivered(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{Workers: 1, CloseTimeout: 20 * time.Millisecond})
	entered := make(chan struct{}, 2)
	if err := b.Subscribe("send_award", func(ctx context.Context, _ bus.Message) error {
		entered <- struct{}{}
		<-ctx.Done()
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 2)
	for _, id := range []string{"running", "queued"} { // one in the handler, one behind it
		go func() { errc <- b.Publish(context.Background(), bustest.Message(t, "send_award", id)) }()
	}
	<-entered
	if err := b.Close(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want DeadlineExceeded", err)
	}
	for range 2 {
		select {
		case err := <-errc:
			if !errors.Is(err, bus.ErrClosed) {
				t.Errorf("Publish of a message Close gave up on = %v, want ErrClosed", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Publish still waiting after Close returned")
		}
	}
}

// A Publish whose context ends while the handler runs says so (ErrPending); the
// message is still handled.
func TestMemoryPublishContextEndsWhileHandling(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{})
	defer b.Close()
	release, handled := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	defer releaseOnce.Do(func() { close(release) })
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error {
		<-release
		close(handled)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	err := b.Publish(ctx, bustest.Message(t, "send_award", "slow"))
	if !errors.Is(err, bus.ErrPending) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish past its deadline = %v, want ErrPending and DeadlineExceeded", err)
	}
	releaseOnce.Do(func() { close(release) })
	select {
	case <-handled:
	case <-time.After(10 * time.Second):
		t.Fatal("the message was not handled after its publisher gave up")
	}
}

// A second Publish of a message still being delivered (the outbox retry job
// republishing a task whose handler is slow) joins that delivery: the handler
// runs once and both publishers learn its outcome.
func TestMemoryPublishJoinsDeliveryInFlight(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{})
	defer b.Close()
	entered, release := make(chan struct{}, 4), make(chan struct{})
	var calls atomic.Int32
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error {
		calls.Add(1)
		entered <- struct{}{}
		<-release
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := bustest.Message(t, "send_award", "dup")
	errc := make(chan error, 2)
	go func() { errc <- b.Publish(context.Background(), m) }()
	<-entered
	go func() { errc <- b.Publish(context.Background(), m) }()
	time.Sleep(50 * time.Millisecond) // let the second publisher queue a copy, if it would
	close(release)
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatalf("Publish = %v", err)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times for one message in flight, want 1", n)
	}
	// Once settled, the same id is a new delivery (a redelivery after a crash).
	if err := b.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("handler ran %d times after a later publish, want 2", n)
	}
}
