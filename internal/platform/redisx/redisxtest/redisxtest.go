// Package redisxtest gives tests a client for the real Redis (through
// internal/testsvc) and a unique key prefix whose keys are deleted when the test
// ends, so that tests never collide and leave nothing behind.
package redisxtest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// New returns a client for the test Redis (skipping or failing the test as
// testsvc.Addr decides when Redis is unreachable) and a unique key prefix of the
// form "bmtest:<12 hex>:". When the test ends, every key starting with the prefix
// is deleted and the client is closed.
func New(tb testing.TB) (redis.UniversalClient, string) {
	tb.Helper()
	addr := testsvc.Addr(tb, "redis")
	c := redisx.New(redisx.Config{Addrs: []string{addr}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		tb.Fatalf("redisxtest: ping %s: %v", addr, err)
	}
	prefix := testsvc.UniqueName("bmtest:") + ":"
	tb.Cleanup(func() {
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, c, prefix); err != nil {
			tb.Errorf("redisxtest: delete keys %s*: %v", prefix, err)
		}
	})
	return c, prefix
}

// DeletePrefix deletes every key that starts with prefix, scanning every master
// of a cluster. Keys are deleted one by one, so keys of different slots never
// meet in one command.
func DeletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	pattern := globEscaper.Replace(prefix) + "*"
	del := func(ctx context.Context, node redis.Cmdable) error {
		iter := node.Scan(ctx, 0, pattern, 500).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return del(ctx, node)
		})
	}
	return del(ctx, c)
}

// Keys returns the keys that start with prefix (standalone servers only; tests
// use it to check the key layout).
func Keys(ctx context.Context, c redis.UniversalClient, prefix string) ([]string, error) {
	var keys []string
	iter := c.Scan(ctx, 0, globEscaper.Replace(prefix)+"*", 500).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

// globEscaper quotes the characters SCAN MATCH treats as a pattern; it is
// immutable after initialisation.
var globEscaper = strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`)
