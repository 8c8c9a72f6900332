package counter_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/counter/countertest"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// TestRedisReplicaAcksWithoutReplica: with ReplicaAcks 1 on a server that has
// no replica, every take is refused with a *NotReplicatedError that says so
// (nothing is granted, nothing oversold), and each refusal costs about the
// WAIT timeout. Takes that did not write (at the limit, missing) are answered
// as before, without an error.
func TestRedisReplicaAcksWithoutReplica(t *testing.T) {
	c, prefix := redisxtest.New(t)
	ctx := context.Background()
	if n, err := c.Info(ctx, "replication").Result(); err != nil {
		t.Fatal(err)
	} else if !strings.Contains(n, "connected_slaves:0") {
		t.Skipf("the test Redis has replicas:\n%s", n)
	}
	const timeout = 20 * time.Millisecond
	r := counter.NewRedis(c, prefix, counter.RedisOptions{ReplicaAcks: 1, ReplicaAckTimeout: timeout})
	if acks, wait := r.ReplicaAcks(); acks != 1 || wait != timeout {
		t.Fatalf("ReplicaAcks() = %d, %v; want 1, %v", acks, wait, timeout)
	}
	const stock = 5
	if _, err := r.Seed(ctx, "award_stock:1:2", 0); err != nil {
		t.Fatal(err)
	}
	granted := 0
	for i := range stock + 3 {
		start := time.Now()
		n, taken, missing, err := r.Acquire(ctx, "award_stock:1:2", stock)
		took := time.Since(start)
		if taken {
			granted++
		}
		if missing {
			t.Fatalf("take %d: missing", i)
		}
		if i >= stock {
			// The refused takes burnt every unit: the counter is at the limit,
			// the script writes nothing and WAIT is not asked about it.
			if err != nil || taken || n != stock {
				t.Fatalf("take %d at the limit = %d, %v, %v; want %d, false, nil", i, n, taken, err, stock)
			}
			continue
		}
		var nr *counter.NotReplicatedError
		if !errors.As(err, &nr) || !errors.Is(err, counter.ErrNotReplicated) {
			t.Fatalf("take %d = %d, %v, %v; want a *NotReplicatedError", i, n, taken, err)
		}
		var refused interface{ TakeRefused() bool }
		if !errors.As(err, &refused) || !refused.TakeRefused() {
			t.Fatalf("take %d: %v does not report TakeRefused", i, err)
		}
		if nr.Key != "award_stock:1:2" || nr.Want != 1 || nr.Got != 0 || nr.Timeout != timeout || n != int64(i+1) {
			t.Fatalf("take %d: n %d, error %+v", i, n, nr)
		}
		if msg := err.Error(); !strings.Contains(msg, "0 of 1 replicas confirmed the take within 20ms: refused") || !strings.Contains(msg, "award_stock:1:2") {
			t.Fatalf("take %d: unclear message %q", i, msg)
		}
		if took < timeout {
			t.Fatalf("take %d answered in %v, before WAIT's %v", i, took, timeout)
		}
	}
	if granted != 0 {
		t.Fatalf("%d takes granted without a replica, want 0", granted)
	}
	// A missing key is reported as before.
	if _, taken, missing, err := r.Acquire(ctx, "award_stock:9:9", stock); err != nil || taken || !missing {
		t.Fatalf("Acquire of a missing key = %v, %v, %v; want missing", taken, missing, err)
	}
	// The script cache flushed: EVAL takes over inside the pipeline.
	if err := c.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Seed(ctx, "award_stock:1:3", 0); err != nil {
		t.Fatal(err)
	}
	if _, taken, _, err := r.Acquire(ctx, "award_stock:1:3", stock); taken || !errors.Is(err, counter.ErrNotReplicated) {
		t.Fatalf("Acquire after SCRIPT FLUSH = %v, %v; want refused", taken, err)
	}
	if v, _, err := r.Get(ctx, "award_stock:1:3"); err != nil || v != 1 {
		t.Fatalf("counter after the flushed-script take = %d, %v; want 1", v, err)
	}
}

// TestRedisReplicaAcksOff: the zero options (and an explicit 0) keep the plain
// counter: no WAIT, takes granted on a server without replicas.
func TestRedisReplicaAcksOff(t *testing.T) {
	c, prefix := redisxtest.New(t)
	ctx := context.Background()
	for _, r := range []*counter.Redis{counter.NewRedis(c, prefix), counter.NewRedis(c, prefix, counter.RedisOptions{ReplicaAckTimeout: time.Second})} {
		if acks, _ := r.ReplicaAcks(); acks != 0 {
			t.Fatalf("ReplicaAcks() = %d, want 0", acks)
		}
		r.Delete(ctx, "k")
		r.Seed(ctx, "k", 0)
		if _, taken, _, err := r.Acquire(ctx, "k", 1); err != nil || !taken {
			t.Fatalf("Acquire = %v, %v; want taken", taken, err)
		}
	}
	if _, wait := counter.NewRedis(c, prefix, counter.RedisOptions{ReplicaAcks: 1}).ReplicaAcks(); wait != counter.DefaultReplicaAckTimeout {
		t.Fatalf("default WAIT timeout = %v, want %v", wait, counter.DefaultReplicaAckTimeout)
	}
	if _, wait := counter.NewRedis(c, prefix, counter.RedisOptions{ReplicaAcks: 1, ReplicaAckTimeout: 1500 * time.Microsecond}).ReplicaAcks(); wait != 2*time.Millisecond {
		t.Fatalf("WAIT timeout of 1.5ms = %v, want it rounded up to 2ms", wait)
	}
}

// TestRedisClusterReplicaAcksContract runs the contract suite on the six-node
// Redis Cluster (one replica per master) with ReplicaAcks 1: with its replica
// up, every take is confirmed and the counter behaves as without the option.
func TestRedisClusterReplicaAcksContract(t *testing.T) {
	countertest.Run(t, func(t *testing.T) counter.Counter {
		c, prefix := cluster.New(t)
		return counter.NewRedis(c, prefix, counter.RedisOptions{ReplicaAcks: 1, ReplicaAckTimeout: time.Second})
	})
}

// BenchmarkRedisClusterAcquireReplicaAcks: takes through the ClusterClient with
// ReplicaAcks 1 (script and WAIT pipelined on the slot's master), the cost of
// the option against BenchmarkRedisClusterAcquire.
func BenchmarkRedisClusterAcquireReplicaAcks(b *testing.B) {
	rc, prefix := cluster.New(b)
	c := counter.NewRedis(rc, prefix, counter.RedisOptions{ReplicaAcks: 1, ReplicaAckTimeout: time.Second})
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

// isMoved reports a command the cluster redirected: nothing was written.
func isMoved(err error) bool {
	return redis.HasErrorPrefix(err, "MOVED") || redis.HasErrorPrefix(err, "ASK")
}

// TestRedisCheckReplicas: with ReplicaAcks, the start-up check warns about a
// server without enough replicas and about min-replicas-to-write below the
// acks; on a Cluster with one replica per master only the latter, unless the
// acks exceed the replicas. Without ReplicaAcks it says nothing.
func TestRedisCheckReplicas(t *testing.T) {
	ctx := context.Background()
	c, prefix := redisxtest.New(t)
	if w := counter.NewRedis(c, prefix).CheckReplicas(ctx); w != nil {
		t.Fatalf("warnings without replica acks: %q", w)
	}
	w := counter.NewRedis(c, prefix, counter.RedisOptions{ReplicaAcks: 1}).CheckReplicas(ctx)
	if len(w) != 2 || !strings.Contains(w[0], "0 connected replicas, fewer than redis.replica_acks 1: every stock take on it is refused") ||
		!strings.Contains(w[1], "min-replicas-to-write \"0\", below redis.replica_acks 1") {
		t.Fatalf("single server without replica: warnings %q", w)
	}

	cc, cprefix := cluster.New(t)
	w = counter.NewRedis(cc, cprefix, counter.RedisOptions{ReplicaAcks: 1}).CheckReplicas(ctx)
	if len(w) != 3 {
		t.Fatalf("cluster, 3 masters with min-replicas-to-write 0: warnings %q; want one per master", w)
	}
	for _, s := range w {
		if !strings.Contains(s, "min-replicas-to-write") {
			t.Fatalf("cluster warning %q, want only min-replicas-to-write ones", s)
		}
	}
	w = counter.NewRedis(cc, cprefix, counter.RedisOptions{ReplicaAcks: 2}).CheckReplicas(ctx)
	if n := len(w); n != 6 {
		t.Fatalf("cluster with replica acks 2: warnings %q; want 2 per master", w)
	}
}
