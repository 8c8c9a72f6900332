package rebatedb

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/bigmarket/bigmarket/internal/rebate"
)

// The reconciler's view of rebate orders (internal/reconcile): orders left in
// create past a deadline (their message parked, or their completion mark
// lost), taken for one more delivery or given up as failed.

// MaxLastErrorLen bounds the stored last delivery error, in bytes.
const MaxLastErrorLen = 512

const qStale = `SELECT ` + orderColumns + ` FROM user_behavior_rebate_order{{suffix}}
	WHERE state = ? AND update_time < ? ORDER BY update_time LIMIT ?`

// Stale returns, from every table of every shard, rebate orders in
// rebate.OrderCreate last changed before before: at most limit per table,
// oldest first; limit ≤ 0 means DefaultListLimit.
func (s *Store) Stale(ctx context.Context, before time.Time, limit int) ([]rebate.Order, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	var out []rebate.Order
	for _, r := range s.db.Routes() {
		rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qStale), string(rebate.OrderCreate), before.UnixMilli(), limit)
		if err != nil {
			return nil, fmt.Errorf("stale rebate orders: shard %d table %q: %w", r.Shard, r.Suffix, err)
		}
		for rows.Next() {
			o, err := scanOrder(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("stale rebate orders: shard %d table %q: %w", r.Shard, r.Suffix, err)
			}
			out = append(out, o)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("stale rebate orders: shard %d table %q: %w", r.Shard, r.Suffix, err)
		}
	}
	return out, nil
}

// changed reports whether a conditional UPDATE changed a row.
func changed(n int64, err error) (bool, error) { return n > 0, err }

func (s *Store) exec(ctx context.Context, userID, q string, args ...any) (int64, error) {
	r := s.db.Route(userID)
	res, err := s.db.Shard(r.Shard).Exec(ctx, r.SQL(q), args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

const qRetake = `UPDATE user_behavior_rebate_order{{suffix}} SET attempts = attempts + 1, update_time = ?
	WHERE order_id = ? AND user_id = ? AND state = ? AND update_time = ?`

// Retake takes o, as Stale returned it, for one more delivery attempt: its
// attempts grow by one and its update time becomes now. It reports whether it
// did (false: the order changed since it was read).
func (s *Store) Retake(ctx context.Context, o rebate.Order, now time.Time) (bool, error) {
	ok, err := changed(s.exec(ctx, o.UserID, qRetake, now.UnixMilli(), o.OrderID, o.UserID, string(o.State), o.Updated.UnixMilli()))
	if err != nil {
		return false, fmt.Errorf("retake rebate order: user[%s] order[%s]: %w", o.UserID, o.OrderID, err)
	}
	return ok, nil
}

const qFail = `UPDATE user_behavior_rebate_order{{suffix}} SET state = ?,
	last_error = CASE WHEN last_error = '' THEN ? ELSE last_error END, update_time = ?
	WHERE order_id = ? AND user_id = ? AND state = ? AND update_time = ?`

// Fail gives o, as Stale returned it, up: the order becomes rebate.OrderFailed,
// keeping its last error, or reason when it has none. It reports whether it
// did (false: the order changed since it was read).
func (s *Store) Fail(ctx context.Context, o rebate.Order, reason string, now time.Time) (bool, error) {
	ok, err := changed(s.exec(ctx, o.UserID, qFail, string(rebate.OrderFailed), truncate(reason), now.UnixMilli(),
		o.OrderID, o.UserID, string(o.State), o.Updated.UnixMilli()))
	if err != nil {
		return false, fmt.Errorf("fail rebate order: user[%s] order[%s]: %w", o.UserID, o.OrderID, err)
	}
	return ok, nil
}

const qNoteError = `UPDATE user_behavior_rebate_order{{suffix}} SET last_error = ? WHERE order_id = ? AND user_id = ?`

// NoteError stores msg (cut to MaxLastErrorLen bytes) as the last delivery
// error of userID's rebate order orderID; its state and update time are kept.
func (s *Store) NoteError(ctx context.Context, userID, orderID, msg string) error {
	if _, err := s.exec(ctx, userID, qNoteError, truncate(msg), orderID, userID); err != nil {
		return fmt.Errorf("note rebate order error: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return nil
}

const qReset = `UPDATE user_behavior_rebate_order{{suffix}} SET state = ?, attempts = 0, update_time = ?
	WHERE order_id = ? AND user_id = ? AND state IN (?, ?)`

// Reset readies userID's rebate order orderID for an operator's retry: an
// order in rebate.OrderFailed or rebate.OrderCreate returns to
// rebate.OrderCreate with no attempts counted. It reports whether it did
// (false: completed or unknown).
func (s *Store) Reset(ctx context.Context, userID, orderID string, now time.Time) (bool, error) {
	ok, err := changed(s.exec(ctx, userID, qReset, string(rebate.OrderCreate), now.UnixMilli(), orderID, userID,
		string(rebate.OrderFailed), string(rebate.OrderCreate)))
	if err != nil {
		return false, fmt.Errorf("reset rebate order: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return ok, nil
}

const qGet = `SELECT ` + orderColumns + ` FROM user_behavior_rebate_order{{suffix}} WHERE order_id = ? AND user_id = ?`

// Get returns userID's rebate order orderID, or an error wrapping
// rebate.ErrNotFound.
func (s *Store) Get(ctx context.Context, userID, orderID string) (rebate.Order, error) {
	r := s.db.Route(userID)
	rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qGet), orderID, userID)
	if err != nil {
		return rebate.Order{}, fmt.Errorf("get rebate order: user[%s] order[%s]: %w", userID, orderID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return rebate.Order{}, fmt.Errorf("get rebate order: user[%s] order[%s]: %w", userID, orderID, err)
		}
		return rebate.Order{}, fmt.Errorf("get rebate order: user[%s] order[%s]: %w", userID, orderID, rebate.ErrNotFound)
	}
	o, err := scanOrder(rows)
	if err != nil {
		return rebate.Order{}, fmt.Errorf("get rebate order: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return o, nil
}

// truncate cuts msg to MaxLastErrorLen bytes at a rune boundary.
func truncate(msg string) string {
	n := MaxLastErrorLen
	if len(msg) <= n {
		return msg
	}
	for n > 0 && !utf8.RuneStart(msg[n]) {
		n--
	}
	return msg[:n]
}
