package tally

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/poll"
)

// RecorderConfig configures a Recorder. Store is required; zero values of the
// other fields are documented per field.
type RecorderConfig struct {
	// Store receives the counts.
	Store Store
	// Retention bounds the counts kept after failed flushes: those of minutes
	// older than Retention are dropped (and the drop logged). Zero means
	// DefaultRetention; it should match the Store's.
	Retention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives flush failures; nil discards.
	Logger *slog.Logger
}

// Recorder counts events per minute and label in memory and adds them to a
// Store on Flush (Run flushes periodically). Count never waits on the Store.
// Recorder is safe for concurrent use.
type Recorder struct {
	store     Store
	retention int64 // minutes
	now       func() time.Time
	log       *slog.Logger

	mu      sync.Mutex
	pending map[key]int64

	flushMu sync.Mutex // one flush at a time
}

type key struct {
	minute int64
	label  string
}

// NewRecorder returns a Recorder adding to cfg.Store.
func NewRecorder(cfg RecorderConfig) (*Recorder, error) {
	if cfg.Store == nil {
		return nil, errors.New("tally: recorder needs a store")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Recorder{store: cfg.Store, retention: retentionMinutes(cfg.Retention), now: cfg.Now, log: cfg.Logger, pending: map[key]int64{}}, nil
}

// Count counts one event labelled label at time at.
func (r *Recorder) Count(at time.Time, label string) {
	k := key{minute: MinuteOf(at), label: label}
	r.mu.Lock()
	r.pending[k]++
	r.mu.Unlock()
}

// Pending returns how many counts wait for a flush (events, not labels).
func (r *Recorder) Pending() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, c := range r.pending {
		n += c
	}
	return n
}

// Flush adds the counts made since the last successful flush to the Store in
// one batch. On failure the counts not added are kept for the next flush
// (merged with those made meanwhile), except those of minutes past the
// retention, which are dropped; the error is returned.
func (r *Recorder) Flush(ctx context.Context) error {
	r.flushMu.Lock()
	defer r.flushMu.Unlock()
	r.mu.Lock()
	taken := r.pending
	if len(taken) == 0 {
		r.mu.Unlock()
		return nil
	}
	r.pending = make(map[key]int64, len(taken))
	r.mu.Unlock()

	byMinute := map[int64]map[string]int64{}
	for k, n := range taken {
		if byMinute[k.minute] == nil {
			byMinute[k.minute] = map[string]int64{}
		}
		byMinute[k.minute][k.label] += n
	}
	batch := make([]Bucket, 0, len(byMinute))
	for m, counts := range byMinute {
		batch = append(batch, Bucket{Minute: m, Counts: counts})
	}
	sortBuckets(batch)
	err := r.store.Add(ctx, batch)
	if err == nil {
		return nil
	}
	keep := batch
	var na *NotAddedError
	if errors.As(err, &na) {
		keep = na.Buckets
	}
	r.restore(keep)
	return err
}

// restore merges counts a flush could not add back into pending, dropping
// those of minutes past the retention.
func (r *Recorder) restore(bs []Bucket) {
	oldest := MinuteOf(r.now()) - r.retention
	var dropped int64
	r.mu.Lock()
	for _, b := range bs {
		for label, n := range b.Counts {
			if b.Minute <= oldest {
				dropped += n
				continue
			}
			r.pending[key{minute: b.Minute, label: label}] += n
		}
	}
	r.mu.Unlock()
	if dropped > 0 {
		r.log.Error("tally: counts older than the retention dropped after failed flushes", "counts", dropped)
	}
}

// Run flushes every interval (zero: one second) until ctx ends, then once
// more with a fresh timeout, so a graceful stop loses no count. A failed
// flush is logged and its counts wait for the next one. It returns the final
// flush's error.
func (r *Recorder) Run(ctx context.Context, interval time.Duration) error {
	return poll.Flushes(ctx, interval, r.Flush, r.log, "tally: flush failed, counts kept for the next one")
}
