package activitydb

import (
	"fmt"
	"testing"
	"time"
)

func TestQuotaCacheEntries(t *testing.T) {
	c := newQuotaCache(16, time.Now)
	e := cachedQuota{acc: accountRow{total: 10, totalSurplus: 7, day: 3, month: 5}, month: "2025-03", day: "2025-03-10",
		m: periodRow{count: 5, surplus: 2, found: true}, d: periodRow{count: 3, surplus: 1, found: true}}
	c.put("u1", 1, e)

	acc, m, d, ok := c.get("u1", 1, "2025-03", "2025-03-10")
	if !ok || acc != e.acc || m != e.m || d != e.d {
		t.Fatalf("get = %+v %+v %+v %v, want the entry", acc, m, d, ok)
	}
	// Another day: the day row is one to create; the month's is kept.
	if _, m, d, ok := c.get("u1", 1, "2025-03", "2025-03-11"); !ok || m != e.m || d.found {
		t.Fatalf("get of the next day = %+v %+v %v", m, d, ok)
	}
	// Another month: neither row is known.
	if _, m, d, ok := c.get("u1", 1, "2025-04", "2025-04-01"); !ok || m.found || d.found {
		t.Fatalf("get of the next month = %+v %+v %v", m, d, ok)
	}
	if _, _, _, ok := c.get("u1", 2, "2025-03", "2025-03-10"); ok {
		t.Fatal("another activity's entry found")
	}
	c.forget("u1", 1)
	if _, _, _, ok := c.get("u1", 1, "2025-03", "2025-03-10"); ok {
		t.Fatal("a forgotten entry found")
	}

	for i := range 100 {
		c.put(fmt.Sprintf("u%d", i), 1, e)
		if n := c.len(); n > 16 {
			t.Fatalf("%d entries, bound 16", n)
		}
	}
	if _, _, _, ok := c.get("u99", 1, "2025-03", "2025-03-10"); !ok {
		t.Fatal("the newest entry was dropped")
	}

	var off *quotaCache // nil: off
	off.put("u1", 1, e)
	off.forget("u1", 1)
	off.batchDone(false)
	if _, _, _, ok := off.get("u1", 1, "2025-03", "2025-03-10"); ok || off.len() != 0 {
		t.Fatal("a nil cache answered")
	}
}

func TestQuotaCacheRestsAfterFailures(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	c := newQuotaCache(16, func() time.Time { return now })
	e := cachedQuota{acc: accountRow{total: 10, totalSurplus: 7}}
	c.put("u1", 1, e)

	// One failure in eight keeps it on.
	for i := range quotaCacheWindow {
		c.batchDone(i%8 != 0)
	}
	if _, _, _, ok := c.get("u1", 1, "", ""); !ok {
		t.Fatal("the cache went off at one failure in eight")
	}
	// More turns it off for quotaCacheRest, emptied.
	for i := range quotaCacheWindow {
		c.batchDone(i%4 != 0)
	}
	if _, _, _, ok := c.get("u1", 1, "", ""); ok {
		t.Fatal("the cache stayed on at one failure in four")
	}
	c.put("u2", 1, e)
	if c.len() != 0 {
		t.Fatalf("%d entries while off", c.len())
	}
	now = now.Add(quotaCacheRest)
	c.put("u2", 1, e)
	if _, _, _, ok := c.get("u2", 1, "", ""); !ok {
		t.Fatal("the cache did not come back after its rest")
	}
	if got := c.stale.Load(); got != 8+16 {
		t.Fatalf("stale = %d, want %d", got, 8+16)
	}
}
