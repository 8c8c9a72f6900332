// Package poll runs a refresh function on a fixed interval: how every instance
// picks up state that another instance changed (applied campaigns, switches).
package poll

import (
	"context"
	"log/slog"
	"time"
)

// Every calls fn every interval until ctx ends. A failure is logged at error
// level with msg and retried at the next tick; failures caused by ctx ending are
// not logged. log may be nil.
func Every(ctx context.Context, interval time.Duration, fn func(context.Context) error, log *slog.Logger, msg string) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := fn(ctx); err != nil && ctx.Err() == nil && log != nil {
				log.Error(msg, "err", err)
			}
		}
	}
}

// FinalFlushTimeout bounds the flush Flushes makes after its context ends.
const FinalFlushTimeout = 5 * time.Second

// Flushes calls flush every interval (≤ 0: one second) until ctx ends, then
// once more with a fresh FinalFlushTimeout, so that a graceful stop loses
// nothing buffered, and returns that last flush's error. A failed periodic
// flush is logged at warn level with msg (what it keeps for the next one is
// flush's business); the final one's failure at error level. log may be nil.
func Flushes(ctx context.Context, interval time.Duration, flush func(context.Context) error, log *slog.Logger, msg string) error {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FinalFlushTimeout)
			defer cancel()
			err := flush(fctx)
			if err != nil && log != nil {
				log.Error(msg+" (final flush)", "err", err)
			}
			return err
		case <-t.C:
			if err := flush(ctx); err != nil && ctx.Err() == nil && log != nil {
				log.Warn(msg, "err", err)
			}
		}
	}
}
