// Package campaigndb stores campaigns (campaign.Store) in the config database:
// awards, strategies with their awards and rules, rule trees, activities, quota
// packages, SKUs, rebates, stages, quota grants and the campaign metadata
// (time zone, version, revision).
package campaigndb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

var _ campaign.Store = (*Store)(nil)

// Grant states of quota_grant rows. Apply writes new grants pending; the activity
// service applies them to the user's account and marks them applied.
const (
	GrantPending = "pending"
	GrantApplied = "applied"
)

// Keys of campaign_meta.
const (
	metaTimezone = "timezone"
	metaVersion  = "version"
	metaRevision = "revision"
)

// Store is the SQL campaign.Store. It is safe for concurrent use.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
	q   queries
	// actor is who applies campaigns through this Store (As); the revision
	// history records it.
	actor string
}

// New returns a Store on db's config database; now stamps create_time and
// update_time (nil means time.Now).
func New(db *sqldb.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, q: newQueries(db.Dialect()), actor: SystemActor}
}

// queries are the store's statements, built once for the engine's dialect.
type queries struct {
	upsertAward, upsertTree, deleteTreeNodes, deleteTreeLines, insertTreeNode, insertTreeLine,
	upsertStrategy, deleteStrategyRules, insertStrategyRule, upsertStrategyAward,
	upsertActivity, upsertCount, upsertSKU, rebateTaken, upsertRebate, stageTaken, upsertStage,
	insertGrant, upsertMeta, lockRevision string
}

func newQueries(d sqldb.Dialect) queries {
	up := func(conflict string, cols ...string) string {
		return d.Upsert([]string{conflict}, sqldb.Assign(d, append(cols, "update_time")...)...)
	}
	// surplus adjusts a surplus column by the change of its count column, never
	// below 0. It reads the old count, so it comes before the count's assignment.
	surplus := func(surplus, count string) string {
		delta := surplus + " + " + d.Excluded(count) + " - " + count
		return surplus + " = CASE WHEN " + delta + " > 0 THEN " + delta + " ELSE 0 END"
	}
	return queries{
		upsertAward: `INSERT INTO award (award_id, award_key, award_config, award_desc, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?) ` + up("award_id", "award_key", "award_config", "award_desc"),
		upsertTree: `INSERT INTO rule_tree (tree_id, tree_name, tree_desc, tree_root_rule_key, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?) ` + up("tree_id", "tree_name", "tree_desc", "tree_root_rule_key"),
		deleteTreeNodes: `DELETE FROM rule_tree_node WHERE tree_id = ?`,
		deleteTreeLines: `DELETE FROM rule_tree_node_line WHERE tree_id = ?`,
		insertTreeNode: `INSERT INTO rule_tree_node (tree_id, rule_key, rule_value, rule_desc, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?)`,
		insertTreeLine: `INSERT INTO rule_tree_node_line (tree_id, rule_node_from, rule_node_to, rule_limit_value, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?)`,
		upsertStrategy: `INSERT INTO strategy (strategy_id, strategy_desc, weight_match, create_time, update_time)
			VALUES (?, ?, ?, ?, ?) ` + up("strategy_id", "strategy_desc", "weight_match"),
		deleteStrategyRules: `DELETE FROM strategy_rule WHERE strategy_id = ?`,
		insertStrategyRule: `INSERT INTO strategy_rule (strategy_id, seq, rule_model, rule_value, rule_desc, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
		upsertStrategyAward: `INSERT INTO strategy_award (strategy_id, award_id, award_title, award_subtitle, award_count,
			award_count_surplus, award_rate, rule_models, sort, award_image, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
			d.Upsert([]string{"strategy_id", "award_id"}, append([]string{surplus("award_count_surplus", "award_count")},
				sqldb.Assign(d, "award_count", "award_title", "award_subtitle", "award_rate", "rule_models", "sort", "award_image", "update_time")...)...),
		upsertActivity: `INSERT INTO raffle_activity (activity_id, activity_name, activity_desc, begin_date_time, end_date_time,
			strategy_id, state, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
			up("activity_id", "activity_name", "activity_desc", "begin_date_time", "end_date_time", "strategy_id", "state"),
		upsertCount: `INSERT INTO raffle_activity_count (activity_count_id, total_count, day_count, month_count, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?) ` + up("activity_count_id", "total_count", "day_count", "month_count"),
		upsertSKU: `INSERT INTO raffle_activity_sku (sku, activity_id, activity_count_id, stock_count, stock_count_surplus,
			product_amount, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ` +
			d.Upsert([]string{"sku"}, append([]string{surplus("stock_count_surplus", "stock_count")},
				sqldb.Assign(d, "stock_count", "activity_id", "activity_count_id", "product_amount", "update_time")...)...),
		rebateTaken: `SELECT id FROM daily_behavior_rebate
			WHERE behavior_type = ? AND rebate_type = ? AND rebate_config = ? AND id <> ?`,
		upsertRebate: `INSERT INTO daily_behavior_rebate (id, behavior_type, rebate_desc, rebate_type, rebate_config, state,
			create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ` +
			up("id", "behavior_type", "rebate_desc", "rebate_type", "rebate_config", "state"),
		stageTaken: `SELECT id FROM raffle_activity_stage WHERE channel = ? AND source = ? AND id <> ?`,
		upsertStage: `INSERT INTO raffle_activity_stage (id, channel, source, activity_id, state, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?) ` + up("id", "channel", "source", "activity_id", "state"),
		insertGrant: `INSERT INTO quota_grant (grant_id, user_id, activity_id, total_count, day_count, month_count, state,
			create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ` + d.DoNothing([]string{"grant_id"}),
		upsertMeta: `INSERT INTO campaign_meta (meta_key, meta_value, create_time, update_time)
			VALUES (?, ?, ?, ?) ` + up("meta_key", "meta_value"),
		lockRevision: `SELECT meta_value FROM campaign_meta WHERE meta_key = 'revision'` + d.ForUpdate(),
	}
}

// Apply writes c in one transaction on the config database: every row is upserted
// by its id, the rules of c's strategies and the nodes and lines of c's trees are
// replaced, a changed award count (SKU stock) moves its surplus by the
// difference (never below 0; new rows start full), new grants are stored pending
// and existing grants are left untouched, the time zone and version are recorded
// and the revision is bumped. Rows absent from c stay as they are. On any error
// nothing is written. A stage whose channel/source, or a rebate whose
// behaviour/type/config, belongs to another id returns an error wrapping
// sqldb.ErrDuplicate (as does any other unique key violation).
func (s *Store) Apply(ctx context.Context, c *campaign.Campaign) (campaign.Summary, error) {
	if c == nil {
		return campaign.Summary{}, errors.New("apply campaign: nil campaign")
	}
	ms := s.now().UnixMilli()
	var sum campaign.Summary
	err := sqldb.InTx(ctx, s.db.Config(), func(tx *sql.Tx) error {
		var err error
		sum, err = s.apply(ctx, tx, c, ms)
		return err
	})
	if err != nil {
		if s.db.Dialect().IsDuplicate(err) {
			err = fmt.Errorf("%w: %w", sqldb.ErrDuplicate, err)
		}
		return campaign.Summary{}, fmt.Errorf("apply campaign: %w", err)
	}
	return sum, nil
}

func (s *Store) apply(ctx context.Context, tx *sql.Tx, c *campaign.Campaign, ms int64) (campaign.Summary, error) {
	q := &s.q
	exec := func(query string, args ...any) error {
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	}
	for _, a := range c.Awards {
		if err := exec(q.upsertAward, a.ID, string(a.Key), a.Config, a.Desc, ms, ms); err != nil {
			return campaign.Summary{}, fmt.Errorf("award[%d]: %w", a.ID, err)
		}
	}
	for _, t := range c.Trees {
		if err := s.applyTree(exec, t, ms); err != nil {
			return campaign.Summary{}, fmt.Errorf("rule tree[%s]: %w", t.ID, err)
		}
	}
	for _, st := range c.Strategies {
		if err := s.applyStrategy(exec, st, ms); err != nil {
			return campaign.Summary{}, fmt.Errorf("strategy[%d]: %w", st.ID, err)
		}
	}
	for _, a := range c.Activities {
		err := exec(q.upsertActivity, a.ID, a.Name, a.Desc, a.Begin.UnixMilli(), a.End.UnixMilli(), a.StrategyID, string(a.State), ms, ms)
		if err != nil {
			return campaign.Summary{}, fmt.Errorf("activity[%d]: %w", a.ID, err)
		}
	}
	for _, n := range c.Counts {
		if err := exec(q.upsertCount, n.ID, n.Total, n.Day, n.Month, ms, ms); err != nil {
			return campaign.Summary{}, fmt.Errorf("count[%d]: %w", n.ID, err)
		}
	}
	for _, k := range c.SKUs {
		if err := exec(q.upsertSKU, k.SKU, k.ActivityID, k.CountID, k.Stock, k.Stock, k.Price.Cents(), ms, ms); err != nil {
			return campaign.Summary{}, fmt.Errorf("sku[%d]: %w", k.SKU, err)
		}
	}
	for _, r := range c.Rebates {
		if err := s.taken(ctx, tx, q.rebateTaken, r.Behavior, string(r.Type), r.Config, r.ID); err != nil {
			return campaign.Summary{}, fmt.Errorf("rebate[%d]: behaviour %q type %q config %q: %w", r.ID, r.Behavior, r.Type, r.Config, err)
		}
		if err := exec(q.upsertRebate, r.ID, r.Behavior, r.Desc, string(r.Type), r.Config, string(r.State), ms, ms); err != nil {
			return campaign.Summary{}, fmt.Errorf("rebate[%d]: %w", r.ID, err)
		}
	}
	for _, g := range c.Stages {
		if err := s.taken(ctx, tx, q.stageTaken, g.Channel, g.Source, g.ID); err != nil {
			return campaign.Summary{}, fmt.Errorf("stage[%d]: channel %q source %q: %w", g.ID, g.Channel, g.Source, err)
		}
		if err := exec(q.upsertStage, g.ID, g.Channel, g.Source, g.ActivityID, string(g.State), ms, ms); err != nil {
			return campaign.Summary{}, fmt.Errorf("stage[%d]: %w", g.ID, err)
		}
	}
	for _, g := range c.Grants {
		err := exec(q.insertGrant, g.ID, g.UserID, g.ActivityID, g.Total, g.Day, g.Month, GrantPending, ms, ms)
		if err != nil {
			return campaign.Summary{}, fmt.Errorf("grant[%s]: %w", g.ID, err)
		}
	}
	tz := ""
	if c.Timezone != nil {
		tz = c.Timezone.String()
	}
	if err := exec(q.upsertMeta, metaTimezone, tz, ms, ms); err != nil {
		return campaign.Summary{}, fmt.Errorf("meta timezone: %w", err)
	}
	if err := exec(q.upsertMeta, metaVersion, strconv.Itoa(c.Version), ms, ms); err != nil {
		return campaign.Summary{}, fmt.Errorf("meta version: %w", err)
	}
	rev, err := s.bumpRevision(ctx, tx, ms)
	if err != nil {
		return campaign.Summary{}, err
	}
	sum := campaign.Summary{
		Awards: len(c.Awards), Trees: len(c.Trees), Strategies: len(c.Strategies),
		Activities: len(c.Activities), Counts: len(c.Counts), SKUs: len(c.SKUs),
		Rebates: len(c.Rebates), Stages: len(c.Stages), Grants: len(c.Grants), Revision: rev,
	}
	if err := s.recordRevision(ctx, tx, sum, ms); err != nil {
		return campaign.Summary{}, err
	}
	return sum, nil
}

// taken returns an error wrapping sqldb.ErrDuplicate when query (a lookup of a
// secondary unique key excluding the row's own id) finds another row. Checking
// first keeps both engines alike: MySQL's ON DUPLICATE KEY UPDATE would otherwise
// silently update the other row.
func (s *Store) taken(ctx context.Context, tx *sql.Tx, query string, args ...any) error {
	var other int64
	err := tx.QueryRowContext(ctx, query, args...).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("%w: already used by id %d", sqldb.ErrDuplicate, other)
}

func (s *Store) applyTree(exec func(string, ...any) error, t strategy.Tree, ms int64) error {
	q := &s.q
	if err := exec(q.upsertTree, t.ID, t.Name, t.Desc, string(t.Root), ms, ms); err != nil {
		return err
	}
	if err := exec(q.deleteTreeNodes, t.ID); err != nil {
		return err
	}
	if err := exec(q.deleteTreeLines, t.ID); err != nil {
		return err
	}
	for _, n := range t.Nodes {
		if err := exec(q.insertTreeNode, t.ID, string(n.Key), n.Value, n.Desc, ms, ms); err != nil {
			return fmt.Errorf("node %s: %w", n.Key, err)
		}
	}
	for _, l := range t.Lines {
		if err := exec(q.insertTreeLine, t.ID, string(l.From), string(l.To), string(l.When), ms, ms); err != nil {
			return fmt.Errorf("line %s→%s: %w", l.From, l.To, err)
		}
	}
	return nil
}

func (s *Store) applyStrategy(exec func(string, ...any) error, st strategy.Strategy, ms int64) error {
	q := &s.q
	if err := exec(q.upsertStrategy, st.ID, st.Desc, string(st.WeightMatch), ms, ms); err != nil {
		return err
	}
	if err := exec(q.deleteStrategyRules, st.ID); err != nil {
		return err
	}
	for i, r := range st.Rules {
		if err := exec(q.insertStrategyRule, st.ID, i+1, string(r.Model), r.Value, r.Desc, ms, ms); err != nil {
			return fmt.Errorf("rule %s: %w", r.Model, err)
		}
	}
	for _, a := range st.Awards {
		err := exec(q.upsertStrategyAward, st.ID, a.AwardID, a.Title, a.Subtitle, a.Count, a.Count, int64(a.Rate), a.TreeID, a.Sort, a.Image, ms, ms)
		if err != nil {
			return fmt.Errorf("award[%d]: %w", a.AwardID, err)
		}
	}
	return nil
}

func readRevision(row *sql.Row) (int64, error) {
	var v string
	err := row.Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read revision: %w", err)
	}
	rev, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("read revision: %q is not a number", v)
	}
	return rev, nil
}

// Revision returns the configuration revision, bumped by every Apply; 0 before
// the first.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	const q = `SELECT meta_value FROM campaign_meta WHERE meta_key = 'revision'`
	return readRevision(s.db.Config().Read().QueryRowContext(ctx, q))
}

// Load reads the whole stored configuration from one consistent snapshot, in
// deterministic order: rows by id (awards of a strategy by award id, SKUs by SKU,
// grants by grant id), strategy rules in chain order, tree nodes and lines in the
// order last applied. Activity times are in the stored time zone (the server's
// when none is stored), whose Location is Timezone (nil when none). A database
// never applied loads as an empty Campaign.
func (s *Store) Load(ctx context.Context) (*campaign.Campaign, error) {
	var c *campaign.Campaign
	err := sqldb.InReadTx(ctx, s.db.Config(), func(tx *sql.Tx) error {
		c = &campaign.Campaign{}
		return load(ctx, tx, c)
	})
	if err != nil {
		return nil, fmt.Errorf("load campaign: %w", err)
	}
	return c, nil
}

// Statements of Load.
const (
	qLoadMeta       = `SELECT meta_key, meta_value FROM campaign_meta`
	qLoadAwards     = `SELECT award_id, award_key, award_config, award_desc FROM award ORDER BY award_id`
	qLoadTrees      = `SELECT tree_id, tree_name, tree_desc, tree_root_rule_key FROM rule_tree ORDER BY tree_id`
	qLoadTreeNodes  = `SELECT tree_id, rule_key, rule_value, rule_desc FROM rule_tree_node ORDER BY tree_id, id`
	qLoadTreeLines  = `SELECT tree_id, rule_node_from, rule_node_to, rule_limit_value FROM rule_tree_node_line ORDER BY tree_id, id`
	qLoadStrategies = `SELECT strategy_id, strategy_desc, weight_match FROM strategy ORDER BY strategy_id`
	qLoadRules      = `SELECT strategy_id, rule_model, rule_value, rule_desc FROM strategy_rule ORDER BY strategy_id, seq`
	qLoadStratAward = `SELECT strategy_id, award_id, award_title, award_subtitle, award_count, award_count_surplus,
		award_rate, rule_models, sort, COALESCE(award_image, '') FROM strategy_award ORDER BY strategy_id, award_id`
	qLoadActivities = `SELECT activity_id, activity_name, activity_desc, begin_date_time, end_date_time, strategy_id, state
		FROM raffle_activity ORDER BY activity_id`
	qLoadCounts  = `SELECT activity_count_id, total_count, day_count, month_count FROM raffle_activity_count ORDER BY activity_count_id`
	qLoadSKUs    = `SELECT sku, activity_id, activity_count_id, stock_count, stock_count_surplus, product_amount FROM raffle_activity_sku ORDER BY sku`
	qLoadRebates = `SELECT id, behavior_type, rebate_desc, rebate_type, rebate_config, state FROM daily_behavior_rebate ORDER BY id`
	qLoadStages  = `SELECT id, channel, source, activity_id, state FROM raffle_activity_stage ORDER BY id`
	qLoadGrants  = `SELECT grant_id, user_id, activity_id, total_count, day_count, month_count FROM quota_grant ORDER BY grant_id`
)

// each runs query and calls scan for every row.
func each(ctx context.Context, tx *sql.Tx, query string, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
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

func load(ctx context.Context, tx *sql.Tx, c *campaign.Campaign) error {
	loc := time.Local
	err := each(ctx, tx, qLoadMeta, func(r *sql.Rows) error {
		var k, v string
		if err := r.Scan(&k, &v); err != nil {
			return err
		}
		switch k {
		case metaTimezone:
			if v == "" {
				return nil
			}
			l, err := time.LoadLocation(v)
			if err != nil {
				return fmt.Errorf("stored time zone %q: %w", v, err)
			}
			c.Timezone, loc = l, l
		case metaVersion:
			n, err := strconv.Atoi(v)
			if err != nil {
				return fmt.Errorf("stored version %q is not a number", v)
			}
			c.Version = n
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("campaign_meta: %w", err)
	}
	err = each(ctx, tx, qLoadAwards, func(r *sql.Rows) error {
		var a award.Award
		var key string
		if err := r.Scan(&a.ID, &key, &a.Config, &a.Desc); err != nil {
			return err
		}
		a.Key = award.Key(key)
		c.Awards = append(c.Awards, a)
		return nil
	})
	if err != nil {
		return fmt.Errorf("award: %w", err)
	}
	if err := loadTrees(ctx, tx, c); err != nil {
		return err
	}
	if err := loadStrategies(ctx, tx, c); err != nil {
		return err
	}
	err = each(ctx, tx, qLoadActivities, func(r *sql.Rows) error {
		var a activity.Activity
		var begin, end int64
		var state string
		if err := r.Scan(&a.ID, &a.Name, &a.Desc, &begin, &end, &a.StrategyID, &state); err != nil {
			return err
		}
		a.Begin, a.End, a.State = time.UnixMilli(begin).In(loc), time.UnixMilli(end).In(loc), activity.State(state)
		c.Activities = append(c.Activities, a)
		return nil
	})
	if err != nil {
		return fmt.Errorf("raffle_activity: %w", err)
	}
	err = each(ctx, tx, qLoadCounts, func(r *sql.Rows) error {
		var n activity.Count
		if err := r.Scan(&n.ID, &n.Total, &n.Day, &n.Month); err != nil {
			return err
		}
		c.Counts = append(c.Counts, n)
		return nil
	})
	if err != nil {
		return fmt.Errorf("raffle_activity_count: %w", err)
	}
	err = each(ctx, tx, qLoadSKUs, func(r *sql.Rows) error {
		var k activity.SKU
		var cents int64
		if err := r.Scan(&k.SKU, &k.ActivityID, &k.CountID, &k.Stock, &k.Surplus, &cents); err != nil {
			return err
		}
		k.Price = money.FromCents(cents)
		c.SKUs = append(c.SKUs, k)
		return nil
	})
	if err != nil {
		return fmt.Errorf("raffle_activity_sku: %w", err)
	}
	err = each(ctx, tx, qLoadRebates, func(r *sql.Rows) error {
		var rb rebate.Rule
		var typ, state string
		if err := r.Scan(&rb.ID, &rb.Behavior, &rb.Desc, &typ, &rb.Config, &state); err != nil {
			return err
		}
		rb.Type, rb.State = rebate.Type(typ), rebate.State(state)
		c.Rebates = append(c.Rebates, rb)
		return nil
	})
	if err != nil {
		return fmt.Errorf("daily_behavior_rebate: %w", err)
	}
	err = each(ctx, tx, qLoadStages, func(r *sql.Rows) error {
		var g activity.Stage
		var state string
		if err := r.Scan(&g.ID, &g.Channel, &g.Source, &g.ActivityID, &state); err != nil {
			return err
		}
		g.State = activity.StageState(state)
		c.Stages = append(c.Stages, g)
		return nil
	})
	if err != nil {
		return fmt.Errorf("raffle_activity_stage: %w", err)
	}
	err = each(ctx, tx, qLoadGrants, func(r *sql.Rows) error {
		var g activity.Grant
		if err := r.Scan(&g.ID, &g.UserID, &g.ActivityID, &g.Total, &g.Day, &g.Month); err != nil {
			return err
		}
		c.Grants = append(c.Grants, g)
		return nil
	})
	if err != nil {
		return fmt.Errorf("quota_grant: %w", err)
	}
	return nil
}

func loadTrees(ctx context.Context, tx *sql.Tx, c *campaign.Campaign) error {
	index := map[string]int{}
	err := each(ctx, tx, qLoadTrees, func(r *sql.Rows) error {
		var t strategy.Tree
		var root string
		if err := r.Scan(&t.ID, &t.Name, &t.Desc, &root); err != nil {
			return err
		}
		t.Root = strategy.NodeKey(root)
		index[t.ID] = len(c.Trees)
		c.Trees = append(c.Trees, t)
		return nil
	})
	if err != nil {
		return fmt.Errorf("rule_tree: %w", err)
	}
	err = each(ctx, tx, qLoadTreeNodes, func(r *sql.Rows) error {
		var id, key string
		var n strategy.Node
		if err := r.Scan(&id, &key, &n.Value, &n.Desc); err != nil {
			return err
		}
		n.Key = strategy.NodeKey(key)
		if i, ok := index[id]; ok {
			c.Trees[i].Nodes = append(c.Trees[i].Nodes, n)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rule_tree_node: %w", err)
	}
	err = each(ctx, tx, qLoadTreeLines, func(r *sql.Rows) error {
		var id, from, to, when string
		if err := r.Scan(&id, &from, &to, &when); err != nil {
			return err
		}
		if i, ok := index[id]; ok {
			l := strategy.Line{From: strategy.NodeKey(from), To: strategy.NodeKey(to), When: strategy.Verdict(when)}
			c.Trees[i].Lines = append(c.Trees[i].Lines, l)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rule_tree_node_line: %w", err)
	}
	return nil
}

func loadStrategies(ctx context.Context, tx *sql.Tx, c *campaign.Campaign) error {
	index := map[int64]int{}
	err := each(ctx, tx, qLoadStrategies, func(r *sql.Rows) error {
		var st strategy.Strategy
		var match string
		if err := r.Scan(&st.ID, &st.Desc, &match); err != nil {
			return err
		}
		st.WeightMatch = strategy.WeightMatch(match)
		index[st.ID] = len(c.Strategies)
		c.Strategies = append(c.Strategies, st)
		return nil
	})
	if err != nil {
		return fmt.Errorf("strategy: %w", err)
	}
	err = each(ctx, tx, qLoadRules, func(r *sql.Rows) error {
		var id int64
		var model string
		var rule strategy.Rule
		if err := r.Scan(&id, &model, &rule.Value, &rule.Desc); err != nil {
			return err
		}
		rule.Model = strategy.RuleModel(model)
		if i, ok := index[id]; ok {
			c.Strategies[i].Rules = append(c.Strategies[i].Rules, rule)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("strategy_rule: %w", err)
	}
	err = each(ctx, tx, qLoadStratAward, func(r *sql.Rows) error {
		var id, rate int64
		var a strategy.Award
		if err := r.Scan(&id, &a.AwardID, &a.Title, &a.Subtitle, &a.Count, &a.Surplus, &rate, &a.TreeID, &a.Sort, &a.Image); err != nil {
			return err
		}
		a.Rate = strategy.Rate(rate)
		if i, ok := index[id]; ok {
			c.Strategies[i].Awards = append(c.Strategies[i].Awards, a)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("strategy_award: %w", err)
	}
	return nil
}

// bumpRevision increments the configuration revision inside tx and returns it.
func (s *Store) bumpRevision(ctx context.Context, tx *sql.Tx, ms int64) (int64, error) {
	rev, err := readRevision(tx.QueryRowContext(ctx, s.q.lockRevision))
	if err != nil {
		return 0, err
	}
	rev++
	if _, err := tx.ExecContext(ctx, s.q.upsertMeta, metaRevision, strconv.FormatInt(rev, 10), ms, ms); err != nil {
		return 0, fmt.Errorf("meta revision: %w", err)
	}
	return rev, nil
}

const qActivateStage = `UPDATE raffle_activity_stage SET state = 'active', update_time = ? WHERE id = ?`

// ActivateStage sets a stage active and bumps the configuration revision, so
// every instance shows it within a poll. An unknown id returns
// sqldb.ErrNotFound.
func (s *Store) ActivateStage(ctx context.Context, id int64) error {
	ms := s.now().UnixMilli()
	err := sqldb.InTx(ctx, s.db.Config(), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, qActivateStage, ms, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return sqldb.ErrNotFound
		}
		_, err = s.bumpRevision(ctx, tx, ms)
		return err
	})
	if err != nil {
		return fmt.Errorf("activate stage[%d]: %w", id, err)
	}
	return nil
}
