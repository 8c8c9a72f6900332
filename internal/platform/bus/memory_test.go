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
	if err := b.Publish(context.Background(), m); err != nil {
		t.Fatal(err)
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
	// Not started: nothing takes from the queue.
	if err := b.Publish(context.Background(), bustest.Message(t, "send_award", "1")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	err := b.Publish(ctx, bustest.Message(t, "send_award", "2"))
	if !errors.Is(err, bus.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish on a full queue = %v, want ErrUnavailable and DeadlineExceeded", err)
	}
}

// A publisher blocked on a full queue is released by Close.
func TestMemoryCloseReleasesBlockedPublisher(t *testing.T) {
	b := bus.NewMemory(bus.MemoryConfig{QueueSize: 1, CloseTimeout: time.Millisecond})
	if err := b.Subscribe("send_award", func(context.Context, bus.Message) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), bustest.Message(t, "send_award", "1")); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- b.Publish(context.Background(), bustest.Message(t, "send_award", "2")) }()
	b.Close() // drops the queued message: never started
	if err := <-errc; !errors.Is(err, bus.ErrClosed) && err != nil {
		t.Fatalf("blocked Publish = %v, want ErrClosed (or nil if it got in before)", err)
	}
}

// Close delivers everything already accepted, including messages waiting for a
// redelivery, before it returns.
func TestMemoryCloseDrains(t *testing.T) {
	const n = 200
	b := bus.NewMemory(bus.MemoryConfig{Workers: 2, RetryDelay: time.Millisecond})
	var handled atomic.Int64
	var failedOnce sync.Map
	if err := b.Subscribe("send_rebate", func(_ context.Context, m bus.Message) error {
		if _, again := failedOnce.LoadOrStore(m.ID, true); !again {
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
	for i := range n {
		if err := b.Publish(context.Background(), bustest.Message(t, "send_rebate", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := handled.Load(); got != n {
		t.Fatalf("handled %d before Close returned, want %d", got, n)
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
	if err := b.Publish(context.Background(), bustest.Message(t, "send_award", "stuck")); err != nil {
		t.Fatal(err)
	}
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
	if err := b.Publish(context.Background(), bustest.Message(t, "send_award", "p")); err != nil {
		t.Fatal(err)
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
