package counter_test

import (
	"os"
	"testing"

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
