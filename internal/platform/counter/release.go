package counter

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// releaseSrc takes one back from KEYS[1] when it exists and is above 0.
// It returns -1 when the key is missing, 1 when released, 0 when at 0.
const releaseSrc = `
local v = redis.call('GET', KEYS[1])
if not v then return -1 end
if tonumber(v) > 0 then
  redis.call('DECR', KEYS[1])
  return 1
end
return 0
`

// releaseScript is immutable after creation (it only caches the script's SHA),
// so one value serves every Redis counter.
var releaseScript = redis.NewScript(releaseSrc)

// Release gives back one unit taken from key: it subtracts one when key exists
// and is above 0, in one atomic step, and reports whether it did. A missing key
// (a cache loss: the counter will be rebuilt from durable facts) or a key at 0
// is left alone and reports false. Memory never returns errors.
//
// Release is the inverse of a successful Acquire; call it at most once per unit
// taken, and only once the fact the unit paid for is known never to commit.
func (c *Memory) Release(_ context.Context, key string) (bool, error) {
	p, ok := c.m.Load(key)
	if !ok {
		return false, nil
	}
	// The cell's atomic methods, whatever type holds them (the store's own
	// layout is counter.go's business).
	v := p.(interface {
		Load() int64
		CompareAndSwap(old, new int64) bool
	})
	for {
		cur := v.Load()
		if cur <= 0 {
			return false, nil
		}
		if v.CompareAndSwap(cur, cur-1) {
			return true, nil
		}
	}
}

// Release gives back one unit taken from key, as Memory.Release does, with one
// Lua script over the counter's single key (cluster-safe; EVALSHA falling back
// to EVAL). Errors are the Redis client's, wrapped with the operation and key.
func (r *Redis) Release(ctx context.Context, key string) (bool, error) {
	res, err := releaseScript.Run(ctx, r.c, []string{r.Key(key)}).Int64()
	if err != nil {
		return false, fmt.Errorf("counter release: key[%s]: %w", key, err)
	}
	switch res {
	case 1:
		return true, nil
	case 0, -1:
		return false, nil
	}
	return false, fmt.Errorf("counter release: key[%s]: unexpected script result %d", key, res)
}
