package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/campaign"
)

const adminToken = "test-admin"

type scenario struct {
	name     string
	method   string
	path     string
	body     string
	admin    bool
	header   map[string]string
	wantHTTP int    // zero means 200
	wantCode string // envelope code
	check    func(t *testing.T, data json.RawMessage)
}

type envelope struct {
	Code string          `json:"code"`
	Info string          `json:"info"`
	Data json.RawMessage `json:"data"`
}

func do(t *testing.T, h http.Handler, sc scenario) envelope {
	t.Helper()
	req := httptest.NewRequest(sc.method, sc.path, strings.NewReader(sc.body))
	req.Header.Set("Content-Type", "application/json")
	if sc.admin {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	for k, v := range sc.header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	want := sc.wantHTTP
	if want == 0 {
		want = http.StatusOK
	}
	if rec.Code != want {
		t.Fatalf("%s %s: HTTP %d, want %d; body %s", sc.method, sc.path, rec.Code, want, rec.Body.String())
	}
	var env envelope
	if rec.Code != http.StatusNoContent {
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("%s %s: answer is not the envelope: %v: %s", sc.method, sc.path, err, rec.Body.String())
		}
		if env.Info == "" {
			t.Errorf("%s %s: empty info", sc.method, sc.path)
		}
	}
	return env
}

func run(t *testing.T, h http.Handler, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			env := do(t, h, sc)
			if sc.wantCode != "" && env.Code != sc.wantCode {
				t.Fatalf("code %q (%s), want %q", env.Code, env.Info, sc.wantCode)
			}
			if sc.check != nil {
				sc.check(t, env.Data)
			}
		})
	}
}

const raffle = "/api/v1/raffle/strategy/random_raffle"

func TestStrategyEndpoints(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	huge := `{"strategyId":` + strings.Repeat("9", 40) + `}`
	bigBody := `{"strategyId":100006,"pad":"` + strings.Repeat("x", 10<<20) + `"}`
	run(t, h, []scenario{
		{name: "armory", method: "GET", path: "/api/v1/raffle/strategy/strategy_armory?strategyId=100006", wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if string(d) != "true" {
					t.Fatalf("data %s, want true", d)
				}
			}},
		{name: "armory unknown strategy", method: "GET", path: "/api/v1/raffle/strategy/strategy_armory?strategyId=42", wantCode: "ERR_BIZ_002"},
		{name: "armory missing id", method: "GET", path: "/api/v1/raffle/strategy/strategy_armory", wantCode: "0002"},
		{name: "armory negative id", method: "GET", path: "/api/v1/raffle/strategy/strategy_armory?strategyId=-1", wantCode: "0002"},
		{name: "armory not a number", method: "GET", path: "/api/v1/raffle/strategy/strategy_armory?strategyId=abc", wantCode: "0002"},
		{name: "armory huge id", method: "GET", path: "/api/v1/raffle/strategy/strategy_armory?strategyId=99999999999999999999999", wantCode: "0002"},
		{name: "random raffle", method: "POST", path: raffle, body: `{"strategyId":100006}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				var r struct{ AwardID, AwardIndex int64 }
				if err := json.Unmarshal(d, &r); err != nil || r.AwardID < 101 || r.AwardID > 108 || r.AwardIndex < 1 {
					t.Fatalf("data %s: want an award of strategy 100006 with its index", d)
				}
			}},
		{name: "random raffle unknown strategy", method: "POST", path: raffle, body: `{"strategyId":123}`, wantCode: "ERR_BIZ_002"},
		{name: "malformed JSON", method: "POST", path: raffle, body: `{"strategyId":`, wantCode: "0002"},
		{name: "not JSON", method: "POST", path: raffle, body: `strategyId=100006`, wantCode: "0002"},
		{name: "wrong type string", method: "POST", path: raffle, body: `{"strategyId":"100006"}`, wantCode: "0002"},
		{name: "wrong type float", method: "POST", path: raffle, body: `{"strategyId":1.5}`, wantCode: "0002"},
		{name: "wrong type array", method: "POST", path: raffle, body: `[1,2]`, wantCode: "0002"},
		{name: "missing field", method: "POST", path: raffle, body: `{}`, wantCode: "0002"},
		{name: "empty body", method: "POST", path: raffle, body: ``, wantCode: "0002"},
		{name: "null", method: "POST", path: raffle, body: `null`, wantCode: "0002"},
		{name: "negative id", method: "POST", path: raffle, body: `{"strategyId":-5}`, wantCode: "0002"},
		{name: "huge id", method: "POST", path: raffle, body: huge, wantCode: "0002"},
		{name: "trailing data", method: "POST", path: raffle, body: `{"strategyId":100006} {"x":1}`, wantCode: "0002"},
		{name: "10 MB body", method: "POST", path: raffle, body: bigBody, wantHTTP: http.StatusRequestEntityTooLarge, wantCode: "0002"},
		{name: "unknown route", method: "GET", path: "/api/v1/raffle/nope", wantHTTP: http.StatusNotFound, wantCode: "0002"},
		{name: "wrong method", method: "GET", path: raffle, wantHTTP: http.StatusMethodNotAllowed, wantCode: "0002"},
		{name: "healthz", method: "GET", path: "/healthz", wantCode: "0000"},
		{name: "readyz", method: "GET", path: "/readyz", wantCode: "0000"},
	})
}

func TestCORSPreflight(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	req := httptest.NewRequest(http.MethodOptions, raffle, nil)
	req.Header.Set("Origin", "http://pages.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent || rec.Header().Get("Access-Control-Allow-Origin") != "http://pages.example" ||
		!strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: HTTP %d headers %v", rec.Code, rec.Header())
	}
}

func TestAdminCampaignAndSimulate(t *testing.T) {
	a := apptest.New(t, nil)
	h := a.Handler()
	exported := func(t *testing.T) string {
		env := do(t, h, scenario{method: "GET", path: "/api/admin/v1/campaign/export", admin: true})
		var y string
		if err := json.Unmarshal(env.Data, &y); err != nil || !strings.Contains(y, "strategies:") {
			t.Fatalf("export data %s", env.Data)
		}
		return y
	}
	before := exported(t)
	bad := strings.Replace(string(campaign.Demo()), "tree: tree_lock_3", "tree: tree_lock_9", 1)
	bad = strings.Replace(bad, `rate: "0.3"`, `rate: "1.5"`, 1)
	run(t, h, []scenario{
		{name: "no token", method: "GET", path: "/api/admin/v1/campaign/export", wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "wrong token", method: "GET", path: "/api/admin/v1/campaign/export", header: map[string]string{"Authorization": "Bearer nope"}, wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "validate demo", method: "POST", path: "/api/admin/v1/campaign/validate", admin: true, body: string(campaign.Demo()), wantCode: "0000"},
		{name: "validate bad", method: "POST", path: "/api/admin/v1/campaign/validate", admin: true, body: bad, wantCode: "0002",
			check: func(t *testing.T, d json.RawMessage) {
				var p struct{ Problems []string }
				json.Unmarshal(d, &p)
				joined := strings.Join(p.Problems, "\n")
				if len(p.Problems) < 2 || !strings.Contains(joined, `unknown rule tree "tree_lock_9"`) || !strings.Contains(joined, "rate") {
					t.Fatalf("problems %q: want the tree and the rate", p.Problems)
				}
			}},
		{name: "apply bad", method: "POST", path: "/api/admin/v1/campaign/apply", admin: true, body: bad, wantCode: "0002"},
		{name: "apply garbage", method: "POST", path: "/api/admin/v1/campaign/apply", admin: true, body: "{{{", wantCode: "0002"},
		{name: "apply empty", method: "POST", path: "/api/admin/v1/campaign/apply", admin: true, body: "", wantCode: "0002"},
		{name: "simulate", method: "POST", path: "/api/admin/v1/strategy/simulate", admin: true, body: `{"strategyId":100006,"draws":20000}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				var r struct{ Counts map[string]int }
				json.Unmarshal(d, &r)
				total := 0
				for id, n := range r.Counts {
					if id == "105" || id == "106" || id == "107" {
						t.Errorf("award %s is locked for a new user but was simulated %d times", id, n)
					}
					total += n
				}
				if total != 20000 {
					t.Fatalf("counts %v add up to %d, want 20000", r.Counts, total)
				}
			}},
		{name: "simulate too many", method: "POST", path: "/api/admin/v1/strategy/simulate", admin: true, body: `{"strategyId":100006,"draws":100000000}`, wantCode: "0002"},
		{name: "simulate unknown", method: "POST", path: "/api/admin/v1/strategy/simulate", admin: true, body: `{"strategyId":7,"draws":10}`, wantCode: "ERR_BIZ_002"},
	})
	if after := exported(t); after != before {
		t.Fatal("a rejected campaign changed the stored configuration")
	}
	// Applying a changed campaign reaches the running engine without restart.
	changed := strings.Replace(string(campaign.Demo()), "- id: 100004\n    desc: 抽奖策略-随机抽奖", "- id: 100004\n    desc: changed", 1)
	changed += "\n" // keep the file otherwise equal
	changed = strings.Replace(changed, "strategies:\n", "strategies:\n  - id: 555\n    desc: new\n    awards:\n      - {award: 101, title: t, count: 5, rate: \"1\", tree: tree_luck_award, sort: 1}\n", 1)
	changed = strings.Replace(changed, "activities:\n", "activities:\n", 1)
	env := do(t, h, scenario{method: "POST", path: "/api/admin/v1/campaign/apply", admin: true, body: changed})
	if env.Code != "0000" {
		t.Fatalf("apply changed campaign: %s %s %s", env.Code, env.Info, env.Data)
	}
	env = do(t, h, scenario{method: "POST", path: raffle, body: `{"strategyId":555}`})
	if env.Code != "0000" || !bytes.Contains(env.Data, []byte(`"awardId":101`)) {
		t.Fatalf("raffle on the newly applied strategy: %s %s %s", env.Code, env.Info, env.Data)
	}
	// Applying the exported file again is a no-op on the export.
	again := exported(t)
	env = do(t, h, scenario{method: "POST", path: "/api/admin/v1/campaign/apply", admin: true, body: again})
	if env.Code != "0000" || exported(t) != again {
		t.Fatalf("export → apply → export is not stable: %s %s", env.Code, env.Info)
	}
}

func TestRandomRaffleNeverOversells(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	const n = 64
	results := make(chan string, n)
	for range n {
		go func() {
			env := do(t, h, scenario{method: "POST", path: raffle, body: `{"strategyId":100004}`})
			results <- env.Code + " " + string(env.Data)
		}()
	}
	won := 0
	for range n {
		r := <-results
		switch {
		case strings.Contains(r, `"awardId":109`):
			won++
		case !strings.HasPrefix(r, "0000") || !strings.Contains(r, `"awardId":101`):
			t.Errorf("answer %s: want 109 (stock 1) or the luck award 101", r)
		}
	}
	if won != 1 {
		t.Fatalf("award 109 (stock 1) issued %d times to concurrent raffles, want exactly 1", won)
	}
}

// FuzzRequestDecoding sends arbitrary bodies to JSON endpoints: every answer is the
// envelope with a known code and never a 5xx.
func FuzzRequestDecoding(f *testing.F) {
	h := apptest.New(f, nil).Handler()
	for _, s := range []string{`{"strategyId":100006}`, `{"strategyId":"1"}`, `{`, `[]`, `null`, `{"strategyId":1e400}`, "\x00\xff", `{"strategyId":100006,"draws":5}`} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, body string, simulate bool) {
		path := raffle
		if simulate {
			path = "/api/admin/v1/strategy/simulate"
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("HTTP %d for %q: %s", rec.Code, body, rec.Body.String())
		}
		var env envelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Code == "" || env.Code == "0001" {
			t.Fatalf("answer %q for %q: want the envelope with a client or business code", rec.Body.String(), body)
		}
	})
}

func TestSwitches(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	run(t, h, []scenario{
		{name: "dcc no token", method: "GET", path: "/api/v1/raffle/dcc/update_config?key=degradeSwitch&value=open", wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "dcc bad value", method: "GET", path: "/api/v1/raffle/dcc/update_config?key=degradeSwitch&value=maybe", admin: true, wantCode: "0002"},
		{name: "dcc unknown key", method: "GET", path: "/api/v1/raffle/dcc/update_config?key=nope&value=open", admin: true, wantCode: "0002"},
		{name: "dcc open", method: "GET", path: "/api/v1/raffle/dcc/update_config?key=degradeSwitch&value=open", admin: true, wantCode: "0000"},
		{name: "list", method: "GET", path: "/api/admin/v1/switches", admin: true, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"degradeSwitch":"open"`) {
					t.Fatalf("switches %s", d)
				}
			}},
		{name: "put", method: "PUT", path: "/api/admin/v1/switches", admin: true, body: `{"key":"degradeSwitch","value":"close"}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"degradeSwitch":"close"`) {
					t.Fatalf("switches %s", d)
				}
			}},
		{name: "put malformed", method: "PUT", path: "/api/admin/v1/switches", admin: true, body: `{"key":1}`, wantCode: "0002"},
	})
}
