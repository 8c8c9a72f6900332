package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/config"
)

const (
	drawPath    = "/api/v1/raffle/activity/draw"
	accountPath = "/api/v1/raffle/activity/query_user_activity_account"
)

func body(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func drawBody(user string, activityID int64) string {
	return body(map[string]any{"userId": user, "activityId": activityID})
}

func grant(t *testing.T, h http.Handler, id, user string, activityID, total, day, month int64) {
	t.Helper()
	env := do(t, h, scenario{method: "POST", path: "/api/admin/v1/quota/grant", admin: true,
		body: body(map[string]any{"id": id, "userId": user, "activityId": activityID, "total": total, "day": day, "month": month})})
	if env.Code != "0000" {
		t.Fatalf("grant %s: %s %s", id, env.Code, env.Info)
	}
}

// userData reads the operator's view of a user.
type userData struct {
	Accounts map[string]struct {
		TotalCountSurplus, DayCountSurplus, MonthCountSurplus int64
	}
	AwardRecords []struct {
		OrderID    string
		AwardID    int64
		AwardState string
	}
	Credit json.Number
	Ledger []struct{ TradeName, TradeType string }
	Extra  map[string]json.RawMessage
}

func lookup(t *testing.T, h http.Handler, user string) userData {
	t.Helper()
	env := do(t, h, scenario{method: "GET", path: "/api/admin/v1/users/" + user, admin: true})
	if env.Code != "0000" {
		t.Fatalf("users/%s: %s %s", user, env.Code, env.Info)
	}
	var d userData
	if err := json.Unmarshal(env.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// eventually retries check until it passes or 10 s have passed (asynchronous
// delivery), then reports its last failure.
func eventually(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOriginalClientJourney replays what the original web client does for
// xiaofuge on activity 100301, then checks the award is recorded and delivered.
func TestOriginalClientJourney(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	user := `{"userId":"xiaofuge","activityId":100301}`
	run(t, h, []scenario{
		{name: "activity armory", method: "GET", path: "/api/v1/raffle/activity/armory?activityId=100301", wantCode: "0000"},
		{name: "award list", method: "POST", path: "/api/v1/raffle/strategy/query_raffle_award_list", body: user, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				var list []struct {
					AwardID            int64
					AwardRuleLockCount int64
					IsAwardUnlock      bool
					WaitUnLockCount    int64
				}
				json.Unmarshal(d, &list)
				if len(list) != 8 {
					t.Fatalf("award list %s: want the 8 awards of strategy 100006", d)
				}
				for _, a := range list {
					if a.AwardID == 105 && (a.AwardRuleLockCount != 3 || a.IsAwardUnlock || a.WaitUnLockCount != 3) {
						t.Fatalf("award 105 before any draw: %+v, want locked with 3 to go", a)
					}
				}
			}},
		{name: "account", method: "POST", path: accountPath, body: user, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"totalCount":100,"totalCountSurplus":100`) {
					t.Fatalf("account %s: want the demo grant of 100", d)
				}
			}},
		{name: "rule weight", method: "POST", path: "/api/v1/raffle/strategy/query_raffle_strategy_rule_weight", body: user, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"ruleWeightCount":10,"userActivityAccountTotalUseCount":0`) {
					t.Fatalf("rule weight %s", d)
				}
			}},
		{name: "draw", method: "POST", path: drawPath, body: user, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				var r struct {
					AwardID    int64
					AwardTitle string
					AwardIndex int
				}
				json.Unmarshal(d, &r)
				if r.AwardID < 101 || r.AwardID > 108 || r.AwardTitle == "" || r.AwardIndex < 1 {
					t.Fatalf("draw %s", d)
				}
			}},
		{name: "account after", method: "POST", path: accountPath, body: user, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"totalCountSurplus":99`) || !strings.Contains(string(d), `"dayCountSurplus":99`) {
					t.Fatalf("account after one draw %s", d)
				}
			}},
		{name: "award list after", method: "POST", path: "/api/v1/raffle/strategy/query_raffle_award_list", body: user, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"awardId":107,"awardTitle":"小霸王游戏机","awardSubtitle":"抽奖1次后解锁","sort":7,"awardRuleLockCount":1,"isAwardUnlock":true`) {
					t.Fatalf("award 107 should unlock after one draw today: %s", d)
				}
			}},
	})
	eventually(t, func() error {
		d := lookup(t, h, "xiaofuge")
		if len(d.AwardRecords) != 1 {
			return fmt.Errorf("records %+v, want 1", d.AwardRecords)
		}
		if s := d.AwardRecords[0].AwardState; s != "completed" && s != "pending_manual" {
			return fmt.Errorf("record state %q, want it delivered", s)
		}
		return nil
	})
}

func TestQuotaCodes(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	grant(t, h, "day-limit", "dayuser", 100301, 10, 3, 10)
	grant(t, h, "month-limit", "monthuser", 100301, 10, 10, 2)
	count := func(user string, n int) map[string]int {
		var mu sync.Mutex
		codes := map[string]int{}
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				env := do(t, h, scenario{method: "POST", path: drawPath, body: drawBody(user, 100301)})
				mu.Lock()
				codes[env.Code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return codes
	}
	if c := count("dayuser", 32); c["0000"] != 3 || c["ERR_BIZ_008"] != 29 {
		t.Fatalf("day quota 3 under 32 concurrent draws: %v", c)
	}
	if c := count("monthuser", 16); c["0000"] != 2 || c["ERR_BIZ_007"] != 14 {
		t.Fatalf("month quota 2 under 16 concurrent draws: %v", c)
	}
	run(t, h, []scenario{
		{name: "no account reads zeros", method: "POST", path: accountPath, body: drawBody("stranger", 100301), wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if string(d) != `{"totalCount":0,"totalCountSurplus":0,"dayCount":0,"dayCountSurplus":0,"monthCount":0,"monthCountSurplus":0}` {
					t.Fatalf("account %s", d)
				}
			}},
		{name: "no account cannot draw", method: "POST", path: drawPath, body: drawBody("stranger", 100301), wantCode: "ERR_BIZ_006"},
		{name: "unknown activity", method: "POST", path: drawPath, body: drawBody("xiaofuge", 4242), wantCode: "0002"},
		{name: "missing user", method: "POST", path: drawPath, body: `{"activityId":100301}`, wantCode: "0002"},
		{name: "user id too long", method: "POST", path: drawPath, body: drawBody(strings.Repeat("u", 65), 100301), wantCode: "0002"},
		{name: "activity id as string", method: "POST", path: drawPath, body: `{"userId":"xiaofuge","activityId":"100301"}`, wantCode: "0002"},
		{name: "grant needs all counts", method: "POST", path: "/api/admin/v1/quota/grant", admin: true, body: `{"id":"g","userId":"u","activityId":100301,"total":1}`, wantCode: "0002"},
		{name: "grant unknown activity", method: "POST", path: "/api/admin/v1/quota/grant", admin: true, body: `{"id":"g","userId":"u","activityId":5,"total":1,"day":1,"month":1}`, wantCode: "0002"},
		{name: "stage", method: "GET", path: "/api/v1/raffle/activity/query_stage_activity_id?channel=c01&source=s01", wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if string(d) != "100401" {
					t.Fatalf("stage activity %s", d)
				}
			}},
		{name: "unknown stage", method: "GET", path: "/api/v1/raffle/activity/query_stage_activity_id?channel=x&source=y", wantCode: "0002"},
		{name: "sku list", method: "POST", path: "/api/v1/raffle/activity/query_sku_product_list_by_activity_id?activityId=100401", wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"sku":9901,"activityId":100401,"activityCountId":22201,"stockCount":100000,"stockCountSurplus":100000,"productAmount":5.00,"activityCount":{"totalCount":1,"dayCount":1,"monthCount":1}`) {
					t.Fatalf("sku list %s", d)
				}
			}},
		{name: "erp orders", method: "GET", path: "/api/v1/raffle/erp/query_user_raffle_order", admin: true, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if strings.Count(string(d), `"orderId"`) != 5 {
					t.Fatalf("erp orders %s: want the 5 draws made", d)
				}
			}},
		{name: "erp stages", method: "GET", path: "/api/v1/raffle/erp/query_raffle_activity_stage_list", admin: true, wantCode: "0000"},
		{name: "erp needs admin", method: "GET", path: "/api/v1/raffle/erp/query_user_raffle_order", wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
	})
}

func TestSwitchesGuardTheDraw(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	set := func(k, v string) {
		env := do(t, h, scenario{method: "PUT", path: "/api/admin/v1/switches", admin: true, body: body(map[string]string{"key": k, "value": v})})
		if env.Code != "0000" {
			t.Fatalf("switch %s=%s: %s", k, v, env.Info)
		}
	}
	set("degradeSwitch", "open")
	if env := do(t, h, scenario{method: "POST", path: drawPath, body: drawBody("xiaofuge", 100301)}); env.Code != "0004" {
		t.Fatalf("degraded draw: %s", env.Code)
	}
	set("degradeSwitch", "close")
	set("rateLimiterSwitch", "open")
	codes := map[string]int{}
	for range 5 {
		codes[do(t, h, scenario{method: "POST", path: drawPath, body: drawBody("xiaofuge", 100301)}).Code]++
	}
	if codes["0000"] != 1 || codes["0005"] != 4 {
		t.Fatalf("5 immediate draws at 1 permit/s: %v, want 1 success and 4 refusals", codes)
	}
}

// stockCampaign adds strategy 900001 (award 102 with stock 50, falling back to
// the luck award 101) and activity 900101 to the demo configuration.
const stockCampaign = `
version: 1
timezone: Asia/Shanghai
awards:
  - {id: 101, key: user_credit_random, config: "1,100", desc: 用户积分}
  - {id: 102, key: openai_use_count, config: "5", desc: OpenAI 增加使用次数}
rule_trees:
  - id: tree_luck_award
    name: 规则树-兜底奖励
    root: rule_stock
    nodes:
      - {key: rule_stock}
      - {key: rule_luck_award, value: "101:1,100"}
    lines:
      - {from: rule_stock, to: rule_luck_award, when: ALLOW}
strategies:
  - id: 900001
    desc: stock test
    awards:
      - {award: 102, title: limited, count: 50, rate: "1", tree: tree_luck_award, sort: 1}
activities:
  - {id: 900101, name: stock, desc: stock, strategy: 900001, state: open,
     begin: "2024-01-01T00:00:00+08:00", end: "2099-01-01T00:00:00+08:00"}
`

// TestStockNeverOversells: 200 users × 5 concurrent draws against an award with
// stock 50 issue exactly 50 of it; each issued award has exactly one record and
// every record is delivered (credits) or kept for an operator.
func TestStockNeverOversells(t *testing.T) {
	// A generous time budget: under the race detector on a loaded machine a
	// draw can take longer than the default 2 s.
	h := apptest.New(t, func(c *config.Config) { c.HTTP.DrawTimeout = time.Minute }).Handler()
	if env := do(t, h, scenario{method: "POST", path: "/api/admin/v1/campaign/apply", admin: true, body: stockCampaign}); env.Code != "0000" {
		t.Fatalf("apply: %s %s %s", env.Code, env.Info, env.Data)
	}
	const users, each = 200, 5
	for u := range users {
		grant(t, h, fmt.Sprint("stock-", u), fmt.Sprint("su", u), 900101, each, each, each)
	}
	var mu sync.Mutex
	won := map[int64]int{}
	var wg sync.WaitGroup
	inflight := make(chan struct{}, 128) // many concurrent draws, bounded
	for u := range users {
		for range each {
			wg.Go(func() {
				inflight <- struct{}{}
				defer func() { <-inflight }()
				env := do(t, h, scenario{method: "POST", path: drawPath, body: drawBody(fmt.Sprint("su", u), 900101)})
				var r struct{ AwardID int64 }
				json.Unmarshal(env.Data, &r)
				mu.Lock()
				defer mu.Unlock()
				if env.Code != "0000" {
					t.Errorf("draw: %s %s", env.Code, env.Info)
				}
				won[r.AwardID]++
			})
		}
	}
	wg.Wait()
	if won[102] != 50 || won[101] != users*each-50 {
		t.Fatalf("awards issued %v: want exactly 50 of award 102 (its stock) and the luck award for the rest", won)
	}
	env := do(t, h, scenario{method: "GET", path: "/api/admin/v1/stock", admin: true})
	if !strings.Contains(string(env.Data), `{"strategyId":900001,"awardId":102,"count":50,"taken":50,"recorded":50}`) {
		t.Fatalf("stock %s: want 50 taken and 50 recorded", env.Data)
	}
	eventually(t, func() error {
		records := map[string]bool{}
		for u := range users {
			d := lookup(t, h, fmt.Sprint("su", u))
			if len(d.AwardRecords) != each {
				return fmt.Errorf("user su%d has %d records, want %d", u, len(d.AwardRecords), each)
			}
			for _, r := range d.AwardRecords {
				if records[r.OrderID] {
					return fmt.Errorf("order %s recorded twice", r.OrderID)
				}
				records[r.OrderID] = true
				want := "completed"
				if r.AwardID == 102 {
					want = "pending_manual" // no webhook for openai_use_count
				}
				if r.AwardState != want {
					return fmt.Errorf("record %s of award %d is %q, want %q", r.OrderID, r.AwardID, r.AwardState, want)
				}
			}
		}
		return nil
	})
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func b64(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) }

func TestStageActivation(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	withStage := strings.Replace(string(campaign.Demo()),
		"  - {channel: c01, source: s01, activity: 100401, state: active}",
		"  - {channel: c01, source: s01, activity: 100401, state: active}\n  - {channel: c02, source: s02, activity: 100301, state: inactive}", 1)
	stageOf := "/api/v1/raffle/activity/query_stage_activity_id?channel=c02&source=s02"
	run(t, h, []scenario{
		{name: "apply an inactive stage", method: "POST", path: "/api/admin/v1/campaign/apply", admin: true, body: withStage, wantCode: "0000"},
		{name: "inactive stage shows nothing", method: "GET", path: stageOf, wantCode: "0002"},
		{name: "activate it", method: "POST", path: "/api/v1/raffle/erp/update_stage_activity_2_active", admin: true, body: `{"id":2}`, wantCode: "0000"},
		{name: "active stage shows its activity", method: "GET", path: stageOf, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if string(d) != "100301" {
					t.Fatalf("stage activity %s", d)
				}
			}},
		{name: "activate", method: "POST", path: "/api/v1/raffle/erp/update_stage_activity_2_active", admin: true, body: `{"id":1}`, wantCode: "0000"},
		{name: "unknown stage", method: "POST", path: "/api/v1/raffle/erp/update_stage_activity_2_active", admin: true, body: `{"id":99}`, wantCode: "0002"},
		{name: "bad body", method: "POST", path: "/api/v1/raffle/erp/update_stage_activity_2_active", admin: true, body: `{"id":"x"}`, wantCode: "0002"},
		{name: "stages", method: "GET", path: "/api/v1/raffle/erp/query_raffle_activity_stage_list", admin: true, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if string(d) != `[{"id":1,"channel":"c01","source":"s01","activityId":100401,"state":"active"},{"id":2,"channel":"c02","source":"s02","activityId":100301,"state":"active"}]` {
					t.Fatalf("stages %s", d)
				}
			}},
	})
}
