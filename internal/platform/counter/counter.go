// Package counter provides atomic named counters for stock: an in-process twin
// (Memory) and a Redis implementation, with one contract test suite for both.
//
// A stock counter holds how many units were taken; Acquire adds one only while the
// count is below a limit that the caller passes (the configured stock), so changing
// the stock needs no counter update and the counter can never exceed the limit.
//
// Keys are names chosen by the caller (e.g. "strategy:100006:award:101"); a
// missing key is reported, never created implicitly, so that after a cache loss
// the caller rebuilds it from durable facts instead of restarting from zero.
//
// # Rebuilding a lost counter: the fence
//
// A take is counted before the fact it pays for (an award record, a quota
// order) commits, so a rebuild that only counts committed facts would miss the
// takes still in flight. A rebuild therefore goes through a fence:
//
//  1. Fence(key, token, ttl) puts a marker where the counter was (only when the
//     key is missing). While the marker is there the key reads as missing:
//     every Acquire refuses (undersell, never oversell).
//  2. The caller waits out every transaction that may have taken from the lost
//     counter (bigmarket does it with a shared/exclusive lock in the database,
//     see store/fencedb) and counts the committed facts.
//  3. Install(key, token, n) turns the marker into a live counter holding n,
//     only if the marker is still the caller's: a marker lost or replaced in the
//     meantime (another cache loss, another rebuilder) makes Install a no-op.
//
// The ttl only bounds how long a rebuilder that died keeps the key fenced; the
// safety comes from the token check, not from time.
//
// # Replicas and failover
//
// Redis replicates asynchronously: a master that acknowledged a take and died
// before its replica copied it takes the take along, and the promoted replica
// holds a lower count that is still a live counter, so no rebuild happens and
// those units are sold twice (TestRedisClusterFailoverUnderLoad: 785 to 1890
// extra of 3000 with a lagging replica). Deployments with replicas (Redis
// Cluster, or a primary with replicas under Sentinel) make takes
// failover-safe with RedisOptions.ReplicaAcks (config redis.replica_acks): the
// take script and WAIT run in one pipeline on one connection to the key's
// master, and a take is granted only when WAIT counts that many replicas
// holding it. A take fewer replicas confirmed within the timeout is refused
// with a *NotReplicatedError (TakeRefused): its unit stays counted but is
// never granted, so whichever copy survives a failover holds at least every
// granted take (undersell, never oversell). The unit is not given back: a
// Release sent after a failover could reach a master that never had the take.
// The surplus units return at the next fenced rebuild (a cache loss, or an
// operator deleting the key), which counts only the durable facts.
//
// Set the servers' min-replicas-to-write (≥ ReplicaAcks) and a short
// min-replicas-max-lag too: a master without enough replicas then refuses the
// script before it writes (NOREPLICAS, an error: no unit burnt), where WAIT
// alone would count a unit per refused take until the replica is back. With
// more replicas than ReplicaAcks, Redis Cluster and Sentinel both promote the
// replica with the highest replication offset, which holds every confirmed
// take unless it was itself cut off; ReplicaAcks equal to the replica count
// removes that case. The option costs one WAIT per take (measured on loopback:
// see the report of BenchmarkRedisClusterAcquireReplicaAcks against
// BenchmarkRedisClusterAcquire), and during a slot migration a take on a
// migrating slot fails (the node pipeline follows no ASK) until it completes.
//
// Only takes need the acknowledgement. A lost Release or Delete leaves the
// counter too high (undersell); a lost Seed, Fence or Install leaves the key
// missing or fenced on the promoted replica, so takes are refused until the
// fence expires and a fenced rebuild counts the facts again.
//
// # Redis key layout
//
// Counter key K lives in one Redis string at "<prefix>counter:{K}" (prefix
// defaults to "bigmarket:"; see redisx.Key for the hash tag and escaping): a
// decimal integer with no TTL, or while fenced the marker "fence:<token>" with
// the fence's TTL. Every script touches only that key, so it works on Redis
// Cluster.
//
// The contract both implementations satisfy is in package countertest.
package counter

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Counter is an atomic named counter store. Implementations are safe for
// concurrent use.
type Counter interface {
	// Seed sets key to n if key does not exist (neither a counter nor a fence)
	// and reports whether it did. It does not fence: rebuild stock counters
	// with Fence and Install.
	Seed(ctx context.Context, key string, n int64) (bool, error)
	// Acquire adds one to key if its value is below limit, in one atomic step,
	// and returns the value after the call. taken reports success; missing
	// reports that key does not exist or is fenced, in which case nothing
	// changed (n is 0) and the caller should rebuild it.
	Acquire(ctx context.Context, key string, limit int64) (n int64, taken, missing bool, err error)
	// Get returns the value of key and whether it exists as a live counter (a
	// fenced key reads as missing).
	Get(ctx context.Context, key string) (int64, bool, error)
	// Delete removes keys (counters or fences); missing keys are ignored.
	Delete(ctx context.Context, keys ...string) error
	// Fence marks a missing key as being rebuilt by token, for at most ttl, and
	// reports whether it did; an existing counter or a live fence of anyone is
	// left alone (false).
	Fence(ctx context.Context, key, token string, ttl time.Duration) (bool, error)
	// Install sets key to the live value n if key is still fenced by token
	// (expired or not, as long as nobody replaced the marker), and reports
	// whether it did.
	Install(ctx context.Context, key, token string, n int64) (bool, error)
}

// Memory is the in-process Counter. The zero value is an empty store ready to
// use; NewMemory returns one too. Acquire is lock-free (a compare-and-swap loop)
// and allocation-free. Memory never returns errors; fences expire by the wall
// clock.
type Memory struct {
	m sync.Map // string -> *memCell
}

// memCell is a live counter (fence == "") or an immutable fence marker.
type memCell struct {
	n       atomic.Int64
	fence   string
	expires time.Time
}

func (c *memCell) live() bool { return c.fence == "" }

var _ Counter = (*Memory)(nil)

// NewMemory returns an empty in-process counter store.
func NewMemory() *Memory { return &Memory{} }

// load returns the cell of key or nil.
func (c *Memory) load(key string) *memCell {
	p, ok := c.m.Load(key)
	if !ok {
		return nil
	}
	return p.(*memCell)
}

// Seed implements Counter.
func (c *Memory) Seed(_ context.Context, key string, n int64) (bool, error) {
	if c.load(key) != nil {
		return false, nil // the common case after the first seed: no allocation
	}
	v := new(memCell)
	v.n.Store(n)
	_, loaded := c.m.LoadOrStore(key, v)
	return !loaded, nil
}

// Acquire implements Counter.
func (c *Memory) Acquire(_ context.Context, key string, limit int64) (int64, bool, bool, error) {
	v := c.load(key)
	if v == nil || !v.live() {
		return 0, false, true, nil
	}
	for {
		cur := v.n.Load()
		if cur >= limit {
			return cur, false, false, nil
		}
		if v.n.CompareAndSwap(cur, cur+1) {
			return cur + 1, true, false, nil
		}
	}
}

// Get implements Counter.
func (c *Memory) Get(_ context.Context, key string) (int64, bool, error) {
	v := c.load(key)
	if v == nil || !v.live() {
		return 0, false, nil
	}
	return v.n.Load(), true, nil
}

// Delete implements Counter.
func (c *Memory) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		c.m.Delete(k)
	}
	return nil
}

// Fence implements Counter.
func (c *Memory) Fence(_ context.Context, key, token string, ttl time.Duration) (bool, error) {
	f := &memCell{fence: token, expires: time.Now().Add(ttl)}
	for {
		old := c.load(key)
		switch {
		case old == nil:
			if _, loaded := c.m.LoadOrStore(key, f); !loaded {
				return true, nil
			}
		case old.live() || time.Now().Before(old.expires):
			return false, nil
		default: // an expired fence: its rebuilder died
			if c.m.CompareAndSwap(key, old, f) {
				return true, nil
			}
		}
	}
}

// Install implements Counter.
func (c *Memory) Install(_ context.Context, key, token string, n int64) (bool, error) {
	old := c.load(key)
	if old == nil || old.live() || old.fence != token {
		return false, nil
	}
	v := new(memCell)
	v.n.Store(n)
	return c.m.CompareAndSwap(key, old, v), nil
}
