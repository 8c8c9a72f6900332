// Package ratelimit is the per-user draw rate limiter behind the
// rateLimiterSwitch (DESIGN §5): each key (a user id) gets Rate permits per
// second with bursts of Burst, and a key refused more than BlacklistCount times
// is blocked for BlockFor (default 24 h). Memory is the in-process twin (one
// instance); Redis holds the state in Redis so the limit holds across the fleet.
//
// # Semantics
//
// Allow on a blocked key answers Blocked without consuming a permit. Otherwise a
// permit is taken when available (Allowed). A refusal is counted; refusals
// are forgotten after BlockFor without a refusal, and the refusal that makes
// the count exceed BlacklistCount starts a block of BlockFor and answers
// Blocked itself. When the block ends the key starts afresh (no refusals, a
// full bucket). With BlacklistCount zero nothing is counted or blocked.
//
// # Redis key layout
//
// For key K, with prefix defaulting to "bigmarket:" (see redisx.Key):
//
//	<prefix>ratelimit:{K}:tat       string: GCRA theoretical arrival time, µs
//	<prefix>ratelimit:{K}:refusals  hash: n (refusals), at (last refusal, µs)
//	<prefix>ratelimit:{K}:block     string: end of the block, µs
//
// One Lua script reads and writes all three (they share the hash tag {K}, so it
// runs on Redis Cluster). Each key carries a PEXPIRE so idle keys disappear: the
// tat key when the bucket is full again (plus a little slack), the refusals key
// BlockFor after the last refusal, the block key when the block ends. Timestamps
// are stored in the values, so the decisions follow the limiter's clock, and the
// expiries only collect garbage.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrConfig is returned (wrapped) by the constructors for an invalid Config.
var ErrConfig = errors.New("ratelimit: invalid config")

// DefaultBlockFor is the block length used when Config.BlockFor is zero.
const DefaultBlockFor = 24 * time.Hour

// Rate bounds: a permit interval between one microsecond and about 11.6 days.
const (
	minRate = 1e-6
	maxRate = 1e6
)

// Decision is the answer for one request. The zero value refuses without
// blocking.
type Decision struct {
	// Allowed reports that a permit was taken: the request may proceed.
	Allowed bool
	// Blocked reports a refusal because the key is over the blacklist
	// threshold (now blocked for BlockFor); Allowed is then false.
	Blocked bool
}

// Limiter decides whether the request of a key may proceed. Implementations are
// safe for concurrent use.
type Limiter interface {
	// Allow takes one permit for key if it can. An error means no decision was
	// made (Redis unreachable, context done); the caller chooses to fail open
	// or closed.
	Allow(ctx context.Context, key string) (Decision, error)
}

// Config configures a limiter. The zero value allows 1 permit per second,
// bursts of 1, and never blocks.
type Config struct {
	// Rate is the number of permits per second, between 1e-6 and 1e6; zero
	// means 1.
	Rate float64
	// Burst is the number of permits a key may take at once after being idle;
	// zero means 1.
	Burst int
	// BlacklistCount is how many refusals a key may collect before it is
	// blocked (the refusal after the BlacklistCount-th blocks it); zero means
	// no blacklisting.
	BlacklistCount int
	// BlockFor is how long a blocked key is refused, and how long refusals are
	// remembered; zero means DefaultBlockFor (24 h). It must be zero or at
	// least one millisecond.
	BlockFor time.Duration
}

// withDefaults validates c and fills in the zero values.
func (c Config) withDefaults() (Config, error) {
	switch {
	case math.IsNaN(c.Rate) || c.Rate < 0 || (c.Rate != 0 && (c.Rate < minRate || c.Rate > maxRate)):
		return c, fmt.Errorf("ratelimit: rate %v not in [%g, %g]: %w", c.Rate, minRate, maxRate, ErrConfig)
	case c.Burst < 0:
		return c, fmt.Errorf("ratelimit: negative burst %d: %w", c.Burst, ErrConfig)
	case c.BlacklistCount < 0:
		return c, fmt.Errorf("ratelimit: negative blacklist count %d: %w", c.BlacklistCount, ErrConfig)
	case c.BlockFor < 0 || (c.BlockFor > 0 && c.BlockFor < time.Millisecond):
		return c, fmt.Errorf("ratelimit: block duration %v neither zero nor at least 1ms: %w", c.BlockFor, ErrConfig)
	}
	if c.Rate == 0 {
		c.Rate = 1
	}
	if c.Burst == 0 {
		c.Burst = 1
	}
	if c.BlockFor == 0 {
		c.BlockFor = DefaultBlockFor
	}
	return c, nil
}
