package strategy

import (
	"context"
	"errors"
	"testing"
)

// Trees below are built by hand and armed directly, as a configuration stored
// before validation refused incomplete trees would be: the engine must not give
// away stock or locked awards whatever the tree says.

// incompleteStockTree has a rule_stock node without its ALLOW line (stock
// empty): the walk ends on it with the drawn award still set.
func incompleteStockTree(withLuck bool) Tree {
	t := Tree{ID: "stock_no_allow", Root: NodeStock, Nodes: []Node{{Key: NodeStock}}}
	if withLuck {
		t.Nodes = append(t.Nodes, Node{Key: NodeLuckAward, Value: "101:1,10"})
	}
	return t
}

// incompleteLockTree has a rule_lock of 5 without its TAKE_OVER line (still
// locked).
func incompleteLockTree(withLuck bool) Tree {
	t := Tree{
		ID: "lock_no_take_over", Root: NodeLock,
		Nodes: []Node{{Key: NodeLock, Value: "5"}, {Key: NodeStock}},
		Lines: []Line{{From: NodeLock, To: NodeStock, When: Allow}},
	}
	if withLuck {
		t.Nodes = append(t.Nodes, Node{Key: NodeLuckAward, Value: "101:1,10"})
		t.Lines = append(t.Lines, Line{From: NodeStock, To: NodeLuckAward, When: Allow})
	}
	return t
}

func oneAwardStrategy(count int64, tree string) []Strategy {
	return []Strategy{{ID: 1, Awards: []Award{{AwardID: 7, Title: "seven", Count: count, Rate: RateScale, TreeID: tree}}}}
}

// TestIncompleteStockTreeNeverOverIssues: an award of count 1 behind a
// rule_stock node with no ALLOW line is issued at most once in 5 draws; the
// other draws get the tree's luck award.
func TestIncompleteStockTreeNeverOverIssues(t *testing.T) {
	e, _ := newTestEngine(t, nil, oneAwardStrategy(1, "stock_no_allow"), []Tree{incompleteStockTree(true)})
	issued := 0
	for i := range 5 {
		res := raffle(t, e, Request{UserID: "u", StrategyID: 1, TodayDraws: int64(i + 1)})
		switch res.AwardID {
		case 7:
			issued++
			if !res.StockTaken {
				t.Errorf("draw %d: award 7 given without taking stock: %+v", i+1, res)
			}
		case 101:
			if res.StockTaken || res.Node != NodeLuckAward || !res.HasAmount {
				t.Errorf("draw %d: %+v, want the tree's luck award with an amount", i+1, res)
			}
		default:
			t.Errorf("draw %d: award %d, want 7 or the luck award 101", i+1, res.AwardID)
		}
	}
	if issued > 1 {
		t.Fatalf("award of count 1 issued %d times in 5 draws", issued)
	}
}

// TestIncompleteLockTreeKeepsTheAwardLocked: a rule_lock of 5 with no
// TAKE_OVER line must not hand out the award on draw 1 (nor before draw 5).
func TestIncompleteLockTreeKeepsTheAwardLocked(t *testing.T) {
	e, _ := newTestEngine(t, nil, oneAwardStrategy(100, "lock_no_take_over"), []Tree{incompleteLockTree(true)})
	for today := int64(1); today <= 6; today++ {
		res := raffle(t, e, Request{UserID: "u", StrategyID: 1, TodayDraws: today})
		if today < 5 && res.AwardID == 7 {
			t.Fatalf("draw %d of today: locked award 7 handed out (lock 5): %+v", today, res)
		}
		if today >= 5 && (res.AwardID != 7 || !res.StockTaken) {
			t.Errorf("draw %d of today: %+v, want award 7 unlocked with its stock", today, res)
		}
	}
}

// TestIncompleteTreeWithoutLuckAwardFails: with no rule_luck_award node to fall
// back on, the raffle fails with ErrNoAward rather than give the award.
func TestIncompleteTreeWithoutLuckAwardFails(t *testing.T) {
	e, _ := newTestEngine(t, nil, oneAwardStrategy(1, "stock_no_allow"), []Tree{incompleteStockTree(false)})
	raffle(t, e, Request{UserID: "u", StrategyID: 1}) // takes the only unit
	for range 3 {
		res, err := e.Raffle(context.Background(), Request{UserID: "u", StrategyID: 1})
		if !errors.Is(err, ErrNoAward) {
			t.Fatalf("stock empty, no luck award: %+v, %v; want ErrNoAward", res, err)
		}
	}
	e2, _ := newTestEngine(t, nil, oneAwardStrategy(100, "lock_no_take_over"), []Tree{incompleteLockTree(false)})
	if res, err := e2.Raffle(context.Background(), Request{UserID: "u", StrategyID: 1, TodayDraws: 1}); !errors.Is(err, ErrNoAward) {
		t.Fatalf("locked, no luck award: %+v, %v; want ErrNoAward", res, err)
	}
	// Simulation applies the same rule.
	if _, err := e.Simulate(context.Background(), 1, 10, "u", 0, 0); !errors.Is(err, ErrNoAward) {
		t.Fatalf("simulate with stock empty and no luck award: %v; want ErrNoAward", err)
	}
}
