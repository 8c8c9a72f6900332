package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Retry bounds of InTx.
const (
	// TxAttempts is how many times InTx runs a transaction that keeps failing
	// with a retryable error (SQLITE_BUSY, MySQL deadlock or lock wait timeout).
	TxAttempts = 5
	// txBackoff is the wait before the second attempt; it doubles each time,
	// with up to 50% random jitter.
	txBackoff = 5 * time.Millisecond
)

// InTx runs fn in a write transaction on h and commits it. When fn returns an
// error or panics, the transaction is rolled back and the error returned as is
// (the panic goes on). A failed commit is returned wrapped ("commit: …"). When
// the failure is retryable by h's dialect (SQLITE_BUSY, MySQL deadlock or lock
// wait timeout), the whole transaction, fn included, runs again, at most
// TxAttempts times with a short backoff: fn must therefore keep no effects
// outside the transaction, or reset them on entry.
//
// On SQLite, concurrent InTx calls share one commit (see groupCommit): each runs
// in its own savepoint, so its error rolls back only its own work.
func InTx(ctx context.Context, h *Handle, fn func(*sql.Tx) error) error {
	return retry(ctx, h, func() error { return runTx(ctx, h, fn) })
}

// InTxOnce is InTx without retries: fn runs at most once, and a retryable
// failure is returned like any other. fn's error is returned as is; a failed
// begin or commit is returned wrapped ("begin transaction on …", "commit on
// …"), in which case fn did not run or its work was not kept.
func InTxOnce(ctx context.Context, h *Handle, fn func(*sql.Tx) error) error {
	return runTx(ctx, h, fn)
}

// Exec runs one statement outside a transaction on h's writer, run again like
// InTx when it fails with a retryable error: on MySQL two single-row UPDATEs of
// the same row through a secondary index can deadlock, and the statement that
// lost is rolled back whole, so running it again is safe.
func (h *Handle) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := retry(ctx, h, func() (err error) {
		res, err = h.write.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// retry runs op until it succeeds, fails with an error h's dialect does not
// call retryable, ctx ends, or TxAttempts attempts were made, backing off
// between attempts.
func retry(ctx context.Context, h *Handle, op func() error) error {
	wait := txBackoff
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || attempt == TxAttempts || !h.dialect.IsRetryable(err) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(wait + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

func runTx(ctx context.Context, h *Handle, fn func(*sql.Tx) error) (err error) {
	if h.group != nil {
		return h.group.run(ctx, fn)
	}
	tx, err := h.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction on %s: %w", h.name, err)
	}
	committed := false
	defer func() {
		if !committed {
			// Rolling back after a panic, an error or a failed commit; the
			// rollback error of a transaction already ended is not news.
			if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) && err != nil {
				err = fmt.Errorf("%w (rollback: %v)", err, rbErr)
			}
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit on %s: %w", h.name, err)
	}
	committed = true
	return nil
}

// InReadTx runs fn in a read-only transaction on h's read pool, so that the
// reads in fn see one consistent snapshot, and then ends it. fn's error is
// returned as is.
func InReadTx(ctx context.Context, h *Handle, fn func(*sql.Tx) error) (err error) {
	tx, err := h.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin read transaction on %s: %w", h.name, err)
	}
	defer func() {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) && err == nil {
			err = fmt.Errorf("end read transaction on %s: %w", h.name, rbErr)
		}
	}()
	return fn(tx)
}

// InUserTx runs fn in a write transaction on the shard of userID, passing the
// user's route so that fn can name the user's tables (Route.SQL). It has the
// semantics of InTx.
func (db *DB) InUserTx(ctx context.Context, userID string, fn func(tx *sql.Tx, r Route) error) error {
	r := db.Route(userID)
	return InTx(ctx, db.shards[r.Shard], func(tx *sql.Tx) error { return fn(tx, r) })
}
