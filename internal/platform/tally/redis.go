package tally

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
)

// Redis is the Store shared by a fleet: one hash per series and minute (see
// the package doc for the layout). Errors are those of the Redis client,
// wrapped with the operation. Redis is safe for concurrent use.
type Redis struct {
	c         redis.UniversalClient
	namespace string // prefix + series + ":"
	ttl       time.Duration
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Store keeping series (e.g. "drawcodes") in c under
// prefix (empty: redisx.DefaultPrefix), each minute expiring retention after
// its last write (zero: DefaultRetention). The caller keeps ownership of c.
// An empty series, or one holding "{" or "}", is refused with ErrConfig.
func NewRedis(c redis.UniversalClient, prefix, series string, retention time.Duration) (*Redis, error) {
	if series == "" || strings.ContainsAny(series, "{}") {
		return nil, fmt.Errorf("%w: series %q", ErrConfig, series)
	}
	if prefix == "" {
		prefix = redisx.DefaultPrefix
	}
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Redis{c: c, namespace: prefix + series + ":", ttl: retention}, nil
}

// Key returns the Redis key of a unix minute.
func (r *Redis) Key(minute int64) string {
	return redisx.Key(r.namespace, strconv.FormatInt(minute, 10))
}

// Add implements Store: one pipeline of HINCRBY per minute and label and a
// PEXPIRE per minute. Counts whose command failed are returned in a
// *NotAddedError.
func (r *Redis) Add(ctx context.Context, batch []Bucket) error {
	type incr struct {
		minute int64
		label  string
		n      int64
		cmd    *redis.IntCmd
	}
	var incrs []incr
	cmds, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, b := range batch {
			if len(b.Counts) == 0 {
				continue
			}
			key := r.Key(b.Minute)
			for label, n := range b.Counts {
				incrs = append(incrs, incr{minute: b.Minute, label: label, n: n, cmd: p.HIncrBy(ctx, key, label, n)})
			}
			p.PExpire(ctx, key, r.ttl)
		}
		return nil
	})
	if err == nil || len(cmds) == 0 {
		if err != nil {
			return fmt.Errorf("tally add: %w", err)
		}
		return nil
	}
	notAdded := map[int64]map[string]int64{}
	for _, in := range incrs {
		if in.cmd.Err() == nil {
			continue
		}
		if notAdded[in.minute] == nil {
			notAdded[in.minute] = map[string]int64{}
		}
		notAdded[in.minute][in.label] += in.n
	}
	if len(notAdded) == 0 {
		return nil // only an expiry failed: the next write renews it
	}
	out := &NotAddedError{Err: fmt.Errorf("tally add: %w", err)}
	for minute, counts := range notAdded {
		out.Buckets = append(out.Buckets, Bucket{Minute: minute, Counts: counts})
	}
	sortBuckets(out.Buckets)
	return out
}

// Read implements Store: one pipeline of HGETALL over the minutes asked for.
func (r *Redis) Read(ctx context.Context, from, to int64) ([]Bucket, error) {
	if to < from {
		return []Bucket{}, nil
	}
	if to-from > 7*24*60 {
		return nil, fmt.Errorf("tally read: %d minutes asked for, at most a week", to-from+1)
	}
	cmds := make([]*redis.MapStringStringCmd, 0, to-from+1)
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for m := from; m <= to; m++ {
			cmds = append(cmds, p.HGetAll(ctx, r.Key(m)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tally read minutes %d..%d: %w", from, to, err)
	}
	out := []Bucket{}
	for i, cmd := range cmds {
		fields := cmd.Val()
		if len(fields) == 0 {
			continue
		}
		b := Bucket{Minute: from + int64(i), Counts: make(map[string]int64, len(fields))}
		for label, v := range fields {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("tally read %s field %q: %w", r.Key(b.Minute), label, err)
			}
			b.Counts[label] = n
		}
		out = append(out, b)
	}
	return out, nil
}
