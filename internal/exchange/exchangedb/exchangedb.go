// Package exchangedb is the SQL storage of credit exchanges (exchange.Store):
// the payment transaction that ties a wait_pay quota order
// (raffle_activity_order), its reverse credit order (user_credit_order, through
// creditdb) and its credit_adjust_success task (through outboxdb) together, and
// the cancel and recovery steps of unpaid orders.
//
// Every transaction on an order locks its raffle_activity_order row first (FOR
// UPDATE on MySQL; SQLite's single writer serialises anyway), the same first
// lock activitydb's CompleteQuotaOrder takes, so that a payment, a cancel and a
// completion of one order run one after the other. A credit order belongs to a
// quota order when it has the same out_business_no; both live in the same
// user's tables (same route).
package exchangedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/exchange"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// CreditTx applies a credit order inside the caller's transaction
// (*creditdb.Store implements it).
type CreditTx interface {
	ApplyTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, o credit.Order) error
}

// TaskTx stores an outbox task inside the caller's transaction
// (*outboxdb.Store implements it).
type TaskTx interface {
	InsertTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, t outbox.Task) error
}

// Store implements exchange.Store on a sqldb.DB. It is safe for concurrent use.
type Store struct {
	db      *sqldb.DB
	credits CreditTx
	tasks   TaskTx
	qLock   string
}

var _ exchange.Store = (*Store)(nil)

// New returns a Store on db that applies credit orders with credits and stores
// tasks with tasks (creditdb.New(db), outboxdb.New(db)).
func New(db *sqldb.DB, credits CreditTx, tasks TaskTx) *Store {
	return &Store{db: db, credits: credits, tasks: tasks, qLock: qState + db.Dialect().ForUpdate()}
}

const (
	qState = `SELECT state FROM raffle_activity_order{{suffix}} WHERE user_id = ? AND out_business_no = ?`
	qPaid  = `SELECT COUNT(*) FROM user_credit_order{{suffix}} WHERE user_id = ? AND out_business_no = ?`
	qClose = `UPDATE raffle_activity_order{{suffix}} SET state = ?, update_time = ?
		WHERE user_id = ? AND out_business_no = ? AND state = ?`
	qDeleteClosed = `DELETE FROM raffle_activity_order{{suffix}} WHERE user_id = ? AND out_business_no = ? AND state = ?`

	orderCols = `o.user_id, o.sku, o.activity_id, o.activity_name, o.strategy_id, o.order_id, o.order_time,
		o.total_count, o.day_count, o.month_count, o.pay_amount, o.state, o.out_business_no,
		(SELECT COUNT(*) FROM user_credit_order{{suffix}} c WHERE c.user_id = o.user_id AND c.out_business_no = o.out_business_no)`
	qLookup = `SELECT ` + orderCols + ` FROM raffle_activity_order{{suffix}} o WHERE o.user_id = ? AND o.out_business_no = ?`
	qStale  = `SELECT ` + orderCols + ` FROM raffle_activity_order{{suffix}} o
		WHERE o.state IN (?, ?) AND o.update_time < ? ORDER BY o.update_time LIMIT ?`
)

// lockState locks userID's order outBusinessNo and returns its state, or ""
// when there is no such order.
func (s *Store) lockState(ctx context.Context, tx *sql.Tx, r sqldb.Route, userID, outBusinessNo string) (activity.QuotaOrderState, error) {
	var state string
	err := tx.QueryRowContext(ctx, r.SQL(s.qLock), userID, outBusinessNo).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lock quota order: %w", err)
	}
	return activity.QuotaOrderState(state), nil
}

// Pay implements exchange.Store: in one transaction on o.UserID's shard it locks
// the quota order (not wait_pay or missing → exchange.ErrOrderClosed), applies
// the credit order c (creditdb's errors: credit.ErrInsufficient,
// credit.ErrDuplicate, …) and inserts task t. Any error rolls everything back.
func (s *Store) Pay(ctx context.Context, o activity.QuotaOrder, c credit.Order, t outbox.Task) error {
	err := s.db.InUserTx(ctx, o.UserID, func(tx *sql.Tx, r sqldb.Route) error {
		state, err := s.lockState(ctx, tx, r, o.UserID, o.OutBusinessNo)
		if err != nil {
			return err
		}
		if state != activity.QuotaOrderWaitPay {
			return fmt.Errorf("state %q: %w", state, exchange.ErrOrderClosed)
		}
		if err := s.credits.ApplyTx(ctx, tx, r, c); err != nil {
			return err
		}
		return s.tasks.InsertTx(ctx, tx, r, t)
	})
	if err != nil {
		return fmt.Errorf("pay quota order: user[%s] out_business_no[%s]: %w", o.UserID, o.OutBusinessNo, err)
	}
	return nil
}

// Close implements exchange.Store: in one transaction it locks the order, then
// a wait_pay order without a credit order becomes exchange.StateClosed
// (exchange.Closed), a wait_pay order with one is left alone
// (exchange.AlreadyPaid), and any other order, or none, is exchange.NotWaiting.
func (s *Store) Close(ctx context.Context, userID, outBusinessNo string, now time.Time) (exchange.CloseResult, error) {
	var res exchange.CloseResult
	err := s.db.InUserTx(ctx, userID, func(tx *sql.Tx, r sqldb.Route) error {
		state, err := s.lockState(ctx, tx, r, userID, outBusinessNo)
		if err != nil {
			return err
		}
		if state != activity.QuotaOrderWaitPay {
			res = exchange.NotWaiting
			return nil
		}
		// A plain read after the lock: a payment holds the same lock until it
		// commits, so a committed payment is visible here (InnoDB takes the
		// read view at a transaction's first plain read).
		var paid int
		if err := tx.QueryRowContext(ctx, r.SQL(qPaid), userID, outBusinessNo).Scan(&paid); err != nil {
			return fmt.Errorf("find payment: %w", err)
		}
		if paid > 0 {
			res = exchange.AlreadyPaid
			return nil
		}
		if _, err := tx.ExecContext(ctx, r.SQL(qClose), string(exchange.StateClosed), now.UnixMilli(), userID, outBusinessNo,
			string(activity.QuotaOrderWaitPay)); err != nil {
			return fmt.Errorf("close: %w", err)
		}
		res = exchange.Closed
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("close quota order: user[%s] out_business_no[%s]: %w", userID, outBusinessNo, err)
	}
	return res, nil
}

// DeleteClosed implements exchange.Store.
func (s *Store) DeleteClosed(ctx context.Context, userID, outBusinessNo string) error {
	err := s.db.InUserTx(ctx, userID, func(tx *sql.Tx, r sqldb.Route) error {
		_, err := tx.ExecContext(ctx, r.SQL(qDeleteClosed), userID, outBusinessNo, string(exchange.StateClosed))
		return err
	})
	if err != nil {
		return fmt.Errorf("delete closed quota order: user[%s] out_business_no[%s]: %w", userID, outBusinessNo, err)
	}
	return nil
}

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanOrder(sc scanner) (exchange.Order, error) {
	var o exchange.Order
	var ms, pay, paid int64
	var state string
	err := sc.Scan(&o.UserID, &o.SKU, &o.ActivityID, &o.ActivityName, &o.StrategyID, &o.OrderID, &ms,
		&o.Total, &o.Day, &o.Month, &pay, &state, &o.OutBusinessNo, &paid)
	if err != nil {
		return exchange.Order{}, err
	}
	o.OrderTime, o.PayAmount, o.State, o.Paid = time.UnixMilli(ms), money.FromCents(pay), activity.QuotaOrderState(state), paid > 0
	return o, nil
}

// Lookup implements exchange.Store with one read on the user's shard.
func (s *Store) Lookup(ctx context.Context, userID, outBusinessNo string) (exchange.Order, error) {
	r := s.db.Route(userID)
	o, err := scanOrder(s.db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(qLookup), userID, outBusinessNo))
	if errors.Is(err, sql.ErrNoRows) {
		err = activity.ErrOrderNotFound
	}
	if err != nil {
		return exchange.Order{}, fmt.Errorf("lookup quota order: user[%s] out_business_no[%s]: %w", userID, outBusinessNo, err)
	}
	return o, nil
}

// Stale implements exchange.Store: it reads every shard database and table
// suffix. limit ≤ 0 means exchange.DefaultSweepLimit. Without an index on
// raffle_activity_order (state, update_time) each read scans its table; it runs
// from the sweep job only, on the read pools.
func (s *Store) Stale(ctx context.Context, before time.Time, limit int) ([]exchange.Order, error) {
	if limit <= 0 {
		limit = exchange.DefaultSweepLimit
	}
	var out []exchange.Order
	for _, r := range s.db.Routes() {
		rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qStale),
			string(activity.QuotaOrderWaitPay), string(exchange.StateClosed), before.UnixMilli(), limit)
		if err == nil {
			out, err = scanAll(rows, out)
		}
		if err != nil {
			return nil, fmt.Errorf("stale quota orders: shard[%d] table%q: %w", r.Shard, r.Suffix, err)
		}
	}
	return out, nil
}

func scanAll(rows *sql.Rows, out []exchange.Order) ([]exchange.Order, error) {
	defer rows.Close()
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, rows.Err()
}
