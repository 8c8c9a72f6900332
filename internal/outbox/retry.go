package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/platform/lease"
)

// Defaults of RetryConfig.
const (
	DefaultRetryName        = "outbox-retry"
	DefaultRetryEvery       = 5 * time.Second
	DefaultRetryMinAge      = 10 * time.Second
	DefaultMaxAttempts      = 10
	DefaultRetryBatch       = 200
	DefaultRetryConcurrency = 16
	// maxPagesPerShard bounds the pages one pass takes from a shard, so a pass
	// ends even when tasks are written faster than it republishes them.
	maxPagesPerShard = 50
)

// RetryConfig configures a RetryJob. Store, Publisher and Owner are required;
// every other zero field means its default.
type RetryConfig struct {
	Store     Store
	Publisher bus.Publisher
	// Lease gives the job a single runner across the fleet (a Redis lease in
	// production). Nil means an in-process lease: a single instance.
	Lease lease.Lease
	// Name is the lease name. Zero means DefaultRetryName.
	Name string
	// Owner identifies this instance in the lease (an instance id); required.
	Owner string
	// Every is the time between passes. Zero means DefaultRetryEvery.
	Every time.Duration
	// TTL is the lease's time to live. Zero means 3·Every.
	TTL time.Duration
	// MinAge is how long a task may stay in StateCreate before the job takes it
	// for lost (its relay handoff dropped, or its process died after the commit).
	// Zero means DefaultRetryMinAge.
	MinAge time.Duration
	// MaxAttempts bounds the counted publish failures of a task; a task that
	// reaches it stays in StateFail for operators. Zero means
	// DefaultMaxAttempts.
	MaxAttempts int
	// BatchSize is how many tasks a pass reads from a shard at a time. Zero
	// means DefaultRetryBatch.
	BatchSize int
	// Concurrency is how many publishes a pass has in flight. Zero means
	// DefaultRetryConcurrency.
	Concurrency int
	// PublishTimeout bounds each publish. Zero means DefaultPublishTimeout.
	PublishTimeout time.Duration
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives failures. Nil means discard.
	Logger *slog.Logger
	// OnPass, when not nil, is called after every pass with its report (for
	// metrics). It must not block for long.
	OnPass func(RetryReport)
}

// RetryReport says what one pass did.
type RetryReport struct {
	Scanned   int // tasks read from the stores
	Published int // republished and marked completed
	Failed    int // publish failed again (still retryable)
	Parked    int // failed for the last allowed time: left in StateFail
	// BrokerDown reports that the broker was unavailable: the pass stopped
	// early, without using up attempts.
	BrokerDown bool
}

// RetryJob republishes tasks the relay did not complete, on every shard. Run it
// with Run on every instance: the lease makes one of them do the work.
type RetryJob struct {
	cfg RetryConfig
	log *slog.Logger
}

// NewRetryJob returns a job configured by cfg. It returns an error wrapping
// bus.ErrInvalid when Store, Publisher or Owner is missing.
func NewRetryJob(cfg RetryConfig) (*RetryJob, error) {
	if cfg.Store == nil || cfg.Publisher == nil || cfg.Owner == "" {
		return nil, fmt.Errorf("new outbox retry job: store, publisher and owner are required: %w", bus.ErrInvalid)
	}
	if cfg.Lease == nil {
		cfg.Lease = lease.NewMemory(cfg.Now)
	}
	if cfg.Name == "" {
		cfg.Name = DefaultRetryName
	}
	if cfg.Every <= 0 {
		cfg.Every = DefaultRetryEvery
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 3 * cfg.Every
	}
	if cfg.MinAge <= 0 {
		cfg.MinAge = DefaultRetryMinAge
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultRetryBatch
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultRetryConcurrency
	}
	if cfg.PublishTimeout <= 0 {
		cfg.PublishTimeout = DefaultPublishTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &RetryJob{cfg: cfg, log: cfg.Logger.With("component", "outbox.retry", "owner", cfg.Owner)}, nil
}

// Run runs a pass every Every while this instance holds the lease, until ctx
// ends; it then releases the lease and returns ctx's error. Pass errors are
// logged, never returned.
func (j *RetryJob) Run(ctx context.Context) error {
	return lease.RunExclusive(ctx, j.cfg.Lease, j.cfg.Name, j.cfg.Owner, j.cfg.TTL, j.cfg.Every,
		func(ctx context.Context) error { _, err := j.RunOnce(ctx); return err }, j.log)
}

// RunOnce makes one pass over every shard, whether or not this instance holds
// the lease (Run takes it): it republishes the tasks in StateCreate older than
// MinAge and in StateFail with attempts left, marks those published completed,
// and marks the others failed (counting the attempt unless the broker as a whole
// was unavailable). Each task is tried at most once per pass. It returns the
// report and the store errors met, joined; the shards without errors are done.
func (j *RetryJob) RunOnce(ctx context.Context) (RetryReport, error) {
	var rep RetryReport
	var errs []error
	for shard := range j.cfg.Store.Shards() {
		if err := j.shard(ctx, shard, &rep); err != nil {
			errs = append(errs, err)
		}
		if rep.BrokerDown || ctx.Err() != nil {
			break
		}
	}
	if j.cfg.OnPass != nil {
		j.cfg.OnPass(rep)
	}
	if rep.Parked > 0 {
		j.log.Error("outbox: tasks parked after their last attempt; reset them from the admin API", "tasks", rep.Parked)
	}
	return rep, errors.Join(errs...)
}

// shard takes pages from one shard until one comes back short or with a failure
// (failed tasks stay retryable, and must wait for the next pass).
func (j *RetryJob) shard(ctx context.Context, shard int, rep *RetryReport) error {
	for range maxPagesPerShard {
		now := j.cfg.Now()
		tasks, err := j.cfg.Store.Retryable(ctx, shard, now.Add(-j.cfg.MinAge), j.cfg.MaxAttempts, j.cfg.BatchSize)
		if err != nil {
			return fmt.Errorf("outbox retry: shard[%d]: %w", shard, err)
		}
		rep.Scanned += len(tasks)
		if len(tasks) == 0 {
			return nil
		}
		done, failed := j.publish(ctx, tasks)
		var errs []error
		if len(done) > 0 {
			if err := j.cfg.Store.MarkCompleted(ctx, shard, done, j.cfg.Now()); err != nil {
				errs = append(errs, fmt.Errorf("outbox retry: shard[%d]: %w", shard, err))
			} else {
				rep.Published += len(done)
			}
		}
		for _, f := range failed {
			attempts := f.task.Attempts
			if Counted(f.err) {
				attempts++
				if attempts >= j.cfg.MaxAttempts {
					rep.Parked++
				} else {
					rep.Failed++
				}
			} else if brokerDown(f.err) {
				rep.BrokerDown = true
			}
			if f.skipped {
				continue // never tried: the broker was already down
			}
			j.log.Warn("outbox: republish failed", "topic", f.task.Topic, "id", f.task.MessageID,
				"attempts", attempts, "err", f.err)
			if err := j.cfg.Store.MarkFailed(ctx, shard, f.task.MessageID, attempts, TruncateError(f.err), j.cfg.Now()); err != nil {
				errs = append(errs, fmt.Errorf("outbox retry: shard[%d]: %w", shard, err))
			}
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		if len(failed) > 0 || len(tasks) < j.cfg.BatchSize || ctx.Err() != nil {
			return nil
		}
	}
	return nil
}

type failure struct {
	task    Task
	err     error
	skipped bool // not tried because the broker was found down
}

// publish publishes tasks with bounded concurrency. Once the broker is found
// unavailable, the tasks not yet tried are skipped; a task still being handled
// when its publish timed out (bus.ErrPending) does not stop the others.
func (j *RetryJob) publish(ctx context.Context, tasks []Task) (done []string, failed []failure) {
	var (
		mu   sync.Mutex
		down atomic.Bool
		wg   sync.WaitGroup
		sem  = make(chan struct{}, j.cfg.Concurrency)
	)
	for _, t := range tasks {
		sem <- struct{}{}
		if down.Load() || ctx.Err() != nil {
			<-sem
			mu.Lock()
			failed = append(failed, failure{task: t, err: bus.ErrUnavailable, skipped: true})
			mu.Unlock()
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			pctx, cancel := context.WithTimeout(ctx, j.cfg.PublishTimeout)
			defer cancel()
			err := j.cfg.Publisher.Publish(pctx, t.Message())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if brokerDown(err) {
					down.Store(true)
				}
				failed = append(failed, failure{task: t, err: err})
				return
			}
			done = append(done, t.MessageID)
		})
	}
	wg.Wait()
	return done, failed
}
