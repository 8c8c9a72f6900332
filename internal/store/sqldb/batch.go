package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// Batch collects statements of one write transaction that need no answer but
// the last one's row count, so that they reach the database together: on MySQL
// in one multi-statement request (one network round trip instead of one per
// statement), on SQLite one after the other through the handle's prepared
// statements (SQLite has no round trips to save). The zero value is an empty
// batch, ready for use; a Batch is not safe for concurrent use.
//
// The statements run in the order they were added, inside the transaction, and
// the first failure stops the batch: on MySQL the server runs none of the
// statements after a failing one, on SQLite ExecBatchTx stops there. Either way
// the caller rolls the transaction back, as after any failed statement.
type Batch struct {
	stmts []batchStmt
}

type batchStmt struct {
	what  string
	query string
	args  []any
}

// Add appends a statement: what names it in errors ("insert award record"),
// query is routed SQL (Route.SQL applied), args its arguments.
func (b *Batch) Add(what, query string, args ...any) {
	b.stmts = append(b.stmts, batchStmt{what: what, query: query, args: args})
}

// Len is the number of statements added and not yet run.
func (b *Batch) Len() int { return len(b.stmts) }

// BatchError is the error of a failed batch: What names the statement that
// failed, or on MySQL, where the server does not say which one did, every
// statement of the batch ("insert award record, insert outbox task"). Err is
// the driver's error; errors.Is and errors.As see through to it, so
// Dialect.IsDuplicate and IsRetryable work on a BatchError.
type BatchError struct {
	What string
	Err  error
}

func (e *BatchError) Error() string { return e.What + ": " + e.Err.Error() }
func (e *BatchError) Unwrap() error { return e.Err }

// ExecBatchTx runs b's statements in tx, a write transaction on h, and empties
// b. It returns the number of rows the LAST statement affected (on MySQL the
// matched rows, as everywhere in this package). An empty batch runs nothing and
// returns 0. A failure returns a *BatchError.
func (h *Handle) ExecBatchTx(ctx context.Context, tx *sql.Tx, b *Batch) (int64, error) {
	stmts := b.stmts
	b.stmts = nil
	switch {
	case len(stmts) == 0:
		return 0, nil
	case len(stmts) == 1 || h.dialect.Name() != DriverMySQL:
		var res sql.Result
		for _, s := range stmts {
			var err error
			if res, err = h.ExecTx(ctx, tx, s.query, s.args...); err != nil {
				return 0, &BatchError{What: s.what, Err: err}
			}
		}
		return rowsAffected(res, stmts[len(stmts)-1].what)
	}
	var q strings.Builder
	var args []any
	whats := make([]string, len(stmts))
	for i, s := range stmts {
		if i > 0 {
			q.WriteString(";\n")
		}
		q.WriteString(s.query)
		args = append(args, s.args...)
		whats[i] = s.what
	}
	res, err := tx.ExecContext(ctx, q.String(), args...)
	if err != nil {
		return 0, &BatchError{What: strings.Join(whats, ", "), Err: err}
	}
	return rowsAffected(res, stmts[len(stmts)-1].what)
}

func rowsAffected(res sql.Result, what string) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, &BatchError{What: what, Err: fmt.Errorf("rows affected: %w", err)}
	}
	return n, nil
}

// QueryMultiTx runs queries, routed SQL, in tx, a write transaction on h, and
// answers one result set per query, in order, through the returned rows
// (sql.Rows.NextResultSet moves to the next query's). On MySQL they are sent in
// one multi-statement request, one round trip; elsewhere QueryMultiTx returns
// nil rows and ok false, and the caller runs the queries one by one. args are
// the arguments of all queries, in order.
func (h *Handle) QueryMultiTx(ctx context.Context, tx *sql.Tx, queries []string, args ...any) (rows *sql.Rows, ok bool, err error) {
	if h.dialect.Name() != DriverMySQL {
		return nil, false, nil
	}
	rows, err = tx.QueryContext(ctx, strings.Join(queries, ";\n"), args...)
	return rows, true, err
}
