package activitydb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/platform/gather"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Draw batches.
//
// Concurrent draws on one shard are gathered into shared transactions (an
// application-level group commit): a batch is whatever draws are queued when
// one of the shard's batchers becomes free, never a timed wait, at most one
// per user and activity, and on MySQL costs the same three requests whatever
// its size:
//
//	START TRANSACTION (sent with the first request, see sqldb's lazybegin.go)
//	lock the accounts (every table's, one statement); read their month and day
//	  rows and unused orders (one statement); the stock fences of the draws'
//	  StockKeys                                                                    -- one request
//	(the raffles run at once, each calling its engine)
//	per table: take the surpluses (counting the rows changed); insert the orders,
//	  award records and tasks (one compound statement on MariaDB); read the
//	  count of rows changed                                                        -- one request
//	COMMIT
//
// On MySQL a draw whose quota rows the quota cache holds (quotacache.go) is
// neither locked nor read in the first request (only its unused orders are),
// and its takes are compare-and-set updates counted like the others. When
// they change fewer rows than planned, nothing of the batch is kept and its
// draws run again as a batch with the locked reads.
//
// On SQLite a batch is one savepoint of the writer's group commit: the same
// statements, run one after the other and prepared (the sets of users are one
// JSON argument, sqldb.InSet), the raffles one after the other in the
// writer's goroutine.
//
// Each draw keeps its own outcome. A draw whose quota is spent is answered at
// once (nothing of it is written); a draw with an unused order to reuse, and
// every draw of a batch that fails as a whole (a deadlock, a lost connection, a
// raffle's error, takes that did not change three rows per draw), runs again in
// a transaction of its own (Store.drawAlone), from the start: nothing of the
// batch was committed, and the raffle keeps its result across runs as it does
// across transaction retries.
const (
	// DefaultDrawBatchers is how many batches of a shard run at once: one
	// measured best (docs/PERFORMANCE.md), its batches the largest.
	DefaultDrawBatchers = 1
	// DefaultDrawBatchSize bounds the draws of one batch.
	DefaultDrawBatchSize = 64
	// drawBatchTimeout bounds a batch's transaction.
	drawBatchTimeout = 5 * time.Second
)

// drawBatches gathers the draws of one shard into batches.
type drawBatches struct {
	s      *Store
	shard  int
	gather *gather.Gather[*drawReq]
}

func newDrawBatches(s *Store, shard, batchers, size int) *drawBatches {
	b := &drawBatches{s: s, shard: shard}
	// A user's second draw on an activity waits for the next batch, as it
	// would wait for the account's lock.
	key := func(r *drawReq) string { return r.in.UserID + "\x00" + strconv.FormatInt(r.in.Activity.ID, 10) }
	b.gather = gather.New(batchers, size, key, b.run)
	return b
}

// drawReq is one queued draw.
type drawReq struct {
	ctx    context.Context
	in     DrawInput
	raffle Raffle
	route  sqldb.Route
	done   chan drawAnswer // buffered: the batch never waits for its caller
	// hit: the draw is decided from the quota cache's rows, acc, m and d,
	// and takes with compare-and-set updates (quotacache.go).
	hit  bool
	acc  accountRow
	m, d periodRow
}

// drawAnswer is a batch's answer to one draw.
type drawAnswer struct {
	p        activity.Partake
	err      error
	alone    bool // run the draw in a transaction of its own
	panicked any
}

// draw queues a draw and waits for its batch's answer. A caller whose context
// ends while its draw is still queued leaves with the context's error; once a
// batch took the draw, the caller waits for the batch (bounded by
// drawBatchTimeout, twice that when the batch runs again without the quota
// cache), whose raffle is the caller's.
func (b *drawBatches) draw(ctx context.Context, in DrawInput, raffle Raffle) (activity.Partake, error) {
	req := &drawReq{ctx: ctx, in: in, raffle: raffle, route: b.s.db.Route(in.UserID), done: make(chan drawAnswer, 1)}
	ticket := b.gather.Add(req)
	var ans drawAnswer
	select {
	case ans = <-req.done:
	case <-ctx.Done():
		if ticket.Withdraw() {
			return activity.Partake{}, fmt.Errorf("draw: user[%s] activity[%d]: %w", in.UserID, in.Activity.ID, ctx.Err())
		}
		ans = <-req.done
	}
	switch {
	case ans.panicked != nil:
		panic(ans.panicked)
	case ans.alone:
		return b.s.drawAlone(ctx, in, raffle)
	case ans.err != nil:
		return activity.Partake{}, fmt.Errorf("draw: user[%s] activity[%d]: %w", in.UserID, in.Activity.ID, ans.err)
	}
	return ans.p, nil
}

// readResult is one draw's partake as a batch decided it.
type readResult struct {
	pl  plan
	err error // the quota's
}

// run runs one batch and answers each of its draws exactly once.
func (b *drawBatches) run(batch []*drawReq) {
	// The accounts are locked in one order (table, then user) by every
	// batch, so that two batches never wait for each other in a cycle.
	slices.SortFunc(batch, func(x, y *drawReq) int {
		return cmp.Or(strings.Compare(x.route.Suffix, y.route.Suffix), strings.Compare(x.in.UserID, y.in.UserID),
			cmp.Compare(x.in.Activity.ID, y.in.Activity.ID))
	})
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- drawAnswer{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	hits := b.lookUp(live)
	retry := b.attempt(live)
	if hits {
		b.s.cache.batchDone(retry == nil)
	}
	if len(retry) > 0 {
		// The takes of cached draws found their rows changed: the draws
		// the batch wrote run again, reading their rows under the locks.
		for _, r := range retry {
			r.hit = false
		}
		// Without cached draws an attempt answers every draw; should one
		// come back all the same, it runs alone rather than wait forever.
		for _, r := range b.attempt(retry) {
			r.done <- drawAnswer{alone: true}
		}
	}
}

// lookUp marks the draws of live that the quota cache can decide, and
// reports whether there is one.
func (b *drawBatches) lookUp(live []*drawReq) (hits bool) {
	for _, r := range live {
		acc, m, d, ok := b.s.cache.get(r.in.UserID, r.in.Activity.ID, r.in.Month, r.in.Day)
		if !ok {
			continue
		}
		// A spent quota is answered from the locked reads, not the cache.
		if _, err := decide(r.in, acc, true, m, d, activity.RaffleOrder{}); err != nil {
			continue
		}
		r.hit, r.acc, r.m, r.d = true, acc, m, d
		hits = true
		b.s.cache.hits.Add(1)
	}
	return hits
}

// attempt runs live, sorted, in one transaction and answers each draw once,
// except when cached draws' takes found their rows changed: then nothing of
// the batch is kept, and it returns the draws it wrote, unanswered, to run
// again without the cache.
func (b *drawBatches) attempt(live []*drawReq) (retry []*drawReq) {
	ctx, cancel := context.WithTimeout(context.Background(), drawBatchTimeout)
	defer cancel()
	h := b.s.db.Shard(b.shard)
	var (
		called, wrote bool
		inTx          []int // draws whose writes are in the batch, by index
		plans         map[int]plan
	)
	// On MySQL the batch is a transaction of its own; on SQLite it is one
	// savepoint of the writer's group commit. fn runs once: it answers every
	// draw it does not write, and returns nil only when the writes are done.
	err := sqldb.InTxOnce(ctx, h, func(tx *sql.Tx) error {
		called = true
		var err error
		inTx, plans, err = b.work(ctx, h, tx, live)
		wrote = err == nil
		return err
	})
	answerAll := func(a func(i int) drawAnswer) {
		for _, i := range inTx {
			live[i].done <- a(i)
		}
	}
	switch {
	case !called:
		// The transaction did not begin (or, on SQLite, the batch's turn
		// did not come): nothing ran, every draw runs alone.
		for _, r := range live {
			r.done <- drawAnswer{alone: true}
		}
	case !wrote:
		b.forget(live)
		var stale *staleTakes
		if errors.As(err, &stale) {
			// work answered every draw but these.
			for _, i := range stale.idx {
				retry = append(retry, live[i])
			}
		}
		// Otherwise work answered every draw.
	case err != nil:
		// The commit's outcome is unknown (the connection may have died
		// after the server committed): the draws must not run again.
		b.forget(live)
		answerAll(func(int) drawAnswer { return drawAnswer{err: err} })
	default:
		answerAll(func(i int) drawAnswer {
			p := plans[i].p
			p.Order.State = activity.RaffleOrderUsed
			return drawAnswer{p: p}
		})
		for _, i := range inTx {
			in, pl := live[i].in, plans[i]
			acc := pl.acc
			acc.totalSurplus--
			b.s.cache.put(in.UserID, in.Activity.ID, cachedQuota{
				acc: acc, month: in.Month, day: in.Day,
				m: periodRow{count: pl.month.count, surplus: pl.month.surplus - 1, found: true},
				d: periodRow{count: pl.day.count, surplus: pl.day.surplus - 1, found: true},
			})
		}
	}
	return retry
}

// forget drops the cache entries of live's draws: their rows may have
// changed without the cache knowing how.
func (b *drawBatches) forget(live []*drawReq) {
	for _, r := range live {
		b.s.cache.forget(r.in.UserID, r.in.Activity.ID)
	}
}

// staleTakes fails a batch whose cached draws' takes changed fewer rows than
// planned (a cached row had changed): the draws it wrote, by index in the
// batch, are left unanswered, to run again without the cache.
type staleTakes struct {
	idx []int
	err error
}

func (e *staleTakes) Error() string { return e.err.Error() }
func (e *staleTakes) Unwrap() error { return e.err }

// errBatchFailed ends a batch's transaction whose draws were all answered.
var errBatchFailed = errors.New("draw batch failed")

// work runs a batch in tx: it locks and reads the draws' rows, decides each
// draw, runs the raffles and sends the writes. It answers every draw it does
// not write (a spent quota, a draw to run alone, a caller gone); on success it
// returns the draws written, by index in live, with their plans, and these
// draws are answered by the caller once the transaction ends. On failure it
// has answered every draw (alone, or a raffle's panic) and returns an error:
// the transaction must roll back.
func (b *drawBatches) work(ctx context.Context, h *sqldb.Handle, tx *sql.Tx, live []*drawReq) (inTx []int, plans map[int]plan, err error) {
	alone := func(rs []*drawReq) {
		for _, r := range rs {
			r.done <- drawAnswer{alone: true}
		}
	}
	groups := groupsOf(live)
	fences := &heldFences{}
	reads, err := b.read(ctx, h, tx, live, groups, fences)
	if err != nil {
		alone(live)
		return nil, nil, err
	}

	var rows sqldb.Batch // orders and the raffles' writes
	plans = make(map[int]plan, len(live))
	// On MySQL the raffles run at once (each waits on its own engine calls,
	// the transaction's connection free between its statements). On SQLite
	// they run one after the other in the writer's goroutine: the writer is
	// the mode's bottleneck, and waiting for goroutines to be scheduled on a
	// busy machine idled it. Their writes join the batch in the draws' order.
	concurrent := b.s.db.Dialect().Name() == sqldb.DriverMySQL
	type raffled struct {
		ran, answered bool
		w             sqldb.Batch
		err           error
		panicked      any
	}
	res := make([]raffled, len(live))
	var wg sync.WaitGroup
	for i, r := range live {
		rd := reads[i]
		switch {
		case rd.err != nil:
			r.done <- drawAnswer{err: rd.err}
			continue
		case rd.pl.p.Reused:
			// Marking an old order used needs its own row count: rare
			// enough to run alone (after this batch releases the lock).
			r.done <- drawAnswer{alone: true}
			continue
		case r.ctx.Err() != nil:
			r.done <- drawAnswer{err: r.ctx.Err()}
			continue
		}
		res[i].ran = true
		raffle := func() {
			t := &DrawTx{Tx: tx, Route: r.route, ctx: ctx, fences: fences}
			res[i].panicked, res[i].err = callRaffle(r.raffle, t, rd.pl.p, &res[i].w)
		}
		if concurrent {
			wg.Go(raffle)
		} else {
			raffle()
		}
	}
	wg.Wait()
	failed := false
	for i, r := range live {
		x := &res[i]
		if !x.ran || (x.err == nil && x.panicked == nil) {
			continue
		}
		if x.panicked == nil && fences.failure() == nil && r.ctx.Err() != nil {
			// The caller went away (its engine call was cancelled): that
			// costs only its own draw, the transaction is intact.
			r.done <- drawAnswer{err: x.err}
			x.answered = true
			continue
		}
		failed = true
	}
	if failed {
		// Anything else fails the batch: every draw not answered yet runs
		// again alone (a panic is its caller's).
		for i, r := range live {
			switch x := &res[i]; {
			case !x.ran || x.answered:
			case x.panicked != nil:
				r.done <- drawAnswer{panicked: x.panicked}
			default:
				r.done <- drawAnswer{alone: true}
			}
		}
		return nil, nil, errBatchFailed
	}
	for i, r := range live {
		if x := &res[i]; x.ran && !x.answered {
			reads[i].pl.addOrder(&rows, r.route, r.in)
			rows.Merge(&x.w)
			inTx = append(inTx, i)
			plans[i] = reads[i].pl
		}
	}
	if len(inTx) == 0 {
		return nil, nil, nil
	}

	var write sqldb.Batch
	want := b.addTakes(&write, live, groups, plans)
	b.compact(&rows)
	write.Merge(&rows)
	if err := b.write(ctx, h, tx, &write, want); err != nil {
		// With cached draws, a failed take or a period row's insert that
		// found one (a duplicate key) means a cached row had changed: the
		// batch runs again without the cache.
		if b.staleHit(live, inTx, err) {
			return nil, nil, &staleTakes{idx: inTx, err: err}
		}
		for _, i := range inTx {
			live[i].done <- drawAnswer{alone: true}
		}
		return nil, nil, err
	}
	return inTx, plans, nil
}

// staleHit reports whether err, the failure of the writes of the draws of
// live at inTx, may come from a cached draw's stale rows: some draw is
// cached, and the takes changed fewer rows than planned or an insert found
// its key taken.
func (b *drawBatches) staleHit(live []*drawReq, inTx []int, err error) bool {
	if !slices.ContainsFunc(inTx, func(i int) bool { return live[i].hit }) {
		return false
	}
	return errors.Is(err, errTakesChanged) || b.s.db.Dialect().IsDuplicate(err)
}

// compact merges w's INSERTs of different users' rows into one multi-row
// statement per table where that pays (see sqldb.Handle.Compact).
func (b *drawBatches) compact(w *sqldb.Batch) {
	b.s.db.Shard(b.shard).Compact(w)
}

// callRaffle runs raffle, recovering a panic.
func callRaffle(raffle Raffle, t *DrawTx, p activity.Partake, w *sqldb.Batch) (panicked any, err error) {
	defer func() {
		if v := recover(); v != nil {
			panicked = v
		}
	}()
	return nil, raffle(t, p, w)
}

// drawGroup is the draws of a batch on one table (suffix) with the same
// activity, month and day: their rows are locked, read and changed with one
// statement (or one part of a UNION) each, whatever their number.
type drawGroup struct {
	route      sqldb.Route
	act        int64
	month, day string
	hit        bool  // the draws are decided from the quota cache
	idx        []int // the draws' indexes in the batch, by user
}

// groupsOf groups live, sorted by table and user, by table, activity, month,
// day and whether the quota cache decides them, in that order.
func groupsOf(live []*drawReq) []*drawGroup {
	type key struct {
		suffix     string
		act        int64
		month, day string
		hit        bool
	}
	var groups []*drawGroup
	byKey := make(map[key]*drawGroup)
	for i, r := range live {
		k := key{r.route.Suffix, r.in.Activity.ID, r.in.Month, r.in.Day, r.hit}
		g := byKey[k]
		if g == nil {
			g = &drawGroup{route: r.route, act: k.act, month: k.month, day: k.day, hit: k.hit}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.idx = append(g.idx, i)
	}
	return groups
}

// usersIn returns the users of the draws of live at idx as a set to replace
// {{users}} in "user_id IN ({{users}})", and its arguments (sqldb.InSet).
func (b *drawBatches) usersIn(live []*drawReq, idx []int) (set string, args []any) {
	users := make([]string, len(idx))
	for j, i := range idx {
		users[j] = live[i].in.UserID
	}
	return sqldb.InSet(b.s.db.Dialect(), users)
}

const (
	// qLockAccounts locks the accounts of a group's users on one activity,
	// in the order of the unique key (user, activity): the same order in every
	// batch. Its first column is the group's index in the batch; {{users}} is
	// the set of the users (usersIn); the dialect's locking clause follows
	// (none on SQLite, whose writer is alone).
	qLockAccounts = `SELECT ? AS g, user_id, total_count, total_count_surplus, day_count, month_count
		FROM raffle_activity_account{{suffix}} WHERE activity_id = ? AND user_id IN ({{users}})`
	// qReadGroup reads, under those locks, the users' month rows (kind 1), day
	// rows (kind 2) and unused raffle orders (kind 3, every one: the oldest is
	// picked by id), after the group's index. (Its columns are named: a
	// UNION of parts with two unnamed columns of one literal, "0" and "0",
	// fails with a duplicate column name.)
	qReadGroup = `SELECT ? AS g, 1 AS kind, user_id, month_count AS n1, month_count_surplus AS n2, 0 AS id, '' AS s1, '' AS s2
			FROM raffle_activity_account_month{{suffix}}
			WHERE activity_id = ? AND month = ? AND user_id IN ({{users}})
		UNION ALL
		SELECT ?, 2, user_id, day_count, day_count_surplus, 0, '', '' FROM raffle_activity_account_day{{suffix}}
			WHERE activity_id = ? AND day = ? AND user_id IN ({{users}})
		UNION ALL
		SELECT ?, 3, user_id, strategy_id, order_time, id, activity_name, order_id FROM user_raffle_order{{suffix}}
			WHERE activity_id = ? AND order_state = 'create' AND user_id IN ({{users}})`
	// qReadUnused reads the unused raffle orders of a group whose rows are
	// cached (the kind 3 of qReadGroup), without locks.
	qReadUnused = `SELECT ? AS g, 3 AS kind, user_id, strategy_id AS n1, order_time AS n2, id, activity_name AS s1, order_id AS s2
			FROM user_raffle_order{{suffix}} WHERE activity_id = ? AND order_state = 'create' AND user_id IN ({{users}})`
)

// What each statement of a batch's read answers.
const (
	readLocks  = iota // accounts, locked (qLockAccounts)
	readGroups        // months, days and unused orders (qReadGroup)
	readFences        // stock fences, held (fencedb's HoldAllQuery)
)

// readQueries is the statements of a batch's read, in order, with their
// arguments and what each answers.
type readQueries struct {
	queries []string
	args    [][]any
	kinds   []int
}

func (q *readQueries) add(kind int, query string, args []any) {
	q.queries, q.args, q.kinds = append(q.queries, query), append(q.args, args), append(q.kinds, kind)
}

// union adds the statements of parts as one, their rows one after the other
// (UNION ALL). With paren, each part is put in parentheses, so that each keeps
// its locking clause; without, parts that are UNIONs themselves become one flat
// UNION (in parentheses, MariaDB would materialize each in a temporary table).
func (q *readQueries) union(kind int, parts []string, args [][]any, paren bool) {
	switch len(parts) {
	case 0:
		return
	case 1:
		q.add(kind, parts[0], args[0])
		return
	}
	var all []any
	for _, a := range args {
		all = append(all, a...)
	}
	if paren {
		q.add(kind, "("+strings.Join(parts, ")\nUNION ALL\n(")+")", all)
		return
	}
	q.add(kind, strings.Join(parts, "\nUNION ALL\n"), all)
}

// read locks the accounts of the batch's draws and reads, under the locks,
// their month and day rows and unused orders, holds the stock fences the
// raffles may hold, and decides each draw's partake. The statements travel in
// one request. On MariaDB the groups' locks are one statement and their reads
// another: MariaDB answers a request statement by statement, each answer a
// write of its own that the client's reader wakes for, so three statements
// (with the fences) are three answers, where a statement per group and kind
// were twice the groups and one. Parts of a UNION run in order, so the
// accounts are still locked group by group in the batch's order, and every
// read comes after every lock. Elsewhere each group's lock and read are
// statements of their own (on SQLite prepared: one text whatever the group;
// on MySQL, where production is not tested, as they were before the UNION).
func (b *drawBatches) read(ctx context.Context, h *sqldb.Handle, tx *sql.Tx, live []*drawReq, groups []*drawGroup, fences *heldFences) ([]readResult, error) {
	var q readQueries
	lock := qLockAccounts + h.Dialect().ForUpdate()
	var locks, reads []string
	var lockArgs, readArgs [][]any
	for gi, g := range groups {
		set, users := b.usersIn(live, g.idx)
		if g.hit {
			// Cached rows: only the unused orders are read.
			reads = append(reads, strings.ReplaceAll(g.route.SQL(qReadUnused), "{{users}}", set))
			readArgs = append(readArgs, append([]any{gi, g.act}, users...))
			continue
		}
		locks = append(locks, strings.ReplaceAll(g.route.SQL(lock), "{{users}}", set))
		reads = append(reads, strings.ReplaceAll(g.route.SQL(qReadGroup), "{{users}}", set))
		lockArgs = append(lockArgs, append([]any{gi, g.act}, users...))
		read := append([]any{gi, g.act, g.month}, users...)
		read = append(append(read, gi, g.act, g.day), users...)
		read = append(append(read, gi, g.act), users...)
		readArgs = append(readArgs, read)
	}
	if h.MariaDB() {
		q.union(readLocks, locks, lockArgs, true)
		q.union(readGroups, reads, readArgs, false)
	} else {
		for i := range locks {
			q.add(readLocks, locks[i], lockArgs[i])
		}
		for i := range reads {
			q.add(readGroups, reads[i], readArgs[i])
		}
	}
	// The stock fences the raffles may hold, after the accounts (the order
	// of a draw alone), at once.
	var keys []string
	for _, r := range live {
		for _, k := range r.in.StockKeys {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	if len(keys) > 0 {
		fq, fa := b.s.fences.HoldAllQuery(keys)
		q.add(readFences, fq, fa)
	}

	type userRows struct {
		acc        accountRow
		hasAccount bool
		month, day periodRow
		unused     activity.RaffleOrder
		unusedID   int64
	}
	// byUser holds each group's rows by user.
	byUser := make([]map[string]*userRows, len(groups))
	for gi, g := range groups {
		byUser[gi] = make(map[string]*userRows, len(g.idx))
		for _, i := range g.idx {
			byUser[gi][live[i].in.UserID] = &userRows{}
		}
	}
	rowsOf := func(gi int, user string) *userRows {
		if gi < 0 || gi >= len(groups) {
			return nil
		}
		return byUser[gi][user]
	}
	err := h.QueryEachTx(ctx, tx, q.queries, q.args, func(i int, rows *sql.Rows) error {
		switch q.kinds[i] {
		case readFences:
			for rows.Next() {
				var key string
				var gen int64
				if err := rows.Scan(&key, &gen); err != nil {
					return fmt.Errorf("hold stock fences: %w", err)
				}
				fences.holdLocked(key, gen) // not shared yet
			}
		case readLocks:
			for rows.Next() {
				var gi int
				var user string
				var acc accountRow
				if err := rows.Scan(&gi, &user, &acc.total, &acc.totalSurplus, &acc.day, &acc.month); err != nil {
					return fmt.Errorf("lock accounts: %w", err)
				}
				if u := rowsOf(gi, user); u != nil {
					u.acc, u.hasAccount = acc, true
				}
			}
		case readGroups:
			for rows.Next() {
				var gi, kind int
				var user, s1, s2 string
				var n1, n2, id int64
				if err := rows.Scan(&gi, &kind, &user, &n1, &n2, &id, &s1, &s2); err != nil {
					return fmt.Errorf("read months, days, unused orders: %w", err)
				}
				u := rowsOf(gi, user)
				if u == nil {
					continue
				}
				switch kind {
				case 1:
					u.month = periodRow{count: n1, surplus: n2, found: true}
				case 2:
					u.day = periodRow{count: n1, surplus: n2, found: true}
				case 3:
					if u.unused.OrderID == "" || id < u.unusedID {
						u.unused.StrategyID, u.unused.OrderTime, u.unused.ActivityName, u.unused.OrderID = n1, time.UnixMilli(n2), s1, s2
						u.unusedID = id
					}
				}
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("lock accounts, read their periods, hold stock fences: %w", err)
	}
	out := make([]readResult, len(live))
	for gi, g := range groups {
		for _, i := range g.idx {
			u := byUser[gi][live[i].in.UserID]
			if r := live[i]; r.hit {
				u.acc, u.hasAccount, u.month, u.day = r.acc, true, r.m, r.d
			}
			pl, err := decide(live[i].in, u.acc, u.hasAccount, u.month, u.day, u.unused)
			out[i] = readResult{pl: pl, err: err}
		}
	}
	return out, nil
}

const (
	// The take statements end with the users' placeholders ({{users}}).
	// A batch takes with one UPDATE per table, on MySQL too: MariaDB runs a
	// multi-table UPDATE of the three tables through two temporary tables
	// (Created_tmp_tables 0.52 → 0 per draw, MariaDB's CPU per draw 0.61–0.67
	// → 0.57–0.61 ms, docs/PERFORMANCE.md step 18), and the batch's
	// statements travel in one request either way.
	qTakeTotals = `UPDATE raffle_activity_account{{suffix}}
		SET total_count_surplus = total_count_surplus - 1, update_time = ?
		WHERE activity_id = ? AND total_count_surplus > 0 AND user_id IN ({{users}})`
	qTakeMonths = `UPDATE raffle_activity_account_month{{suffix}}
		SET month_count_surplus = month_count_surplus - 1, update_time = ?
		WHERE activity_id = ? AND month = ? AND month_count_surplus > 0 AND user_id IN ({{users}})`
	qTakeDays = `UPDATE raffle_activity_account_day{{suffix}}
		SET day_count_surplus = day_count_surplus - 1, update_time = ?
		WHERE activity_id = ? AND day = ? AND day_count_surplus > 0 AND user_id IN ({{users}})`
)

// addTakes adds to w the statements that take one draw from the total, month
// and day surpluses of each draw of the batch whose plan is in plans (by the
// draw's index), a group at a time: the totals with one UPDATE, the existing
// period rows with one UPDATE per period and the missing ones with one
// multi-row INSERT per period. Every statement is counted
// (sqldb.Batch.AddCounted); it returns the count when all goes as planned,
// three rows per draw.
func (b *drawBatches) addTakes(w *sqldb.Batch, live []*drawReq, groups []*drawGroup, plans map[int]plan) (want int64) {
	take := func(what, query string, idx []int, args ...any) {
		set, users := b.usersIn(live, idx)
		w.AddCounted(what, strings.ReplaceAll(query, "{{users}}", set), append(args, users...)...)
	}
	for _, g := range groups {
		var now int64
		var all, monthFound, dayFound []int
		var months, days sqldb.Batch
		for _, i := range g.idx {
			pl, ok := plans[i]
			if !ok {
				continue
			}
			now = max(now, pl.now)
			want += 3
			all = append(all, i)
			user := live[i].in.UserID
			if pl.monthFound {
				monthFound = append(monthFound, i)
			} else {
				months.AddCounted("insert month["+g.month+"]", g.route.SQL(qInsertMonth), user, g.act, g.month, pl.month.count, pl.month.count-1, pl.now, pl.now)
			}
			if pl.dayFound {
				dayFound = append(dayFound, i)
			} else {
				days.AddCounted("insert day["+g.day+"]", g.route.SQL(qInsertDay), user, g.act, g.day, pl.day.count, pl.day.count-1, pl.now, pl.now)
			}
		}
		switch {
		case g.hit:
			// Compare and set: each row changes only if it is still what the
			// cache recorded.
			b.addCheckedTakes(w, g, live, plans, now, all, monthFound, dayFound)
		default:
			// The users' placeholders come last in each statement, after the
			// other arguments.
			if len(all) > 0 {
				take("take totals", g.route.SQL(qTakeTotals), all, now, g.act)
			}
			if len(monthFound) > 0 {
				take("take month["+g.month+"]", g.route.SQL(qTakeMonths), monthFound, now, g.act, g.month)
			}
			if len(dayFound) > 0 {
				take("take day["+g.day+"]", g.route.SQL(qTakeDays), dayFound, now, g.act, g.day)
			}
		}
		for _, rows := range []*sqldb.Batch{&months, &days} {
			b.compact(rows)
			w.Merge(rows)
		}
	}
	return want
}

// The takes of cached draws: each row is found by the unique key's users (the
// IN list keeps MariaDB on that index) and changes only if its values are the
// cached ones ({{rows}}: a tuple per draw, after the users).
const (
	qCheckedTakeTotals = `UPDATE raffle_activity_account{{suffix}}
		SET total_count_surplus = total_count_surplus - 1, update_time = ?
		WHERE activity_id = ? AND total_count_surplus > 0 AND user_id IN ({{users}})
			AND (user_id, total_count, total_count_surplus, day_count, month_count) IN ({{rows}})`
	qCheckedTakeMonths = `UPDATE raffle_activity_account_month{{suffix}}
		SET month_count_surplus = month_count_surplus - 1, update_time = ?
		WHERE activity_id = ? AND month = ? AND month_count_surplus > 0 AND user_id IN ({{users}})
			AND (user_id, month_count, month_count_surplus) IN ({{rows}})`
	qCheckedTakeDays = `UPDATE raffle_activity_account_day{{suffix}}
		SET day_count_surplus = day_count_surplus - 1, update_time = ?
		WHERE activity_id = ? AND day = ? AND day_count_surplus > 0 AND user_id IN ({{users}})
			AND (user_id, day_count, day_count_surplus) IN ({{rows}})`
)

// addCheckedTakes adds to w the compare-and-set takes of g, a group of cached
// draws: the totals of the draws at all, and the month and day rows of those
// at monthFound and dayFound (the others insert their rows, whose unique key
// fails the batch if one exists). Every statement is counted.
func (b *drawBatches) addCheckedTakes(w *sqldb.Batch, g *drawGroup, live []*drawReq, plans map[int]plan, now int64, all, monthFound, dayFound []int) {
	take := func(what, query string, idx []int, row func(pl plan) []any, args ...any) {
		set, users := b.usersIn(live, idx)
		args = append(args, users...)
		tuples := make([]string, len(idx))
		for j, i := range idx {
			vals := append([]any{live[i].in.UserID}, row(plans[i])...)
			tuples[j] = "(" + strings.Repeat("?, ", len(vals)-1) + "?)"
			args = append(args, vals...)
		}
		q := strings.ReplaceAll(g.route.SQL(query), "{{users}}", set)
		w.AddCounted(what, strings.ReplaceAll(q, "{{rows}}", strings.Join(tuples, ", ")), args...)
	}
	if len(all) > 0 {
		take("take totals (cached)", qCheckedTakeTotals, all, func(pl plan) []any {
			return []any{pl.acc.total, pl.acc.totalSurplus, pl.acc.day, pl.acc.month}
		}, now, g.act)
	}
	if len(monthFound) > 0 {
		take("take month["+g.month+"] (cached)", qCheckedTakeMonths, monthFound, func(pl plan) []any {
			return []any{pl.month.count, pl.month.surplus}
		}, now, g.act, g.month)
	}
	if len(dayFound) > 0 {
		take("take day["+g.day+"] (cached)", qCheckedTakeDays, dayFound, func(pl plan) []any {
			return []any{pl.day.count, pl.day.surplus}
		}, now, g.act, g.day)
	}
}

// write sends the batch's writes, w, in one request, and checks that every
// draw took one from each of its total, month and day surpluses: the rows were
// read under the account locks, so anything else means the batch must not
// commit.
func (b *drawBatches) write(ctx context.Context, h *sqldb.Handle, tx *sql.Tx, w *sqldb.Batch, want int64) error {
	got, err := h.ExecCountedTx(ctx, tx, w)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("the batch's takes changed %d rows, want %d: %w", got, want, errTakesChanged)
	}
	return nil
}

// errTakesChanged reports a batch whose takes changed fewer (or more) rows
// than planned: a row changed after the batch read it (or, for a cached draw,
// since the cache recorded it).
var errTakesChanged = errors.New("a quota row changed since it was read")
