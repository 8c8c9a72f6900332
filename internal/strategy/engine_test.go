package strategy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/bigmarket/bigmarket/internal/money"
)

const bigStock = 1 << 40

// TestRaffleChiSquare runs full raffles (chain + tree) and checks the final awards
// against the rates at p = 0.001. Stock is large and locks are open (TodayDraws
// ≥ 3) so the trees return the drawn award; every draw yields an award.
func TestRaffleChiSquare(t *testing.T) {
	const draws = 200_000
	strategies := withStock(demoStrategies(), bigStock)
	e, _ := newTestEngine(t, nil, strategies, demoTrees())
	cases := []struct {
		name       string
		strategy   int64
		totalDraws int64
		rule       string
		awards     []int64 // nil: the whole table
	}{
		{"100001 default", 100001, 0, RuleDefault, nil},
		{"100001 weight 60", 100001, 60, "rule_weight", []int64{102, 103, 104, 105}},
		{"100001 weight 200", 100001, 200, "rule_weight", []int64{106, 107}},
		{"100005 default", 100005, 0, RuleDefault, nil},
		{"10007 default", 10007, 0, RuleDefault, nil},
		{"100006 default", 100006, 1, RuleDefault, nil},
		{"100006 weight 10", 100006, 10, "rule_weight", []int64{102, 103}},
		{"100006 weight 70", 100006, 70, "rule_weight", []int64{106, 107}},
		{"100006 weight 1000", 100006, 1000, "rule_weight", []int64{104, 105}},
	}
	for _, c := range cases {
		var st Strategy
		for _, s := range strategies {
			if s.ID == c.strategy {
				st = s
			}
		}
		awards := c.awards
		if awards == nil {
			for _, a := range st.Awards {
				awards = append(awards, a.AwardID)
			}
		}
		weights := make([]float64, len(awards))
		for i, id := range awards {
			weights[i] = float64(rateOf(st, id))
		}
		checkChiSquare(t, c.name, func() []int {
			obs := make([]int, len(awards))
			for range draws {
				res := raffle(t, e, Request{UserID: "u", StrategyID: c.strategy, TotalDraws: c.totalDraws, TodayDraws: 3})
				i := slices.Index(awards, res.AwardID)
				if i < 0 || res.Rule != c.rule || !res.StockTaken {
					t.Fatalf("%s: unexpected result %+v", c.name, res)
				}
				obs[i]++
			}
			return obs
		}, weights)
	}
}

// TestSimulateChiSquareTakesNothing simulates strategy 100002 (rates summing to
// 0.61, stock 1 per award): the distribution matches the rates because nothing is
// taken, and the counters stay untouched.
func TestSimulateChiSquareTakesNothing(t *testing.T) {
	e, mem := newTestEngine(t, nil, demoStrategies(), demoTrees())
	st := demoStrategy(t, 100002)
	checkChiSquare(t, "simulate 100002", func() []int {
		counts, err := e.Simulate(context.Background(), 100002, 200_000, "u", 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		obs := make([]int, len(st.Awards))
		total := 0
		for id, n := range counts {
			i := slices.IndexFunc(st.Awards, func(a Award) bool { return a.AwardID == id })
			if i < 0 {
				t.Fatalf("simulate returned award %d outside the table", id)
			}
			obs[i] += n
			total += n
		}
		if total != 200_000 {
			t.Fatalf("simulate counted %d draws, want 200000", total)
		}
		return obs
	}, floats(ratesOf(st)))
	for _, a := range st.Awards {
		if v := counterValue(t, mem, 100002, a.AwardID); v != 0 {
			t.Errorf("award %d counter = %d after simulate, want 0", a.AwardID, v)
		}
		if p := e.pendingTakes(100002, a.AwardID); p != 0 {
			t.Errorf("award %d pending takes = %d after simulate, want 0", a.AwardID, p)
		}
	}
}

// TestSimulateSeesExhaustedStock: once the only unit is taken, simulation falls
// through to the luck award like a real raffle.
func TestSimulateSeesExhaustedStock(t *testing.T) {
	e, _ := newTestEngine(t, nil, demoStrategies(), demoTrees())
	if res := raffle(t, e, Request{UserID: "u", StrategyID: 100004}); res.AwardID != 109 || !res.StockTaken {
		t.Fatalf("first raffle of 100004 = %+v, want 109 with stock", res)
	}
	counts, err := e.Simulate(context.Background(), 100004, 1000, "u", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if counts[101] != 1000 || len(counts) != 1 {
		t.Errorf("simulate after exhaustion = %v, want only 101", counts)
	}
	if _, err := e.Simulate(context.Background(), 424242, 10, "u", 0, 0); !errors.Is(err, ErrNotArmed) {
		t.Errorf("simulate unknown strategy: %v, want ErrNotArmed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Simulate(ctx, 100004, 10, "u", 0, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("simulate with canceled context: %v", err)
	}
}

func TestBlacklist(t *testing.T) {
	store := newFakeStore()
	e, mem := newTestEngine(t, store, demoStrategies(), demoTrees())
	for _, sid := range []int64{100006, 100001} {
		for _, user := range []string{"user001", "user002", "user003"} {
			for _, total := range []int64{0, 10, 60, 1000} { // blacklist comes first in the chain
				res := raffle(t, e, Request{UserID: user, StrategyID: sid, TotalDraws: total, TodayDraws: 5})
				want := Result{AwardID: 101, Title: "随机积分", Sort: 1, Rule: "rule_blacklist"}
				if res != want {
					t.Errorf("%s on %d: %+v, want %+v", user, sid, res, want)
				}
			}
		}
		if v := counterValue(t, mem, sid, 101); v != 0 {
			t.Errorf("strategy %d: blacklist took stock: counter %d", sid, v)
		}
		for _, a := range demoStrategy(t, sid).Awards {
			if p := e.pendingTakes(sid, a.AwardID); p != 0 {
				t.Errorf("strategy %d award %d: pending %d after blacklist draws", sid, a.AwardID, p)
			}
		}
	}
	if res := raffle(t, e, Request{UserID: "user004", StrategyID: 100006, TodayDraws: 5}); res.Rule == "rule_blacklist" {
		t.Errorf("user004 is not blacklisted: %+v", res)
	}
	// 100002 has no blacklist rule.
	if res := raffle(t, e, Request{UserID: "user001", StrategyID: 100002}); res.Rule != RuleDefault {
		t.Errorf("user001 on 100002 (no rules): %+v", res)
	}
}

func TestWeightBoundaries(t *testing.T) {
	equal := withStock(demoStrategies(), bigStock)
	atLeast := withStock(demoStrategies(), bigStock)
	for i := range atLeast {
		if atLeast[i].ID == 100006 {
			atLeast[i].WeightMatch = WeightAtLeast
		}
	}
	g10, g70, g1000 := []int64{102, 103}, []int64{106, 107}, []int64{104, 105}
	cases := []struct {
		mode  string
		ss    []Strategy
		total int64
		group []int64 // nil: default draw
	}{
		{"equal", equal, 0, nil},
		{"equal", equal, 9, nil},
		{"equal", equal, 10, g10},
		{"equal", equal, 11, nil},
		{"equal", equal, 69, nil},
		{"equal", equal, 70, g70},
		{"equal", equal, 71, nil},
		{"equal", equal, 1000, g1000},
		{"equal", equal, 1001, nil},
		{"at_least", atLeast, 0, nil},
		{"at_least", atLeast, 9, nil},
		{"at_least", atLeast, 10, g10},
		{"at_least", atLeast, 11, g10},
		{"at_least", atLeast, 69, g10},
		{"at_least", atLeast, 70, g70},
		{"at_least", atLeast, 999, g70},
		{"at_least", atLeast, 1000, g1000},
		{"at_least", atLeast, 5000, g1000},
	}
	engines := map[string]*Engine{}
	for _, c := range cases {
		e := engines[c.mode]
		if e == nil {
			e, _ = newTestEngine(t, nil, c.ss, demoTrees())
			engines[c.mode] = e
		}
		seen := map[int64]bool{}
		for range 300 {
			res := raffle(t, e, Request{UserID: "u", StrategyID: 100006, TotalDraws: c.total, TodayDraws: 5})
			seen[res.AwardID] = true
			if c.group == nil {
				if res.Rule != RuleDefault {
					t.Fatalf("%s total %d: rule %q, want default", c.mode, c.total, res.Rule)
				}
				continue
			}
			if res.Rule != "rule_weight" || !slices.Contains(c.group, res.AwardID) {
				t.Fatalf("%s total %d: %+v, want rule_weight from %v", c.mode, c.total, res, c.group)
			}
		}
		if c.group != nil && len(seen) != len(c.group) {
			t.Errorf("%s total %d: saw %v, want every award of %v", c.mode, c.total, seen, c.group)
		}
		if c.group == nil && !seen[101] {
			t.Errorf("%s total %d: default draws never gave 101 (rate 0.79)", c.mode, c.total)
		}
	}
	if m, _ := engines["at_least"].WeightMatch(100006); m != WeightAtLeast {
		t.Errorf("WeightMatch = %q, want at_least", m)
	}
	if m, _ := engines["equal"].WeightMatch(100006); m != WeightEqual {
		t.Errorf("WeightMatch = %q, want equal", m)
	}
}

// TestWeightedDrawRunsTree: unlike the original, a weighted draw runs its tree:
// it takes stock, and a locked award falls back to the luck award.
func TestWeightedDrawRunsTree(t *testing.T) {
	e, mem := newTestEngine(t, nil, demoStrategies(), demoTrees())
	res := raffle(t, e, Request{UserID: "u", StrategyID: 100006, TotalDraws: 10, TodayDraws: 5})
	if res.Rule != "rule_weight" || !res.StockTaken || res.Node != NodeStock || (res.AwardID != 102 && res.AwardID != 103) {
		t.Fatalf("weighted draw: %+v, want 102/103 with stock taken", res)
	}
	if v := counterValue(t, mem, 100006, res.AwardID); v != 1 {
		t.Errorf("counter of %d = %d, want 1", res.AwardID, v)
	}
	if p := e.pendingTakes(100006, res.AwardID); p != 1 {
		t.Errorf("pending takes of %d = %d, want 1", res.AwardID, p)
	}
	// Group 70 holds 106 (lock 2) and 107 (lock 1): locked on the first draw today.
	for range 100 {
		res := raffle(t, e, Request{UserID: "u", StrategyID: 100006, TotalDraws: 70, TodayDraws: 0})
		if res.Rule != "rule_weight" || res.AwardID != 101 || res.Node != NodeLuckAward || res.StockTaken || !res.HasAmount {
			t.Fatalf("locked weighted draw: %+v, want luck award 101", res)
		}
	}
	for _, id := range []int64{106, 107} {
		if v := counterValue(t, mem, 100006, id); v != 0 {
			t.Errorf("locked award %d took stock: %d", id, v)
		}
	}
}

func TestLockThresholds(t *testing.T) {
	src := demoStrategy(t, 100006)
	var ss []Strategy
	for i, id := range []int64{105, 106, 107} { // tree_lock_3, _2, _1
		a := src.Awards[slices.IndexFunc(src.Awards, func(a Award) bool { return a.AwardID == id })]
		ss = append(ss, Strategy{ID: int64(i + 1), Awards: []Award{a}})
	}
	e, _ := newTestEngine(t, nil, ss, demoTrees())
	locks := map[int64]int64{105: 3, 106: 2, 107: 1}
	for i, s := range ss {
		award := s.Awards[0]
		for today := int64(0); today <= 4; today++ {
			res := raffle(t, e, Request{UserID: "u", StrategyID: int64(i + 1), TodayDraws: today})
			if today < locks[award.AwardID] {
				if res.AwardID != 101 || res.StockTaken || res.Node != NodeLuckAward || !res.HasAmount || res.Title != "" || res.Sort != 0 {
					t.Errorf("award %d today %d: %+v, want locked → luck award 101 (not in this table)", award.AwardID, today, res)
				}
				checkAmount(t, res.Amount, 100, 10000)
			} else if res.AwardID != award.AwardID || !res.StockTaken || res.Node != NodeStock || res.Title != award.Title || res.Sort != award.Sort || res.HasAmount {
				t.Errorf("award %d today %d: %+v, want unlocked with stock", award.AwardID, today, res)
			}
		}
	}
	views, _ := e.Awards(3)
	if views[0].LockCount != 1 {
		t.Errorf("award 107 lock count = %d, want 1", views[0].LockCount)
	}
}

func checkAmount(t *testing.T, a money.Amount, minCents, maxCents int64) {
	t.Helper()
	if a.Cents() < minCents || a.Cents() > maxCents {
		t.Errorf("luck amount %s outside [%s, %s]", a, money.FromCents(minCents), money.FromCents(maxCents))
	}
}

// TestSystemRaffleNeverLocked: random_raffle (TodayDraws 0) never yields a locked
// award, while the same awards do come out once unlocked.
func TestSystemRaffleNeverLocked(t *testing.T) {
	e, _ := newTestEngine(t, nil, withStock(demoStrategies(), bigStock), demoTrees())
	for sid, locked := range map[int64][]int64{100006: {105, 106, 107}, 10007: {113, 114, 115}} {
		for range 30_000 {
			if res := raffle(t, e, Request{UserID: "system", StrategyID: sid}); slices.Contains(locked, res.AwardID) {
				t.Fatalf("system raffle on %d gave locked award: %+v", sid, res)
			}
		}
	}
	seen := map[int64]bool{}
	for range 30_000 {
		seen[raffle(t, e, Request{UserID: "u", StrategyID: 100006, TodayDraws: 3}).AwardID] = true
	}
	for _, id := range []int64{105, 106, 107} {
		if !seen[id] {
			t.Errorf("award %d (rate 0.03) never drawn with TodayDraws 3 in 30000 draws", id)
		}
	}
}

func TestStockExhaustionFallsToLuckAward(t *testing.T) {
	e, mem := newTestEngine(t, nil, demoStrategies(), demoTrees())
	if res := raffle(t, e, Request{UserID: "u", StrategyID: 100004}); res.AwardID != 109 || !res.StockTaken || res.Title != "解锁全部模型" || res.Sort != 9 {
		t.Fatalf("first draw: %+v, want 109 with its stock", res)
	}
	amounts := map[int64]bool{}
	for range 2000 {
		res := raffle(t, e, Request{UserID: "u", StrategyID: 100004})
		if res.AwardID != 101 || res.StockTaken || !res.HasAmount || res.Node != NodeLuckAward {
			t.Fatalf("after exhaustion: %+v, want luck award 101 with an amount", res)
		}
		checkAmount(t, res.Amount, 100, 10000)
		amounts[res.Amount.Cents()] = true
	}
	if len(amounts) < 1500 {
		t.Errorf("only %d distinct amounts in 2000 draws over 9901 hundredths", len(amounts))
	}
	if v := counterValue(t, mem, 100004, 109); v != 1 {
		t.Errorf("counter of 109 = %d, want 1 (never oversold)", v)
	}

	// 100002: stock 1 per award; after 500 draws each award was issued exactly once.
	taken := map[int64]int{}
	for range 500 {
		res := raffle(t, e, Request{UserID: "u", StrategyID: 100002})
		if res.StockTaken {
			taken[res.AwardID]++
		} else if res.AwardID != 101 || !res.HasAmount {
			t.Fatalf("100002 fallback: %+v", res)
		}
	}
	for _, id := range []int64{101, 102, 106} {
		if taken[id] != 1 {
			t.Errorf("100002 award %d issued %d times with stock, want exactly 1", id, taken[id])
		}
	}
}

// TestLuckAmountUniform checks that amounts are uniform over the hundredths.
func TestLuckAmountUniform(t *testing.T) {
	tree := Tree{ID: "luck_small", Root: NodeStock,
		Nodes: []Node{{Key: NodeStock}, {Key: NodeLuckAward, Value: "101:0.01,0.05"}},
		Lines: []Line{{From: NodeStock, To: NodeLuckAward, When: Allow}}}
	noAmount := Tree{ID: "luck_bare", Root: NodeLuckAward, Nodes: []Node{{Key: NodeLuckAward, Value: "101"}}}
	ss := []Strategy{
		{ID: 1, Awards: []Award{{AwardID: 5, Rate: 1, Count: 0, TreeID: "luck_small"}}},
		{ID: 2, Awards: []Award{{AwardID: 5, Rate: 1, Count: 10, TreeID: "luck_bare"}}},
	}
	e, _ := newTestEngine(t, nil, ss, []Tree{tree, noAmount})
	checkChiSquare(t, "luck amounts 0.01..0.05", func() []int {
		obs := make([]int, 5)
		for range 100_000 {
			res := raffle(t, e, Request{UserID: "u", StrategyID: 1})
			c := res.Amount.Cents()
			if res.AwardID != 101 || !res.HasAmount || c < 1 || c > 5 {
				t.Fatalf("luck draw: %+v", res)
			}
			obs[c-1]++
		}
		return obs
	}, []float64{1, 1, 1, 1, 1})
	if res := raffle(t, e, Request{UserID: "u", StrategyID: 2}); res.AwardID != 101 || res.HasAmount || res.StockTaken {
		t.Errorf("luck award without range: %+v, want 101 without amount", res)
	}
}

func TestAwardWithoutTreeIsReturnedAsDrawn(t *testing.T) {
	ss := []Strategy{{ID: 1, Awards: []Award{{AwardID: 7, Title: "seven", Sort: 3, Rate: 1, Count: 0}}}}
	e, mem := newTestEngine(t, nil, ss, nil)
	for range 10 {
		res := raffle(t, e, Request{UserID: "u", StrategyID: 1})
		if want := (Result{AwardID: 7, Title: "seven", Sort: 3, Rule: RuleDefault}); res != want {
			t.Fatalf("no-tree award: %+v, want %+v", res, want)
		}
	}
	if v := counterValue(t, mem, 1, 7); v != 0 {
		t.Errorf("no-tree award took stock: counter %d", v)
	}
}

func TestRaffleErrors(t *testing.T) {
	mem := &failingCounter{Memory: newMemory()}
	e := NewEngine(Config{Counter: mem})
	if _, err := e.Raffle(context.Background(), Request{StrategyID: 100006}); !errors.Is(err, ErrNotArmed) {
		t.Errorf("before Arm: %v, want ErrNotArmed", err)
	}
	if err := e.Arm(demoStrategies(), demoTrees()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Raffle(context.Background(), Request{StrategyID: 4242}); !errors.Is(err, ErrNotArmed) {
		t.Errorf("unknown strategy: %v, want ErrNotArmed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Raffle(ctx, Request{StrategyID: 100006}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v, want context.Canceled", err)
	}
	mem.failing.Store(true)
	_, err := e.Raffle(context.Background(), Request{StrategyID: 100004})
	if !errors.Is(err, errCounterDown) || !strings.Contains(err.Error(), "strategy[100004] award[109]") {
		t.Errorf("counter failure: %v, want wrapped counter error naming strategy and award", err)
	}
	if _, err := e.Left(context.Background(), 100004, 999); !errors.Is(err, ErrUnknownAward) {
		t.Errorf("Left of unknown award: %v", err)
	}
	if _, err := e.Left(context.Background(), 4242, 109); !errors.Is(err, ErrNotArmed) {
		t.Errorf("Left of unknown strategy: %v", err)
	}
}

func TestReadHelpers(t *testing.T) {
	e, _ := newTestEngine(t, nil, demoStrategies(), demoTrees())
	views, err := e.Awards(100006)
	if err != nil {
		t.Fatal(err)
	}
	wantLock := map[int64]int64{105: 3, 106: 2, 107: 1}
	for i, v := range views {
		if v.Sort != i+1 {
			t.Errorf("award list not sorted by sort: %+v", views)
		}
		if v.LockCount != wantLock[v.AwardID] {
			t.Errorf("award %d lock count %d, want %d", v.AwardID, v.LockCount, wantLock[v.AwardID])
		}
	}
	if views[4].Subtitle != "抽奖3次后解锁" || views[4].Title != "小米su7周体验" || views[4].Count != 100 {
		t.Errorf("award 105 view: %+v", views[4])
	}
	// 100003's sorts start at 7: sorting keeps them in order.
	if v, _ := e.Awards(100003); len(v) != 3 || v[0].AwardID != 107 || v[2].AwardID != 109 {
		t.Errorf("100003 award list: %+v", v)
	}
	groups, err := e.WeightGroups(100006)
	if err != nil {
		t.Fatal(err)
	}
	want := []WeightGroup{
		{Threshold: 10, AwardIDs: []int64{102, 103}, Key: "10:102,103"},
		{Threshold: 70, AwardIDs: []int64{106, 107}, Key: "70:106,107"},
		{Threshold: 1000, AwardIDs: []int64{104, 105}, Key: "1000:104,105"},
	}
	if fmt.Sprint(groups) != fmt.Sprint(want) {
		t.Errorf("weight groups %+v, want %+v", groups, want)
	}
	groups[0].AwardIDs[0] = 999 // callers cannot change the engine's copy
	if again, _ := e.WeightGroups(100006); again[0].AwardIDs[0] != 102 {
		t.Errorf("WeightGroups returned the engine's own slice")
	}
	if _, err := e.WeightGroups(100002); !errors.Is(err, ErrWeightNotConfigured) {
		t.Errorf("WeightGroups(100002) = %v, want ErrWeightNotConfigured", err)
	}
	if _, err := e.WeightGroups(4242); !errors.Is(err, ErrNotArmed) {
		t.Errorf("WeightGroups(4242) = %v, want ErrNotArmed", err)
	}
	if _, err := e.Awards(4242); !errors.Is(err, ErrNotArmed) {
		t.Errorf("Awards(4242) = %v, want ErrNotArmed", err)
	}
	if !e.Armed(100006) || e.Armed(4242) {
		t.Errorf("Armed: 100006 %v, 4242 %v", e.Armed(100006), e.Armed(4242))
	}
	// Arm replaces the whole armed set.
	if err := e.Arm([]Strategy{demoStrategy(t, 100001)}, demoTrees()); err != nil {
		t.Fatal(err)
	}
	if e.Armed(100006) || !e.Armed(100001) {
		t.Errorf("after arming only 100001: 100006 %v, 100001 %v", e.Armed(100006), e.Armed(100001))
	}
}

func TestArmRejectsInvalidInputAndKeepsSnapshot(t *testing.T) {
	e, _ := newTestEngine(t, nil, demoStrategies(), demoTrees())
	before := e.snap.Load()
	broken := func(edit func(ss []Strategy, ts []Tree) ([]Strategy, []Tree)) ([]Strategy, []Tree) {
		return edit(demoStrategies(), demoTrees())
	}
	cases := []struct {
		name, mention string
		edit          func(ss []Strategy, ts []Tree) ([]Strategy, []Tree)
	}{
		{"line to missing node", `tree "tree_lock_2"`, func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ts[2].Lines[0].To = "rule_nothing"
			return ss, ts
		}},
		{"cycle", `tree "tree_luck_award"`, func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ts[0].Lines = append(ts[0].Lines, Line{From: NodeLuckAward, To: NodeStock, When: TakeOver})
			return ss, ts
		}},
		{"two lines for one verdict", `tree "tree_lock_1"`, func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ts[1].Lines = append(ts[1].Lines, Line{From: NodeLock, To: NodeLuckAward, When: Allow})
			return ss, ts
		}},
		{"bad lock value", `tree "tree_lock_3"`, func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ts[3].Nodes[0].Value = "x"
			return ss, ts
		}},
		{"unknown tree", "strategy[100006]", func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ss[5].Awards[0].TreeID = "tree_lock_9"
			return ss, ts
		}},
		{"weight award outside table", "strategy[100001]", func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ss[0].Rules[1].Value = "60:102,999"
			return ss, ts
		}},
		{"malformed blacklist", "strategy[100006]", func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ss[5].Rules[0].Value = "user001"
			return ss, ts
		}},
		{"unknown rule", "strategy[100002]", func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ss[1].Rules = []Rule{{Model: "rule_magic", Value: "1"}}
			return ss, ts
		}},
		{"bad weight match", "strategy[100006]", func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ss[5].WeightMatch = "sometimes"
			return ss, ts
		}},
		{"zero rate", "strategy[100005]", func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ss[4].Awards[1].Rate = 0
			return ss, ts
		}},
		{"no awards", "strategy[100004]", func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ss[3].Awards = nil
			return ss, ts
		}},
		{"duplicate award", "strategy[100002]", func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			ss[1].Awards[1].AwardID = 101
			return ss, ts
		}},
		{"duplicate strategy", "strategy[100002]", func(ss []Strategy, ts []Tree) ([]Strategy, []Tree) {
			return append(ss, ss[1]), ts
		}},
	}
	for _, c := range cases {
		ss, ts := broken(c.edit)
		err := e.Arm(ss, ts)
		if !errors.Is(err, ErrInvalidRule) || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: Arm = %v, want ErrInvalidRule mentioning %s", c.name, err, c.mention)
		}
		if e.snap.Load() != before {
			t.Fatalf("%s: failed Arm replaced the snapshot", c.name)
		}
	}
	raffle(t, e, Request{UserID: "u", StrategyID: 100006})
}

// TestArmWhileRaffling re-arms alternating configurations while raffles run
// (run with -race); every raffle sees one whole configuration, and a broken
// configuration keeps the last good one.
func TestArmWhileRaffling(t *testing.T) {
	configA := withStock(demoStrategies(), bigStock)
	configB := withStock(demoStrategies(), bigStock)
	for i := range configB {
		for j := range configB[i].Awards {
			configB[i].Awards[j].Title = "B:" + configB[i].Awards[j].Title
		}
	}
	e, _ := newTestEngine(t, nil, configA, demoTrees())
	var stop atomic.Bool
	var raffles atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				res, err := e.Raffle(context.Background(), Request{UserID: fmt.Sprint("u", g), StrategyID: 100006, TotalDraws: int64(i % 20), TodayDraws: 3})
				if err != nil || res.AwardID == 0 || res.Title == "" {
					errs <- fmt.Errorf("raffle during re-arm: %+v, %v", res, err)
					return
				}
				raffles.Add(1)
			}
		})
	}
	for i := 0; i < 200 || i%2 == 1 || (raffles.Load() < 2000 && len(errs) == 0); i++ {
		cfg := configA
		if i%2 == 1 {
			cfg = configB
		}
		if err := e.Arm(cfg, demoTrees()); err != nil {
			t.Fatal(err)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The last Arm was configB; a broken tree keeps it.
	bad := demoTrees()
	bad[0].Root = "rule_missing"
	if err := e.Arm(configA, bad); err == nil || !strings.Contains(err.Error(), "tree_luck_award") {
		t.Fatalf("Arm with broken tree = %v, want an error naming tree_luck_award", err)
	}
	res := raffle(t, e, Request{UserID: "user001", StrategyID: 100006})
	if res.Title != "B:随机积分" {
		t.Errorf("after failed Arm: title %q, want the last good configuration's", res.Title)
	}
}

func BenchmarkRaffle(b *testing.B) {
	e, _ := newTestEngine(b, nil, withStock(demoStrategies(), 1<<62), demoTrees())
	req := Request{UserID: "bench-user", StrategyID: 100006, TotalDraws: 5, TodayDraws: 5}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Raffle(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRaffleParallel(b *testing.B) {
	e, _ := newTestEngine(b, nil, withStock(demoStrategies(), 1<<62), demoTrees())
	req := Request{UserID: "bench-user", StrategyID: 100006, TotalDraws: 5, TodayDraws: 5}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := e.Raffle(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
