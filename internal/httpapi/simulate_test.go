package httpapi_test

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/app/apptest"
)

// simAnswer is the answer of POST /api/admin/v1/strategy/simulate.
type simAnswer struct {
	Counts       map[string]int
	StrategyID   int64
	Draws        int
	UserID       string
	TotalDraws   int64
	TodayDraws   int64
	UseStock     bool
	Rule         string
	WeightGroup  string
	WeightMatch  string
	WeightGroups []struct {
		Threshold int64
		AwardIDs  []int64
		Key       string
	}
	Outcomes struct {
		Chain                                     map[string]int
		Locked, StockTaken, StockEmpty, LuckAward int
	}
	Awards []simAwardAnswer
}

type simAwardAnswer struct {
	AwardID                                                   int64
	AwardTitle                                                string
	AwardIndex                                                int
	InTable                                                   bool
	AwardRate                                                 string
	ConfiguredRate, ObservedRate                              float64
	Drawn, Awarded, Locked, StockTaken, StockEmpty, LuckAward int
	LockCount                                                 int64
	Limited                                                   bool
	StockCount, StockLeft                                     int64
}

func simulate(t *testing.T, h http.Handler, body string) simAnswer {
	t.Helper()
	env := do(t, h, scenario{method: "POST", path: "/api/admin/v1/strategy/simulate", admin: true, body: body})
	if env.Code != "0000" {
		t.Fatalf("simulate %s: %s %s", body, env.Code, env.Info)
	}
	var a simAnswer
	if err := json.Unmarshal(env.Data, &a); err != nil {
		t.Fatalf("simulate answer %s: %v", env.Data, err)
	}
	return a
}

func (a simAnswer) award(t *testing.T, id int64) simAwardAnswer {
	t.Helper()
	for _, w := range a.Awards {
		if w.AwardID == id {
			return w
		}
	}
	t.Fatalf("award %d missing from %+v", id, a.Awards)
	return simAwardAnswer{}
}

// TestSimulateAnswersRatesAndOutcomes: the simulation of the demo strategy
// 100006 answers, besides the counts, each award's configured rate (its share
// of the table in force), observed rate and rule outcomes: locks for a new
// user, the rule_weight tier for a user with 70 draws. It takes no stock and
// writes no audit entry.
func TestSimulateAnswersRatesAndOutcomes(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	stockBefore := string(apptest.Call(t, h, adminToken, "GET", "/api/admin/v1/stock", ""))

	const draws = 100_000
	a := simulate(t, h, `{"strategyId":100006,"draws":100000,"userId":"lab_new"}`)
	if a.StrategyID != 100006 || a.Draws != draws || a.UserID != "lab_new" || a.Rule != "default" || a.WeightGroup != "" ||
		a.Outcomes.Chain["default"] != draws || a.WeightMatch != "equal" || len(a.WeightGroups) != 3 || a.WeightGroups[0].Key != "10:102,103" {
		t.Fatalf("answer %+v: want the default table for a new user", a)
	}
	rates := map[int64]string{101: "0.79", 102: "0.03", 103: "0.03", 104: "0.03", 105: "0.03", 106: "0.03", 107: "0.03", 108: "0.0003"}
	if len(a.Awards) != len(rates) {
		t.Fatalf("awards %+v, want the table's %d", a.Awards, len(rates))
	}
	total, locked, luck := 0, 0, 0
	for _, w := range a.Awards {
		total += a.Counts[itoa(w.AwardID)]
		locked += w.Locked
		luck += w.LuckAward
		if w.AwardRate != rates[w.AwardID] {
			t.Errorf("award %d rate %q, want %q", w.AwardID, w.AwardRate, rates[w.AwardID])
		}
		var r float64
		json.Unmarshal([]byte(w.AwardRate), &r)
		if want := r / 0.9703; math.Abs(w.ConfiguredRate-want) > 1e-12 {
			t.Errorf("award %d configured rate %v, want %v", w.AwardID, w.ConfiguredRate, want)
		}
		if w.Awarded != a.Counts[itoa(w.AwardID)] || w.ObservedRate != float64(w.Awarded)/draws {
			t.Errorf("award %+v: awarded/observed disagree with counts %v", w, a.Counts)
		}
		switch w.AwardID {
		case 105, 106, 107:
			if w.Locked == 0 || w.Locked != w.Drawn || w.Awarded != 0 || w.LockCount == 0 {
				t.Errorf("award %+v: a new user's draws of a locked award are all locked", w)
			}
		case 102, 103, 104, 108:
			// Not affected by rules: observed within 5 standard deviations.
			p := w.ConfiguredRate
			if sd := math.Sqrt(p * (1 - p) / draws); math.Abs(w.ObservedRate-p) > 5*sd {
				t.Errorf("award %d observed %v, configured %v: beyond 5 sd (%v)", w.AwardID, w.ObservedRate, p, sd)
			}
		}
	}
	if total != draws || locked != a.Outcomes.Locked || luck != a.Outcomes.LuckAward || locked != luck || a.Outcomes.StockTaken != draws-locked {
		t.Fatalf("outcomes %+v: total %d locked %d luck %d", a.Outcomes, total, locked, luck)
	}

	w := simulate(t, h, `{"strategyId":100006,"draws":20000,"userId":"lab_tier","totalDraws":70,"todayDraws":5}`)
	if w.Rule != "rule_weight" || w.WeightGroup != "70:106,107" || w.Outcomes.Chain["rule_weight"] != 20000 || w.Outcomes.Locked != 0 {
		t.Fatalf("user with 70 draws: rule %q group %q outcomes %+v, want the tier 70:106,107", w.Rule, w.WeightGroup, w.Outcomes)
	}
	for _, x := range w.Awards {
		if in := x.AwardID == 106 || x.AwardID == 107; (in && x.ConfiguredRate != 0.5) || (!in && (x.ConfiguredRate != 0 || x.Awarded != 0)) {
			t.Errorf("tier 70:106,107: award %+v", x)
		}
	}

	// useStock on 100004 (one unit of 109): one take, then the luck award.
	u := simulate(t, h, `{"strategyId":100004,"draws":50,"useStock":true}`)
	if x := u.award(t, 109); !u.UseStock || u.UserID != "simulation" || x.StockTaken != 1 || x.StockEmpty != 49 || x.Awarded != 1 || u.Counts["101"] != 49 {
		t.Fatalf("useStock: %+v", u)
	}
	if x := u.award(t, 101); x.InTable || x.AwardRate != "" || x.Awarded != 49 {
		t.Fatalf("luck award outside the table: %+v", x)
	}

	if after := string(apptest.Call(t, h, adminToken, "GET", "/api/admin/v1/stock", "")); after != stockBefore {
		t.Fatalf("stock changed by simulations:\nbefore %s\nafter  %s", stockBefore, after)
	}
	for _, e := range auditLog(t, h, "") {
		t.Errorf("a simulation wrote an audit entry: %+v", e)
	}
}

// TestSimulateRefusesBadInput: each malformed request is answered with a code
// and runs nothing.
func TestSimulateRefusesBadInput(t *testing.T) {
	h := apptest.New(t, nil).Handler()
	path := "/api/admin/v1/strategy/simulate"
	run(t, h, []scenario{
		{name: "no token", method: "POST", path: path, body: `{"strategyId":100006,"draws":10}`, wantHTTP: http.StatusUnauthorized, wantCode: "0003"},
		{name: "unknown strategy", method: "POST", path: path, admin: true, body: `{"strategyId":7,"draws":10}`, wantCode: "ERR_BIZ_002"},
		{name: "no strategy", method: "POST", path: path, admin: true, body: `{"draws":10}`, wantCode: "0002"},
		{name: "zero draws", method: "POST", path: path, admin: true, body: `{"strategyId":100006,"draws":0}`, wantCode: "0002"},
		{name: "negative draws", method: "POST", path: path, admin: true, body: `{"strategyId":100006,"draws":-1}`, wantCode: "0002"},
		{name: "too many draws", method: "POST", path: path, admin: true, body: `{"strategyId":100006,"draws":1000001}`, wantCode: "0002"},
		{name: "negative progress", method: "POST", path: path, admin: true, body: `{"strategyId":100006,"draws":10,"todayDraws":-1}`, wantCode: "0002"},
		{name: "control character in user", method: "POST", path: path, admin: true, body: `{"strategyId":100006,"draws":10,"userId":"a\u0001"}`, wantCode: "0002"},
		{name: "useStock not a boolean", method: "POST", path: path, admin: true, body: `{"strategyId":100006,"draws":10,"useStock":"yes"}`, wantCode: "0002"},
		{name: "malformed", method: "POST", path: path, admin: true, body: `{"strategyId":`, wantCode: "0002"},
		{name: "wrong method", method: "GET", path: path, admin: true, wantHTTP: http.StatusMethodNotAllowed, wantCode: "0002"},
		{name: "at the limit", method: "POST", path: path, admin: true, body: `{"strategyId":100006,"draws":1000000}`, wantCode: "0000",
			check: func(t *testing.T, d json.RawMessage) {
				if !strings.Contains(string(d), `"draws":1000000`) {
					t.Fatalf("answer %.200s", d)
				}
			}},
	})
	for _, e := range auditLog(t, h, "") {
		t.Errorf("a refused simulation wrote an audit entry: %+v", e)
	}
}
