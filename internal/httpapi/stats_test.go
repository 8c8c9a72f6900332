package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
	"github.com/bigmarket/bigmarket/internal/money"
)

type statsData struct {
	Time, DayStart   int64
	TimeZone         string
	DrawsPerMinute   []struct{ Minute, AwardID, Count int64 }
	AwardsToday      map[string]int64
	AwardStock       []struct{ StrategyID, AwardID, Count, Taken, Left int64 }
	SKUStock         []struct{ SKU, ActivityID, Stock, Left int64 }
	Outbox           map[string]int64
	DeliveryFailures map[string]int64
	Funnel           struct{ SignIns, Quota, Draws, Awards, Delivered int64 }
	CreditsIssued    json.Number
	CreditsSpent     json.Number
}

func stats(t *testing.T, h http.Handler) statsData {
	t.Helper()
	env := do(t, h, scenario{method: "GET", path: "/api/admin/v1/stats", admin: true})
	if env.Code != "0000" {
		t.Fatalf("stats: %s %s", env.Code, env.Info)
	}
	var s statsData
	if err := json.Unmarshal(env.Data, &s); err != nil {
		t.Fatalf("stats %s: %v", env.Data, err)
	}
	return s
}

// TestStatsMatchTheAPI: after a sign-in, a grant, draws and a random raffle
// through HTTP, every figure of GET stats equals what the other endpoints
// report of the same records.
func TestStatsMatchTheAPI(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	base := stats(t, h)
	if base.TimeZone == "" || base.DayStart <= 0 || base.DayStart > base.Time {
		t.Fatalf("stats window: %+v", base)
	}
	const user, draws = "statser", 5
	if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/calendar_sign_rebate?userId=" + user}); env.Code != "0000" {
		t.Fatalf("sign: %s %s", env.Code, env.Info)
	}
	grant(t, h, "stats-g1", user, 100301, draws, draws, draws)
	for range draws {
		if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/draw", body: drawBody(user, 100301)}); env.Code != "0000" {
			t.Fatalf("draw: %s %s", env.Code, env.Info)
		}
	}
	if env := do(t, h, scenario{method: "POST", path: raffle, body: `{"strategyId":100006}`}); env.Code != "0000" {
		t.Fatalf("random raffle: %s %s", env.Code, env.Info)
	}

	type userView struct {
		RaffleOrders []struct{ OrderID string }
		QuotaOrders  []struct{ State string }
		AwardRecords []struct {
			AwardID    int64
			AwardState string
		}
		Ledger []struct {
			TradeType   string
			TradeAmount json.Number
		}
		Extra struct {
			RebateOrders []struct{ BehaviorType string } `json:"rebateOrders"`
		}
	}
	view := func(u string) userView {
		var v userView
		if err := json.Unmarshal(do(t, h, scenario{method: "GET", path: "/api/admin/v1/users/" + u, admin: true}).Data, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	// Wait until every award is settled (delivered, or pending_manual for a
	// prize without a webhook) and the sign-in's rebates granted.
	var u, sys userView
	states := map[string]int64{}
	eventually(t, func() error {
		u, sys = view(user), view("system")
		clear(states)
		for _, a := range u.AwardRecords {
			states[a.AwardState]++
		}
		if states["completed"]+states["pending_manual"] != draws || len(u.QuotaOrders) == 0 || len(u.Ledger) == 0 {
			return fmt.Errorf("awards %v of %d settled, %d quota orders, %d ledger entries", states, draws, len(u.QuotaOrders), len(u.Ledger))
		}
		return nil
	})
	failures := map[string]int64{}
	for _, a := range append(u.AwardRecords, sys.AwardRecords...) {
		if a.AwardState == "failed" || a.AwardState == "pending_manual" {
			failures[a.AwardState]++
		}
	}
	s := stats(t, h)

	if got := s.Funnel.SignIns - base.Funnel.SignIns; got != 1 {
		t.Errorf("funnel sign-ins +%d, want 1 (one user signed in, %d rebate orders)", got, len(u.Extra.RebateOrders))
	}
	quota := 0
	for _, q := range u.QuotaOrders {
		if q.State == "completed" {
			quota++
		}
	}
	if got := s.Funnel.Quota - base.Funnel.Quota; got != int64(quota) || quota == 0 {
		t.Errorf("funnel quota +%d, want %d (the user's completed quota orders)", got, quota)
	}
	if got := s.Funnel.Draws - base.Funnel.Draws; got != int64(len(u.RaffleOrders)) || got != draws {
		t.Errorf("funnel draws +%d, want %d raffle orders", got, len(u.RaffleOrders))
	}
	if got := s.Funnel.Awards - base.Funnel.Awards; got != draws {
		t.Errorf("funnel awards +%d, want %d (system's random raffle left out)", got, draws)
	}
	if got := s.Funnel.Delivered - base.Funnel.Delivered; got != states["completed"] {
		t.Errorf("funnel delivered +%d, want %d (the user's completed award records)", got, states["completed"])
	}
	// Awards by prize: the user's and system's records.
	wantAwards := map[string]int64{}
	for k, n := range base.AwardsToday {
		wantAwards[k] = n
	}
	for _, a := range append(u.AwardRecords, sys.AwardRecords...) {
		wantAwards[strconv.FormatInt(a.AwardID, 10)]++
	}
	if fmt.Sprint(s.AwardsToday) != fmt.Sprint(wantAwards) {
		t.Errorf("awards today %v, want %v", s.AwardsToday, wantAwards)
	}
	sum := func(st statsData) (n int64) {
		for _, m := range st.DrawsPerMinute {
			n += m.Count
		}
		return n
	}
	if got := sum(s) - sum(base); got != draws+1 {
		t.Errorf("draws per minute add up to +%d, want %d", got, draws+1)
	}
	// Credits: the ledger of the only user who earned or spent any.
	var issued, spent money.Amount
	for _, l := range u.Ledger {
		a, err := money.Parse(l.TradeAmount.String())
		if err != nil {
			t.Fatal(err)
		}
		if l.TradeType == "forward" {
			issued = issued.Add(a)
		} else {
			spent = spent.Add(a)
		}
	}
	if s.CreditsIssued.String() != issued.String() || !issued.IsPositive() {
		t.Errorf("credits issued %s, want %s", s.CreditsIssued, issued)
	}
	if s.CreditsSpent.String() != spent.String() {
		t.Errorf("credits spent %s, want %s", s.CreditsSpent, spent)
	}
	// Outbox: the task list by state. The relay moves tasks on by itself, so
	// the two reads are repeated until no task moved between them.
	eventually(t, func() error {
		out := stats(t, h).Outbox
		total := int64(0)
		for _, state := range []string{"create", "completed", "fail"} {
			var tasks []json.RawMessage
			if err := json.Unmarshal(do(t, h, scenario{method: "GET", path: "/api/admin/v1/tasks?limit=1000&state=" + state, admin: true}).Data, &tasks); err != nil {
				t.Fatal(err)
			}
			if out[state] != int64(len(tasks)) {
				return fmt.Errorf("outbox %s: %d, want %d as GET tasks lists", state, out[state], len(tasks))
			}
			total += out[state]
		}
		if total < draws {
			return fmt.Errorf("outbox %v: the draws' tasks are missing", out)
		}
		return nil
	})
	for _, state := range []string{"failed", "pending_manual"} {
		if got := s.DeliveryFailures[state] - base.DeliveryFailures[state]; got != failures[state] {
			t.Errorf("delivery failures %s +%d, want %d as the award records show", state, got, failures[state])
		}
	}
	// Award stock: as GET stock reports it.
	var stock []struct{ StrategyID, AwardID, Count, Taken int64 }
	if err := json.Unmarshal(do(t, h, scenario{method: "GET", path: "/api/admin/v1/stock", admin: true}).Data, &stock); err != nil {
		t.Fatal(err)
	}
	if len(stock) != len(s.AwardStock) || len(stock) == 0 {
		t.Fatalf("award stock has %d rows, GET stock %d", len(s.AwardStock), len(stock))
	}
	taken := int64(0)
	for i, a := range s.AwardStock {
		if a.StrategyID != stock[i].StrategyID || a.AwardID != stock[i].AwardID || a.Count != stock[i].Count || a.Taken != stock[i].Taken || a.Left != a.Count-a.Taken {
			t.Errorf("award stock %+v, GET stock %+v", a, stock[i])
		}
		taken += a.Taken
	}
	if taken == 0 {
		t.Errorf("no award stock taken after %d draws: %+v", draws+1, s.AwardStock)
	}
	// SKU stock: as the SKU list of each activity reports it.
	if len(s.SKUStock) == 0 {
		t.Fatal("no SKU stock")
	}
	for _, k := range s.SKUStock {
		var skus []struct{ SKU, StockCount, StockCountSurplus int64 }
		path := fmt.Sprintf("/api/v1/raffle/activity/query_sku_product_list_by_activity_id?activityId=%d", k.ActivityID)
		if err := json.Unmarshal(do(t, h, scenario{method: "POST", path: path}).Data, &skus); err != nil {
			t.Fatal(err)
		}
		found := false
		for _, x := range skus {
			if x.SKU == k.SKU {
				found = true
				if x.StockCount != k.Stock || x.StockCountSurplus != k.Left {
					t.Errorf("sku %d: stats %+v, sku list %+v", k.SKU, k, x)
				}
			}
		}
		if !found {
			t.Errorf("sku %d of activity %d not in its SKU list", k.SKU, k.ActivityID)
		}
	}
}

// TestActivitiesWithStock: GET activities lists every activity with its SKUs
// and its strategy's awards, their stock as the SKU list and GET stock report
// it, after draws took some.
func TestActivitiesWithStock(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	grant(t, h, "acts-g1", "acts", 100301, 3, 3, 3)
	for range 3 {
		if env := do(t, h, scenario{method: "POST", path: "/api/v1/raffle/activity/draw", body: drawBody("acts", 100301)}); env.Code != "0000" {
			t.Fatalf("draw: %s %s", env.Code, env.Info)
		}
	}
	var acts []struct {
		ActivityID, StrategyID int64
		ActivityName, State    string
		SKUs                   []struct{ SKU, ActivityCountID, TotalCount, StockCount, StockLeft int64 }
		Awards                 []struct {
			StrategyID, AwardID, Count, Taken, Left int64
			AwardTitle, AwardRate                   string
		}
	}
	env := do(t, h, scenario{method: "GET", path: "/api/admin/v1/activities", admin: true})
	if env.Code != "0000" {
		t.Fatalf("activities: %s %s", env.Code, env.Info)
	}
	if err := json.Unmarshal(env.Data, &acts); err != nil {
		t.Fatal(err)
	}
	var stock []struct{ StrategyID, AwardID, Count, Taken int64 }
	if err := json.Unmarshal(do(t, h, scenario{method: "GET", path: "/api/admin/v1/stock", admin: true}).Data, &stock); err != nil {
		t.Fatal(err)
	}
	taken := map[[2]int64]int64{}
	for _, s := range stock {
		taken[[2]int64{s.StrategyID, s.AwardID}] = s.Taken
	}
	seen := map[int64]bool{}
	drawn := int64(0)
	for _, a := range acts {
		seen[a.ActivityID] = true
		if a.ActivityName == "" || a.State == "" || len(a.Awards) == 0 {
			t.Errorf("activity %+v: want its name, state and awards", a)
		}
		for _, aw := range a.Awards {
			want, ok := taken[[2]int64{aw.StrategyID, aw.AwardID}]
			if aw.StrategyID != a.StrategyID || !ok || aw.Taken != want || aw.Left != aw.Count-aw.Taken || aw.AwardTitle == "" || aw.AwardRate == "" {
				t.Errorf("activity %d award %+v: GET stock says taken %d", a.ActivityID, aw, want)
			}
			if a.ActivityID == 100301 {
				drawn += aw.Taken
			}
		}
		var skus []struct{ SKU, StockCount, StockCountSurplus, ActivityCountID int64 }
		path := fmt.Sprintf("/api/v1/raffle/activity/query_sku_product_list_by_activity_id?activityId=%d", a.ActivityID)
		if err := json.Unmarshal(do(t, h, scenario{method: "POST", path: path}).Data, &skus); err != nil {
			t.Fatal(err)
		}
		if len(skus) != len(a.SKUs) {
			t.Fatalf("activity %d: %d SKUs, the SKU list %d", a.ActivityID, len(a.SKUs), len(skus))
		}
		for i, k := range a.SKUs {
			if k.SKU != skus[i].SKU || k.StockCount != skus[i].StockCount || k.StockLeft != skus[i].StockCountSurplus || k.ActivityCountID != skus[i].ActivityCountID || k.TotalCount <= 0 {
				t.Errorf("activity %d sku %+v, the SKU list %+v", a.ActivityID, k, skus[i])
			}
		}
	}
	if !seen[100301] || !seen[100401] {
		t.Fatalf("activities %v, want the demo's 100301 and 100401", seen)
	}
	if drawn == 0 {
		t.Error("three draws on 100301 took no award stock")
	}
	run(t, h, []scenario{{name: "no token", method: "GET", path: "/api/admin/v1/activities", wantHTTP: http.StatusUnauthorized, wantCode: "0003"}})
}
