// Package rebatedb stores behaviour rebate orders (rebate.Order) in the user
// table user_behavior_rebate_order of each user's shard, together with the
// send_rebate outbox tasks that announce them (in the task table of the same
// shard, through outboxdb), in one transaction. The unique biz_id makes a rebate
// happen once.
package rebatedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Limits of ListByUser.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Store is the SQL rebate order store. It is safe for concurrent use.
type Store struct {
	db    *sqldb.DB
	tasks *outboxdb.Store
}

var (
	_ rebate.Storer      = (*Store)(nil)
	_ rebate.OrderMarker = (*Store)(nil)
)

// New returns a Store on db; tasks are written with outboxdb.New(db).
func New(db *sqldb.DB) *Store {
	return &Store{
		db:    db,
		tasks: outboxdb.New(db),
	}
}

// qBizID finds the order holding a biz id inside the transaction whose insert
// just failed on a unique key. It is a plain read on purpose: a MySQL duplicate
// key error is only raised once the other row is committed, and a transaction
// that has read nothing yet takes its snapshot at this read, so it sees that
// row; a locking read would deadlock with the other waiters' shared locks.
const qBizID = `SELECT order_id FROM user_behavior_rebate_order{{suffix}} WHERE biz_id = ?`

const qInsert = `INSERT INTO user_behavior_rebate_order{{suffix}} (user_id, order_id, behavior_type, rebate_desc,
	rebate_type, rebate_config, out_business_no, biz_id, state, create_time, update_time)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Create implements rebate.Storer: in one transaction on the shard of the
// orders' user it inserts every order (state rebate.OrderCreate when empty) and
// then every task. It returns an error wrapping rebate.ErrDuplicate (and
// sqldb.ErrDuplicate) when an order's biz id is stored already, wrapping
// rebate.ErrInvalid when orders is empty or the orders and tasks are not all of
// one user, and any other insert failure (a repeated order or message id
// included) as it is; in every error case the transaction is rolled back and
// nothing is stored.
func (s *Store) Create(ctx context.Context, orders []rebate.Order, tasks []outbox.Task) error {
	if len(orders) == 0 {
		return fmt.Errorf("create rebate orders: no order: %w", rebate.ErrInvalid)
	}
	user := orders[0].UserID
	for _, o := range orders {
		if o.UserID != user || user == "" {
			return fmt.Errorf("create rebate orders: users [%s] and [%s] in one batch: %w", user, o.UserID, rebate.ErrInvalid)
		}
	}
	for _, t := range tasks {
		if t.UserID != user {
			return fmt.Errorf("create rebate orders: user[%s] with a task of user[%s]: %w", user, t.UserID, rebate.ErrInvalid)
		}
	}
	return s.db.InUserTx(ctx, user, func(tx *sql.Tx, r sqldb.Route) error {
		for _, o := range orders {
			if err := s.insertTx(ctx, tx, r, o); err != nil {
				return err
			}
		}
		for _, t := range tasks {
			if err := s.tasks.InsertTx(ctx, tx, r, t); err != nil {
				return fmt.Errorf("create rebate orders: user[%s]: %w", user, err)
			}
		}
		return nil
	})
}

func (s *Store) insertTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, o rebate.Order) error {
	state := o.State
	if state == "" {
		state = rebate.OrderCreate
	}
	ms := o.Time.UnixMilli()
	_, err := tx.ExecContext(ctx, r.SQL(qInsert), o.UserID, o.OrderID, o.Behavior, o.RebateDesc, string(o.Type), o.Config,
		o.OutBusinessNo, o.BizID, string(state), ms, ms)
	if err == nil {
		return nil
	}
	if !s.db.Dialect().IsDuplicate(err) {
		return fmt.Errorf("create rebate order: user[%s] biz[%s]: %w", o.UserID, o.BizID, err)
	}
	// Which key? Only a stored biz id means "this rebate was made before"; a
	// colliding order id is a fault of the id generator, not of the request.
	var prev string
	switch qerr := tx.QueryRowContext(ctx, r.SQL(qBizID), o.BizID).Scan(&prev); {
	case qerr == nil:
		return fmt.Errorf("create rebate order: user[%s] biz[%s] (order[%s] stored): %w: %w",
			o.UserID, o.BizID, prev, rebate.ErrDuplicate, sqldb.ErrDuplicate)
	case errors.Is(qerr, sql.ErrNoRows):
		return fmt.Errorf("create rebate order: user[%s] order[%s]: %w: %w", o.UserID, o.OrderID, sqldb.ErrDuplicate, err)
	default:
		// Wrapped so that a retryable failure (deadlock) reruns the transaction.
		return fmt.Errorf("create rebate order: user[%s] biz[%s]: duplicate key, then looking up the biz id: %w", o.UserID, o.BizID, qerr)
	}
}

const qExists = `SELECT 1 FROM user_behavior_rebate_order{{suffix}}
	WHERE user_id = ? AND out_business_no = ? AND behavior_type = ? LIMIT 1`

// ExistsByOutBusinessNo implements rebate.Storer: whether userID has a rebate
// order of behavior with business number outBusinessNo.
func (s *Store) ExistsByOutBusinessNo(ctx context.Context, userID, behavior, outBusinessNo string) (bool, error) {
	r := s.db.Route(userID)
	var one int
	err := s.db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(qExists), userID, outBusinessNo, behavior).Scan(&one)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	}
	return false, fmt.Errorf("rebate order exists: user[%s] behavior[%s] out_business_no[%s]: %w", userID, behavior, outBusinessNo, err)
}

// orderColumns are the columns scanOrder reads, in its order.
const orderColumns = `user_id, order_id, behavior_type, rebate_desc, rebate_type, rebate_config, out_business_no, biz_id,
	state, create_time, attempts, last_error, update_time`

const qList = `SELECT ` + orderColumns + ` FROM user_behavior_rebate_order{{suffix}}
	WHERE user_id = ? ORDER BY create_time DESC, id DESC LIMIT ?`

// ListByUser implements rebate.Storer: userID's rebate orders, newest first
// (by time, then insertion). limit ≤ 0 means DefaultListLimit; it is capped at
// MaxListLimit. A user without orders gets an empty slice and no error.
func (s *Store) ListByUser(ctx context.Context, userID string, limit int) ([]rebate.Order, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	r := s.db.Route(userID)
	rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qList), userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list rebate orders: user[%s]: %w", userID, err)
	}
	defer rows.Close()
	out := []rebate.Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, fmt.Errorf("list rebate orders: user[%s]: %w", userID, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rebate orders: user[%s]: %w", userID, err)
	}
	return out, nil
}

const qMarkCompleted = `UPDATE user_behavior_rebate_order{{suffix}} SET state = ?, update_time = ?
	WHERE order_id = ? AND user_id = ? AND state = ?`

// MarkCompleted implements rebate.OrderMarker: it moves userID's rebate order
// orderID from rebate.OrderCreate to rebate.OrderCompleted with update time
// now. An unknown order or one in another state is left alone (no error).
func (s *Store) MarkCompleted(ctx context.Context, userID, orderID string, now time.Time) error {
	r := s.db.Route(userID)
	_, err := s.db.Shard(r.Shard).Exec(ctx, r.SQL(qMarkCompleted), string(rebate.OrderCompleted), now.UnixMilli(),
		orderID, userID, string(rebate.OrderCreate))
	if err != nil {
		return fmt.Errorf("mark rebate order completed: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return nil
}

// orderRow is a user_behavior_rebate_order row as scanned.
type orderRow struct {
	userID, orderID, behavior, desc, typ, config, outBusinessNo, bizID, state, lastError string
	createTime, updateTime                                                               int64
	attempts                                                                             int
}

// scanOrder reads one row of orderColumns.
func scanOrder(rows *sql.Rows) (rebate.Order, error) {
	var r orderRow
	if err := rows.Scan(&r.userID, &r.orderID, &r.behavior, &r.desc, &r.typ, &r.config, &r.outBusinessNo, &r.bizID,
		&r.state, &r.createTime, &r.attempts, &r.lastError, &r.updateTime); err != nil {
		return rebate.Order{}, err
	}
	return r.order(), nil
}

func (r orderRow) order() rebate.Order {
	return rebate.Order{
		UserID: r.userID, OrderID: r.orderID, Behavior: r.behavior, RebateDesc: r.desc, Type: rebate.Type(r.typ),
		Config: r.config, OutBusinessNo: r.outBusinessNo, BizID: r.bizID, State: rebate.OrderState(r.state),
		Time: time.UnixMilli(r.createTime), Attempts: r.attempts, LastError: r.lastError, Updated: time.UnixMilli(r.updateTime),
	}
}
