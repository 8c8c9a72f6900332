package creditdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
)

// LedgerEntry is a credit order with the available balance right after it.
type LedgerEntry struct {
	credit.Order
	// BalanceAfter is the available balance once this order was applied,
	// derived from the current balance and the orders after it in one read
	// snapshot.
	BalanceAfter money.Amount
}

const qNewerSum = `SELECT COALESCE(SUM(CASE WHEN trade_type = 'forward' THEN trade_amount ELSE -trade_amount END), 0)
	FROM (SELECT trade_type, trade_amount FROM user_credit_order{{suffix}} WHERE user_id = ?
	ORDER BY create_time DESC, id DESC LIMIT ?) newer`

const qLedgerPage = `SELECT user_id, order_id, trade_name, trade_type, trade_amount, out_business_no, create_time
	FROM user_credit_order{{suffix}} WHERE user_id = ? ORDER BY create_time DESC, id DESC LIMIT ? OFFSET ?`

// LedgerPage returns up to limit of userID's credit orders, newest first,
// skipping the first offset, each with the balance after it. The balance, the
// orders skipped and the page are read in one read-only transaction, so the
// figures agree with each other. limit ≤ 0 means DefaultLedgerLimit; it is
// capped at MaxLedgerLimit; a negative offset counts as 0.
func (s *Store) LedgerPage(ctx context.Context, userID string, offset, limit int) ([]LedgerEntry, error) {
	if limit <= 0 {
		limit = DefaultLedgerLimit
	}
	limit = min(limit, MaxLedgerLimit)
	offset = max(offset, 0)
	r := s.db.Route(userID)
	tx, err := s.db.Shard(r.Shard).Read().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("credit ledger page: user[%s]: %w", userID, err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only; nothing to keep
	var balance, newer int64
	err = tx.QueryRowContext(ctx, r.SQL(qBalance), userID).Scan(&balance)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("credit ledger page: user[%s]: balance: %w", userID, err)
	}
	if offset > 0 {
		if err := tx.QueryRowContext(ctx, r.SQL(qNewerSum), userID, offset).Scan(&newer); err != nil {
			return nil, fmt.Errorf("credit ledger page: user[%s]: newer orders: %w", userID, err)
		}
	}
	rows, err := tx.QueryContext(ctx, r.SQL(qLedgerPage), userID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("credit ledger page: user[%s]: %w", userID, err)
	}
	defer rows.Close()
	after := balance - newer
	out := []LedgerEntry{}
	for rows.Next() {
		var row orderRow
		if err := rows.Scan(&row.userID, &row.orderID, &row.tradeName, &row.tradeType, &row.amount,
			&row.outBusinessNo, &row.createTime); err != nil {
			return nil, fmt.Errorf("credit ledger page: user[%s]: %w", userID, err)
		}
		o := row.order()
		out = append(out, LedgerEntry{Order: o, BalanceAfter: money.FromCents(after)})
		if o.TradeType == credit.Forward {
			after -= row.amount
		} else {
			after += row.amount
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("credit ledger page: user[%s]: %w", userID, err)
	}
	return out, nil
}
