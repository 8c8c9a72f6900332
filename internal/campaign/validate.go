package campaign

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // campaign time zones (Asia/Shanghai, …) load on machines without zoneinfo
	"unicode/utf8"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// ErrInvalid is what Problems unwraps to: a campaign file that cannot be applied.
var ErrInvalid = errors.New("campaign: invalid file")

// FileVersion is the only campaign file version this package reads and writes.
const FileVersion = 1

// Problem is one thing wrong with a campaign file. Path locates it in the file's
// structure, e.g. "strategies[2].awards[0].tree"; it is empty for problems of the
// whole file (a syntax error). Line and Column (1-based) place it in the file's
// text (the column in characters): a syntax error carries the parser's position; ValidateBytes and Apply
// locate every other problem from its Path (see Problems.Locate); 0 means not
// located.
type Problem struct {
	Path    string
	Message string
	Line    int
	Column  int
}

// String formats the problem as "path: message" (just the message without a path).
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// Problems lists every problem found in a campaign file, in file order. A nil or
// empty Problems means the file is valid. Use Err to get an error value.
type Problems []Problem

// Strings returns each problem formatted as "path: message". It never returns nil,
// so that an empty list encodes as [] in JSON.
func (ps Problems) Strings() []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// Error joins the problems: "campaign: invalid file: p1; p2; …".
func (ps Problems) Error() string {
	return ErrInvalid.Error() + ": " + strings.Join(ps.Strings(), "; ")
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (ps Problems) Unwrap() error { return ErrInvalid }

// Err returns ps as an error, or nil when there are no problems. (A nil Problems
// converted to error directly would not compare equal to nil.)
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// validator collects problems while converting a File.
type validator struct {
	problems Problems
}

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// ruleMsg strips the strategy package's sentinel prefix from a parser error: the
// path already says where the rule is.
func ruleMsg(err error) string {
	return strings.TrimPrefix(err.Error(), strategy.ErrInvalidRule.Error()+": ")
}

// positiveID checks a numeric id; it reports whether the id is usable.
func (v *validator) positiveID(path string, id int64) bool {
	switch {
	case id == 0:
		v.add(path, "missing; want a positive id")
	case id < 0:
		v.add(path, "want a positive id, got %d", id)
	default:
		return true
	}
	return false
}

// text reports an empty required string or text that is not UTF-8.
func (v *validator) text(path, s string, required bool) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.add(path, "missing")
	case !utf8.ValidString(s):
		v.add(path, "not valid UTF-8")
	}
}

// enum checks that s is one of allowed; empty is reported as missing.
func (v *validator) enum(path, s string, allowed ...string) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	want := strings.Join(allowed, ", ")
	if s == "" {
		v.add(path, "missing; want one of %s", want)
	} else {
		v.add(path, "unknown value %q; want one of %s", s, want)
	}
	return false
}

func (v *validator) nonNegative(path string, n int64) {
	if n < 0 {
		v.add(path, "must not be negative, got %d", n)
	}
}

func (v *validator) positive(path string, n int64) {
	if n <= 0 {
		v.add(path, "must be positive, got %d", n)
	}
}

// firstSeen records key at path and reports a duplicate of an earlier row.
func firstSeen[K comparable](v *validator, seen map[K]string, key K, path, what string) bool {
	if first, dup := seen[key]; dup {
		v.add(path, "duplicate %s (first at %s)", what, first)
		return false
	}
	seen[key] = path
	return true
}

// index returns a row path such as "awards[3]".
func index(section string, i int) string { return section + "[" + strconv.Itoa(i) + "]" }

// Validate checks f and converts it to a Campaign. It reports every problem it
// finds, each with its path in the file; when there is any, the returned Campaign is
// nil. Rebates and stages without an id get their 1-based position in their list
// (the first rebate is 1); an explicit id that collides with such a position is a
// duplicate. Beyond the checks of DESIGN §7, an activity must have a strategy of
// its own (activities and strategies are bound 1:1), every award of a rule_weight
// group must be in that strategy's prize table (its rate comes from there), and two
// lines of a tree may not leave one node on the same answer. Strategy award surpluses and SKU surpluses are set to their count and
// stock (what a fresh apply starts with). Times are converted to the campaign time
// zone.
func Validate(f *File) (*Campaign, Problems) {
	if f == nil {
		return nil, Problems{{Message: "empty campaign file"}}
	}
	v := &validator{}
	c := &Campaign{Version: f.Version}

	if f.Version != FileVersion {
		if f.Version == 0 {
			v.add("version", "missing; want %d", FileVersion)
		} else {
			v.add("version", "unsupported version %d; want %d", f.Version, FileVersion)
		}
	}
	if f.Timezone != "" {
		loc, err := time.LoadLocation(f.Timezone)
		if err != nil || !utf8.ValidString(f.Timezone) {
			v.add("timezone", "unknown time zone %q", f.Timezone)
		} else {
			c.Timezone = loc
		}
	}

	awards := v.awards(f, c)
	trees := v.trees(f, c, awards)
	strategies := v.strategies(f, c, awards, trees)
	activities := v.activities(f, c, strategies)
	counts := v.counts(f, c)
	skus := v.skus(f, c, activities, counts)
	v.rebates(f, c, skus)
	v.stages(f, c, activities)
	v.grants(f, c, activities)

	if len(v.problems) > 0 {
		return nil, v.problems
	}
	return c, nil
}

func (v *validator) awards(f *File, c *Campaign) map[int64]bool {
	known := map[int64]bool{}
	seen := map[int64]string{}
	for i, r := range f.Awards {
		p := index("awards", i)
		if v.positiveID(p+".id", r.ID) && firstSeen(v, seen, r.ID, p+".id", fmt.Sprintf("award id %d", r.ID)) {
			known[r.ID] = true
		}
		v.text(p+".key", r.Key, true)
		v.text(p+".desc", r.Desc, false)
		cfg := string(r.Config)
		v.text(p+".config", cfg, false)
		switch award.Key(r.Key) {
		case award.KeyCreditRandom:
			if !creditRange(cfg) {
				v.add(p+".config", "want a credit range \"min,max\" with 0 ≤ min ≤ max, got %q", cfg)
			}
		case award.KeyCreditBlacklist:
			if a, err := money.Parse(cfg); err != nil || !a.IsPositive() {
				v.add(p+".config", "want a positive credit amount, got %q", cfg)
			}
		}
		c.Awards = append(c.Awards, award.Award{ID: r.ID, Key: award.Key(r.Key), Config: cfg, Desc: r.Desc})
	}
	return known
}

// creditRange reports whether s is "min,max" with 0 ≤ min ≤ max.
func creditRange(s string) bool {
	lo, hi, ok := strings.Cut(s, ",")
	if !ok {
		return false
	}
	minA, err1 := money.Parse(strings.TrimSpace(lo))
	maxA, err2 := money.Parse(strings.TrimSpace(hi))
	return err1 == nil && err2 == nil && !minA.IsNegative() && minA.Cmp(maxA) <= 0
}

func (v *validator) trees(f *File, c *Campaign, awards map[int64]bool) map[string]bool {
	known := map[string]bool{}
	seen := map[string]string{}
	for i, r := range f.Trees {
		p := index("rule_trees", i)
		before := len(v.problems)
		v.text(p+".id", r.ID, true)
		if r.ID != "" && firstSeen(v, seen, r.ID, p+".id", fmt.Sprintf("rule tree id %q", r.ID)) {
			known[r.ID] = true
		}
		v.text(p+".name", r.Name, false)
		v.text(p+".desc", r.Desc, false)
		t := strategy.Tree{ID: r.ID, Name: r.Name, Desc: r.Desc, Root: strategy.NodeKey(r.Root)}

		nodes := map[string]string{}
		for j, n := range r.Nodes {
			np := index(p+".nodes", j)
			val := string(n.Value)
			v.text(np+".desc", n.Desc, false)
			if v.enum(np+".key", n.Key, string(strategy.NodeLock), string(strategy.NodeStock), string(strategy.NodeLuckAward)) {
				firstSeen(v, nodes, n.Key, np+".key", fmt.Sprintf("node %q", n.Key))
			}
			switch strategy.NodeKey(n.Key) {
			case strategy.NodeLock:
				if _, err := strategy.ParseLock(val); err != nil {
					v.add(np+".value", "%s", ruleMsg(err))
				}
			case strategy.NodeLuckAward:
				if l, err := strategy.ParseLuckAward(val); err != nil {
					v.add(np+".value", "%s", ruleMsg(err))
				} else if !awards[l.AwardID] {
					v.add(np+".value", "unknown award %d", l.AwardID)
				}
			case strategy.NodeStock:
				if val != "" {
					v.add(np+".value", "rule_stock takes no value, got %q", val)
				}
			}
			t.Nodes = append(t.Nodes, strategy.Node{Key: strategy.NodeKey(n.Key), Value: val, Desc: n.Desc})
		}

		switch _, ok := nodes[r.Root]; {
		case r.Root == "":
			v.add(p+".root", "missing")
		case !ok:
			v.add(p+".root", "root %q is not a node of the tree", r.Root)
		}

		type exit struct{ from, when string }
		exits := map[exit]string{}
		for k, l := range r.Lines {
			lp := index(p+".lines", k)
			if _, ok := nodes[l.From]; !ok {
				v.add(lp+".from", "unknown node %q", l.From)
			}
			if _, ok := nodes[l.To]; !ok {
				v.add(lp+".to", "unknown node %q", l.To)
			}
			if v.enum(lp+".when", l.When, string(strategy.Allow), string(strategy.TakeOver)) {
				firstSeen(v, exits, exit{l.From, l.When}, lp, fmt.Sprintf("line from %q when %s", l.From, l.When))
			}
			t.Lines = append(t.Lines, strategy.Line{From: strategy.NodeKey(l.From), To: strategy.NodeKey(l.To), When: strategy.Verdict(l.When)})
		}

		// The tree's own check has the last word (cycles, anything the row checks
		// above do not cover). Run it only on an otherwise clean tree so that a
		// problem is not reported twice.
		if len(v.problems) == before {
			for _, err := range t.Check() {
				v.add(p+".lines", "%s", ruleMsg(err))
			}
		}
		if len(v.problems) == before {
			v.treeWalks(p, t)
		}
		c.Trees = append(c.Trees, t)
	}
	return known
}

func (v *validator) strategies(f *File, c *Campaign, awards map[int64]bool, trees map[string]bool) map[int64]bool {
	known := map[int64]bool{}
	seen := map[int64]string{}
	for i, r := range f.Strategies {
		p := index("strategies", i)
		if v.positiveID(p+".id", r.ID) && firstSeen(v, seen, r.ID, p+".id", fmt.Sprintf("strategy id %d", r.ID)) {
			known[r.ID] = true
		}
		v.text(p+".desc", r.Desc, false)
		if r.WeightMatch != "" {
			v.enum(p+".weight_match", r.WeightMatch, string(strategy.WeightEqual), string(strategy.WeightAtLeast))
		}
		s := strategy.Strategy{ID: r.ID, Desc: r.Desc, WeightMatch: strategy.WeightMatch(r.WeightMatch)}

		if len(r.Awards) == 0 {
			v.add(p+".awards", "a strategy needs at least one award")
		}
		inTable := map[int64]string{}
		for j, a := range r.Awards {
			ap := index(p+".awards", j)
			switch {
			case a.Award <= 0:
				v.positiveID(ap+".award", a.Award)
			case !awards[a.Award]:
				v.add(ap+".award", "unknown award %d", a.Award)
			default:
				firstSeen(v, inTable, a.Award, ap+".award", fmt.Sprintf("award %d in the strategy", a.Award))
			}
			v.text(ap+".title", a.Title, false)
			v.text(ap+".subtitle", a.Subtitle, false)
			v.image(ap+".image", a.Image)
			v.nonNegative(ap+".count", a.Count)
			if a.Sort < 0 {
				v.add(ap+".sort", "must not be negative, got %d", a.Sort)
			}
			var rate strategy.Rate
			if a.Rate == "" {
				v.add(ap+".rate", "missing; want a decimal in (0,1]")
			} else if r, err := strategy.ParseRate(string(a.Rate)); err != nil {
				v.add(ap+".rate", "%s", ruleMsg(err))
			} else {
				rate = r
			}
			if a.Tree != "" && !trees[a.Tree] {
				v.add(ap+".tree", "unknown rule tree %q", a.Tree)
			}
			s.Awards = append(s.Awards, strategy.Award{
				AwardID: a.Award, Title: a.Title, Subtitle: a.Subtitle,
				Count: a.Count, Surplus: a.Count, Rate: rate, TreeID: a.Tree, Sort: a.Sort, Image: a.Image,
			})
		}

		models := map[string]string{}
		for j, rule := range r.Rules {
			rp := index(p+".rules", j)
			val := string(rule.Value)
			v.text(rp+".desc", rule.Desc, false)
			if v.enum(rp+".model", rule.Model, string(strategy.RuleBlacklist), string(strategy.RuleWeight)) {
				firstSeen(v, models, rule.Model, rp+".model", fmt.Sprintf("rule %s", rule.Model))
			}
			switch strategy.RuleModel(rule.Model) {
			case strategy.RuleBlacklist:
				b, err := strategy.ParseBlacklist(val)
				switch {
				case err != nil:
					v.add(rp+".value", "%s", ruleMsg(err))
				case !awards[b.AwardID]:
					v.add(rp+".value", "unknown award %d", b.AwardID)
				}
			case strategy.RuleWeight:
				groups, err := strategy.ParseWeight(val)
				if err != nil {
					v.add(rp+".value", "%s", ruleMsg(err))
				}
				for _, g := range groups {
					for _, id := range g.AwardIDs {
						switch {
						case !awards[id]:
							v.add(rp+".value", "group %q: unknown award %d", g.Key, id)
						case inTable[id] == "":
							v.add(rp+".value", "group %q: award %d is not in the strategy's awards", g.Key, id)
						}
					}
				}
			}
			s.Rules = append(s.Rules, strategy.Rule{Model: strategy.RuleModel(rule.Model), Value: val, Desc: rule.Desc})
		}
		c.Strategies = append(c.Strategies, s)
	}
	return known
}

// timeLayout is how activity times are written.
const timeLayout = time.RFC3339Nano

func (v *validator) activities(f *File, c *Campaign, strategies map[int64]bool) map[int64]bool {
	known := map[int64]bool{}
	seen := map[int64]string{}
	bound := map[int64]string{}
	for i, r := range f.Activities {
		p := index("activities", i)
		if v.positiveID(p+".id", r.ID) && firstSeen(v, seen, r.ID, p+".id", fmt.Sprintf("activity id %d", r.ID)) {
			known[r.ID] = true
		}
		v.text(p+".name", r.Name, false)
		v.text(p+".desc", r.Desc, false)
		switch {
		case r.Strategy <= 0:
			v.positiveID(p+".strategy", r.Strategy)
		case !strategies[r.Strategy]:
			v.add(p+".strategy", "unknown strategy %d", r.Strategy)
		default:
			if first, dup := bound[r.Strategy]; dup {
				v.add(p+".strategy", "strategy %d is already bound to %s; an activity has its own strategy", r.Strategy, first)
			} else {
				bound[r.Strategy] = p
			}
		}
		v.enum(p+".state", r.State, string(activity.StateCreate), string(activity.StateOpen), string(activity.StateClose))
		begin, okB := v.time(p+".begin", r.Begin, c.Timezone)
		end, okE := v.time(p+".end", r.End, c.Timezone)
		if okB && okE && end.Before(begin) {
			v.add(p+".end", "end %s is before begin %s", r.End, r.Begin)
		}
		c.Activities = append(c.Activities, activity.Activity{
			ID: r.ID, Name: r.Name, Desc: r.Desc, StrategyID: r.Strategy,
			State: activity.State(r.State), Begin: begin, End: end,
		})
	}
	return known
}

// time parses an RFC 3339 time and converts it to loc (when not nil).
func (v *validator) time(path, s string, loc *time.Location) (time.Time, bool) {
	if s == "" {
		v.add(path, "missing; want an RFC 3339 time such as 2024-03-09T10:15:10+08:00")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		v.add(path, "want an RFC 3339 time such as 2024-03-09T10:15:10+08:00, got %q", s)
		return time.Time{}, false
	}
	if loc != nil {
		t = t.In(loc)
	}
	if y := t.Year(); y < 1 || y > 9999 {
		v.add(path, "year %d is out of range", y)
		return time.Time{}, false
	}
	return t, true
}

func (v *validator) counts(f *File, c *Campaign) map[int64]bool {
	known := map[int64]bool{}
	seen := map[int64]string{}
	for i, r := range f.Counts {
		p := index("counts", i)
		if v.positiveID(p+".id", r.ID) && firstSeen(v, seen, r.ID, p+".id", fmt.Sprintf("count id %d", r.ID)) {
			known[r.ID] = true
		}
		v.positive(p+".total", r.Total)
		v.positive(p+".day", r.Day)
		v.positive(p+".month", r.Month)
		c.Counts = append(c.Counts, activity.Count{ID: r.ID, Total: r.Total, Day: r.Day, Month: r.Month})
	}
	return known
}

func (v *validator) skus(f *File, c *Campaign, activities, counts map[int64]bool) map[int64]bool {
	known := map[int64]bool{}
	seen := map[int64]string{}
	for i, r := range f.SKUs {
		p := index("skus", i)
		if v.positiveID(p+".sku", r.SKU) && firstSeen(v, seen, r.SKU, p+".sku", fmt.Sprintf("SKU %d", r.SKU)) {
			known[r.SKU] = true
		}
		if v.positiveID(p+".activity", r.Activity) && !activities[r.Activity] {
			v.add(p+".activity", "unknown activity %d", r.Activity)
		}
		if v.positiveID(p+".count", r.Count) && !counts[r.Count] {
			v.add(p+".count", "unknown count %d", r.Count)
		}
		v.nonNegative(p+".stock", r.Stock)
		var price money.Amount
		switch a, err := money.Parse(string(r.Price)); {
		case r.Price == "":
			v.add(p+".price", "missing; want a credit amount such as \"5.00\"")
		case err != nil:
			v.add(p+".price", "want a credit amount with at most 2 fraction digits, got %q", string(r.Price))
		case a.IsNegative():
			v.add(p+".price", "must not be negative, got %s", a)
		default:
			price = a
		}
		c.SKUs = append(c.SKUs, activity.SKU{
			SKU: r.SKU, ActivityID: r.Activity, CountID: r.Count,
			Stock: r.Stock, Surplus: r.Stock, Price: price,
		})
	}
	return known
}

// rowID returns a row's explicit id, or its 1-based position when it has none.
func (v *validator) rowID(path string, id int64, i int) (int64, string) {
	if id == 0 {
		return int64(i + 1), fmt.Sprintf("id %d (assigned from the row's position)", i+1)
	}
	if id < 0 {
		v.add(path, "want a positive id, got %d", id)
	}
	return id, fmt.Sprintf("id %d", id)
}

func (v *validator) rebates(f *File, c *Campaign, skus map[int64]bool) {
	seen := map[int64]string{}
	// A rebate order's biz id is user_type_outBusinessNo: two open rules of one
	// behaviour with the same type would collide, and nobody could be rebated.
	openTypes := map[[2]string]string{}
	for i, r := range f.Rebates {
		p := index("rebates", i)
		if r.State == string(rebate.StateOpen) {
			k := [2]string{r.Behavior, r.Type}
			if first, ok := openTypes[k]; ok {
				v.add(p+".type", "behaviour %q already has an open %s rebate (%s): one open rule per behaviour and type", r.Behavior, r.Type, first)
			} else {
				openTypes[k] = p
			}
		}
		id, what := v.rowID(p+".id", r.ID, i)
		if id > 0 {
			firstSeen(v, seen, id, p+".id", what)
		}
		v.text(p+".behavior", r.Behavior, true)
		v.text(p+".desc", r.Desc, false)
		cfg := string(r.Config)
		v.text(p+".config", cfg, false)
		if v.enum(p+".type", r.Type, string(rebate.TypeIntegral), string(rebate.TypeSKU)) {
			switch rebate.Type(r.Type) {
			case rebate.TypeIntegral:
				if a, err := money.Parse(cfg); err != nil || !a.IsPositive() {
					v.add(p+".config", "want a positive credit amount, got %q", cfg)
				}
			case rebate.TypeSKU:
				n, err := strconv.ParseInt(cfg, 10, 64)
				switch {
				case err != nil || n <= 0:
					v.add(p+".config", "want a SKU id, got %q", cfg)
				case !skus[n]:
					v.add(p+".config", "unknown SKU %d", n)
				}
			}
		}
		v.enum(p+".state", r.State, string(rebate.StateOpen), string(rebate.StateClose))
		c.Rebates = append(c.Rebates, rebate.Rule{
			ID: id, Behavior: r.Behavior, Type: rebate.Type(r.Type), Config: cfg, Desc: r.Desc, State: rebate.State(r.State),
		})
	}
}

func (v *validator) stages(f *File, c *Campaign, activities map[int64]bool) {
	seen := map[int64]string{}
	pairs := map[[2]string]string{}
	for i, r := range f.Stages {
		p := index("stages", i)
		id, what := v.rowID(p+".id", r.ID, i)
		if id > 0 {
			firstSeen(v, seen, id, p+".id", what)
		}
		v.text(p+".channel", r.Channel, true)
		v.text(p+".source", r.Source, true)
		if r.Channel != "" && r.Source != "" {
			firstSeen(v, pairs, [2]string{r.Channel, r.Source}, p, fmt.Sprintf("stage for channel %q source %q", r.Channel, r.Source))
		}
		if v.positiveID(p+".activity", r.Activity) && !activities[r.Activity] {
			v.add(p+".activity", "unknown activity %d", r.Activity)
		}
		v.enum(p+".state", r.State, string(activity.StageActive), string(activity.StageInactive))
		c.Stages = append(c.Stages, activity.Stage{
			ID: id, Channel: r.Channel, Source: r.Source, ActivityID: r.Activity, State: activity.StageState(r.State),
		})
	}
}

func (v *validator) grants(f *File, c *Campaign, activities map[int64]bool) {
	seen := map[string]string{}
	for i, r := range f.Grants {
		p := index("grants", i)
		v.text(p+".id", r.ID, true)
		if r.ID != "" {
			firstSeen(v, seen, r.ID, p+".id", fmt.Sprintf("grant id %q", r.ID))
		}
		v.text(p+".user", r.User, true)
		if v.positiveID(p+".activity", r.Activity) && !activities[r.Activity] {
			v.add(p+".activity", "unknown activity %d", r.Activity)
		}
		v.positive(p+".total", r.Total)
		v.nonNegative(p+".day", r.Day)
		v.nonNegative(p+".month", r.Month)
		c.Grants = append(c.Grants, activity.Grant{
			ID: r.ID, UserID: r.User, ActivityID: r.Activity, Total: r.Total, Day: r.Day, Month: r.Month,
		})
	}
}

// treeWalks refuses a tree that could hand out the drawn award when it must not
// (DESIGN §7): every rule_stock node needs an ALLOW line (stock empty) and every
// rule_lock node a TAKE_OVER line (still locked), each ending in a
// rule_luck_award; and no walk from the root may end with the drawn award
// without its stock taken (when the tree has a rule_stock node) or while locked.
// It runs on a tree that passed Tree.Check (known nodes, no cycle).
func (v *validator) treeWalks(p string, t strategy.Tree) {
	w := treeWalker{next: map[strategy.NodeKey]map[strategy.Verdict]strategy.NodeKey{}}
	for _, n := range t.Nodes {
		w.next[n.Key] = map[strategy.Verdict]strategy.NodeKey{}
		if n.Key == strategy.NodeStock {
			w.hasStock = true
		}
	}
	lineAt := map[strategy.NodeKey]map[strategy.Verdict]int{}
	for k, l := range t.Lines {
		w.next[l.From][l.When] = l.To
		if lineAt[l.From] == nil {
			lineAt[l.From] = map[strategy.Verdict]int{}
		}
		lineAt[l.From][l.When] = k
	}
	before := len(v.problems)
	for j, n := range t.Nodes {
		np := index(p+".nodes", j)
		switch n.Key {
		case strategy.NodeStock:
			to, ok := w.next[n.Key][strategy.Allow]
			if !ok {
				v.add(np, "rule_stock node has no ALLOW line (stock empty): add one to a rule_luck_award, or the drawn award is given without stock")
			} else if trail, why := w.unsafe(to, walkState{}); why != "" {
				v.add(index(p+".lines", lineAt[n.Key][strategy.Allow]), "the ALLOW line of rule_stock (stock empty) must end in a rule_luck_award: the walk %s %s", trail, why)
			}
		case strategy.NodeLock:
			to, ok := w.next[n.Key][strategy.TakeOver]
			if !ok {
				v.add(np, "rule_lock node has no TAKE_OVER line (still locked): add one to a rule_luck_award, or the locked award is given")
			} else if trail, why := w.unsafe(to, walkState{locked: true}); why != "" {
				v.add(index(p+".lines", lineAt[n.Key][strategy.TakeOver]), "the TAKE_OVER line of rule_lock (still locked) must end in a rule_luck_award: the walk %s %s", trail, why)
			}
		}
	}
	if len(v.problems) > before {
		return
	}
	if trail, why := w.unsafe(t.Root, walkState{}); why != "" {
		v.add(p+".lines", "the walk %s %s", trail, why)
	}
}

// treeWalker follows every walk a tree allows: a rule_lock or rule_stock node
// may answer either way, a rule_luck_award node answers TAKE_OVER.
type treeWalker struct {
	next     map[strategy.NodeKey]map[strategy.Verdict]strategy.NodeKey
	hasStock bool
}

// walkState is what a walk has decided so far.
type walkState struct {
	locked bool // a rule_lock answered TAKE_OVER
	taken  bool // the award set last is the drawn one with its stock taken
	luck   bool // the award set last is the luck award
}

// unsafe returns the first walk from node that ends giving the drawn award when
// it must not, as "node VERDICT → … → end", with the reason; why is empty when
// every walk is safe. Trees are small and acyclic: the walks are few.
func (w treeWalker) unsafe(node strategy.NodeKey, st walkState) (trail, why string) {
	type answer struct {
		v  strategy.Verdict
		st walkState
	}
	var answers []answer
	switch node {
	case strategy.NodeLock:
		locked := st
		locked.locked = true
		answers = []answer{{strategy.Allow, st}, {strategy.TakeOver, locked}}
	case strategy.NodeStock:
		taken := st
		taken.taken, taken.luck = true, false
		answers = []answer{{strategy.TakeOver, taken}, {strategy.Allow, st}}
	case strategy.NodeLuckAward:
		luck := st
		luck.luck, luck.taken = true, false
		answers = []answer{{strategy.TakeOver, luck}}
	}
	for _, a := range answers {
		step := string(node) + " " + string(a.v)
		to, ok := w.next[node][a.v]
		if ok {
			if rest, why := w.unsafe(to, a.st); why != "" {
				return step + " → " + rest, why
			}
			continue
		}
		switch {
		case a.st.luck:
		case a.st.locked:
			return step + " → end", "gives the locked award"
		case w.hasStock && !a.st.taken:
			return step + " → end", "gives the drawn award without taking its stock"
		}
	}
	return "", ""
}

// MaxImageBytes bounds an award image (a data: URL counts whole).
const MaxImageBytes = 64 << 10

// image reports an award image that could make a page load from another
// origin: it must be a path on the server's own origin ("/…", not "//host") or
// a base64 data: URL of a raster or SVG image. Empty means none.
func (v *validator) image(path, s string) {
	switch {
	case s == "":
	case len(s) > MaxImageBytes:
		v.add(path, "longer than %d bytes", MaxImageBytes)
	case strings.HasPrefix(s, "data:"):
		mt, payload, ok := strings.Cut(strings.TrimPrefix(s, "data:"), ",")
		switch mt {
		case "image/png;base64", "image/jpeg;base64", "image/gif;base64", "image/webp;base64", "image/svg+xml;base64":
		default:
			v.add(path, "a data: URL must be a base64 PNG, JPEG, GIF, WebP or SVG image, got %q", truncate(mt, 40))
			return
		}
		if _, err := base64.StdEncoding.DecodeString(payload); !ok || err != nil {
			v.add(path, "the data: URL is not valid base64")
		}
	case strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
		if strings.ContainsAny(s, "\\\"'<> \t\r\n") || !utf8.ValidString(s) {
			v.add(path, "a path may not hold spaces, quotes, angle brackets or backslashes: %q", truncate(s, 60))
		}
	default:
		v.add(path, "want a path on this server (\"/img/prize.png\") or a data: URL; pages load nothing from another host, got %q", truncate(s, 60))
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
