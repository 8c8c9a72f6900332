package activitydb

import (
	"sync"
	"sync/atomic"
	"time"
)

// The quota cache.
//
// A draw batch on MySQL locks its users' accounts and reads their month and
// day rows before it decides; those reads were most of what the quota cost
// MariaDB (docs/PERFORMANCE.md, tenth round and step 23). The cache keeps,
// per user and activity, the rows as the last committed batch of this process
// left them. A draw whose rows are cached skips the locks and the reads: it is
// decided from the cache, and its takes are compare-and-set updates that
// change a row only if the account's counts and surpluses, and the period
// row's count and surplus, are still the cached ones. The takes are counted
// as before (three rows per draw), so a stale entry (a grant, another
// instance's draw, an operator's change) makes its batch change too few rows
// and roll back; the batch then runs again with the locked reads, which
// refresh the entry. The quota stays MySQL's: every input of a cached draw's
// decision is checked in the transaction that takes from it, under the row
// locks its updates take.
//
// Only a draw the cache can decide is cached: an entry that says a quota is
// spent sends the draw to the locked reads, which give the answer. The
// unused raffle orders a draw would reuse are not cached; a cached draw still
// reads them, in the request that holds its stock fences.
//
// Behind a load balancer that spreads one user's draws over several
// instances, each instance's entries go stale and their batches fail. The
// cache watches its batches: when more than one in eight of the last
// quotaCacheWindow batches with cached draws failed, it empties itself and
// stays off for quotaCacheRest.
const (
	// DefaultQuotaCacheSize bounds the entries of the quota cache on MySQL:
	// about 20 MB of heap when full (304 bytes an entry, measured with
	// 15-character user ids).
	DefaultQuotaCacheSize = 1 << 16
	quotaCacheWindow      = 64
	quotaCacheRest        = 30 * time.Second
)

// quotaKey names a cache entry: a user's account on an activity.
type quotaKey struct {
	user string
	act  int64
}

// cachedQuota is a user's quota rows on an activity as a committed batch left
// them: the account, and the month and day rows of the periods named.
type cachedQuota struct {
	acc        accountRow
	month, day string
	m, d       periodRow
}

// quotaCache is safe for concurrent use. A nil *quotaCache is off.
type quotaCache struct {
	mu      sync.Mutex
	max     int
	entries map[quotaKey]cachedQuota
	now     func() time.Time
	// The batches with cached draws in the current window, those that
	// failed, and the time before which the cache stays off.
	tries, failed int
	offUntil      time.Time
	// hits counts the draws decided from the cache, stale the batches that
	// ran again because a cached row had changed.
	hits, stale atomic.Int64
}

func newQuotaCache(max int, now func() time.Time) *quotaCache {
	return &quotaCache{max: max, entries: make(map[quotaKey]cachedQuota), now: now}
}

// get returns the cached rows of user on act for the periods month and day: a
// period row is found only if the entry's period is the one asked for (a new
// day's row is one no draw of this process created yet).
func (c *quotaCache) get(user string, act int64, month, day string) (acc accountRow, m, d periodRow, ok bool) {
	if c == nil {
		return accountRow{}, periodRow{}, periodRow{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Before(c.offUntil) {
		return accountRow{}, periodRow{}, periodRow{}, false
	}
	e, ok := c.entries[quotaKey{user, act}]
	if !ok {
		return accountRow{}, periodRow{}, periodRow{}, false
	}
	if e.month == month {
		m = e.m
	}
	if e.day == day {
		d = e.d
	}
	return e.acc, m, d, true
}

// put records a user's rows after a committed batch. When the cache is full,
// an eighth of it is dropped, whichever entries the map gives first.
func (c *quotaCache) put(user string, act int64, e cachedQuota) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now().Before(c.offUntil) {
		return
	}
	k := quotaKey{user, act}
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		drop := max(c.max/8, 1)
		for old := range c.entries {
			delete(c.entries, old)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.entries[k] = e
}

// forget drops a user's entry (its rows changed, or may have).
func (c *quotaCache) forget(user string, act int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, quotaKey{user, act})
}

// batchDone records the outcome of a batch with cached draws, and turns the
// cache off for quotaCacheRest when too many of the window's failed.
func (c *quotaCache) batchDone(ok bool) {
	if c == nil {
		return
	}
	if !ok {
		c.stale.Add(1)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries++
	if !ok {
		c.failed++
	}
	if c.tries < quotaCacheWindow {
		return
	}
	if c.failed*8 > c.tries {
		c.offUntil = c.now().Add(quotaCacheRest)
		clear(c.entries)
	}
	c.tries, c.failed = 0, 0
}

// len is the number of entries.
func (c *quotaCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// QuotaCacheStats describes the quota cache of a Store.
type QuotaCacheStats struct {
	// Hits counts the draws decided from the cache; Stale, the batches that
	// ran again because a cached row had changed.
	Hits, Stale int64
	// Entries is the number of users' rows held.
	Entries int
}

// QuotaCacheStats reports the quota cache's counters (all zero without a
// cache).
func (s *Store) QuotaCacheStats() QuotaCacheStats {
	c := s.cache
	if c == nil {
		return QuotaCacheStats{}
	}
	return QuotaCacheStats{Hits: c.hits.Load(), Stale: c.stale.Load(), Entries: c.len()}
}
