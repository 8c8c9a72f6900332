package tally

import (
	"context"
	"maps"
	"sync"
	"time"
)

// Memory is the in-process Store for embedded mode (one instance). It keeps
// the minutes within the retention of the newest minute added (no clock is
// read). The zero value is ready to use with DefaultRetention. Add never
// fails.
type Memory struct {
	// Retention is how long minutes are kept; zero means DefaultRetention.
	Retention time.Duration

	mu      sync.Mutex
	minutes map[int64]map[string]int64
	newest  int64
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-process Store keeping minutes for retention
// (zero: DefaultRetention).
func NewMemory(retention time.Duration) *Memory { return &Memory{Retention: retention} }

// Add implements Store.
func (m *Memory) Add(ctx context.Context, batch []Bucket) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.minutes == nil {
		m.minutes = map[int64]map[string]int64{}
	}
	for _, b := range batch {
		if len(b.Counts) == 0 {
			continue
		}
		counts := m.minutes[b.Minute]
		if counts == nil {
			counts = make(map[string]int64, len(b.Counts))
			m.minutes[b.Minute] = counts
		}
		for label, n := range b.Counts {
			counts[label] += n
		}
		m.newest = max(m.newest, b.Minute)
	}
	oldest := m.newest - retentionMinutes(m.Retention)
	for minute := range m.minutes {
		if minute <= oldest {
			delete(m.minutes, minute)
		}
	}
	return nil
}

// Read implements Store.
func (m *Memory) Read(ctx context.Context, from, to int64) ([]Bucket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []Bucket{}
	for minute, counts := range m.minutes {
		if minute >= from && minute <= to {
			out = append(out, Bucket{Minute: minute, Counts: maps.Clone(counts)})
		}
	}
	sortBuckets(out)
	return out, nil
}
