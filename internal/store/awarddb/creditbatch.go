package awarddb

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/platform/gather"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Credit deliveries in batches.
//
// Concurrent credit deliveries on one shard share a transaction, as draws do
// (activitydb): a batch is whatever deliveries are queued when a batcher
// becomes free, at most one per user, and costs two requests whatever its
// size on MySQL: the transaction's begin with the credit orders (one
// multi-row INSERT per table), the accounts (one multi-row upsert per table),
// the records from create to completed (one UPDATE per table) and the count
// of records changed; commit.
// On SQLite a batch is one savepoint of the writer's group commit, its
// statements prepared: a row each for orders and accounts, one UPDATE per
// table for the records.
// A batch commits only if every record changed: a duplicate delivery (its
// credit order already in the ledger), a record no longer in create or any
// failure rolls the batch back, and each of its deliveries then runs in a
// transaction of its own, which answers it exactly as before.
const (
	// DefaultCreditBatchers is how many credit batches of a shard run at once.
	DefaultCreditBatchers = 1
	// DefaultCreditBatchSize bounds the deliveries of one batch.
	DefaultCreditBatchSize = 64
	// DefaultCreditPace is, on MySQL, the least time between the starts of a
	// shard's credit batches while fewer than a whole batch are queued. Without
	// it a steady stream of deliveries made a batch of whatever had arrived
	// during the previous one, more transactions than the draws' batches
	// themselves (docs/PERFORMANCE.md, ninth round); with it a delivery waits
	// at most this much longer, and the broker's prefetch (rabbitmq's
	// DefaultPrefetch) must hold what arrives meanwhile. It stays below the
	// acknowledgement hold of the RabbitMQ consumer (50 ms), so that the
	// deliveries of one shard's batch do not wait alone behind another's.
	DefaultCreditPace = 25 * time.Millisecond
	// creditBatchTimeout bounds a batch's transaction.
	creditBatchTimeout = 5 * time.Second
)

// creditReq is one queued delivery.
type creditReq struct {
	ctx     context.Context
	userID  string
	orderID string
	o       credit.Order
	now     time.Time
	route   sqldb.Route
	done    chan creditAnswer // buffered: the batch never waits for its caller
}

// creditAnswer is a batch's answer to one delivery: its error, or alone when
// it must run in a transaction of its own.
type creditAnswer struct {
	err   error
	alone bool
}

// creditBatches gathers the credit deliveries of one shard into batches.
type creditBatches struct {
	d      *Deliveries
	shard  int
	gather *gather.Gather[*creditReq]
}

func newCreditBatches(d *Deliveries, shard, batchers, size int, pace time.Duration) *creditBatches {
	b := &creditBatches{d: d, shard: shard}
	b.gather = gather.New(batchers, size, func(r *creditReq) string { return r.userID }, b.run, gather.WithPace(pace))
	return b
}

// credit queues a delivery and waits for its batch's answer; a caller whose
// context ends while it is queued leaves with the context's error.
func (b *creditBatches) credit(ctx context.Context, userID, orderID string, o credit.Order, now time.Time) error {
	req := &creditReq{ctx: ctx, userID: userID, orderID: orderID, o: o, now: now, route: b.d.db.Route(userID),
		done: make(chan creditAnswer, 1)}
	ticket := b.gather.Add(req)
	var ans creditAnswer
	select {
	case ans = <-req.done:
	case <-ctx.Done():
		if ticket.Withdraw() {
			return fmt.Errorf("credit and complete award record: user[%s] order[%s]: %w", userID, orderID, ctx.Err())
		}
		ans = <-req.done
	}
	if ans.alone {
		return b.d.creditAlone(ctx, userID, orderID, o, now)
	}
	if ans.err != nil {
		return fmt.Errorf("credit and complete award record: user[%s] order[%s]: %w", userID, orderID, ans.err)
	}
	return nil
}

// qCompleteRecords moves a table's records of a batch from create to
// completed; {{orders}} is the set of their order ids (sqldb.InSet). On SQLite
// the state is compared as "+award_state", which keeps the planner on the
// order id's unique index: without statistics it picked the state's index,
// which scans every record still in create — all of a backlog.
const (
	qCompleteRecords = `UPDATE user_award_record{{suffix}} SET award_state = ?, update_time = ?
	WHERE award_state = ? AND order_id IN ({{orders}})`
	qCompleteRecordsSQLite = `UPDATE user_award_record{{suffix}} SET award_state = ?, update_time = ?
	WHERE +award_state = ? AND order_id IN ({{orders}})`
)

// run runs one batch and answers each of its deliveries exactly once.
func (b *creditBatches) run(batch []*creditReq) {
	// The accounts are upserted in one order (table, then user) by every
	// batch, so that two batches never wait for each other in a cycle.
	slices.SortFunc(batch, func(x, y *creditReq) int {
		return cmp.Or(strings.Compare(x.route.Suffix, y.route.Suffix), strings.Compare(x.userID, y.userID))
	})
	var live []*creditReq
	answer := func(rs []*creditReq, a creditAnswer) {
		for _, r := range rs {
			r.done <- a
		}
	}
	var w sqldb.Batch
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- creditAnswer{err: err}
			continue
		}
		if err := b.d.credits.AddApply(&w, r.route, r.o); err != nil {
			r.done <- creditAnswer{alone: true} // alone, it answers this error
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	// Different users' rows: one multi-row statement per table and kind where
	// that pays (see sqldb.Handle.Compact).
	b.d.db.Shard(b.shard).Compact(&w)
	mysql := b.d.db.Dialect().Name() == sqldb.DriverMySQL
	var now int64
	for _, r := range live {
		now = max(now, r.now.UnixMilli())
	}
	for i := 0; i < len(live); {
		j := i
		var orders []string
		for ; j < len(live) && live[j].route.Suffix == live[i].route.Suffix; j++ {
			orders = append(orders, live[j].orderID)
		}
		set, ids := sqldb.InSet(b.d.db.Dialect(), orders)
		args := append([]any{string(award.RecordCompleted), now, string(award.RecordCreate)}, ids...)
		q := qCompleteRecordsSQLite
		if mysql {
			q = qCompleteRecords
		}
		w.AddCounted("complete award records", strings.ReplaceAll(live[i].route.SQL(q), "{{orders}}", set), args...)
		i = j
	}

	ctx, cancel := context.WithTimeout(context.Background(), creditBatchTimeout)
	defer cancel()
	h := b.d.db.Shard(b.shard)
	// wrote: the batch's writes were done (the transaction began, every
	// record changed); otherwise nothing of it is kept.
	var wrote bool
	// On MySQL a transaction of its own; on SQLite a savepoint of the
	// writer's group commit.
	err := sqldb.InTxOnce(ctx, h, func(tx *sql.Tx) error {
		// Every record changed, or none of the batch may commit.
		n, err := h.ExecCountedTx(ctx, tx, &w)
		if err == nil && n != int64(len(live)) {
			err = fmt.Errorf("the batch completed %d award records, want %d", n, len(live))
		}
		wrote = err == nil
		return err
	})
	switch {
	case !wrote:
		answer(live, creditAnswer{alone: true})
		return
	case err != nil:
		// The outcome is unknown: a delivery must not run again here (its
		// message is redelivered, and finds the record completed if it was).
		answer(live, creditAnswer{err: err})
		return
	}
	answer(live, creditAnswer{})
}
