package web_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/chromedp/chromedp"
)

// The console's strategy lab and activities screens. Each step is a function
// of the browser and the site, so that a journey test can call them in
// sequence on one signed-in browser.

// consoleLabRow is one row of the lab's table, read from its data attributes
// (the figures the chart is drawn from) and its text.
type consoleLabRow struct {
	Award      int64   `json:"award"`
	Configured float64 `json:"configured"`
	Observed   float64 `json:"observed"`
	Awarded    int     `json:"awarded"`
	Draws      int     `json:"draws"`
	Affected   bool    `json:"affected"`
	ObsText    string  `json:"obsText"`
	ConfText   string  `json:"confText"`
}

// consoleLabSetInput replaces an input's value by typing, as a person does.
func consoleLabSetInput(b *browser, sel, value string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Focus(chromedp.CSS(sel)))
	eval[bool](b, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.select(); return true; })()`, sel))
	b.do(typeInto(sel, "\b"+value))
	if got := eval[string](b, fmt.Sprintf(`document.querySelector(%q).value`, sel)); strings.ReplaceAll(got, ",", "") != value {
		b.t.Fatalf("input %s holds %q after typing %q", sel, got, value)
	}
}

// consoleLabSimulate opens the lab on a strategy, sets the simulated user
// and progress, runs draws and returns the table's rows by award.
func consoleLabSimulate(b *browser, s *site, strategyID int64, draws int, user string, total, today int64) map[int64]consoleLabRow {
	b.t.Helper()
	b.open(s.url + "/admin/lab?strategy=" + strconv.FormatInt(strategyID, 10))
	b.waitText(`[data-testid="console-title"]`, "the console's shell", is("bigmarket console"))
	b.do(chromedp.WaitVisible(chromedp.CSS(`#lab-strategy`)))
	if got := eval[string](b, `document.querySelector('#lab-strategy').value`); got != strconv.FormatInt(strategyID, 10) {
		b.t.Fatalf("lab opened with strategy %q, want %d from the link", got, strategyID)
	}
	consoleLabSetInput(b, `#lab-user`, user)
	consoleLabSetInput(b, `#lab-total`, strconv.FormatInt(total, 10))
	consoleLabSetInput(b, `#lab-today`, strconv.FormatInt(today, 10))
	consoleLabSetInput(b, `#lab-draws`, strconv.Itoa(draws))
	b.click(`#lab-run`)
	want := fmt.Sprintf("%s draws of strategy %d for %s (total %d, today %d)", consoleLabThousands(draws), strategyID, user, total, today)
	b.waitText(`[data-testid="lab-ran"]`, "the simulation's summary", is(want))
	rows := eval[[]consoleLabRow](b, `[...document.querySelectorAll('tr[data-testid^="lab-row-"]')].map((r) => ({
		award: +r.dataset.award, configured: +r.dataset.configured, observed: +r.dataset.observed,
		awarded: +r.dataset.awarded, draws: +r.dataset.draws, affected: r.dataset.affected === 'true',
		obsText: r.querySelector('[data-testid^="lab-observed-"]').textContent,
		confText: r.querySelector('[data-testid^="lab-configured-"]').textContent }))`)
	out := make(map[int64]consoleLabRow, len(rows))
	sum := 0
	for _, r := range rows {
		out[r.Award] = r
		sum += r.Awarded
		if r.Draws != draws {
			b.t.Errorf("row %+v: draws %d, want %d", r, r.Draws, draws)
		}
		// What a person reads is the figure the row carries.
		if got, want := number(b.t, strings.TrimSuffix(r.ObsText, " %")), math.Round(r.Observed*1e6)/1e4; math.Abs(got-want) > 1e-9 {
			b.t.Errorf("award %d: observed shown %q, data %v", r.Award, r.ObsText, r.Observed)
		}
		if got, want := number(b.t, strings.TrimSuffix(r.ConfText, " %")), math.Round(r.Configured*1e6)/1e4; math.Abs(got-want) > 1e-9 {
			b.t.Errorf("award %d: configured shown %q, data %v", r.Award, r.ConfText, r.Configured)
		}
	}
	if sum != draws {
		b.t.Fatalf("awarded counts of the table add up to %d, want %d: %+v", sum, draws, rows)
	}
	// The chart is drawn from the same figures as the table.
	var chartObs []string
	for _, r := range rows {
		chartObs = append(chartObs, strconv.FormatFloat(r.Observed, 'g', -1, 64))
	}
	if got := b.attr(`[data-testid="lab-chart"]`, "data-observed"); got != strings.Join(chartObs, ",") {
		b.t.Errorf("chart's observed rates %q, table's %q", got, strings.Join(chartObs, ","))
	}
	if n := eval[int](b, `document.querySelectorAll('[data-testid="lab-chart"] svg path').length`); n < len(rows) {
		b.t.Errorf("the chart drew %d paths for %d awards", n, len(rows))
	}
	return out
}

func consoleLabThousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// consoleLabActivityAwards returns the awards of an activity's strategy as
// GET /api/admin/v1/activities answers them, and the strategy.
func consoleLabActivity(s *site, activityID int64) consoleLabActivityAnswer {
	s.t.Helper()
	code, data := s.api("GET", "/api/admin/v1/activities", "", map[string]string{"Authorization": "Bearer " + consoleToken})
	if code != "0000" {
		s.t.Fatalf("activities: %s %s", code, data)
	}
	var acts []consoleLabActivityAnswer
	if err := json.Unmarshal(data, &acts); err != nil {
		s.t.Fatal(err)
	}
	for _, a := range acts {
		if a.ActivityID == activityID {
			return a
		}
	}
	s.t.Fatalf("activity %d not in %s", activityID, data)
	return consoleLabActivityAnswer{}
}

type consoleLabActivityAnswer struct {
	ActivityID   int64
	ActivityName string
	StrategyID   int64
	SKUs         []struct {
		SKU        int64
		StockCount int64
		StockLeft  int64
	}
	Awards []struct {
		StrategyID, AwardID int64
		AwardTitle          string
		AwardRate           string
		Count, Taken, Left  int64
	}
}

// consoleLabCheckNewUser runs 100 000 draws of the demo activity's strategy for
// a new user: every award's configured rate is its share of the configured
// rates the API answers; awards no rule touches come out within 5 standard
// deviations of it; the locked awards (105–107) never come out and their
// draws go to the luck award 101.
func consoleLabCheckNewUser(b *browser, s *site) {
	b.t.Helper()
	act := consoleLabActivity(s, 100301)
	const draws = 100_000
	rows := consoleLabSimulate(b, s, act.StrategyID, draws, "lab_new_user", 0, 0)
	var sum float64
	for _, a := range act.Awards {
		sum += number(b.t, a.AwardRate)
	}
	if len(rows) != len(act.Awards) {
		b.t.Fatalf("the lab lists %d awards, the strategy has %d", len(rows), len(act.Awards))
	}
	for _, a := range act.Awards {
		r, ok := rows[a.AwardID]
		if !ok {
			b.t.Fatalf("award %d missing from the lab's table", a.AwardID)
		}
		if want := number(b.t, a.AwardRate) / sum; math.Abs(r.Configured-want) > 1e-9 {
			b.t.Errorf("award %d: configured %v, want %v (rate %s of Σ %v)", a.AwardID, r.Configured, want, a.AwardRate, sum)
		}
		locked := a.AwardID == 105 || a.AwardID == 106 || a.AwardID == 107
		if wantAffected := locked || a.AwardID == 101; r.Affected != wantAffected {
			b.t.Errorf("award %d marked affected by rules = %v, want %v", a.AwardID, r.Affected, wantAffected)
		}
		switch {
		case locked:
			if r.Awarded != 0 {
				b.t.Errorf("locked award %d came out %d times for a new user", a.AwardID, r.Awarded)
			}
		case !r.Affected:
			p := r.Configured
			if sd := math.Sqrt(p * (1 - p) / draws); math.Abs(r.Observed-p) > 5*sd {
				b.t.Errorf("award %d: observed %v, configured %v: beyond 5 sd (%v)", a.AwardID, r.Observed, p, 5*sd)
			}
		}
	}
	if r := rows[101]; r.Observed <= r.Configured {
		b.t.Errorf("luck award 101 observed %v, want above its configured %v (it stands in for the locked awards)", r.Observed, r.Configured)
	}
	b.waitText(`[data-testid="lab-rule"]`, "the default draw", is("default draw"))
	b.waitText(`[data-testid="lab-weight-group"]`, "no weight tier", is("none"))
	if locks := number(b.t, b.waitText(`[data-testid="lab-outcome-locked"]`, "locks hit", func(string) bool { return true })); locks == 0 {
		b.t.Error("no lock hit shown for a new user")
	}
	// With every stock full, each luck award stands in for a locked draw.
	locks := number(b.t, b.waitText(`[data-testid="lab-outcome-locked"]`, "locks hit", func(string) bool { return true }))
	if luck := number(b.t, b.waitText(`[data-testid="lab-outcome-luck"]`, "luck awards", func(string) bool { return true })); luck != locks {
		b.t.Errorf("luck awards %v, want one per lock hit (%v)", luck, locks)
	}
}

// consoleLabCheckWeightTier runs draws for a user with 70 draws (5 today):
// the rule_weight tier 70:106,107 shows in the outcomes and only its awards,
// configured at half each, come out.
func consoleLabCheckWeightTier(b *browser, s *site) {
	b.t.Helper()
	const draws = 20_000
	rows := consoleLabSimulate(b, s, 100006, draws, "lab_tier_user", 70, 5)
	b.waitText(`[data-testid="lab-weight-group"]`, "the weight tier", is("70:106,107"))
	b.waitText(`[data-testid="lab-rule"]`, "the rule_weight step", is("rule_weight"))
	if n := number(b.t, b.waitText(`[data-testid="lab-outcome-locked"]`, "locks", func(string) bool { return true })); n != 0 {
		b.t.Errorf("locks hit %v with 5 draws today, want 0", n)
	}
	for id, r := range rows {
		if id == 106 || id == 107 {
			if sd := math.Sqrt(0.25 / draws); r.Configured != 0.5 || math.Abs(r.Observed-0.5) > 5*sd {
				b.t.Errorf("tier award %d: configured %v observed %v", id, r.Configured, r.Observed)
			}
		} else if r.Configured != 0 || r.Awarded != 0 {
			b.t.Errorf("award %d outside the tier: configured %v, awarded %d", id, r.Configured, r.Awarded)
		}
	}
}

// consoleLabCheckActivities makes a real draw, then opens the activities
// screen: activity 100301 is listed with its strategy, SKUs and award stock
// equal to what the API answers.
func consoleLabCheckActivities(b *browser, s *site) {
	b.t.Helper()
	code, data := s.api("POST", "/api/v1/raffle/activity/draw", `{"userId":"xiaofuge","activityId":100301}`, nil)
	if code != "0000" {
		b.t.Fatalf("draw: %s %s", code, data)
	}
	act := consoleLabActivity(s, 100301)
	b.open(s.url + "/admin/activities")
	b.waitText(`[data-testid="activity-100301-strategy"]`, "the activity's strategy", is(strconv.FormatInt(act.StrategyID, 10)))
	if title, _ := b.textOf(`[data-testid="activity-100301"] .ant-card-head-title`); !strings.Contains(title, act.ActivityName) {
		b.t.Errorf("activity card title %q, want the name %q", title, act.ActivityName)
	}
	if len(act.SKUs) == 0 || len(act.Awards) == 0 {
		b.t.Fatalf("activity 100301 answered without SKUs or awards: %+v", act)
	}
	for _, k := range act.SKUs {
		sel := fmt.Sprintf(`[data-testid="activity-100301"] [data-testid="sku-%d"]`, k.SKU)
		if got := b.attr(sel, "data-stock") + "/" + b.attr(sel, "data-left"); got != fmt.Sprintf("%d/%d", k.StockCount, k.StockLeft) {
			b.t.Errorf("SKU %d stock/left %s, API %d/%d", k.SKU, got, k.StockCount, k.StockLeft)
		}
		if shown, _ := b.textOf(fmt.Sprintf(`[data-testid="sku-%d-left"]`, k.SKU)); number(b.t, shown) != float64(k.StockLeft) {
			b.t.Errorf("SKU %d left shown %q, API %d", k.SKU, shown, k.StockLeft)
		}
	}
	for _, a := range act.Awards {
		sel := fmt.Sprintf(`[data-testid="award-%d-%d"]`, a.StrategyID, a.AwardID)
		got := b.attr(sel, "data-count") + "/" + b.attr(sel, "data-taken") + "/" + b.attr(sel, "data-left")
		if want := fmt.Sprintf("%d/%d/%d", a.Count, a.Taken, a.Left); got != want {
			b.t.Errorf("award %d count/taken/left %s, API %s", a.AwardID, got, want)
		}
		if shown, _ := b.textOf(fmt.Sprintf(`[data-testid="award-%d-%d-left"]`, a.StrategyID, a.AwardID)); number(b.t, shown) != float64(a.Left) {
			b.t.Errorf("award %d left shown %q, API %d", a.AwardID, shown, a.Left)
		}
	}
}

// consoleLabActivateStage activates an inactive stage from the activities
// screen: it asks to confirm, then the stage is active in the screen and in
// the erp list.
func consoleLabActivateStage(b *browser, s *site) {
	b.t.Helper()
	file := strings.Replace(string(campaign.Demo()), "  - {channel: c01, source: s01, activity: 100401, state: active}",
		"  - {channel: c01, source: s01, activity: 100401, state: active}\n  - {channel: c02, source: s02, activity: 100301, state: inactive}", 1)
	if file == string(campaign.Demo()) {
		b.t.Fatal("the demo's stage line was not found")
	}
	s.admin("POST", "/api/admin/v1/campaign/apply", file)
	stages := func() map[string]string {
		code, data := s.api("GET", "/api/v1/raffle/erp/query_raffle_activity_stage_list", "", map[string]string{"Authorization": "Bearer " + consoleToken})
		var list []struct {
			ID              int64
			Channel, Source string
			State           string
		}
		if code != "0000" || json.Unmarshal(data, &list) != nil {
			b.t.Fatalf("stage list: %s %s", code, data)
		}
		out := map[string]string{}
		for _, st := range list {
			out[st.Channel+"/"+st.Source] = fmt.Sprintf("%d:%s", st.ID, st.State)
		}
		return out
	}
	st := stages()["c02/s02"]
	id, state, _ := strings.Cut(st, ":")
	if state != "inactive" {
		b.t.Fatalf("stage c02/s02 after apply: %q", st)
	}
	b.open(s.url + "/admin/activities")
	row := fmt.Sprintf(`[data-testid="stage-%s"]`, id)
	if got := b.attr(row, "data-state"); got != "inactive" {
		b.t.Fatalf("stage %s shown %q, want inactive", id, got)
	}
	b.click(`#stage-activate-` + id)
	b.waitText(`.ant-modal-confirm-title`, "the confirmation", is("Activate stage "+id+"?"))
	if stages()["c02/s02"] != id+":inactive" {
		b.t.Fatal("the stage was activated before it was confirmed")
	}
	// Confirm from the keyboard: the dialog zooms in from the pointer, so a
	// click computed during its motion could miss the button.
	b.do(typeInto(`#activities-confirm-activate`, "\r"))
	b.waitText(row+` .ant-tag`, "the active stage", is("active"))
	if got := stages()["c02/s02"]; got != id+":active" {
		b.t.Fatalf("stage after activation in the erp list: %q", got)
	}
}

// TestConsoleLab: sign in → the lab simulates the demo activity's strategy
// for a new user (rates within tolerance, locks) and for a user on a
// rule_weight tier → the activities screen shows the demo activity's SKUs
// and stock as the API answers them → a stage is activated after
// confirmation.
func TestConsoleLab(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 1280, 900, false, false)
	signInConsole(b, s, "/admin/lab", consoleToken)
	consoleLabCheckNewUser(b, s)
	b.shot("console-lab")
	consoleLabCheckWeightTier(b, s)
	consoleLabCheckActivities(b, s)
	consoleLabActivateStage(b, s)
	b.checkClean(s.url)
}

// TestConsoleLabRefusals, on a phone: a form out of range is refused in the
// page without a request; an unknown strategy (run with Enter) is a message,
// not raw JSON; neither screen is wider than the phone.
func TestConsoleLabRefusals(t *testing.T) {
	s := newSite(t, nil)
	b := newBrowser(t, 360, 800, true, false)
	signInConsole(b, s, "/admin/lab?strategy=100006", consoleToken)
	consoleLabSetInput(b, `#lab-draws`, "2000000")
	b.click(`#lab-run`)
	if msg := b.waitText(`[data-testid="lab-form-error"]`, "the form's refusal", func(x string) bool { return x != "" }); !strings.Contains(msg, "1 to 1,000,000") {
		t.Errorf("form error %q", msg)
	}
	for _, u := range b.requests() {
		if strings.Contains(u, "strategy/simulate") {
			t.Fatalf("a refused form sent %s", u)
		}
	}
	consoleLabSetInput(b, `#lab-draws`, "10")
	consoleLabSetInput(b, `#lab-strategy`, "7")
	b.do(typeInto(`#lab-strategy`, "\r")) // Enter runs the form
	msg := b.waitText(`[role="alert"]`, "the refusal of an unknown strategy", func(x string) bool { return strings.Contains(x, "ERR_BIZ_002") })
	if strings.Contains(msg, "{") {
		t.Errorf("raw JSON shown: %q", msg)
	}
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the lab is %d px wide on a 360 px phone", w)
	}
	b.open(s.url + "/admin/activities")
	b.waitText(`[data-testid="activity-100301-strategy"]`, "the activities screen", is("100006"))
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 360 {
		t.Errorf("the activities screen is %d px wide on a 360 px phone", w)
	}
	b.checkClean(s.url)
}
