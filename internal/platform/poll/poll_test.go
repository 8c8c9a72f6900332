package poll

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryRetriesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	done := make(chan struct{})
	go func() {
		Every(ctx, time.Millisecond, func(context.Context) error {
			if calls.Add(1) == 1 {
				return errors.New("boom")
			}
			if calls.Load() >= 3 {
				cancel()
			}
			return nil
		}, log, "refresh failed")
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Every did not stop when its context ended")
	}
	if calls.Load() < 3 {
		t.Fatalf("fn called %d times, want at least 3 (a failure is retried)", calls.Load())
	}
	if !strings.Contains(buf.String(), "refresh failed") || !strings.Contains(buf.String(), "boom") {
		t.Fatalf("failure not logged: %q", buf.String())
	}
}

// TestFlushesFinalFlush: periodic flushes go on after a failure; once ctx
// ends, one more flush runs with a live context bounded by
// FinalFlushTimeout, and its error is returned.
func TestFlushesFinalFlush(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	final := errors.New("final boom")
	var finals atomic.Int32
	var finalDeadline bool
	errc := make(chan error, 1)
	go func() {
		errc <- Flushes(ctx, time.Millisecond, func(fctx context.Context) error {
			n := calls.Add(1)
			switch {
			case ctx.Err() != nil && fctx.Err() == nil: // the final flush, on a fresh context
				finals.Add(1)
				_, finalDeadline = fctx.Deadline()
				return final
			case ctx.Err() != nil: // a tick that raced the cancellation
				return nil
			case n == 1:
				return errors.New("periodic boom")
			case n >= 3:
				cancel()
			}
			return nil
		}, log, "stock flush failed")
	}()
	var err error
	select {
	case err = <-errc:
	case <-time.After(10 * time.Second):
		t.Fatal("Flushes did not stop when its context ended")
	}
	if !errors.Is(err, final) {
		t.Fatalf("Flushes returned %v, want the final flush's error", err)
	}
	if finals.Load() != 1 || !finalDeadline {
		t.Fatalf("%d final flushes on a live context (deadline %v), want one with a deadline", finals.Load(), finalDeadline)
	}
	logged := buf.String()
	if !strings.Contains(logged, "level=WARN msg=\"stock flush failed\"") || !strings.Contains(logged, "periodic boom") ||
		!strings.Contains(logged, "level=ERROR msg=\"stock flush failed (final flush)\"") {
		t.Fatalf("failures not logged as expected: %q", logged)
	}
}
