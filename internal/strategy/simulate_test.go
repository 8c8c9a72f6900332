package strategy

import (
	"context"
	"errors"
	"testing"
)

func simulateOutcomes(t *testing.T, e *Engine, req SimulationRequest) Simulation {
	t.Helper()
	sim, err := e.SimulateOutcomes(context.Background(), req)
	if err != nil {
		t.Fatalf("SimulateOutcomes(%+v): %v", req, err)
	}
	total := 0
	for _, n := range sim.Counts {
		total += n
	}
	if total != req.Draws || sim.Draws != req.Draws {
		t.Fatalf("counts %v add up to %d (Draws %d), want %d", sim.Counts, total, sim.Draws, req.Draws)
	}
	return sim
}

func simAward(t *testing.T, sim Simulation, id int64) SimulatedAward {
	t.Helper()
	for _, a := range sim.Awards {
		if a.AwardID == id {
			return a
		}
	}
	t.Fatalf("award %d not in the simulation's awards %+v", id, sim.Awards)
	return SimulatedAward{}
}

// TestSimulateOutcomesNewUser: a new user of strategy 100006 draws from the
// whole table; the locked awards (105–107) are drawn, counted as locked and
// replaced by the luck award 101; the others are given with stock. Nothing is
// taken from the counters.
func TestSimulateOutcomesNewUser(t *testing.T) {
	e, mem := newTestEngine(t, nil, demoStrategies(), demoTrees())
	const draws = 50_000
	sim := simulateOutcomes(t, e, SimulationRequest{StrategyID: 100006, Draws: draws, UserID: "u"})
	if sim.Rule != RuleDefault || sim.WeightGroup != "" || sim.TableTotal != 970_300 {
		t.Fatalf("rule %q group %q total %d, want the default table of Σ 970300", sim.Rule, sim.WeightGroup, sim.TableTotal)
	}
	if len(sim.WeightGroups) != 3 || sim.WeightGroups[1].Key != "70:106,107" || sim.WeightMatch != WeightEqual {
		t.Fatalf("weight groups %+v match %q", sim.WeightGroups, sim.WeightMatch)
	}
	if len(sim.Awards) != 8 {
		t.Fatalf("awards %+v, want the 8 of the table", sim.Awards)
	}
	drawn, luck := 0, 0
	for i, a := range sim.Awards {
		if a.Sort != i+1 || !a.InTable || a.TableRate != a.Rate || !a.Limited || a.StockLeft != a.StockCount {
			t.Errorf("award %+v: want sort %d, in the table at its rate, limited with all its stock left", a, i+1)
		}
		drawn += a.Drawn
		luck += a.Luck
		switch a.AwardID {
		case 105, 106, 107:
			if a.Drawn == 0 || a.Locked != a.Drawn || a.Luck != a.Drawn || a.Awarded != 0 || a.StockTaken != 0 {
				t.Errorf("locked award %+v: want every draw locked and replaced by the luck award", a)
			}
		default:
			if a.Locked != 0 || a.StockTaken != a.Drawn || a.StockEmpty != 0 || a.Luck != 0 {
				t.Errorf("award %+v: want every draw given with stock", a)
			}
		}
	}
	if drawn != draws {
		t.Errorf("drawn adds up to %d, want %d", drawn, draws)
	}
	if a101 := simAward(t, sim, 101); a101.Awarded != a101.Drawn+luck || sim.Counts[101] != a101.Awarded {
		t.Errorf("101 awarded %d, want drawn %d + luck %d", a101.Awarded, a101.Drawn, luck)
	}
	for _, a := range sim.Awards {
		if v := counterValue(t, mem, 100006, a.AwardID); v > 0 {
			t.Errorf("award %d counter = %d after a simulation, want nothing taken", a.AwardID, v)
		}
	}
}

// TestSimulateOutcomesWeightTier: with 70 draws (today 5) the rule_weight group
// 70:106,107 is the table in force; its awards are open and split it by their
// rates.
func TestSimulateOutcomesWeightTier(t *testing.T) {
	e, _ := newTestEngine(t, nil, demoStrategies(), demoTrees())
	sim := simulateOutcomes(t, e, SimulationRequest{StrategyID: 100006, Draws: 10_000, UserID: "u", TotalDraws: 70, TodayDraws: 5})
	if sim.Rule != string(RuleWeight) || sim.WeightGroup != "70:106,107" || sim.TableTotal != 60_000 {
		t.Fatalf("rule %q group %q total %d, want rule_weight 70:106,107 of Σ 60000", sim.Rule, sim.WeightGroup, sim.TableTotal)
	}
	for _, a := range sim.Awards {
		in := a.AwardID == 106 || a.AwardID == 107
		if in != (a.TableRate == 30_000) || in != (a.Drawn > 0) || (!in && a.TableRate != 0) || a.Locked != 0 || a.Luck != 0 {
			t.Errorf("award %+v: want only 106 and 107 in the table, drawn, unlocked", a)
		}
	}
	// One draw short of the threshold: equal matching falls back to the default table.
	if sim := simulateOutcomes(t, e, SimulationRequest{StrategyID: 100006, Draws: 10, UserID: "u", TotalDraws: 69}); sim.Rule != RuleDefault || sim.WeightGroup != "" {
		t.Errorf("69 draws: rule %q group %q, want default", sim.Rule, sim.WeightGroup)
	}
}

// TestSimulateOutcomesBlacklist: a blacklisted user gets the blacklist award
// every time, without a draw.
func TestSimulateOutcomesBlacklist(t *testing.T) {
	e, _ := newTestEngine(t, nil, demoStrategies(), demoTrees())
	sim := simulateOutcomes(t, e, SimulationRequest{StrategyID: 100006, Draws: 100, UserID: "user002", TotalDraws: 10})
	if sim.Rule != string(RuleBlacklist) || sim.Counts[101] != 100 || sim.TableTotal != RateScale {
		t.Fatalf("rule %q counts %v total %d, want rule_blacklist giving 101", sim.Rule, sim.Counts, sim.TableTotal)
	}
	for _, a := range sim.Awards {
		if a.Drawn != 0 || (a.AwardID == 101) != (a.TableRate == RateScale) {
			t.Errorf("award %+v: want nothing drawn and 101 certain", a)
		}
	}
}

// TestSimulateOutcomesUseStock: strategy 100004 has one unit of 109. Without
// UseStock every simulated draw finds it; with UseStock the first takes it and
// the others fall through to the luck award. The live counter stays untouched.
func TestSimulateOutcomesUseStock(t *testing.T) {
	e, mem := newTestEngine(t, nil, demoStrategies(), demoTrees())
	sim := simulateOutcomes(t, e, SimulationRequest{StrategyID: 100004, Draws: 10, UserID: "u"})
	if a := simAward(t, sim, 109); a.StockTaken != 10 || a.Awarded != 10 || a.StockLeft != 1 {
		t.Fatalf("without UseStock: %+v, want 109 given 10 times", a)
	}
	sim = simulateOutcomes(t, e, SimulationRequest{StrategyID: 100004, Draws: 10, UserID: "u", UseStock: true})
	a := simAward(t, sim, 109)
	if a.StockTaken != 1 || a.StockEmpty != 9 || a.Luck != 9 || a.Awarded != 1 || a.StockLeft != 1 || sim.Counts[101] != 9 {
		t.Fatalf("with UseStock: %+v counts %v, want one take then the luck award 101", a, sim.Counts)
	}
	// 101 is outside the table of 100004: listed after it, without a rate.
	if last := sim.Awards[len(sim.Awards)-1]; last.AwardID != 101 || last.InTable || last.Awarded != 9 || last.TableRate != 0 {
		t.Fatalf("award outside the table: %+v", last)
	}
	if v := counterValue(t, mem, 100004, 109); v > 0 {
		t.Fatalf("counter of 109 = %d after simulations, want nothing taken", v)
	}
	// A real take leaves no stock for the next run.
	raffle(t, e, Request{UserID: "u", StrategyID: 100004})
	sim = simulateOutcomes(t, e, SimulationRequest{StrategyID: 100004, Draws: 5, UserID: "u"})
	if a := simAward(t, sim, 109); a.StockLeft != 0 || a.StockEmpty != 5 || a.Awarded != 0 {
		t.Fatalf("after the only unit was taken: %+v", a)
	}
}

func TestSimulateOutcomesRefused(t *testing.T) {
	e, _ := newTestEngine(t, nil, demoStrategies(), demoTrees())
	if _, err := e.SimulateOutcomes(context.Background(), SimulationRequest{StrategyID: 424242, Draws: 10}); !errors.Is(err, ErrNotArmed) {
		t.Errorf("unknown strategy: %v, want ErrNotArmed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.SimulateOutcomes(ctx, SimulationRequest{StrategyID: 100006, Draws: 10}); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v, want context.Canceled", err)
	}
	if sim, err := e.SimulateOutcomes(context.Background(), SimulationRequest{StrategyID: 100006, Draws: -3}); err != nil || sim.Draws != 0 || len(sim.Counts) != 0 {
		t.Errorf("negative draws: %+v %v, want an empty run", sim, err)
	}
}
