package lease

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
)

// Namespace is the part of a Redis key between the configured prefix and the
// hash-tagged lease name.
const Namespace = "lease:"

// renewSrc extends KEYS[1] to ARGV[2] ms when its value is ARGV[1] (the owner).
const renewSrc = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`

// releaseSrc deletes KEYS[1] when its value is ARGV[1] (the owner).
const releaseSrc = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`

// Redis is the Lease shared by every instance through Redis (standalone or
// Cluster); see the package doc for the key layout. Expiry uses the Redis
// server's clock, so instances' clocks do not matter. Errors are those of the
// Redis client, wrapped with the operation and name, and ErrInvalid.
type Redis struct {
	c       redis.UniversalClient
	prefix  string
	renew   *redis.Script
	release *redis.Script
}

var _ Lease = (*Redis)(nil)

// NewRedis returns a Lease storing its keys in c under prefix; an empty prefix
// means redisx.DefaultPrefix. The caller keeps ownership of c.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = redisx.DefaultPrefix
	}
	return &Redis{
		c:       c,
		prefix:  prefix + Namespace,
		renew:   redis.NewScript(renewSrc),
		release: redis.NewScript(releaseSrc),
	}
}

// Key returns the Redis key of lease name.
func (l *Redis) Key(name string) string { return redisx.Key(l.prefix, name) }

// Acquire implements Lease: SET NX PX, then, when the key exists, a renewal
// that succeeds only for the current owner. ttl is rounded up to whole
// milliseconds.
func (l *Redis) Acquire(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if err := validate("acquire", name, owner, ttl, true); err != nil {
		return false, err
	}
	key := l.Key(name)
	ms := (ttl + time.Millisecond - 1) / time.Millisecond
	ok, err := l.c.SetNX(ctx, key, owner, ms*time.Millisecond).Result()
	if err != nil {
		return false, fmt.Errorf("lease acquire: name[%s]: %w", name, err)
	}
	if ok {
		return true, nil
	}
	n, err := l.renew.Run(ctx, l.c, []string{key}, owner, int64(ms)).Int64()
	if err != nil {
		return false, fmt.Errorf("lease renew: name[%s]: %w", name, err)
	}
	return n == 1, nil
}

// Release implements Lease with a compare-and-DEL script.
func (l *Redis) Release(ctx context.Context, name, owner string) error {
	if err := validate("release", name, owner, 0, false); err != nil {
		return err
	}
	if err := l.release.Run(ctx, l.c, []string{l.Key(name)}, owner).Err(); err != nil {
		return fmt.Errorf("lease release: name[%s]: %w", name, err)
	}
	return nil
}
