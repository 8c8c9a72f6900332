package httpapi

import (
	"net/http"
	"strconv"

	"github.com/bigmarket/bigmarket/internal/strategy"
)

// maxSimulatedDraws bounds one simulation request.
const maxSimulatedDraws = 1_000_000

type simulateRequest struct {
	StrategyID int64  `json:"strategyId"`
	Draws      int    `json:"draws"`
	UserID     string `json:"userId"`
	// TotalDraws and TodayDraws let an operator simulate a user's progress
	// (rule_weight groups, rule_lock thresholds); zero means a new user.
	TotalDraws int64 `json:"totalDraws"`
	TodayDraws int64 `json:"todayDraws"`
	// UseStock makes the run use up the stock left as it goes (nothing is
	// taken from the live stock); false compares each take with the stock
	// left at the start.
	UseStock bool `json:"useStock"`
}

// simulateResponse is the answer of POST strategy/simulate. Counts is the
// original answer (award id → times it came out); the other fields tell what
// was configured and what each rule did.
type simulateResponse struct {
	Counts     map[string]int `json:"counts"`
	StrategyID int64          `json:"strategyId"`
	Draws      int            `json:"draws"`
	UserID     string         `json:"userId"`
	TotalDraws int64          `json:"totalDraws"`
	TodayDraws int64          `json:"todayDraws"`
	UseStock   bool           `json:"useStock"`
	// Rule is the chain step that decided the draws: default, rule_weight or
	// rule_blacklist; WeightGroup the rule_weight group drawn from ("" unless
	// rule_weight).
	Rule         string            `json:"rule"`
	WeightGroup  string            `json:"weightGroup"`
	WeightMatch  string            `json:"weightMatch"`
	WeightGroups []weightGroupView `json:"weightGroups"`
	// Outcomes sums the rule outcomes over every award.
	Outcomes simulateOutcomes `json:"outcomes"`
	Awards   []simulatedAward `json:"awards"`
}

type weightGroupView struct {
	Threshold int64   `json:"threshold"`
	AwardIDs  []int64 `json:"awardIds"`
	Key       string  `json:"key"`
}

type simulateOutcomes struct {
	// Chain counts draws per deciding chain step.
	Chain      map[string]int `json:"chain"`
	Locked     int            `json:"locked"`
	StockTaken int            `json:"stockTaken"`
	StockEmpty int            `json:"stockEmpty"`
	LuckAward  int            `json:"luckAward"`
}

// simulatedAward is one award of a simulation. ConfiguredRate is the chance
// to be drawn from the table in force for this user (the whole table, the
// rule_weight group, or 1 for the blacklist award), from the configured
// rates; ObservedRate is how often it came out (awarded / draws).
type simulatedAward struct {
	AwardID        int64   `json:"awardId"`
	Title          string  `json:"awardTitle"`
	Sort           int     `json:"awardIndex"`
	InTable        bool    `json:"inTable"`
	Rate           string  `json:"awardRate"`
	ConfiguredRate float64 `json:"configuredRate"`
	ObservedRate   float64 `json:"observedRate"`
	Drawn          int     `json:"drawn"`
	Awarded        int     `json:"awarded"`
	Locked         int     `json:"locked"`
	StockTaken     int     `json:"stockTaken"`
	StockEmpty     int     `json:"stockEmpty"`
	LuckAward      int     `json:"luckAward"`
	LockCount      int64   `json:"lockCount"`
	Limited        bool    `json:"limited"`
	StockCount     int64   `json:"stockCount"`
	StockLeft      int64   `json:"stockLeft"`
}

// strategySimulate runs simulated draws of a strategy for one user's progress.
// Nothing is taken or written, so it is not audited.
func (s *Server) strategySimulate(r *http.Request) (any, error) {
	var req simulateRequest
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	if err := requireID("strategyId", req.StrategyID); err != nil {
		return nil, err
	}
	if req.Draws <= 0 || req.Draws > maxSimulatedDraws {
		return nil, badRequest("draws must be between 1 and %d", maxSimulatedDraws)
	}
	if req.TotalDraws < 0 || req.TodayDraws < 0 {
		return nil, badRequest("totalDraws and todayDraws must not be negative")
	}
	if req.UserID == "" {
		req.UserID = "simulation"
	} else if err := requireUser(req.UserID); err != nil {
		return nil, err
	}
	sim, err := s.deps.Strategy.Simulate(r.Context(), strategy.SimulationRequest{StrategyID: req.StrategyID, Draws: req.Draws,
		UserID: req.UserID, TotalDraws: req.TotalDraws, TodayDraws: req.TodayDraws, UseStock: req.UseStock})
	if err != nil {
		return nil, err
	}
	return simulateView(req, sim), nil
}

func simulateView(req simulateRequest, sim strategy.Simulation) simulateResponse {
	out := simulateResponse{Counts: make(map[string]int, len(sim.Counts)), StrategyID: req.StrategyID, Draws: sim.Draws,
		UserID: req.UserID, TotalDraws: req.TotalDraws, TodayDraws: req.TodayDraws, UseStock: req.UseStock,
		Rule: sim.Rule, WeightGroup: sim.WeightGroup, WeightMatch: string(sim.WeightMatch), WeightGroups: []weightGroupView{},
		Outcomes: simulateOutcomes{Chain: map[string]int{sim.Rule: sim.Draws}}, Awards: make([]simulatedAward, 0, len(sim.Awards))}
	for id, n := range sim.Counts {
		out.Counts[strconv.FormatInt(id, 10)] = n
	}
	for _, g := range sim.WeightGroups {
		out.WeightGroups = append(out.WeightGroups, weightGroupView{g.Threshold, g.AwardIDs, g.Key})
	}
	for _, a := range sim.Awards {
		v := simulatedAward{AwardID: a.AwardID, Title: a.Title, Sort: a.Sort, InTable: a.InTable, Drawn: a.Drawn, Awarded: a.Awarded,
			Locked: a.Locked, StockTaken: a.StockTaken, StockEmpty: a.StockEmpty, LuckAward: a.Luck, LockCount: a.LockCount,
			Limited: a.Limited, StockCount: a.StockCount, StockLeft: a.StockLeft}
		if a.InTable {
			v.Rate = a.Rate.String()
		}
		if sim.TableTotal > 0 {
			v.ConfiguredRate = float64(a.TableRate) / float64(sim.TableTotal)
		}
		if sim.Draws > 0 {
			v.ObservedRate = float64(a.Awarded) / float64(sim.Draws)
		}
		out.Outcomes.Locked += a.Locked
		out.Outcomes.StockTaken += a.StockTaken
		out.Outcomes.StockEmpty += a.StockEmpty
		out.Outcomes.LuckAward += a.Luck
		out.Awards = append(out.Awards, v)
	}
	return out
}
