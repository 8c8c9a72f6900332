package draw_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/catalog"
	"github.com/bigmarket/bigmarket/internal/draw"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// stallingStore is a draw store whose transactions, while stall is set, wait
// until the draw's context ends (a slow or stuck database), then fail with the
// context's error as a real store does; otherwise it runs the raffle.
type stallingStore struct {
	stall atomic.Bool
}

func (s *stallingStore) Draw(ctx context.Context, in activitydb.DrawInput, raffle activitydb.Raffle) (activity.Partake, error) {
	if s.stall.Load() {
		<-ctx.Done()
		return activity.Partake{}, fmt.Errorf("partake: begin transaction: %w", ctx.Err())
	}
	p := activity.Partake{Order: activity.RaffleOrder{OrderID: in.OrderID}, TotalUsed: 1, TodayUsed: 1}
	return p, raffle(&activitydb.DrawTx{}, p, &sqldb.Batch{})
}

type fixedEngine struct{}

func (fixedEngine) Armed(int64) bool { return true }
func (fixedEngine) Raffle(context.Context, strategy.Request) (strategy.Result, error) {
	return strategy.Result{AwardID: 101, Title: "prize", Rule: strategy.RuleDefault}, nil
}
func (fixedEngine) SimulateOutcomes(context.Context, strategy.SimulationRequest) (strategy.Simulation, error) {
	return strategy.Simulation{}, errors.New("not used")
}

type nopRecords struct{}

func (nopRecords) AddInsert(*sqldb.Batch, sqldb.Route, award.Record) {}

type nopTasks struct{}

func (nopTasks) AddInsert(*sqldb.Batch, sqldb.Route, outbox.Task) {}

type nopRelay struct{}

func (nopRelay) Enqueue(outbox.Task) {}

type openSwitches struct{}

func (openSwitches) Degraded() bool                  { return false }
func (openSwitches) RateLimit() (bool, float64, int) { return false, 0, 0 }

type fixedCatalog struct{ snap *catalog.Snapshot }

func (c fixedCatalog) Current() *catalog.Snapshot { return c.snap }

// newService wires a draw service around store, with a time budget.
func newService(store draw.DrawStore, budget time.Duration) *draw.ActivityService {
	snap := &catalog.Snapshot{
		Location:   time.UTC,
		Awards:     map[int64]award.Award{101: {ID: 101, Key: "user_credit_random", Config: "1,10"}},
		Activities: map[int64]activity.Activity{1: {ID: 1, StrategyID: 1, State: activity.StateOpen}},
	}
	var ids atomic.Int64
	return draw.NewActivityService(draw.ActivityConfig{
		Engine: fixedEngine{}, Draws: store, Records: nopRecords{}, Tasks: nopTasks{}, Relay: nopRelay{},
		Catalog: fixedCatalog{snap}, Switches: openSwitches{}, Timeout: budget,
		NewID: func() string { return fmt.Sprint(ids.Add(1)) }, Now: time.Now,
	})
}

// TestClientDisconnectsDoNotOpenTheBreaker makes 25 draws whose clients go away
// while the draw waits for the database, then a normal draw: the breaker must
// still be closed, since a client that disconnects says nothing about the
// draw's dependencies.
func TestClientDisconnectsDoNotOpenTheBreaker(t *testing.T) {
	store := &stallingStore{}
	svc := newService(store, 2*time.Second)
	store.stall.Store(true)
	for i := range 25 {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Millisecond, cancel)
		_, err := svc.Draw(ctx, fmt.Sprint("u", i), 1)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled draw %d: err %v, want context.Canceled", i, err)
		}
	}
	store.stall.Store(false)
	res, err := svc.Draw(context.Background(), "u-after", 1)
	if err != nil || res.AwardID != 101 {
		t.Fatalf("draw after 25 client disconnects: %+v, %v: want award 101 (breaker closed)", res, err)
	}
}

// TestDrawsOverBudgetOpenTheBreaker: a draw that runs past its own time budget
// because the database is slow is a dependency failure; 20 of them open the
// breaker, and the next draw answers ErrCircuitOpen without running.
func TestDrawsOverBudgetOpenTheBreaker(t *testing.T) {
	store := &stallingStore{}
	svc := newService(store, 5*time.Millisecond)
	store.stall.Store(true)
	for i := range 20 {
		if _, err := svc.Draw(context.Background(), fmt.Sprint("u", i), 1); !errors.Is(err, draw.ErrCircuitOpen) {
			t.Fatalf("draw %d over budget: err %v, want ErrCircuitOpen", i, err)
		}
	}
	store.stall.Store(false)
	if _, err := svc.Draw(context.Background(), "u-after", 1); !errors.Is(err, draw.ErrCircuitOpen) {
		t.Fatalf("draw after 20 over budget: err %v, want ErrCircuitOpen (breaker open)", err)
	}
}
