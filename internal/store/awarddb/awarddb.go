// Package awarddb stores award records (what users won) in the user tables of
// each user's shard.
package awarddb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

// Limits of ListByUser.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// Store writes and reads award records. It is safe for concurrent use.
type Store struct {
	db *sqldb.DB
}

// New returns a Store on db.
func New(db *sqldb.DB) *Store { return &Store{db: db} }

// execer is what *sql.DB and *sql.Tx offer for writes.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const qInsert = `INSERT INTO user_award_record{{suffix}} (user_id, activity_id, strategy_id, order_id, award_id,
	award_title, award_config, award_amount, stock_taken, award_time, award_state, create_time, update_time)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// Insert stores rec in the user_award_record table of rec.UserID's shard.
// create_time and update_time are rec.Time. A record whose OrderID is already
// stored returns an error wrapping sqldb.ErrDuplicate and changes nothing.
func (s *Store) Insert(ctx context.Context, rec award.Record) error {
	r := s.db.Route(rec.UserID)
	return s.insert(ctx, writeExecer{s.db.Shard(r.Shard)}, r, rec)
}

// writeExecer runs statements outside a transaction on a shard's writer,
// retried on a deadlock (sqldb.Handle.Exec).
type writeExecer struct{ h *sqldb.Handle }

func (e writeExecer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return e.h.Exec(ctx, query, args...)
}

// txExecer runs a transaction's statements through its shard's prepared
// statements (sqldb.Handle.ExecTx).
type txExecer struct {
	h  *sqldb.Handle
	tx *sql.Tx
}

func (e txExecer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return e.h.ExecTx(ctx, e.tx, query, args...)
}

// InsertTx is Insert inside a transaction the caller runs on rec.UserID's shard
// (sqldb.DB.InUserTx), so that the record commits with the facts around it (the
// outbox task, the raffle order marked used). r must be the user's route.
func (s *Store) InsertTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, rec award.Record) error {
	return s.insert(ctx, txExecer{h: s.db.Shard(r.Shard), tx: tx}, r, rec)
}

// AddInsert adds the insert of rec to w, a batch of a transaction the caller
// runs on rec.UserID's shard (r is the user's route) and runs with
// sqldb.Handle.ExecBatchTx: the record then reaches the database in the same
// round trip as the statements around it. A record whose order id is stored
// makes the batch fail with an error that sqldb.Dialect.IsDuplicate reports.
func (s *Store) AddInsert(w *sqldb.Batch, r sqldb.Route, rec award.Record) {
	w.Add("insert award record: user["+rec.UserID+"] order["+rec.OrderID+"]", r.SQL(qInsert), insertArgs(rec)...)
}

func insertArgs(rec award.Record) []any {
	ms := rec.Time.UnixMilli()
	taken := 0
	if rec.StockTaken {
		taken = 1
	}
	return []any{rec.UserID, rec.ActivityID, rec.StrategyID, rec.OrderID, rec.AwardID,
		rec.AwardTitle, rec.AwardConfig, rec.Amount.Cents(), taken, ms, string(rec.State), ms, ms}
}

func (s *Store) insert(ctx context.Context, ex execer, r sqldb.Route, rec award.Record) error {
	_, err := ex.ExecContext(ctx, r.SQL(qInsert), insertArgs(rec)...)
	if err != nil {
		if s.db.Dialect().IsDuplicate(err) {
			err = fmt.Errorf("%w: %w", sqldb.ErrDuplicate, err)
		}
		return fmt.Errorf("insert award record: user[%s] order[%s]: %w", rec.UserID, rec.OrderID, err)
	}
	return nil
}

// recordColumns are the columns scanRecord reads, in its order.
const recordColumns = `user_id, activity_id, strategy_id, order_id, award_id, award_title, award_config,
	award_amount, stock_taken, award_time, award_state, attempts, last_error, update_time`

// scanner is what *sql.Row and *sql.Rows offer.
type scanner interface {
	Scan(dest ...any) error
}

// scanRecord reads one row of recordColumns.
func scanRecord(sc scanner) (award.Record, error) {
	var rec award.Record
	var amount, taken, ms, updated int64
	var state string
	err := sc.Scan(&rec.UserID, &rec.ActivityID, &rec.StrategyID, &rec.OrderID, &rec.AwardID, &rec.AwardTitle,
		&rec.AwardConfig, &amount, &taken, &ms, &state, &rec.Attempts, &rec.LastError, &updated)
	if err != nil {
		return award.Record{}, err
	}
	rec.Amount, rec.StockTaken, rec.State = money.FromCents(amount), taken != 0, award.RecordState(state)
	rec.Time, rec.Updated = time.UnixMilli(ms), time.UnixMilli(updated)
	return rec, nil
}

const qListByUser = `SELECT ` + recordColumns + `
	FROM user_award_record{{suffix}} WHERE user_id = ? ORDER BY award_time DESC, id DESC LIMIT ?`

// ListByUser returns userID's award records, newest first (by award time, then
// insertion). limit ≤ 0 means DefaultListLimit; it is capped at MaxListLimit. A
// user without records gets an empty slice and no error.
func (s *Store) ListByUser(ctx context.Context, userID string, limit int) ([]award.Record, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	r := s.db.Route(userID)
	rows, err := s.db.Shard(r.Shard).Read().QueryContext(ctx, r.SQL(qListByUser), userID, limit)
	if err != nil {
		return nil, fmt.Errorf("list award records: user[%s]: %w", userID, err)
	}
	defer rows.Close()
	out := []award.Record{}
	for rows.Next() {
		rec, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("list award records: user[%s]: %w", userID, err)
		}
		out = append(out, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list award records: user[%s]: %w", userID, err)
	}
	return out, nil
}
