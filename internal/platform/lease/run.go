package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// ErrLost is the cause of a job context cancelled because the lease could not
// be renewed while the job ran (context.Cause reports it).
var ErrLost = errors.New("lease: lost while the job ran")

// releaseTimeout bounds the Release that RunExclusive makes when it stops.
const releaseTimeout = 2 * time.Second

// RunExclusive runs job every `every`, starting at once, but only while owner
// holds lease name, so that across all instances sharing l the job runs on one
// at a time. It blocks until ctx is done, then releases the lease (so another
// instance takes over at its next tick) and returns ctx.Err(). It returns
// ErrInvalid (wrapped) at once for an empty name or owner, a ttl below 1ms or a
// non-positive every. A nil log means slog.Default().
//
// Each tick takes or renews the lease for ttl; a holder keeps it across ticks
// when every < ttl (ttl ≥ 2·every is a good choice), and another instance takes
// over within ttl + every after the holder stops. While job runs the lease is
// renewed every ttl/3; job's context is cancelled, with cause ErrLost, when a
// renewal finds another owner or when ¾·ttl has passed since the last
// successful take or renewal (two renewals missed), so a job that honours its
// context promptly stops before the lease can expire and another runner start. Job errors and lease errors are logged, never returned.
// Runs never overlap on one instance: ticks that fall while job runs are
// dropped, as time.Ticker drops them (at most one waits).
func RunExclusive(ctx context.Context, l Lease, name, owner string, ttl, every time.Duration,
	job func(ctx context.Context) error, log *slog.Logger) error {
	if err := validate("run", name, owner, ttl, true); err != nil {
		return err
	}
	if every <= 0 {
		return fmt.Errorf("lease run: name[%s]: every %v not positive: %w", name, every, ErrInvalid)
	}
	if log == nil {
		log = slog.Default()
	}
	log = log.With("lease", name, "owner", owner)
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer cancel()
		if err := l.Release(rctx, name, owner); err != nil {
			log.Warn("lease release failed", "err", err)
		}
	}()

	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		runOnce(ctx, l, name, owner, ttl, job, log)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// runOnce takes or renews the lease and, when held, runs job under a watchdog
// that renews the lease and cancels job when it is lost.
func runOnce(ctx context.Context, l Lease, name, owner string, ttl time.Duration,
	job func(ctx context.Context) error, log *slog.Logger) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	held, err := l.Acquire(ctx, name, owner, ttl)
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("lease acquire failed", "err", err)
		}
		return
	}
	if !held {
		return
	}

	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { keep(jctx, cancel, done, l, name, owner, ttl, start, log) })
	err = job(jctx)
	close(done)
	wg.Wait()
	if err != nil && ctx.Err() == nil {
		log.Error("exclusive job failed", "err", err, "lost", errors.Is(context.Cause(jctx), ErrLost))
	}
}

// keep renews the lease every ttl/3 until done is closed, and cancels the job
// with ErrLost when the lease is taken by another owner or when ¾·ttl has
// passed since the last confirmed hold (the hold confirmed by the call begun at
// held lasts at least until held+ttl).
func keep(ctx context.Context, cancel context.CancelCauseFunc, done <-chan struct{},
	l Lease, name, owner string, ttl time.Duration, held time.Time, log *slog.Logger) {
	period := max(ttl/3, time.Millisecond)
	renew := time.NewTicker(period)
	defer renew.Stop()
	grace := ttl * 3 / 4
	deadline := time.NewTimer(time.Until(held.Add(grace)))
	defer deadline.Stop()
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-deadline.C:
			cancel(ErrLost)
			log.Warn("lease expired while the job ran; job cancelled")
			return
		case <-renew.C:
			start := time.Now()
			ok, err := l.Acquire(ctx, name, owner, ttl)
			switch {
			case err != nil:
				log.Warn("lease renewal failed", "err", err) // the deadline still stands
			case !ok:
				cancel(ErrLost)
				log.Warn("lease taken by another owner; job cancelled")
				return
			default:
				deadline.Reset(time.Until(start.Add(grace)))
			}
		}
	}
}
