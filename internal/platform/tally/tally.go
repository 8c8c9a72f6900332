// Package tally counts events per minute and label (e.g. the draw answers by
// code) across a fleet: each instance counts in memory (Recorder) and adds
// its counts about every second with one batched write to a Store shared by
// every instance, from which any instance reads the per-minute figures.
//
// Two Stores satisfy one contract (package tallytest): Memory, in process,
// for embedded mode (one instance), and Redis, one hash per minute, for a
// fleet.
//
// # Accuracy
//
// Counting never waits on the Store: Recorder.Count takes a mutex and adds
// to a map. A flush that fails keeps its counts for the next flush (bounded:
// counts of minutes older than the retention are dropped and the drop is
// logged), so an outage of the Store delays the figures, it does not lose
// them. A flush whose answer is lost after the Store applied it (a timeout on
// a write that went through) is retried and counted twice: the figures are
// for watching traffic, not for accounting. Counts not yet flushed when a
// process dies are lost (at most about one flush interval).
//
// # Redis key layout
//
// The counts of series S (e.g. "drawcodes") in unix minute M live in one
// hash at "<prefix>S:{M}" (prefix defaults to "bigmarket:"; see redisx.Key),
// one field per label holding its count, with an expiry of the retention
// (default 2 h) renewed by every write. A flush is one pipeline of HINCRBY
// and PEXPIRE commands; a read one pipeline of HGETALL.
package tally

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"
)

// DefaultRetention is how long minutes are kept when a retention is zero.
const DefaultRetention = 2 * time.Hour

// Bucket is the counts of one minute by label.
type Bucket struct {
	// Minute is the unix minute (unix seconds / 60) the counts belong to.
	Minute int64
	// Counts maps each label to its count; a label without events is absent.
	Counts map[string]int64
}

// MinuteOf returns the unix minute of t.
func MinuteOf(t time.Time) int64 { return floorDiv(t.Unix(), 60) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Store keeps per-minute counts shared by the instances that use it.
// Implementations are safe for concurrent use.
type Store interface {
	// Add adds every bucket's counts to the stored ones, in one batched
	// write. On failure nothing or part of the batch was added: a
	// *NotAddedError lists the buckets known not to be added; any other
	// error means none should be taken as added.
	Add(ctx context.Context, batch []Bucket) error
	// Read returns the stored buckets of the minutes from through to (unix
	// minutes, both included), oldest first; minutes without counts, or
	// older than the retention, are left out.
	Read(ctx context.Context, from, to int64) ([]Bucket, error)
}

// NotAddedError reports a batch of which part was not added: Buckets holds
// the counts not added, Err the first failure.
type NotAddedError struct {
	Buckets []Bucket
	Err     error
}

// Error implements error.
func (e *NotAddedError) Error() string {
	n := 0
	for _, b := range e.Buckets {
		n += len(b.Counts)
	}
	return fmt.Sprintf("tally: %d counts of %d minutes not added: %v", n, len(e.Buckets), e.Err)
}

// Unwrap returns the first failure.
func (e *NotAddedError) Unwrap() error { return e.Err }

// ErrConfig is returned (wrapped) for an invalid configuration.
var ErrConfig = errors.New("tally: invalid config")

// sortBuckets orders buckets by minute.
func sortBuckets(bs []Bucket) {
	sort.Slice(bs, func(i, j int) bool { return bs[i].Minute < bs[j].Minute })
}

// retentionMinutes converts a retention (zero: DefaultRetention) to whole
// minutes, at least one.
func retentionMinutes(d time.Duration) int64 {
	if d <= 0 {
		d = DefaultRetention
	}
	return max(1, int64((d+time.Minute-1)/time.Minute))
}
