package awarddb

import (
	"context"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
)

// The reconciler's view of award records (internal/reconcile): records not
// finished past a deadline, taken for one more attempt or given up as failed;
// and an operator's retry (admin API).

const qStale = `SELECT ` + recordColumns + `
	FROM user_award_record{{suffix}} WHERE award_state = ? AND update_time < ? ORDER BY update_time LIMIT ?`

// Stale returns, from every table of every shard, award records not finished:
// in award.RecordCreate last changed before createBefore, and in
// award.RecordDelivering claimed before claimBefore (a claim left by a process
// that died). At most limit of each state per table, oldest first; limit ≤ 0
// means DefaultListLimit.
func (s *Store) Stale(ctx context.Context, createBefore, claimBefore time.Time, limit int) ([]award.Record, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	var out []award.Record
	for _, r := range s.db.Routes() {
		for _, q := range []struct {
			state  award.RecordState
			before time.Time
		}{{award.RecordCreate, createBefore}, {award.RecordDelivering, claimBefore}} {
			rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qStale), string(q.state), q.before.UnixMilli(), limit)
			if err != nil {
				return nil, fmt.Errorf("stale award records: shard %d table %q: %w", r.Shard, r.Suffix, err)
			}
			for rows.Next() {
				rec, err := scanRecord(rows)
				if err != nil {
					rows.Close()
					return nil, fmt.Errorf("stale award records: shard %d table %q: %w", r.Shard, r.Suffix, err)
				}
				out = append(out, rec)
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, fmt.Errorf("stale award records: shard %d table %q: %w", r.Shard, r.Suffix, err)
			}
		}
	}
	return out, nil
}

const qRetake = `UPDATE user_award_record{{suffix}} SET award_state = ?, claim_owner = '', attempts = attempts + 1, update_time = ?
	WHERE order_id = ? AND user_id = ? AND award_state = ? AND update_time = ?`

// Retake takes rec, as Stale returned it, for one more delivery attempt: the
// record returns to award.RecordCreate (a stale claim is dropped), its attempts
// grow by one and its update time becomes now. It reports whether it did
// (false: the record changed since it was read, e.g. it was delivered).
func (s *Store) Retake(ctx context.Context, rec award.Record, now time.Time) (bool, error) {
	r := s.db.Route(rec.UserID)
	ok, err := changed(s.db.Shard(r.Shard).Exec(ctx, r.SQL(qRetake), string(award.RecordCreate), now.UnixMilli(),
		rec.OrderID, rec.UserID, string(rec.State), rec.Updated.UnixMilli()))
	if err != nil {
		return false, fmt.Errorf("retake award record: user[%s] order[%s]: %w", rec.UserID, rec.OrderID, err)
	}
	return ok, nil
}

const qFail = `UPDATE user_award_record{{suffix}} SET award_state = ?, claim_owner = '',
	last_error = CASE WHEN last_error = '' THEN ? ELSE last_error END, update_time = ?
	WHERE order_id = ? AND user_id = ? AND award_state = ? AND update_time = ?`

// Fail gives rec, as Stale returned it, up: the record becomes
// award.RecordFailed, keeping its last error, or reason when it has none. It
// reports whether it did (false: the record changed since it was read).
func (s *Store) Fail(ctx context.Context, rec award.Record, reason string, now time.Time) (bool, error) {
	r := s.db.Route(rec.UserID)
	ok, err := changed(s.db.Shard(r.Shard).Exec(ctx, r.SQL(qFail), string(award.RecordFailed), truncate(reason),
		now.UnixMilli(), rec.OrderID, rec.UserID, string(rec.State), rec.Updated.UnixMilli()))
	if err != nil {
		return false, fmt.Errorf("fail award record: user[%s] order[%s]: %w", rec.UserID, rec.OrderID, err)
	}
	return ok, nil
}

const qNoteError = `UPDATE user_award_record{{suffix}} SET last_error = ? WHERE order_id = ? AND user_id = ?`

// NoteError stores msg (cut to award.MaxLastErrorLen) as the last delivery
// error of userID's record of orderID; its state and update time are kept.
func (s *Store) NoteError(ctx context.Context, userID, orderID, msg string) error {
	r := s.db.Route(userID)
	if _, err := s.db.Shard(r.Shard).Exec(ctx, r.SQL(qNoteError), truncate(msg), orderID, userID); err != nil {
		return fmt.Errorf("note award record error: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return nil
}

const qReset = `UPDATE user_award_record{{suffix}} SET award_state = ?, claim_owner = '', attempts = 0, update_time = ?
	WHERE order_id = ? AND user_id = ? AND award_state IN (?, ?, ?)`

// Reset readies userID's record of orderID for an operator's retry: a record in
// award.RecordFailed, award.RecordPendingManual or award.RecordCreate returns
// to award.RecordCreate with no attempts counted (its last error is kept until
// the next one). It reports whether it did (false: the record is completed,
// being delivered, or does not exist).
func (s *Store) Reset(ctx context.Context, userID, orderID string, now time.Time) (bool, error) {
	r := s.db.Route(userID)
	ok, err := changed(s.db.Shard(r.Shard).Exec(ctx, r.SQL(qReset), string(award.RecordCreate), now.UnixMilli(),
		orderID, userID, string(award.RecordFailed), string(award.RecordPendingManual), string(award.RecordCreate)))
	if err != nil {
		return false, fmt.Errorf("reset award record: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return ok, nil
}
