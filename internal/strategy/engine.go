package strategy

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/bigmarket/bigmarket/internal/money"
)

// ErrUnknownAward is returned for an award id that is not in the strategy's table.
var ErrUnknownAward = errors.New("strategy: award not in strategy")

// ErrNoAward is returned by a raffle whose rule tree ends without an award it
// may give (its stock not taken, or still locked) and has no rule_luck_award
// node to fall back on: an incomplete tree stored before validation refused
// such trees. The draw maps it to a business code and keeps nothing.
var ErrNoAward = errors.New("strategy: rule tree left no award to give")

// RuleDefault is Result.Rule for an award drawn from the whole table.
const RuleDefault = "default"

// Config configures an Engine.
type Config struct {
	// Counter holds the stock counters (units taken). Required: NewEngine panics
	// when it is nil.
	Counter Counter
	// Store is the durable side of stock. Nil means none: counters are seeded
	// from 0 and Flush drops the deltas (tests, throw-away demos).
	Store StockStore
	// Fence waits out the takes in flight before a lost counter is rebuilt
	// (store/fencedb). Nil means no barrier: only safe when no raffle can be in
	// flight during a rebuild (tests, a single process whose counters die with it).
	Fence StockFence
	// Logger receives stock events (seeding, flush failures). Nil discards them.
	Logger *slog.Logger
}

// Engine draws awards from armed strategies. Armed strategies live in an
// immutable snapshot behind an atomic pointer: Arm builds a new one and swaps it
// in, so raffles never lock and configuration changes apply without restart.
// An Engine is safe for concurrent use; build it with NewEngine.
type Engine struct {
	counter Counter
	store   StockStore
	fence   StockFence
	log     *slog.Logger

	snap  atomic.Pointer[snapshot]
	armMu sync.Mutex // serialises Arm

	cellsMu sync.Mutex // guards cells (Arm, Flush); never taken on the draw path
	cells   map[cellID]*stockCell
	flushMu sync.Mutex // serialises Flush
}

// NewEngine returns an engine with no strategy armed. It panics if cfg.Counter is
// nil (a wiring error).
func NewEngine(cfg Config) *Engine {
	if cfg.Counter == nil {
		panic("strategy: NewEngine: Config.Counter is nil")
	}
	e := &Engine{counter: cfg.Counter, store: cfg.Store, fence: cfg.Fence, log: cfg.Logger, cells: map[cellID]*stockCell{}}
	if e.log == nil {
		e.log = discardLogger()
	}
	return e
}

// Request is one raffle.
type Request struct {
	UserID     string
	StrategyID int64
	// TotalDraws is the user's draws in the activity counting the current one
	// (rule_weight); 0 for a strategy-only raffle.
	TotalDraws int64
	// TodayDraws is the user's draws today counting the current one (rule_lock);
	// 0 for a strategy-only raffle.
	TodayDraws int64
	// Hold, when not nil, is called with an award's stock key right before a
	// unit is taken from it: it takes the stock fence inside the transaction
	// that will record the take (store/fencedb.Store.Hold) and returns the
	// fence's generation. The transaction must stay open until the record is
	// written. Nil takes without a fence (tests, or no transaction).
	Hold func(ctx context.Context, stockKey string) (gen int64, err error)
}

// Result is the outcome of a raffle.
type Result struct {
	AwardID int64
	// Title and Sort come from the strategy's own table row of AwardID; they are
	// zero when the award is not in the table (a blacklist or luck award outside it).
	Title string
	Sort  int
	// StockTaken reports that one unit of AwardID's stock was taken by this draw;
	// the caller records it durably with the award record.
	StockTaken bool
	// StockKey and StockGen name the stock taken and the fence generation
	// Request.Hold returned for it; set when StockTaken. A transaction retried
	// after a rollback may reuse the take only if Hold returns StockGen again.
	StockKey string
	StockGen int64
	// Amount is the luck award's random credit amount; valid when HasAmount.
	Amount    money.Amount
	HasAmount bool
	// Rule is the chain step that picked the award: "rule_blacklist",
	// "rule_weight" or "default".
	Rule string
	// Node is the tree node that set the final award (rule_stock or
	// rule_luck_award); empty when the award has no tree or no node set it, in
	// which case the drawn award is returned as drawn (only from a tree without
	// rule_stock whose rule_lock, if any, is open: see raffle).
	Node NodeKey
}

// AwardView is an award of an armed strategy as the award list shows it.
type AwardView struct {
	AwardID   int64
	Title     string
	Subtitle  string
	Sort      int
	Rate      Rate
	Count     int64
	LockCount int64 // the rule_lock count of its tree; 0 when it has none
	Image     string
}

// snapshot is an immutable set of armed strategies.
type snapshot struct {
	strategies map[int64]*armed
}

// armed is a strategy compiled for drawing.
type armed struct {
	id        int64
	awards    []armedAward
	index     map[int64]int // award id → position in awards
	table     *Alias        // over positions in awards
	chain     []chainStep
	weightAt  WeightMatch
	weight    []armedGroup // nil without rule_weight
	hasWeight bool
}

type armedAward struct {
	Award
	tree *compiledTree // nil: returned as drawn, no stock taken
	cell *stockCell
}

type chainStep struct {
	model     RuleModel
	blackAt   int64               // rule_blacklist award
	blacklist map[string]struct{} // rule_blacklist users
}

type armedGroup struct {
	group WeightGroup
	table *Alias
	pos   []int // table index → position in armed.awards
}

// node kinds of a compiled tree.
const (
	kindLock = iota
	kindStock
	kindLuck
)

// verdict indexes compiledNode.next: 0 ALLOW, 1 TAKE_OVER.
const (
	vAllow    = 0
	vTakeOver = 1
)

type compiledTree struct {
	id        string
	root      int
	nodes     []compiledNode
	lockCount int64
	hasStock  bool // a rule_stock node: the drawn award is given only with a take
	luck      int  // index of the rule_luck_award node, -1 without one
}

type compiledNode struct {
	kind int
	lock int64
	luck LuckAward
	next [2]int // node index per verdict; -1 ends the walk
}

// Arm compiles strategies and trees and swaps them in atomically as the whole
// armed set: strategies not in the list are no longer armed afterwards. For each
// strategy it builds one alias table for the whole table and one per rule_weight
// group, parses the blacklist into a set, compiles the referenced trees and
// rebuilds every award's missing stock counter from StockStore.CountTakes (fenced
// against the takes in flight, see rebuild). Invalid input returns an error naming the strategy or tree (wrapping
// ErrInvalidRule) and keeps the previous snapshot; so does a counter or store
// error while seeding. Arm seeds with context.Background(); ArmContext takes the
// caller's context.
func (e *Engine) Arm(strategies []Strategy, trees []Tree) error {
	return e.ArmContext(context.Background(), strategies, trees)
}

// ArmContext is Arm with a context for the counter and store calls that seed
// stock counters.
func (e *Engine) ArmContext(ctx context.Context, strategies []Strategy, trees []Tree) error {
	e.armMu.Lock()
	defer e.armMu.Unlock()

	compiled := make(map[string]*compiledTree, len(trees))
	for _, t := range trees {
		if _, dup := compiled[t.ID]; dup {
			return fmt.Errorf("arm: tree %q: %w: defined twice", t.ID, ErrInvalidRule)
		}
		ct, err := compileTree(t)
		if err != nil {
			return fmt.Errorf("arm: tree %q: %w", t.ID, err)
		}
		compiled[t.ID] = ct
	}
	next := &snapshot{strategies: make(map[int64]*armed, len(strategies))}
	for _, st := range strategies {
		if _, dup := next.strategies[st.ID]; dup {
			return fmt.Errorf("arm: strategy[%d]: %w: defined twice", st.ID, ErrInvalidRule)
		}
		a, err := e.compileStrategy(st, compiled)
		if err != nil {
			return fmt.Errorf("arm: strategy[%d]: %w", st.ID, err)
		}
		next.strategies[st.ID] = a
	}
	for _, a := range next.strategies {
		for i := range a.awards {
			c := a.awards[i].cell
			if e.fence != nil {
				if err := e.fence.Ensure(ctx, c.key); err != nil {
					return fmt.Errorf("arm: strategy[%d] award[%d]: %w", a.id, c.awardID, err)
				}
			}
			if _, ok, err := e.counter.Get(ctx, c.key); err != nil {
				return fmt.Errorf("arm: strategy[%d] award[%d]: read stock: %w", a.id, c.awardID, err)
			} else if ok {
				continue
			}
			if err := e.rebuild(ctx, c); err != nil {
				return fmt.Errorf("arm: %w", err)
			}
		}
	}
	e.snap.Store(next)
	return nil
}

func compileTree(t Tree) (*compiledTree, error) {
	if errs := t.Check(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	ct := &compiledTree{id: t.ID, nodes: make([]compiledNode, len(t.Nodes)), luck: -1}
	at := make(map[NodeKey]int, len(t.Nodes))
	for i, n := range t.Nodes {
		at[n.Key] = i
		cn := compiledNode{next: [2]int{-1, -1}}
		switch n.Key {
		case NodeLock:
			cn.kind = kindLock
			cn.lock, _ = ParseLock(n.Value) // checked by Check
			ct.lockCount = cn.lock
		case NodeStock:
			cn.kind = kindStock
			ct.hasStock = true
		case NodeLuckAward:
			cn.kind = kindLuck
			cn.luck, _ = ParseLuckAward(n.Value)
			ct.luck = i
		}
		ct.nodes[i] = cn
	}
	ct.root = at[t.Root]
	for _, l := range t.Lines {
		v := vAllow
		if l.When == TakeOver {
			v = vTakeOver
		}
		ct.nodes[at[l.From]].next[v] = at[l.To]
	}
	return ct, nil
}

func (e *Engine) compileStrategy(st Strategy, trees map[string]*compiledTree) (*armed, error) {
	if len(st.Awards) == 0 {
		return nil, fmt.Errorf("%w: no awards", ErrInvalidRule)
	}
	a := &armed{id: st.ID, index: make(map[int64]int, len(st.Awards)), awards: make([]armedAward, len(st.Awards))}
	rates := make([]Rate, len(st.Awards))
	for i, aw := range st.Awards {
		if aw.AwardID <= 0 {
			return nil, fmt.Errorf("%w: award[%d]: id must be positive", ErrInvalidRule, aw.AwardID)
		}
		if _, dup := a.index[aw.AwardID]; dup {
			return nil, fmt.Errorf("%w: award[%d] listed twice", ErrInvalidRule, aw.AwardID)
		}
		if aw.Rate <= 0 || aw.Rate > RateScale {
			return nil, fmt.Errorf("%w: award[%d]: rate %d out of (0, %d]", ErrInvalidRule, aw.AwardID, aw.Rate, RateScale)
		}
		if aw.Count < 0 {
			return nil, fmt.Errorf("%w: award[%d]: negative count %d", ErrInvalidRule, aw.AwardID, aw.Count)
		}
		var tree *compiledTree
		if aw.TreeID != "" {
			if tree = trees[aw.TreeID]; tree == nil {
				return nil, fmt.Errorf("%w: award[%d]: unknown rule tree %q", ErrInvalidRule, aw.AwardID, aw.TreeID)
			}
		}
		a.index[aw.AwardID] = i
		a.awards[i] = armedAward{Award: aw, tree: tree, cell: e.cell(st.ID, aw.AwardID)}
		rates[i] = aw.Rate
	}
	var err error
	if a.table, err = NewAlias(rates); err != nil {
		return nil, err
	}

	switch st.WeightMatch {
	case "", WeightEqual:
		a.weightAt = WeightEqual
	case WeightAtLeast:
		a.weightAt = WeightAtLeast
	default:
		return nil, fmt.Errorf("%w: weight_match %q: want equal or at_least", ErrInvalidRule, st.WeightMatch)
	}
	for _, r := range st.Rules {
		switch r.Model {
		case RuleBlacklist:
			b, err := ParseBlacklist(r.Value)
			if err != nil {
				return nil, err
			}
			step := chainStep{model: RuleBlacklist, blackAt: b.AwardID, blacklist: make(map[string]struct{}, len(b.Users))}
			for _, u := range b.Users {
				step.blacklist[u] = struct{}{}
			}
			a.chain = append(a.chain, step)
		case RuleWeight:
			if a.hasWeight {
				return nil, fmt.Errorf("%w: rule_weight given twice", ErrInvalidRule)
			}
			groups, err := ParseWeight(r.Value)
			if err != nil {
				return nil, err
			}
			for _, g := range groups {
				ag := armedGroup{group: g, pos: make([]int, len(g.AwardIDs))}
				gr := make([]Rate, len(g.AwardIDs))
				for j, id := range g.AwardIDs {
					pos, ok := a.index[id]
					if !ok {
						return nil, fmt.Errorf("%w: rule_weight group %q: award %d is not in the strategy", ErrInvalidRule, g.Key, id)
					}
					ag.pos[j], gr[j] = pos, a.awards[pos].Rate
				}
				if ag.table, err = NewAlias(gr); err != nil {
					return nil, fmt.Errorf("rule_weight group %q: %w", g.Key, err)
				}
				a.weight = append(a.weight, ag)
			}
			a.hasWeight = true
			a.chain = append(a.chain, chainStep{model: RuleWeight})
		default:
			return nil, fmt.Errorf("%w: unknown strategy rule %q", ErrInvalidRule, r.Model)
		}
	}
	return a, nil
}

// strategy returns the armed strategy or ErrNotArmed.
func (e *Engine) strategy(id int64) (*armed, error) {
	if s := e.snap.Load(); s != nil {
		if a := s.strategies[id]; a != nil {
			return a, nil
		}
	}
	return nil, fmt.Errorf("strategy[%d]: %w", id, ErrNotArmed)
}

// Armed reports whether the strategy is armed.
func (e *Engine) Armed(strategyID int64) bool {
	_, err := e.strategy(strategyID)
	return err == nil
}

// Raffle draws one award: the strategy's chain (rule_blacklist, rule_weight in
// the order listed, then the default draw), then the drawn award's rule tree,
// which may take one unit of stock. An award without a tree is returned as drawn
// and takes no stock. Errors: ErrNotArmed for an unknown strategy, ErrNoAward for
// an incomplete tree with nothing it may give, the context's error, and counter
// or store errors wrapped with the strategy and award.
func (e *Engine) Raffle(ctx context.Context, req Request) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("raffle: strategy[%d]: %w", req.StrategyID, err)
	}
	s, err := e.strategy(req.StrategyID)
	if err != nil {
		return Result{}, fmt.Errorf("raffle: %w", err)
	}
	res, err := e.raffle(ctx, s, req, nil)
	if err != nil {
		return Result{}, fmt.Errorf("raffle: %w", err)
	}
	return res, nil
}

func (e *Engine) raffle(ctx context.Context, s *armed, req Request, sim *simState) (Result, error) {
	pos, rule, blackAward := s.draw(req)
	if rule == string(RuleBlacklist) {
		res := Result{AwardID: blackAward, Rule: rule}
		s.describe(&res)
		return res, nil
	}
	if sim != nil {
		sim.out[pos].drawn++
	}
	a := &s.awards[pos]
	res := Result{AwardID: a.AwardID, Title: a.Title, Sort: a.Sort, Rule: rule}
	if a.tree == nil {
		return res, nil
	}
	t := a.tree
	locked := false // a rule_lock answered TAKE_OVER on this walk
	for i, steps := t.root, 0; i >= 0 && steps < len(t.nodes); steps++ {
		n := &t.nodes[i]
		v := vAllow
		switch n.kind {
		case kindLock:
			if req.TodayDraws < n.lock {
				v, locked = vTakeOver, true
				if sim != nil {
					sim.out[pos].locked++
				}
			}
		case kindStock:
			ok, gen, err := e.stockNode(ctx, a, req.Hold, sim)
			if err != nil {
				return Result{}, err
			}
			if sim != nil {
				sim.stockAnswer(pos, ok)
			}
			if ok {
				v = vTakeOver
				res.AwardID, res.Node = a.AwardID, NodeStock
				res.StockTaken = sim == nil
				if res.StockTaken {
					res.StockKey, res.StockGen = a.cell.key, gen
				}
				res.Amount, res.HasAmount = money.Amount{}, false
			}
		case kindLuck:
			v = vTakeOver
			res.AwardID, res.Node, res.StockTaken = n.luck.AwardID, NodeLuckAward, false
			res.Amount, res.HasAmount = luckAmount(n.luck)
		}
		i = n.next[v]
	}
	// Whatever the tree says (one stored before validation refused incomplete
	// trees), the drawn award is given only with its stock taken when the tree
	// limits stock, and never while locked. Otherwise the tree's luck award
	// stands in, or, without one, the raffle fails. (A unit taken for a locked
	// award stays taken: undersell, never oversell.)
	if (res.Node == "" && (t.hasStock || locked)) || (res.Node == NodeStock && locked) {
		if t.luck < 0 {
			return Result{}, fmt.Errorf("strategy[%d] award[%d] tree %q: %w", s.id, a.AwardID, t.id, ErrNoAward)
		}
		l := t.nodes[t.luck].luck
		res.AwardID, res.Node, res.StockTaken = l.AwardID, NodeLuckAward, false
		res.Amount, res.HasAmount = luckAmount(l)
	}
	if sim != nil && res.Node == NodeLuckAward {
		sim.out[pos].luck++
	}
	if res.AwardID == a.AwardID {
		res.Title, res.Sort = a.Title, a.Sort
	} else {
		s.describe(&res)
	}
	return res, nil
}

// stockNode answers the rule_stock node: a real take, or in a simulation a
// comparison of the counter's value (read once) with the count; a simulation
// that uses up stock counts its own takes on top of that value.
func (e *Engine) stockNode(ctx context.Context, a *armedAward, hold func(context.Context, string) (int64, error), sim *simState) (bool, int64, error) {
	if sim == nil {
		return e.take(ctx, a, hold)
	}
	taken, ok := sim.taken[a.cell]
	if !ok {
		var err error
		if taken, err = e.takenNow(ctx, a.cell); err != nil {
			return false, 0, err
		}
		sim.taken[a.cell] = taken
	}
	left := taken < a.Count
	if left && sim.useStock {
		sim.taken[a.cell] = taken + 1
	}
	return left, 0, nil
}

// luckAmount draws a credit amount uniformly over the hundredths of [Min, Max].
// A luck award without a range (Min = Max = 0) has no amount.
func luckAmount(l LuckAward) (money.Amount, bool) {
	lo, hi := l.Min.Cents(), l.Max.Cents()
	if lo == 0 && hi == 0 {
		return money.Amount{}, false
	}
	return money.FromCents(lo + rand.Int64N(hi-lo+1)), true
}

// describe fills Title and Sort from the strategy's table row of res.AwardID.
func (s *armed) describe(res *Result) {
	if pos, ok := s.index[res.AwardID]; ok {
		res.Title, res.Sort = s.awards[pos].Title, s.awards[pos].Sort
	} else {
		res.Title, res.Sort = "", 0
	}
}

// draw runs the chain: it returns the drawn position and the deciding rule, or
// for rule_blacklist the blacklist award (position -1).
func (s *armed) draw(req Request) (pos int, rule string, blackAward int64) {
	var g *armedGroup
	rule, g, blackAward = s.chainStep(req)
	switch {
	case blackAward != 0:
		return -1, rule, blackAward
	case g != nil:
		return g.pos[g.table.Sample()], rule, 0
	}
	return s.table.Sample(), rule, 0
}

// chainStep returns the chain step that decides a request: rule_blacklist
// with its award, rule_weight with its group, or the default draw.
func (s *armed) chainStep(req Request) (rule string, g *armedGroup, blackAward int64) {
	for i := range s.chain {
		step := &s.chain[i]
		switch step.model {
		case RuleBlacklist:
			if _, ok := step.blacklist[req.UserID]; ok {
				return string(RuleBlacklist), nil, step.blackAt
			}
		case RuleWeight:
			if g := s.weightGroup(req.TotalDraws); g != nil {
				return string(RuleWeight), g, 0
			}
		}
	}
	return RuleDefault, nil, 0
}

// weightGroup returns the rule_weight group for a draw count, or nil.
func (s *armed) weightGroup(total int64) *armedGroup {
	var found *armedGroup
	for i := range s.weight { // sorted by threshold
		g := &s.weight[i]
		if g.group.Threshold > total {
			break
		}
		found = g
	}
	if found != nil && s.weightAt == WeightEqual && found.group.Threshold != total {
		return nil
	}
	return found
}

// Awards returns the awards of an armed strategy sorted by Sort (table order among
// equal sorts), with each tree's rule_lock count. ErrNotArmed for an unknown
// strategy.
func (e *Engine) Awards(strategyID int64) ([]AwardView, error) {
	s, err := e.strategy(strategyID)
	if err != nil {
		return nil, fmt.Errorf("awards: %w", err)
	}
	out := make([]AwardView, len(s.awards))
	for i, a := range s.awards {
		out[i] = AwardView{AwardID: a.AwardID, Title: a.Title, Subtitle: a.Subtitle, Sort: a.Sort, Rate: a.Rate, Count: a.Count, Image: a.Image}
		if a.tree != nil {
			out[i].LockCount = a.tree.lockCount
		}
	}
	slices.SortStableFunc(out, func(x, y AwardView) int { return cmp.Compare(x.Sort, y.Sort) })
	return out, nil
}

// WeightGroups returns the rule_weight groups of an armed strategy sorted by
// threshold. ErrNotArmed for an unknown strategy; ErrWeightNotConfigured when it
// has no rule_weight. WeightMatch tells how a group is picked.
func (e *Engine) WeightGroups(strategyID int64) ([]WeightGroup, error) {
	s, err := e.strategy(strategyID)
	if err != nil {
		return nil, fmt.Errorf("weight groups: %w", err)
	}
	if !s.hasWeight {
		return nil, fmt.Errorf("weight groups: strategy[%d]: %w", strategyID, ErrWeightNotConfigured)
	}
	out := make([]WeightGroup, len(s.weight))
	for i, g := range s.weight {
		out[i] = g.group
		out[i].AwardIDs = slices.Clone(g.group.AwardIDs)
	}
	return out, nil
}

// WeightMatch returns how an armed strategy's rule_weight picks a group
// (WeightEqual or WeightAtLeast). ErrNotArmed for an unknown strategy.
func (e *Engine) WeightMatch(strategyID int64) (WeightMatch, error) {
	s, err := e.strategy(strategyID)
	if err != nil {
		return "", fmt.Errorf("weight match: %w", err)
	}
	return s.weightAt, nil
}
