package legacy

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

// AwardStock says which legacy figure becomes an award's count in bigmarket.
type AwardStock string

// Award stock modes.
const (
	// StockRemaining (the default) uses strategy_award.award_count_surplus: the
	// units the Java platform has not issued yet. Award records imported from
	// the original carry no mark of having taken stock, so this keeps bigmarket
	// from issuing again what the original already issued.
	StockRemaining AwardStock = "remaining"
	// StockTotal uses strategy_award.award_count, the configured total: for a
	// campaign started afresh.
	StockTotal AwardStock = "total"
)

// ConfigOptions tune ReadConfig.
type ConfigOptions struct {
	// Location is the time zone of the legacy DATETIME columns and the
	// campaign's timezone. Nil means DefaultTimezone.
	Location *time.Location
	// AwardStock picks the award counts; zero means StockRemaining.
	AwardStock AwardStock
	// WeightMatch is written as the weight_match of every strategy with a
	// rule_weight rule. Zero means strategy.WeightAtLeast: the original uses
	// the group with the largest threshold not above the user's draw count
	// (RuleWeightLogicChain), where bigmarket's default is an equal count.
	WeightMatch strategy.WeightMatch
}

// ConfigResult is what ReadConfig produced: the campaign file (valid, ready to
// apply) when Problems is empty, and notes about legacy rows that have no effect
// in the original either and were left out.
type ConfigResult struct {
	// File is the campaign file in bigmarket's format; nil when there are
	// problems.
	File []byte
	// Problems are the rows that cannot be mapped; any problem means no file.
	Problems []Problem
	// Notes name rows left out on purpose (inert in the original).
	Notes []string
	// Campaign is File validated into domain types; nil when there are problems.
	Campaign *campaign.Campaign
}

// configReader accumulates the mapping of one config database.
type configReader struct {
	ctx  context.Context
	db   *sql.DB
	opts ConfigOptions
	res  *ConfigResult
	f    campaign.File
	// origin maps "section[i]" of the file to the legacy table and row it
	// came from, to report campaign validation problems against legacy rows.
	origin map[string]Problem
}

func (r *configReader) problem(table string, id any, format string, args ...any) {
	r.res.Problems = append(r.res.Problems, Problem{Table: table, Row: fmt.Sprint(id), Message: fmt.Sprintf(format, args...)})
}

// ReadConfig reads the config database of the original platform and maps it to
// a bigmarket campaign file. Rows that cannot be mapped (an unknown rule model or
// node kind, a reference to a missing award, tree, strategy, activity, count or
// SKU, an incomplete rule tree, a rate outside (0,1], …) are returned as
// problems naming table and row, and then there is no file. The file, when
// there is one, passes campaign validation. A database or query failure is the
// error.
func ReadConfig(ctx context.Context, db *sql.DB, opts ConfigOptions) (*ConfigResult, error) {
	if opts.Location == nil {
		loc, err := time.LoadLocation(DefaultTimezone)
		if err != nil {
			return nil, fmt.Errorf("legacy: time zone %s: %w", DefaultTimezone, err)
		}
		opts.Location = loc
	}
	if opts.AwardStock == "" {
		opts.AwardStock = StockRemaining
	}
	if opts.WeightMatch == "" {
		opts.WeightMatch = strategy.WeightAtLeast
	}
	if opts.WeightMatch != strategy.WeightEqual && opts.WeightMatch != strategy.WeightAtLeast {
		return nil, fmt.Errorf("legacy: weight match %q: want %q or %q", opts.WeightMatch, strategy.WeightEqual, strategy.WeightAtLeast)
	}
	if opts.AwardStock != StockRemaining && opts.AwardStock != StockTotal {
		return nil, fmt.Errorf("legacy: award stock %q: want %q or %q", opts.AwardStock, StockRemaining, StockTotal)
	}
	r := &configReader{ctx: ctx, db: db, opts: opts, res: &ConfigResult{}, origin: map[string]Problem{}}
	r.f.Version = campaign.FileVersion
	r.f.Timezone = opts.Location.String()
	have, err := tables(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("legacy config: %w", err)
	}
	for _, t := range []string{"award", "strategy", "strategy_award"} {
		if !have[t] {
			return nil, fmt.Errorf("legacy config: table %s is missing: is this the big_market config database?", t)
		}
	}
	steps := []struct {
		table string
		fn    func() error
	}{
		{"award", r.awards},
		{"rule_tree", r.trees},
		{"strategy", r.strategies},
		{"raffle_activity", r.activities},
		{"raffle_activity_count", r.counts},
		{"raffle_activity_sku", r.skus},
		{"daily_behavior_rebate", r.rebates},
		{"raffle_activity_stage", r.stages},
	}
	for _, s := range steps {
		if !have[s.table] {
			if s.table != "raffle_activity_stage" {
				r.res.Notes = append(r.res.Notes, fmt.Sprintf("table %s is missing: nothing of it imported", s.table))
			}
			continue
		}
		if err := s.fn(); err != nil {
			return nil, fmt.Errorf("legacy config: %s: %w", s.table, err)
		}
	}
	if len(r.res.Problems) > 0 {
		return r.res, nil
	}
	r.finish()
	return r.res, nil
}

// finish validates the mapped file with bigmarket's own rules and exports it.
func (r *configReader) finish() {
	c, ps := campaign.Validate(&r.f)
	if len(ps) > 0 {
		for _, p := range ps {
			r.res.Problems = append(r.res.Problems, r.fromCampaign(p))
		}
		return
	}
	data, err := campaign.Export(c)
	if err != nil {
		r.res.Problems = append(r.res.Problems, Problem{Table: "campaign", Message: err.Error()})
		return
	}
	if ps := campaign.ValidateBytes(data); len(ps) > 0 {
		for _, p := range ps {
			r.res.Problems = append(r.res.Problems, r.fromCampaign(p))
		}
		return
	}
	r.res.File, r.res.Campaign = data, c
}

var sectionIndex = regexp.MustCompile(`^([a-z_]+\[\d+\])`)

// fromCampaign reports a campaign validation problem against the legacy row its
// section entry came from.
func (r *configReader) fromCampaign(p campaign.Problem) Problem {
	if m := sectionIndex.FindStringSubmatch(p.Path); m != nil {
		if o, ok := r.origin[m[1]]; ok {
			return Problem{Table: o.Table, Row: o.Row, Message: strings.TrimPrefix(p.Path, m[1]) + ": " + p.Message}
		}
	}
	return Problem{Table: "campaign", Row: p.Path, Message: p.Message}
}

func (r *configReader) from(section string, i int, table string, id any) {
	r.origin[fmt.Sprintf("%s[%d]", section, i)] = Problem{Table: table, Row: fmt.Sprint(id)}
}

// query runs q and calls scan for each row.
func (r *configReader) query(q string, scan func(*sql.Rows) error) error {
	rows, err := r.db.QueryContext(r.ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r *configReader) awards() error {
	return r.query(`SELECT id, award_id, award_key, award_config, award_desc FROM award ORDER BY award_id, id`, func(rows *sql.Rows) error {
		var id, awardID int64
		var key, cfg, desc sql.NullString
		if err := rows.Scan(&id, &awardID, &key, &cfg, &desc); err != nil {
			return err
		}
		r.from("awards", len(r.f.Awards), "award", id)
		r.f.Awards = append(r.f.Awards, campaign.AwardRow{ID: awardID, Key: key.String, Config: campaign.Scalar(cfg.String), Desc: desc.String})
		return nil
	})
}

// Node kinds a rule tree may hold and strategy rule models, as the original
// names them.
var (
	treeNodeKinds  = []string{string(strategy.NodeLock), string(strategy.NodeStock), string(strategy.NodeLuckAward)}
	strategyModels = []string{string(strategy.RuleBlacklist), string(strategy.RuleWeight)}
)

type legacyNode struct {
	id         int64
	key, value string
}

type legacyLine struct {
	id             int64
	from, to, when string
}

func (r *configReader) trees() error {
	type tree struct {
		id         int64
		row        campaign.TreeRow
		nodes      []legacyNode
		lines      []legacyLine
		rowOfTree  string
		rootExists bool
	}
	var order []string
	byID := map[string]*tree{}
	err := r.query(`SELECT id, tree_id, tree_name, tree_desc, tree_node_rule_key FROM rule_tree ORDER BY id`, func(rows *sql.Rows) error {
		var id int64
		var treeID, name, desc, root sql.NullString
		if err := rows.Scan(&id, &treeID, &name, &desc, &root); err != nil {
			return err
		}
		if _, dup := byID[treeID.String]; dup {
			r.problem("rule_tree", id, "tree id %q defined twice", treeID.String)
			return nil
		}
		byID[treeID.String] = &tree{id: id, row: campaign.TreeRow{ID: treeID.String, Name: name.String, Desc: desc.String, Root: root.String}}
		order = append(order, treeID.String)
		return nil
	})
	if err != nil {
		return err
	}
	err = r.query(`SELECT id, tree_id, rule_key, rule_desc, rule_value FROM rule_tree_node ORDER BY id`, func(rows *sql.Rows) error {
		var id int64
		var treeID, key, desc, value sql.NullString
		if err := rows.Scan(&id, &treeID, &key, &desc, &value); err != nil {
			return err
		}
		t, ok := byID[treeID.String]
		switch {
		case !ok:
			r.problem("rule_tree_node", id, "tree %q does not exist in rule_tree", treeID.String)
			return nil
		case !slices.Contains(treeNodeKinds, key.String):
			r.problem("rule_tree_node", id, "unknown rule model %q (want one of %s)", key.String, strings.Join(treeNodeKinds, ", "))
			return nil
		}
		v := strings.TrimSpace(value.String)
		if key.String == string(strategy.NodeStock) {
			v = "" // the original ignores rule_stock's value
		}
		t.nodes = append(t.nodes, legacyNode{id: id, key: key.String, value: v})
		t.row.Nodes = append(t.row.Nodes, campaign.NodeRow{Key: key.String, Value: campaign.Scalar(v), Desc: desc.String})
		return nil
	})
	if err != nil {
		return err
	}
	err = r.query(`SELECT id, tree_id, rule_node_from, rule_node_to, rule_limit_type, rule_limit_value FROM rule_tree_node_line ORDER BY id`, func(rows *sql.Rows) error {
		var id int64
		var treeID, from, to, limitType, limitValue sql.NullString
		if err := rows.Scan(&id, &treeID, &from, &to, &limitType, &limitValue); err != nil {
			return err
		}
		t, ok := byID[treeID.String]
		switch {
		case !ok:
			r.problem("rule_tree_node_line", id, "tree %q does not exist in rule_tree", treeID.String)
			return nil
		case !strings.EqualFold(limitType.String, "EQUAL"):
			r.problem("rule_tree_node_line", id, "rule_limit_type %q: only EQUAL is supported", limitType.String)
			return nil
		}
		when := strings.ToUpper(strings.TrimSpace(limitValue.String))
		if when != string(strategy.Allow) && when != string(strategy.TakeOver) {
			r.problem("rule_tree_node_line", id, "rule_limit_value %q: want ALLOW or TAKE_OVER", limitValue.String)
			return nil
		}
		t.lines = append(t.lines, legacyLine{id: id, from: from.String, to: to.String, when: when})
		t.row.Lines = append(t.row.Lines, campaign.LineRow{From: from.String, To: to.String, When: when})
		return nil
	})
	if err != nil {
		return err
	}
	for _, tid := range order {
		t := byID[tid]
		r.checkTree(t.id, t.row.ID, t.row.Root, t.nodes, t.lines)
		r.from("rule_trees", len(r.f.Trees), "rule_tree", t.id)
		r.f.Trees = append(r.f.Trees, t.row)
	}
	return nil
}

// checkTree reports the lines that name missing nodes and a tree that is not
// complete: every walk from the root must end in rule_luck_award, a rule_stock
// node needs an ALLOW line (out of stock falls through to the luck award) and a
// rule_lock node a TAKE_OVER line (a locked award is replaced).
func (r *configReader) checkTree(rowID int64, treeID, root string, nodes []legacyNode, lines []legacyLine) {
	kinds := map[string]legacyNode{}
	for _, n := range nodes {
		if _, dup := kinds[n.key]; dup {
			r.problem("rule_tree_node", n.id, "tree %q has node %s twice", treeID, n.key)
			return
		}
		kinds[n.key] = n
	}
	if _, ok := kinds[root]; !ok {
		r.problem("rule_tree", rowID, "root %q is not a node of tree %q", root, treeID)
		return
	}
	next := map[string]map[string]string{}
	bad := false
	for _, l := range lines {
		for _, end := range []string{l.from, l.to} {
			if _, ok := kinds[end]; !ok {
				r.problem("rule_tree_node_line", l.id, "tree %q has no node %q", treeID, end)
				bad = true
			}
		}
		if next[l.from] == nil {
			next[l.from] = map[string]string{}
		}
		if _, dup := next[l.from][l.when]; dup {
			r.problem("rule_tree_node_line", l.id, "tree %q: a second line leaves %s when %s", treeID, l.from, l.when)
			bad = true
		}
		next[l.from][l.when] = l.to
	}
	if bad {
		return
	}
	for _, n := range nodes {
		switch n.key {
		case string(strategy.NodeStock):
			if next[n.key][string(strategy.Allow)] == "" {
				r.problem("rule_tree", rowID, "tree %q is incomplete: rule_stock has no ALLOW line (an award out of stock would be given anyway)", treeID)
			}
		case string(strategy.NodeLock):
			if next[n.key][string(strategy.TakeOver)] == "" {
				r.problem("rule_tree", rowID, "tree %q is incomplete: rule_lock has no TAKE_OVER line (a locked award would be given anyway)", treeID)
			}
		}
	}
	// Every walk ends in rule_luck_award: a node with a missing exit (other
	// than rule_luck_award itself) ends the walk elsewhere.
	var walk func(k string, depth int) bool
	walk = func(k string, depth int) bool {
		if depth > len(nodes) {
			return false // a cycle
		}
		if k == string(strategy.NodeLuckAward) {
			return true
		}
		exits := next[k]
		if len(exits) == 0 {
			return false
		}
		for _, to := range exits {
			if !walk(to, depth+1) {
				return false
			}
		}
		return true
	}
	if !walk(root, 0) {
		r.problem("rule_tree", rowID, "tree %q is incomplete: not every path from %s ends in rule_luck_award", treeID, root)
	}
}

// legacyStrategy is a strategy row being mapped.
type legacyStrategy struct {
	table  string // "strategy", or "strategy_award" for a strategy that has no strategy row
	rowID  int64
	row    campaign.StrategyRow
	models []string // strategy.rule_models, in chain order
}

func (r *configReader) strategies() error {
	var order []int64
	byID := map[int64]*legacyStrategy{}
	err := r.query(`SELECT id, strategy_id, strategy_desc, rule_models FROM strategy ORDER BY strategy_id, id`, func(rows *sql.Rows) error {
		var id, sid int64
		var desc, models sql.NullString
		if err := rows.Scan(&id, &sid, &desc, &models); err != nil {
			return err
		}
		if _, dup := byID[sid]; dup {
			r.problem("strategy", id, "strategy %d defined twice", sid)
			return nil
		}
		s := &legacyStrategy{table: "strategy", rowID: id, row: campaign.StrategyRow{ID: sid, Desc: desc.String}}
		for _, m := range strings.Split(models.String, ",") {
			if m = strings.TrimSpace(m); m != "" {
				s.models = append(s.models, m)
			}
		}
		byID[sid] = s
		order = append(order, sid)
		return nil
	})
	if err != nil {
		return err
	}
	awards := map[int64]bool{}
	for _, a := range r.f.Awards {
		awards[a.ID] = true
	}
	trees := map[string]bool{}
	for _, t := range r.f.Trees {
		trees[t.ID] = true
	}
	err = r.query(`SELECT id, strategy_id, award_id, award_title, award_subtitle, award_count, award_count_surplus,
		CAST(award_rate AS CHAR), rule_models, sort FROM strategy_award ORDER BY strategy_id, sort, id`, func(rows *sql.Rows) error {
		var id, sid, aid, count, surplus int64
		var sort int
		var title, subtitle, rate, models sql.NullString
		if err := rows.Scan(&id, &sid, &aid, &title, &subtitle, &count, &surplus, &rate, &models, &sort); err != nil {
			return err
		}
		s, ok := byID[sid]
		if !ok {
			// The original draws from strategy_award alone; the strategy
			// row only adds the rule chain.
			s = &legacyStrategy{table: "strategy_award", rowID: id, row: campaign.StrategyRow{ID: sid}}
			byID[sid] = s
			order = append(order, sid)
			r.res.Notes = append(r.res.Notes, fmt.Sprintf("strategy_award[%d]: strategy %d has no strategy row: imported without strategy-level rules", id, sid))
		}
		if !awards[aid] {
			r.problem("strategy_award", id, "award %d does not exist in award", aid)
			return nil
		}
		rt, err := strategy.ParseRate(rate.String)
		if err != nil {
			r.problem("strategy_award", id, "award_rate %q: want a decimal in (0,1]", rate.String)
			return nil
		}
		tree := strings.TrimSpace(models.String)
		if tree != "" && !trees[tree] {
			r.problem("strategy_award", id, "rule_models %q is not a rule tree id (award-level rule models are expressed as rule trees)", tree)
			return nil
		}
		n := surplus
		if r.opts.AwardStock == StockTotal {
			n = count
		}
		s.row.Awards = append(s.row.Awards, campaign.StrategyAwardRow{
			Award: aid, Title: title.String, Subtitle: subtitle.String, Count: n,
			Rate: campaign.Scalar(rt.String()), Tree: tree, Sort: sort,
		})
		return nil
	})
	if err != nil {
		return err
	}
	if err := r.strategyRules(order, byID); err != nil {
		return err
	}
	slices.Sort(order)
	for _, sid := range order {
		s := byID[sid]
		r.from("strategies", len(r.f.Strategies), s.table, s.rowID)
		r.f.Strategies = append(r.f.Strategies, s.row)
	}
	return nil
}

// strategyRules maps strategy_rule. The original runs the strategy-level rules
// named in strategy.rule_models, in that order; each needs its strategy_rule
// row (award_id NULL). Award-level rows (rule_lock, rule_luck_award, rule_stock
// with an award id) predate rule trees and have no effect once trees carry
// them: they are noted and left out. Any other rule model is a problem.
func (r *configReader) strategyRules(order []int64, strats map[int64]*legacyStrategy) error {
	type ruleRow struct {
		id          int64
		value, desc string
	}
	values := map[int64]map[string]ruleRow{}
	err := r.query(`SELECT id, strategy_id, award_id, rule_model, rule_value, rule_desc FROM strategy_rule ORDER BY id`, func(rows *sql.Rows) error {
		var id, sid int64
		var awardID sql.NullInt64
		var model, value, desc sql.NullString
		if err := rows.Scan(&id, &sid, &awardID, &model, &value, &desc); err != nil {
			return err
		}
		m := strings.TrimSpace(model.String)
		switch {
		case slices.Contains(strategyModels, m) && (!awardID.Valid || awardID.Int64 == 0):
		case slices.Contains(treeNodeKinds, m) && awardID.Valid && awardID.Int64 != 0:
			r.res.Notes = append(r.res.Notes, fmt.Sprintf("strategy_rule[%d]: award-level %s of strategy %d award %d left out: rule trees carry it", id, m, sid, awardID.Int64))
			return nil
		default:
			r.problem("strategy_rule", id, "unknown rule model %q for a strategy-level rule (bigmarket knows %s)", m, strings.Join(strategyModels, ", "))
			return nil
		}
		if _, ok := strats[sid]; !ok {
			r.problem("strategy_rule", id, "strategy %d does not exist in strategy", sid)
			return nil
		}
		if values[sid] == nil {
			values[sid] = map[string]ruleRow{}
		}
		values[sid][m] = ruleRow{id: id, value: strings.TrimSpace(value.String), desc: desc.String}
		return nil
	})
	if err != nil {
		return err
	}
	for _, sid := range order {
		s := strats[sid]
		for _, m := range s.models {
			if !slices.Contains(strategyModels, m) {
				r.problem("strategy", s.rowID, "unknown rule model %q in rule_models (bigmarket knows %s)", m, strings.Join(strategyModels, ", "))
				continue
			}
			v, ok := values[sid][m]
			if !ok {
				r.problem("strategy", s.rowID, "rule_models names %s but strategy_rule has no %s row for strategy %d", m, m, sid)
				continue
			}
			r.checkRuleValue(v.id, sid, m, v.value, &s.row)
			s.row.Rules = append(s.row.Rules, campaign.RuleRow{Model: m, Value: campaign.Scalar(v.value), Desc: v.desc})
			if m == string(strategy.RuleWeight) {
				s.row.WeightMatch = string(r.opts.WeightMatch)
			}
		}
		for _, m := range slices.Sorted(maps.Keys(values[sid])) {
			if v := values[sid][m]; !slices.Contains(s.models, m) {
				r.res.Notes = append(r.res.Notes, fmt.Sprintf("strategy_rule[%d]: %s of strategy %d left out: strategy.rule_models does not name it, so the original never ran it", v.id, m, sid))
			}
		}
	}
	return nil
}

// checkRuleValue reports a rule value that does not parse or names an award the
// strategy cannot give.
func (r *configReader) checkRuleValue(id, sid int64, model, value string, s *campaign.StrategyRow) {
	known := map[int64]bool{}
	for _, a := range r.f.Awards {
		known[a.ID] = true
	}
	inTable := map[int64]bool{}
	for _, a := range s.Awards {
		inTable[a.Award] = true
	}
	switch strategy.RuleModel(model) {
	case strategy.RuleBlacklist:
		b, err := strategy.ParseBlacklist(value)
		if err != nil {
			r.problem("strategy_rule", id, "rule_blacklist %q: want AWARD:user1,user2", value)
		} else if !known[b.AwardID] {
			r.problem("strategy_rule", id, "rule_blacklist %q: award %d does not exist in award", value, b.AwardID)
		}
	case strategy.RuleWeight:
		groups, err := strategy.ParseWeight(value)
		if err != nil {
			r.problem("strategy_rule", id, "rule_weight %q: want N:a,b M:c,d", value)
			return
		}
		for _, g := range groups {
			for _, a := range g.AwardIDs {
				if !known[a] {
					r.problem("strategy_rule", id, "rule_weight group %q: award %d does not exist in award", g.Key, a)
				} else if !inTable[a] {
					r.problem("strategy_rule", id, "rule_weight group %q: award %d is not in strategy %d's strategy_award rows", g.Key, a, sid)
				}
			}
		}
	}
}

func (r *configReader) activities() error {
	strategies := map[int64]bool{}
	for _, s := range r.f.Strategies {
		strategies[s.ID] = true
	}
	return r.query(`SELECT id, activity_id, activity_name, activity_desc, begin_date_time, end_date_time, strategy_id, state
		FROM raffle_activity ORDER BY activity_id, id`, func(rows *sql.Rows) error {
		var id, aid, sid int64
		var name, desc, begin, end, state sql.NullString
		if err := rows.Scan(&id, &aid, &name, &desc, &begin, &end, &sid, &state); err != nil {
			return err
		}
		if !strategies[sid] {
			r.problem("raffle_activity", id, "strategy %d does not exist in strategy", sid)
			return nil
		}
		st := strings.TrimSpace(state.String)
		if st != string(activity.StateCreate) && st != string(activity.StateOpen) && st != string(activity.StateClose) {
			r.problem("raffle_activity", id, "state %q: want create, open or close", st)
			return nil
		}
		b, okB := parseDatetime(begin, r.opts.Location)
		e, okE := parseDatetime(end, r.opts.Location)
		if !okB || !okE || b.IsZero() || e.IsZero() {
			r.problem("raffle_activity", id, "begin_date_time %q / end_date_time %q: want datetimes", begin.String, end.String)
			return nil
		}
		r.from("activities", len(r.f.Activities), "raffle_activity", id)
		r.f.Activities = append(r.f.Activities, campaign.ActivityRow{
			ID: aid, Name: name.String, Desc: desc.String, Strategy: sid, State: st,
			Begin: b.Format(time.RFC3339), End: e.Format(time.RFC3339),
		})
		return nil
	})
}

func (r *configReader) counts() error {
	return r.query(`SELECT id, activity_count_id, total_count, day_count, month_count FROM raffle_activity_count ORDER BY activity_count_id, id`, func(rows *sql.Rows) error {
		var id int64
		var c campaign.CountRow
		if err := rows.Scan(&id, &c.ID, &c.Total, &c.Day, &c.Month); err != nil {
			return err
		}
		r.from("counts", len(r.f.Counts), "raffle_activity_count", id)
		r.f.Counts = append(r.f.Counts, c)
		return nil
	})
}

func (r *configReader) skus() error {
	acts, counts := map[int64]bool{}, map[int64]bool{}
	for _, a := range r.f.Activities {
		acts[a.ID] = true
	}
	for _, c := range r.f.Counts {
		counts[c.ID] = true
	}
	return r.query(`SELECT id, sku, activity_id, activity_count_id, stock_count, CAST(product_amount AS CHAR)
		FROM raffle_activity_sku ORDER BY sku, id`, func(rows *sql.Rows) error {
		var id int64
		var s campaign.SKURow
		var price sql.NullString
		if err := rows.Scan(&id, &s.SKU, &s.Activity, &s.Count, &s.Stock, &price); err != nil {
			return err
		}
		switch {
		case !acts[s.Activity]:
			r.problem("raffle_activity_sku", id, "activity %d does not exist in raffle_activity", s.Activity)
			return nil
		case !counts[s.Count]:
			r.problem("raffle_activity_sku", id, "activity_count_id %d does not exist in raffle_activity_count", s.Count)
			return nil
		}
		p := "0"
		if price.Valid {
			p = price.String
		}
		a, err := money.Parse(p)
		if err != nil {
			r.problem("raffle_activity_sku", id, "product_amount %q: want an amount with at most 2 decimals", p)
			return nil
		}
		s.Price = campaign.Scalar(a.String())
		r.from("skus", len(r.f.SKUs), "raffle_activity_sku", id)
		r.f.SKUs = append(r.f.SKUs, s)
		return nil
	})
}

func (r *configReader) rebates() error {
	skus := map[int64]bool{}
	for _, s := range r.f.SKUs {
		skus[s.SKU] = true
	}
	return r.query(`SELECT id, behavior_type, rebate_desc, rebate_type, rebate_config, state FROM daily_behavior_rebate ORDER BY id`, func(rows *sql.Rows) error {
		var id int64
		var behavior, desc, typ, cfg, state sql.NullString
		if err := rows.Scan(&id, &behavior, &desc, &typ, &cfg, &state); err != nil {
			return err
		}
		c := strings.TrimSpace(cfg.String)
		switch rebate.Type(typ.String) {
		case rebate.TypeSKU:
			n, err := strconv.ParseInt(c, 10, 64)
			if err != nil || !skus[n] {
				r.problem("daily_behavior_rebate", id, "rebate_config %q: SKU does not exist in raffle_activity_sku", c)
				return nil
			}
		case rebate.TypeIntegral:
		default:
			r.problem("daily_behavior_rebate", id, "rebate_type %q: want sku or integral", typ.String)
			return nil
		}
		r.from("rebates", len(r.f.Rebates), "daily_behavior_rebate", id)
		r.f.Rebates = append(r.f.Rebates, campaign.RebateRow{
			ID: id, Behavior: behavior.String, Type: typ.String, Config: campaign.Scalar(c), Desc: desc.String, State: state.String,
		})
		return nil
	})
}

// stages maps raffle_activity_stage, a table of the later versions; its state
// "active" shows the activity, anything else does not.
func (r *configReader) stages() error {
	acts := map[int64]bool{}
	for _, a := range r.f.Activities {
		acts[a.ID] = true
	}
	return r.query(`SELECT id, channel, source, activity_id, state FROM raffle_activity_stage ORDER BY id`, func(rows *sql.Rows) error {
		var id, aid int64
		var channel, source, state sql.NullString
		if err := rows.Scan(&id, &channel, &source, &aid, &state); err != nil {
			return err
		}
		if !acts[aid] {
			r.problem("raffle_activity_stage", id, "activity %d does not exist in raffle_activity", aid)
			return nil
		}
		st := string(activity.StageInactive)
		if strings.EqualFold(state.String, string(activity.StageActive)) {
			st = string(activity.StageActive)
		}
		r.from("stages", len(r.f.Stages), "raffle_activity_stage", id)
		r.f.Stages = append(r.f.Stages, campaign.StageRow{ID: id, Channel: channel.String, Source: source.String, Activity: aid, State: st})
		return nil
	})
}
