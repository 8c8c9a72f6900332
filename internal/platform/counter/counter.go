// Package counter provides atomic named counters for stock: an in-process twin
// (Memory) and a Redis implementation, with one contract test suite for both.
//
// A stock counter holds how many units were taken; Acquire adds one only while the
// count is below a limit that the caller passes (the configured stock), so changing
// the stock needs no counter update and the counter can never exceed the limit.
//
// Keys are names chosen by the caller (e.g. "strategy:100006:award:101"); a
// missing key is reported, never created implicitly, so that after a cache loss
// the caller rebuilds it with Seed from durable facts (count − awards recorded)
// instead of restarting from zero.
//
// # Redis key layout
//
// Counter key K lives in one Redis string at "<prefix>counter:{K}" (prefix
// defaults to "bigmarket:"; see redisx.Key for the hash tag and escaping), with
// no TTL. Every script touches only that key, so it works on Redis Cluster.
//
// The contract both implementations satisfy is in package countertest.
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

// Memory is the in-process Counter. The zero value is an empty store ready to
// use; NewMemory returns one too. Acquire is lock-free (a compare-and-swap loop)
// and allocation-free. Memory never returns errors.
type Memory struct {
	m sync.Map // string -> *atomic.Int64
}

var _ Counter = (*Memory)(nil)

// NewMemory returns an empty in-process counter store.
func NewMemory() *Memory { return &Memory{} }

// Seed implements Counter.
func (c *Memory) Seed(_ context.Context, key string, n int64) (bool, error) {
	if _, ok := c.m.Load(key); ok {
		return false, nil // the common case after the first seed: no allocation
	}
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
