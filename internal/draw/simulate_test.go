package draw_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/draw"
	"github.com/bigmarket/bigmarket/internal/platform/counter"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// TestSimulateThroughService: the service simulates an armed strategy and
// answers the engine's figures; an unknown strategy is strategy.ErrNotArmed
// and runs nothing.
func TestSimulateThroughService(t *testing.T) {
	e := strategy.NewEngine(strategy.Config{Counter: counter.NewMemory()})
	tree := strategy.Tree{ID: "t", Root: strategy.NodeLock,
		Nodes: []strategy.Node{{Key: strategy.NodeLock, Value: "2"}, {Key: strategy.NodeLuckAward, Value: "1"}},
		Lines: []strategy.Line{{From: strategy.NodeLock, To: strategy.NodeLuckAward, When: strategy.TakeOver}}}
	st := strategy.Strategy{ID: 10, Awards: []strategy.Award{
		{AwardID: 1, Rate: 500_000, Sort: 1},
		{AwardID: 2, Rate: 500_000, Sort: 2, TreeID: "t"},
	}}
	if err := e.Arm([]strategy.Strategy{st}, []strategy.Tree{tree}); err != nil {
		t.Fatal(err)
	}
	svc := draw.NewStrategyService(e, nil, nil, nil, time.Now)
	sim, err := svc.Simulate(context.Background(), strategy.SimulationRequest{StrategyID: 10, Draws: 1000, UserID: "u", TodayDraws: 1})
	if err != nil {
		t.Fatal(err)
	}
	a2 := sim.Awards[1]
	if sim.Counts[1] != 1000 || a2.AwardID != 2 || a2.Drawn == 0 || a2.Locked != a2.Drawn || a2.Luck != a2.Drawn || a2.LockCount != 2 {
		t.Fatalf("simulation %+v: want award 2 locked on every draw (today 1 < 2) and replaced by 1", sim)
	}
	if _, err := svc.Simulate(context.Background(), strategy.SimulationRequest{StrategyID: 11, Draws: 10}); !errors.Is(err, strategy.ErrNotArmed) {
		t.Fatalf("unknown strategy: %v, want ErrNotArmed", err)
	}
}
