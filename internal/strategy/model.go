package strategy

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/bigmarket/bigmarket/internal/money"
)

// Errors returned by the parsers and by the engine. Callers branch on them with
// errors.Is; the HTTP layer maps them to codes.
var (
	// ErrInvalidRule reports a malformed rule value, rate or tree.
	ErrInvalidRule = errors.New("strategy: invalid rule")
	// ErrNotArmed is returned for a strategy that is not assembled in the engine.
	ErrNotArmed = errors.New("strategy: strategy not assembled")
	// ErrWeightNotConfigured is returned when a strategy has no rule_weight.
	ErrWeightNotConfigured = errors.New("strategy: rule_weight not configured")
)

// RateScale is the number of rate units in 1: rates have at most 6 fraction digits.
const RateScale = 1_000_000

// Rate is an award's draw weight in millionths (RateScale = 1). Rates of a strategy
// are relative weights: they need not add up to RateScale.
type Rate int64

// ParseRate reads a rate such as "0.3" or "1". It must lie in (0, 1] and have at
// most 6 fraction digits; anything else returns an error wrapping ErrInvalidRule.
func ParseRate(s string) (Rate, error) {
	intPart, frac, hasDot := strings.Cut(strings.TrimSpace(s), ".")
	if intPart == "" || len(frac) > 6 || (hasDot && frac == "") || !isDigits(intPart) || !isDigits(frac) || len(intPart) > 1 {
		return 0, fmt.Errorf("%w: rate %q: want a decimal in (0,1] with at most 6 fraction digits", ErrInvalidRule, s)
	}
	whole := int64(intPart[0] - '0')
	for len(frac) < 6 {
		frac += "0"
	}
	f, _ := strconv.ParseInt(frac, 10, 64)
	r := Rate(whole*RateScale + f)
	if r <= 0 || r > RateScale {
		return 0, fmt.Errorf("%w: rate %q: want a decimal in (0,1]", ErrInvalidRule, s)
	}
	return r, nil
}

// String formats the rate with the fraction digits it needs, e.g. "0.0099" or "1".
func (r Rate) String() string {
	s := fmt.Sprintf("%d.%06d", int64(r)/RateScale, int64(r)%RateScale)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// RuleModel names a strategy-level rule.
type RuleModel string

// Strategy-level rule models, evaluated as a chain in the order a strategy lists them.
const (
	RuleBlacklist RuleModel = "rule_blacklist"
	RuleWeight    RuleModel = "rule_weight"
)

// WeightMatch says how rule_weight picks a group from the user's draw count.
type WeightMatch string

// Weight match modes. The zero value means WeightEqual.
const (
	// WeightEqual uses the group whose threshold equals the draw count.
	WeightEqual WeightMatch = "equal"
	// WeightAtLeast uses the group with the largest threshold ≤ the draw count.
	WeightAtLeast WeightMatch = "at_least"
)

// Strategy is a prize table: awards with rates, stock and rule trees, plus
// strategy-level rules.
type Strategy struct {
	ID          int64
	Desc        string
	Rules       []Rule      // strategy-level rules in chain order
	WeightMatch WeightMatch // zero means WeightEqual
	Awards      []Award
}

// Rule is one strategy-level rule with its unparsed value.
type Rule struct {
	Model RuleModel
	Value string
	Desc  string
}

// Award is one row of a strategy's prize table.
type Award struct {
	AwardID  int64
	Title    string
	Subtitle string
	Count    int64 // stock the strategy may issue of this award
	Surplus  int64 // stock left as last synced to the database (informational)
	Rate     Rate
	TreeID   string // rule tree run after the award is drawn; empty means none
	Sort     int    // display index, answered as awardIndex
	// Image is the prize's picture for pages: a path on the server's own
	// origin ("/…") or a data: URL; empty means the page's icon for the
	// award's kind.
	Image string
}

// Blacklist is a parsed rule_blacklist value "AWARD:u1,u2,…".
type Blacklist struct {
	AwardID int64
	Users   []string
}

// ParseBlacklist parses a rule_blacklist value.
func ParseBlacklist(v string) (Blacklist, error) {
	award, users, ok := strings.Cut(strings.TrimSpace(v), ":")
	id, err := strconv.ParseInt(award, 10, 64)
	if !ok || err != nil || id <= 0 || strings.TrimSpace(users) == "" {
		return Blacklist{}, fmt.Errorf("%w: rule_blacklist %q: want AWARD:user1,user2", ErrInvalidRule, v)
	}
	b := Blacklist{AwardID: id}
	for _, u := range strings.Split(users, ",") {
		u = strings.TrimSpace(u)
		if u == "" {
			return Blacklist{}, fmt.Errorf("%w: rule_blacklist %q: empty user id", ErrInvalidRule, v)
		}
		b.Users = append(b.Users, u)
	}
	return b, nil
}

// WeightGroup is one group of a rule_weight value: Threshold draws unlock a draw
// from AwardIDs only.
type WeightGroup struct {
	Threshold int64
	AwardIDs  []int64
	Key       string // the group as written, e.g. "60:102,103"
}

// ParseWeight parses a rule_weight value "N:a,b M:c,d" into groups sorted by
// threshold. Thresholds must be positive and distinct.
func ParseWeight(v string) ([]WeightGroup, error) {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return nil, fmt.Errorf("%w: rule_weight %q: want N:a,b M:c,d", ErrInvalidRule, v)
	}
	seen := map[int64]bool{}
	groups := make([]WeightGroup, 0, len(fields))
	for _, f := range fields {
		n, list, ok := strings.Cut(f, ":")
		t, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil || t <= 0 || list == "" {
			return nil, fmt.Errorf("%w: rule_weight group %q: want N:a,b with N > 0", ErrInvalidRule, f)
		}
		if seen[t] {
			return nil, fmt.Errorf("%w: rule_weight group %q: threshold %d repeated", ErrInvalidRule, f, t)
		}
		seen[t] = true
		g := WeightGroup{Threshold: t, Key: f}
		for _, a := range strings.Split(list, ",") {
			id, err := strconv.ParseInt(a, 10, 64)
			if err != nil || id <= 0 {
				return nil, fmt.Errorf("%w: rule_weight group %q: award %q is not an id", ErrInvalidRule, f, a)
			}
			g.AwardIDs = append(g.AwardIDs, id)
		}
		groups = append(groups, g)
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Threshold < groups[j].Threshold })
	return groups, nil
}

// NodeKey names a rule tree node kind.
type NodeKey string

// Rule tree node kinds.
const (
	NodeLock      NodeKey = "rule_lock"
	NodeStock     NodeKey = "rule_stock"
	NodeLuckAward NodeKey = "rule_luck_award"
)

// Verdict is a tree node's answer.
type Verdict string

// Node answers.
const (
	Allow    Verdict = "ALLOW"
	TakeOver Verdict = "TAKE_OVER"
)

// Tree is a per-award decision tree run after the draw.
type Tree struct {
	ID    string
	Name  string
	Desc  string
	Root  NodeKey
	Nodes []Node
	Lines []Line
}

// Node is one node of a rule tree; a tree has at most one node of each kind.
type Node struct {
	Key   NodeKey
	Value string
	Desc  string
}

// Line leads from one node to the next when the first answers When.
type Line struct {
	From NodeKey
	To   NodeKey
	When Verdict
}

// ParseLock parses a rule_lock value: the number of today's draws (counting the
// current one) that unlocks the award. It must be a positive integer.
func ParseLock(v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: rule_lock %q: want a positive count", ErrInvalidRule, v)
	}
	return n, nil
}

// LuckAward is a parsed rule_luck_award value "AWARD:min,max": the fallback award
// and the range of the random credit amount passed on to delivery.
type LuckAward struct {
	AwardID int64
	Min     money.Amount
	Max     money.Amount
}

// ParseLuckAward parses a rule_luck_award value. A value with only an award id
// ("101") has an empty range (Min = Max = 0).
func ParseLuckAward(v string) (LuckAward, error) {
	award, rng, hasRange := strings.Cut(strings.TrimSpace(v), ":")
	id, err := strconv.ParseInt(award, 10, 64)
	if err != nil || id <= 0 {
		return LuckAward{}, fmt.Errorf("%w: rule_luck_award %q: want AWARD:min,max", ErrInvalidRule, v)
	}
	l := LuckAward{AwardID: id}
	if !hasRange {
		return l, nil
	}
	lo, hi, ok := strings.Cut(rng, ",")
	minA, err1 := money.Parse(strings.TrimSpace(lo))
	maxA, err2 := money.Parse(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil || minA.IsNegative() || minA.Cmp(maxA) > 0 {
		return LuckAward{}, fmt.Errorf("%w: rule_luck_award %q: want AWARD:min,max with 0 ≤ min ≤ max", ErrInvalidRule, v)
	}
	l.Min, l.Max = minA, maxA
	return l, nil
}

// Check validates a tree on its own: known node kinds, parsable values, a root
// that exists, lines between existing nodes with a known verdict, at most one line
// per node and verdict, no cycles.
// Award references are checked by the caller, which knows the awards.
func (t Tree) Check() []error {
	var errs []error
	nodes := map[NodeKey]bool{}
	for _, n := range t.Nodes {
		if nodes[n.Key] {
			errs = append(errs, fmt.Errorf("%w: node %q appears twice", ErrInvalidRule, n.Key))
		}
		nodes[n.Key] = true
		var err error
		switch n.Key {
		case NodeLock:
			_, err = ParseLock(n.Value)
		case NodeLuckAward:
			_, err = ParseLuckAward(n.Value)
		case NodeStock:
		default:
			err = fmt.Errorf("%w: unknown node kind %q", ErrInvalidRule, n.Key)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if !nodes[t.Root] {
		errs = append(errs, fmt.Errorf("%w: root %q is not a node of the tree", ErrInvalidRule, t.Root))
	}
	next := map[NodeKey][]NodeKey{}
	type fromWhen struct {
		from NodeKey
		when Verdict
	}
	outgoing := map[fromWhen]bool{}
	for _, l := range t.Lines {
		if outgoing[fromWhen{l.From, l.When}] {
			errs = append(errs, fmt.Errorf("%w: two lines leave %q when %s", ErrInvalidRule, l.From, l.When))
		}
		outgoing[fromWhen{l.From, l.When}] = true
		if !nodes[l.From] {
			errs = append(errs, fmt.Errorf("%w: line from missing node %q", ErrInvalidRule, l.From))
		}
		if !nodes[l.To] {
			errs = append(errs, fmt.Errorf("%w: line to missing node %q", ErrInvalidRule, l.To))
		}
		if l.When != Allow && l.When != TakeOver {
			errs = append(errs, fmt.Errorf("%w: line %s→%s: when %q is not ALLOW or TAKE_OVER", ErrInvalidRule, l.From, l.To, l.When))
		}
		next[l.From] = append(next[l.From], l.To)
	}
	// Cycle detection by depth-first search over the line graph.
	const (
		unseen = iota
		active
		done
	)
	state := map[NodeKey]int{}
	var visit func(NodeKey) bool
	visit = func(k NodeKey) bool {
		switch state[k] {
		case active:
			return true
		case done:
			return false
		}
		state[k] = active
		for _, n := range next[k] {
			if visit(n) {
				return true
			}
		}
		state[k] = done
		return false
	}
	for _, n := range t.Nodes {
		if visit(n.Key) {
			errs = append(errs, fmt.Errorf("%w: lines form a cycle through %q", ErrInvalidRule, n.Key))
			break
		}
	}
	return errs
}
