package counter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
)

// Namespace is the part of a Redis key between the configured prefix and the
// hash-tagged counter name: a counter named "s:1" lives at
// "<prefix>counter:{s:1}".
const Namespace = "counter:"

// fencePrefix starts the value of a fenced key: "fence:<token>".
const fencePrefix = "fence:"

// acquireSrc adds one to KEYS[1] when it is a live counter below ARGV[1]. It
// returns {-1, 0} when the key is missing or fenced, {1, n} when taken (n the
// new value), {0, n} when at the limit. A value that is neither a number nor a
// fence is an error.
const acquireSrc = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 6) == 'fence:' then return {-1, 0} end
local n = tonumber(v)
if not n then return redis.error_reply('counter: value is not an integer') end
if n < tonumber(ARGV[1]) then
  return {1, redis.call('INCR', KEYS[1])}
end
return {0, n}
`

// installSrc sets KEYS[1] to ARGV[2] (no TTL) when it holds the marker ARGV[1].
const installSrc = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
`

// Redis is the Counter backed by Redis (standalone or Cluster). Each counter is
// one string key holding a decimal integer, at redisx.Key(prefix+Namespace,
// key); Acquire is one Lua script over that single key, so it is atomic and
// cluster-safe. Keys have no TTL: a counter lives until Delete (or a cache loss,
// after which the caller Seeds it again from durable facts).
//
// Errors returned are those of the Redis client (redis.Nil never escapes),
// wrapped with the operation and key. Redis is safe for concurrent use.
type Redis struct {
	c       redis.UniversalClient
	prefix  string
	acquire *redis.Script
	install *redis.Script
}

var _ Counter = (*Redis)(nil)

// NewRedis returns a Counter storing its keys in c under prefix (e.g.
// redisx.Config.KeyPrefix()); an empty prefix means redisx.DefaultPrefix. The
// caller keeps ownership of c.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = redisx.DefaultPrefix
	}
	return &Redis{c: c, prefix: prefix + Namespace, acquire: redis.NewScript(acquireSrc), install: redis.NewScript(installSrc)}
}

// Key returns the Redis key that holds counter key.
func (r *Redis) Key(key string) string { return redisx.Key(r.prefix, key) }

// Seed implements Counter with SET NX.
func (r *Redis) Seed(ctx context.Context, key string, n int64) (bool, error) {
	ok, err := r.c.SetNX(ctx, r.Key(key), n, 0).Result()
	if err != nil {
		return false, fmt.Errorf("counter seed: key[%s]: %w", key, err)
	}
	return ok, nil
}

// Acquire implements Counter with one Lua script (EVALSHA, falling back to
// EVAL when the script cache was flushed).
func (r *Redis) Acquire(ctx context.Context, key string, limit int64) (int64, bool, bool, error) {
	res, err := r.acquire.Run(ctx, r.c, []string{r.Key(key)}, limit).Int64Slice()
	if err != nil {
		return 0, false, false, fmt.Errorf("counter acquire: key[%s]: %w", key, err)
	}
	if len(res) != 2 {
		return 0, false, false, fmt.Errorf("counter acquire: key[%s]: unexpected script result %v", key, res)
	}
	switch res[0] {
	case 1:
		return res[1], true, false, nil
	case 0:
		return res[1], false, false, nil
	case -1:
		return 0, false, true, nil
	}
	return 0, false, false, fmt.Errorf("counter acquire: key[%s]: unexpected script result %v", key, res)
}

// Get implements Counter.
func (r *Redis) Get(ctx context.Context, key string) (int64, bool, error) {
	s, err := r.c.Get(ctx, r.Key(key)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("counter get: key[%s]: %w", key, err)
	}
	if strings.HasPrefix(s, fencePrefix) {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("counter get: key[%s]: %w", key, err)
	}
	return n, true, nil
}

// Delete implements Counter. Keys are deleted with one DEL each, pipelined, so
// that keys of different cluster slots never meet in one command.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	cmds, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, r.Key(k))
		}
		return nil
	})
	if err != nil {
		for i, c := range cmds {
			if c.Err() != nil {
				return fmt.Errorf("counter delete: key[%s]: %w", keys[i], c.Err())
			}
		}
		return fmt.Errorf("counter delete: %d keys: %w", len(keys), err)
	}
	return nil
}

// Fence implements Counter with SET NX PX: the marker "fence:<token>" expires
// after ttl (rounded up to a millisecond; ≤ 0 means one minute).
func (r *Redis) Fence(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		ttl = time.Minute
	}
	ok, err := r.c.SetNX(ctx, r.Key(key), fencePrefix+token, max(ttl, time.Millisecond)).Result()
	if err != nil {
		return false, fmt.Errorf("counter fence: key[%s]: %w", key, err)
	}
	return ok, nil
}

// Install implements Counter with one Lua script comparing the marker and
// setting the value (which also drops the marker's TTL).
func (r *Redis) Install(ctx context.Context, key, token string, n int64) (bool, error) {
	res, err := r.install.Run(ctx, r.c, []string{r.Key(key)}, fencePrefix+token, n).Int64()
	if err != nil {
		return false, fmt.Errorf("counter install: key[%s]: %w", key, err)
	}
	return res == 1, nil
}
