package legacy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Defaults of UsersOptions.
const (
	DefaultTablesPerShard = 4
	DefaultBatchUsers     = 500
)

// Source is one user database of the original platform.
type Source struct {
	Name string // for reports, e.g. "big_market_01"
	DB   *sql.DB
}

// UsersOptions tune ImportUsers.
type UsersOptions struct {
	// Location is the time zone of the legacy DATETIME columns. Nil means
	// DefaultTimezone.
	Location *time.Location
	// TablesPerShard is M, the number of _000 … tables each split table has in
	// every legacy database; zero means DefaultTablesPerShard. Unsplit tables
	// (the original keeps accounts and credit accounts in one table per
	// database) are read as well.
	TablesPerShard int
	// DryRun maps and writes every user in a transaction that is rolled back:
	// the report says what a real run would do, and nothing changes.
	DryRun bool
	// BatchUsers is how many users are read from the legacy tables at a time;
	// zero means DefaultBatchUsers.
	BatchUsers int
	// Now stamps rows the legacy data has no time for; nil means time.Now.
	Now func() time.Time
}

// TableCount counts the rows of one bigmarket table: read from the legacy
// databases (for imported users), inserted, and already present (a previous
// run imported them; left as they are).
type TableCount struct {
	Read     int `json:"read"`
	Inserted int `json:"inserted"`
	Present  int `json:"present"`
}

// Skip is a legacy row the import could not take, and the user it belongs to:
// the whole user is left out, so that no user is half imported.
type Skip struct {
	Source string `json:"source"` // legacy database and table
	Row    string `json:"row"`    // the row's id
	User   string `json:"user"`
	Reason string `json:"reason"`
}

// String formats the skip for a report line.
func (s Skip) String() string {
	return fmt.Sprintf("%s[%s] user %s: %s", s.Source, s.Row, s.User, s.Reason)
}

// Report is what ImportUsers did (or, in a dry run, would do).
type Report struct {
	DryRun       bool                   `json:"dryRun"`
	Users        int                    `json:"users"`        // users imported
	UsersSkipped int                    `json:"usersSkipped"` // users left out (see Skipped)
	Tables       map[string]*TableCount `json:"tables"`       // by bigmarket table
	Tasks        map[string]int         `json:"tasks"`        // outbox tasks created, by topic
	Skipped      []Skip                 `json:"skipped"`
}

func (r *Report) table(name string) *TableCount {
	if r.Tables[name] == nil {
		r.Tables[name] = &TableCount{}
	}
	return r.Tables[name]
}

// Bigmarket tables the import writes, as named in reports.
const (
	tAccount      = "raffle_activity_account"
	tAccountMonth = "raffle_activity_account_month"
	tAccountDay   = "raffle_activity_account_day"
	tQuotaOrder   = "raffle_activity_order"
	tRaffleOrder  = "user_raffle_order"
	tAwardRecord  = "user_award_record"
	tRebateOrder  = "user_behavior_rebate_order"
	tCreditAcct   = "user_credit_account"
	tCreditOrder  = "user_credit_order"
)

// kind is one legacy user table (base name, split or not) and the columns read
// from it; "id" is always the first.
type kind struct {
	base string
	cols []string
}

// optionalColumns are columns older versions of the original (or forks) lack,
// with the value read in their place.
var optionalColumns = map[string]string{
	"sku":           "'0'",
	"pay_amount":    "NULL",
	"activity_name": "''",
	"award_title":   "''",
	"rebate_desc":   "''",
	"update_time":   "NULL",
}

// legacyTable is one legacy table of a kind and the select list that reads it.
type legacyTable struct {
	name string
	sel  string
}

var kinds = []kind{
	{tAccount, []string{"id", "user_id", "activity_id", "total_count", "total_count_surplus", "day_count", "day_count_surplus",
		"month_count", "month_count_surplus", "create_time", "update_time"}},
	{tAccountMonth, []string{"id", "user_id", "activity_id", "month", "month_count", "month_count_surplus", "create_time", "update_time"}},
	{tAccountDay, []string{"id", "user_id", "activity_id", "day", "day_count", "day_count_surplus", "create_time", "update_time"}},
	{tQuotaOrder, []string{"id", "user_id", "sku", "activity_id", "activity_name", "strategy_id", "order_id", "order_time",
		"total_count", "day_count", "month_count", "pay_amount", "state", "out_business_no", "create_time", "update_time"}},
	{tRaffleOrder, []string{"id", "user_id", "activity_id", "activity_name", "strategy_id", "order_id", "order_time", "order_state",
		"create_time", "update_time"}},
	{tAwardRecord, []string{"id", "user_id", "activity_id", "strategy_id", "order_id", "award_id", "award_title", "award_time",
		"award_state", "create_time", "update_time"}},
	{tRebateOrder, []string{"id", "user_id", "order_id", "behavior_type", "rebate_desc", "rebate_type", "rebate_config",
		"out_business_no", "biz_id", "create_time", "update_time"}},
	{tCreditAcct, []string{"id", "user_id", "total_amount", "available_amount", "account_status", "create_time", "update_time"}},
	{tCreditOrder, []string{"id", "user_id", "order_id", "trade_name", "trade_type", "trade_amount", "out_business_no",
		"create_time", "update_time"}},
}

// legacyRow is one row read: its source table and its columns as text.
type legacyRow struct {
	source string
	v      map[string]sql.NullString
}

func (r legacyRow) s(col string) string { return r.v[col].String }

// i reads an integer column; ok is false for NULL or text that is no integer.
func (r legacyRow) i(col string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(r.v[col].String), 10, 64)
	return n, err == nil && r.v[col].Valid
}

// usersImporter carries one run.
type usersImporter struct {
	dst     *sqldb.DB
	opts    UsersOptions
	camp    *campaign.Campaign
	acts    map[int64]activity.Activity
	awards  map[int64]award.Award
	records *awarddb.Store
	tasks   *outboxdb.Store
	q       queries
	rep     *Report
}

// ImportUsers copies the users of the legacy user databases into dst: each
// user's quota accounts (total, month and day rows), quota orders (SKU
// purchases, completed or waiting for payment), raffle orders (an unused one is
// drawn first, as in the original), award records, behaviour rebate orders,
// credit account and credit ledger. Rows go to the user's shard and table by
// dst's routing, whatever database and table the original had them in.
//
// Each user is written in one transaction on its shard, with plain inserts
// keyed by each table's unique key: a row already there (a previous run, or an
// interrupted one) is counted as present and left as it is, so a second run
// changes nothing and an interrupted run continues where it stopped. A user with
// a row that cannot be mapped (an activity or award the campaign does not have,
// an unknown state, an amount that is not a decimal, a key that collides with
// another user's row) is left out entirely and reported with every reason.
//
// An award record the original had not delivered yet (state create) arrives in
// state create with a send_award outbox task (dated at the award time), which
// the outbox retry job publishes and the award deliverer completes. A behaviour
// rebate order is delivered when the user's credit or quota orders carry its biz
// id as out_business_no (the original's delivery does so); one that is not
// arrives in state create with a send_rebate task. Both deliveries are
// idempotent, so a reconciler redelivering them as well grants once.
//
// c is bigmarket's stored campaign (apply the imported config first): it names
// the known activities and the awards' keys and configs.
func ImportUsers(ctx context.Context, sources []Source, dst *sqldb.DB, c *campaign.Campaign, opts UsersOptions) (*Report, error) {
	if c == nil || len(c.Activities) == 0 {
		return nil, errors.New("legacy users: bigmarket has no activities: import and apply the legacy config first")
	}
	if opts.Location == nil {
		loc, err := time.LoadLocation(DefaultTimezone)
		if err != nil {
			return nil, fmt.Errorf("legacy users: time zone %s: %w", DefaultTimezone, err)
		}
		opts.Location = loc
	}
	if opts.TablesPerShard <= 0 {
		opts.TablesPerShard = DefaultTablesPerShard
	}
	if opts.BatchUsers <= 0 {
		opts.BatchUsers = DefaultBatchUsers
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	im := &usersImporter{
		dst: dst, opts: opts, camp: c,
		acts: map[int64]activity.Activity{}, awards: map[int64]award.Award{},
		records: awarddb.New(dst), tasks: outboxdb.New(dst),
		q:   newQueries(),
		rep: &Report{DryRun: opts.DryRun, Tables: map[string]*TableCount{}, Tasks: map[string]int{}, Skipped: []Skip{}},
	}
	for _, a := range c.Activities {
		im.acts[a.ID] = a
	}
	for _, a := range c.Awards {
		im.awards[a.ID] = a
	}
	for _, src := range sources {
		if err := im.source(ctx, src); err != nil {
			return im.rep, err
		}
	}
	return im.rep, nil
}

// source imports the users of one legacy database.
func (im *usersImporter) source(ctx context.Context, src Source) error {
	have, err := tables(ctx, src.DB)
	if err != nil {
		return fmt.Errorf("legacy users: %s: %w", src.Name, err)
	}
	// The tables of each kind present in this database.
	present := map[string][]legacyTable{}
	for _, k := range kinds {
		names := []string{k.base}
		for i := 0; i < im.opts.TablesPerShard; i++ {
			names = append(names, fmt.Sprintf("%s_%03d", k.base, i))
		}
		for _, n := range names {
			if !have[n] {
				continue
			}
			cols, err := columns(ctx, src.DB, n)
			if err != nil {
				return fmt.Errorf("legacy users: %s: %w", src.Name, err)
			}
			sel := make([]string, len(k.cols))
			for i, c := range k.cols {
				def, optional := optionalColumns[c]
				switch {
				case cols[c]:
					// Decimals and datetimes as text: exact, and alike
					// on MySQL 8 and MariaDB.
					sel[i] = "CAST(`" + c + "` AS CHAR)"
				case optional:
					sel[i] = def
				default:
					return fmt.Errorf("legacy users: %s.%s has no column %s", src.Name, n, c)
				}
			}
			present[k.base] = append(present[k.base], legacyTable{name: n, sel: strings.Join(sel, ", ")})
		}
	}
	users := map[string]bool{}
	for _, tabs := range present {
		for _, tab := range tabs {
			n := tab.name
			rows, err := src.DB.QueryContext(ctx, "SELECT DISTINCT user_id FROM `"+n+"`")
			if err != nil {
				return fmt.Errorf("legacy users: %s.%s: %w", src.Name, n, err)
			}
			for rows.Next() {
				var u string
				if err := rows.Scan(&u); err != nil {
					rows.Close()
					return fmt.Errorf("legacy users: %s.%s: %w", src.Name, n, err)
				}
				users[u] = true
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return fmt.Errorf("legacy users: %s.%s: %w", src.Name, n, err)
			}
		}
	}
	ids := make([]string, 0, len(users))
	for u := range users {
		ids = append(ids, u)
	}
	slices.Sort(ids)
	for start := 0; start < len(ids); start += im.opts.BatchUsers {
		batch := ids[start:min(start+im.opts.BatchUsers, len(ids))]
		bundles, err := im.read(ctx, src, present, batch)
		if err != nil {
			return err
		}
		for _, u := range batch {
			if err := im.user(ctx, u, bundles[u]); err != nil {
				return err
			}
		}
	}
	return nil
}

// bundle is every legacy row of one user, by kind.
type bundle map[string][]legacyRow

// read loads the rows of a batch of users from every table of the source.
func (im *usersImporter) read(ctx context.Context, src Source, present map[string][]legacyTable, users []string) (map[string]bundle, error) {
	out := make(map[string]bundle, len(users))
	args := make([]any, len(users))
	for i, u := range users {
		args[i] = u
	}
	in := strings.TrimSuffix(strings.Repeat("?,", len(users)), ",")
	for _, k := range kinds {
		for _, tab := range present[k.base] {
			n := tab.name
			q := "SELECT " + tab.sel + " FROM `" + n + "` WHERE user_id IN (" + in + ") ORDER BY id"
			rows, err := src.DB.QueryContext(ctx, q, args...)
			if err != nil {
				return nil, fmt.Errorf("legacy users: %s.%s: %w", src.Name, n, err)
			}
			vals := make([]sql.NullString, len(k.cols))
			ptrs := make([]any, len(k.cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				if err := rows.Scan(ptrs...); err != nil {
					rows.Close()
					return nil, fmt.Errorf("legacy users: %s.%s: %w", src.Name, n, err)
				}
				r := legacyRow{source: src.Name + "." + n, v: make(map[string]sql.NullString, len(k.cols))}
				for i, c := range k.cols {
					r.v[c] = vals[i]
				}
				u := r.s("user_id")
				if out[u] == nil {
					out[u] = bundle{}
				}
				out[u][k.base] = append(out[u][k.base], r)
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, fmt.Errorf("legacy users: %s.%s: %w", src.Name, n, err)
			}
		}
	}
	return out, nil
}

// op is one row to write: an insert and, when the insert hits a unique key, the
// query that tells whether this very row is there already (present) or another
// row holds the key (a conflict).
type op struct {
	table   string
	source  string
	row     string
	insert  string
	args    []any
	exists  string
	keyArgs []any
	// record is an award record, written through awarddb.
	record *award.Record
	// task is the outbox task that finishes the row (send_award for an
	// undelivered award record, send_rebate for an undelivered rebate order),
	// written with it.
	task *outbox.Task
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("legacy users: dry run")

// conflictError is a row whose unique key another row holds.
type conflictError struct{ op op }

func (e *conflictError) Error() string {
	return fmt.Sprintf("a unique key of this %s row is held by another row in bigmarket", e.op.table)
}

// user maps and writes one user.
func (im *usersImporter) user(ctx context.Context, userID string, b bundle) error {
	ops, skips := im.mapUser(userID, b)
	if len(skips) > 0 {
		im.rep.UsersSkipped++
		im.rep.Skipped = append(im.rep.Skipped, skips...)
		return nil
	}
	type counts struct{ inserted, present, tasks map[string]int }
	var got counts
	err := im.dst.InUserTx(ctx, userID, func(tx *sql.Tx, r sqldb.Route) error {
		got = counts{inserted: map[string]int{}, present: map[string]int{}, tasks: map[string]int{}}
		h := im.dst.Shard(r.Shard)
		for _, o := range ops {
			inserted, err := im.write(ctx, tx, h, r, o)
			if err != nil {
				return err
			}
			if inserted {
				got.inserted[o.table]++
				if o.task != nil {
					if err := im.tasks.InsertTx(ctx, tx, r, *o.task); err != nil {
						return fmt.Errorf("%s task for %s[%s]: %w", o.task.Topic, o.source, o.row, err)
					}
					got.tasks[o.task.Topic]++
				}
			} else {
				got.present[o.table]++
			}
		}
		if im.opts.DryRun {
			return errDryRun
		}
		return nil
	})
	var ce *conflictError
	switch {
	case errors.As(err, &ce):
		im.rep.UsersSkipped++
		im.rep.Skipped = append(im.rep.Skipped, Skip{Source: ce.op.source, Row: ce.op.row, User: userID, Reason: ce.Error()})
		return nil
	case err != nil && !errors.Is(err, errDryRun):
		return fmt.Errorf("legacy users: user %s: %w", userID, err)
	}
	im.rep.Users++
	for _, o := range ops {
		im.rep.table(o.table).Read++
	}
	for t, n := range got.inserted {
		im.rep.table(t).Inserted += n
	}
	for t, n := range got.present {
		im.rep.table(t).Present += n
	}
	for topic, n := range got.tasks {
		im.rep.Tasks[topic] += n
	}
	return nil
}

// write runs one op and reports whether it inserted the row.
func (im *usersImporter) write(ctx context.Context, tx *sql.Tx, h *sqldb.Handle, r sqldb.Route, o op) (bool, error) {
	var err error
	if o.record != nil {
		err = im.records.InsertTx(ctx, tx, r, *o.record)
	} else {
		_, err = h.ExecTx(ctx, tx, r.SQL(o.insert), o.args...)
		if err != nil && im.dst.Dialect().IsDuplicate(err) {
			err = fmt.Errorf("%w: %w", sqldb.ErrDuplicate, err)
		}
	}
	if err == nil {
		return true, nil
	}
	if !errors.Is(err, sqldb.ErrDuplicate) {
		return false, fmt.Errorf("insert %s (%s[%s]): %w", o.table, o.source, o.row, err)
	}
	var n int64
	if err := h.QueryRowTx(ctx, tx, r.SQL(o.exists), o.keyArgs...).Scan(&n); err != nil {
		return false, fmt.Errorf("look up %s (%s[%s]): %w", o.table, o.source, o.row, err)
	}
	if n == 0 {
		return false, &conflictError{op: o}
	}
	return false, nil
}

// queries are the statements of the tables the stores have no import for.
type queries struct {
	account, month, day, quota, raffle, rebate, creditAcct, creditOrder             string
	accountX, monthX, dayX, quotaX, raffleX, recordX, rebateX, creditAcctX, creditX string
}

func newQueries() queries {
	return queries{
		account: `INSERT INTO raffle_activity_account{{suffix}} (user_id, activity_id, total_count, total_count_surplus,
			day_count, day_count_surplus, month_count, month_count_surplus, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		accountX: `SELECT COUNT(*) FROM raffle_activity_account{{suffix}} WHERE user_id = ? AND activity_id = ?`,
		month: `INSERT INTO raffle_activity_account_month{{suffix}} (user_id, activity_id, month, month_count,
			month_count_surplus, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		monthX: `SELECT COUNT(*) FROM raffle_activity_account_month{{suffix}} WHERE user_id = ? AND activity_id = ? AND month = ?`,
		day: `INSERT INTO raffle_activity_account_day{{suffix}} (user_id, activity_id, day, day_count, day_count_surplus,
			create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		dayX: `SELECT COUNT(*) FROM raffle_activity_account_day{{suffix}} WHERE user_id = ? AND activity_id = ? AND day = ?`,
		quota: `INSERT INTO raffle_activity_order{{suffix}} (user_id, sku, activity_id, activity_name, strategy_id, order_id,
			order_time, total_count, day_count, month_count, pay_amount, state, out_business_no, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		quotaX: `SELECT COUNT(*) FROM raffle_activity_order{{suffix}} WHERE user_id = ? AND order_id = ?`,
		raffle: `INSERT INTO user_raffle_order{{suffix}} (user_id, activity_id, activity_name, strategy_id, order_id,
			order_time, order_state, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		raffleX: `SELECT COUNT(*) FROM user_raffle_order{{suffix}} WHERE user_id = ? AND order_id = ?`,
		recordX: `SELECT COUNT(*) FROM user_award_record{{suffix}} WHERE user_id = ? AND order_id = ?`,
		rebate:  `INSERT INTO user_behavior_rebate_order{{suffix}} (user_id, order_id, behavior_type, rebate_desc, rebate_type, rebate_config, out_business_no, biz_id, state, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rebateX: `SELECT COUNT(*) FROM user_behavior_rebate_order{{suffix}} WHERE user_id = ? AND order_id = ?`,
		creditAcct: `INSERT INTO user_credit_account{{suffix}} (user_id, total_amount, available_amount, account_status,
			create_time, update_time) VALUES (?, ?, ?, ?, ?, ?)`,
		creditAcctX: `SELECT COUNT(*) FROM user_credit_account{{suffix}} WHERE user_id = ?`,
		creditOrder: `INSERT INTO user_credit_order{{suffix}} (user_id, order_id, trade_name, trade_type, trade_amount,
			out_business_no, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		creditX: `SELECT COUNT(*) FROM user_credit_order{{suffix}} WHERE user_id = ? AND order_id = ?`,
	}
}

// Column widths of bigmarket's user tables that legacy values may exceed.
const (
	maxUserID        = 64
	maxOrderID       = 32
	maxOutBusinessNo = 64
	maxTradeName     = 64
)

// mapper collects one user's ops and problems.
type mapper struct {
	im     *usersImporter
	user   string
	ops    []op
	skips  []Skip
	cur    legacyRow
	bad    bool
	curRow string
}

func (m *mapper) skip(format string, args ...any) {
	m.bad = true
	m.skips = append(m.skips, Skip{Source: m.cur.source, Row: m.curRow, User: m.user, Reason: fmt.Sprintf(format, args...)})
}

// int reads a required integer column.
func (m *mapper) int(col string) int64 {
	n, ok := m.cur.i(col)
	if !ok {
		m.skip("%s %q is not an integer", col, m.cur.s(col))
	}
	return n
}

// ms reads a datetime column as unix ms; a NULL or zero date falls back to the
// first other column given that has a time, else to now.
func (m *mapper) ms(cols ...string) int64 {
	for _, c := range cols {
		t, ok := parseDatetime(m.cur.v[c], m.im.opts.Location)
		if !ok {
			m.skip("%s %q is not a datetime", c, m.cur.s(c))
			return 0
		}
		if !t.IsZero() {
			return t.UnixMilli()
		}
	}
	return m.im.opts.Now().UnixMilli()
}

// amount reads a DECIMAL column in hundredths; NULL is zero.
func (m *mapper) amount(col string) money.Amount {
	v := m.cur.v[col]
	if !v.Valid {
		return money.Amount{}
	}
	a, err := money.Parse(strings.TrimSpace(v.String))
	if err != nil {
		m.skip("%s %q is not an amount with at most 2 decimals", col, v.String)
	}
	return a
}

// text reads a column that must fit width characters (0: no limit) and, when
// required, be non-empty.
func (m *mapper) text(col string, width int, required bool) string {
	s := m.cur.s(col)
	if required && strings.TrimSpace(s) == "" {
		m.skip("%s is empty", col)
	}
	if width > 0 && len(s) > width {
		m.skip("%s %q is longer than bigmarket's %d characters", col, s, width)
	}
	return s
}

func (m *mapper) activity(col string) activity.Activity {
	id := m.int(col)
	a, ok := m.im.acts[id]
	if !ok {
		m.skip("activity %d is not in bigmarket's campaign", id)
	}
	return a
}

func (m *mapper) add(o op) {
	o.source, o.row = m.cur.source, m.curRow
	m.ops = append(m.ops, o)
}

// mapUser turns a user's legacy rows into ops, or into the reasons the user is
// left out.
func (im *usersImporter) mapUser(userID string, b bundle) ([]op, []Skip) {
	m := &mapper{im: im, user: userID}
	q := im.q
	each := func(base string, fn func()) {
		for _, r := range b[base] {
			m.cur, m.curRow = r, r.s("id")
			fn()
		}
	}
	if len(userID) > maxUserID || userID == "" {
		m.cur = legacyRow{source: "user_id"}
		m.skip("user id %q: want 1 to %d characters", userID, maxUserID)
		return nil, m.skips
	}
	each(tAccount, func() {
		act := m.activity("activity_id")
		m.add(op{table: tAccount, insert: q.account, exists: q.accountX, keyArgs: []any{userID, act.ID},
			args: []any{userID, act.ID, m.int("total_count"), m.int("total_count_surplus"), m.int("day_count"),
				m.int("day_count_surplus"), m.int("month_count"), m.int("month_count_surplus"),
				m.ms("create_time", "update_time"), m.ms("update_time", "create_time")}})
	})
	each(tAccountMonth, func() {
		act := m.activity("activity_id")
		month := m.text("month", 7, true)
		m.add(op{table: tAccountMonth, insert: q.month, exists: q.monthX, keyArgs: []any{userID, act.ID, month},
			args: []any{userID, act.ID, month, m.int("month_count"), m.int("month_count_surplus"),
				m.ms("create_time", "update_time"), m.ms("update_time", "create_time")}})
	})
	each(tAccountDay, func() {
		act := m.activity("activity_id")
		day := m.text("day", 10, true)
		m.add(op{table: tAccountDay, insert: q.day, exists: q.dayX, keyArgs: []any{userID, act.ID, day},
			args: []any{userID, act.ID, day, m.int("day_count"), m.int("day_count_surplus"),
				m.ms("create_time", "update_time"), m.ms("update_time", "create_time")}})
	})
	each(tQuotaOrder, func() {
		act := m.activity("activity_id")
		id := m.text("order_id", maxOrderID, true)
		state := m.cur.s("state")
		switch state {
		case "completed", "complete":
			state = string(activity.QuotaOrderCompleted)
		case string(activity.QuotaOrderWaitPay):
		default:
			m.skip("state %q: want completed or wait_pay", state)
		}
		m.add(op{table: tQuotaOrder, insert: q.quota, exists: q.quotaX, keyArgs: []any{userID, id},
			args: []any{userID, m.int("sku"), act.ID, m.cur.s("activity_name"), m.int("strategy_id"), id,
				m.ms("order_time", "create_time"), m.int("total_count"), m.int("day_count"), m.int("month_count"),
				m.amount("pay_amount").Cents(), state, m.text("out_business_no", maxOutBusinessNo, true),
				m.ms("create_time", "order_time"), m.ms("update_time", "create_time")}})
	})
	each(tRaffleOrder, func() {
		act := m.activity("activity_id")
		id := m.text("order_id", maxOrderID, true)
		state := activity.RaffleOrderState(m.cur.s("order_state"))
		if state != activity.RaffleOrderCreate && state != activity.RaffleOrderUsed && state != activity.RaffleOrderCancel {
			m.skip("order_state %q: want create, used or cancel", state)
		}
		m.add(op{table: tRaffleOrder, insert: q.raffle, exists: q.raffleX, keyArgs: []any{userID, id},
			args: []any{userID, act.ID, m.cur.s("activity_name"), m.int("strategy_id"), id, m.ms("order_time", "create_time"),
				string(state), m.ms("create_time", "order_time"), m.ms("update_time", "create_time")}})
	})
	each(tAwardRecord, func() { m.awardRecord() })
	// The original delivers a rebate with a credit order (integral) or a quota
	// order (sku) whose out_business_no is the rebate's biz id: a rebate order
	// without one was not delivered yet.
	delivered := map[string]bool{}
	for _, base := range []string{tCreditOrder, tQuotaOrder} {
		for _, r := range b[base] {
			delivered[r.s("out_business_no")] = true
		}
	}
	each(tRebateOrder, func() { m.rebateOrder(delivered) })
	each(tCreditAcct, func() {
		total, avail := m.amount("total_amount"), m.amount("available_amount")
		if total.IsNegative() || avail.IsNegative() {
			m.skip("negative amounts %s / %s", total, avail)
		}
		status := m.cur.s("account_status")
		if status != "open" && status != "close" {
			m.skip("account_status %q: want open or close", status)
		}
		m.add(op{table: tCreditAcct, insert: q.creditAcct, exists: q.creditAcctX, keyArgs: []any{userID},
			args: []any{userID, total.Cents(), avail.Cents(), status, m.ms("create_time", "update_time"), m.ms("update_time", "create_time")}})
	})
	each(tCreditOrder, func() {
		id := m.text("order_id", maxOrderID, true)
		typ := credit.TradeType(m.cur.s("trade_type"))
		if typ != credit.Forward && typ != credit.Reverse {
			m.skip("trade_type %q: want forward or reverse", typ)
		}
		amount := m.amount("trade_amount")
		if amount.IsNegative() {
			m.skip("trade_amount %s is negative", amount)
		}
		at := m.ms("create_time", "update_time")
		m.add(op{table: tCreditOrder, insert: q.creditOrder, exists: q.creditX, keyArgs: []any{userID, id},
			args: []any{userID, id, m.text("trade_name", maxTradeName, true), string(typ), amount.Cents(),
				m.text("out_business_no", maxOutBusinessNo, true), at, m.ms("update_time", "create_time")}})
	})
	if m.bad {
		return nil, m.skips
	}
	return m.ops, nil
}

// rebateOrder maps one behaviour rebate order: completed when the original
// delivered it, else in create with its send_rebate task.
func (m *mapper) rebateOrder(delivered map[string]bool) {
	q := m.im.q
	id := m.text("order_id", maxOrderID, true)
	typ := rebate.Type(m.cur.s("rebate_type"))
	if typ != rebate.TypeSKU && typ != rebate.TypeIntegral {
		m.skip("rebate_type %q: want sku or integral", typ)
	}
	bizID := m.text("biz_id", 255, true)
	behavior, cfg := m.text("behavior_type", 64, true), m.text("rebate_config", 255, true)
	at := m.ms("create_time", "update_time")
	state := rebate.OrderCompleted
	o := op{table: tRebateOrder, insert: q.rebate, exists: q.rebateX, keyArgs: []any{m.user, id}}
	if !delivered[bizID] {
		state = rebate.OrderCreate
		t, err := outbox.New(m.user, outbox.TopicSendRebate, taskID(outbox.TopicSendRebate, id), rebate.SendRebate{
			UserID: m.user, Behavior: behavior, Type: typ, Config: cfg, BizID: bizID, OrderID: id,
		}, time.UnixMilli(at))
		if err != nil {
			m.skip("send_rebate task: %v", err)
		}
		o.task = &t
	}
	o.args = []any{m.user, id, behavior, m.text("rebate_desc", 255, false), string(typ), cfg,
		m.text("out_business_no", maxOutBusinessNo, true), bizID, string(state), at, m.ms("update_time", "create_time")}
	m.add(o)
}

// awardRecord maps one award record; a record not yet delivered gets its
// send_award task.
func (m *mapper) awardRecord() {
	act := m.activity("activity_id")
	id := m.text("order_id", maxOrderID, true)
	awardID := m.int("award_id")
	aw, known := m.im.awards[awardID]
	state := award.RecordState(m.cur.s("award_state"))
	switch state {
	case award.RecordCompleted:
	case award.RecordCreate:
		if !known {
			m.skip("award %d is not in bigmarket's campaign: the record cannot be delivered", awardID)
		}
	default:
		m.skip("award_state %q: want create or completed", state)
	}
	at := m.ms("award_time", "create_time")
	rec := award.Record{
		UserID: m.user, ActivityID: act.ID, StrategyID: m.int("strategy_id"), OrderID: id, AwardID: awardID,
		AwardTitle: m.cur.s("award_title"), AwardConfig: aw.Config, State: state, Time: time.UnixMilli(at),
	}
	o := op{table: tAwardRecord, record: &rec, exists: m.im.q.recordX, keyArgs: []any{m.user, id}}
	if state == award.RecordCreate && known && !m.bad {
		t, err := outbox.New(m.user, outbox.TopicSendAward, taskID(outbox.TopicSendAward, id), award.SendAward{
			UserID: m.user, StrategyID: rec.StrategyID, ActivityID: rec.ActivityID, OrderID: id,
			AwardID: awardID, AwardTitle: rec.AwardTitle, AwardKey: aw.Key, AwardConfig: aw.Config,
		}, rec.Time)
		if err != nil {
			m.skip("send_award task: %v", err)
		}
		o.task = &t
	}
	m.add(o)
}

// taskID is the message id of the task an imported row gets: derived from the
// topic and the row's order id, 32 characters, so that a second run names the
// same task (which it does not write: the row is there already).
func taskID(topic, orderID string) string {
	sum := sha256.Sum256([]byte("legacy " + topic + " " + orderID))
	return "L" + hex.EncodeToString(sum[:])[:31]
}
