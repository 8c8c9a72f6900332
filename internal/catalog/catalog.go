// Package catalog keeps the running configuration (the applied campaign) in memory
// with indexes for the request path, and reloads it when another instance or the
// CLI applies a campaign: it polls the store's revision and swaps a new immutable
// snapshot in atomically, then tells its listeners (the strategy engine re-arms).
package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/platform/poll"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// Snapshot is one immutable view of the configuration. Its maps must not be
// modified.
type Snapshot struct {
	Revision   int64
	Campaign   *campaign.Campaign
	Location   *time.Location // campaign time zone, else the configured default
	Awards     map[int64]award.Award
	Strategies map[int64]strategy.Strategy
	// StockKeys lists each strategy's award stock keys (strategy.StockKey):
	// the stock fences a draw on it may hold.
	StockKeys  map[int64][]string
	Activities map[int64]activity.Activity
	Counts     map[int64]activity.Count
	SKUs       map[int64]activity.SKU
	// SKUsByActivity lists each activity's SKUs in SKU order.
	SKUsByActivity map[int64][]activity.SKU
	// Rebates lists open rebate rules by behaviour.
	Rebates map[string][]rebate.Rule
	Stages  []activity.Stage
}

// Listener is told about each new snapshot before it becomes visible through
// Current. A listener error keeps the previous snapshot.
type Listener func(ctx context.Context, s *Snapshot) error

// Catalog holds the current snapshot. Create it with New.
type Catalog struct {
	store     campaign.Store
	defaultTZ *time.Location
	log       *slog.Logger

	mu        sync.Mutex // serialises reloads
	listeners []Listener
	cur       atomic.Pointer[Snapshot]

	refreshMu   sync.Mutex
	refreshing  chan struct{} // closed when the refresh in flight ends; nil when none
	refreshed   time.Time     // when the last refresh ended
	refreshErr  error         // the last refresh's outcome, shared with its waiters
	refreshSwap bool
	now         func() time.Time
}

// RefreshInterval is the least time between two store round trips of Refresh.
const RefreshInterval = time.Second

// refreshTimeout bounds a refresh, which runs apart from the caller's context:
// callers waiting on it must not fail because the first one went away.
const refreshTimeout = 10 * time.Second

// New returns a catalog over store. defaultTZ is the zone used when a campaign sets
// none (nil means time.Local). log may be nil.
func New(store campaign.Store, defaultTZ *time.Location, log *slog.Logger) *Catalog {
	if defaultTZ == nil {
		defaultTZ = time.Local
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &Catalog{store: store, defaultTZ: defaultTZ, log: log, now: time.Now}
	c.cur.Store(build(0, &campaign.Campaign{}, defaultTZ))
	return c
}

// OnChange registers a listener; call it before the first Reload.
func (c *Catalog) OnChange(l Listener) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.listeners = append(c.listeners, l)
}

// Current returns the snapshot in force. It never returns nil.
func (c *Catalog) Current() *Snapshot { return c.cur.Load() }

// Reload loads the stored configuration if its revision differs from the current
// one (or force is set), tells the listeners and swaps it in. It reports whether a
// new snapshot was installed.
func (c *Catalog) Reload(ctx context.Context, force bool) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rev, err := c.store.Revision(ctx)
	if err != nil {
		return false, fmt.Errorf("catalog: revision: %w", err)
	}
	if !force && rev == c.cur.Load().Revision {
		return false, nil
	}
	camp, err := c.store.Load(ctx)
	if err != nil {
		return false, fmt.Errorf("catalog: load revision %d: %w", rev, err)
	}
	s := build(rev, camp, c.defaultTZ)
	for _, l := range c.listeners {
		if err := l(ctx, s); err != nil {
			return false, fmt.Errorf("catalog: apply revision %d: %w", rev, err)
		}
	}
	c.cur.Store(s)
	c.log.Info("configuration loaded", "revision", rev, "strategies", len(s.Strategies), "activities", len(s.Activities))
	return true, nil
}

// Refresh is Reload(ctx, false) for request paths that meet an id they do not
// know (the armory endpoints): concurrent callers share one reload, and a reload
// ended less than RefreshInterval ago answers (false, nil) without touching the
// store, so a flood of requests costs at most one store round trip a second. A
// caller whose ctx ends stops waiting; the reload goes on for the others.
func (c *Catalog) Refresh(ctx context.Context) (bool, error) {
	c.refreshMu.Lock()
	done := c.refreshing
	if done == nil {
		if !c.refreshed.IsZero() && c.now().Sub(c.refreshed) < RefreshInterval {
			c.refreshMu.Unlock()
			return false, nil
		}
		done = make(chan struct{})
		c.refreshing = done
		go c.refresh(context.WithoutCancel(ctx), done)
	}
	c.refreshMu.Unlock()
	select {
	case <-done:
	case <-ctx.Done():
		return false, fmt.Errorf("catalog: refresh: %w", ctx.Err())
	}
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	return c.refreshSwap, c.refreshErr
}

// refresh runs one shared reload and publishes its outcome.
func (c *Catalog) refresh(ctx context.Context, done chan struct{}) {
	ctx, cancel := context.WithTimeout(ctx, refreshTimeout)
	defer cancel()
	swapped, err := c.Reload(ctx, false)
	c.refreshMu.Lock()
	c.refreshSwap, c.refreshErr = swapped, err
	c.refreshed, c.refreshing = c.now(), nil
	c.refreshMu.Unlock()
	close(done)
}

// Watch reloads every interval until ctx ends, logging failures.
func (c *Catalog) Watch(ctx context.Context, interval time.Duration) {
	poll.Every(ctx, interval, func(ctx context.Context) error {
		_, err := c.Reload(ctx, false)
		return err
	}, c.log, "configuration reload failed")
}

func build(rev int64, camp *campaign.Campaign, defaultTZ *time.Location) *Snapshot {
	s := &Snapshot{
		Revision:       rev,
		Campaign:       camp,
		Location:       camp.Timezone,
		Awards:         make(map[int64]award.Award, len(camp.Awards)),
		Strategies:     make(map[int64]strategy.Strategy, len(camp.Strategies)),
		StockKeys:      make(map[int64][]string, len(camp.Strategies)),
		Activities:     make(map[int64]activity.Activity, len(camp.Activities)),
		Counts:         make(map[int64]activity.Count, len(camp.Counts)),
		SKUs:           make(map[int64]activity.SKU, len(camp.SKUs)),
		SKUsByActivity: map[int64][]activity.SKU{},
		Rebates:        map[string][]rebate.Rule{},
		Stages:         camp.Stages,
	}
	if s.Location == nil {
		s.Location = defaultTZ
	}
	for _, a := range camp.Awards {
		s.Awards[a.ID] = a
	}
	for _, st := range camp.Strategies {
		s.Strategies[st.ID] = st
		for _, a := range st.Awards {
			s.StockKeys[st.ID] = append(s.StockKeys[st.ID], strategy.StockKey(st.ID, a.AwardID))
		}
	}
	for _, a := range camp.Activities {
		s.Activities[a.ID] = a
	}
	for _, n := range camp.Counts {
		s.Counts[n.ID] = n
	}
	for _, k := range camp.SKUs {
		s.SKUs[k.SKU] = k
		s.SKUsByActivity[k.ActivityID] = append(s.SKUsByActivity[k.ActivityID], k)
	}
	for _, r := range camp.Rebates {
		if r.State == rebate.StateOpen {
			s.Rebates[r.Behavior] = append(s.Rebates[r.Behavior], r)
		}
	}
	return s
}
