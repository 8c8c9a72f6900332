package counter

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// releaseSrc takes one back from KEYS[1] when it is a live counter above 0.
// It returns -1 when the key is missing or fenced, 1 when released, 0 when at 0.
const releaseSrc = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 6) == 'fence:' then return -1 end
if tonumber(v) > 0 then
  redis.call('DECR', KEYS[1])
  return 1
end
return 0
`

// releaseScript is immutable after creation (it only caches the script's SHA),
// so one value serves every Redis counter.
var releaseScript = redis.NewScript(releaseSrc)

// Release gives back one unit taken from key: it subtracts one when key is a
// live counter above 0, in one atomic step, and reports whether it did. A
// missing or fenced key (a cache loss: the counter will be rebuilt from durable
// facts) or a key at 0 is left alone and reports false. Memory never returns
// errors.
//
// Release is the inverse of a successful Acquire; call it at most once per unit
// taken, and only once the fact the unit paid for is known never to commit
// while that fact is still counted by a rebuild (so that a rebuild between the
// two counts it).
func (c *Memory) Release(_ context.Context, key string) (bool, error) {
	v := c.load(key)
	if v == nil || !v.live() {
		return false, nil
	}
	for {
		cur := v.n.Load()
		if cur <= 0 {
			return false, nil
		}
		if v.n.CompareAndSwap(cur, cur-1) {
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
