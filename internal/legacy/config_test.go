package legacy_test

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/legacy"
	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// demoCampaign is bigmarket's demo campaign: the original's sample data written
// by hand in bigmarket's format, the reference the import must agree with.
func demoCampaign(t *testing.T) *campaign.Campaign {
	t.Helper()
	f, err := campaign.Parse(campaign.Demo())
	if err != nil {
		t.Fatal(err)
	}
	c, ps := campaign.Validate(f)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	return c
}

func readConfig(t *testing.T, l legacyDB, opts legacy.ConfigOptions) *legacy.ConfigResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := legacy.ReadConfig(ctx, l.DB, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Semantic views of a campaign, for comparison: what draws, rules and trees
// do, not how rows are ordered.
func awardsView(c *campaign.Campaign) []string {
	var out []string
	for _, a := range c.Awards {
		out = append(out, fmt.Sprintf("%d|%s|%s", a.ID, a.Key, a.Config))
	}
	slices.Sort(out)
	return out
}

func treesView(c *campaign.Campaign) map[string]string {
	out := map[string]string{}
	for _, t := range c.Trees {
		var nodes, lines []string
		for _, n := range t.Nodes {
			nodes = append(nodes, string(n.Key)+"="+n.Value)
		}
		for _, l := range t.Lines {
			lines = append(lines, fmt.Sprintf("%s>%s@%s", l.From, l.To, l.When))
		}
		slices.Sort(nodes)
		slices.Sort(lines)
		out[t.ID] = fmt.Sprintf("root %s nodes %v lines %v", t.Root, nodes, lines)
	}
	return out
}

func strategiesView(c *campaign.Campaign) map[int64]string {
	out := map[int64]string{}
	for _, s := range c.Strategies {
		var rules, awards []string
		for _, r := range s.Rules {
			rules = append(rules, string(r.Model)+"="+r.Value)
		}
		for _, a := range s.Awards {
			awards = append(awards, fmt.Sprintf("%d|%s|%s|%s|%s|%d", a.AwardID, a.Title, a.Subtitle, a.Rate, a.TreeID, a.Sort))
		}
		slices.Sort(awards)
		out[s.ID] = fmt.Sprintf("rules %v awards %v", rules, awards)
	}
	return out
}

func rowsView[T any](rows []T, f func(T) string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, f(r))
	}
	slices.Sort(out)
	return out
}

// TestConfigImportMatchesOriginal imports the original's sample config (the
// fixture) and checks it against bigmarket's demo campaign, which is the same
// sample data written by hand: same awards, rates, rules, trees, activities,
// counts, SKUs, rebates and stages. Award counts are the units the original had
// left. A simulation of strategy 100006 through bigmarket's engine matches the
// legacy rates.
func TestConfigImportMatchesOriginal(t *testing.T) {
	l := loadLegacy(t, "bmlegacy_cfg_", "big_market.sql")
	res := readConfig(t, l, legacy.ConfigOptions{})
	if len(res.Problems) > 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	if ps := campaign.ValidateBytes(res.File); len(ps) > 0 {
		t.Fatalf("campaign validate on the imported file: %v", ps)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.HasPrefix(n, "strategy_rule[3]:") }) {
		t.Errorf("notes %v: want the inert award-level strategy_rule[3] named", res.Notes)
	}
	got, want := res.Campaign, demoCampaign(t)

	if g, w := awardsView(got), awardsView(want); !slices.Equal(g, w) {
		t.Errorf("awards:\n got %v\nwant %v", g, w)
	}
	gt, wt := treesView(got), treesView(want)
	for id, w := range wt {
		if gt[id] != w {
			t.Errorf("tree %s:\n got %s\nwant %s", id, gt[id], w)
		}
	}
	if len(gt) != len(wt) {
		t.Errorf("trees: got %d, want %d", len(gt), len(wt))
	}
	gs, ws := strategiesView(got), strategiesView(want)
	for id, w := range ws {
		if gs[id] != w {
			t.Errorf("strategy %d:\n got %s\nwant %s", id, gs[id], w)
		}
	}
	if len(gs) != len(ws) {
		t.Errorf("strategies: got %d, want %d", len(gs), len(ws))
	}
	// Counts are what the original had left (award_count_surplus); rule_weight
	// picks the group with the largest threshold not above the draw count, as
	// the original's RuleWeightLogicChain does.
	for _, s := range got.Strategies {
		hasWeight := slices.ContainsFunc(s.Rules, func(r strategy.Rule) bool { return r.Model == strategy.RuleWeight })
		if want := map[bool]strategy.WeightMatch{true: strategy.WeightAtLeast}[hasWeight]; s.WeightMatch != want {
			t.Errorf("strategy %d weight match %q, want %q", s.ID, s.WeightMatch, want)
		}
		for _, a := range s.Awards {
			if s.ID == 100006 && a.AwardID == 102 && a.Count != 15 {
				t.Errorf("strategy 100006 award 102 count %d, want the 15 left in the original", a.Count)
			}
		}
	}
	actView := func(a activity.Activity) string {
		return fmt.Sprintf("%d|%s|%s|%d|%s|%s", a.ID, a.Name, a.Desc, a.StrategyID, a.State, a.Begin.Format(time.RFC3339))
	}
	if g, w := rowsView(got.Activities, actView), rowsView(want.Activities, actView); !slices.Equal(g, w) {
		t.Errorf("activities:\n got %v\nwant %v", g, w)
	}
	for _, a := range got.Activities {
		if a.ID == 100301 && a.End.Format(time.RFC3339) != "2034-03-09T10:15:10+08:00" {
			t.Errorf("activity 100301 ends %s, want the original's 2034-03-09 10:15:10 Asia/Shanghai", a.End.Format(time.RFC3339))
		}
	}
	countView := func(c activity.Count) string { return fmt.Sprintf("%d|%d|%d|%d", c.ID, c.Total, c.Day, c.Month) }
	if g, w := rowsView(got.Counts, countView), rowsView(want.Counts, countView); !slices.Equal(g, w) {
		t.Errorf("counts:\n got %v\nwant %v", g, w)
	}
	skuView := func(s activity.SKU) string {
		return fmt.Sprintf("%d|%d|%d|%d|%s", s.SKU, s.ActivityID, s.CountID, s.Stock, s.Price)
	}
	if g, w := rowsView(got.SKUs, skuView), rowsView(want.SKUs, skuView); !slices.Equal(g, w) {
		t.Errorf("skus:\n got %v\nwant %v", g, w)
	}
	rebateView := func(r rebate.Rule) string {
		return fmt.Sprintf("%d|%s|%s|%s|%s", r.ID, r.Behavior, r.Type, r.Config, r.State)
	}
	if g, w := rowsView(got.Rebates, rebateView), rowsView(want.Rebates, rebateView); !slices.Equal(g, w) {
		t.Errorf("rebates:\n got %v\nwant %v", g, w)
	}
	stageView := func(s activity.Stage) string {
		return fmt.Sprintf("%d|%s|%s|%d|%s", s.ID, s.Channel, s.Source, s.ActivityID, s.State)
	}
	if g, w := rowsView(got.Stages, stageView), rowsView(want.Stages, stageView); !slices.Equal(g, w) {
		t.Errorf("stages:\n got %v\nwant %v", g, w)
	}

	// Simulation of strategy 100006 (all locks open, no weight group): the
	// award frequencies fit the rates in the legacy strategy_award table.
	engine := strategy.NewEngine(strategy.Config{Counter: counter.NewMemory()})
	if err := engine.Arm(got.Strategies, got.Trees); err != nil {
		t.Fatal(err)
	}
	rows, err := l.DB.Query("SELECT award_id, CAST(award_rate AS CHAR) FROM strategy_award WHERE strategy_id = 100006 ORDER BY award_id")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	var weights []float64
	for rows.Next() {
		var id int64
		var rate string
		if err := rows.Scan(&id, &rate); err != nil {
			t.Fatal(err)
		}
		w, err := strconv.ParseFloat(rate, 64)
		if err != nil {
			t.Fatal(err)
		}
		ids, weights = append(ids, id), append(weights, w)
	}
	rows.Close()
	if len(ids) != 8 {
		t.Fatalf("legacy strategy 100006 has %d awards, want 8", len(ids))
	}
	checkChiSquare(t, "strategy 100006", func() []int {
		counts, err := engine.Simulate(context.Background(), 100006, 200_000, "lg_sim", 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		obs := make([]int, len(ids))
		total := 0
		for i, id := range ids {
			obs[i] = counts[id]
			total += counts[id]
		}
		if total != 200_000 {
			t.Fatalf("simulation drew awards outside the table: %v", counts)
		}
		return obs
	}, weights)

	// A user with 75 draws used falls in the original's "70:106,107" group
	// (largest threshold not above the count): only 106 and 107, at their
	// rates 0.03 : 0.03.
	checkChiSquare(t, "strategy 100006 at 75 draws", func() []int {
		counts, err := engine.Simulate(context.Background(), 100006, 20_000, "lg_sim", 75, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != 2 {
			t.Fatalf("draws at 75 used %v: want awards 106 and 107 only", counts)
		}
		return []int{counts[106], counts[107]}
	}, []float64{0.03, 0.03})
}

// TestConfigImportWeightMatchAndStock: the options set bigmarket's equal
// weight match on the strategies with rule_weight and take award counts from
// award_count; a strategy with awards but no strategy row imports without rules.
func TestConfigImportWeightMatchAndStock(t *testing.T) {
	l := loadLegacy(t, "bmlegacy_cfg_", "big_market.sql")
	// The original draws from strategy_award alone: a strategy without its
	// strategy row still imports, without rules.
	l.Exec(t, "DELETE FROM strategy WHERE strategy_id = 100004")
	res := readConfig(t, l, legacy.ConfigOptions{AwardStock: legacy.StockTotal, WeightMatch: strategy.WeightEqual})
	if len(res.Problems) > 0 {
		t.Fatalf("problems: %v", res.Problems)
	}
	if !slices.ContainsFunc(res.Notes, func(n string) bool {
		return strings.HasPrefix(n, "strategy_award[16]: strategy 100004 has no strategy row")
	}) ||
		!slices.ContainsFunc(res.Campaign.Strategies, func(s strategy.Strategy) bool { return s.ID == 100004 && len(s.Awards) == 1 }) {
		t.Errorf("strategy 100004 without its row: notes %v", res.Notes)
	}
	for _, s := range res.Campaign.Strategies {
		wantMatch := strategy.WeightMatch("")
		if s.ID == 100001 || s.ID == 100006 {
			wantMatch = strategy.WeightEqual
		}
		if s.WeightMatch != wantMatch {
			t.Errorf("strategy %d weight match %q, want %q", s.ID, s.WeightMatch, wantMatch)
		}
		for _, a := range s.Awards {
			if s.ID == 100006 && a.AwardID == 102 && a.Count != 100 {
				t.Errorf("strategy 100006 award 102 count %d, want award_count 100", a.Count)
			}
		}
	}
}

// TestConfigImportReportsBadRows: an unknown rule model, a dangling award id, an
// unknown rule in a strategy's chain and an incomplete tree are each reported
// with table and row id, and there is no file.
func TestConfigImportReportsBadRows(t *testing.T) {
	l := loadLegacy(t, "bmlegacy_bad_", "big_market.sql")
	l.Exec(t,
		"INSERT INTO strategy_rule (id, strategy_id, award_id, rule_type, rule_model, rule_value, rule_desc) VALUES (6, 100006, NULL, 1, 'rule_random', '1,100', 'x')",
		"UPDATE strategy_award SET award_id = 999 WHERE id = 23",
		"UPDATE strategy SET rule_models = 'rule_blacklist,rule_weight,rule_vip' WHERE id = 1",
		"DELETE FROM rule_tree_node_line WHERE id = 2",
	)
	res := readConfig(t, l, legacy.ConfigOptions{})
	if res.File != nil || res.Campaign != nil {
		t.Fatal("a file was produced despite the bad rows")
	}
	var got []string
	for _, p := range res.Problems {
		got = append(got, p.String())
	}
	for _, want := range []string{
		`strategy_rule[6]: unknown rule model "rule_random"`,
		`strategy_award[23]: award 999 does not exist in award`,
		`strategy[1]: unknown rule model "rule_vip" in rule_models`,
		`rule_tree[1]: tree "tree_lock_1" is incomplete: rule_lock has no TAKE_OVER line`,
	} {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, want) }) {
			t.Errorf("problems %q: want one starting %q", got, want)
		}
	}
}

// TestConfigImportReportsValidationAgainstRows: a value only bigmarket's
// campaign validation checks (a luck award that is no "AWARD:min,max") is
// reported against the legacy row its rule tree came from.
func TestConfigImportReportsValidationAgainstRows(t *testing.T) {
	l := loadLegacy(t, "bmlegacy_bad_", "big_market.sql")
	l.Exec(t, "UPDATE rule_tree_node SET rule_value = 'x:1,100' WHERE id = 5")
	res := readConfig(t, l, legacy.ConfigOptions{})
	if res.File != nil || len(res.Problems) == 0 {
		t.Fatalf("no problem reported for a bad luck award value (file %d bytes)", len(res.File))
	}
	for _, p := range res.Problems {
		if p.Table != "rule_tree" || p.Row != "2" || !strings.HasPrefix(p.Message, ".nodes[1].value:") {
			t.Errorf("problem %q: want it against rule_tree[2] (tree_luck_award), node 1's value", p)
		}
	}
}

// checkChiSquare fails t when the counts a sample draws do not fit the weights
// at p = 0.001; a sample past the critical value is drawn again, and only two
// failures in a row fail the test.
func checkChiSquare(t *testing.T, name string, sample func() []int, weights []float64) {
	t.Helper()
	critical := map[int]float64{1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515, 6: 22.458, 7: 24.322, 8: 26.124, 9: 27.877}
	for attempt := 1; attempt <= 2; attempt++ {
		obs := sample()
		var n, wsum float64
		for i := range obs {
			n += float64(obs[i])
			wsum += weights[i]
		}
		type cell struct{ obs, exp float64 }
		cells := make([]cell, len(obs))
		for i := range obs {
			cells[i] = cell{float64(obs[i]), n * weights[i] / wsum}
		}
		slices.SortFunc(cells, func(a, b cell) int { return cmp.Compare(a.exp, b.exp) })
		var merged []cell
		var cur cell
		for _, c := range cells {
			cur.obs, cur.exp = cur.obs+c.obs, cur.exp+c.exp
			if cur.exp >= 5 {
				merged, cur = append(merged, cur), cell{}
			}
		}
		if cur.exp > 0 && len(merged) > 0 {
			merged[len(merged)-1].obs += cur.obs
			merged[len(merged)-1].exp += cur.exp
		}
		var stat float64
		for _, c := range merged {
			d := c.obs - c.exp
			stat += d * d / c.exp
		}
		crit := critical[len(merged)-1]
		if stat <= crit {
			t.Logf("%s: chi-square %.3f ≤ %.3f (df=%d)", name, stat, crit, len(merged)-1)
			return
		}
		if attempt == 2 {
			t.Errorf("%s: chi-square %.3f > %.3f on two samples: observed %v, weights %v", name, stat, crit, obs, weights)
		}
	}
}
