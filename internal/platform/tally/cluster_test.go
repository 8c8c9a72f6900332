package tally_test

import (
	"os"
	"testing"

	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/platform/tally"
	"github.com/bigmarket/bigmarket/internal/platform/tally/tallytest"
)

// cluster is the package's Redis Cluster, started by the first test that needs
// it and killed after the last.
var cluster redisxtest.ClusterHost

func TestMain(m *testing.M) {
	code := m.Run()
	cluster.Close()
	os.Exit(code)
}

// TestRedisClusterContract runs the contract against a real Redis Cluster:
// the minutes of one flush or read live in different slots, and the
// pipelines reach each slot's master.
func TestRedisClusterContract(t *testing.T) {
	tallytest.Run(t, func(t *testing.T) tally.Store {
		c, prefix := cluster.New(t)
		r, err := tally.NewRedis(c, prefix, "drawcodes", 0)
		if err != nil {
			t.Fatal(err)
		}
		return r
	})
}
