package ratelimit

import (
	"os"
	"testing"

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

func redisClusterFactory(t *testing.T, cfg Config, clk *fakeClock) (Limiter, error) {
	c, prefix := cluster.New(t)
	return NewRedis(c, prefix, cfg, clk.Now)
}

// TestRedisClusterContract runs the rate-limit contract against a real Redis
// Cluster: every key of one user shares a hash tag, so the scripts never fail
// with CROSSSLOT.
func TestRedisClusterContract(t *testing.T) { runContract(t, redisClusterFactory) }
