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
