// Package counter provides atomic named counters for stock: an in-process twin
// (Memory) and a Redis implementation, with one contract test suite for both.
//
// A stock counter holds how many units were taken; Acquire adds one only while the
// count is below a limit that the caller passes (the configured stock), so changing
// the stock needs no counter update and the counter can never exceed the limit.
package counter

import (
	"context"
	"sync"
	"sync/atomic"
)

// Counter is an atomic named counter store. Implementations are safe for
// concurrent use.
type Counter interface {
	// Seed sets key to n if key does not exist and reports whether it did. It is
	// how a counter is rebuilt from durable facts after a cache loss.
	Seed(ctx context.Context, key string, n int64) (bool, error)
	// Acquire adds one to key if its value is below limit, in one atomic step.
	// taken reports success; missing reports that key does not exist, in which
	// case nothing changed and the caller should Seed it first.
	Acquire(ctx context.Context, key string, limit int64) (taken, missing bool, err error)
	// Get returns the value of key and whether it exists.
	Get(ctx context.Context, key string) (int64, bool, error)
	// Delete removes keys; missing keys are ignored.
	Delete(ctx context.Context, keys ...string) error
}

// Memory is the in-process Counter. The zero value is not usable; call NewMemory.
// Acquire is lock-free once a key exists.
type Memory struct {
	m sync.Map // string -> *atomic.Int64
}

var _ Counter = (*Memory)(nil)

// NewMemory returns an empty in-process counter store.
func NewMemory() *Memory { return &Memory{} }

// Seed implements Counter.
func (c *Memory) Seed(_ context.Context, key string, n int64) (bool, error) {
	v := new(atomic.Int64)
	v.Store(n)
	_, loaded := c.m.LoadOrStore(key, v)
	return !loaded, nil
}

// Acquire implements Counter.
func (c *Memory) Acquire(_ context.Context, key string, limit int64) (bool, bool, error) {
	p, ok := c.m.Load(key)
	if !ok {
		return false, true, nil
	}
	v := p.(*atomic.Int64)
	for {
		cur := v.Load()
		if cur >= limit {
			return false, false, nil
		}
		if v.CompareAndSwap(cur, cur+1) {
			return true, false, nil
		}
	}
}

// Get implements Counter.
func (c *Memory) Get(_ context.Context, key string) (int64, bool, error) {
	p, ok := c.m.Load(key)
	if !ok {
		return 0, false, nil
	}
	return p.(*atomic.Int64).Load(), true, nil
}

// Delete implements Counter.
func (c *Memory) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		c.m.Delete(k)
	}
	return nil
}
