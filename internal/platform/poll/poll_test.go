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
