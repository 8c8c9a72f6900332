package awarddb

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

const qGet = `SELECT ` + recordColumns + `
	FROM user_award_record{{suffix}} WHERE order_id = ? AND user_id = ?`

// Get returns userID's award record of orderID. It returns an error wrapping
// award.ErrRecordNotFound and sqldb.ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, userID, orderID string) (award.Record, error) {
	r := s.db.Route(userID)
	rec, err := scanRecord(s.db.Shard(r.Shard).Read().QueryRowContext(ctx, r.SQL(qGet), orderID, userID))
	if errors.Is(err, sql.ErrNoRows) {
		return award.Record{}, fmt.Errorf("get award record: user[%s] order[%s]: %w: %w", userID, orderID,
			award.ErrRecordNotFound, sqldb.ErrNotFound)
	}
	if err != nil {
		return award.Record{}, fmt.Errorf("get award record: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return rec, nil
}

const qSetState = `UPDATE user_award_record{{suffix}} SET award_state = ?, update_time = ?
	WHERE order_id = ? AND user_id = ? AND award_state = ?`

// SetState moves userID's record of orderID from state from to state to, with
// update time now, and reports whether it did: false when the record is not in
// state from (or does not exist). Concurrent callers see exactly one true.
func (s *Store) SetState(ctx context.Context, userID, orderID string, from, to award.RecordState, now time.Time) (bool, error) {
	r := s.db.Route(userID)
	return s.setState(ctx, writeExecer{s.db.Shard(r.Shard)}, r, userID, orderID, from, to, now)
}

// SetStateTx is SetState inside a transaction the caller runs on userID's shard
// (r is the user's route).
func (s *Store) SetStateTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, userID, orderID string, from, to award.RecordState, now time.Time) (bool, error) {
	return s.setState(ctx, txExecer{h: s.db.Shard(r.Shard), tx: tx}, r, userID, orderID, from, to, now)
}

func (s *Store) setState(ctx context.Context, ex execer, r sqldb.Route, userID, orderID string, from, to award.RecordState, now time.Time) (bool, error) {
	ok, err := changed(ex.ExecContext(ctx, r.SQL(qSetState), string(to), now.UnixMilli(), orderID, userID, string(from)))
	if err != nil {
		return false, fmt.Errorf("set award record state: user[%s] order[%s] %s→%s: %w", userID, orderID, from, to, err)
	}
	return ok, nil
}

// changed reports whether a conditional UPDATE changed a row.
func changed(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

const qClaim = `UPDATE user_award_record{{suffix}} SET award_state = ?, claim_owner = ?, update_time = ?
	WHERE order_id = ? AND user_id = ? AND (award_state = ? OR (award_state = ? AND update_time < ?))`

// Claim moves userID's record of orderID to award.RecordDelivering for owner,
// with update (claim) time now, from award.RecordCreate or from a claim made
// before staleBefore, and reports whether it did. Concurrent callers see at
// most one true.
func (s *Store) Claim(ctx context.Context, userID, orderID, owner string, now, staleBefore time.Time) (bool, error) {
	r := s.db.Route(userID)
	ok, err := changed(s.db.Shard(r.Shard).Exec(ctx, r.SQL(qClaim), string(award.RecordDelivering), owner,
		now.UnixMilli(), orderID, userID, string(award.RecordCreate), string(award.RecordDelivering), staleBefore.UnixMilli()))
	if err != nil {
		return false, fmt.Errorf("claim award record: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return ok, nil
}

const qCompleteClaimed = `UPDATE user_award_record{{suffix}} SET award_state = ?, claim_owner = '', update_time = ?
	WHERE order_id = ? AND user_id = ? AND award_state IN (?, ?)`

// CompleteClaimed moves userID's record of orderID to award.RecordCompleted
// after its delivery succeeded, from award.RecordDelivering (whoever holds the
// claim: the award was delivered) or award.RecordCreate (a claim taken over
// and released meanwhile), and reports whether it did.
func (s *Store) CompleteClaimed(ctx context.Context, userID, orderID string, now time.Time) (bool, error) {
	r := s.db.Route(userID)
	ok, err := changed(s.db.Shard(r.Shard).Exec(ctx, r.SQL(qCompleteClaimed), string(award.RecordCompleted),
		now.UnixMilli(), orderID, userID, string(award.RecordDelivering), string(award.RecordCreate)))
	if err != nil {
		return false, fmt.Errorf("complete claimed award record: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return ok, nil
}

const qRelease = `UPDATE user_award_record{{suffix}} SET award_state = ?, claim_owner = '', last_error = ?, update_time = ?
	WHERE order_id = ? AND user_id = ? AND award_state = ? AND claim_owner = ?`

// Release gives back owner's claim on userID's record of orderID after a
// failed delivery: the record returns to award.RecordCreate with lastErr (cut
// to award.MaxLastErrorLen) as its last error. It reports whether it did
// (false: the claim is no longer owner's).
func (s *Store) Release(ctx context.Context, userID, orderID, owner, lastErr string, now time.Time) (bool, error) {
	r := s.db.Route(userID)
	ok, err := changed(s.db.Shard(r.Shard).Exec(ctx, r.SQL(qRelease), string(award.RecordCreate),
		truncate(lastErr), now.UnixMilli(), orderID, userID, string(award.RecordDelivering), owner))
	if err != nil {
		return false, fmt.Errorf("release award record claim: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return ok, nil
}

// truncate cuts a stored error message to award.MaxLastErrorLen bytes.
func truncate(msg string) string {
	if len(msg) <= award.MaxLastErrorLen {
		return msg
	}
	return award.TruncateError(errors.New(msg))
}

// CreditTx applies a credit order inside a caller's transaction: creditdb.Store.
type CreditTx interface {
	ApplyTx(ctx context.Context, tx *sql.Tx, r sqldb.Route, o credit.Order) error
	// AddApply adds a forward order to a transaction's batch.
	AddApply(w *sqldb.Batch, r sqldb.Route, o credit.Order) error
}

// Deliveries is award.DeliveryStore on SQL: award records and, for credit
// awards, the credit ledger, written together on the user's shard.
type Deliveries struct {
	db      *sqldb.DB
	records *Store
	credits CreditTx
	// batches, one per shard, gather concurrent credit deliveries into
	// shared transactions (MySQL only).
	batches []*creditBatches
}

// DeliveriesOption configures Deliveries.
type DeliveriesOption func(*deliveriesOptions)

type deliveriesOptions struct {
	batchers, batchSize int
	pace                time.Duration
}

// WithCreditPace sets how long a shard's credit batcher waits between the
// starts of its batches unless a whole batch is queued (gather.WithPace): zero
// means DefaultCreditPace on MySQL and none on SQLite, whose batches already
// share the writer's commits; negative means none.
func WithCreditPace(pace time.Duration) DeliveriesOption {
	return func(o *deliveriesOptions) { o.pace = pace }
}

// WithCreditBatches sets how many credit delivery batches run at once per
// shard (zero: DefaultCreditBatchers; negative: every delivery runs in a
// transaction of its own) and the most deliveries of one batch (zero:
// DefaultCreditBatchSize). On SQLite a batch is one savepoint of the
// writer's group commit.
func WithCreditBatches(batchers, size int) DeliveriesOption {
	return func(o *deliveriesOptions) { o.batchers, o.batchSize = batchers, size }
}

var _ award.DeliveryStore = (*Deliveries)(nil)

// NewDeliveries returns the delivery store of db; credits is the credit ledger
// (creditdb.New(db)).
func NewDeliveries(db *sqldb.DB, records *Store, credits CreditTx, opts ...DeliveriesOption) *Deliveries {
	var o deliveriesOptions
	for _, opt := range opts {
		opt(&o)
	}
	d := &Deliveries{db: db, records: records, credits: credits}
	if o.batchers >= 0 {
		batchers, size := cmp.Or(o.batchers, DefaultCreditBatchers), cmp.Or(o.batchSize, DefaultCreditBatchSize)
		pace := o.pace
		if pace == 0 && db.Dialect().Name() == sqldb.DriverMySQL {
			pace = DefaultCreditPace
		}
		for i := range db.Shards() {
			d.batches = append(d.batches, newCreditBatches(d, i, batchers, size, pace))
		}
	}
	return d
}

// Get implements award.DeliveryStore.
func (d *Deliveries) Get(ctx context.Context, userID, orderID string) (award.Record, error) {
	return d.records.Get(ctx, userID, orderID)
}

// SetState implements award.DeliveryStore.
func (d *Deliveries) SetState(ctx context.Context, userID, orderID string, from, to award.RecordState, now time.Time) (bool, error) {
	return d.records.SetState(ctx, userID, orderID, from, to, now)
}

// Claim implements award.DeliveryStore.
func (d *Deliveries) Claim(ctx context.Context, userID, orderID, owner string, now, staleBefore time.Time) (bool, error) {
	return d.records.Claim(ctx, userID, orderID, owner, now, staleBefore)
}

// CompleteClaimed implements award.DeliveryStore.
func (d *Deliveries) CompleteClaimed(ctx context.Context, userID, orderID string, now time.Time) (bool, error) {
	return d.records.CompleteClaimed(ctx, userID, orderID, now)
}

// Release implements award.DeliveryStore.
func (d *Deliveries) Release(ctx context.Context, userID, orderID, owner, lastErr string, now time.Time) (bool, error) {
	return d.records.Release(ctx, userID, orderID, owner, lastErr, now)
}

// qRecordState reads a record's state (a duplicate credit's explanation).
const qRecordState = `SELECT award_state FROM user_award_record{{suffix}} WHERE order_id = ? AND user_id = ?`

// CreditAndComplete implements award.DeliveryStore: in one transaction on
// userID's shard it moves the record from create to completed (an error wrapping
// award.ErrRecordState when it is not in create) and applies o (an error
// wrapping credit.ErrDuplicate when its out_business_no is in the ledger); any
// error rolls both back.
//
// A forward order and the record's change go in one batch (one request on
// MySQL): the credit order, the account, then the record, whose row count
// decides. A duplicate delivery therefore stops at the credit order's unique
// key, waiting there for the first one; it then reads the record, and answers
// award.ErrRecordState when the record left create (credit.ErrDuplicate
// otherwise). A record in another state rolls the credit back.
//
// On MySQL, forward orders of concurrent deliveries share transactions
// (batches, see creditBatches) with the same outcomes.
func (d *Deliveries) CreditAndComplete(ctx context.Context, userID, orderID string, o credit.Order, now time.Time) error {
	if d.batches != nil && o.TradeType == credit.Forward {
		return d.batches[d.db.Route(userID).Shard].credit(ctx, userID, orderID, o, now)
	}
	return d.creditAlone(ctx, userID, orderID, o, now)
}

// creditAlone is CreditAndComplete in a transaction of its own.
func (d *Deliveries) creditAlone(ctx context.Context, userID, orderID string, o credit.Order, now time.Time) error {
	err := d.db.InUserTx(ctx, userID, func(tx *sql.Tx, r sqldb.Route) error {
		if o.TradeType != credit.Forward {
			// The record first: a duplicate delivery waits on its row and
			// then finds it completed, without touching the ledger.
			ok, err := d.records.SetStateTx(ctx, tx, r, userID, orderID, award.RecordCreate, award.RecordCompleted, now)
			if err != nil {
				return err
			}
			if !ok {
				return award.ErrRecordState
			}
			return d.credits.ApplyTx(ctx, tx, r, o)
		}
		var w sqldb.Batch
		if err := d.credits.AddApply(&w, r, o); err != nil {
			return err
		}
		w.Add("set award record state: user["+userID+"] order["+orderID+"] create→completed", r.SQL(qSetState),
			string(award.RecordCompleted), now.UnixMilli(), orderID, userID, string(award.RecordCreate))
		h := d.db.Shard(r.Shard)
		n, err := h.ExecBatchTx(ctx, tx, &w)
		if err != nil {
			if !d.db.Dialect().IsDuplicate(err) {
				return err
			}
			// Only the credit order has a unique key to break. The record's
			// state still answers first, as when it was changed first: a
			// record no longer in create is ErrRecordState.
			var state string
			serr := h.QueryRowTx(ctx, tx, r.SQL(qRecordState)+d.db.Dialect().ForUpdate(), orderID, userID).Scan(&state)
			if errors.Is(serr, sql.ErrNoRows) || (serr == nil && state != string(award.RecordCreate)) {
				return award.ErrRecordState
			}
			return fmt.Errorf("%w: %w: %w", credit.ErrDuplicate, sqldb.ErrDuplicate, err)
		}
		if n == 0 {
			return award.ErrRecordState
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("credit and complete award record: user[%s] order[%s]: %w", userID, orderID, err)
	}
	return nil
}
