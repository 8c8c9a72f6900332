// Package creditdb stores the credit ledger (credit.Order) and the credit
// accounts in the user tables of each user's shard: user_credit_order and
// user_credit_account. A balance never goes negative: a reverse order spends
// with one conditional UPDATE (available_amount >= amount) and is refused as a
// whole when it matches no row.
package creditdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Limits of Ledger.
const (
	DefaultLedgerLimit = 100
	MaxLedgerLimit     = 1000
)

// accountOpen is the account_status of every account (the original's "open").
const accountOpen = "open"

// Store is the SQL credit ledger. It is safe for concurrent use.
type Store struct {
	db       *sqldb.DB
	qForward string // upsert of the account, dialect specific
}

var _ credit.Storer = (*Store)(nil)

// New returns a Store on db.
func New(db *sqldb.DB) *Store {
	d := db.Dialect()
	forward := `INSERT INTO user_credit_account{{suffix}} (user_id, total_amount, available_amount, account_status,
	create_time, update_time) VALUES (?, ?, ?, ?, ?, ?) ` + d.Upsert([]string{"user_id"},
		"total_amount = total_amount + "+d.Excluded("total_amount"),
		"available_amount = available_amount + "+d.Excluded("available_amount"),
		"update_time = "+d.Excluded("update_time"))
	return &Store{db: db, qForward: forward}
}

const qInsertOrder = `INSERT INTO user_credit_order{{suffix}} (user_id, order_id, trade_name, trade_type, trade_amount,
	out_business_no, create_time, update_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

const qReverse = `UPDATE user_credit_account{{suffix}} SET available_amount = available_amount - ?, update_time = ?
	WHERE user_id = ? AND available_amount >= ?`

// Apply stores o and changes o.UserID's account in one transaction on the user's
// shard; see ApplyTx for the rules and errors.
func (s *Store) Apply(ctx context.Context, o credit.Order) error {
	if err := o.Validate(); err != nil {
		return err
	}
	return s.db.InUserTx(ctx, o.UserID, func(tx *sql.Tx, r sqldb.Route) error {
		return s.ApplyTx(ctx, tx, r, o)
	})
}

// AddApply adds a forward order o to w, a batch of a transaction the caller
// runs on o.UserID's shard (r is the user's route) with
// sqldb.Handle.ExecBatchTx: the credit order's insert, then the account's
// upsert adding o.Amount, as ApplyTx does. It returns an error wrapping
// credit.ErrInvalidAmount or credit.ErrInvalidOrder for an invalid order, and
// credit.ErrInvalidOrder for a reverse order (a spend needs its row count:
// ApplyTx). An out_business_no or order id already in the ledger makes the
// batch fail with an error that sqldb.Dialect.IsDuplicate reports.
func (s *Store) AddApply(w *sqldb.Batch, r sqldb.Route, o credit.Order) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.TradeType != credit.Forward {
		return fmt.Errorf("apply credit order in a batch: user[%s] out_business_no[%s] type %s: forward only: %w",
			o.UserID, o.OutBusinessNo, o.TradeType, credit.ErrInvalidOrder)
	}
	ms, cents := o.Time.UnixMilli(), o.Amount.Cents()
	w.Add("insert credit order: user["+o.UserID+"] out_business_no["+o.OutBusinessNo+"]", r.SQL(qInsertOrder),
		o.UserID, o.OrderID, o.TradeName, string(o.TradeType), cents, o.OutBusinessNo, ms, ms)
	w.Add("add to credit account: user["+o.UserID+"]", r.SQL(s.qForward), o.UserID, cents, cents, accountOpen, ms, ms)
	return nil
}

// ApplyTx stores o in a transaction the caller runs on o.UserID's shard (r is the
// user's route), so that the ledger entry commits with the fact it pays for:
// it inserts the credit order, then a forward order adds o.Amount to the total
// and available amounts (creating the account), and a reverse order spends it
// from the available amount only if enough is available. It returns an error
// wrapping credit.ErrInvalidAmount or credit.ErrInvalidOrder for an invalid
// order, credit.ErrDuplicate (and sqldb.ErrDuplicate) when the out_business_no or
// order id is already in the ledger, and credit.ErrInsufficient when a reverse
// order would overdraw (or the user has no account). After any error the caller
// must roll the transaction back: the order row may have been written.
func (s *Store) ApplyTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, o credit.Order) error {
	if err := o.Validate(); err != nil {
		return err
	}
	ms, cents := o.Time.UnixMilli(), o.Amount.Cents()
	h := s.db.Shard(r.Shard)
	_, err := h.ExecTx(ctx, tx, r.SQL(qInsertOrder), o.UserID, o.OrderID, o.TradeName, string(o.TradeType), cents,
		o.OutBusinessNo, ms, ms)
	if err != nil {
		if s.db.Dialect().IsDuplicate(err) {
			return fmt.Errorf("apply credit order: user[%s] out_business_no[%s]: %w: %w: %w",
				o.UserID, o.OutBusinessNo, credit.ErrDuplicate, sqldb.ErrDuplicate, err)
		}
		return fmt.Errorf("apply credit order: user[%s] out_business_no[%s]: insert order: %w", o.UserID, o.OutBusinessNo, err)
	}
	switch o.TradeType {
	case credit.Forward:
		if _, err := h.ExecTx(ctx, tx, r.SQL(s.qForward), o.UserID, cents, cents, accountOpen, ms, ms); err != nil {
			return fmt.Errorf("apply credit order: user[%s] out_business_no[%s]: add to account: %w", o.UserID, o.OutBusinessNo, err)
		}
	case credit.Reverse:
		res, err := h.ExecTx(ctx, tx, r.SQL(qReverse), cents, ms, o.UserID, cents)
		if err != nil {
			return fmt.Errorf("apply credit order: user[%s] out_business_no[%s]: spend from account: %w", o.UserID, o.OutBusinessNo, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("apply credit order: user[%s] out_business_no[%s]: spend from account: %w", o.UserID, o.OutBusinessNo, err)
		}
		if n == 0 {
			return fmt.Errorf("apply credit order: user[%s] out_business_no[%s] amount %s: %w",
				o.UserID, o.OutBusinessNo, o.Amount, credit.ErrInsufficient)
		}
	}
	return nil
}

const qBalance = `SELECT available_amount FROM user_credit_account{{suffix}} WHERE user_id = ?`

// Balance returns the available balance of userID; a user without an account has
// a zero balance and no error.
func (s *Store) Balance(ctx context.Context, userID string) (money.Amount, error) {
	r := s.db.Route(userID)
	var cents int64
	err := s.db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(qBalance), userID).Scan(&cents)
	if errors.Is(err, sql.ErrNoRows) {
		return money.Amount{}, nil
	}
	if err != nil {
		return money.Amount{}, fmt.Errorf("credit balance: user[%s]: %w", userID, err)
	}
	return money.FromCents(cents), nil
}

const qLedger = `SELECT user_id, order_id, trade_name, trade_type, trade_amount, out_business_no, create_time
	FROM user_credit_order{{suffix}} WHERE user_id = ? ORDER BY create_time DESC, id DESC LIMIT ?`

// Ledger returns userID's credit orders, newest first (by time, then insertion).
// limit ≤ 0 means DefaultLedgerLimit; it is capped at MaxLedgerLimit. A user
// without orders gets an empty slice and no error.
func (s *Store) Ledger(ctx context.Context, userID string, limit int) ([]credit.Order, error) {
	if limit <= 0 {
		limit = DefaultLedgerLimit
	}
	limit = min(limit, MaxLedgerLimit)
	r := s.db.Route(userID)
	rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qLedger), userID, limit)
	if err != nil {
		return nil, fmt.Errorf("credit ledger: user[%s]: %w", userID, err)
	}
	defer rows.Close()
	out := []credit.Order{}
	for rows.Next() {
		var row orderRow
		if err := rows.Scan(&row.userID, &row.orderID, &row.tradeName, &row.tradeType, &row.amount,
			&row.outBusinessNo, &row.createTime); err != nil {
			return nil, fmt.Errorf("credit ledger: user[%s]: %w", userID, err)
		}
		out = append(out, row.order())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("credit ledger: user[%s]: %w", userID, err)
	}
	return out, nil
}

// orderRow is a user_credit_order row as scanned.
type orderRow struct {
	userID, orderID, tradeName, tradeType, outBusinessNo string
	amount, createTime                                   int64
}

func (r orderRow) order() credit.Order {
	return credit.Order{
		UserID: r.userID, OrderID: r.orderID, TradeName: r.tradeName, TradeType: credit.TradeType(r.tradeType),
		Amount: money.FromCents(r.amount), OutBusinessNo: r.outBusinessNo, Time: time.UnixMilli(r.createTime),
	}
}
