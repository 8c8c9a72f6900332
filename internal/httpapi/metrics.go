package httpapi

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// metricsCacheTTL is how long one gathering answers scrapes: the stock and
// backlog collectors read counters and every shard, so a flood of scrapes must
// not multiply those reads.
const metricsCacheTTL = time.Second

// cachedGatherer gathers at most once per ttl; concurrent scrapes wait for the
// gathering in progress and share its result (which they only read).
type cachedGatherer struct {
	g   prometheus.Gatherer
	ttl time.Duration
	now func() time.Time

	mu  sync.Mutex
	at  time.Time
	mfs []*dto.MetricFamily
	err error
}

// Gather implements prometheus.Gatherer.
func (c *cachedGatherer) Gather() ([]*dto.MetricFamily, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.at.IsZero() || now.Sub(c.at) >= c.ttl {
		c.mfs, c.err = c.g.Gather()
		c.at = c.now()
	}
	return c.mfs, c.err
}

// newMetricsHandler serves reg's metrics, gathered at most once a second.
func newMetricsHandler(reg *prometheus.Registry) http.Handler {
	g := &cachedGatherer{g: reg, ttl: metricsCacheTTL, now: time.Now}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{})
}

// MetricsHandler serves GET /metrics without a token, for a separate listener
// (metrics.addr). It returns nil when the server has no registry.
func (s *Server) MetricsHandler() http.Handler {
	if s.metricsHandler == nil {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metricsHandler)
	return mux
}
