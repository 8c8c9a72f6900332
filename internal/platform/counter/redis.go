package counter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
)

// Namespace is the part of a Redis key between the configured prefix and the
// hash-tagged counter name: a counter named "s:1" lives at
// "<prefix>counter:{s:1}".
const Namespace = "counter:"

// fencePrefix starts the value of a fenced key: "fence:<token>".
const fencePrefix = "fence:"

// acquireSrc adds one to KEYS[1] when it is a live counter below ARGV[1]. It
// returns {-1, 0} when the key is missing or fenced, {1, n} when taken (n the
// new value), {0, n} when at the limit. A value that is neither a number nor a
// fence is an error.
const acquireSrc = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 6) == 'fence:' then return {-1, 0} end
local n = tonumber(v)
if not n then return redis.error_reply('counter: value is not an integer') end
if n < tonumber(ARGV[1]) then
  return {1, redis.call('INCR', KEYS[1])}
end
return {0, n}
`

// installSrc sets KEYS[1] to ARGV[2] (no TTL) when it holds the marker ARGV[1].
const installSrc = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return 1
end
return 0
`

// Redis is the Counter backed by Redis (standalone or Cluster). Each counter is
// one string key holding a decimal integer, at redisx.Key(prefix+Namespace,
// key); Acquire is one Lua script over that single key, so it is atomic and
// cluster-safe. Keys have no TTL: a counter lives until Delete (or a cache loss,
// after which the caller Seeds it again from durable facts).
//
// With RedisOptions.ReplicaAcks set, a take is granted only once that many
// replicas hold it (see RedisOptions and the package doc).
//
// Errors returned are those of the Redis client (redis.Nil never escapes),
// wrapped with the operation and key, and *NotReplicatedError. Redis is safe
// for concurrent use.
type Redis struct {
	c       redis.UniversalClient
	prefix  string
	acquire *redis.Script
	install *redis.Script
	acks    int           // replicas that must confirm a take; 0: none
	ackWait time.Duration // WAIT's timeout when acks > 0
	pipe    *takePipe     // concurrent takes in pipelines (acks == 0)
}

// DefaultReplicaAckTimeout is RedisOptions.ReplicaAckTimeout's zero value.
const DefaultReplicaAckTimeout = 100 * time.Millisecond

// RedisOptions tunes a Redis counter. The zero value is the plain counter:
// a take is granted as soon as the master answers.
type RedisOptions struct {
	// ReplicaAcks is how many replicas must confirm a take before Acquire
	// grants it: the script and a WAIT ReplicaAcks ReplicaAckTimeout run in one
	// pipeline on one connection to the key's master (ClusterClient: the
	// slot's master; Client: its server, e.g. a Sentinel failover client's
	// current primary). Fewer confirmations in time refuse the take with a
	// *NotReplicatedError: the unit stays counted and is not granted
	// (undersell), so that a failover to a replica that lacks it cannot sell it
	// again. Zero (the default) or less means no WAIT: a take acknowledged by a
	// master that dies before its replica copied it is lost, and sold twice.
	ReplicaAcks int
	// ReplicaAckTimeout bounds each WAIT. Zero or less means
	// DefaultReplicaAckTimeout. It is rounded up to a millisecond (WAIT 0
	// would block for ever) and must stay below the client's read timeout
	// (go-redis: 3 s by default).
	ReplicaAckTimeout time.Duration
}

// ErrNotReplicated is the sentinel a *NotReplicatedError matches with
// errors.Is.
var ErrNotReplicated = errors.New("counter: take not confirmed by enough replicas")

// NotReplicatedError reports a take refused because fewer than Want replicas
// confirmed it within Timeout (RedisOptions.ReplicaAcks). Nothing was granted:
// the unit stays counted by the master (it may survive a failover or not), so
// the counter may stand above the facts by the refused takes (undersell,
// never oversell). A later fenced rebuild (after a cache loss) counts only the
// facts and so gives those units back.
type NotReplicatedError struct {
	Key       string        // the counter key (not the Redis key)
	Want, Got int           // replicas wanted and confirmed
	Timeout   time.Duration // WAIT's timeout
	Err       error         // WAIT's own error when it failed (Got is then 0), else nil
}

// Error implements error.
func (e *NotReplicatedError) Error() string {
	msg := fmt.Sprintf("counter acquire: key[%s]: %d of %d replicas confirmed the take within %s: refused", e.Key, e.Got, e.Want, e.Timeout)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns WAIT's own error, if any.
func (e *NotReplicatedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrNotReplicated) true.
func (e *NotReplicatedError) Is(target error) bool { return target == ErrNotReplicated }

// TakeRefused reports true: the take was refused and nothing was granted. The
// stock code, which must not import this package, recognises the refusal by
// this method (an interface{ TakeRefused() bool } with errors.As) and treats
// it like a take at the limit, not as a failure of its dependencies.
func (e *NotReplicatedError) TakeRefused() bool { return true }

var _ Counter = (*Redis)(nil)

// NewRedis returns a Counter storing its keys in c under prefix (e.g.
// redisx.Config.KeyPrefix()); an empty prefix means redisx.DefaultPrefix. The
// caller keeps ownership of c. opts is at most one RedisOptions (the last one
// wins); none means the zero RedisOptions. ReplicaAcks needs c to be a
// *redis.Client or a *redis.ClusterClient (other clients fail every Acquire).
func NewRedis(c redis.UniversalClient, prefix string, opts ...RedisOptions) *Redis {
	if prefix == "" {
		prefix = redisx.DefaultPrefix
	}
	r := &Redis{c: c, prefix: prefix + Namespace, acquire: redis.NewScript(acquireSrc), install: redis.NewScript(installSrc)}
	r.pipe = newTakePipe(r)
	if len(opts) > 0 {
		o := opts[len(opts)-1]
		if o.ReplicaAcks > 0 {
			r.acks = o.ReplicaAcks
			r.ackWait = o.ReplicaAckTimeout
			if r.ackWait <= 0 {
				r.ackWait = DefaultReplicaAckTimeout
			}
			r.ackWait = (r.ackWait + time.Millisecond - 1).Truncate(time.Millisecond)
		}
	}
	return r
}

// ReplicaAcks returns the replicas that must confirm a take (0: none) and
// WAIT's timeout.
func (r *Redis) ReplicaAcks() (int, time.Duration) { return r.acks, r.ackWait }

// Key returns the Redis key that holds counter key.
func (r *Redis) Key(key string) string { return redisx.Key(r.prefix, key) }

// Seed implements Counter with SET NX.
func (r *Redis) Seed(ctx context.Context, key string, n int64) (bool, error) {
	ok, err := r.c.SetNX(ctx, r.Key(key), n, 0).Result()
	if err != nil {
		return false, fmt.Errorf("counter seed: key[%s]: %w", key, err)
	}
	return ok, nil
}

// Acquire implements Counter with one Lua script (EVALSHA, falling back to
// EVAL when the script cache was flushed). Concurrent takes share pipelines:
// the takes queued while one pipeline is in flight go in the next (see
// takePipe). With RedisOptions.ReplicaAcks, each take runs on its own: the
// script and a WAIT share one pipeline on the key's master, and a take fewer
// replicas confirmed returns taken false with a *NotReplicatedError (n the
// value after the take).
func (r *Redis) Acquire(ctx context.Context, key string, limit int64) (int64, bool, bool, error) {
	if r.acks > 0 {
		return r.acquireAcked(ctx, key, limit)
	}
	res, err := r.pipe.acquire(ctx, key, limit)
	if err != nil {
		return 0, false, false, fmt.Errorf("counter acquire: key[%s]: %w", key, err)
	}
	return acquireResult(key, res)
}

// acquireResult reads the acquire script's answer.
func acquireResult(key string, res []int64) (int64, bool, bool, error) {
	if len(res) != 2 {
		return 0, false, false, fmt.Errorf("counter acquire: key[%s]: unexpected script result %v", key, res)
	}
	switch res[0] {
	case 1:
		return res[1], true, false, nil
	case 0:
		return res[1], false, false, nil
	case -1:
		return 0, false, true, nil
	}
	return 0, false, false, fmt.Errorf("counter acquire: key[%s]: unexpected script result %v", key, res)
}

// acquireAcked is Acquire followed by WAIT on the same connection. WAIT
// blocks until the replicas acknowledged every write the connection made, so
// script and WAIT must share the connection: a pipeline of a node client does
// (a ClusterClient would send the keyless WAIT to a random node). When the
// script did not write (at the limit, missing), WAIT's answer is ignored; it
// still waits, up to its timeout, while fewer than ReplicaAcks replicas hold
// the connection's earlier writes (always, on a master without replicas).
func (r *Redis) acquireAcked(ctx context.Context, key string, limit int64) (int64, bool, bool, error) {
	rkey := r.Key(key)
	node, err := r.master(ctx, rkey)
	if err != nil {
		return 0, false, false, fmt.Errorf("counter acquire: key[%s]: %w", key, err)
	}
	res, acks, waitErr, err := r.evalWait(ctx, node, rkey, limit, false)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		res, acks, waitErr, err = r.evalWait(ctx, node, rkey, limit, true)
	}
	if err != nil {
		if cc, ok := r.c.(*redis.ClusterClient); ok && !isScriptError(err) {
			// A node client follows no MOVED or ASK, and a dead master
			// answers nothing: have the slot map reloaded (at most one reload
			// runs at a time) rather than wait for the periodic one.
			cc.ReloadState(ctx)
		}
		return 0, false, false, fmt.Errorf("counter acquire: key[%s]: %w", key, err)
	}
	n, taken, missing, err := acquireResult(key, res)
	if err != nil || !taken {
		return n, taken, missing, err
	}
	if acks < int64(r.acks) {
		return n, false, false, &NotReplicatedError{Key: key, Want: r.acks, Got: int(acks), Timeout: r.ackWait, Err: waitErr}
	}
	return n, true, false, nil
}

// evalWait runs the acquire script (EVALSHA, or EVAL when eval) and WAIT in one
// pipeline on node, and returns the script's answer and the replicas WAIT
// counted. A WAIT that failed after a script that ran counts 0 replicas and
// its error is returned as waitErr; err is the script's.
func (r *Redis) evalWait(ctx context.Context, node *redis.Client, rkey string, limit int64, eval bool) (res []int64, acks int64, waitErr, err error) {
	var script *redis.Cmd
	var wait *redis.Cmd
	// Each command's own error is read below; Pipelined's is the first of them.
	_, _ = node.Pipelined(ctx, func(p redis.Pipeliner) error {
		if eval {
			script = r.acquire.Eval(ctx, p, []string{rkey}, limit)
		} else {
			script = r.acquire.EvalSha(ctx, p, []string{rkey}, limit)
		}
		wait = p.Do(ctx, "WAIT", r.acks, r.ackWait.Milliseconds())
		return nil
	})
	if res, err = script.Int64Slice(); err != nil {
		return nil, 0, nil, err
	}
	if acks, waitErr = wait.Int64(); waitErr != nil {
		return res, 0, fmt.Errorf("WAIT: %w", waitErr), nil
	}
	return res, acks, nil, nil
}

// isScriptError reports an error the acquire script itself raised (a value
// that is not an integer): the node answered and owns the key.
func isScriptError(err error) bool {
	return strings.Contains(err.Error(), "counter: value is not an integer")
}

// master returns the client of the server that holds rkey as master: the
// slot's master for a ClusterClient, the client itself for a Client.
func (r *Redis) master(ctx context.Context, rkey string) (*redis.Client, error) {
	switch c := r.c.(type) {
	case *redis.Client:
		return c, nil
	case *redis.ClusterClient:
		node, err := c.MasterForKey(ctx, rkey)
		if err != nil {
			return nil, fmt.Errorf("master of the key's slot: %w", err)
		}
		return node, nil
	}
	return nil, fmt.Errorf("replica acks need a *redis.Client or *redis.ClusterClient, not %T", r.c)
}

// Get implements Counter.
func (r *Redis) Get(ctx context.Context, key string) (int64, bool, error) {
	s, err := r.c.Get(ctx, r.Key(key)).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("counter get: key[%s]: %w", key, err)
	}
	if strings.HasPrefix(s, fencePrefix) {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("counter get: key[%s]: %w", key, err)
	}
	return n, true, nil
}

// Delete implements Counter. Keys are deleted with one DEL each, pipelined, so
// that keys of different cluster slots never meet in one command.
func (r *Redis) Delete(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	cmds, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Del(ctx, r.Key(k))
		}
		return nil
	})
	if err != nil {
		for i, c := range cmds {
			if c.Err() != nil {
				return fmt.Errorf("counter delete: key[%s]: %w", keys[i], c.Err())
			}
		}
		return fmt.Errorf("counter delete: %d keys: %w", len(keys), err)
	}
	return nil
}

// Fence implements Counter with SET NX PX: the marker "fence:<token>" expires
// after ttl (rounded up to a millisecond; ≤ 0 means one minute).
func (r *Redis) Fence(ctx context.Context, key, token string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		ttl = time.Minute
	}
	ok, err := r.c.SetNX(ctx, r.Key(key), fencePrefix+token, max(ttl, time.Millisecond)).Result()
	if err != nil {
		return false, fmt.Errorf("counter fence: key[%s]: %w", key, err)
	}
	return ok, nil
}

// Install implements Counter with one Lua script comparing the marker and
// setting the value (which also drops the marker's TTL).
func (r *Redis) Install(ctx context.Context, key, token string, n int64) (bool, error) {
	res, err := r.install.Run(ctx, r.c, []string{r.Key(key)}, fencePrefix+token, n).Int64()
	if err != nil {
		return false, fmt.Errorf("counter install: key[%s]: %w", key, err)
	}
	return res == 1, nil
}

// CheckReplicas reads, on every master, what ReplicaAcks relies on and returns
// one warning (a sentence) per problem, for the caller to log at start: a
// master with fewer connected replicas than ReplicaAcks (every take on it is
// refused until enough replicas connect), and a min-replicas-to-write below
// ReplicaAcks (a take WAIT does not confirm still counts its unit: undersell
// until a rebuild; with min-replicas-to-write the master refuses the take
// before writing). Without ReplicaAcks it returns nil. A server that cannot be
// read gives a warning, never an error; CheckReplicas changes nothing.
func (r *Redis) CheckReplicas(ctx context.Context) []string {
	if r.acks <= 0 {
		return nil
	}
	var (
		mu       sync.Mutex // ForEachMaster calls check concurrently
		warnings []string
	)
	warn := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		warnings = append(warnings, fmt.Sprintf(format, args...))
	}
	check := func(ctx context.Context, node *redis.Client) error {
		addr := node.Options().Addr
		info, err := node.Info(ctx, "replication").Result()
		if err != nil {
			warn("redis: replicas of %s not checked: %v", addr, err)
			return nil
		}
		if n, ok := infoInt(info, "connected_slaves"); !ok {
			warn("redis: %s reports no connected_slaves in INFO replication; redis.replica_acks %d needs that many replicas", addr, r.acks)
		} else if n < r.acks {
			warn("redis: %s has %d connected replicas, fewer than redis.replica_acks %d: every stock take on it is refused until enough replicas connect", addr, n, r.acks)
		}
		m, err := node.ConfigGet(ctx, "min-replicas-to-write").Result()
		if err != nil {
			warn("redis: min-replicas-to-write of %s not read (%v); set it to at least redis.replica_acks %d", addr, err, r.acks)
			return nil
		}
		if n, err := strconv.Atoi(m["min-replicas-to-write"]); err != nil || n < r.acks {
			warn("redis: %s runs min-replicas-to-write %q, below redis.replica_acks %d: while replicas are missing or lagging, each take WAIT does not confirm still counts its unit (undersell until the counter is rebuilt); set min-replicas-to-write %d and a short min-replicas-max-lag", addr, m["min-replicas-to-write"], r.acks, r.acks)
		}
		return nil
	}
	var err error
	switch c := r.c.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, check)
	case *redis.Client:
		err = check(ctx, c)
	default:
		err = fmt.Errorf("replica acks need a *redis.Client or *redis.ClusterClient, not %T", r.c)
	}
	if err != nil {
		warn("redis: replicas not checked: %v", err)
	}
	return warnings
}

// infoInt reads the integer field name of an INFO answer.
func infoInt(info, name string) (int, bool) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}
