package redisx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// What bigmarket needs Redis to keep (DESIGN §8): stock counters hold the units
// taken and have no TTL. A counter evicted under memory pressure is rebuilt from
// the database (fenced, so never oversold), but every eviction costs refused
// takes while it is rebuilt, and an evicting policy can drop a counter at any
// time. Redis must therefore run with maxmemory-policy noeviction (or a volatile-*
// policy, which only evicts keys with a TTL: fences, leases, rate limits), and
// should persist (AOF, or at least RDB snapshots) so that a restart does not
// lose every counter at once.

// ErrEvictingPolicy is returned by CheckDurability when the server may evict
// any key (an allkeys-* maxmemory-policy) and eviction was not allowed.
var ErrEvictingPolicy = errors.New("redisx: maxmemory-policy may evict stock counters")

// Durability is what a Redis server reports about keeping keys.
type Durability struct {
	// MaxmemoryPolicy is CONFIG GET maxmemory-policy, e.g. "noeviction".
	MaxmemoryPolicy string
	// AOF reports appendonly yes.
	AOF bool
	// RDB reports a non-empty save schedule.
	RDB bool
	// Unknown is set when the server refused CONFIG GET (managed Redis often
	// renames or disables CONFIG): the other fields are then zero.
	Unknown error
}

// Assess decides what to do about d: an error wrapping ErrEvictingPolicy for
// an allkeys-* policy unless allowEviction, and warnings (one sentence each)
// for everything else that is not as recommended. A Durability that could not
// be read gives a warning only.
func Assess(d Durability, allowEviction bool) (warnings []string, err error) {
	if d.Unknown != nil {
		return []string{fmt.Sprintf("redis: cannot read the server's configuration (%v); make sure maxmemory-policy is noeviction and persistence (AOF) is on", d.Unknown)}, nil
	}
	switch p := d.MaxmemoryPolicy; {
	case strings.HasPrefix(p, "allkeys-"):
		if !allowEviction {
			return nil, fmt.Errorf("%w: the server runs maxmemory-policy %s, which may evict stock counters at any time; set it to noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf), or start with redis.allow_eviction / BIGMARKET_REDIS_ALLOW_EVICTION=true to accept refused draws while evicted counters are rebuilt", ErrEvictingPolicy, p)
		}
		warnings = append(warnings, fmt.Sprintf("redis: maxmemory-policy %s may evict stock counters (allowed by configuration): each eviction refuses takes until the counter is rebuilt", p))
	case strings.HasPrefix(p, "volatile-"):
		warnings = append(warnings, fmt.Sprintf("redis: maxmemory-policy %s evicts keys with a TTL (rebuild fences, leases, rate limits) under memory pressure; noeviction is recommended", p))
	case p == "noeviction":
	default:
		warnings = append(warnings, fmt.Sprintf("redis: unknown maxmemory-policy %q; noeviction is recommended", p))
	}
	if !d.AOF && !d.RDB {
		warnings = append(warnings, "redis: persistence is off (no AOF, no RDB save schedule): a restart loses every stock counter at once (they are rebuilt from the database, refusing takes meanwhile); appendonly yes is recommended")
	}
	return warnings, nil
}

// ReadDurability reads maxmemory-policy, appendonly and save with CONFIG GET.
// On a cluster client it reads every master and reports the worst: the first
// allkeys-* (else volatile-*) policy, and persistence only if every master
// persists. A server error reply (CONFIG disabled or renamed) is reported in
// Durability.Unknown with a nil error; a connection error is returned.
func ReadDurability(ctx context.Context, c redis.UniversalClient) (Durability, error) {
	if cc, ok := c.(*redis.ClusterClient); ok {
		var (
			out   Durability
			first = true
		)
		err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			d, err := readNode(ctx, node)
			if err != nil {
				return err
			}
			out = worst(out, d, first)
			first = false
			return nil
		})
		return out, err
	}
	return readNode(ctx, c)
}

// worst merges the durability of one more master into acc.
func worst(acc, d Durability, first bool) Durability {
	if first {
		return d
	}
	if acc.Unknown != nil || d.Unknown != nil {
		return Durability{Unknown: errors.Join(acc.Unknown, d.Unknown)}
	}
	rank := func(p string) int {
		switch {
		case strings.HasPrefix(p, "allkeys-"):
			return 3
		case strings.HasPrefix(p, "volatile-"):
			return 2
		case p == "noeviction":
			return 0
		}
		return 1
	}
	if rank(d.MaxmemoryPolicy) > rank(acc.MaxmemoryPolicy) {
		acc.MaxmemoryPolicy = d.MaxmemoryPolicy
	}
	acc.AOF = acc.AOF && d.AOF
	acc.RDB = acc.RDB && d.RDB
	return acc
}

func readNode(ctx context.Context, c redis.Cmdable) (Durability, error) {
	var d Durability
	for _, p := range []string{"maxmemory-policy", "appendonly", "save"} {
		m, err := c.ConfigGet(ctx, p).Result()
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return Durability{Unknown: err}, nil
		}
		if err != nil {
			return Durability{}, fmt.Errorf("redis config get %s: %w", p, err)
		}
		v, ok := m[p]
		if !ok {
			return Durability{Unknown: fmt.Errorf("CONFIG GET %s returned nothing", p)}, nil
		}
		switch p {
		case "maxmemory-policy":
			d.MaxmemoryPolicy = v
		case "appendonly":
			d.AOF = v == "yes"
		case "save":
			d.RDB = strings.TrimSpace(v) != ""
		}
	}
	return d, nil
}

// CheckDurability reads the server's durability settings and Assesses them:
// it returns the warnings to log, and an error wrapping ErrEvictingPolicy when
// the server may evict counters and allowEviction is false. A connection error
// is returned as a warning (the instance starts; the counters report the outage
// on use), never as an error. CheckDurability changes nothing on the server.
func CheckDurability(ctx context.Context, c redis.UniversalClient, allowEviction bool) (warnings []string, err error) {
	d, err := ReadDurability(ctx, c)
	if err != nil {
		return []string{fmt.Sprintf("redis: durability not checked: %v", err)}, nil
	}
	return Assess(d, allowEviction)
}
