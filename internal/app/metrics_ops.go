package app

import (
	"context"
	"database/sql"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/bigmarket/bigmarket/internal/dcc"
	"github.com/bigmarket/bigmarket/internal/draw"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Operational metrics the shipped dashboards and alerts read (deploy/): the
// database pools, the outbox backlog's age, the draw breaker, the switches, the
// configured stock and the Redis pool. Every label has a bounded set of values:
// pool names, the two pending outbox states, the three breaker states, the
// known switch keys, the campaign's strategy and award ids (as
// bigmarket_award_stock_left).
var (
	outboxAgeDesc = prometheus.NewDesc("bigmarket_outbox_oldest_task_age_seconds",
		"Age of the oldest outbox task not yet completed, by state (create: not yet published; fail: publishing failed), across shards; 0 when there is none.",
		[]string{"state"}, nil)
	breakerDesc = prometheus.NewDesc("bigmarket_draw_breaker_state",
		"Draw circuit breaker: 1 for the state it is in (closed, half_open, open), 0 for the others.",
		[]string{"state"}, nil)
	switchDesc = prometheus.NewDesc("bigmarket_switch_value",
		"Dynamic switches in force: 1 for open and 0 for close, or the configured number.",
		[]string{"switch"}, nil)
	stockConfiguredDesc = prometheus.NewDesc("bigmarket_award_stock_configured",
		"Award stock configured in the campaign in force (the limit bigmarket_award_stock_left counts down from).",
		[]string{"strategy", "award"}, nil)
	redisConnsDesc = prometheus.NewDesc("bigmarket_redis_pool_connections",
		"Redis client connections by state (total, idle), summed over the nodes.",
		[]string{"state"}, nil)
	redisTimeoutsDesc = prometheus.NewDesc("bigmarket_redis_pool_timeouts_total",
		"Times a Redis command waited for a pooled connection past the pool timeout.", nil, nil)
	redisMissesDesc = prometheus.NewDesc("bigmarket_redis_pool_misses_total",
		"Times the Redis pool had no idle connection and dialled a new one.", nil, nil)
)

// registerOpsMetrics registers the operational collectors: one
// database/sql stats collector per distinct pool (go_sql_*, label db_name, e.g.
// "shard[1]" or "config/read") and opsCollector.
func registerOpsMetrics(reg prometheus.Registerer, a *App, draws *draw.ActivityService) {
	seen := map[*sql.DB]bool{}
	add := func(name string, db *sql.DB) {
		if db == nil || seen[db] {
			return
		}
		seen[db] = true
		reg.MustRegister(collectors.NewDBStatsCollector(db, name))
	}
	handles := []*sqldb.Handle{a.db.Config()}
	for i := range a.db.Shards() {
		handles = append(handles, a.db.Shard(i))
	}
	for _, h := range handles {
		if h.Read() == h.Write() {
			add(h.Name(), h.Write())
			continue
		}
		add(h.Name()+"/write", h.Write())
		add(h.Name()+"/read", h.Read())
	}
	reg.MustRegister(&opsCollector{app: a, draws: draws, now: time.Now})
}

// opsCollector reports, at scrape time, the values that live elsewhere: the
// outbox backlog's age (cached for 5 s: it reads every shard), the breaker
// state, the switches and the Redis pool statistics.
type opsCollector struct {
	app   *App
	draws *draw.ActivityService
	now   func() time.Time

	mu     sync.Mutex
	at     time.Time
	oldest map[outbox.State]time.Time
}

// Describe implements prometheus.Collector.
func (c *opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{outboxAgeDesc, breakerDesc, switchDesc, stockConfiguredDesc, redisConnsDesc, redisTimeoutsDesc, redisMissesDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *opsCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	c.mu.Lock()
	if c.at.IsZero() || now.Sub(c.at) > 5*time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if o, err := c.app.tasks.OldestPending(ctx); err == nil {
			c.oldest, c.at = o, now
		}
		cancel()
	}
	if !c.at.IsZero() {
		for _, state := range []outbox.State{outbox.StateCreate, outbox.StateFail} {
			age := 0.0
			if t, ok := c.oldest[state]; ok {
				age = max(0, now.Sub(t).Seconds())
			}
			ch <- prometheus.MustNewConstMetric(outboxAgeDesc, prometheus.GaugeValue, age, string(state))
		}
	}
	c.mu.Unlock()

	for _, st := range c.app.catalog.Current().Campaign.Strategies {
		for _, aw := range st.Awards {
			ch <- prometheus.MustNewConstMetric(stockConfiguredDesc, prometheus.GaugeValue, float64(aw.Count),
				strconv.FormatInt(st.ID, 10), strconv.FormatInt(aw.AwardID, 10))
		}
	}

	cur := c.draws.BreakerState()
	for _, st := range draw.BreakerStates {
		v := 0.0
		if st == cur {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(breakerDesc, prometheus.GaugeValue, v, st)
	}

	for key := range dcc.Defaults() { // the known keys only: bounded
		if v, ok := switchNumber(c.app.switches.Get(key)); ok {
			ch <- prometheus.MustNewConstMetric(switchDesc, prometheus.GaugeValue, v, key)
		}
	}

	if c.app.redis != nil {
		s := c.app.redis.PoolStats()
		ch <- prometheus.MustNewConstMetric(redisConnsDesc, prometheus.GaugeValue, float64(s.TotalConns), "total")
		ch <- prometheus.MustNewConstMetric(redisConnsDesc, prometheus.GaugeValue, float64(s.IdleConns), "idle")
		ch <- prometheus.MustNewConstMetric(redisTimeoutsDesc, prometheus.CounterValue, float64(s.Timeouts))
		ch <- prometheus.MustNewConstMetric(redisMissesDesc, prometheus.CounterValue, float64(s.Misses))
	}
}

// switchNumber maps a switch value to a number: open 1, close 0, else the
// value itself when it is numeric.
func switchNumber(v string) (float64, bool) {
	switch v {
	case "open":
		return 1, true
	case "close":
		return 0, true
	}
	f, err := strconv.ParseFloat(v, 64)
	return f, err == nil
}
