package loadtest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// deliveryFake answers draws with an award and serves a delivery lag histogram
// that catches up with the draws by perRead deliveries at each metrics read
// (zero: never), every delivery observed at 15 ms.
type deliveryFake struct {
	mu        sync.Mutex
	draws     int
	delivered int
	perRead   int
	metrics   bool
}

func (f *deliveryFake) server(t *testing.T) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathArmory, func(w http.ResponseWriter, r *http.Request) { answer(w, http.StatusOK, "0000", true) })
	mux.HandleFunc("POST "+pathDraw, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.draws++
		f.mu.Unlock()
		answer(w, http.StatusOK, "0000", drawAnswer{AwardID: 101, AwardTitle: "award", AwardIndex: 1})
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if !f.metrics {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+testToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		f.delivered = min(f.draws, f.delivered+f.perRead)
		n := f.delivered
		f.mu.Unlock()
		fmt.Fprintf(w, "# HELP %s lag\n# TYPE %s histogram\n", lagMetric, lagMetric)
		fmt.Fprintf(w, "%s_bucket{le=\"0.01\"} 0\n%s_bucket{le=\"0.02\"} %d\n%s_bucket{le=\"0.05\"} %d\n%s_bucket{le=\"+Inf\"} %d\n",
			lagMetric, lagMetric, n, lagMetric, n, lagMetric, n)
		fmt.Fprintf(w, "%s_sum %g\n%s_count %d\n", lagMetric, 0.015*float64(n), lagMetric, n)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func deliveryConfig(url string) Config {
	return Config{BaseURL: url, Users: 10, Concurrency: 4, Requests: 200, AdminToken: testToken, GrantQuota: -1, Settle: -1}
}

func TestRunWaitsForEveryDelivery(t *testing.T) {
	f := &deliveryFake{perRead: 30, metrics: true}
	srv := f.server(t)
	var out strings.Builder
	rep, err := Run(context.Background(), deliveryConfig(srv.URL), &out)
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Delivery
	if d == nil {
		t.Fatalf("no delivery report; note %q\n%s", rep.DeliveryNote, out.String())
	}
	if !d.Complete || d.Wanted != 200 || d.Delivered != 200 {
		t.Fatalf("delivery %+v: want all 200 delivered", d)
	}
	// Every lag is 15 ms, in the (10 ms, 20 ms] bucket: interpolated.
	if d.P50 != 15*time.Millisecond || d.P99 != 19900*time.Microsecond || d.Over {
		t.Fatalf("lag p50 %s p99 %s over %v: want 15ms and 19.9ms", d.P50, d.P99, d.Over)
	}
	if !strings.Contains(out.String(), "200 of 200") || !strings.Contains(out.String(), "all delivered") {
		t.Fatalf("report does not show the deliveries:\n%s", out.String())
	}
}

func TestRunReportsUndeliveredAwardsAfterTheWait(t *testing.T) {
	f := &deliveryFake{perRead: 0, metrics: true}
	srv := f.server(t)
	cfg := deliveryConfig(srv.URL)
	cfg.DeliveryWait = 300 * time.Millisecond
	var out strings.Builder
	rep, err := Run(context.Background(), cfg, &out)
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Delivery
	if d == nil || d.Complete || d.Delivered != 0 || d.Wanted != 200 || d.Waited < cfg.DeliveryWait {
		t.Fatalf("delivery %+v: want 0 of 200, not complete, after the whole wait", d)
	}
	if !strings.Contains(out.String(), "NOT all delivered") {
		t.Fatalf("report does not say the awards are not all delivered:\n%s", out.String())
	}
}

func TestRunWithoutLagMetricStillReports(t *testing.T) {
	f := &deliveryFake{metrics: false}
	srv := f.server(t)
	var out strings.Builder
	rep, err := Run(context.Background(), deliveryConfig(srv.URL), &out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Delivery != nil || rep.DeliveryNote == "" || rep.Codes[codeSuccess] != 200 {
		t.Fatalf("delivery %+v note %q draws %d: want no delivery report, a note, 200 draws", rep.Delivery, rep.DeliveryNote, rep.Codes[codeSuccess])
	}
	if !strings.Contains(out.String(), "not measured") {
		t.Fatalf("report does not say delivery was not measured:\n%s", out.String())
	}
}

func TestQuantileOfHistogramDelta(t *testing.T) {
	inf := math.Inf(1)
	before := lagSnapshot{buckets: map[float64]float64{0.1: 10, 1: 10, inf: 10}, count: 10}
	// 100 new observations: 50 up to 0.1 s, 40 in (0.1, 1], 10 past 1 s.
	after := lagSnapshot{buckets: map[float64]float64{0.1: 60, 1: 100, inf: 110}, count: 110}
	if q, over := quantile(before, after, 0.5); q != 100*time.Millisecond || over {
		t.Fatalf("p50 = %s over %v, want 100ms", q, over)
	}
	if q, over := quantile(before, after, 0.7); q != 550*time.Millisecond || over {
		t.Fatalf("p70 = %s over %v, want 550ms", q, over)
	}
	if q, over := quantile(before, after, 0.99); q != time.Second || !over {
		t.Fatalf("p99 = %s over %v, want 1s past the last bucket", q, over)
	}
}
