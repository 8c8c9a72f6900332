package campaign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

func mustParse(t testing.TB, data []byte) *File {
	t.Helper()
	f, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func mustValidate(t testing.TB, data []byte) *Campaign {
	t.Helper()
	c, ps := Validate(mustParse(t, data))
	if len(ps) > 0 {
		t.Fatalf("Validate: %d problems:\n%s", len(ps), strings.Join(ps.Strings(), "\n"))
	}
	if c == nil {
		t.Fatal("Validate: nil campaign without problems")
	}
	return c
}

func mustExport(t testing.TB, c *Campaign) []byte {
	t.Helper()
	out, err := Export(c)
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return out
}

func TestDemoIsTheSharedFile(t *testing.T) {
	// demo.yaml is a copy of shared/campaigns/demo.yaml; the copy must not drift.
	// Outside the workspace the shared file is absent and only the copy counts.
	shared, err := readShared()
	if err != nil {
		t.Skipf("shared demo not reachable: %v", err)
	}
	if !bytes.Equal(shared, Demo()) {
		t.Fatal("internal/campaign/demo.yaml differs from shared/campaigns/demo.yaml: copy it again")
	}
}

func TestDemoConverts(t *testing.T) {
	c := mustValidate(t, Demo())

	if c.Version != 1 || c.Timezone == nil || c.Timezone.String() != "Asia/Shanghai" {
		t.Fatalf("version/timezone = %d/%v", c.Version, c.Timezone)
	}
	counts := map[string]int{
		"awards": len(c.Awards), "trees": len(c.Trees), "strategies": len(c.Strategies),
		"activities": len(c.Activities), "counts": len(c.Counts), "skus": len(c.SKUs),
		"rebates": len(c.Rebates), "stages": len(c.Stages), "grants": len(c.Grants),
	}
	want := map[string]int{"awards": 18, "trees": 4, "strategies": 7, "activities": 2, "counts": 7,
		"skus": 7, "rebates": 4, "stages": 1, "grants": 2}
	if !reflect.DeepEqual(counts, want) {
		t.Fatalf("row counts = %v, want %v", counts, want)
	}

	if got := c.Awards[1]; got != (award.Award{ID: 101, Key: award.KeyCreditRandom, Config: "1,100", Desc: "用户积分"}) {
		t.Errorf("awards[1] = %+v", got)
	}

	s := c.Strategies[0]
	if s.ID != 100001 || len(s.Rules) != 2 || s.Rules[0].Model != strategy.RuleBlacklist ||
		s.Rules[1].Value != "60:102,103,104,105 200:106,107 1000:105" || s.WeightMatch != "" {
		t.Errorf("strategies[0] = %+v", s)
	}
	wantAward := strategy.Award{AwardID: 108, Title: "增加100次使用", Subtitle: "抽奖2次后解锁", Count: 199,
		Surplus: 199, Rate: 9900, TreeID: "tree_luck_award", Sort: 8}
	if got := s.Awards[7]; got != wantAward {
		t.Errorf("strategies[0].awards[7] = %+v, want %+v", got, wantAward)
	}
	if s.Awards[0].Rate != 300_000 || s.Awards[8].Rate != 100 {
		t.Errorf("rates = %d, %d; want 300000, 100", s.Awards[0].Rate, s.Awards[8].Rate)
	}
	if c.Strategies[3].Awards[0].Rate != strategy.RateScale {
		t.Errorf("rate \"1\" = %d", c.Strategies[3].Awards[0].Rate)
	}

	tree := c.Trees[1]
	if tree.ID != "tree_lock_1" || tree.Root != strategy.NodeLock || len(tree.Nodes) != 3 || len(tree.Lines) != 3 {
		t.Fatalf("rule_trees[1] = %+v", tree)
	}
	luck, err := strategy.ParseLuckAward(tree.Nodes[2].Value)
	if err != nil || luck.AwardID != 101 || luck.Min != money.FromInt(1) || luck.Max != money.FromInt(100) {
		t.Errorf("luck award %q = %+v, %v", tree.Nodes[2].Value, luck, err)
	}
	if tree.Lines[1] != (strategy.Line{From: strategy.NodeLock, To: strategy.NodeLuckAward, When: strategy.TakeOver}) {
		t.Errorf("rule_trees[1].lines[1] = %+v", tree.Lines[1])
	}

	a := c.Activities[0]
	if a.ID != 100301 || a.StrategyID != 100006 || a.State != activity.StateOpen {
		t.Errorf("activities[0] = %+v", a)
	}
	if _, off := a.Begin.Zone(); off != 8*3600 {
		t.Errorf("begin offset = %d, want +08:00", off)
	}
	if want := time.Date(2024, 3, 9, 2, 15, 10, 0, time.UTC); !a.Begin.Equal(want) {
		t.Errorf("begin = %v, want %v", a.Begin, want)
	}
	if got := a.End.Format(time.RFC3339); got != "2036-03-09T10:15:10+08:00" {
		t.Errorf("end = %s", got)
	}

	sku := c.SKUs[3]
	if sku.SKU != 9014 || sku.Price.Cents() != 500 || sku.Stock != 100000 || sku.CountID != 11104 {
		t.Errorf("skus[3] = %+v", sku)
	}
	if c.SKUs[0].Price.Cents() != 20000 {
		t.Errorf("price 200.00 = %d cents", c.SKUs[0].Price.Cents())
	}
	if got := c.Counts[0]; got != (activity.Count{ID: 11101, Total: 150, Day: 150, Month: 150}) {
		t.Errorf("counts[0] = %+v", got)
	}
	wantRebate := rebate.Rule{ID: 2, Behavior: "sign", Type: rebate.TypeSKU, Config: "9901", Desc: "签到返利-sku额度", State: rebate.StateOpen}
	if c.Rebates[1] != wantRebate {
		t.Errorf("rebates[1] = %+v, want %+v", c.Rebates[1], wantRebate)
	}
	if got := c.Stages[0]; got != (activity.Stage{ID: 1, Channel: "c01", Source: "s01", ActivityID: 100401, State: activity.StageActive}) {
		t.Errorf("stages[0] = %+v", got)
	}
	if got := c.Grants[0]; got != (activity.Grant{ID: "demo-xiaofuge-100301", UserID: "xiaofuge", ActivityID: 100301, Total: 100, Day: 100, Month: 100}) {
		t.Errorf("grants[0] = %+v", got)
	}
}

// base is a small valid campaign using every kind of row; the table test breaks it
// one way at a time.
const base = `
version: 1
timezone: Asia/Shanghai
awards:
  - {id: 1, key: user_credit_random, config: "1,100", desc: credits}
  - {id: 2, key: user_credit_blacklist, config: "1"}
  - {id: 3, key: webhook_prize, config: "x"}
rule_trees:
  - id: t1
    root: rule_lock
    nodes:
      - {key: rule_lock, value: "2"}
      - {key: rule_stock}
      - {key: rule_luck_award, value: "1:1,10"}
    lines:
      - {from: rule_lock, to: rule_stock, when: ALLOW}
      - {from: rule_lock, to: rule_luck_award, when: TAKE_OVER}
      - {from: rule_stock, to: rule_luck_award, when: ALLOW}
strategies:
  - id: 10
    weight_match: at_least
    rules:
      - {model: rule_blacklist, value: "2:u1,u2"}
      - {model: rule_weight, value: "5:1,3"}
    awards:
      - {award: 1, title: a, count: 10, rate: "0.5", tree: t1, sort: 1}
      - {award: 3, title: c, count: 1, rate: "0.000001", sort: 2}
  - id: 11
    awards:
      - {award: 1, count: 5, rate: "1", sort: 1}
activities:
  - {id: 100, name: A, strategy: 10, state: open, begin: "2024-01-01T00:00:00+08:00", end: "2025-01-01T00:00:00+08:00"}
  - {id: 101, strategy: 11, state: create, begin: "2024-01-01T00:00:00Z", end: "2024-01-01T00:00:00Z"}
counts:
  - {id: 1000, total: 10, day: 2, month: 5}
skus:
  - {sku: 500, activity: 100, count: 1000, stock: 10, price: "5.00"}
rebates:
  - {behavior: sign, type: integral, config: "10", state: open}
  - {behavior: sign, type: sku, config: "500", state: close}
stages:
  - {channel: c, source: s, activity: 100, state: active}
grants:
  - {id: g1, user: u1, activity: 100, total: 3, day: 1, month: 2}
`

func TestBaseIsValid(t *testing.T) {
	c := mustValidate(t, []byte(base))
	if c.Rebates[0].ID != 1 || c.Rebates[1].ID != 2 || c.Stages[0].ID != 1 {
		t.Errorf("assigned ids: rebates %d,%d stage %d; want 1,2 and 1", c.Rebates[0].ID, c.Rebates[1].ID, c.Stages[0].ID)
	}
	if c.Strategies[0].WeightMatch != strategy.WeightAtLeast || c.Strategies[0].Awards[1].Rate != 1 {
		t.Errorf("strategies[0] = %+v", c.Strategies[0])
	}
}

func TestValidateProblems(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(f *File)
		path   string
		msg    string
		many   bool // the mutation legitimately causes further problems
	}{
		// file
		{"version unsupported", func(f *File) { f.Version = 2 }, "version", "unsupported version 2", false},
		{"version missing", func(f *File) { f.Version = 0 }, "version", "missing", false},
		{"timezone unknown", func(f *File) { f.Timezone = "Mars/Olympus" }, "timezone", `unknown time zone "Mars/Olympus"`, false},

		// unknown references
		{"strategy award unknown", func(f *File) { f.Strategies[1].Awards[0].Award = 99 }, "strategies[1].awards[0].award", "unknown award 99", false},
		{"blacklist award unknown", func(f *File) { f.Strategies[0].Rules[0].Value = "9:u1" }, "strategies[0].rules[0].value", "unknown award 9", false},
		{"weight award unknown", func(f *File) { f.Strategies[0].Rules[1].Value = "5:1,9" }, "strategies[0].rules[1].value", `group "5:1,9": unknown award 9`, false},
		{"weight award not in table", func(f *File) { f.Strategies[0].Rules[1].Value = "5:1 8:2" }, "strategies[0].rules[1].value", "award 2 is not in the strategy's awards", false},
		{"luck award unknown", func(f *File) { f.Trees[0].Nodes[2].Value = "9:1,2" }, "rule_trees[0].nodes[2].value", "unknown award 9", false},
		{"tree unknown", func(f *File) { f.Strategies[0].Awards[0].Tree = "tree_lock_9" }, "strategies[0].awards[0].tree", `unknown rule tree "tree_lock_9"`, false},
		{"activity strategy unknown", func(f *File) { f.Activities[0].Strategy = 99 }, "activities[0].strategy", "unknown strategy 99", false},
		{"sku activity unknown", func(f *File) { f.SKUs[0].Activity = 99 }, "skus[0].activity", "unknown activity 99", false},
		{"sku count unknown", func(f *File) { f.SKUs[0].Count = 99 }, "skus[0].count", "unknown count 99", false},
		{"rebate sku unknown", func(f *File) { f.Rebates[1].Config = "501" }, "rebates[1].config", "unknown SKU 501", false},
		{"stage activity unknown", func(f *File) { f.Stages[0].Activity = 99 }, "stages[0].activity", "unknown activity 99", false},
		{"grant activity unknown", func(f *File) { f.Grants[0].Activity = 99 }, "grants[0].activity", "unknown activity 99", false},

		// malformed rule values
		{"blacklist malformed", func(f *File) { f.Strategies[0].Rules[0].Value = "u1,u2" }, "strategies[0].rules[0].value", "rule_blacklist", false},
		{"blacklist no users", func(f *File) { f.Strategies[0].Rules[0].Value = "2:" }, "strategies[0].rules[0].value", "rule_blacklist", false},
		{"weight malformed", func(f *File) { f.Strategies[0].Rules[1].Value = "five:1" }, "strategies[0].rules[1].value", "rule_weight", false},
		{"weight threshold repeated", func(f *File) { f.Strategies[0].Rules[1].Value = "5:1 5:3" }, "strategies[0].rules[1].value", "repeated", false},
		{"lock malformed", func(f *File) { f.Trees[0].Nodes[0].Value = "x" }, "rule_trees[0].nodes[0].value", "rule_lock", false},
		{"lock zero", func(f *File) { f.Trees[0].Nodes[0].Value = "0" }, "rule_trees[0].nodes[0].value", "positive count", false},
		{"luck range reversed", func(f *File) { f.Trees[0].Nodes[2].Value = "1:5,1" }, "rule_trees[0].nodes[2].value", "min ≤ max", false},
		{"stock with value", func(f *File) { f.Trees[0].Nodes[1].Value = "3" }, "rule_trees[0].nodes[1].value", "takes no value", false},

		// rates
		{"rate above one", func(f *File) { f.Strategies[0].Awards[0].Rate = "1.5" }, "strategies[0].awards[0].rate", "(0,1]", false},
		{"rate zero", func(f *File) { f.Strategies[0].Awards[0].Rate = "0" }, "strategies[0].awards[0].rate", "(0,1]", false},
		{"rate seven digits", func(f *File) { f.Strategies[0].Awards[1].Rate = "0.0000001" }, "strategies[0].awards[1].rate", "at most 6 fraction digits", false},
		{"rate negative", func(f *File) { f.Strategies[0].Awards[0].Rate = "-0.5" }, "strategies[0].awards[0].rate", "(0,1]", false},
		{"rate missing", func(f *File) { f.Strategies[0].Awards[0].Rate = "" }, "strategies[0].awards[0].rate", "missing", false},

		// strategies
		{"strategy without awards", func(f *File) { f.Strategies[1].Awards = nil }, "strategies[1].awards", "at least one award", false},
		{"weight_match unknown", func(f *File) { f.Strategies[0].WeightMatch = "more" }, "strategies[0].weight_match", `unknown value "more"`, false},
		{"rule model unknown", func(f *File) { f.Strategies[0].Rules[0].Model = "rule_magic" }, "strategies[0].rules[0].model", `unknown value "rule_magic"`, false},
		{"rule model twice", func(f *File) {
			f.Strategies[0].Rules = append(f.Strategies[0].Rules, RuleRow{Model: "rule_blacklist", Value: "2:u9"})
		}, "strategies[0].rules[2].model", "duplicate rule rule_blacklist (first at strategies[0].rules[0].model)", false},
		{"award count negative", func(f *File) { f.Strategies[0].Awards[0].Count = -1 }, "strategies[0].awards[0].count", "must not be negative", false},
		{"award sort negative", func(f *File) { f.Strategies[0].Awards[0].Sort = -1 }, "strategies[0].awards[0].sort", "must not be negative", false},

		// trees
		{"line to missing node", func(f *File) { f.Trees[0].Lines[0].To = "rule_x" }, "rule_trees[0].lines[0].to", `unknown node "rule_x"`, false},
		{"line from missing node", func(f *File) { f.Trees[0].Lines[2].From = "rule_y" }, "rule_trees[0].lines[2].from", `unknown node "rule_y"`, false},
		{"line when unknown", func(f *File) { f.Trees[0].Lines[0].When = "MAYBE" }, "rule_trees[0].lines[0].when", `unknown value "MAYBE"`, false},
		{"line cycle", func(f *File) {
			f.Trees[0].Lines = append(f.Trees[0].Lines, LineRow{From: "rule_luck_award", To: "rule_lock", When: "ALLOW"})
		}, "rule_trees[0].lines", "cycle", false},
		{"line self loop", func(f *File) {
			f.Trees[0].Lines = append(f.Trees[0].Lines, LineRow{From: "rule_luck_award", To: "rule_luck_award", When: "TAKE_OVER"})
		}, "rule_trees[0].lines", "cycle", false},
		{"two lines same exit", func(f *File) {
			f.Trees[0].Lines = append(f.Trees[0].Lines, LineRow{From: "rule_lock", To: "rule_luck_award", When: "ALLOW"})
		}, "rule_trees[0].lines[3]", `duplicate line from "rule_lock" when ALLOW`, false},
		{"root missing", func(f *File) { f.Trees[0].Root = "" }, "rule_trees[0].root", "missing", false},
		{"root not a node", func(f *File) { f.Trees[0].Root = "rule_x" }, "rule_trees[0].root", `root "rule_x" is not a node`, false},
		{"node kind unknown", func(f *File) { f.Trees[0].Nodes[1].Key = "rule_magic" }, "rule_trees[0].nodes[1].key", `unknown value "rule_magic"`, true},
		{"node twice", func(f *File) { f.Trees[0].Nodes = append(f.Trees[0].Nodes, NodeRow{Key: "rule_stock"}) }, "rule_trees[0].nodes[3].key", `duplicate node "rule_stock"`, false},
		{"tree id missing", func(f *File) { f.Trees[0].ID = "" }, "rule_trees[0].id", "missing", true},
		{"stock without ALLOW line", func(f *File) { f.Trees[0].Lines = f.Trees[0].Lines[:2] },
			"rule_trees[0].nodes[1]", "rule_stock node has no ALLOW line (stock empty)", false},
		{"lock without TAKE_OVER line", func(f *File) {
			f.Trees[0].Lines = []LineRow{f.Trees[0].Lines[0], f.Trees[0].Lines[2]}
		}, "rule_trees[0].nodes[0]", "rule_lock node has no TAKE_OVER line (still locked)", false},
		{"locked walk reaches stock", func(f *File) { f.Trees[0].Lines[1].To = "rule_stock" },
			"rule_trees[0].lines[1]", "TAKE_OVER line of rule_lock (still locked) must end in a rule_luck_award: the walk rule_stock TAKE_OVER → end gives the locked award", false},
		{"stock empty walk gives drawn award", func(f *File) {
			f.Trees[0].Root = "rule_stock"
			f.Trees[0].Lines = []LineRow{
				{From: "rule_stock", To: "rule_lock", When: "ALLOW"},
				{From: "rule_lock", To: "rule_luck_award", When: "TAKE_OVER"},
			}
		}, "rule_trees[0].lines[0]", "ALLOW line of rule_stock (stock empty) must end in a rule_luck_award: the walk rule_lock ALLOW → end gives the drawn award without taking its stock", false},
		{"stock off the unlocked walk", func(f *File) { f.Trees[0].Lines = f.Trees[0].Lines[1:] },
			"rule_trees[0].lines", "the walk rule_lock ALLOW → end gives the drawn award without taking its stock", false},

		// activities
		{"end before begin", func(f *File) { f.Activities[0].End = "2023-12-31T23:59:59+08:00" }, "activities[0].end", "before begin", false},
		{"begin not RFC 3339", func(f *File) { f.Activities[0].Begin = "2024-01-01 00:00:00" }, "activities[0].begin", "RFC 3339", false},
		{"end missing", func(f *File) { f.Activities[0].End = "" }, "activities[0].end", "missing", false},
		{"activity state unknown", func(f *File) { f.Activities[0].State = "running" }, "activities[0].state", `unknown value "running"; want one of create, open, close`, false},
		{"activity state missing", func(f *File) { f.Activities[0].State = "" }, "activities[0].state", "missing", false},
		{"strategy bound twice", func(f *File) { f.Activities[1].Strategy = 10 }, "activities[1].strategy", "already bound to activities[0]", false},

		// duplicates
		{"duplicate award", func(f *File) { f.Awards = append(f.Awards, AwardRow{ID: 1, Key: "k"}) }, "awards[3].id", "duplicate award id 1 (first at awards[0].id)", false},
		{"duplicate tree", func(f *File) { f.Trees = append(f.Trees, f.Trees[0]) }, "rule_trees[1].id", `duplicate rule tree id "t1"`, false},
		{"duplicate strategy", func(f *File) { f.Strategies = append(f.Strategies, f.Strategies[1]) }, "strategies[2].id", "duplicate strategy id 11", false},
		{"duplicate activity", func(f *File) {
			f.Strategies = append(f.Strategies, StrategyRow{ID: 12, Awards: []StrategyAwardRow{{Award: 1, Rate: "1"}}})
			a := f.Activities[1]
			a.Strategy = 12
			f.Activities = append(f.Activities, a)
		}, "activities[2].id", "duplicate activity id 101", false},
		{"duplicate count", func(f *File) { f.Counts = append(f.Counts, f.Counts[0]) }, "counts[1].id", "duplicate count id 1000", false},
		{"duplicate sku", func(f *File) { f.SKUs = append(f.SKUs, f.SKUs[0]) }, "skus[1].sku", "duplicate SKU 500", false},
		{"award twice in strategy", func(f *File) {
			f.Strategies[1].Awards = append(f.Strategies[1].Awards, StrategyAwardRow{Award: 1, Rate: "0.1"})
		}, "strategies[1].awards[1].award", "duplicate award 1 in the strategy (first at strategies[1].awards[0].award)", false},
		{"duplicate stage pair", func(f *File) {
			f.Stages = append(f.Stages, StageRow{Channel: "c", Source: "s", Activity: 101, State: "inactive"})
		}, "stages[1]", `duplicate stage for channel "c" source "s"`, false},
		{"duplicate grant", func(f *File) { f.Grants = append(f.Grants, f.Grants[0]) }, "grants[1].id", `duplicate grant id "g1"`, false},
		{"rebate id collides with assigned", func(f *File) { f.Rebates[1].ID = 1 }, "rebates[1].id", "duplicate id 1 (first at rebates[0].id)", false},
		{"stage id collides with assigned", func(f *File) {
			f.Stages = append(f.Stages, StageRow{ID: 1, Channel: "c", Source: "s2", Activity: 100, State: "active"})
		}, "stages[1].id", "duplicate id 1", false},

		// enums
		{"stage state unknown", func(f *File) { f.Stages[0].State = "on" }, "stages[0].state", `unknown value "on"; want one of active, inactive`, false},
		{"rebate type unknown", func(f *File) { f.Rebates[0].Type = "cash" }, "rebates[0].type", `unknown value "cash"; want one of integral, sku`, false},
		{"rebate state unknown", func(f *File) { f.Rebates[0].State = "enabled" }, "rebates[0].state", `want one of open, close`, false},

		// counts, stock, prices
		{"count day zero", func(f *File) { f.Counts[0].Day = 0 }, "counts[0].day", "must be positive, got 0", false},
		{"count total negative", func(f *File) { f.Counts[0].Total = -3 }, "counts[0].total", "must be positive, got -3", false},
		{"sku stock negative", func(f *File) { f.SKUs[0].Stock = -1 }, "skus[0].stock", "must not be negative", false},
		{"price malformed", func(f *File) { f.SKUs[0].Price = "abc" }, "skus[0].price", `got "abc"`, false},
		{"price three digits", func(f *File) { f.SKUs[0].Price = "1.234" }, "skus[0].price", "at most 2 fraction digits", false},
		{"price negative", func(f *File) { f.SKUs[0].Price = "-1.00" }, "skus[0].price", "must not be negative", false},
		{"price missing", func(f *File) { f.SKUs[0].Price = "" }, "skus[0].price", "missing", false},

		// award configs
		{"credit range reversed", func(f *File) { f.Awards[0].Config = "100,1" }, "awards[0].config", "0 ≤ min ≤ max", false},
		{"credit range single", func(f *File) { f.Awards[0].Config = "5" }, "awards[0].config", `"min,max"`, false},
		{"credit range negative", func(f *File) { f.Awards[0].Config = "-1,5" }, "awards[0].config", "0 ≤ min", false},
		{"blacklist credit malformed", func(f *File) { f.Awards[1].Config = "abc" }, "awards[1].config", "positive credit amount", false},
		{"blacklist credit zero", func(f *File) { f.Awards[1].Config = "0" }, "awards[1].config", "positive credit amount", false},
		{"award key missing", func(f *File) { f.Awards[2].Key = "" }, "awards[2].key", "missing", false},

		// rebate configs
		{"integral not an amount", func(f *File) { f.Rebates[0].Config = "ten" }, "rebates[0].config", "positive credit amount", false},
		{"integral zero", func(f *File) { f.Rebates[0].Config = "0" }, "rebates[0].config", "positive credit amount", false},
		{"sku rebate not an id", func(f *File) { f.Rebates[1].Config = "sku9" }, "rebates[1].config", "want a SKU id", false},
		{"rebate behavior missing", func(f *File) { f.Rebates[0].Behavior = "" }, "rebates[0].behavior", "missing", false},

		// grants
		{"grant id missing", func(f *File) { f.Grants[0].ID = "" }, "grants[0].id", "missing", false},
		{"grant user missing", func(f *File) { f.Grants[0].User = "" }, "grants[0].user", "missing", false},
		{"grant total zero", func(f *File) { f.Grants[0].Total = 0 }, "grants[0].total", "must be positive", false},
		{"grant day negative", func(f *File) { f.Grants[0].Day = -1 }, "grants[0].day", "must not be negative", false},
		{"grant month negative", func(f *File) { f.Grants[0].Month = -1 }, "grants[0].month", "must not be negative", false},

		// ids
		{"award id negative", func(f *File) { f.Awards = append(f.Awards, AwardRow{ID: -5, Key: "k"}) }, "awards[3].id", "want a positive id, got -5", false},
		{"strategy id missing", func(f *File) {
			f.Strategies = append(f.Strategies, StrategyRow{Awards: []StrategyAwardRow{{Award: 1, Rate: "1"}}})
		}, "strategies[2].id", "missing; want a positive id", false},
		{"count id missing", func(f *File) { f.Counts = append(f.Counts, CountRow{Total: 1, Day: 1, Month: 1}) }, "counts[1].id", "missing", false},
		{"rebate id negative", func(f *File) { f.Rebates[0].ID = -1 }, "rebates[0].id", "want a positive id, got -1", false},
		{"stage id negative", func(f *File) { f.Stages[0].ID = -2 }, "stages[0].id", "want a positive id, got -2", false},

		// text
		{"desc not UTF-8", func(f *File) { f.Awards[0].Desc = "bad\xff" }, "awards[0].desc", "not valid UTF-8", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustParse(t, []byte(base))
			tc.mutate(f)
			c, ps := Validate(f)
			if c != nil {
				t.Errorf("Validate returned a campaign despite problems")
			}
			found := false
			for _, p := range ps {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no problem at %q containing %q; got:\n%s", tc.path, tc.msg, strings.Join(ps.Strings(), "\n"))
			}
			if !tc.many && len(ps) != 1 {
				t.Errorf("want exactly one problem, got %d:\n%s", len(ps), strings.Join(ps.Strings(), "\n"))
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	f := mustParse(t, []byte(base))
	f.Version = 3
	f.Strategies[0].Awards[0].Tree = "tree_lock_9"
	f.Strategies[0].Awards[1].Rate = "0.0000001"
	f.Activities[0].End = "2020-01-01T00:00:00+08:00"
	f.SKUs[0].Price = "-1"
	f.Grants[0].Activity = 7
	_, ps := Validate(f)
	want := []string{
		"version: unsupported version 3; want 1",
		`strategies[0].awards[0].tree: unknown rule tree "tree_lock_9"`,
		`strategies[0].awards[1].rate: rate "0.0000001": want a decimal in (0,1] with at most 6 fraction digits`,
		"activities[0].end: end 2020-01-01T00:00:00+08:00 is before begin 2024-01-01T00:00:00+08:00",
		"skus[0].price: must not be negative, got -1.00",
		"grants[0].activity: unknown activity 7",
	}
	if got := ps.Strings(); !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	err := ps.Err()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want[1]) {
		t.Errorf("Err() = %v", err)
	}
	if (Problems{}).Err() != nil || (Problems(nil)).Strings() == nil {
		t.Error("empty Problems: Err must be nil and Strings non-nil")
	}
}

func TestValidateNil(t *testing.T) {
	if c, ps := Validate(nil); c != nil || len(ps) != 1 {
		t.Fatalf("Validate(nil) = %v, %v", c, ps)
	}
}

func TestJSONEqualsYAML(t *testing.T) {
	yf := mustParse(t, Demo())
	js, err := json.Marshal(yf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(js, []byte(`"rule_trees":[`)) || !bytes.Contains(js, []byte(`"rate":"0.0099"`)) {
		t.Fatalf("JSON form lacks the file's keys: %.300s", js)
	}
	jf := mustParse(t, js)
	if !reflect.DeepEqual(yf, jf) {
		t.Fatal("the JSON form parses to a different File than the YAML form")
	}
	yc, _ := Validate(yf)
	jc, ps := Validate(jf)
	if len(ps) > 0 {
		t.Fatalf("JSON problems: %v", ps)
	}
	if !bytes.Equal(mustExport(t, yc), mustExport(t, jc)) {
		t.Fatal("campaigns from YAML and JSON export differently")
	}

	// encoding/json reads the same File as the YAML parser does.
	var ef File
	if err := json.Unmarshal(js, &ef); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(yf, &ef) {
		t.Fatal("encoding/json reads a different File")
	}
}

func TestNumbersKeepTheirLiteralText(t *testing.T) {
	// Rates and prices written as YAML/JSON numbers are read from their literal
	// text, never through float64: 0.30 stays exact, and 7 fraction digits are
	// rejected rather than rounded.
	yamlFile := strings.NewReplacer(`rate: "0.5"`, `rate: 0.30`, `price: "5.00"`, `price: 5.10`,
		`rate: "0.000001"`, `rate: 0.000001`).Replace(base)
	c := mustValidate(t, []byte(yamlFile))
	if got := c.Strategies[0].Awards[0].Rate; got != 300_000 {
		t.Errorf("rate 0.30 = %d", got)
	}
	if got := c.Strategies[0].Awards[1].Rate; got != 1 {
		t.Errorf("rate 0.000001 = %d", got)
	}
	if got := c.SKUs[0].Price.Cents(); got != 510 {
		t.Errorf("price 5.10 = %d cents", got)
	}

	f := mustParse(t, []byte(`{"version": 1, "strategies": [{"id": 1, "awards": [{"award": 1, "rate": 0.1234567}]}],
		"skus": [{"sku": 1, "price": 10.10}]}`))
	if f.Strategies[0].Awards[0].Rate != "0.1234567" || f.SKUs[0].Price != "10.10" {
		t.Errorf("JSON numbers read as %q and %q", f.Strategies[0].Awards[0].Rate, f.SKUs[0].Price)
	}
	_, ps := Validate(f)
	if !slices.ContainsFunc(ps, func(p Problem) bool {
		return p.Path == "strategies[0].awards[0].rate" && strings.Contains(p.Message, "6 fraction digits")
	}) {
		t.Errorf("7-digit numeric rate not rejected: %v", ps.Strings())
	}

	var s Scalar
	if err := json.Unmarshal([]byte(`0.10`), &s); err != nil || s != "0.10" {
		t.Errorf("json number = %q, %v", s, err)
	}
	if err := json.Unmarshal([]byte(`{"a":1}`), &s); err == nil {
		t.Error("json object accepted as a scalar")
	}
}

func TestParseErrorsCarryPosition(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		msg        string
	}{
		{"syntax", "version: 1\nawards:\n  - {id: 1, key: x\n", 3, ""},
		{"unknown field", "version: 1\nbogus: 2\n", 2, `unknown field "bogus"`},
		{"unknown row field", "version: 1\nawards:\n  - {id: 1, key: x, colour: red}\n", 3, `unknown field "colour"`},
		{"wrong type", "version: 1\ncounts:\n  - {id: abc}\n", 3, "cannot unmarshal"},
		{"overflow", "version: 1\ncounts:\n  - {id: 99999999999999999999}\n", 3, "overflow"},
		{"duplicate key", "version: 1\nversion: 1\n", 2, "already defined"},
		{"scalar wanted", "version: 1\nskus:\n  - {sku: 1, price: [1, 2]}\n", 3, "want a scalar"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.data))
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrParse) {
				t.Fatalf("Parse error = %v (%T), want *ParseError", err, err)
			}
			if pe.Line != tc.line || pe.Column <= 0 {
				t.Errorf("position = %d:%d, want line %d", pe.Line, pe.Column, tc.line)
			}
			if !strings.Contains(pe.Message, tc.msg) {
				t.Errorf("message %q lacks %q", pe.Message, tc.msg)
			}
			ps := ValidateBytes([]byte(tc.data))
			if len(ps) != 1 || ps[0].Path != "" || !strings.HasPrefix(ps[0].String(), "line ") {
				t.Errorf("ValidateBytes = %q", ps.Strings())
			}
		})
	}
}

// full is a campaign that sets every optional field and uses text that needs
// quoting, to prove the export round trip keeps everything.
const full = `
version: 1
timezone: America/New_York
awards:
  - {id: 7, key: user_credit_random, config: " 0.5, 2.25 ", desc: "line one\nline two\ttab"}
  - {id: 3, key: "webhook: prize", config: "{\"sku\": 1}", desc: "yes"}
  - {id: 5, key: user_credit_blacklist, config: "0.01", desc: "# not a comment"}
  - {id: 9, key: k9, config: "null", desc: "- dash, comma [brackets] {braces} 'quote' \"dq\" back\\slash"}
  - {id: 11, key: k11, desc: "  padded  "}
  - {id: 12, key: k12, desc: "16:30"}
  - {id: 13, key: k13, desc: "Ünïcödé 中文 ✓ \u2028 sep \u00a0nbsp"}
  - {id: 14, key: k14, desc: "&anchor *alias !tag %dir @at ` + "`tick`" + ` |pipe >gt"}
  - {id: 15, key: k15, desc: "007"}
  - {id: 16, key: k16, desc: "1e3"}
  - {id: 17, key: k17, desc: "~"}
  - {id: 18, key: k18, desc: "a: b"}
rule_trees:
  - id: "z tree"
    name: "Zed: tree"
    desc: described tree
    root: rule_stock
    nodes:
      - {key: rule_stock, desc: take one}
      - {key: rule_luck_award, value: "7", desc: fallback}
    lines:
      - {from: rule_stock, to: rule_luck_award, when: ALLOW}
  - id: a_tree
    root: rule_lock
    nodes:
      - {key: rule_lock, value: "10"}
      - {key: rule_luck_award, value: "5"}
    lines:
      - {from: rule_lock, to: rule_luck_award, when: TAKE_OVER}
strategies:
  - id: 20
    desc: second
    awards:
      - {award: 9, count: 0, rate: "0.000001", sort: 0}
  - id: 2
    desc: "first: with colon"
    weight_match: equal
    rules:
      - {model: rule_weight, value: "3:3,7 9:5", desc: weights first}
      - {model: rule_blacklist, value: "5:bad user,other", desc: then blacklist}
    awards:
      - {award: 7, title: "7 credits", subtitle: "subtitle, with comma", count: 100, rate: "0.123456", tree: "z tree", sort: 3}
      - {award: 3, title: Third, count: 5, rate: "1.0", tree: a_tree, sort: 1}
      - {award: 5, title: Fifth, count: 5, rate: "0.5", sort: 2}
  - id: 3
    weight_match: at_least
    rules:
      - {model: rule_weight, value: "1:9"}
    awards:
      - {award: 9, count: 1, rate: "1", sort: 1}
activities:
  - {id: 2, name: Second, desc: "closed one", strategy: 20, state: close, begin: "2030-06-01T00:00:00.5Z", end: "2031-01-01T00:00:00Z"}
  - {id: 1, name: First, desc: first activity, strategy: 2, state: create, begin: "2024-03-09T10:15:10+08:00", end: "2024-03-09T10:15:10+08:00"}
  - {id: 4, strategy: 3, state: open, begin: "2024-01-01T00:00:00-05:00", end: "2099-12-31T23:59:59-05:00"}
counts:
  - {id: 2, total: 9, day: 1, month: 3}
  - {id: 1, total: 1, day: 1, month: 1}
skus:
  - {sku: 8, activity: 1, count: 2, stock: 0, price: "0"}
  - {sku: 6, activity: 2, count: 1, stock: 7, price: "12.5"}
rebates:
  - {id: 9, behavior: openai_pay, type: sku, config: "8", desc: pay rebate, state: close}
  - {behavior: sign, type: integral, config: "0.50", state: open}
stages:
  - {id: 4, channel: web, source: "s: 1", activity: 1, state: inactive}
  - {channel: app, source: home, activity: 2, state: active}
grants:
  - {id: "z:grant", user: "user with space", activity: 4, total: 1, day: 0, month: 0}
  - {id: a-grant, user: u, activity: 1, total: 10, day: 2, month: 5}
`

func TestExportRoundTrip(t *testing.T) {
	for name, data := range map[string][]byte{"demo": Demo(), "full": []byte(full), "base": []byte(base)} {
		t.Run(name, func(t *testing.T) {
			c1 := mustValidate(t, data)
			out1 := mustExport(t, c1)
			c2 := mustValidate(t, out1)
			out2 := mustExport(t, c2)
			if !bytes.Equal(out1, out2) {
				t.Fatalf("export is not stable:\n--- first\n%s\n--- second\n%s", out1, out2)
			}
			if !sameCampaign(c1, c2) {
				t.Fatalf("round trip changed the campaign:\n%+v\n%+v", c1, c2)
			}
		})
	}
}

// sameCampaign compares two campaigns as sets of rows (Export sorts rows), with
// times compared as instants.
func sameCampaign(a, b *Campaign) bool {
	norm := func(c *Campaign) *Campaign {
		n := *c
		n.Timezone = nil
		n.Awards = slices.Clone(c.Awards)
		slices.SortFunc(n.Awards, func(x, y award.Award) int { return int(x.ID - y.ID) })
		n.Trees = slices.Clone(c.Trees)
		slices.SortFunc(n.Trees, func(x, y strategy.Tree) int { return strings.Compare(x.ID, y.ID) })
		n.Strategies = slices.Clone(c.Strategies)
		slices.SortFunc(n.Strategies, func(x, y strategy.Strategy) int { return int(x.ID - y.ID) })
		n.Activities = nil
		for _, a := range c.Activities {
			a.Begin, a.End = a.Begin.UTC(), a.End.UTC()
			n.Activities = append(n.Activities, a)
		}
		slices.SortFunc(n.Activities, func(x, y activity.Activity) int { return int(x.ID - y.ID) })
		n.Counts = slices.Clone(c.Counts)
		slices.SortFunc(n.Counts, func(x, y activity.Count) int { return int(x.ID - y.ID) })
		n.SKUs = slices.Clone(c.SKUs)
		slices.SortFunc(n.SKUs, func(x, y activity.SKU) int { return int(x.SKU - y.SKU) })
		n.Rebates = slices.Clone(c.Rebates)
		slices.SortFunc(n.Rebates, func(x, y rebate.Rule) int { return int(x.ID - y.ID) })
		n.Stages = slices.Clone(c.Stages)
		slices.SortFunc(n.Stages, func(x, y activity.Stage) int { return int(x.ID - y.ID) })
		n.Grants = slices.Clone(c.Grants)
		slices.SortFunc(n.Grants, func(x, y activity.Grant) int { return strings.Compare(x.ID, y.ID) })
		return &n
	}
	if (a.Timezone == nil) != (b.Timezone == nil) || (a.Timezone != nil && a.Timezone.String() != b.Timezone.String()) {
		return false
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestExportFull(t *testing.T) {
	c := mustValidate(t, []byte(full))
	out := string(mustExport(t, c))
	for _, want := range []string{
		"timezone: America/New_York\n",
		`  - {id: 3, key: "webhook: prize", config: "{\"sku\": 1}", desc: "yes"}`,
		`  - {id: 7, key: user_credit_random, config: " 0.5, 2.25 ", desc: "line one\nline two\ttab"}`,
		`  - {id: 13, key: k13, desc: "Ünïcödé 中文 ✓ \u2028 sep \u00a0nbsp"}`,
		"  - id: a_tree\n    root: rule_lock\n    nodes:\n      - {key: rule_lock, value: \"10\"}\n      - {key: rule_luck_award, value: \"5\"}\n    lines:\n      - {from: rule_lock, to: rule_luck_award, when: TAKE_OVER}\n  - id: z tree\n    name: \"Zed: tree\"\n    desc: described tree\n",
		"  - id: 2\n    desc: \"first: with colon\"\n    weight_match: equal\n    rules:\n      - {model: rule_weight, value: \"3:3,7 9:5\", desc: weights first}\n",
		`      - {award: 3, title: Third, count: 5, rate: "1", tree: a_tree, sort: 1}`,
		`  - {id: 2, name: Second, desc: closed one, strategy: 20, state: close, begin: "2030-05-31T20:00:00.5-04:00", end: "2030-12-31T19:00:00-05:00"}`,
		`  - {sku: 6, activity: 2, count: 1, stock: 7, price: "12.50"}`,
		`  - {sku: 8, activity: 1, count: 2, stock: 0, price: "0.00"}`,
		`  - {id: 2, behavior: sign, type: integral, config: "0.50", state: open}`,
		`  - {id: 9, behavior: openai_pay, type: sku, config: "8", desc: pay rebate, state: close}`,
		`  - {id: 2, channel: app, source: home, activity: 2, state: active}`,
		`  - {id: 4, channel: web, source: "s: 1", activity: 1, state: inactive}`,
		"grants:\n  - {id: a-grant, user: u, activity: 1, total: 10, day: 2, month: 5}\n  - {id: \"z:grant\", user: user with space, activity: 4, total: 1, day: 0, month: 0}\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %q\n%s", want, out)
		}
	}
	// Rows are sorted by id; strategy awards and rules keep their order.
	if i, j := strings.Index(out, "  - id: 2\n"), strings.Index(out, "  - id: 20\n"); i < 0 || j < 0 || i > j {
		t.Errorf("strategies not sorted by id")
	}
	if i, j := strings.Index(out, "{award: 7,"), strings.Index(out, "{award: 3,"); i > j {
		t.Errorf("strategy awards reordered")
	}

	// Every tricky text survives.
	c2 := mustValidate(t, []byte(out))
	for i := range c.Awards {
		var got string
		for _, a := range c2.Awards {
			if a.ID == c.Awards[i].ID {
				got = a.Desc + "|" + string(a.Key) + "|" + a.Config
			}
		}
		if want := c.Awards[i].Desc + "|" + string(c.Awards[i].Key) + "|" + c.Awards[i].Config; got != want {
			t.Errorf("award %d: %q after round trip, want %q", c.Awards[i].ID, got, want)
		}
	}
}

func TestExportWithoutTimezone(t *testing.T) {
	c := mustValidate(t, []byte(strings.Replace(base, "timezone: Asia/Shanghai\n", "", 1)))
	if c.Timezone != nil {
		t.Fatalf("timezone = %v, want nil (server's)", c.Timezone)
	}
	out := mustExport(t, c)
	if bytes.Contains(out, []byte("timezone:")) {
		t.Errorf("export writes a timezone for a campaign without one")
	}
	c2 := mustValidate(t, out)
	if !c2.Activities[0].Begin.Equal(c.Activities[0].Begin) || !bytes.Equal(out, mustExport(t, c2)) {
		t.Errorf("round trip without timezone is not stable")
	}
	if _, err := Export(nil); err == nil {
		t.Error("Export(nil) returned no error")
	}
}

func TestPlainScalarsReadBack(t *testing.T) {
	// Whatever scalar() writes plain must read back as the same string.
	for _, s := range []string{"abc", "Yes", "NULL", "on", "Off", "y", "n", "true", "nan", "inf", "a-b", "a b",
		"a  b", "a#b", "x:y", "中文", "签到&支付有奖返利", "Etc/GMT+8", "a.b", "e1", "E", "(x)", "a@b"} {
		line := []byte("version: 1\ngrants:\n  - {id: " + scalar(s) + ", user: u, activity: 1, total: 1}\n")
		f, err := Parse(line)
		if err != nil {
			t.Errorf("%q written as %s: %v", s, scalar(s), err)
			continue
		}
		if got := f.Grants[0].ID; got != s {
			t.Errorf("%q written as %s reads back as %q", s, scalar(s), got)
		}
	}
}

// fakeStore records what Apply asks of it.
type fakeStore struct {
	applied []*Campaign
	err     error
}

var _ Store = (*fakeStore)(nil)

func (s *fakeStore) Apply(_ context.Context, c *Campaign) (Summary, error) {
	s.applied = append(s.applied, c)
	if s.err != nil {
		return Summary{}, s.err
	}
	return Summary{Awards: len(c.Awards), Strategies: len(c.Strategies), Revision: int64(len(s.applied))}, nil
}

func (s *fakeStore) Load(context.Context) (*Campaign, error) { return nil, errors.New("not used") }

func (s *fakeStore) Revision(context.Context) (int64, error) { return int64(len(s.applied)), nil }

func TestApply(t *testing.T) {
	ctx := context.Background()

	t.Run("problems change nothing", func(t *testing.T) {
		bad := strings.Replace(base, "tree: t1", "tree: tree_lock_9", 1)
		bad = strings.Replace(bad, `price: "5.00"`, `price: "x"`, 1)
		for name, data := range map[string]string{"invalid": bad, "syntax": "version: 1\nawards: [\n", "empty": ""} {
			st := &fakeStore{}
			sum, ps, err := Apply(ctx, st, []byte(data))
			if err != nil || len(ps) == 0 || sum != (Summary{}) {
				t.Errorf("%s: Apply = %+v, %v, %v; want problems only", name, sum, ps, err)
			}
			if len(st.applied) != 0 {
				t.Errorf("%s: store called %d times for a file with problems", name, len(st.applied))
			}
		}
	})

	t.Run("valid file applied once", func(t *testing.T) {
		st := &fakeStore{}
		sum, ps, err := Apply(ctx, st, Demo())
		if err != nil || len(ps) != 0 {
			t.Fatalf("Apply(demo) = %v, %v", ps, err)
		}
		if len(st.applied) != 1 || len(st.applied[0].Awards) != 18 || sum.Awards != 18 || sum.Revision != 1 {
			t.Fatalf("store saw %d applies; summary %+v", len(st.applied), sum)
		}
	})

	t.Run("store failure is an error", func(t *testing.T) {
		boom := errors.New("disk full")
		st := &fakeStore{err: boom}
		_, ps, err := Apply(ctx, st, Demo())
		if !errors.Is(err, boom) || len(ps) != 0 || !strings.Contains(err.Error(), "apply campaign") {
			t.Fatalf("Apply = %v, %v; want the wrapped store error", ps, err)
		}
	})

	if ps := ValidateBytes(Demo()); len(ps) != 0 {
		t.Errorf("ValidateBytes(demo) = %v", ps)
	}
}

// readShared reads the reference demo file next to the module (the workspace
// layout: /work/main is the module, /work/shared holds the contract files).
func readShared() ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "..", "..", "shared", "campaigns", "demo.yaml"))
}

func TestTwoOpenRebatesOfOneTypeAreRejected(t *testing.T) {
	data := strings.Replace(string(Demo()),
		`  - {behavior: sign,       type: integral, config: "10",   desc: 签到返利-积分,    state: open}`,
		`  - {behavior: sign,       type: integral, config: "10",   desc: 签到返利-积分,    state: open}
  - {behavior: sign,       type: integral, config: "20",   desc: 再来一次,    state: open}`, 1)
	p := ValidateBytes([]byte(data))
	if len(p) != 1 || p[0].Path != "rebates[1].type" || !strings.Contains(p[0].Message, "one open rule per behaviour and type") {
		t.Fatalf("problems %v", p.Strings())
	}
}
