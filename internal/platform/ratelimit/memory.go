package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultMaxKeys is the key bound used when MemoryOptions.MaxKeys is zero.
const DefaultMaxKeys = 100_000

// MemoryOptions tunes a Memory limiter. The zero value uses time.Now and
// DefaultMaxKeys.
type MemoryOptions struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxKeys bounds the number of keys kept; zero means DefaultMaxKeys.
	MaxKeys int
}

// Memory is the in-process Limiter: a golang.org/x/time/rate token bucket per
// key, plus refusal counts and blocks. Its memory is bounded: when a shard of
// the key table is full, idle keys (full bucket, no refusals to remember, not
// blocked) are evicted, which changes no decision; if the table is still full
// (more than MaxKeys keys active at once), other unblocked keys are dropped,
// which can only make the limiter more lenient for them. Allow never returns an
// error.
type Memory struct {
	cfg    Config
	limit  rate.Limit
	now    func() time.Time
	seed   maphash.Seed
	shards []memShard
	per    int // keys per shard
}

type memShard struct {
	mu sync.Mutex
	m  map[string]*memEntry
}

type memEntry struct {
	lim          *rate.Limiter
	refusals     int
	refusedAt    time.Time
	blockedUntil time.Time
}

var _ Limiter = (*Memory)(nil)

// NewMemory returns an in-process limiter for cfg. It returns ErrConfig
// (wrapped) for an invalid cfg or a negative opts.MaxKeys.
func NewMemory(cfg Config, opts MemoryOptions) (*Memory, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.MaxKeys < 0 {
		return nil, fmt.Errorf("ratelimit: negative max keys %d: %w", opts.MaxKeys, ErrConfig)
	}
	if opts.MaxKeys == 0 {
		opts.MaxKeys = DefaultMaxKeys
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	n := min(16, opts.MaxKeys)
	m := &Memory{
		cfg:    cfg,
		limit:  rate.Limit(cfg.Rate),
		now:    opts.Now,
		seed:   maphash.MakeSeed(),
		shards: make([]memShard, n),
		per:    opts.MaxKeys / n,
	}
	for i := range m.shards {
		m.shards[i].m = make(map[string]*memEntry)
	}
	return m, nil
}

// Allow implements Limiter.
func (m *Memory) Allow(_ context.Context, key string) (Decision, error) {
	now := m.now()
	s := &m.shards[maphash.String(m.seed, key)%uint64(len(m.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.m[key]
	if e == nil {
		if len(s.m) >= m.per {
			m.evict(s, now)
		}
		e = &memEntry{lim: rate.NewLimiter(m.limit, m.cfg.Burst)}
		s.m[key] = e
	}
	blacklist := m.cfg.BlacklistCount > 0
	if blacklist && now.Before(e.blockedUntil) {
		return Decision{Blocked: true}, nil
	}
	if e.lim.AllowN(now, 1) {
		return Decision{Allowed: true}, nil
	}
	if !blacklist {
		return Decision{}, nil
	}
	if !now.Before(e.refusedAt.Add(m.cfg.BlockFor)) {
		e.refusals = 0
	}
	e.refusals++
	e.refusedAt = now
	if e.refusals > m.cfg.BlacklistCount {
		e.refusals = 0
		e.blockedUntil = now.Add(m.cfg.BlockFor)
		e.lim = rate.NewLimiter(m.limit, m.cfg.Burst) // a full bucket when the block ends
		return Decision{Blocked: true}, nil
	}
	return Decision{}, nil
}

// idle reports whether forgetting e changes no future decision.
func (m *Memory) idle(e *memEntry, now time.Time) bool {
	return !now.Before(e.blockedUntil) &&
		(e.refusals == 0 || !now.Before(e.refusedAt.Add(m.cfg.BlockFor))) &&
		e.lim.TokensAt(now) >= float64(m.cfg.Burst)
}

// evict makes room in the full shard s (locked by the caller): idle keys first,
// then unblocked keys, then any, down to three quarters of the shard.
func (m *Memory) evict(s *memShard, now time.Time) {
	for k, e := range s.m {
		if m.idle(e, now) {
			delete(s.m, k)
		}
	}
	target := m.per * 3 / 4
	for k, e := range s.m {
		if len(s.m) <= target {
			return
		}
		if !now.Before(e.blockedUntil) {
			delete(s.m, k)
		}
	}
	for k := range s.m {
		if len(s.m) <= target {
			return
		}
		delete(s.m, k)
	}
}

// size returns the number of keys held (for tests).
func (m *Memory) size() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}
