package strategy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// SimulationRequest is a dry run of a strategy for one user with a given
// progress (see Engine.SimulateOutcomes).
type SimulationRequest struct {
	StrategyID int64
	// Draws is how many raffles to run; ≤ 0 runs none.
	Draws  int
	UserID string
	// TotalDraws and TodayDraws are the user's draws in the activity and
	// today, counting the current one (rule_weight, rule_lock), as in Request.
	TotalDraws int64
	TodayDraws int64
	// UseStock makes each simulated take use up one unit of the stock left
	// (the live counter's value read once at the start), so that a long run
	// shows stock running out; false compares every take with the stock left
	// at the start. Nothing is taken from the live counters either way.
	UseStock bool
}

// Simulation is the outcome of a dry run: what came out and what each rule did.
type Simulation struct {
	Draws int
	// Rule is the chain step that decided every draw of the run (the request
	// is the same each time): RuleDefault, "rule_weight" or "rule_blacklist".
	Rule string
	// WeightGroup is the key of the rule_weight group drawn from ("10:102,103");
	// empty unless Rule is rule_weight.
	WeightGroup string
	// WeightMatch and WeightGroups describe the strategy's rule_weight (no
	// groups without one), so that a caller can show every tier.
	WeightMatch  WeightMatch
	WeightGroups []WeightGroup
	// TableTotal is the sum of the rates of the table in force: the whole
	// table, the weight group's awards, or RateScale for the blacklist award.
	// An award's chance to be drawn is its TableRate / TableTotal.
	TableTotal Rate
	// Awards are the strategy's awards by Sort (table order among equal
	// sorts), then the awards outside the table that came out (a blacklist or
	// luck award the table does not list), by id.
	Awards []SimulatedAward
	// Counts is how often each award came out (the final award of a draw).
	Counts map[int64]int
}

// SimulatedAward is one award's figures in a Simulation.
type SimulatedAward struct {
	AwardID int64
	Title   string
	Sort    int
	// InTable is false for an award outside the strategy's table.
	InTable bool
	// Rate is the configured rate; TableRate the award's weight in the table
	// in force (0 when it cannot be drawn there).
	Rate      Rate
	TableRate Rate
	// StockCount is the configured stock; Limited reports a rule_stock node
	// in its tree; StockLeft is the stock left when the run started.
	StockCount int64
	Limited    bool
	StockLeft  int64
	// LockCount is the rule_lock count of its tree (0 without one).
	LockCount int64
	// Drawn counts draws that drew it (before its rule tree); Locked those
	// whose rule_lock answered TAKE_OVER (still locked); StockTaken those
	// whose rule_stock found a unit (TAKE_OVER); StockEmpty those whose
	// rule_stock found none (ALLOW); Luck those that ended in the tree's
	// luck award instead; Awarded how often it came out in the end.
	Drawn      int
	Locked     int
	StockTaken int
	StockEmpty int
	Luck       int
	Awarded    int
}

// simState makes a raffle a dry run: stock is compared, not taken. taken caches
// each award's counter value read once per simulation (plus the simulated
// takes when useStock); out counts rule outcomes per award position.
type simState struct {
	taken    map[*stockCell]int64
	useStock bool
	out      []simCounts
	// start is each award position's units taken when the run started.
	start []int64
}

type simCounts struct {
	drawn, locked, stockTaken, stockEmpty, luck int
}

func (s *simState) stockAnswer(pos int, ok bool) {
	if ok {
		s.out[pos].stockTaken++
	} else {
		s.out[pos].stockEmpty++
	}
}

// Simulate runs draws raffles of a strategy for userID with the given draw counts
// and returns how often each award came out. Chain and trees are evaluated but
// nothing is taken or written: a rule_stock node compares the counter's current
// value (read once per award) with the count instead of acquiring. draws ≤ 0
// returns an empty map. Errors: ErrNotArmed, the context's error (checked every
// 4096 draws), counter or store errors.
func (e *Engine) Simulate(ctx context.Context, strategyID int64, draws int, userID string, totalDraws, todayDraws int64) (map[int64]int, error) {
	sim, err := e.SimulateOutcomes(ctx, SimulationRequest{StrategyID: strategyID, Draws: draws, UserID: userID, TotalDraws: totalDraws, TodayDraws: todayDraws})
	if err != nil {
		return nil, err
	}
	return sim.Counts, nil
}

// SimulateOutcomes runs req.Draws raffles as Simulate does and reports, besides
// the counts, the table in force and per award how often it was drawn, locked,
// given with stock, refused for stock and replaced by its luck award. Nothing
// is taken or written. Errors: ErrNotArmed, the context's error (checked every
// 4096 draws), counter or store errors, ErrNoAward from an incomplete tree.
func (e *Engine) SimulateOutcomes(ctx context.Context, req SimulationRequest) (Simulation, error) {
	s, err := e.strategy(req.StrategyID)
	if err != nil {
		return Simulation{}, fmt.Errorf("simulate: %w", err)
	}
	r := Request{UserID: req.UserID, StrategyID: req.StrategyID, TotalDraws: req.TotalDraws, TodayDraws: req.TodayDraws}
	sim := &simState{taken: map[*stockCell]int64{}, useStock: req.UseStock, out: make([]simCounts, len(s.awards)), start: make([]int64, len(s.awards))}
	// Read the stock of every limited award once, before the first draw, so
	// that StockLeft is the start of the run for all of them.
	for i := range s.awards {
		a := &s.awards[i]
		if a.tree == nil || !a.tree.hasStock {
			continue
		}
		taken, err := e.takenNow(ctx, a.cell)
		if err != nil {
			return Simulation{}, fmt.Errorf("simulate: %w", err)
		}
		sim.taken[a.cell], sim.start[i] = taken, taken
	}
	out := Simulation{Draws: max(req.Draws, 0), WeightMatch: s.weightAt, Counts: map[int64]int{}}
	for i := range req.Draws {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return Simulation{}, fmt.Errorf("simulate: strategy[%d]: %w", req.StrategyID, err)
			}
		}
		res, err := e.raffle(ctx, s, r, sim)
		if err != nil {
			return Simulation{}, fmt.Errorf("simulate: %w", err)
		}
		out.Counts[res.AwardID]++
	}
	describeSimulation(s, r, sim, &out)
	return out, nil
}

// describeSimulation fills the table in force and the per-award figures.
func describeSimulation(s *armed, r Request, sim *simState, out *Simulation) {
	rule, g, black := s.chainStep(r)
	out.Rule = rule
	for _, wg := range s.weight {
		c := wg.group
		c.AwardIDs = slices.Clone(c.AwardIDs)
		out.WeightGroups = append(out.WeightGroups, c)
	}
	tableRate := make([]Rate, len(s.awards))
	switch {
	case black != 0:
		out.TableTotal = RateScale
	case g != nil:
		out.WeightGroup = g.group.Key
		for _, pos := range g.pos {
			tableRate[pos] = s.awards[pos].Rate
			out.TableTotal += s.awards[pos].Rate
		}
	default:
		for i, a := range s.awards {
			tableRate[i] = a.Rate
			out.TableTotal += a.Rate
		}
	}
	for i := range s.awards {
		a := &s.awards[i]
		c := sim.out[i]
		v := SimulatedAward{AwardID: a.AwardID, Title: a.Title, Sort: a.Sort, InTable: true, Rate: a.Rate, TableRate: tableRate[i],
			StockCount: a.Count, Drawn: c.drawn, Locked: c.locked, StockTaken: c.stockTaken, StockEmpty: c.stockEmpty,
			Luck: c.luck, Awarded: out.Counts[a.AwardID]}
		if a.AwardID == black {
			v.TableRate = RateScale
		}
		if a.tree != nil {
			v.LockCount = a.tree.lockCount
			if a.tree.hasStock {
				v.Limited = true
				v.StockLeft = max(a.Count-sim.start[i], 0)
			}
		}
		out.Awards = append(out.Awards, v)
	}
	slices.SortStableFunc(out.Awards, func(x, y SimulatedAward) int { return cmp.Compare(x.Sort, y.Sort) })
	var outside []SimulatedAward
	for id, n := range out.Counts {
		if _, ok := s.index[id]; !ok {
			v := SimulatedAward{AwardID: id, Awarded: n}
			if id == black {
				v.TableRate = RateScale
			}
			outside = append(outside, v)
		}
	}
	if black != 0 && out.Counts[black] == 0 {
		if _, ok := s.index[black]; !ok {
			outside = append(outside, SimulatedAward{AwardID: black, TableRate: RateScale})
		}
	}
	slices.SortFunc(outside, func(x, y SimulatedAward) int { return cmp.Compare(x.AwardID, y.AwardID) })
	out.Awards = append(out.Awards, outside...)
}
