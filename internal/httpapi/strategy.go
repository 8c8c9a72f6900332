package httpapi

import (
	"context"
	"net/http"

	"github.com/bigmarket/bigmarket/internal/strategy"
)

// StrategyService is what the strategy endpoints need.
type StrategyService interface {
	// Armory makes sure the strategy is assembled from the stored configuration;
	// an unknown strategy returns strategy.ErrNotArmed.
	Armory(ctx context.Context, strategyID int64) error
	// RandomRaffle is a full raffle for user "system", recorded.
	RandomRaffle(ctx context.Context, strategyID int64) (strategy.Result, error)
	// Simulate evaluates chain and tree req.Draws times without taking or
	// writing, and reports the counts and the rule outcomes; an unknown
	// strategy returns strategy.ErrNotArmed.
	Simulate(ctx context.Context, req strategy.SimulationRequest) (strategy.Simulation, error)
}

const v1 = "/api/v1/raffle/"

func (s *Server) strategyRoutes() {
	s.route(http.MethodGet, v1+"strategy/strategy_armory", s.strategyArmory)
	s.route(http.MethodPost, v1+"strategy/random_raffle", s.randomRaffle)
}

func (s *Server) strategyArmory(r *http.Request) (any, error) {
	id, err := positiveID("strategyId", r.URL.Query().Get("strategyId"))
	if err != nil {
		return nil, err
	}
	if err := s.deps.Strategy.Armory(r.Context(), id); err != nil {
		return nil, err
	}
	return true, nil
}

type randomRaffleRequest struct {
	StrategyID int64 `json:"strategyId"`
}

type randomRaffleResponse struct {
	AwardID    int64 `json:"awardId"`
	AwardIndex int   `json:"awardIndex"`
}

// randomRaffle takes real stock, so token mode needs the app or admin token.
func (s *Server) randomRaffle(r *http.Request) (any, error) {
	if err := s.checkAppOrAdmin(r); err != nil {
		return nil, err
	}
	var req randomRaffleRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := requireID("strategyId", req.StrategyID); err != nil {
		return nil, err
	}
	res, err := s.deps.Strategy.RandomRaffle(r.Context(), req.StrategyID)
	if err != nil {
		return nil, err
	}
	return randomRaffleResponse{AwardID: res.AwardID, AwardIndex: res.Sort}, nil
}
