// Package lease gives scheduled jobs a single runner across the fleet: a named
// lease held by one owner until it expires or is released. Memory is the
// in-process twin (one instance, or tests); Redis shares the lease between
// instances. RunExclusive runs a job on a ticker only while holding the lease.
//
// A lease is not a fence: a paused holder may run on after its lease expired
// and another owner took it (DESIGN §10). Jobs run under a lease must therefore
// be idempotent (the outbox retry job is: consumers are idempotent); correctness
// invariants such as stock never rest on a lease.
//
// # Redis key layout
//
// Lease N is one string key "<prefix>lease:{N}" (prefix defaults to
// "bigmarket:", see redisx.Key) whose value is the owner and whose PTTL is the
// time left. Taking is SET NX PX; renewing is a Lua compare-and-PEXPIRE;
// releasing a Lua compare-and-DEL. Each script touches only that key.
package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrInvalid is returned (wrapped) for an empty name or owner or a ttl below
// one millisecond.
var ErrInvalid = errors.New("lease: invalid argument")

// Lease is a named, expiring, single-owner lease. Implementations are safe for
// concurrent use.
type Lease interface {
	// Acquire takes lease name for owner for ttl, or renews it for ttl when owner
	// already holds it. It reports whether owner holds the lease now (new or
	// renewed); false means another owner holds it. ttl must be at least 1ms.
	Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// Release gives lease name up if owner holds it; otherwise it does nothing.
	Release(ctx context.Context, name, owner string) error
}

func validate(op, name, owner string, ttl time.Duration, checkTTL bool) error {
	switch {
	case name == "":
		return fmt.Errorf("lease %s: owner[%s]: empty name: %w", op, owner, ErrInvalid)
	case owner == "":
		return fmt.Errorf("lease %s: name[%s]: empty owner: %w", op, name, ErrInvalid)
	case checkTTL && ttl < time.Millisecond:
		return fmt.Errorf("lease %s: name[%s]: ttl %v below 1ms: %w", op, name, ttl, ErrInvalid)
	}
	return nil
}

// Memory is the in-process Lease. Expired leases are kept until taken again or
// released (one small entry per lease name; names are a few job names).
type Memory struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]holder
}

type holder struct {
	owner string
	until time.Time
}

var _ Lease = (*Memory)(nil)

// NewMemory returns an in-process lease table that reads the time from now; nil
// means time.Now.
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, m: make(map[string]holder)}
}

// Acquire implements Lease. It returns only ErrInvalid.
func (l *Memory) Acquire(_ context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if err := validate("acquire", name, owner, ttl, true); err != nil {
		return false, err
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.m[name]; ok && h.owner != owner && now.Before(h.until) {
		return false, nil
	}
	l.m[name] = holder{owner: owner, until: now.Add(ttl)}
	return true, nil
}

// Release implements Lease. It returns only ErrInvalid.
func (l *Memory) Release(_ context.Context, name, owner string) error {
	if err := validate("release", name, owner, 0, false); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.m[name]; ok && h.owner == owner {
		delete(l.m, name)
	}
	return nil
}
