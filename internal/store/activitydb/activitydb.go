// Package activitydb stores quota accounts, raffle orders, quota orders, grants
// and SKU stock surpluses (activity.Store), and runs the quota step of a draw in
// the transaction that records its award (Store.Draw).
//
// Per-user rows live on the user's shard (sqldb routes). Every transaction that
// changes a user's quota rows touches the account row first (a locking read in a
// draw, the upsert in a quota order), so that on MySQL two of them for the same
// user and activity serialise on that row, and lock rows in one order:
// raffle_activity_order → raffle_activity_account → (a draw: the new
// user_raffle_order row, which no other transaction can know yet) → month row →
// day row → user_raffle_order. Day and month rows are looked up with plain reads under that
// lock and created by INSERT, never probed by a locking read or UPDATE of a
// missing key, so that InnoDB takes no gap locks (which would make two users'
// first draws of a day deadlock on a shared gap). On SQLite the single writer
// serialises everything.
package activitydb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/fencedb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

var _ activity.Store = (*Store)(nil)

// Limits of the list methods.
const (
	DefaultListLimit = 50
	MaxListLimit     = 1000
)

// Store implements activity.Store on a sqldb.DB. It is safe for concurrent use.
type Store struct {
	db     *sqldb.DB
	q      queries
	fences *fencedb.Store
	tasks  *outboxdb.Store
	// batches, one per shard, gather concurrent draws into shared
	// transactions (on SQLite, one savepoint of the writer's group commit);
	// nil when every draw runs alone.
	batches []*drawBatches
	// cache holds the quota rows of recent draws, for batches to skip their
	// locked reads (MySQL only; nil when off, see quotacache.go).
	cache *quotaCache

	// The draw's statements are prepared on every shard handle before the
	// first draw (sqldb.Handle.Prepare: SQLite only; parsing them is a third
	// of a draw's CPU otherwise).
	prepared atomic.Bool
	prepMu   sync.Mutex
}

// Option configures a Store.
type Option func(*options)

type options struct {
	batchers, batchSize int
	quotaCache          int
}

// WithDrawBatches sets how many draw batches run at once per shard (zero:
// DefaultDrawBatchers; negative: every draw runs in a transaction of its own)
// and the most draws of one batch (zero: DefaultDrawBatchSize).
func WithDrawBatches(batchers, size int) Option {
	return func(o *options) { o.batchers, o.batchSize = batchers, size }
}

// WithQuotaCache bounds the entries of the quota cache of batched draws on
// MySQL (zero: DefaultQuotaCacheSize; negative: off, every draw of a batch
// reads its rows under the account locks). SQLite has no quota cache: its
// reads cost no round trip.
func WithQuotaCache(entries int) Option {
	return func(o *options) { o.quotaCache = entries }
}

// New returns a Store on db.
func New(db *sqldb.DB, opts ...Option) *Store {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	s := &Store{db: db, q: newQueries(db.Dialect()), fences: fencedb.New(db), tasks: outboxdb.New(db)}
	if o.batchers >= 0 {
		batchers, size := cmp.Or(o.batchers, DefaultDrawBatchers), cmp.Or(o.batchSize, DefaultDrawBatchSize)
		for i := range db.Shards() {
			s.batches = append(s.batches, newDrawBatches(s, i, batchers, size))
		}
		if db.Dialect().Name() == sqldb.DriverMySQL && o.quotaCache >= 0 {
			s.cache = newQuotaCache(cmp.Or(o.quotaCache, DefaultQuotaCacheSize), time.Now)
		}
	}
	return s
}

// queries are the statements that depend on the dialect, built once.
type queries struct {
	lockAccount, upsertAccount, lockQuotaOrder string
	partakeRead                                string
	claimGrant                                 string
}

func newQueries(d sqldb.Dialect) queries {
	add := func(col string) string { return col + " = " + col + " + " + d.Excluded(col) }
	q := queries{
		lockAccount: `SELECT total_count, total_count_surplus, day_count, month_count
			FROM raffle_activity_account{{suffix}} WHERE user_id = ? AND activity_id = ?` + d.ForUpdate(),
		upsertAccount: `INSERT INTO raffle_activity_account{{suffix}} (user_id, activity_id, total_count, total_count_surplus,
			day_count, day_count_surplus, month_count, month_count_surplus, create_time, update_time)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ` +
			d.Upsert([]string{"user_id", "activity_id"},
				add("total_count"), add("total_count_surplus"), add("day_count"), add("day_count_surplus"),
				add("month_count"), add("month_count_surplus"), "update_time = "+d.Excluded("update_time")),
		lockQuotaOrder: qQuotaOrder + d.ForUpdate(),
		partakeRead:    qPartakeReadHead + qPartakeOrderSQLite,
		claimGrant: `INSERT INTO grant_claim (grant_id, user_id, activity_id, total_count, day_count, month_count, create_time)
			VALUES (?, ?, ?, ?, ?, ?, ?) ` + d.DoNothing([]string{"grant_id"}),
	}
	if d.Name() == sqldb.DriverMySQL {
		q.partakeRead = qPartakeReadHead + qPartakeOrderMySQL
	}
	return q
}

// queryer is what *sql.DB and *sql.Tx offer for reads.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// ---------------------------------------------------------------------------
// Draw

// DrawInput is what Draw needs.
type DrawInput struct {
	// UserID is the user drawing; it selects the shard.
	UserID string
	// Activity is the activity drawn (its id, name and strategy are copied into
	// a new raffle order). Draw does not check its state or dates: the caller
	// runs Activity.Check first.
	Activity activity.Activity
	// OrderID is the id of the new raffle order (at most 32 characters), used
	// only when the user has no unused order for the activity.
	OrderID string
	// Now is the time of the draw (order time and row timestamps).
	Now time.Time
	// Day and Month are the period keys of Now (activity.DayKey, MonthKey).
	Day, Month string
	// StockKeys are the stock fences the raffle may hold (DrawTx.Hold), if
	// known: a batch takes them all with its account locks, in the same
	// request, so that its raffles find them held. Draw only reads them.
	StockKeys []string
}

// Draw runs the quota step of a draw and the caller's raffle in ONE transaction
// on the user's shard:
//
//  1. the account row is locked (FOR UPDATE on MySQL), so that concurrent draws
//     of the same user on the activity run one after the other;
//  2. an unused raffle order (state create) of the user for the activity is
//     reused if one exists (Partake.Reused, no quota consumed); otherwise the
//     total surplus (no account → activity.ErrTotalQuota), the month row's and
//     the day row's surplus (activity.ErrMonthQuota, activity.ErrDayQuota; the
//     rows are created from the account's per-month and per-day quota when
//     missing) are each decremented by one and a raffle order is inserted with
//     in.OrderID, directly in state used (the same transaction records its
//     award, so the order is never seen unused);
//  3. raffle is called with the transaction (a DrawTx: the user's route, and
//     Hold for stock fences), the partake (TotalUsed, TodayUsed counting this
//     draw) and a batch: it runs the engine and adds the award record and the
//     outbox task to the batch;
//  4. a reused order is marked used (0 rows → activity.ErrOrderUsed) in the
//     same batch, the batch runs (one round trip on MySQL), and the
//     transaction commits.
//
// Concurrent draws of a shard share their transaction (a batch, see
// drawBatches; on SQLite a savepoint of the writer's group commit), with the
// same outcome each: on MySQL a batch of any size costs three requests (the
// account locks, the stock fences of in.StockKeys and the reads under the
// locks, led by the transaction's begin; the orders, surpluses, records and
// tasks, one statement per table, with a read of the rows they changed;
// commit), and a draw whose batch cannot commit runs again in a transaction of
// its own. Its raffle then runs again too. On MySQL a batch's draws whose
// quota rows are cached skip the locks and reads, and take with
// compare-and-set updates; a batch whose cached rows had changed runs again
// with the locked reads, its raffles too (quotacache.go).
//
// Any error, raffle's included, rolls the draw back and is returned wrapped
// (errors.Is works). The returned Partake's order is in state used.
//
// The transaction is retried as a whole when the engine reports a transient
// conflict (SQLITE_BUSY, MySQL deadlock or lock wait timeout; see sqldb.InTx), so
// raffle may run more than once for one Draw. It must keep no effects outside the
// transaction, or make them idempotent: the partake of a retry normally carries
// the same order id (the reused order, or in.OrderID), so a raffle that took award
// stock may remember its result by order id and reuse it instead of taking stock
// again. A unit taken by an attempt that rolled back and is not reused is lost:
// undersell, never oversell. raffle must write through the batch only, never
// through the shard's pools (with SQLite, the one writer connection is the
// transaction's: using Write() there waits forever).
//
// An empty UserID or OrderID or a non-positive activity id returns
// activity.ErrInvalid.
func (s *Store) Draw(ctx context.Context, in DrawInput, raffle Raffle) (activity.Partake, error) {
	if in.UserID == "" || in.OrderID == "" || in.Activity.ID <= 0 {
		return activity.Partake{}, fmt.Errorf("draw: user[%s] activity[%d] order[%s]: %w", in.UserID, in.Activity.ID, in.OrderID, activity.ErrInvalid)
	}
	if s.batches != nil {
		return s.batches[s.db.Route(in.UserID).Shard].draw(ctx, in, raffle)
	}
	return s.drawAlone(ctx, in, raffle)
}

// Raffle is the raffle step of a draw (see Draw): it runs in t, sees the
// partake p, and adds its writes (the award record, the outbox task) to w.
type Raffle func(t *DrawTx, p activity.Partake, w *sqldb.Batch) error

// DrawTx is the transaction a draw's raffle runs in. It is shared by the draws
// of a batch (other users' draws on the same shard), whose raffles run at the
// same time on MySQL: a raffle names its user's tables with Route, takes
// stock fences through Hold (safe for concurrent use), writes only through its
// batch, and uses Tx directly only when it is the batch's one raffle to do so.
type DrawTx struct {
	Tx    *sql.Tx
	Route sqldb.Route
	// ctx is the transaction's context; fences is shared by the raffles of
	// the transaction.
	ctx    context.Context
	fences *heldFences
}

// heldFences are the stock fences a transaction holds, by key, and the first
// failure to take one. It is safe for concurrent use; its lock also keeps the
// transaction to one fence read at a time.
type heldFences struct {
	mu     sync.Mutex
	gens   map[string]int64
	failed error
}

// Hold takes stock fence key in the transaction through hold (a locking read
// such as fencedb.Store.Hold), once per transaction and key: a fence stays held
// until the transaction ends, so later calls, of this draw's raffle or another
// one of its batch, answer the generation the first call read. hold runs on the
// transaction's context, not the caller's: a caller that goes away does not
// break the transaction its batch shares. A failure of hold fails the whole
// transaction.
func (t *DrawTx) Hold(key string, hold func(ctx context.Context, tx *sql.Tx, r sqldb.Route, key string) (int64, error)) (int64, error) {
	if t.fences == nil {
		t.fences = &heldFences{}
	}
	f := t.fences
	f.mu.Lock()
	defer f.mu.Unlock()
	if gen, ok := f.gens[key]; ok {
		return gen, nil
	}
	gen, err := hold(t.ctx, t.Tx, t.Route, key)
	if err != nil {
		f.failed = cmp.Or(f.failed, err)
		return 0, err
	}
	f.holdLocked(key, gen)
	return gen, nil
}

// holdLocked records that the transaction holds fence key at generation gen.
func (f *heldFences) holdLocked(key string, gen int64) {
	if f.gens == nil {
		f.gens = make(map[string]int64)
	}
	f.gens[key] = gen
}

// failure is the first failure to take a fence, if any.
func (f *heldFences) failure() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

// drawAlone runs one draw in a transaction of its own.
func (s *Store) drawAlone(ctx context.Context, in DrawInput, raffle Raffle) (activity.Partake, error) {
	// The draw changes the rows without the cache: a batch must read them
	// again.
	s.cache.forget(in.UserID, in.Activity.ID)
	s.prepareDraw(ctx)
	var out activity.Partake
	err := s.db.InUserTx(ctx, in.UserID, func(tx *sql.Tx, r sqldb.Route) error {
		t := s.stmtTx(ctx, tx, r)
		p, err := s.partake(t, r, in)
		if err != nil {
			return err
		}
		var w sqldb.Batch
		if err := raffle(&DrawTx{Tx: tx, Route: r, ctx: ctx}, p, &w); err != nil {
			return err
		}
		// A new order was inserted already used; a reused one is marked used
		// here, last in the batch, so that the batch's row count is its own.
		if p.Reused {
			w.Add("mark order["+p.Order.OrderID+"] used", r.SQL(qMarkUsed), in.Now.UnixMilli(), in.UserID, p.Order.OrderID)
		}
		n, err := t.h.ExecBatchTx(ctx, tx, &w)
		if err != nil {
			return err
		}
		if p.Reused && n == 0 {
			return fmt.Errorf("mark order[%s] used: %w", p.Order.OrderID, activity.ErrOrderUsed)
		}
		p.Order.State = activity.RaffleOrderUsed
		out = p
		return nil
	})
	if err != nil {
		return activity.Partake{}, fmt.Errorf("draw: user[%s] activity[%d]: %w", in.UserID, in.Activity.ID, err)
	}
	return out, nil
}

const (
	// qPeriods reads the month row (kind 1) and the day row (kind 2) at once.
	qPeriods = `SELECT 1, month_count, month_count_surplus FROM raffle_activity_account_month{{suffix}}
		WHERE user_id = ? AND activity_id = ? AND month = ?
		UNION ALL
		SELECT 2, day_count, day_count_surplus FROM raffle_activity_account_day{{suffix}}
		WHERE user_id = ? AND activity_id = ? AND day = ?`
	// qPartakeReadHead begins queries.partakeRead, which reads, under the
	// account lock, the month row (kind 1), the day row (kind 2) and the user's
	// oldest unused raffle order (kind 3) in one statement: columns kind, n1, n2, s1, s2 (count and surplus for a period
	// row; strategy id, order time, activity name and order id for the order).
	qPartakeReadHead = `SELECT 1, month_count, month_count_surplus, '', '' FROM raffle_activity_account_month{{suffix}}
		WHERE user_id = ? AND activity_id = ? AND month = ?
		UNION ALL
		SELECT 2, day_count, day_count_surplus, '', '' FROM raffle_activity_account_day{{suffix}}
		WHERE user_id = ? AND activity_id = ? AND day = ?
		UNION ALL
		`
	// qPartakeOrderSQLite and qPartakeOrderMySQL end queries.partakeRead: the unused
	// order. SQLite takes no parenthesised select in a UNION; MariaDB would
	// materialise the derived table (a temporary table per draw).
	qPartakeOrderSQLite = `SELECT 3, strategy_id, order_time, activity_name, order_id FROM (
			SELECT strategy_id, order_time, activity_name, order_id FROM user_raffle_order{{suffix}}
			WHERE user_id = ? AND activity_id = ? AND order_state = 'create' ORDER BY id LIMIT 1) o`
	qPartakeOrderMySQL = `(SELECT 3, strategy_id, order_time, activity_name, order_id FROM user_raffle_order{{suffix}}
			WHERE user_id = ? AND activity_id = ? AND order_state = 'create' ORDER BY id LIMIT 1)`
	// qTakeAllMySQL decrements the total, month and day surpluses in one
	// multi-table UPDATE (MySQL only; both period rows must exist). It changes
	// the three rows or none. Its row locks are taken under the account lock,
	// so their order among the period rows does not matter.
	qTakeAllMySQL = `UPDATE raffle_activity_account{{suffix}} a, raffle_activity_account_month{{suffix}} m,
		raffle_activity_account_day{{suffix}} d
		SET a.total_count_surplus = a.total_count_surplus - 1, a.update_time = ?,
			m.month_count_surplus = m.month_count_surplus - 1, m.update_time = ?,
			d.day_count_surplus = d.day_count_surplus - 1, d.update_time = ?
		WHERE a.user_id = ? AND a.activity_id = ? AND a.total_count_surplus > 0
			AND m.user_id = a.user_id AND m.activity_id = a.activity_id AND m.month = ? AND m.month_count_surplus > 0
			AND d.user_id = a.user_id AND d.activity_id = a.activity_id AND d.day = ? AND d.day_count_surplus > 0`
	qTakeTotal = `UPDATE raffle_activity_account{{suffix}}
		SET total_count_surplus = total_count_surplus - 1, update_time = ?
		WHERE user_id = ? AND activity_id = ? AND total_count_surplus > 0`
	qTakeMonth = `UPDATE raffle_activity_account_month{{suffix}}
		SET month_count_surplus = month_count_surplus - 1, update_time = ?
		WHERE user_id = ? AND activity_id = ? AND month = ? AND month_count_surplus > 0`
	qTakeDay = `UPDATE raffle_activity_account_day{{suffix}}
		SET day_count_surplus = day_count_surplus - 1, update_time = ?
		WHERE user_id = ? AND activity_id = ? AND day = ? AND day_count_surplus > 0`
	qInsertMonth = `INSERT INTO raffle_activity_account_month{{suffix}} (user_id, activity_id, month, month_count,
		month_count_surplus, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qInsertDay = `INSERT INTO raffle_activity_account_day{{suffix}} (user_id, activity_id, day, day_count,
		day_count_surplus, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?)`
	qInsertRaffleOrder = `INSERT INTO user_raffle_order{{suffix}} (user_id, activity_id, activity_name, strategy_id,
		order_id, order_time, order_state, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qMarkUsed = `UPDATE user_raffle_order{{suffix}} SET order_state = 'used', update_time = ?
		WHERE user_id = ? AND order_id = ? AND order_state = 'create'`
)

// accountRow is the part of an account row a draw needs.
type accountRow struct {
	total, totalSurplus, day, month int64
}

// periodRow is a day or month row: its quota and surplus.
type periodRow struct {
	count, surplus int64
	found          bool
}

// partake is steps 1–2 of Draw.
func (s *Store) partake(t stmtTx, r sqldb.Route, in DrawInput) (activity.Partake, error) {
	acc, hasAccount, month, day, unused, err := s.partakeReads(t, r, in)
	if err != nil {
		return activity.Partake{}, err
	}
	pl, err := decide(in, acc, hasAccount, month, day, unused)
	if err != nil || pl.p.Reused {
		return pl.p, err
	}
	var w sqldb.Batch
	pl.addOrder(&w, r, in)
	if err := s.take(t, r, in, pl.now, pl.monthFound, pl.dayFound, pl.month.count, pl.day.count, &w); err != nil {
		var batch *sqldb.BatchError
		if errors.As(err, &batch) && s.db.Dialect().IsDuplicate(err) { // the order's id is taken
			err = fmt.Errorf("%w: %w: %w", activity.ErrDuplicate, sqldb.ErrDuplicate, err)
		}
		return activity.Partake{}, err
	}
	return pl.p, nil
}

// plan is what a draw's partake decided from the rows read under the account
// lock: the partake, and for a new order the surpluses it takes from.
type plan struct {
	p activity.Partake
	// acc, month and day are the rows as read (month and day filled from the
	// account's per-period quota when not found, found telling which).
	acc                  accountRow
	month, day           periodRow
	monthFound, dayFound bool
	now                  int64 // in.Now in Unix milliseconds
}

// decide is step 2 of Draw without its writes: an unused order is reused (no
// quota taken); otherwise each of the total, month and day surpluses must have
// a draw left, and the new order in.OrderID is described. Errors are the
// quota's (activity.ErrTotalQuota, ErrMonthQuota, ErrDayQuota).
func decide(in DrawInput, acc accountRow, hasAccount bool, month, day periodRow, unused activity.RaffleOrder) (plan, error) {
	user, act := in.UserID, in.Activity.ID
	o := activity.RaffleOrder{UserID: user, ActivityID: act, State: activity.RaffleOrderCreate}
	if unused.OrderID != "" {
		o.ActivityName, o.StrategyID, o.OrderID, o.OrderTime = unused.ActivityName, unused.StrategyID, unused.OrderID, unused.OrderTime
		p := activity.Partake{Order: o, Reused: true}
		if hasAccount {
			p.TotalUsed = acc.total - acc.totalSurplus
		}
		if day.found {
			p.TodayUsed = day.count - day.surplus
		}
		return plan{p: p}, nil
	}

	if !hasAccount || acc.totalSurplus <= 0 {
		return plan{}, activity.ErrTotalQuota
	}
	pl := plan{acc: acc, monthFound: month.found, dayFound: day.found}
	if !month.found {
		month.count, month.surplus = acc.month, acc.month
	}
	if month.surplus <= 0 {
		return plan{}, fmt.Errorf("month[%s]: %w", in.Month, activity.ErrMonthQuota)
	}
	if !day.found {
		day.count, day.surplus = acc.day, acc.day
	}
	if day.surplus <= 0 {
		return plan{}, fmt.Errorf("day[%s]: %w", in.Day, activity.ErrDayQuota)
	}
	pl.month, pl.day = month, day

	// The order is inserted in state used: the transaction that creates it
	// also records its award (Draw), so no one ever sees it unused.
	pl.now = in.Now.UnixMilli()
	o.ActivityName, o.StrategyID, o.OrderID, o.OrderTime = in.Activity.Name, in.Activity.StrategyID, in.OrderID, time.UnixMilli(pl.now)
	pl.p = activity.Partake{
		Order:     o,
		TotalUsed: acc.total - (acc.totalSurplus - 1),
		TodayUsed: day.count - (day.surplus - 1),
	}
	return pl, nil
}

// addOrder adds the insert of the plan's new raffle order (state used) to w.
func (pl plan) addOrder(w *sqldb.Batch, r sqldb.Route, in DrawInput) {
	o := pl.p.Order
	w.Add("insert raffle order["+o.OrderID+"]", r.SQL(qInsertRaffleOrder), in.UserID, in.Activity.ID, o.ActivityName, o.StrategyID,
		o.OrderID, pl.now, string(activity.RaffleOrderUsed), pl.now, pl.now)
}

// partakeReads locks the account row (a locking read on MySQL) and then reads
// the month and day rows and the user's oldest unused raffle order
// (queries.partakeRead) under that lock: on MySQL both statements go in one
// round trip, the server running them in that order.
func (s *Store) partakeReads(t stmtTx, r sqldb.Route, in DrawInput) (acc accountRow, hasAccount bool, m, d periodRow, o activity.RaffleOrder, err error) {
	user, act := in.UserID, in.Activity.ID
	lock, read := r.SQL(s.q.lockAccount), r.SQL(s.q.partakeRead)
	readArgs := []any{user, act, in.Month, user, act, in.Day, user, act}
	rows, multi, err := t.h.QueryMultiTx(t.ctx, t.tx, []string{lock, read}, append([]any{user, act}, readArgs...)...)
	if err != nil {
		return acc, false, m, d, o, fmt.Errorf("lock account, read month[%s] day[%s] unused order: %w", in.Month, in.Day, err)
	}
	if !multi {
		err := t.queryRow(lock, user, act).Scan(&acc.total, &acc.totalSurplus, &acc.day, &acc.month)
		hasAccount = err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return acc, false, m, d, o, fmt.Errorf("lock account: %w", err)
		}
		if rows, err = t.QueryContext(t.ctx, read, readArgs...); err != nil {
			return acc, false, m, d, o, fmt.Errorf("read month[%s] day[%s] unused order: %w", in.Month, in.Day, err)
		}
		m, d, o, err = scanPartakeRead(rows, in.Month, in.Day)
		return acc, hasAccount, m, d, o, err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&acc.total, &acc.totalSurplus, &acc.day, &acc.month); err != nil {
			return acc, false, m, d, o, fmt.Errorf("lock account: %w", err)
		}
		hasAccount = true
	}
	// Drain the account's result set (at most one row), then move on.
	for rows.Next() {
	}
	if !rows.NextResultSet() {
		if err := rows.Err(); err != nil {
			return acc, false, m, d, o, fmt.Errorf("lock account: %w", err)
		}
		return acc, false, m, d, o, fmt.Errorf("read month[%s] day[%s] unused order: no result set", in.Month, in.Day)
	}
	m, d, o, err = scanPartakeRead(rows, in.Month, in.Day)
	return acc, hasAccount, m, d, o, err
}

// take decrements the total, month and day surpluses by one (creating the
// month and day rows with quotas monthCount and dayCount, less the draw, when
// they were not found) and runs w (the raffle order's insert) with them. On
// MySQL, when both rows exist, one multi-table UPDATE does it, sent with w in
// one round trip; if it changes nothing (a surplus ran out since it was
// read), the per-row statements below run to tell which quota is exhausted.
func (s *Store) take(t stmtTx, r sqldb.Route, in DrawInput, now int64, monthFound, dayFound bool, monthCount, dayCount int64, w *sqldb.Batch) error {
	user, act := in.UserID, in.Activity.ID
	if monthFound && dayFound && s.db.Dialect().Name() == sqldb.DriverMySQL {
		w.Add("take total, month["+in.Month+"], day["+in.Day+"]", r.SQL(qTakeAllMySQL), now, now, now, user, act, in.Month, in.Day)
		n, err := t.h.ExecBatchTx(t.ctx, t.tx, w)
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
	if _, err := t.h.ExecBatchTx(t.ctx, t.tx, w); err != nil {
		return err
	}
	if err := t.mustUpdate(r.SQL(qTakeTotal), activity.ErrTotalQuota, now, user, act); err != nil {
		return fmt.Errorf("take total: %w", err)
	}
	var err error
	if monthFound {
		err = t.mustUpdate(r.SQL(qTakeMonth), activity.ErrMonthQuota, now, user, act, in.Month)
	} else {
		_, err = t.exec(r.SQL(qInsertMonth), user, act, in.Month, monthCount, monthCount-1, now, now)
	}
	if err != nil {
		return fmt.Errorf("take month[%s]: %w", in.Month, err)
	}
	if dayFound {
		err = t.mustUpdate(r.SQL(qTakeDay), activity.ErrDayQuota, now, user, act, in.Day)
	} else {
		_, err = t.exec(r.SQL(qInsertDay), user, act, in.Day, dayCount, dayCount-1, now, now)
	}
	if err != nil {
		return fmt.Errorf("take day[%s]: %w", in.Day, err)
	}
	return nil
}

// scanPartakeRead reads the rows of queries.partakeRead: the month and day
// rows and the user's oldest unused raffle order (zero OrderID: none). It
// closes rows.
func scanPartakeRead(rows *sql.Rows, month, day string) (m, d periodRow, o activity.RaffleOrder, err error) {
	defer rows.Close()
	return scanPartakeRows(rows, month, day)
}

// scanPartakeRows reads the rows of queries.partakeRead in the current result
// set of rows, which it leaves open.
func scanPartakeRows(rows *sql.Rows, month, day string) (m, d periodRow, o activity.RaffleOrder, err error) {
	for rows.Next() {
		var kind int
		var n1, n2 int64
		var s1, s2 string
		if err := rows.Scan(&kind, &n1, &n2, &s1, &s2); err != nil {
			return m, d, o, fmt.Errorf("read month[%s] day[%s] unused order: %w", month, day, err)
		}
		switch kind {
		case 1:
			m = periodRow{count: n1, surplus: n2, found: true}
		case 2:
			d = periodRow{count: n1, surplus: n2, found: true}
		case 3:
			o.StrategyID, o.OrderTime, o.ActivityName, o.OrderID = n1, time.UnixMilli(n2), s1, s2
		}
	}
	if err := rows.Err(); err != nil {
		return m, d, o, fmt.Errorf("read month[%s] day[%s] unused order: %w", month, day, err)
	}
	return m, d, o, nil
}

// periods reads the month row month and the day row day in one statement.
func periods(ctx context.Context, q queryer, r sqldb.Route, user string, act int64, month, day string) (m, d periodRow, err error) {
	rows, err := q.QueryContext(ctx, r.SQL(qPeriods), user, act, month, user, act, day)
	if err != nil {
		return m, d, fmt.Errorf("read month[%s] day[%s]: %w", month, day, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind int
		var p periodRow
		if err := rows.Scan(&kind, &p.count, &p.surplus); err != nil {
			return m, d, fmt.Errorf("read month[%s] day[%s]: %w", month, day, err)
		}
		p.found = true
		if kind == 1 {
			m = p
		} else {
			d = p
		}
	}
	if err := rows.Err(); err != nil {
		return m, d, fmt.Errorf("read month[%s] day[%s]: %w", month, day, err)
	}
	return m, d, nil
}

// drawQueries are the statements of Draw, prepared once on SQLite.
func (s *Store) drawQueries() []string {
	return []string{s.q.lockAccount, s.q.partakeRead, qPeriods, qTakeTotal, qTakeMonth, qTakeDay,
		qInsertMonth, qInsertDay, qInsertRaffleOrder, qMarkUsed}
}

// prepareDraw prepares Draw's statements on SQLite's writer connection, once
// per shard handle. It runs outside any transaction (preparing through the pool
// needs the one writer connection). A failure is not an error: the statements
// then run unprepared, and the handle prepares them after their first use.
func (s *Store) prepareDraw(ctx context.Context) {
	if s.prepared.Load() {
		return
	}
	s.prepMu.Lock()
	defer s.prepMu.Unlock()
	if s.prepared.Load() {
		return
	}
	for i := range s.db.Shards() {
		h := s.db.Shard(i)
		for _, suffix := range s.db.Suffixes() {
			r := sqldb.Route{Shard: i, Suffix: suffix}
			qs := s.drawQueries()
			for j, q := range qs {
				qs[j] = r.SQL(q)
			}
			_ = h.Prepare(ctx, qs...)
		}
	}
	s.prepared.Store(true)
}

// stmtTx runs the statements of one transaction on the user's shard through
// the shard's prepared statements (sqldb.Handle.ExecTx). Queries are routed
// SQL.
type stmtTx struct {
	ctx context.Context
	tx  *sql.Tx
	h   *sqldb.Handle
}

func (s *Store) stmtTx(ctx context.Context, tx *sql.Tx, r sqldb.Route) stmtTx {
	return stmtTx{ctx: ctx, tx: tx, h: s.db.Shard(r.Shard)}
}

func (t stmtTx) exec(query string, args ...any) (sql.Result, error) {
	return t.h.ExecTx(t.ctx, t.tx, query, args...)
}

func (t stmtTx) queryRow(query string, args ...any) *sql.Row {
	return t.h.QueryRowTx(t.ctx, t.tx, query, args...)
}

// QueryRowContext makes stmtTx a queryer (the transaction's ctx is used).
func (t stmtTx) QueryRowContext(_ context.Context, query string, args ...any) *sql.Row {
	return t.queryRow(query, args...)
}

// QueryContext makes stmtTx a queryer (the transaction's ctx is used).
func (t stmtTx) QueryContext(_ context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.h.QueryTx(t.ctx, t.tx, query, args...)
}

// mustUpdate runs an UPDATE that must change one row; zero rows returns none.
func (t stmtTx) mustUpdate(query string, none error, args ...any) error {
	res, err := t.exec(query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}

// ---------------------------------------------------------------------------
// Reads

const (
	qAccount = `SELECT total_count, total_count_surplus, day_count, month_count
		FROM raffle_activity_account{{suffix}} WHERE user_id = ? AND activity_id = ?`
	qTodayDraws = `SELECT day_count - day_count_surplus FROM raffle_activity_account_day{{suffix}}
		WHERE user_id = ? AND activity_id = ? AND day = ?`
	qTotalDraws = `SELECT total_count - total_count_surplus FROM raffle_activity_account{{suffix}}
		WHERE user_id = ? AND activity_id = ?`
	qAccountsByUser = `SELECT activity_id FROM raffle_activity_account{{suffix}} WHERE user_id = ? ORDER BY activity_id`
)

// Account returns userID's quota on the activity: the account's total and
// surplus, and day/month figures from the day and month rows when they exist,
// else the account's per-day/per-month quota (what a fresh row would get). A
// user without an account reads as the zero Account, without error.
func (s *Store) Account(ctx context.Context, userID string, activityID int64, day, month string) (activity.Account, error) {
	r := s.db.Route(userID)
	var out activity.Account
	err := sqldb.InReadTx(ctx, s.db.Shard(r.Shard), func(tx *sql.Tx) error {
		var err error
		out, err = readAccount(ctx, tx, r, userID, activityID, day, month)
		return err
	})
	if err != nil {
		return activity.Account{}, fmt.Errorf("account: user[%s] activity[%d]: %w", userID, activityID, err)
	}
	return out, nil
}

func readAccount(ctx context.Context, q queryer, r sqldb.Route, userID string, activityID int64, day, month string) (activity.Account, error) {
	var acc accountRow
	err := q.QueryRowContext(ctx, r.SQL(qAccount), userID, activityID).Scan(&acc.total, &acc.totalSurplus, &acc.day, &acc.month)
	if errors.Is(err, sql.ErrNoRows) {
		return activity.Account{}, nil
	}
	if err != nil {
		return activity.Account{}, err
	}
	out := activity.Account{
		TotalCount: acc.total, TotalSurplus: acc.totalSurplus,
		DayCount: acc.day, DaySurplus: acc.day,
		MonthCount: acc.month, MonthSurplus: acc.month,
	}
	m, d, err := periods(ctx, q, r, userID, activityID, month, day)
	if err != nil {
		return activity.Account{}, err
	}
	if d.found {
		out.DayCount, out.DaySurplus = d.count, d.surplus
	}
	if m.found {
		out.MonthCount, out.MonthSurplus = m.count, m.surplus
	}
	return out, nil
}

// AccountsByUser returns every account of userID, by activity id, read as
// Account does (for the operators' user view). A user without accounts gets an
// empty map.
func (s *Store) AccountsByUser(ctx context.Context, userID, day, month string) (map[int64]activity.Account, error) {
	r := s.db.Route(userID)
	out := map[int64]activity.Account{}
	err := sqldb.InReadTx(ctx, s.db.Shard(r.Shard), func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, r.SQL(qAccountsByUser), userID)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			a, err := readAccount(ctx, tx, r, userID, id, day, month)
			if err != nil {
				return fmt.Errorf("activity[%d]: %w", id, err)
			}
			out[id] = a
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("accounts: user[%s]: %w", userID, err)
	}
	return out, nil
}

// TodayDraws returns day_count − day_count_surplus of userID's day row of the
// activity: the draws made on day (0 without a row).
func (s *Store) TodayDraws(ctx context.Context, userID string, activityID int64, day string) (int64, error) {
	n, err := s.scalar(ctx, userID, qTodayDraws, userID, activityID, day)
	if err != nil {
		return 0, fmt.Errorf("today draws: user[%s] activity[%d] day[%s]: %w", userID, activityID, day, err)
	}
	return n, nil
}

// TotalDraws returns total_count − total_count_surplus of userID's account on
// the activity: the draws made (0 without an account).
func (s *Store) TotalDraws(ctx context.Context, userID string, activityID int64) (int64, error) {
	n, err := s.scalar(ctx, userID, qTotalDraws, userID, activityID)
	if err != nil {
		return 0, fmt.Errorf("total draws: user[%s] activity[%d]: %w", userID, activityID, err)
	}
	return n, nil
}

// scalar reads one integer from userID's shard; no row reads as 0.
func (s *Store) scalar(ctx context.Context, userID, q string, args ...any) (int64, error) {
	r := s.db.Route(userID)
	var n int64
	err := s.db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(q), args...).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// ---------------------------------------------------------------------------
// Quota orders

const (
	quotaOrderCols = `user_id, sku, activity_id, activity_name, strategy_id, order_id, order_time,
		total_count, day_count, month_count, pay_amount, state, out_business_no`
	qQuotaOrder = `SELECT ` + quotaOrderCols + ` FROM raffle_activity_order{{suffix}}
		WHERE user_id = ? AND out_business_no = ?`
	qInsertQuotaOrder = `INSERT INTO raffle_activity_order{{suffix}} (` + quotaOrderCols + `, create_time, update_time)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qCompleteQuotaOrder = `UPDATE raffle_activity_order{{suffix}} SET state = 'completed', update_time = ?
		WHERE user_id = ? AND out_business_no = ? AND state = 'wait_pay'`
	qAddMonth = `UPDATE raffle_activity_account_month{{suffix}}
		SET month_count = month_count + ?, month_count_surplus = month_count_surplus + ?, update_time = ?
		WHERE user_id = ? AND activity_id = ? AND month = ?`
	qAddDay = `UPDATE raffle_activity_account_day{{suffix}}
		SET day_count = day_count + ?, day_count_surplus = day_count_surplus + ?, update_time = ?
		WHERE user_id = ? AND activity_id = ? AND day = ?`
	qQuotaOrdersByUser = `SELECT ` + quotaOrderCols + ` FROM raffle_activity_order{{suffix}}
		WHERE user_id = ? ORDER BY order_time DESC, id DESC LIMIT ?`
)

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanQuotaOrder(sc scanner) (activity.QuotaOrder, error) {
	var o activity.QuotaOrder
	var ms, pay int64
	var state string
	err := sc.Scan(&o.UserID, &o.SKU, &o.ActivityID, &o.ActivityName, &o.StrategyID, &o.OrderID, &ms,
		&o.Total, &o.Day, &o.Month, &pay, &state, &o.OutBusinessNo)
	if err != nil {
		return activity.QuotaOrder{}, err
	}
	o.OrderTime, o.PayAmount, o.State = time.UnixMilli(ms), money.FromCents(pay), activity.QuotaOrderState(state)
	return o, nil
}

// QuotaOrder returns userID's quota order with outBusinessNo, or an error
// wrapping activity.ErrOrderNotFound.
func (s *Store) QuotaOrder(ctx context.Context, userID, outBusinessNo string) (activity.QuotaOrder, error) {
	r := s.db.Route(userID)
	o, err := scanQuotaOrder(s.db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(qQuotaOrder), userID, outBusinessNo))
	if errors.Is(err, sql.ErrNoRows) {
		err = activity.ErrOrderNotFound
	}
	if err != nil {
		return activity.QuotaOrder{}, fmt.Errorf("quota order: user[%s] out_business_no[%s]: %w", userID, outBusinessNo, err)
	}
	return o, nil
}

// QuotaOrdersByUser returns userID's quota orders, newest first. limit ≤ 0
// means DefaultListLimit; it is capped at MaxListLimit.
func (s *Store) QuotaOrdersByUser(ctx context.Context, userID string, limit int) ([]activity.QuotaOrder, error) {
	r := s.db.Route(userID)
	rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qQuotaOrdersByUser), userID, listLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("quota orders: user[%s]: %w", userID, err)
	}
	defer rows.Close()
	out := []activity.QuotaOrder{}
	for rows.Next() {
		o, err := scanQuotaOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("quota orders: user[%s]: %w", userID, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("quota orders: user[%s]: %w", userID, err)
	}
	return out, nil
}

// AddQuota stores o in raffle_activity_order on o.UserID's shard and, when
// o.State is completed, adds its counts to the account (created if missing) and
// to the day row day and the month row month if they exist, in one transaction
// (see the activity package doc). o.OrderTime stamps the rows. A repeated
// out_business_no or order id returns an error wrapping activity.ErrDuplicate
// (and sqldb.ErrDuplicate) and changes nothing. An empty user, order id or
// out_business_no, or a negative count, returns activity.ErrInvalid.
func (s *Store) AddQuota(ctx context.Context, o activity.QuotaOrder, day, month string) error {
	if o.UserID == "" || o.OrderID == "" || o.OutBusinessNo == "" || o.Total < 0 || o.Day < 0 || o.Month < 0 {
		return fmt.Errorf("add quota: user[%s] order[%s] out_business_no[%s]: %w", o.UserID, o.OrderID, o.OutBusinessNo, activity.ErrInvalid)
	}
	err := s.db.InUserTx(ctx, o.UserID, func(tx *sql.Tx, r sqldb.Route) error {
		return s.addQuotaTx(ctx, tx, r, o, day, month)
	})
	if err != nil {
		return fmt.Errorf("add quota: user[%s] activity[%d] out_business_no[%s]: %w", o.UserID, o.ActivityID, o.OutBusinessNo, err)
	}
	return nil
}

// addQuotaTx is AddQuota's work inside tx.
func (s *Store) addQuotaTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, o activity.QuotaOrder, day, month string) error {
	ms := o.OrderTime.UnixMilli()
	_, err := tx.ExecContext(ctx, r.SQL(qInsertQuotaOrder), o.UserID, o.SKU, o.ActivityID, o.ActivityName, o.StrategyID,
		o.OrderID, ms, o.Total, o.Day, o.Month, o.PayAmount.Cents(), string(o.State), o.OutBusinessNo, ms, ms)
	if err != nil {
		if s.db.Dialect().IsDuplicate(err) {
			return fmt.Errorf("%w: %w: %w", activity.ErrDuplicate, sqldb.ErrDuplicate, err)
		}
		return err
	}
	if o.State != activity.QuotaOrderCompleted {
		return nil
	}
	return s.addCounts(ctx, tx, r, o, ms, day, month)
}

// AddSKUOrder stores the SKU quota order o as AddQuota does, in one
// transaction that holds the stock fence of stockKey (store/fencedb) before it
// calls take, and that also stores zero (the activity_sku_stock_zero task) when
// take reports the last unit. When take takes nothing the error wraps
// activity.ErrSKUStockOut and nothing is stored; take's own errors are returned
// wrapped. Validation errors are AddQuota's.
func (s *Store) AddSKUOrder(ctx context.Context, o activity.QuotaOrder, day, month, stockKey string, take activity.SKUTakeFunc, zero outbox.Task) error {
	if o.UserID == "" || o.OrderID == "" || o.OutBusinessNo == "" || o.Total < 0 || o.Day < 0 || o.Month < 0 {
		return fmt.Errorf("add sku order: user[%s] order[%s] out_business_no[%s]: %w", o.UserID, o.OrderID, o.OutBusinessNo, activity.ErrInvalid)
	}
	err := s.addSKUOrder(ctx, o, day, month, stockKey, take, zero)
	if errors.Is(err, fencedb.ErrNoFence) {
		// The SKU's first order on this shard: create the fence rows outside
		// the transaction, then again.
		if err = s.fences.Ensure(ctx, stockKey); err == nil {
			err = s.addSKUOrder(ctx, o, day, month, stockKey, take, zero)
		}
	}
	if err != nil {
		return fmt.Errorf("add sku order: user[%s] sku[%d] out_business_no[%s]: %w", o.UserID, o.SKU, o.OutBusinessNo, err)
	}
	return nil
}

// addSKUOrder is AddSKUOrder's transaction.
func (s *Store) addSKUOrder(ctx context.Context, o activity.QuotaOrder, day, month, stockKey string, take activity.SKUTakeFunc, zero outbox.Task) error {
	return s.db.InUserTx(ctx, o.UserID, func(tx *sql.Tx, r sqldb.Route) error {
		gen, err := s.fences.Hold(ctx, tx, r, stockKey)
		if err != nil {
			return err
		}
		taken, last, err := take(ctx, gen)
		if err != nil {
			return err
		}
		if !taken {
			return activity.ErrSKUStockOut
		}
		if err := s.addQuotaTx(ctx, tx, r, o, day, month); err != nil {
			return err
		}
		if last {
			if err := s.tasks.InsertTx(ctx, tx, r, zero); err != nil {
				return fmt.Errorf("stock zero task: %w", err)
			}
		}
		return nil
	})
}

// addCounts adds o's counts to the account (upsert: it locks the account row
// first) and to the existing day and month rows.
func (s *Store) addCounts(ctx context.Context, tx *sql.Tx, r sqldb.Route, o activity.QuotaOrder, ms int64, day, month string) error {
	// A batch that read the rows before this commits would refill the
	// entry with them; its next draw's takes then find them changed and
	// read them again (quotacache.go).
	s.cache.forget(o.UserID, o.ActivityID)
	_, err := tx.ExecContext(ctx, r.SQL(s.q.upsertAccount), o.UserID, o.ActivityID, o.Total, o.Total, o.Day, o.Day,
		o.Month, o.Month, ms, ms)
	if err != nil {
		return fmt.Errorf("add to account: %w", err)
	}
	m, d, err := periods(ctx, tx, r, o.UserID, o.ActivityID, month, day)
	if err != nil {
		return err
	}
	if m.found && o.Month != 0 {
		if _, err := tx.ExecContext(ctx, r.SQL(qAddMonth), o.Month, o.Month, ms, o.UserID, o.ActivityID, month); err != nil {
			return fmt.Errorf("add to month[%s]: %w", month, err)
		}
	}
	if d.found && o.Day != 0 {
		if _, err := tx.ExecContext(ctx, r.SQL(qAddDay), o.Day, o.Day, ms, o.UserID, o.ActivityID, day); err != nil {
			return fmt.Errorf("add to day[%s]: %w", day, err)
		}
	}
	return nil
}

// CompleteQuotaOrder turns userID's quota order outBusinessNo from wait_pay to
// completed and adds its counts (as AddQuota does for a completed order), in one
// transaction; now stamps the rows. An order already completed changes nothing
// and returns nil; an unknown order returns an error wrapping
// activity.ErrOrderNotFound.
func (s *Store) CompleteQuotaOrder(ctx context.Context, userID, outBusinessNo string, now time.Time, day, month string) error {
	err := s.db.InUserTx(ctx, userID, func(tx *sql.Tx, r sqldb.Route) error {
		o, err := scanQuotaOrder(tx.QueryRowContext(ctx, r.SQL(s.q.lockQuotaOrder), userID, outBusinessNo))
		if errors.Is(err, sql.ErrNoRows) {
			return activity.ErrOrderNotFound
		}
		if err != nil {
			return err
		}
		if o.State == activity.QuotaOrderCompleted {
			return nil
		}
		ms := now.UnixMilli()
		res, err := tx.ExecContext(ctx, r.SQL(qCompleteQuotaOrder), ms, userID, outBusinessNo)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // 0 rows: completed meanwhile (the lock makes it unlikely)
		}
		return s.addCounts(ctx, tx, r, o, ms, day, month)
	})
	if err != nil {
		return fmt.Errorf("complete quota order: user[%s] out_business_no[%s]: %w", userID, outBusinessNo, err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Grants

const (
	qPendingGrants = `SELECT grant_id, user_id, activity_id, total_count, day_count, month_count
		FROM quota_grant WHERE state = ? ORDER BY grant_id`
	qMarkGrant  = `UPDATE quota_grant SET state = ?, update_time = ? WHERE grant_id = ?`
	qGrantClaim = `SELECT user_id, activity_id, total_count, day_count, month_count FROM grant_claim WHERE grant_id = ?`
)

// ApplyGrant adds g.QuotaOrder(act, now) (out_business_no "grant:"+id, SKU 0,
// completed, free) with AddQuota, idempotent by g.ID across users and shards: the
// first application claims the id with its body in the config database. The same
// grant again changes nothing and returns nil; the same id with another user,
// activity or counts changes nothing and returns activity.ErrGrantConflict. An
// invalid grant returns activity.ErrInvalid.
func (s *Store) ApplyGrant(ctx context.Context, g activity.Grant, act activity.Activity, now time.Time, day, month string) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("apply grant: %w", err)
	}
	if err := s.claimGrant(ctx, g, now); err != nil {
		return fmt.Errorf("apply grant[%s]: %w", g.ID, err)
	}
	err := s.AddQuota(ctx, g.QuotaOrder(act, now), day, month)
	if errors.Is(err, activity.ErrDuplicate) {
		// Applied before (or an id claimed before the claims existed): the
		// stored order must be this grant's.
		err = s.sameGrantOrder(ctx, g)
	}
	if err != nil {
		return fmt.Errorf("apply grant[%s]: %w", g.ID, err)
	}
	return nil
}

// claimGrant records g's id with its body, unless claimed before; a claim with
// another body returns activity.ErrGrantConflict.
func (s *Store) claimGrant(ctx context.Context, g activity.Grant, now time.Time) error {
	h := s.db.Config()
	if _, err := h.Write().ExecContext(ctx, s.q.claimGrant, g.ID, g.UserID, g.ActivityID, g.Total, g.Day, g.Month, now.UnixMilli()); err != nil {
		return fmt.Errorf("claim grant id: %w", err)
	}
	var c activity.Grant
	if err := h.Write().QueryRowContext(ctx, qGrantClaim, g.ID).Scan(&c.UserID, &c.ActivityID, &c.Total, &c.Day, &c.Month); err != nil {
		return fmt.Errorf("read grant claim: %w", err)
	}
	c.ID = g.ID
	if c != g {
		return fmt.Errorf("claimed by user[%s] activity[%d] counts %d/%d/%d: %w", c.UserID, c.ActivityID, c.Total, c.Day, c.Month, activity.ErrGrantConflict)
	}
	return nil
}

// sameGrantOrder checks that the quota order stored under g's out_business_no
// in g's user table is g's; another user's (same table) or other counts return
// activity.ErrGrantConflict.
func (s *Store) sameGrantOrder(ctx context.Context, g activity.Grant) error {
	o, err := s.QuotaOrder(ctx, g.UserID, activity.GrantOutBusinessNo(g.ID))
	if errors.Is(err, activity.ErrOrderNotFound) {
		return fmt.Errorf("grant order belongs to another user: %w", activity.ErrGrantConflict)
	}
	if err != nil {
		return err
	}
	if o.ActivityID != g.ActivityID || o.Total != g.Total || o.Day != g.Day || o.Month != g.Month {
		return fmt.Errorf("stored as activity[%d] counts %d/%d/%d: %w", o.ActivityID, o.Total, o.Day, o.Month, activity.ErrGrantConflict)
	}
	return nil
}

// PendingGrants returns the grants of the config database's quota_grant table
// still pending (campaign apply writes them so), in id order.
func (s *Store) PendingGrants(ctx context.Context) ([]activity.Grant, error) {
	rows, err := s.db.Config().Read().QueryContext(ctx, qPendingGrants, campaigndb.GrantPending)
	if err != nil {
		return nil, fmt.Errorf("pending grants: %w", err)
	}
	defer rows.Close()
	var out []activity.Grant
	for rows.Next() {
		var g activity.Grant
		if err := rows.Scan(&g.ID, &g.UserID, &g.ActivityID, &g.Total, &g.Day, &g.Month); err != nil {
			return nil, fmt.Errorf("pending grants: %w", err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending grants: %w", err)
	}
	return out, nil
}

// MarkGrantApplied sets grant id's state to applied; now stamps update_time.
// An unknown id returns an error wrapping sqldb.ErrNotFound.
func (s *Store) MarkGrantApplied(ctx context.Context, id string, now time.Time) error {
	res, err := s.db.Config().Write().ExecContext(ctx, qMarkGrant, campaigndb.GrantApplied, now.UnixMilli(), id)
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil && n == 0 {
			err = sqldb.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("mark grant[%s] applied: %w", id, err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// SKU stock

const (
	qCountSKUOrders = `SELECT COUNT(*) FROM raffle_activity_order{{suffix}} WHERE sku = ?`
	// qApplySKUTake lowers a surplus by N, never below 0. update_time is left
	// alone: it tracks configuration changes, not stock syncs.
	qApplySKUTake = `UPDATE raffle_activity_sku
		SET stock_count_surplus = CASE WHEN stock_count_surplus > ? THEN stock_count_surplus - ? ELSE 0 END
		WHERE sku = ?`
)

// CountSKUOrders returns the number of quota orders of sku (any state), summed
// over every shard database and table suffix: the durable count of SKU stock
// units taken.
func (s *Store) CountSKUOrders(ctx context.Context, sku int64) (int64, error) {
	var total int64
	for _, r := range s.db.Routes() {
		var n int64
		err := s.db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(qCountSKUOrders), sku).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("count sku orders: sku[%d] shard[%d] table%q: %w", sku, r.Shard, r.Suffix, err)
		}
		total += n
	}
	return total, nil
}

// ApplySKUTakes lowers raffle_activity_sku.stock_count_surplus by each take's N
// (never below 0) in one transaction on the config database: all or none.
// Takes of the same SKU are summed and applied in SKU order. A take with N = 0
// or of a SKU the database does not hold changes nothing; a negative N is an
// error.
func (s *Store) ApplySKUTakes(ctx context.Context, takes []activity.SKUTake) error {
	sum := map[int64]int64{}
	for _, t := range takes {
		if t.N < 0 {
			return fmt.Errorf("apply sku takes: sku[%d]: negative take %d", t.SKU, t.N)
		}
		if t.N > 0 {
			sum[t.SKU] += t.N
		}
	}
	if len(sum) == 0 {
		return nil
	}
	skus := make([]int64, 0, len(sum))
	for k := range sum {
		skus = append(skus, k)
	}
	sort.Slice(skus, func(i, j int) bool { return skus[i] < skus[j] })
	err := sqldb.InTx(ctx, s.db.Config(), func(tx *sql.Tx) error {
		for _, sku := range skus {
			n := sum[sku]
			if _, err := tx.ExecContext(ctx, qApplySKUTake, n, n, sku); err != nil {
				return fmt.Errorf("sku[%d]: %w", sku, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply sku takes: %d skus: %w", len(skus), err)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Raffle orders

const (
	raffleOrderCols     = `user_id, activity_id, activity_name, strategy_id, order_id, order_time, order_state`
	qRecentRaffleOrders = `SELECT ` + raffleOrderCols + ` FROM user_raffle_order{{suffix}}
		ORDER BY order_time DESC, id DESC LIMIT ?`
	qRaffleOrdersByUser = `SELECT ` + raffleOrderCols + ` FROM user_raffle_order{{suffix}}
		WHERE user_id = ? ORDER BY order_time DESC, id DESC LIMIT ?`
)

func scanRaffleOrders(rows *sql.Rows, out []activity.RaffleOrder) ([]activity.RaffleOrder, error) {
	defer rows.Close()
	for rows.Next() {
		var o activity.RaffleOrder
		var ms int64
		var state string
		if err := rows.Scan(&o.UserID, &o.ActivityID, &o.ActivityName, &o.StrategyID, &o.OrderID, &ms, &state); err != nil {
			return nil, err
		}
		o.OrderTime, o.State = time.UnixMilli(ms), activity.RaffleOrderState(state)
		out = append(out, o)
	}
	return out, rows.Err()
}

func listLimit(limit int) int {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	return min(limit, MaxListLimit)
}

// RecentRaffleOrders returns the latest raffle orders of all users, across
// every shard and table, newest first (by order time, then order id). limit ≤ 0
// means DefaultListLimit; it is capped at MaxListLimit. No orders is an empty
// slice.
func (s *Store) RecentRaffleOrders(ctx context.Context, limit int) ([]activity.RaffleOrder, error) {
	limit = listLimit(limit)
	out := []activity.RaffleOrder{}
	for _, r := range s.db.Routes() {
		rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qRecentRaffleOrders), limit)
		if err == nil {
			out, err = scanRaffleOrders(rows, out)
		}
		if err != nil {
			return nil, fmt.Errorf("recent raffle orders: shard[%d] table%q: %w", r.Shard, r.Suffix, err)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].OrderTime.Equal(out[j].OrderTime) {
			return out[i].OrderTime.After(out[j].OrderTime)
		}
		return out[i].OrderID > out[j].OrderID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// RaffleOrdersByUser returns userID's raffle orders, newest first. limit ≤ 0
// means DefaultListLimit; it is capped at MaxListLimit.
func (s *Store) RaffleOrdersByUser(ctx context.Context, userID string, limit int) ([]activity.RaffleOrder, error) {
	r := s.db.Route(userID)
	rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qRaffleOrdersByUser), userID, listLimit(limit))
	out := []activity.RaffleOrder{}
	if err == nil {
		out, err = scanRaffleOrders(rows, out)
	}
	if err != nil {
		return nil, fmt.Errorf("raffle orders: user[%s]: %w", userID, err)
	}
	return out, nil
}
