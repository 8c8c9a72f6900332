package app

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/reconcile"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
)

// metrics are the domain metrics of DESIGN §5 (the HTTP ones live in httpapi).
type metrics struct {
	draws      *prometheus.CounterVec
	deliveries *prometheus.CounterVec
	lag        prometheus.Histogram
	reconciles *prometheus.CounterVec
}

// deliveryLagMetric is the histogram of the time from a draw to its award's
// delivery (bigmarket loadtest reads it to wait for every award and report
// the lag).
const deliveryLagMetric = "bigmarket_award_delivery_lag_seconds"

func newMetrics(reg *prometheus.Registry, a *App) *metrics {
	m := &metrics{
		draws: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bigmarket_draws_total",
			Help: "Successful activity draws by strategy and award.",
		}, []string{"strategy", "award"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bigmarket_award_deliveries_total",
			Help: "Award deliveries by outcome (credited, webhook, webhook_queued, pending_manual, already_done, config_error, error).",
		}, []string{"outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    deliveryLagMetric,
			Help:    "Time from a draw to its award's delivery (credited, webhook answered or kept pending_manual) by the send_award consumer.",
			Buckets: []float64{.001, .002, .003, .005, .0075, .01, .015, .02, .03, .05, .075, .1, .15, .2, .3, .5, .75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120, 300},
		}),
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bigmarket_reconciler_records_total",
			Help: "Unfinished award records and rebate orders taken by the reconciler, by kind (award, rebate) and outcome (redelivered, pending_manual, failed, error, skipped).",
		}, []string{"kind", "outcome"}),
	}
	reg.MustRegister(m.draws, m.deliveries, m.lag, m.reconciles, &stateCollector{app: a})
	relayStat := func(name, help string, f func(outbox.RelayStats) int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(a.relay.Stats())) }))
	}
	relayStat("bigmarket_outbox_published_total", "Outbox tasks published by the relay.", func(s outbox.RelayStats) int64 { return s.Published })
	relayStat("bigmarket_outbox_publish_errors_total", "Relay publish failures (left for the retry job).", func(s outbox.RelayStats) int64 { return s.PublishErrors })
	relayStat("bigmarket_outbox_dropped_total", "Relay handoffs dropped on a full queue (left for the retry job).", func(s outbox.RelayStats) int64 { return s.Dropped })
	return m
}

// registerQuotaCache exposes the counters of the quota cache of batched
// draws (MySQL; zero elsewhere).
func registerQuotaCache(reg *prometheus.Registry, s *activitydb.Store) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "bigmarket_quota_cache_hits_total",
			Help: "Draws decided from the quota cache, without the locked reads of their quota rows.",
		}, func() float64 { return float64(s.QuotaCacheStats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "bigmarket_quota_cache_stale_batches_total",
			Help: "Draw batches that ran again with the locked reads because a cached quota row had changed.",
		}, func() float64 { return float64(s.QuotaCacheStats().Stale) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "bigmarket_quota_cache_entries",
			Help: "Users' quota rows held by the quota cache.",
		}, func() float64 { return float64(s.QuotaCacheStats().Entries) }),
	)
}

func (m *metrics) drew(strategyID, awardID int64) {
	m.draws.WithLabelValues(strconv.FormatInt(strategyID, 10), strconv.FormatInt(awardID, 10)).Inc()
}

func (m *metrics) delivered(o award.Outcome, _ award.SendAward, _ error) {
	m.deliveries.WithLabelValues(string(o)).Inc()
}

func (m *metrics) deliveryLag(_ award.Outcome, lag time.Duration) {
	m.lag.Observe(lag.Seconds())
}

func (m *metrics) reconciled(kind string, o reconcile.Outcome) {
	m.reconciles.WithLabelValues(kind, string(o)).Inc()
}

// stateCollector reports stock left per award and the outbox backlog by state at
// scrape time; the backlog query scans every shard, so it is cached for 5 s.
type stateCollector struct {
	app *App

	mu      sync.Mutex
	at      time.Time
	backlog map[outbox.State]int64
}

var (
	stockDesc   = prometheus.NewDesc("bigmarket_award_stock_left", "Award stock left (count minus units taken).", []string{"strategy", "award"}, nil)
	backlogDesc = prometheus.NewDesc("bigmarket_outbox_tasks", "Outbox tasks by state, across shards.", []string{"state"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- stockDesc
	ch <- backlogDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	for _, st := range c.app.catalog.Current().Campaign.Strategies {
		for _, aw := range st.Awards {
			left, err := c.app.engine.Left(ctx, st.ID, aw.AwardID)
			if err != nil {
				continue
			}
			ch <- prometheus.MustNewConstMetric(stockDesc, prometheus.GaugeValue, float64(left), strconv.FormatInt(st.ID, 10), strconv.FormatInt(aw.AwardID, 10))
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) > 5*time.Second {
		if b, err := c.app.tasks.CountByState(ctx); err == nil {
			c.backlog, c.at = b, time.Now()
		}
	}
	// Every state, 0 when no task is in it: an absent series would leave the
	// "failed tasks" alert and the backlog panel without data instead of 0.
	for _, state := range []outbox.State{outbox.StateCreate, outbox.StateFail, outbox.StateCompleted} {
		ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(c.backlog[state]), string(state))
	}
}
