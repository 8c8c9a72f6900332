package lease_test

import (
	"os"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/platform/lease"
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

func newRedisCluster(t *testing.T) harness {
	c, prefix := cluster.New(t)
	return harness{l: lease.NewRedis(c, prefix), advance: time.Sleep}
}

// TestRedisClusterContract runs the lease contract against a real Redis Cluster.
func TestRedisClusterContract(t *testing.T) { runContract(t, newRedisCluster) }

// TestRedisClusterRunExclusive: one runner of a job across instances, on a
// Redis Cluster.
func TestRedisClusterRunExclusive(t *testing.T) {
	c, prefix := cluster.New(t)
	testRunExclusive(t, lease.NewRedis(c, prefix))
}
