package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testToken    = "admin-secret"
	testActivity = 100301
	slowFor      = 20 * time.Millisecond
)

// fake mimics the endpoints the load generator uses and tallies what it served,
// keyed the way Report keys them.
type fake struct {
	t *testing.T

	mu         sync.Mutex
	grants     map[string]grantRequest // by grant id
	perUser    map[string]int          // draws received by user
	codes      map[string]int
	awards     map[int64]int
	missing    int // "0000" answers without an award
	hijacked   int // connections closed without an answer
	drawCalls  int
	stockCalls int

	armories atomic.Int64
	seq      atomic.Int64 // draw sequence: chooses the answer

	stock       []StockRow
	armoryCode  string        // "" means 0000
	blockDraws  bool          // draws wait for the client to go away
	drawArrived chan struct{} // closed at the first draw when blockDraws
	arriveOnce  sync.Once
}

func newFake(t *testing.T) (*fake, *httptest.Server) {
	f := &fake{
		t:           t,
		grants:      map[string]grantRequest{},
		perUser:     map[string]int{},
		codes:       map[string]int{},
		awards:      map[int64]int{},
		drawArrived: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+pathGrant, f.grant)
	mux.HandleFunc("GET "+pathArmory, f.armory)
	mux.HandleFunc("POST "+pathDraw, f.draw)
	mux.HandleFunc("GET "+pathStock, f.stockRows)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func answer(w http.ResponseWriter, status int, code string, data any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "info": "fake " + code, "data": data})
}

func (f *fake) admin(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+testToken {
		answer(w, http.StatusOK, "0003", nil)
		return false
	}
	return true
}

func (f *fake) grant(w http.ResponseWriter, r *http.Request) {
	if !f.admin(w, r) {
		return
	}
	var g grantRequest
	if err := json.NewDecoder(r.Body).Decode(&g); err != nil || g.ID == "" || g.UserID == "" || g.ActivityID <= 0 {
		f.t.Errorf("grant: bad request %+v: %v", g, err)
		answer(w, http.StatusOK, "0002", nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, dup := f.grants[g.ID]; dup {
		f.t.Errorf("grant id %s sent twice", g.ID)
	}
	f.grants[g.ID] = g
	answer(w, http.StatusOK, "0000", true)
}

func (f *fake) armory(w http.ResponseWriter, r *http.Request) {
	f.armories.Add(1)
	if r.URL.Query().Get("activityId") != strconv.Itoa(testActivity) {
		f.t.Errorf("armory: query %q", r.URL.RawQuery)
	}
	if f.armoryCode != "" {
		answer(w, http.StatusOK, f.armoryCode, nil)
		return
	}
	answer(w, http.StatusOK, "0000", true)
}

// draw answers by sequence number n: every 10th is slow; of every 20, one each is
// a quota code, a rate limit, an HTTP 500 with envelope, an HTTP 502 without one, a
// dropped connection and a success without award; the rest win one of three awards.
func (f *fake) draw(w http.ResponseWriter, r *http.Request) {
	var req drawRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.UserID == "" || req.ActivityID != testActivity {
		f.t.Errorf("draw: bad request %+v: %v", req, err)
		answer(w, http.StatusOK, "0002", nil)
		return
	}
	if f.blockDraws {
		f.arriveOnce.Do(func() { close(f.drawArrived) })
		<-r.Context().Done()
		return
	}
	n := f.seq.Add(1)
	f.mu.Lock()
	f.drawCalls++
	f.perUser[req.UserID]++
	f.mu.Unlock()
	if n%10 == 0 {
		time.Sleep(slowFor)
	}
	tally := func(key string) {
		f.mu.Lock()
		f.codes[key]++
		f.mu.Unlock()
	}
	switch n % 20 {
	case 1:
		tally("ERR_BIZ_006")
		answer(w, http.StatusOK, "ERR_BIZ_006", nil)
	case 2:
		tally("0005")
		answer(w, http.StatusOK, "0005", nil)
	case 3:
		tally("HTTP 500 0001")
		answer(w, http.StatusInternalServerError, "0001", nil)
	case 4:
		tally("HTTP 502 no envelope")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("bad gateway"))
	case 5:
		f.mu.Lock()
		f.hijacked++
		f.mu.Unlock()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			f.t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close()
	case 6:
		tally("0000")
		f.mu.Lock()
		f.missing++
		f.mu.Unlock()
		answer(w, http.StatusOK, "0000", nil)
	default:
		award := int64(101 + n%3)
		tally("0000")
		f.mu.Lock()
		f.awards[award]++
		f.mu.Unlock()
		answer(w, http.StatusOK, "0000", drawAnswer{AwardID: award, AwardTitle: "award " + strconv.FormatInt(award, 10), AwardIndex: int(n % 3)})
	}
}

func (f *fake) stockRows(w http.ResponseWriter, r *http.Request) {
	if !f.admin(w, r) {
		return
	}
	f.mu.Lock()
	f.stockCalls++
	f.mu.Unlock()
	answer(w, http.StatusOK, "0000", f.stock)
}

func baseConfig(url string) Config {
	return Config{
		BaseURL:     url,
		Users:       50,
		Concurrency: 8,
		Requests:    1000,
		AdminToken:  testToken,
		GrantQuota:  500,
		Settle:      -1,
	}
}

func TestRunCountsWhatTheServerServed(t *testing.T) {
	f, srv := newFake(t)
	f.stock = []StockRow{
		{StrategyID: 100006, AwardID: 101, Count: 100, Taken: 40, Recorded: 39},
		{StrategyID: 100006, AwardID: 102, Count: 10, Taken: 10, Recorded: 10},
	}
	cfg := baseConfig(srv.URL + "/") // a trailing slash is tolerated
	cfg.CheckStock = true
	var out bytes.Buffer
	rep, err := Run(t.Context(), cfg, &out)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, &out)
	}
	t.Logf("report:\n%s", &out)

	f.mu.Lock()
	defer f.mu.Unlock()
	// Setup: every user granted exactly once, the activity assembled once.
	if len(f.grants) != cfg.Users {
		t.Errorf("grants = %d, want %d", len(f.grants), cfg.Users)
	}
	granted := map[string]bool{}
	for _, g := range f.grants {
		if g.Total != 500 || g.Day != 500 || g.Month != 500 || g.ActivityID != testActivity {
			t.Errorf("grant %+v: want 500 draws of activity %d", g, testActivity)
		}
		granted[g.UserID] = true
	}
	if got := f.armories.Load(); got != 1 {
		t.Errorf("armory calls = %d, want 1", got)
	}
	// Round robin: 1000 requests over 50 users is 20 each, all granted users.
	for u, n := range f.perUser {
		if n != cfg.Requests/cfg.Users || !granted[u] {
			t.Errorf("user %s: %d draws (granted %v), want %d", u, n, granted[u], cfg.Requests/cfg.Users)
		}
	}
	if len(f.perUser) != cfg.Users {
		t.Errorf("distinct users drawing = %d, want %d", len(f.perUser), cfg.Users)
	}

	// Counts: exactly what the fake served.
	if rep.Requests != cfg.Requests || f.drawCalls != cfg.Requests {
		t.Errorf("requests = %d, server saw %d, want %d", rep.Requests, f.drawCalls, cfg.Requests)
	}
	if rep.Errors != f.hijacked || f.hijacked == 0 {
		t.Errorf("transport errors = %d, want %d (> 0)", rep.Errors, f.hijacked)
	}
	if !maps.Equal(rep.Codes, f.codes) {
		t.Errorf("codes = %v, want %v", rep.Codes, f.codes)
	}
	if !maps.Equal(rep.Awards, f.awards) {
		t.Errorf("awards = %v, want %v", rep.Awards, f.awards)
	}
	if rep.MissingAward != f.missing || f.missing == 0 {
		t.Errorf("missing awards = %d, want %d (> 0)", rep.MissingAward, f.missing)
	}
	sum := rep.Errors
	for _, n := range rep.Codes {
		sum += n
	}
	if sum != rep.Requests {
		t.Errorf("errors + codes = %d, want requests %d", sum, rep.Requests)
	}

	// Rates and latencies: one in ten answers took at least slowFor, so the 95th
	// and 99th percentiles and the maximum cannot be below it.
	if rep.Elapsed <= 0 {
		t.Fatalf("elapsed = %s", rep.Elapsed)
	}
	wantReq := float64(rep.Requests) / rep.Elapsed.Seconds()
	wantDraws := float64(rep.Codes["0000"]) / rep.Elapsed.Seconds()
	if rep.Throughput.Requests != wantReq || rep.Throughput.Draws != wantDraws {
		t.Errorf("throughput = %+v, want requests %.1f draws %.1f", rep.Throughput, wantReq, wantDraws)
	}
	if !(0 < rep.P50 && rep.P50 <= rep.P95 && rep.P95 <= rep.P99 && rep.P99 <= rep.Max) {
		t.Errorf("percentiles not ordered: p50 %s p95 %s p99 %s max %s", rep.P50, rep.P95, rep.P99, rep.Max)
	}
	if rep.P95 < slowFor || rep.Max < slowFor {
		t.Errorf("p95 %s, max %s: want ≥ %s (10%% of answers are that slow)", rep.P95, rep.Max, slowFor)
	}
	if rep.Max > rep.Elapsed {
		t.Errorf("max latency %s > elapsed %s", rep.Max, rep.Elapsed)
	}

	// Stock check ran and passed; the table says so.
	if rep.StockCheck == nil || !rep.StockCheck.Passed() || len(rep.StockCheck.Rows) != 2 || f.stockCalls != 1 {
		t.Errorf("stock check = %+v after %d calls, want passed with 2 rows", rep.StockCheck, f.stockCalls)
	}
	for _, want := range []string{"stock check: passed", "ERR_BIZ_006", "total quota insufficient", "HTTP 502 no envelope", "draws without award", "p99"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
}

func TestRunStopsAfterDuration(t *testing.T) {
	f, srv := newFake(t)
	cfg := baseConfig(srv.URL)
	cfg.Requests = 0
	cfg.Duration = 100 * time.Millisecond
	rep, err := Run(t.Context(), cfg, nil)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rep.Requests == 0 || rep.Requests != f.drawCalls {
		t.Errorf("requests = %d, server saw %d", rep.Requests, f.drawCalls)
	}
	if rep.Elapsed < cfg.Duration {
		t.Errorf("elapsed %s < duration %s", rep.Elapsed, cfg.Duration)
	}
	if rep.StockCheck != nil || f.stockCalls != 0 {
		t.Errorf("stock checked without CheckStock")
	}
}

func TestStockCheckCatchesViolations(t *testing.T) {
	f, srv := newFake(t)
	f.stock = []StockRow{
		{StrategyID: 100006, AwardID: 101, Count: 100, Taken: 100, Recorded: 100},
		{StrategyID: 100006, AwardID: 102, Count: 10, Taken: 10, Recorded: 11}, // oversold records
		{StrategyID: 100006, AwardID: 103, Count: 5, Taken: 6, Recorded: 5},    // counter past stock
	}
	cfg := baseConfig(srv.URL)
	cfg.Requests = 100
	cfg.CheckStock = true
	var out bytes.Buffer
	rep, err := Run(t.Context(), cfg, &out)
	if !errors.Is(err, ErrStockInvariant) {
		t.Fatalf("Run error = %v, want ErrStockInvariant", err)
	}
	for _, want := range []string{"award[102]: 11 records > stock 10", "award[103]: 6 taken > stock 5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if rep.StockCheck == nil || rep.StockCheck.Passed() || len(rep.StockCheck.Violations) != 2 {
		t.Errorf("stock check = %+v, want 2 violations", rep.StockCheck)
	}
	if rep.Requests != cfg.Requests {
		t.Errorf("report lost with the violation: requests = %d", rep.Requests)
	}
	if !strings.Contains(out.String(), "stock check: FAILED") || strings.Count(out.String(), "OVERSOLD") != 2 {
		t.Errorf("output does not show the violations:\n%s", &out)
	}
}

func TestCancelStopsRunPromptly(t *testing.T) {
	f, srv := newFake(t)
	f.blockDraws = true
	cfg := baseConfig(srv.URL)
	cfg.Requests = 0
	cfg.Duration = time.Hour
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	type result struct {
		rep Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := Run(ctx, cfg, nil)
		done <- result{rep, err}
	}()
	select {
	case <-f.drawArrived:
	case res := <-done:
		t.Fatalf("Run returned before drawing: %v", res.err)
	}
	cancel()
	select {
	case res := <-done:
		if !errors.Is(res.err, context.Canceled) {
			t.Errorf("Run error = %v, want context.Canceled", res.err)
		}
		if res.rep.Errors != 0 || res.rep.Requests != 0 {
			t.Errorf("aborted requests counted: %+v", res.rep)
		}
	case <-time.After(10 * time.Second): // a guard against hanging, not a measurement
		t.Fatal("Run still running 10s after cancel (duration was 1h)")
	}
}

func TestSetupFailuresStopBeforeDrawing(t *testing.T) {
	t.Run("grant refused", func(t *testing.T) {
		f, srv := newFake(t)
		cfg := baseConfig(srv.URL)
		cfg.AdminToken = "wrong"
		_, err := Run(t.Context(), cfg, nil)
		if !errors.Is(err, ErrUnexpectedAnswer) || !strings.Contains(err.Error(), "grant quota") {
			t.Errorf("Run error = %v, want a grant ErrUnexpectedAnswer", err)
		}
		if f.seq.Load() != 0 || f.armories.Load() != 0 {
			t.Errorf("drew or assembled after a failed grant")
		}
	})
	t.Run("armory refused", func(t *testing.T) {
		f, srv := newFake(t)
		f.armoryCode = "ERR_BIZ_003"
		_, err := Run(t.Context(), baseConfig(srv.URL), nil)
		if !errors.Is(err, ErrUnexpectedAnswer) || !strings.Contains(err.Error(), "ERR_BIZ_003") {
			t.Errorf("Run error = %v, want an armory ErrUnexpectedAnswer", err)
		}
		if f.seq.Load() != 0 {
			t.Errorf("drew after a failed armory")
		}
	})
	t.Run("server down", func(t *testing.T) {
		_, srv := newFake(t)
		srv.Close()
		_, err := Run(t.Context(), baseConfig(srv.URL), nil)
		if err == nil {
			t.Errorf("Run against a closed server succeeded")
		}
	})
	t.Run("no grant needs no token", func(t *testing.T) {
		f, srv := newFake(t)
		cfg := baseConfig(srv.URL)
		cfg.AdminToken = ""
		cfg.GrantQuota = -1
		cfg.Requests = 40
		rep, err := Run(t.Context(), cfg, nil)
		if err != nil || rep.Requests != 40 {
			t.Fatalf("Run = %d requests, %v", rep.Requests, err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if len(f.grants) != 0 {
			t.Errorf("granted %d times with GrantQuota < 0", len(f.grants))
		}
	})
}

func TestDefaultPrefixSeparatesRuns(t *testing.T) {
	f, srv := newFake(t)
	cfg := baseConfig(srv.URL)
	cfg.Users = 5
	cfg.Requests = 5
	var users [2]map[string]bool
	for i := range users {
		if _, err := Run(t.Context(), cfg, nil); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		f.mu.Lock()
		users[i] = map[string]bool{}
		for u := range f.perUser {
			users[i][u] = true
		}
		clear(f.perUser)
		f.mu.Unlock()
	}
	for u := range users[0] {
		if users[1][u] {
			t.Errorf("user %s drew in both runs", u)
		}
		if !strings.HasPrefix(u, "load-") {
			t.Errorf("user %s lacks the load- prefix", u)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.grants) != 2*cfg.Users { // the fake also fails the test on a repeated id
		t.Errorf("distinct grant ids = %d, want %d", len(f.grants), 2*cfg.Users)
	}
}

func TestBadConfigIsRejected(t *testing.T) {
	f, srv := newFake(t)
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"no base URL", func(c *Config) { c.BaseURL = "" }},
		{"no scheme", func(c *Config) { c.BaseURL = "127.0.0.1:8091" }},
		{"ftp scheme", func(c *Config) { c.BaseURL = "ftp://127.0.0.1" }},
		{"query in base URL", func(c *Config) { c.BaseURL = srv.URL + "?x=1" }},
		{"negative activity", func(c *Config) { c.ActivityID = -1 }},
		{"negative users", func(c *Config) { c.Users = -1 }},
		{"negative concurrency", func(c *Config) { c.Concurrency = -1 }},
		{"huge concurrency", func(c *Config) { c.Concurrency = MaxConcurrency + 1 }},
		{"negative duration", func(c *Config) { c.Duration = -time.Second }},
		{"negative requests", func(c *Config) { c.Requests = -5 }},
		{"grant without token", func(c *Config) { c.AdminToken = "" }},
		{"stock check without token", func(c *Config) { c.AdminToken, c.GrantQuota, c.CheckStock = "", -1, true }},
		{"user ids too long", func(c *Config) { c.UserPrefix = strings.Repeat("u", 63) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig(srv.URL)
			tt.edit(&cfg)
			if _, err := Run(t.Context(), cfg, nil); !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("Run error = %v, want ErrInvalidConfig", err)
			}
		})
	}
	if f.armories.Load() != 0 || f.seq.Load() != 0 || len(f.grants) != 0 {
		t.Errorf("a rejected config reached the server")
	}
}

// BenchmarkDrawLoop measures the load generator's own ceiling against a server that
// answers a fixed successful draw: the figure is what the client side can drive on
// this machine, server included.
func BenchmarkDrawLoop(b *testing.B) {
	body := []byte(`{"code":"0000","info":"ok","data":{"awardId":101,"awardTitle":"x","awardIndex":1}}` + "\n")
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathArmory, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"code":"0000","info":"ok","data":true}`))
	})
	mux.HandleFunc("POST "+pathDraw, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := Config{BaseURL: srv.URL, GrantQuota: -1, Concurrency: 64, Requests: b.N}
	b.ResetTimer()
	rep, err := Run(b.Context(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	if rep.Codes["0000"] != b.N {
		b.Fatalf("successes = %d, want %d", rep.Codes["0000"], b.N)
	}
	b.ReportMetric(rep.Throughput.Draws, "draws/s")
	b.ReportMetric(float64(rep.P99.Microseconds()), "p99-µs")
}
