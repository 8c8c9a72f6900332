package apptest

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Sample is one series of a /metrics answer.
type Sample struct {
	// Name is the series name, e.g. "bigmarket_http_request_duration_seconds_bucket".
	Name string
	// Labels are the series' labels.
	Labels map[string]string
	// Value is the sample value.
	Value float64
}

// Scrape is a parsed /metrics answer in the Prometheus text format.
type Scrape struct {
	// Types maps each metric family named in a "# TYPE" line to its type
	// (counter, gauge, histogram, summary, untyped).
	Types map[string]string
	// Samples are the series in the order served.
	Samples []Sample
}

// labelPair matches name="value" with escaped quotes inside the value.
var labelPair = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// ScrapeMetrics asks h for GET /metrics with the admin token and parses the
// text format; the test fails on anything but 200 or an unparsable line.
func ScrapeMetrics(t testing.TB, h http.Handler, adminToken string) Scrape {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d %s", rec.Code, rec.Body.String())
	}
	s := Scrape{Types: map[string]string{}}
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			s.Types[f[2]] = f[3]
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("/metrics: unparsable line %q", line)
		}
		series := line[:i]
		smp := Sample{Name: series, Labels: map[string]string{}, Value: v}
		if j := strings.IndexByte(series, '{'); j >= 0 {
			smp.Name = series[:j]
			for _, m := range labelPair.FindAllStringSubmatch(series[j:], -1) {
				smp.Labels[m[1]] = m[2]
			}
		}
		s.Samples = append(s.Samples, smp)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	return s
}

// Names returns every series name served, and every family name (so both
// "x_bucket" and "x" are there for a histogram x).
func (s Scrape) Names() map[string]bool {
	out := map[string]bool{}
	for name := range s.Types {
		out[name] = true
	}
	for _, smp := range s.Samples {
		out[smp.Name] = true
	}
	return out
}

// Find returns the samples named name whose labels include every pair of
// labels.
func (s Scrape) Find(name string, labels map[string]string) []Sample {
	var out []Sample
next:
	for _, smp := range s.Samples {
		if smp.Name != name {
			continue
		}
		for k, v := range labels {
			if smp.Labels[k] != v {
				continue next
			}
		}
		out = append(out, smp)
	}
	return out
}
