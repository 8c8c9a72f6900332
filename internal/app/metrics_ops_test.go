package app_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// TestOpsMetrics: the metrics the shipped dashboards and alerts need are
// served with sane values: database pool statistics per pool, the age of the
// oldest unpublished outbox task (the broker is down, so the draws' tasks
// wait), the breaker state, the switches, the configured stock and the Redis
// pool.
func TestOpsMetrics(t *testing.T) {
	_, prefix := redisxtest.New(t)
	redisAddr := testsvc.Addr(t, "redis")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String() // nothing listens here: the broker is down
	ln.Close()
	a := apptest.New(t, func(c *config.Config) {
		c.Redis.Addrs, c.Redis.Prefix = []string{redisAddr}, prefix
		c.RabbitMQ.URL = "amqp://guest:guest@" + dead + "/"
		c.RabbitMQ.ConnectTimeout = 200 * time.Millisecond
	})
	h := a.Handler()
	start := time.Now()
	for u := range 3 {
		g := fmt.Sprintf(`{"id":"ops%d","userId":"ops%d","activityId":100301,"total":1,"day":1,"month":1}`, u, u)
		if env := call(t, h, "POST", "/api/admin/v1/quota/grant", g); env.Code != "0000" {
			t.Fatalf("grant: %s %s", env.Code, env.Info)
		}
		if env := call(t, h, "POST", "/api/v1/raffle/activity/draw", fmt.Sprintf(`{"userId":"ops%d","activityId":100301}`, u)); env.Code != "0000" {
			t.Fatalf("draw: %s %s", env.Code, env.Info)
		}
	}
	s := apptest.ScrapeMetrics(t, h, a.AdminToken)
	one := func(name string, labels map[string]string) float64 {
		t.Helper()
		got := s.Find(name, labels)
		if len(got) != 1 {
			t.Fatalf("%s%v: %d series, want 1", name, labels, len(got))
		}
		return got[0].Value
	}

	// Database pools: SQLite has a one-connection writer and a reader pool.
	var writers, readers int
	for _, smp := range s.Find("go_sql_max_open_connections", nil) {
		switch name := smp.Labels["db_name"]; {
		case strings.HasSuffix(name, "/write"):
			writers++
			if smp.Value != 1 {
				t.Errorf("%s: max open %v, want the single writer connection", name, smp.Value)
			}
		case strings.HasSuffix(name, "/read"):
			readers++
			if smp.Value < 1 {
				t.Errorf("%s: max open %v", name, smp.Value)
			}
		}
	}
	if writers == 0 || readers == 0 {
		t.Errorf("go_sql_max_open_connections: %d writer and %d reader pools", writers, readers)
	}
	if len(s.Find("go_sql_in_use_connections", nil)) != writers+readers {
		t.Errorf("go_sql_in_use_connections is not served for every pool")
	}

	// The draws' tasks wait for the broker (in state create, or fail once the
	// relay's publish failed): the oldest is younger than the test.
	var oldest float64
	for _, st := range []string{"create", "fail"} {
		v := one("bigmarket_outbox_oldest_task_age_seconds", map[string]string{"state": st})
		if v < 0 || v > time.Since(start).Seconds()+1 {
			t.Errorf("oldest %s task age = %v s, test started %v ago", st, v, time.Since(start))
		}
		oldest = max(oldest, v)
	}
	if oldest == 0 {
		t.Error("oldest pending task age = 0 with three undelivered draws")
	}

	// The breaker is closed, and only closed.
	for st, want := range map[string]float64{"closed": 1, "half_open": 0, "open": 0} {
		if v := one("bigmarket_draw_breaker_state", map[string]string{"state": st}); v != want {
			t.Errorf("breaker state %s = %v, want %v", st, v, want)
		}
	}

	// Switches: the defaults.
	for sw, want := range map[string]float64{"degradeSwitch": 0, "rateLimiterSwitch": 0, "rateLimiterPermitsPerSecond": 1, "blacklistCount": 1} {
		if v := one("bigmarket_switch_value", map[string]string{"switch": sw}); v != want {
			t.Errorf("switch %s = %v, want %v", sw, v, want)
		}
	}

	// Configured stock: every award with stock left has its configured count,
	// at least what is left.
	left := s.Find("bigmarket_award_stock_left", nil)
	if len(left) == 0 {
		t.Fatal("no bigmarket_award_stock_left series")
	}
	for _, l := range left {
		c := one("bigmarket_award_stock_configured", map[string]string{"strategy": l.Labels["strategy"], "award": l.Labels["award"]})
		if c <= 0 || c < l.Value {
			t.Errorf("strategy %s award %s: configured %v, left %v", l.Labels["strategy"], l.Labels["award"], c, l.Value)
		}
	}

	// Redis pool: the draws used connections.
	if v := one("bigmarket_redis_pool_connections", map[string]string{"state": "total"}); v < 1 {
		t.Errorf("redis pool connections = %v, want ≥ 1", v)
	}
	one("bigmarket_redis_pool_timeouts_total", nil)
	one("bigmarket_redis_pool_misses_total", nil)

	// A switch change shows at the next gathering (metrics are cached 1 s).
	if env := call(t, h, "PUT", "/api/admin/v1/switches", `{"key":"degradeSwitch","value":"open"}`); env.Code != "0000" {
		t.Fatalf("set switch: %s %s", env.Code, env.Info)
	}
	time.Sleep(1100 * time.Millisecond)
	s = apptest.ScrapeMetrics(t, h, a.AdminToken)
	if v := one("bigmarket_switch_value", map[string]string{"switch": "degradeSwitch"}); v != 1 {
		t.Errorf("degradeSwitch after opening = %v, want 1", v)
	}
}
