package faultsuite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/lease"
	"github.com/bigmarket/bigmarket/internal/platform/redisx"
)

// fleetRetention is the outbox retention of the fleet's instances: short, so
// that the purge job (every retention/2, lease 3 × that) runs and changes
// hands within the test.
const fleetRetention = 10 * time.Second

// fleetJob is a job that runs on one instance of the fleet at a time, under a
// Redis lease (internal/platform/lease), with the lease's TTL and the job's
// period as the instances of the fleet test configure them (internal/app's
// Start, the suite's deliveryConfig, fleetRetention).
type fleetJob struct {
	name       string
	ttl, every time.Duration
}

var fleetJobs = []fleetJob{
	{outbox.DefaultRetryName, 3 * outbox.DefaultRetryEvery, outbox.DefaultRetryEvery},
	{"reconcile", time.Minute, time.Second}, // max(3 × reconcile.every, 1m)
	{"outbox-purge", 3 * outbox.PurgeEvery(fleetRetention), outbox.PurgeEvery(fleetRetention)},
	{"exchange-sweep", 3 * time.Minute, time.Minute},
}

// holder is an owner of a lease seen from a time on ("" when the key was
// absent).
type holder struct {
	owner string
	since time.Time
}

// leaseWatch samples the fleet's lease keys in Redis and keeps, per lease, the
// sequence of owners seen.
type leaseWatch struct {
	t    *testing.T
	c    redis.UniversalClient
	keys map[string]string // lease name → key

	mu      sync.Mutex
	samples int
	seen    map[string][]holder
	stop    chan struct{}
	done    chan struct{}
}

// watchLeases prepares a watch of the world's lease keys; run starts sampling.
func watchLeases(t *testing.T, w *world) *leaseWatch {
	t.Helper()
	c := redisx.New(redisx.Config{Addrs: []string{w.env["BIGMARKET_REDIS_ADDRS"]}})
	t.Cleanup(func() { c.Close() })
	l := lease.NewRedis(c, redisx.Config{Prefix: w.env["BIGMARKET_REDIS_PREFIX"]}.KeyPrefix())
	lw := &leaseWatch{t: t, c: c, keys: map[string]string{}, seen: map[string][]holder{},
		stop: make(chan struct{}), done: make(chan struct{})}
	for _, j := range fleetJobs {
		lw.keys[j.name] = l.Key(j.name)
	}
	return lw
}

// sample reads every lease key once and records owner changes.
func (lw *leaseWatch) sample() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	now := time.Now()
	owners := map[string]string{}
	for name, key := range lw.keys {
		v, err := lw.c.Get(ctx, key).Result()
		if err != nil && err != redis.Nil {
			return fmt.Errorf("lease %s: GET %s: %w", name, key, err)
		}
		owners[name] = v
	}
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.samples++
	for name, o := range owners {
		h := lw.seen[name]
		if len(h) == 0 || h[len(h)-1].owner != o {
			lw.seen[name] = append(h, holder{owner: o, since: now})
		}
	}
	return nil
}

// held returns the current owner of every lease, or nil when a lease is not
// held.
func (lw *leaseWatch) held() map[string]string {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	out := map[string]string{}
	for _, j := range fleetJobs {
		h := lw.seen[j.name]
		if len(h) == 0 || h[len(h)-1].owner == "" {
			return nil
		}
		out[j.name] = h[len(h)-1].owner
	}
	return out
}

// waitHeld samples until every lease is held and returns the owners, failing t
// after limit.
func (lw *leaseWatch) waitHeld(limit time.Duration) map[string]string {
	lw.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if err := lw.sample(); err != nil {
			lw.t.Fatal(err)
		}
		if h := lw.held(); h != nil {
			return h
		}
		if time.Now().After(deadline) {
			lw.mu.Lock()
			defer lw.mu.Unlock()
			lw.t.Fatalf("leases not all held %s after the first instance started: %v", limit, lw.seen)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run samples every 100 ms until finish.
func (lw *leaseWatch) run() {
	go func() {
		defer close(lw.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-lw.stop:
				return
			case <-tick.C:
				if err := lw.sample(); err != nil {
					lw.t.Errorf("lease watch: %v", err)
					return
				}
			}
		}
	}()
}

// finish stops sampling.
func (lw *leaseWatch) finish() {
	close(lw.stop)
	<-lw.done
}

// takenOver reports whether every lease has, since killed, an owner other than
// first's.
func (lw *leaseWatch) takenOver(first map[string]string) bool {
	h := lw.held()
	if h == nil {
		return false
	}
	for name, o := range h {
		if o == first[name] {
			return false
		}
	}
	return true
}

// takeover is what a lease's history says about the kill of its holder.
type takeover struct {
	job     fleetJob
	after   time.Duration // from the kill until another owner held the lease
	changes int           // owner changes in the whole run (want 1)
}

// check fails t unless, for every lease, the owners seen were first's (the
// killed instance's) until the kill and exactly one other owner from some time
// after it, taken within the lease's TTL plus the job's period (an expired
// lease is taken at the next tick of a survivor): never a change while a holder
// lived, so never two runners of a job. A gap (no owner) is allowed only
// between the holder's death and the takeover.
func (lw *leaseWatch) check(first map[string]string, killed time.Time) []takeover {
	lw.t.Helper()
	lw.mu.Lock()
	defer lw.mu.Unlock()
	var out []takeover
	for _, j := range fleetJobs {
		var owners []holder
		for _, h := range lw.seen[j.name] {
			if h.owner != "" {
				owners = append(owners, h)
			} else if len(owners) > 0 && h.since.Before(killed) { // not before the first instance took it
				lw.t.Errorf("lease %s: not held at %s, before its holder was killed", j.name, h.since.Format(time.TimeOnly))
			}
		}
		tk := takeover{job: j, changes: len(owners) - 1}
		switch {
		case len(owners) == 0 || owners[0].owner != first[j.name]:
			lw.t.Errorf("lease %s: first owners seen %v, want %s (the first instance)", j.name, owners, first[j.name])
		case len(owners) == 1:
			lw.t.Errorf("lease %s: still held by the killed instance's owner %s, %s after the kill (TTL %s)", j.name, first[j.name], time.Since(killed).Round(time.Second), j.ttl)
		default:
			tk.after = owners[1].since.Sub(killed)
			if owners[1].since.Before(killed) {
				lw.t.Errorf("lease %s: owner changed from %s to %s at %s, before its holder was killed: two runners", j.name, owners[0].owner, owners[1].owner, owners[1].since.Format(time.TimeOnly))
			}
			if limit := j.ttl + j.every + 3*time.Second; tk.after > limit {
				lw.t.Errorf("lease %s: taken over %s after the holder's kill, want within TTL %s + period %s", j.name, tk.after.Round(time.Millisecond), j.ttl, j.every)
			}
			if len(owners) > 2 {
				lw.t.Errorf("lease %s: owners %v: changed hands while its holder lived (two runners)", j.name, owners)
			}
		}
		out = append(out, tk)
	}
	lw.t.Logf("lease watch: %d samples", lw.samples)
	return out
}
