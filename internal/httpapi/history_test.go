package httpapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/config"
)

const (
	awardListPath = "/api/v1/raffle/activity/query_user_award_list"
	ledgerPath    = "/api/v1/raffle/activity/query_user_credit_ledger"
)

type page[T any] struct {
	Page, Size int
	HasMore    bool
	List       []T
}

type awardRow struct {
	Time       time.Time
	AwardID    int64
	AwardTitle string
	State      string
	OrderID    string
}

type ledgerRow struct {
	Time         time.Time
	Amount       float64
	TradeName    string
	TradeType    string
	BalanceAfter float64
}

func decodePage[T any](t *testing.T, d json.RawMessage) page[T] {
	t.Helper()
	var p page[T]
	if err := json.Unmarshal(d, &p); err != nil {
		t.Fatalf("page %s: %v", d, err)
	}
	return p
}

func TestUserAwardList(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	const user = "award-list-user"
	grant(t, h, "award-list-grant", user, 100301, 10, 10, 10)
	var won []int64
	for range 3 {
		env := do(t, h, scenario{method: "POST", path: drawPath, body: drawBody(user, 100301)})
		if env.Code != "0000" {
			t.Fatalf("draw: %s %s", env.Code, env.Info)
		}
		var r struct{ AwardID int64 }
		json.Unmarshal(env.Data, &r)
		won = append(won, r.AwardID)
	}
	list := func(body string) string { return body }
	eventually(t, func() error {
		env := do(t, h, scenario{method: "POST", path: awardListPath, body: `{"userId":"` + user + `","activityId":100301,"page":1,"size":10}`})
		if p := decodePage[awardRow](t, env.Data); len(p.List) != 3 {
			return errorf("records %s, want 3", env.Data)
		}
		return nil
	})
	run(t, h, []scenario{
		{name: "first page newest first", method: "POST", path: awardListPath, body: list(`{"userId":"` + user + `","activityId":100301,"page":1,"size":2}`), wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				p := decodePage[awardRow](t, d)
				if len(p.List) != 2 || !p.HasMore || p.Page != 1 || p.Size != 2 {
					t.Fatalf("page 1 of 2: %s", d)
				}
				if p.List[0].AwardID != won[2] || p.List[1].AwardID != won[1] || p.List[0].Time.Before(p.List[1].Time) {
					t.Fatalf("page 1 %s: want the last two draws %v newest first", d, won[1:])
				}
				for _, r := range p.List {
					if r.AwardTitle == "" || r.State == "" || r.OrderID == "" {
						t.Fatalf("record without title, state or order: %s", d)
					}
				}
			}},
		{name: "last page", method: "POST", path: awardListPath, body: `{"userId":"` + user + `","activityId":100301,"page":2,"size":2}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				p := decodePage[awardRow](t, d)
				if len(p.List) != 1 || p.HasMore || p.List[0].AwardID != won[0] {
					t.Fatalf("page 2: %s, want the first draw %d and no more", d, won[0])
				}
			}},
		{name: "defaults page 1 size 10", method: "POST", path: awardListPath, body: `{"userId":"` + user + `","activityId":100301}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if p := decodePage[awardRow](t, d); p.Page != 1 || p.Size != 10 || len(p.List) != 3 {
					t.Fatalf("defaults: %s", d)
				}
			}},
		{name: "other activity is empty", method: "POST", path: awardListPath, body: `{"userId":"` + user + `","activityId":100401}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if p := decodePage[awardRow](t, d); len(p.List) != 0 || p.List == nil {
					t.Fatalf("records on 100401: %s, want an empty list", d)
				}
			}},
		{name: "unknown user is empty", method: "POST", path: awardListPath, body: `{"userId":"nobody-at-all","activityId":100301}`, wantCode: "0000"},
		{name: "page 0", method: "POST", path: awardListPath, body: `{"userId":"u","activityId":100301,"page":0}`, wantCode: "0002"},
		{name: "negative page", method: "POST", path: awardListPath, body: `{"userId":"u","activityId":100301,"page":-1}`, wantCode: "0002"},
		{name: "page too far", method: "POST", path: awardListPath, body: `{"userId":"u","activityId":100301,"page":10001}`, wantCode: "0002"},
		{name: "size 0", method: "POST", path: awardListPath, body: `{"userId":"u","activityId":100301,"size":0}`, wantCode: "0002"},
		{name: "size 101", method: "POST", path: awardListPath, body: `{"userId":"u","activityId":100301,"size":101}`, wantCode: "0002"},
		{name: "size not a number", method: "POST", path: awardListPath, body: `{"userId":"u","activityId":100301,"size":"5"}`, wantCode: "0002"},
		{name: "missing user", method: "POST", path: awardListPath, body: `{"activityId":100301}`, wantCode: "0002"},
		{name: "missing activity", method: "POST", path: awardListPath, body: `{"userId":"u"}`, wantCode: "0002"},
		{name: "malformed", method: "POST", path: awardListPath, body: `{"userId":`, wantCode: "0002"},
		{name: "wrong method", method: "GET", path: awardListPath, wantHTTP: http.StatusMethodNotAllowed, wantCode: "0002"},
		{name: "by token refused in open mode", method: "POST", path: awardListPath + "_by_token", body: `{"activityId":100301}`, wantCode: "0003"},
	})
}

func TestUserCreditLedger(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	const user = "ledger-user"
	if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate?userId=" + user}); env.Code != "0000" {
		t.Fatalf("sign in: %s %s", env.Code, env.Info)
	}
	eventually(t, func() error {
		env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/query_user_credit_account?userId=" + user})
		if string(env.Data) != "10.00" {
			return errorf("credit %s, want 10.00 after sign-in", env.Data)
		}
		return nil
	})
	if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/credit_pay_exchange_sku", body: `{"userId":"` + user + `","sku":9014}`}); env.Code != "0000" {
		t.Fatalf("exchange: %s %s", env.Code, env.Info)
	}
	run(t, h, []scenario{
		{name: "newest first with the balance after each", method: "POST", path: ledgerPath, body: `{"userId":"` + user + `"}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				p := decodePage[ledgerRow](t, d)
				if len(p.List) != 2 || p.HasMore {
					t.Fatalf("ledger %s, want the exchange and the rebate", d)
				}
				x, r := p.List[0], p.List[1]
				if x.TradeName != "exchange" || x.TradeType != "reverse" || x.Amount != -5 || x.BalanceAfter != 5 {
					t.Fatalf("first row %+v, want the exchange: -5.00, balance 5.00", x)
				}
				if r.TradeName != "rebate" || r.TradeType != "forward" || r.Amount != 10 || r.BalanceAfter != 10 {
					t.Fatalf("second row %+v, want the rebate: +10.00, balance 10.00", r)
				}
			}},
		{name: "second page keeps the balance right", method: "POST", path: ledgerPath, body: `{"userId":"` + user + `","page":2,"size":1}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				p := decodePage[ledgerRow](t, d)
				if len(p.List) != 1 || p.HasMore || p.List[0].TradeName != "rebate" || p.List[0].BalanceAfter != 10 {
					t.Fatalf("page 2 of size 1: %s, want the rebate with balance 10.00", d)
				}
			}},
		{name: "first page of size 1 has more", method: "POST", path: ledgerPath, body: `{"userId":"` + user + `","page":1,"size":1}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if p := decodePage[ledgerRow](t, d); len(p.List) != 1 || !p.HasMore {
					t.Fatalf("page 1 of size 1: %s", d)
				}
			}},
		{name: "no orders", method: "POST", path: ledgerPath, body: `{"userId":"someone-new"}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"list":[]`) {
					t.Fatalf("ledger of a new user: %s", d)
				}
			}},
		{name: "size too big", method: "POST", path: ledgerPath, body: `{"userId":"u","size":1000}`, wantCode: "0002"},
		{name: "page 0", method: "POST", path: ledgerPath, body: `{"userId":"u","page":0}`, wantCode: "0002"},
		{name: "missing user", method: "POST", path: ledgerPath, body: `{}`, wantCode: "0002"},
		{name: "user too long", method: "POST", path: ledgerPath, body: `{"userId":"` + strings.Repeat("x", 65) + `"}`, wantCode: "0002"},
		{name: "empty body", method: "POST", path: ledgerPath, wantCode: "0002"},
	})
}

func TestHistoryByToken(t *testing.T) {
	h := apptest.New(t, tokenMode).Handler()
	good := userJWT(t, "xiaofuge", time.Hour, jwtSecret)
	bearer := map[string]string{"Authorization": "Bearer " + good}
	if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/draw_by_token", body: `{"activityId":100301}`, header: bearer}); env.Code != "0000" {
		t.Fatalf("draw by token: %s %s", env.Code, env.Info)
	}
	run(t, h, []scenario{
		{name: "plain award list needs the app token", method: "POST", path: awardListPath, body: `{"userId":"xiaofuge","activityId":100301}`, wantCode: "0003"},
		{name: "plain ledger needs the app token", method: "POST", path: ledgerPath, body: `{"userId":"xiaofuge"}`, wantCode: "0003"},
		{name: "ledger by token", method: "POST", path: ledgerPath + "_by_token", body: `{"page":1,"size":5}`, header: bearer, wantCode: "0000"},
		{name: "ledger by token bad size", method: "POST", path: ledgerPath + "_by_token", body: `{"size":500}`, header: bearer, wantCode: "0002"},
		{name: "no token", method: "POST", path: ledgerPath + "_by_token", body: `{}`, wantCode: "0003"},
		{name: "rule weight by token", method: "POST", path: "/api/v1/raffle/strategy/query_raffle_strategy_rule_weight_by_token", body: `{"activityId":100301}`, header: bearer, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"userActivityAccountTotalUseCount":1`) {
					t.Fatalf("rule weight of the token's user: %s", d)
				}
			}},
	})
	eventually(t, func() error {
		env := do(t, h, scenario{method: "POST", path: awardListPath + "_by_token", body: `{"userId":"someone-else","activityId":100301}`, header: bearer})
		if env.Code != "0000" {
			t.Fatalf("award list by token: %s %s", env.Code, env.Info)
		}
		if p := decodePage[awardRow](t, env.Data); len(p.List) != 1 {
			return errorf("award list by token %s: want the token user's one record", env.Data)
		}
		return nil
	})
}

func TestActivityInfo(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	run(t, h, []scenario{
		{name: "list", method: "POST", path: "/api/v1/raffle/activity/query_activity_list", body: `{}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				var l []struct {
					ActivityID    int64
					ActivityName  string
					State         string
					BeginDateTime time.Time
					EndDateTime   time.Time
				}
				json.Unmarshal(d, &l)
				if len(l) != 2 || l[0].ActivityID != 100301 || l[0].ActivityName != "测试活动" || l[0].State != "open" || !l[0].EndDateTime.After(l[0].BeginDateTime) {
					t.Fatalf("activities %s", d)
				}
			}},
		{name: "one", method: "POST", path: "/api/v1/raffle/activity/query_activity_info", body: `{"activityId":100401}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"activityName":"OpenAi抽奖活动"`) || !strings.Contains(string(d), `"now":`) {
					t.Fatalf("activity %s", d)
				}
			}},
		{name: "unknown", method: "POST", path: "/api/v1/raffle/activity/query_activity_info", body: `{"activityId":42}`, wantCode: "0002"},
		{name: "missing id", method: "POST", path: "/api/v1/raffle/activity/query_activity_info", body: `{}`, wantCode: "0002"},
		{name: "award list names the award kind", method: "POST", path: "/api/v1/raffle/strategy/query_raffle_award_list", body: drawBody("u", 100301), wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"awardId":101,"awardTitle":"随机积分"`) || !strings.Contains(string(d), `"awardKey":"user_credit_random"`) {
					t.Fatalf("award list %s: want award 101 with its key", d)
				}
			}},
	})
}

// TestInfoFollowsAcceptLanguage: the same code, with the original platform's
// Chinese text for a Chinese client and English otherwise.
func TestInfoFollowsAcceptLanguage(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	zh := map[string]string{"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
	en := map[string]string{"Accept-Language": "en-US,en;q=0.9"}
	enFirst := map[string]string{"Accept-Language": "zh;q=0.5, en"}
	cases := []struct {
		name       string
		sc         scenario
		code, info string
	}{
		{"no quota zh", scenario{method: "POST", path: drawPath, body: drawBody("no-quota", 100301), header: zh}, "ERR_BIZ_006", "账户总额度不足"},
		{"no quota en", scenario{method: "POST", path: drawPath, body: drawBody("no-quota", 100301), header: en}, "ERR_BIZ_006", "total quota insufficient"},
		{"no quota no header", scenario{method: "POST", path: drawPath, body: drawBody("no-quota", 100301)}, "ERR_BIZ_006", "total quota insufficient"},
		{"q-values decide", scenario{method: "POST", path: drawPath, body: drawBody("no-quota", 100301), header: enFirst}, "ERR_BIZ_006", "total quota insufficient"},
		{"success zh", scenario{method: "POST", path: "/api/v1/raffle/activity/query_activity_info", body: `{"activityId":100301}`, header: zh}, "0000", "调用成功"},
		{"success en", scenario{method: "POST", path: "/api/v1/raffle/activity/query_activity_info", body: `{"activityId":100301}`, header: en}, "0000", "success"},
		{"bad input zh", scenario{method: "POST", path: ledgerPath, body: `{}`, header: zh}, "0002", "参数错误"},
		{"credit short zh", scenario{method: "POST", path: "/api/v1/raffle/activity/credit_pay_exchange_sku", body: `{"userId":"poor","sku":9011}`, header: zh}, "ERR_CREDIT_001", "用户积分账户额度不足"},
		{"unknown activity zh", scenario{method: "POST", path: drawPath, body: drawBody("u", 999), header: zh}, "0002", "参数错误"},
		{"missing token zh", scenario{method: "POST", path: ledgerPath + "_by_token", body: `{}`, header: zh}, "0003", "用户令牌无效或缺失"},
		{"first sign-in zh", scenario{method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate?userId=twice", header: zh}, "0000", "调用成功"},
		{"duplicate sign-in zh", scenario{method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate?userId=twice", header: zh}, "0003", "唯一索引冲突"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := do(t, h, c.sc)
			if env.Code != c.code || env.Info != c.info {
				t.Fatalf("answer %s %q, want %s %q", env.Code, env.Info, c.code, c.info)
			}
		})
	}
}

// TestPages: the lottery page and its assets are served from the embedded
// build with their caching, security and encoding headers; the API is
// unchanged; ui=false leaves an API-only server.
func TestPages(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	get := func(path, enc string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	page := get("/", "")
	body := page.Body.String()
	if page.Code != http.StatusOK || !strings.HasPrefix(page.Header().Get("Content-Type"), "text/html") || !strings.Contains(body, `<div id="root">`) {
		t.Fatalf("GET /: HTTP %d %s: %.200s", page.Code, page.Header().Get("Content-Type"), body)
	}
	if cc := page.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("GET / Cache-Control %q, want no-cache", cc)
	}
	if csp := page.Header().Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'self'") {
		t.Errorf("GET / CSP %q", csp)
	}
	i := strings.Index(body, `src="/assets/`)
	if i < 0 {
		t.Fatalf("index.html names no script under /assets/: %s", body)
	}
	script := body[i+5 : i+5+strings.IndexByte(body[i+5:], '"')]
	plain := get(script, "")
	gz := get(script, "gzip, deflate, br")
	if plain.Code != http.StatusOK || !strings.Contains(plain.Header().Get("Content-Type"), "javascript") {
		t.Fatalf("GET %s: HTTP %d %s", script, plain.Code, plain.Header().Get("Content-Type"))
	}
	if cc := plain.Header().Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("asset Cache-Control %q", cc)
	}
	if gz.Header().Get("Content-Encoding") != "gzip" || gz.Body.Len() >= plain.Body.Len()/2 || plain.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip: encoding %q, %d bytes against %d plain", gz.Header().Get("Content-Encoding"), gz.Body.Len(), plain.Body.Len())
	}
	if !strings.Contains(gz.Header().Get("Vary"), "Accept-Encoding") {
		t.Errorf("gzip answer without Vary: Accept-Encoding")
	}
	if r := get("/assets/nope.js", ""); r.Code != http.StatusNotFound {
		t.Errorf("missing asset: HTTP %d", r.Code)
	}
	// The console: its HTML at /admin/ and, for client-side routing, at every
	// other path under it; /admin redirects to /admin/.
	console := get("/admin/", "")
	if console.Code != http.StatusOK || !strings.Contains(console.Body.String(), `<div id="root">`) || console.Body.String() == body {
		t.Fatalf("GET /admin/: HTTP %d: %.200s", console.Code, console.Body.String())
	}
	for _, path := range []string{"/admin/users/u1", "/admin/campaigns"} {
		if r := get(path, ""); r.Code != http.StatusOK || r.Body.String() != console.Body.String() || r.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("GET %s: HTTP %d, %d bytes, Cache-Control %q: want the console's HTML", path, r.Code, r.Body.Len(), r.Header().Get("Cache-Control"))
		}
	}
	if r := get("/admin", ""); r.Code != http.StatusMovedPermanently || r.Header().Get("Location") != "/admin/" {
		t.Errorf("GET /admin: HTTP %d Location %q", r.Code, r.Header().Get("Location"))
	}
	run(t, h, []scenario{
		{name: "api unknown stays JSON", method: "GET", path: "/api/v1/raffle/nope", wantHTTP: http.StatusNotFound, wantCode: "0002"},
		{name: "api route unchanged", method: "GET", path: "/healthz", wantCode: "0000"},
		{name: "post to / is not a page", method: "POST", path: "/", wantHTTP: http.StatusNotFound, wantCode: "0002"},
	})

	off := apptest.New(t, func(c *config.Config) { c.UI = false }).Handler()
	run(t, off, []scenario{
		{name: "ui off: / is the API's 404", method: "GET", path: "/", wantHTTP: http.StatusNotFound, wantCode: "0002"},
		{name: "ui off: assets too", method: "GET", path: script, wantHTTP: http.StatusNotFound, wantCode: "0002"},
		{name: "ui off: no console", method: "GET", path: "/admin/users/u1", wantHTTP: http.StatusNotFound, wantCode: "0002"},
	})
}

// TestAwardImageInList: an image set in the campaign file reaches
// query_raffle_award_list; awards without one carry no image field.
func TestAwardImageInList(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	row := `{award: 101, title: 随机积分, count: 10000, rate: "0.79", tree: tree_luck_award, sort: 1}`
	demo := string(campaign.Demo())
	if !strings.Contains(demo, row) {
		t.Fatalf("demo campaign has no row %s", row)
	}
	withImage := strings.Replace(demo, row, `{award: 101, title: 随机积分, count: 10000, rate: "0.79", tree: tree_luck_award, sort: 1, image: /img/credits.png}`, 1)
	if env := do(t, h, scenario{method: "POST", path: "/api/admin/v1/campaign/apply", admin: true, body: withImage}); env.Code != "0000" {
		t.Fatalf("apply: %s %s %s", env.Code, env.Info, env.Data)
	}
	thirdParty := strings.Replace(demo, row, `{award: 101, title: 随机积分, count: 10000, rate: "0.79", tree: tree_luck_award, sort: 1, image: "https://cdn.example.com/x.png"}`, 1)
	run(t, h, []scenario{
		{name: "image listed", method: "POST", path: "/api/v1/raffle/strategy/query_raffle_award_list", body: drawBody("u", 100301), wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				var items []struct {
					AwardID int64
					Image   *string
				}
				json.Unmarshal(d, &items)
				for _, it := range items {
					switch {
					case it.AwardID == 101 && (it.Image == nil || *it.Image != "/img/credits.png"):
						t.Fatalf("award 101 image %v: %s", it.Image, d)
					case it.AwardID != 101 && it.Image != nil:
						t.Fatalf("award %d has an image field without one configured: %s", it.AwardID, d)
					}
				}
			}},
		{name: "third-party image refused", method: "POST", path: "/api/admin/v1/campaign/validate", admin: true, body: thirdParty, wantCode: "0002",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), "image") || !strings.Contains(string(d), "another host") {
					t.Fatalf("problems %s", d)
				}
			}},
	})
}
