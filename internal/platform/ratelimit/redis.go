package ratelimit

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
)

// Namespace is the part of a Redis key between the configured prefix and the
// hash-tagged limiter key.
const Namespace = "ratelimit:"

// tatSlackMs keeps a tat key this long past the moment its bucket is full
// again, so that a caller whose clock lags Redis's still finds it.
const tatSlackMs = 2000

// allowSrc is GCRA plus refusal counting and blocking, in microseconds.
// KEYS: tat, refusals, block. ARGV: now ("" = the server's TIME), interval,
// burst, blacklist count, block duration, tat slack (ms). Returns {allowed,
// blocked}.
const allowSrc = `
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local blockFor = tonumber(ARGV[5])
local blockMs = string.format('%.0f', math.ceil(blockFor / 1000))

if limit > 0 then
  local untilUs = tonumber(redis.call('GET', KEYS[3]))
  if untilUs then
    if now < untilUs then return {0, 1} end
    redis.call('DEL', KEYS[3])
  end
end

local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local newTat = tat + interval
if now >= newTat - burst * interval then
  local ttl = math.ceil((newTat - now) / 1000) + ARGV[6]
  redis.call('SET', KEYS[1], string.format('%.0f', newTat), 'PX', string.format('%.0f', ttl))
  return {1, 0}
end
if limit == 0 then return {0, 0} end

local r = redis.call('HMGET', KEYS[2], 'n', 'at')
local n = 0
local at = tonumber(r[2])
if at and now < at + blockFor then n = tonumber(r[1]) or 0 end
n = n + 1
if n > limit then
  redis.call('DEL', KEYS[2], KEYS[1])
  redis.call('SET', KEYS[3], string.format('%.0f', now + blockFor), 'PX', blockMs)
  return {0, 1}
end
redis.call('HSET', KEYS[2], 'n', n, 'at', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[2], blockMs)
return {0, 0}
`

// Redis is the Limiter whose state lives in Redis (standalone or Cluster), so
// that one limit holds across every instance; see the package doc for the key
// layout. Each Allow is one Lua script (GCRA, equivalent to a token bucket of
// Burst permits refilled at Rate). Errors are those of the Redis client,
// wrapped with the key.
type Redis struct {
	c        redis.UniversalClient
	prefix   string
	cfg      Config
	now      func() time.Time
	interval int64 // µs per permit
	script   *redis.Script
	args     [5]string // interval, burst, blacklist count, block µs, slack ms
}

var _ Limiter = (*Redis)(nil)

// NewRedis returns a limiter for cfg storing its keys in c under prefix (an
// empty prefix means redisx.DefaultPrefix). now supplies the time; nil means the
// Redis server's clock (TIME), which gives the whole fleet one clock and is the
// production choice; tests pass a fake clock. NewRedis returns ErrConfig
// (wrapped) for an invalid cfg. The caller keeps ownership of c.
func NewRedis(c redis.UniversalClient, prefix string, cfg Config, now func() time.Time) (*Redis, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if prefix == "" {
		prefix = redisx.DefaultPrefix
	}
	interval := max(int64(math.Round(1e6/cfg.Rate)), 1)
	r := &Redis{
		c:        c,
		prefix:   prefix + Namespace,
		cfg:      cfg,
		now:      now,
		interval: interval,
		script:   redis.NewScript(allowSrc),
	}
	r.args = [5]string{
		strconv.FormatInt(interval, 10),
		strconv.Itoa(cfg.Burst),
		strconv.Itoa(cfg.BlacklistCount),
		strconv.FormatInt(cfg.BlockFor.Microseconds(), 10),
		strconv.Itoa(tatSlackMs),
	}
	return r, nil
}

// Keys returns the three Redis keys of limiter key: tat, refusals, block.
func (r *Redis) Keys(key string) [3]string {
	base := redisx.Key(r.prefix, key)
	return [3]string{base + ":tat", base + ":refusals", base + ":block"}
}

// Allow implements Limiter.
func (r *Redis) Allow(ctx context.Context, key string) (Decision, error) {
	now := ""
	if r.now != nil {
		now = strconv.FormatInt(r.now().UnixMicro(), 10)
	}
	keys := r.Keys(key)
	res, err := r.script.Run(ctx, r.c, keys[:], now, r.args[0], r.args[1], r.args[2], r.args[3], r.args[4]).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit allow: key[%s]: %w", key, err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("ratelimit allow: key[%s]: unexpected script result %v", key, res)
	}
	return Decision{Allowed: res[0] == 1, Blocked: res[1] == 1}, nil
}
