// Package dcc holds the dynamic switches of DESIGN §5 (kept from the original
// platform's dynamic config center): values stored durably, cached in memory, and
// polled so that a change reaches every instance within a second.
package dcc

import (
	"context"
	"errors"
	"fmt"
	"github.com/bigmarket/bigmarket/internal/platform/poll"
	"log/slog"
	"maps"
	"strconv"
	"sync/atomic"
	"time"
)

// Switch keys. Values are validated by Set.
const (
	// DegradeSwitch "open" makes draws answer 0004 (degraded). Default "close".
	DegradeSwitch = "degradeSwitch"
	// RateLimiterSwitch "open" limits each user's draws. Default "close".
	RateLimiterSwitch = "rateLimiterSwitch"
	// RateLimiterPermits is the per-user draw rate in permits per second.
	// Default "1".
	RateLimiterPermits = "rateLimiterPermitsPerSecond"
	// RateLimiterBlacklist is how many refusals put a user on the 24 h
	// blacklist; "0" disables it. Default "1".
	RateLimiterBlacklist = "blacklistCount"
)

// ErrInvalid reports an unknown key or a value the key does not accept.
var ErrInvalid = errors.New("dcc: invalid switch")

// Defaults are the values in force when nothing is stored.
func Defaults() map[string]string {
	return map[string]string{
		DegradeSwitch:        "close",
		RateLimiterSwitch:    "close",
		RateLimiterPermits:   "1",
		RateLimiterBlacklist: "1",
	}
}

// Check validates a key and value.
func Check(key, value string) error {
	switch key {
	case DegradeSwitch, RateLimiterSwitch:
		if value != "open" && value != "close" {
			return fmt.Errorf("%w: %s=%q: want open or close", ErrInvalid, key, value)
		}
	case RateLimiterPermits:
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0.001 || f > 1e6 {
			return fmt.Errorf("%w: %s=%q: want a number of permits per second in [0.001, 1e6]", ErrInvalid, key, value)
		}
	case RateLimiterBlacklist:
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || n > 1_000_000 {
			return fmt.Errorf("%w: %s=%q: want a count ≥ 0", ErrInvalid, key, value)
		}
	default:
		return fmt.Errorf("%w: unknown key %q", ErrInvalid, key)
	}
	return nil
}

// Store keeps switch values durably.
type Store interface {
	// All returns every stored value.
	All(ctx context.Context) (map[string]string, error)
	// Set stores one value.
	Set(ctx context.Context, key, value string, now time.Time) error
}

// Switches is the in-memory view of the switches. Reads are lock-free.
type Switches struct {
	store    Store
	defaults map[string]string
	now      func() time.Time
	log      *slog.Logger
	cur      atomic.Pointer[map[string]string]
}

// New returns switches over store, with defaults overridden by the configured
// values in overrides (which must pass Check). log may be nil.
func New(store Store, overrides map[string]string, now func() time.Time, log *slog.Logger) (*Switches, error) {
	d := Defaults()
	for k, v := range overrides {
		if err := Check(k, v); err != nil {
			return nil, fmt.Errorf("switch defaults: %w", err)
		}
		d[k] = v
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Switches{store: store, defaults: d, now: now, log: log}
	m := maps.Clone(d)
	s.cur.Store(&m)
	return s, nil
}

// Get returns the value of key in force.
func (s *Switches) Get(key string) string { return (*s.cur.Load())[key] }

// All returns a copy of every value in force.
func (s *Switches) All() map[string]string { return maps.Clone(*s.cur.Load()) }

// Degraded reports whether draws are switched off.
func (s *Switches) Degraded() bool { return s.Get(DegradeSwitch) == "open" }

// RateLimit reports whether the draw rate limit is on and its parameters.
func (s *Switches) RateLimit() (on bool, permits float64, blacklist int) {
	m := *s.cur.Load()
	permits, _ = strconv.ParseFloat(m[RateLimiterPermits], 64)
	blacklist, _ = strconv.Atoi(m[RateLimiterBlacklist])
	return m[RateLimiterSwitch] == "open", permits, blacklist
}

// Set validates and stores a value, and makes it visible here at once; other
// instances see it at their next Reload.
func (s *Switches) Set(ctx context.Context, key, value string) error {
	if err := Check(key, value); err != nil {
		return err
	}
	if err := s.store.Set(ctx, key, value, s.now()); err != nil {
		return fmt.Errorf("set switch %s: %w", key, err)
	}
	return s.Reload(ctx)
}

// Reload reads the stored values over the defaults. Stored values that no longer
// pass Check are ignored and logged.
func (s *Switches) Reload(ctx context.Context) error {
	stored, err := s.store.All(ctx)
	if err != nil {
		return fmt.Errorf("reload switches: %w", err)
	}
	m := maps.Clone(s.defaults)
	for k, v := range stored {
		if err := Check(k, v); err != nil {
			s.log.Warn("ignoring stored switch", "err", err)
			continue
		}
		m[k] = v
	}
	s.cur.Store(&m)
	return nil
}

// Watch reloads every interval until ctx ends.
func (s *Switches) Watch(ctx context.Context, interval time.Duration) {
	poll.Every(ctx, interval, s.Reload, s.log, "switch reload failed")
}
