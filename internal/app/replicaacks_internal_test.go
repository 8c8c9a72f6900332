package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
)

// TestNewCounterReplicaAcks: redis.replica_acks and redis.replica_ack_timeout
// reach the Redis counter, and the start-up check logs that the (replica-less)
// test server cannot confirm takes; the counter then refuses them.
func TestNewCounterReplicaAcks(t *testing.T) {
	rc, prefix := redisxtest.New(t)
	cfg := config.Default()
	cfg.Redis.Addrs = []string{rc.(*redis.Client).Options().Addr}
	cfg.Redis.Prefix = prefix
	cfg.Redis.ReplicaAcks = 1
	cfg.Redis.ReplicaAckTimeout = 10 * time.Millisecond
	ctr, client := newCounter(cfg)
	defer client.Close()
	r, ok := ctr.(*counter.Redis)
	if !ok {
		t.Fatalf("newCounter = %T, want *counter.Redis", ctr)
	}
	if acks, wait := r.ReplicaAcks(); acks != 1 || wait != 10*time.Millisecond {
		t.Fatalf("ReplicaAcks() = %d, %v; want 1, 10ms", acks, wait)
	}
	var logs bytes.Buffer
	checkReplicaAcks(context.Background(), ctr, slog.New(slog.NewTextHandler(&logs, nil)))
	if !strings.Contains(logs.String(), "fewer than redis.replica_acks 1") {
		t.Fatalf("start-up log %q does not warn about the missing replica", logs.String())
	}
	ctx := context.Background()
	if _, err := ctr.Seed(ctx, "k", 0); err != nil {
		t.Fatal(err)
	}
	if _, taken, _, err := ctr.Acquire(ctx, "k", 10); taken || !errors.Is(err, counter.ErrNotReplicated) {
		t.Fatalf("Acquire = %v, %v; want refused", taken, err)
	}
}
