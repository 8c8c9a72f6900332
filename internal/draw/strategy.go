// Package draw holds the application services that run raffles: the
// strategy-only raffle (random_raffle, armory, simulation) and the activity draw.
// They orchestrate the strategy engine, activities and award records; the rules
// themselves live in the domain packages.
package draw

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// Engine is the strategy engine as the draw services use it.
type Engine interface {
	Armed(strategyID int64) bool
	Raffle(ctx context.Context, req strategy.Request) (strategy.Result, error)
	SimulateOutcomes(ctx context.Context, req strategy.SimulationRequest) (strategy.Simulation, error)
}

// RecordStore writes award records.
type RecordStore interface {
	Insert(ctx context.Context, r award.Record) error
}

// UserTx runs write transactions on a user's shard (sqldb.DB implements it).
type UserTx interface {
	InUserTx(ctx context.Context, userID string, fn func(tx *sql.Tx, r sqldb.Route) error) error
}

// Reloader refreshes the configuration from storage (the catalog): concurrent
// callers share one reload, and reloads are rate limited (catalog.Refresh).
type Reloader interface {
	Refresh(ctx context.Context) (bool, error)
}

// StrategyService serves the strategy-only endpoints.
type StrategyService struct {
	engine  Engine
	records RecordStore
	reload  Reloader
	// Set by Fenced: the award is recorded in the take's transaction.
	db        UserTx
	recordsTx RecordTxStore
	fences    FenceHolder

	newID func() string
	now   func() time.Time
}

// NewStrategyService wires the service. newID makes order ids; now is the
// clock. Call Fenced before serving RandomRaffle with stock that matters.
func NewStrategyService(engine Engine, records RecordStore, reload Reloader, newID func() string, now func() time.Time) *StrategyService {
	return &StrategyService{engine: engine, records: records, reload: reload, newID: newID, now: now}
}

// Fenced makes RandomRaffle take stock and record the award in one transaction
// on the system user's shard (db), holding the stock fence there (fences), as a
// draw does, so that a counter rebuild never misses its take. It returns s.
// Without it the award is recorded after the raffle, outside any transaction
// (tests).
func (s *StrategyService) Fenced(db UserTx, records RecordTxStore, fences FenceHolder) *StrategyService {
	s.db, s.recordsTx, s.fences = db, records, fences
	return s
}

// Armory reports whether the strategy is assembled, from memory; only a strategy
// not known yet makes it refresh the configuration (shared and rate limited, as
// the endpoint is public). An unknown strategy returns strategy.ErrNotArmed.
func (s *StrategyService) Armory(ctx context.Context, strategyID int64) error {
	if s.engine.Armed(strategyID) {
		return nil
	}
	if _, err := s.reload.Refresh(ctx); err != nil {
		return fmt.Errorf("armory strategy[%d]: %w", strategyID, err)
	}
	if !s.engine.Armed(strategyID) {
		return fmt.Errorf("armory strategy[%d]: %w", strategyID, strategy.ErrNotArmed)
	}
	return nil
}

// RandomRaffle runs a full raffle for user "system" (no activity: no quota, no
// draws today, so locked awards stay locked) and records the award in the same
// transaction as the stock take (fenced, like a draw), so that each take is
// durable and a counter rebuild never misses it. The record is never delivered.
func (s *StrategyService) RandomRaffle(ctx context.Context, strategyID int64) (strategy.Result, error) {
	orderID := s.newID()
	record := func(res strategy.Result) award.Record {
		rec := award.Record{
			UserID:     award.SystemUser,
			StrategyID: strategyID,
			OrderID:    orderID,
			AwardID:    res.AwardID,
			AwardTitle: res.Title,
			Amount:     res.Amount,
			StockTaken: res.StockTaken,
			State:      award.RecordCompleted,
			Time:       s.now(),
		}
		if res.HasAmount {
			rec.AwardConfig = res.Amount.String()
		}
		return rec
	}
	if s.db == nil {
		res, err := s.engine.Raffle(ctx, strategy.Request{UserID: award.SystemUser, StrategyID: strategyID})
		if err != nil {
			return strategy.Result{}, fmt.Errorf("random raffle strategy[%d]: %w", strategyID, err)
		}
		if err := s.records.Insert(ctx, record(res)); err != nil {
			return strategy.Result{}, fmt.Errorf("random raffle strategy[%d]: record award %d: %w", strategyID, res.AwardID, err)
		}
		return res, nil
	}
	var res strategy.Result
	err := s.db.InUserTx(ctx, award.SystemUser, func(tx *sql.Tx, r sqldb.Route) error {
		// A retried transaction raffles again: its earlier take rolled back
		// with its record (undersell, never oversell).
		req := strategy.Request{UserID: award.SystemUser, StrategyID: strategyID}
		if s.fences != nil {
			req.Hold = func(ctx context.Context, key string) (int64, error) { return s.fences.Hold(ctx, tx, r, key) }
		}
		var err error
		if res, err = s.engine.Raffle(ctx, req); err != nil {
			return err
		}
		if err := s.recordsTx.InsertTx(ctx, tx, r, record(res)); err != nil {
			return fmt.Errorf("record award %d: %w", res.AwardID, err)
		}
		return nil
	})
	if err != nil {
		return strategy.Result{}, fmt.Errorf("random raffle strategy[%d]: %w", strategyID, err)
	}
	return res, nil
}

// Simulate evaluates the chain and tree req.Draws times for a user with the
// given progress, taking and writing nothing, and reports what came out and
// what each rule did. An unknown strategy returns strategy.ErrNotArmed.
func (s *StrategyService) Simulate(ctx context.Context, req strategy.SimulationRequest) (strategy.Simulation, error) {
	if !s.engine.Armed(req.StrategyID) {
		return strategy.Simulation{}, fmt.Errorf("simulate strategy[%d]: %w", req.StrategyID, strategy.ErrNotArmed)
	}
	sim, err := s.engine.SimulateOutcomes(ctx, req)
	if err != nil {
		return strategy.Simulation{}, fmt.Errorf("simulate strategy[%d]: %w", req.StrategyID, err)
	}
	return sim, nil
}
