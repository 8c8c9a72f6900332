package redisxtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/platform/redisx"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// ClusterOptions configures a local Redis Cluster started by StartCluster.
type ClusterOptions struct {
	// Masters is the number of masters; each gets one replica. Zero means 3
	// (six processes, the smallest cluster redis-cli --cluster create accepts
	// with one replica per master).
	Masters int
	// NodeTimeout is cluster-node-timeout: how long a master may be unreachable
	// before its replica takes over. Zero means 5 s (long enough that a loaded
	// test machine never triggers a failover by accident); failover tests set it
	// low, e.g. one second.
	NodeTimeout time.Duration
	// ServerArgs are passed to every redis-server after the options set here,
	// e.g. "--min-replicas-to-write", "1".
	ServerArgs []string
}

// Cluster is a Redis Cluster of local redis-server processes without
// persistence, in a temporary directory, for tests. Create it with StartCluster
// or through a ClusterHost; Close kills every process.
type Cluster struct {
	// Addrs are the host:port of every node, masters first as created.
	Addrs []string

	dir     string
	opts    ClusterOptions
	mu      sync.Mutex
	procs   map[string]*exec.Cmd // by address; nil once killed
	client  *redis.ClusterClient // for administration (Wait, MasterOf)
	stopped bool
}

// errNoRedisServer reports that the redis-server or redis-cli binary is missing.
var errNoRedisServer = errors.New("redis-server or redis-cli not found in PATH")

// StartCluster starts a cluster for one test and kills it when the test ends.
// Without redis-server the test is skipped, or failed when
// BIGMARKET_REQUIRE_SERVICES=1.
func StartCluster(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	c, err := startCluster(opts)
	if err != nil {
		skipOrFail(tb, err)
	}
	tb.Cleanup(c.Close)
	return c
}

func skipOrFail(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, errNoRedisServer) && !testsvc.Required() {
		tb.Skipf("redisxtest: %v; skipping the Redis Cluster test (install redis-server, or set BIGMARKET_REQUIRE_SERVICES=1 to fail instead)", err)
	}
	tb.Fatalf("redisxtest: start Redis Cluster: %v", err)
}

// ClusterHost starts one cluster on first use and shares it between the tests
// of a package, each with its own key prefix. The zero value is ready to use;
// the package's TestMain calls Close after m.Run.
type ClusterHost struct {
	// Options configure the cluster when it is started.
	Options ClusterOptions

	once sync.Once
	c    *Cluster
	err  error
}

// Cluster returns the shared cluster, starting it on the first call; without
// redis-server the test is skipped (or failed when required).
func (h *ClusterHost) Cluster(tb testing.TB) *Cluster {
	tb.Helper()
	h.once.Do(func() { h.c, h.err = startCluster(h.Options) })
	if h.err != nil {
		skipOrFail(tb, h.err)
	}
	return h.c
}

// New returns a cluster client for the shared cluster and a unique key prefix
// whose keys are deleted when the test ends, like the package-level New.
func (h *ClusterHost) New(tb testing.TB) (redis.UniversalClient, string) {
	tb.Helper()
	return h.Cluster(tb).New(tb)
}

// Close kills the shared cluster if it was started.
func (h *ClusterHost) Close() {
	if h.c != nil {
		h.c.Close()
	}
}

// New returns a client for c built by redisx.New from all its addresses (so a
// go-redis ClusterClient, as production builds it) and a unique key prefix. When
// the test ends, the prefix's keys are deleted on every master and the client
// is closed.
func (c *Cluster) New(tb testing.TB) (redis.UniversalClient, string) {
	tb.Helper()
	client := redisx.New(redisx.Config{Addrs: c.Addrs})
	prefix := testsvc.UniqueName("bmtest:") + ":"
	tb.Cleanup(func() {
		defer client.Close()
		if c.isStopped() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, client, prefix); err != nil {
			tb.Errorf("redisxtest: delete keys %s* on the cluster: %v", prefix, err)
		}
	})
	return client, prefix
}

func (c *Cluster) isStopped() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopped
}

// startCluster picks free ports, starts the processes, creates the cluster and
// waits until every node reports it healthy.
func startCluster(opts ClusterOptions) (_ *Cluster, err error) {
	server, err1 := exec.LookPath("redis-server")
	cli, err2 := exec.LookPath("redis-cli")
	if err1 != nil || err2 != nil {
		return nil, errNoRedisServer
	}
	if opts.Masters == 0 {
		opts.Masters = 3
	}
	if opts.NodeTimeout == 0 {
		opts.NodeTimeout = 5 * time.Second
	}
	dir, err := os.MkdirTemp("", "bmcluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, opts: opts, procs: map[string]*exec.Cmd{}}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	ports, err := freePorts(2 * opts.Masters)
	if err != nil {
		return nil, err
	}
	for _, p := range ports {
		addr := "127.0.0.1:" + strconv.Itoa(p)
		c.Addrs = append(c.Addrs, addr)
		if err := c.startNode(server, addr); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, addr := range c.Addrs {
		if err := waitPing(ctx, addr); err != nil {
			return nil, err
		}
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v: %s", err, out)
	}
	c.client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	if err := c.WaitHealthy(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// startNode starts (or restarts) the redis-server of addr with its own
// cluster config file in the cluster's directory and no persistence.
func (c *Cluster) startNode(server, addr string) error {
	_, port, _ := net.SplitHostPort(addr)
	nodeDir := filepath.Join(c.dir, port)
	if err := os.MkdirAll(nodeDir, 0o755); err != nil {
		return err
	}
	args := []string{
		"--bind", "127.0.0.1", "--port", port,
		"--cluster-enabled", "yes",
		"--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
		"--cluster-node-timeout", strconv.FormatInt(c.opts.NodeTimeout.Milliseconds(), 10),
		"--cluster-replica-validity-factor", "0", // a replica may always take over
		"--dir", nodeDir, "--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(nodeDir, "redis.log"),
	}
	cmd := exec.Command(server, append(args, c.opts.ServerArgs...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start redis-server on %s: %w", addr, err)
	}
	go cmd.Wait() // reap the process whenever it ends
	c.mu.Lock()
	c.procs[addr] = cmd
	c.mu.Unlock()
	return nil
}

// Close kills every node and removes the cluster's directory.
func (c *Cluster) Close() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	procs := c.procs
	c.procs = map[string]*exec.Cmd{}
	c.mu.Unlock()
	if c.client != nil {
		c.client.Close()
	}
	for _, p := range procs {
		if p != nil && p.Process != nil {
			p.Process.Kill()
		}
	}
	os.RemoveAll(c.dir)
}

// Kill sends SIGKILL to the node at addr: it loses everything it held (no
// persistence), as a crashed machine would.
func (c *Cluster) Kill(addr string) error {
	c.mu.Lock()
	p := c.procs[addr]
	c.procs[addr] = nil
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("redisxtest: no running node at %s", addr)
	}
	return p.Process.Signal(syscall.SIGKILL)
}

// Pause stops the node at addr with SIGSTOP: it neither answers nor reads
// its replication stream until Resume, as a frozen machine would.
func (c *Cluster) Pause(addr string) error { return c.signal(addr, syscall.SIGSTOP) }

// Resume continues a node stopped by Pause.
func (c *Cluster) Resume(addr string) error { return c.signal(addr, syscall.SIGCONT) }

func (c *Cluster) signal(addr string, sig syscall.Signal) error {
	c.mu.Lock()
	p := c.procs[addr]
	c.mu.Unlock()
	if p == nil {
		return fmt.Errorf("redisxtest: no running node at %s", addr)
	}
	return p.Process.Signal(sig)
}

// Rejoin brings the killed node at addr back as a fresh, empty node that
// replicates master: every other node forgets the dead node's id, the new
// process starts without the old cluster config file, meets the cluster and
// becomes master's replica. It returns once the cluster is healthy again.
//
// Restarting the node with its old cluster config file instead would let it
// claim its former slots, with an empty dataset, until gossip demotes it:
// clients would briefly read missing keys there and lose what they wrote.
func (c *Cluster) Rejoin(ctx context.Context, addr, master string) error {
	server, err := exec.LookPath("redis-server")
	if err != nil {
		return errNoRedisServer
	}
	masterID, oldID, err := c.nodeIDs(ctx, master, addr)
	if err != nil {
		return err
	}
	for _, a := range c.running() {
		n := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		err := n.ClusterForget(ctx, oldID).Err()
		n.Close()
		if err != nil {
			return fmt.Errorf("cluster forget %s on %s: %w", oldID, a, err)
		}
	}
	_, port, _ := net.SplitHostPort(addr)
	if err := os.RemoveAll(filepath.Join(c.dir, port)); err != nil {
		return err
	}
	if err := c.startNode(server, addr); err != nil {
		return err
	}
	if err := waitPing(ctx, addr); err != nil {
		return err
	}
	n := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer n.Close()
	host, mport, _ := net.SplitHostPort(master)
	if err := n.ClusterMeet(ctx, host, mport).Err(); err != nil {
		return fmt.Errorf("cluster meet from %s: %w", addr, err)
	}
	for { // CLUSTER REPLICATE needs the master known first
		err := n.ClusterReplicate(ctx, masterID).Err()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster replicate %s from %s: %w", masterID, addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return c.WaitHealthy(ctx)
}

// nodeIDs returns the cluster node ids of the nodes at addrs, as the first
// running node reports them.
func (c *Cluster) nodeIDs(ctx context.Context, addrs ...string) (string, string, error) {
	run := c.running()
	if len(run) == 0 {
		return "", "", errors.New("no running node")
	}
	n := redis.NewClient(&redis.Options{Addr: run[0], MaxRetries: -1})
	defer n.Close()
	out, err := n.ClusterNodes(ctx).Result()
	if err != nil {
		return "", "", fmt.Errorf("cluster nodes: %w", err)
	}
	ids := make([]string, len(addrs))
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		for i, a := range addrs {
			if strings.HasPrefix(f[1], a+"@") {
				ids[i] = f[0]
			}
		}
	}
	for i, id := range ids {
		if id == "" {
			return "", "", fmt.Errorf("no node at %s in CLUSTER NODES:\n%s", addrs[i], out)
		}
	}
	return ids[0], ids[1], nil
}

func (c *Cluster) running() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, a := range c.Addrs {
		if c.procs[a] != nil {
			out = append(out, a)
		}
	}
	return out
}

// MasterOf returns the address of the master that serves key's slot, as the
// cluster reports it now.
func (c *Cluster) MasterOf(ctx context.Context, key string) (string, error) {
	slot, err := c.client.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		return "", fmt.Errorf("cluster keyslot: %w", err)
	}
	return c.roleOf(ctx, slot)
}

// ReplicaOf returns the address of a connected replica of the master that
// serves key's slot, as that master reports it (ROLE).
func (c *Cluster) ReplicaOf(ctx context.Context, key string) (string, error) {
	master, err := c.MasterOf(ctx, key)
	if err != nil {
		return "", err
	}
	n := redis.NewClient(&redis.Options{Addr: master, MaxRetries: -1})
	defer n.Close()
	v, err := n.Do(ctx, "ROLE").Slice()
	if err != nil {
		return "", fmt.Errorf("role of %s: %w", master, err)
	}
	if len(v) > 2 {
		if reps, _ := v[2].([]any); len(reps) > 0 {
			if r, _ := reps[0].([]any); len(r) >= 2 {
				host, _ := r[0].(string)
				port, _ := r[1].(string)
				return net.JoinHostPort(host, port), nil
			}
		}
	}
	return "", fmt.Errorf("master %s reports no replica: %v", master, v)
}

func (c *Cluster) roleOf(ctx context.Context, slot int64) (string, error) {
	c.client.ReloadState(ctx)
	slots, err := c.client.ClusterSlots(ctx).Result()
	if err != nil {
		return "", fmt.Errorf("cluster slots: %w", err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			return s.Nodes[0].Addr, nil
		}
	}
	return "", fmt.Errorf("slot %d is served by no node", slot)
}

// Role returns what the node at addr says it is ("master" or "slave").
func (c *Cluster) Role(ctx context.Context, addr string) (string, error) {
	n := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	defer n.Close()
	v, err := n.Do(ctx, "ROLE").Slice()
	if err != nil {
		return "", err
	}
	if len(v) == 0 {
		return "", errors.New("empty ROLE reply")
	}
	role, _ := v[0].(string)
	return role, nil
}

// WaitHealthy waits until every running node reports cluster_state:ok, knows
// every other node and sees all 16384 slots assigned, and every master has a
// connected replica.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	var last string
	for {
		ok, why := c.healthy(ctx)
		if ok {
			return nil
		}
		last = why
		select {
		case <-ctx.Done():
			return fmt.Errorf("redisxtest: cluster not healthy: %s", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *Cluster) healthy(ctx context.Context) (bool, string) {
	masters := 0
	for _, a := range c.running() {
		n := redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		info, err := n.ClusterInfo(ctx).Result()
		role := ""
		if err == nil {
			var v []any
			if v, err = n.Do(ctx, "ROLE").Slice(); err == nil && len(v) > 0 {
				role, _ = v[0].(string)
				if role == "master" && len(v) > 2 {
					if reps, _ := v[2].([]any); len(reps) == 0 {
						err = errors.New("master without a connected replica")
					}
				}
			}
		}
		n.Close()
		if err != nil {
			return false, a + ": " + err.Error()
		}
		if role == "master" {
			masters++
		}
		for _, want := range []string{
			"cluster_state:ok",
			"cluster_slots_ok:16384",
			"cluster_known_nodes:" + strconv.Itoa(len(c.Addrs)),
		} {
			if !strings.Contains(info, want) {
				return false, a + ": cluster info lacks " + want
			}
		}
	}
	if masters != c.opts.Masters {
		return false, fmt.Sprintf("%d masters, want %d", masters, c.opts.Masters)
	}
	return true, ""
}

// waitPing waits until the server at addr answers PING.
func waitPing(ctx context.Context, addr string) error {
	n := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer n.Close()
	for {
		err := n.Ping(ctx).Err()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis-server on %s did not start: %w", addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// freePorts returns n distinct ports p such that both p and its cluster bus
// port p+10000 can be bound now on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for try := 0; len(out) < n && try < 1000; try++ {
		// Below Linux's ephemeral range (32768 and up by default), node and
		// bus port both: a port found free there could be taken by any
		// process's outgoing connection before redis-server binds it (seen:
		// the node never started).
		p := 12000 + rand.IntN(10000)
		if seen[p] || seen[p+10000] || seen[p-10000] {
			continue
		}
		if canBind(p) && canBind(p+10000) {
			seen[p] = true
			out = append(out, p)
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("found only %d free port pairs of %d", len(out), n)
	}
	return out, nil
}

func canBind(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// LogTail returns the end of the log of the node at addr, for test failure
// messages.
func (c *Cluster) LogTail(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	b, err := os.ReadFile(filepath.Join(c.dir, port, "redis.log"))
	if err != nil {
		return err.Error()
	}
	if i := len(b) - 2000; i > 0 {
		b = b[i:]
	}
	return string(bytes.TrimSpace(b))
}
