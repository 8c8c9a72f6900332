package counter_test

import (
	"context"
	"math"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/counter/countertest"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// cluster is the package's Redis Cluster, started by the first test that needs
// it and killed after the last.
var cluster redisxtest.ClusterHost

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Close()
	os.Exit(code)
}

// TestRedisClusterContract runs the contract suite against a real six-node
// Redis Cluster through the go-redis ClusterClient that redisx builds.
func TestRedisClusterContract(t *testing.T) {
	countertest.Run(t, func(t *testing.T) counter.Counter {
		c, prefix := cluster.New(t)
		return counter.NewRedis(c, prefix)
	})
}

// BenchmarkRedisClusterAcquire: takes through the ClusterClient, as production
// runs them.
func BenchmarkRedisClusterAcquire(b *testing.B) {
	rc, prefix := cluster.New(b)
	c := counter.NewRedis(rc, prefix)
	ctx := context.Background()
	if _, err := c.Seed(ctx, "k", 0); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, taken, _, err := c.Acquire(ctx, "k", math.MaxInt64); err != nil || !taken {
				b.Errorf("Acquire = %v, %v", taken, err)
				return
			}
		}
	})
}

// BenchmarkRedisClusterAcquireWait1: each take followed by WAIT 1 on the same
// connection (the option TestRedisClusterFailoverUnderLoad measures): the cost
// of a replica's acknowledgement per take.
func BenchmarkRedisClusterAcquireWait1(b *testing.B) {
	rc, prefix := cluster.New(b)
	c := counter.NewRedis(rc, prefix)
	ctx := context.Background()
	if _, err := c.Seed(ctx, "k", 0); err != nil {
		b.Fatal(err)
	}
	master, err := cluster.Cluster(b).MasterOf(ctx, c.Key("k"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		node := redis.NewClient(&redis.Options{Addr: master, PoolSize: 1, MaxRetries: -1})
		defer node.Close()
		nc := counter.NewRedis(node, prefix)
		for pb.Next() {
			if _, taken, _, err := nc.Acquire(ctx, "k", math.MaxInt64); err != nil || !taken {
				b.Errorf("Acquire = %v, %v", taken, err)
				return
			}
			if n, err := node.Do(ctx, "WAIT", 1, 1000).Int64(); err != nil || n < 1 {
				b.Errorf("WAIT 1 = %d, %v", n, err)
				return
			}
		}
	})
}
