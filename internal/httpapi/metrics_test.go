package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/httpapi"
)

// countingCollector counts how often a scrape reads it (as the stock and backlog
// collector reads counters and shards).
type countingCollector struct{ n atomic.Int64 }

var countingDesc = prometheus.NewDesc("test_collected", "Collections.", nil, nil)

func (c *countingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- countingDesc }
func (c *countingCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(countingDesc, prometheus.GaugeValue, float64(c.n.Add(1)))
}

func scrape(t *testing.T, h http.Handler, header map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestMetricsScrapesAreCached: scrapes within a second share one gathering, so a
// flood of scrapes reads counters and shards once.
func TestMetricsScrapesAreCached(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := &countingCollector{}
	reg.MustRegister(c)
	h := httpapi.New(httpapi.Config{AdminToken: adminToken, Registry: reg, MetricsPublic: true}, httpapi.Deps{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if rec := scrape(t, h, nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "test_collected") {
				t.Errorf("scrape: HTTP %d %s", rec.Code, rec.Body.String())
			}
		})
	}
	wg.Wait()
	if n := c.n.Load(); n != 1 {
		t.Fatalf("50 scrapes within a second gathered %d times, want 1", n)
	}
}

// TestMetricsExposure: by default /metrics on the main listener needs the admin
// token; metrics.require_token false opens it; metrics.addr moves it off the
// main listener.
func TestMetricsExposure(t *testing.T) {
	bearer := map[string]string{"Authorization": "Bearer " + adminToken}
	def := apptest.New(t, nil).Handler()
	if rec := scrape(t, def, nil); rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), `"0003"`) {
		t.Errorf("default, no token: HTTP %d %s, want 401 with code 0003", rec.Code, rec.Body.String())
	}
	if rec := scrape(t, def, bearer); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "bigmarket_award_stock_left") {
		t.Errorf("default, admin token: HTTP %d, want 200 with the metrics", rec.Code)
	}
	open := apptest.New(t, func(c *config.Config) { c.Metrics.RequireToken = false }).Handler()
	if rec := scrape(t, open, nil); rec.Code != http.StatusOK {
		t.Errorf("require_token false: HTTP %d, want 200", rec.Code)
	}
	apart := apptest.New(t, func(c *config.Config) { c.Metrics.Addr = "127.0.0.1:0" })
	if rec := scrape(t, apart.Handler(), bearer); rec.Code != http.StatusNotFound {
		t.Errorf("metrics.addr set: main listener answers HTTP %d, want 404", rec.Code)
	}
	if rec := scrape(t, apart.MetricsHandler(), nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "bigmarket_award_stock_left") {
		t.Errorf("metrics listener: HTTP %d, want 200 with the metrics", rec.Code)
	}
}
