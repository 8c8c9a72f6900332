package dccdb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/dcc"
	"github.com/bigmarket/bigmarket/internal/store/dccdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

func TestSwitchesReachEveryInstance(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		now := func() time.Time { return time.UnixMilli(1_700_000_000_000) }
		a, err := dcc.New(dccdb.New(db), nil, now, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := dcc.New(dccdb.New(db), map[string]string{dcc.RateLimiterPermits: "5"}, now, nil)
		if a.Degraded() {
			t.Fatal("degraded by default")
		}
		if on, permits, _ := b.RateLimit(); on || permits != 5 {
			t.Fatalf("configured default not used: %v %v", on, permits)
		}
		if err := a.Set(ctx, dcc.DegradeSwitch, "open"); err != nil {
			t.Fatal(err)
		}
		if err := a.Set(ctx, dcc.DegradeSwitch, "open"); err != nil { // upsert
			t.Fatal(err)
		}
		if !a.Degraded() {
			t.Fatal("Set is not visible on the same instance")
		}
		if b.Degraded() {
			t.Fatal("the other instance saw the change before reloading")
		}
		if err := b.Reload(ctx); err != nil || !b.Degraded() {
			t.Fatalf("the other instance did not pick up the change: %v", err)
		}
		for _, bad := range [][2]string{{dcc.DegradeSwitch, "maybe"}, {"nope", "open"}, {dcc.RateLimiterPermits, "-1"}, {dcc.RateLimiterBlacklist, "x"}} {
			if err := a.Set(ctx, bad[0], bad[1]); !errors.Is(err, dcc.ErrInvalid) {
				t.Errorf("Set(%q, %q) = %v, want ErrInvalid", bad[0], bad[1], err)
			}
		}
		if got := a.All()[dcc.DegradeSwitch]; got != "open" {
			t.Fatalf("a rejected Set changed the value to %q", got)
		}
	})
}
