package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/rebatedb"
)

// newTestApp wires an embedded instance as apptest.New does (which this
// package's own tests cannot import), so that they can reach its stores.
func newTestApp(t *testing.T, mutate func(*config.Config)) *App {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminToken = "test-admin"
	if mutate != nil {
		mutate(&cfg)
	}
	a, err := New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("wire app: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	})
	return a
}

// A webhook award whose delivery keeps failing ends failed with its last error
// after the reconciler's attempts; the operator sees it in users/{userId} and
// retries it through the admin API once the receiver is fixed.
func TestFailedAwardVisibleAndRetriable(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	var posts atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "receiver down for maintenance", http.StatusServiceUnavailable)
			return
		}
		posts.Add(1)
	}))
	defer receiver.Close()
	a := newTestApp(t, func(c *config.Config) {
		c.Webhooks = map[string]config.Webhook{"openai_use_count": {URL: receiver.URL, Secret: "k"}}
		c.Reconcile = config.Reconcile{Deadline: time.Second, MaxAttempts: 1}
	})
	ctx := context.Background()
	records := awarddb.New(a.db)
	err := records.Insert(ctx, award.Record{UserID: "stuck-user", ActivityID: 100301, StrategyID: 100006,
		OrderID: "stuck-order", AwardID: 102, AwardTitle: "OpenAI 增加使用次数", AwardConfig: "5",
		State: award.RecordCreate, Time: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	// First run: one attempt, failed at the receiver; after the deadline the
	// second run gives up.
	if _, err := a.reconciler.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := a.reconciler.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var m dto.Metric
	if err := a.metrics.reconciles.WithLabelValues("award", "failed").Write(&m); err != nil || m.GetCounter().GetValue() != 1 {
		t.Fatalf("bigmarket_reconciler_records_total{kind=award,outcome=failed} = %v (%v), want 1", m.GetCounter().GetValue(), err)
	}

	type recordView struct {
		OrderID   string `json:"orderId"`
		State     string `json:"awardState"`
		Attempts  int    `json:"attempts"`
		LastError string `json:"lastError"`
	}
	userRecord := func(t *testing.T, data json.RawMessage) recordView {
		var u struct {
			AwardRecords []recordView `json:"awardRecords"`
		}
		if err := json.Unmarshal(data, &u); err != nil || len(u.AwardRecords) != 1 {
			t.Fatalf("user data %s: want one award record", data)
		}
		return u.AwardRecords[0]
	}
	record := func(t *testing.T, data json.RawMessage) recordView {
		var r recordView
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatalf("data %s: %v", data, err)
		}
		return r
	}
	retry := "/api/admin/v1/users/stuck-user/awards/stuck-order/retry"
	for _, sc := range []struct {
		name     string
		method   string
		path     string
		admin    bool
		before   func()
		wantHTTP int
		wantCode string
		check    func(t *testing.T, data json.RawMessage)
	}{
		{name: "failed record visible", method: "GET", path: "/api/admin/v1/users/stuck-user", admin: true, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				r := userRecord(t, d)
				if r.State != "failed" || r.Attempts != 1 || !strings.Contains(r.LastError, "receiver down for maintenance") {
					t.Fatalf("record %+v: want failed after 1 attempt with the receiver's answer", r)
				}
			}},
		{name: "retry needs the admin token", method: "POST", path: retry, wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "retry of an unknown record", method: "POST", path: "/api/admin/v1/users/stuck-user/awards/nope/retry", admin: true, wantCode: "0002"},
		{name: "retry of another user's record", method: "POST", path: "/api/admin/v1/users/someone/awards/stuck-order/retry", admin: true, wantCode: "0002"},
		{name: "retry with an order id too long", method: "POST", path: "/api/admin/v1/users/stuck-user/awards/" + strings.Repeat("9", 65) + "/retry", admin: true, wantCode: "0002"},
		{name: "retry while still broken", method: "POST", path: retry, admin: true, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if r := record(t, d); r.State != "create" || r.Attempts != 0 || !strings.Contains(r.LastError, "503") {
					t.Fatalf("record %+v: want create again (for the reconciler), no attempts, the new error", r)
				}
			}},
		{name: "retry once fixed", method: "POST", path: retry, admin: true, before: func() { broken.Store(false) }, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if r := record(t, d); r.State != "completed" || posts.Load() != 1 {
					t.Fatalf("record %+v after %d posts: want completed after 1", r, posts.Load())
				}
			}},
		{name: "retry of a completed record changes nothing", method: "POST", path: retry, admin: true, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if r := record(t, d); r.State != "completed" || posts.Load() != 1 {
					t.Fatalf("record %+v after %d posts: want completed, no second post", r, posts.Load())
				}
			}},
		{name: "wrong method", method: "GET", path: retry, admin: true, wantHTTP: http.StatusMethodNotAllowed, wantCode: "0002"},
	} {
		t.Run(sc.name, func(t *testing.T) {
			if sc.before != nil {
				sc.before()
			}
			req := httptest.NewRequest(sc.method, sc.path, nil)
			if sc.admin {
				req.Header.Set("Authorization", "Bearer "+a.AdminToken)
			}
			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, req)
			want := sc.wantHTTP
			if want == 0 {
				want = http.StatusOK
			}
			var env struct {
				Code string          `json:"code"`
				Info string          `json:"info"`
				Data json.RawMessage `json:"data"`
			}
			if rec.Code != want || json.Unmarshal(rec.Body.Bytes(), &env) != nil || env.Code != sc.wantCode || env.Info == "" {
				t.Fatalf("%s %s: HTTP %d %s; want HTTP %d code %s", sc.method, sc.path, rec.Code, rec.Body.String(), want, sc.wantCode)
			}
			if sc.check != nil {
				sc.check(t, env.Data)
			}
		})
	}
}

// A rebate order left undelivered is retried through the admin API: granted
// once, whatever the number of retries; a refused one keeps its error.
func TestRebateRetry(t *testing.T) {
	a := newTestApp(t, nil)
	ctx := context.Background()
	store := rebatedb.New(a.db)
	mk := func(id string, typ rebate.Type, config string) {
		o := rebate.Order{UserID: "rebate-user", OrderID: id, Behavior: "pay", Type: typ, Config: config,
			OutBusinessNo: id, BizID: rebate.BizID("rebate-user", typ, id), Time: time.Now().Add(-time.Hour)}
		if err := store.Create(ctx, []rebate.Order{o}, nil); err != nil {
			t.Fatal(err)
		}
	}
	mk("r-credit", rebate.TypeIntegral, "7.5")
	mk("r-bad", rebate.TypeIntegral, "lots")
	post := func(path string) (string, map[string]any) {
		req := httptest.NewRequest(http.MethodPost, path, nil)
		req.Header.Set("Authorization", "Bearer "+a.AdminToken)
		rec := httptest.NewRecorder()
		a.Handler().ServeHTTP(rec, req)
		var env struct {
			Code string         `json:"code"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("%s: %s", path, rec.Body.String())
		}
		return env.Code, env.Data
	}
	for _, sc := range []struct {
		name, path, wantCode, wantState, wantError string
	}{
		{"grant", "/api/admin/v1/users/rebate-user/rebates/r-credit/retry", "0000", "completed", ""},
		{"again: nothing more", "/api/admin/v1/users/rebate-user/rebates/r-credit/retry", "0000", "completed", ""},
		{"refused config", "/api/admin/v1/users/rebate-user/rebates/r-bad/retry", "0000", "create", "not a positive amount"},
		{"unknown order", "/api/admin/v1/users/rebate-user/rebates/nope/retry", "0002", "", ""},
	} {
		t.Run(sc.name, func(t *testing.T) {
			code, data := post(sc.path)
			if code != sc.wantCode {
				t.Fatalf("code %s (%v), want %s", code, data, sc.wantCode)
			}
			if sc.wantState != "" && (data["state"] != sc.wantState || !strings.Contains(data["lastError"].(string), sc.wantError)) {
				t.Fatalf("order %v: want state %s, last error with %q", data, sc.wantState, sc.wantError)
			}
		})
	}
	if b, err := creditdb.New(a.db).Balance(ctx, "rebate-user"); err != nil || b.String() != "7.50" {
		t.Fatalf("balance %s, %v; want 7.50 (granted once)", b, err)
	}
}
