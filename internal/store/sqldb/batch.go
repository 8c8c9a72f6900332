package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
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

// Merge moves o's statements to the end of b, in order, and empties o.
func (b *Batch) Merge(o *Batch) {
	b.stmts = append(b.stmts, o.stmts...)
	o.stmts = nil
}

// QueryAfterBatchTx runs b's statements and then query in tx, a write
// transaction on h, as one multi-statement request (MySQL only: elsewhere it
// returns an error and runs nothing), empties b, and answers query's rows. A
// failure of one of b's statements, which stops the request there, returns a
// *BatchError naming b's statements; the caller rolls the transaction back.
func (h *Handle) QueryAfterBatchTx(ctx context.Context, tx *sql.Tx, b *Batch, query string, args ...any) (*sql.Rows, error) {
	if h.dialect.Name() != DriverMySQL {
		return nil, fmt.Errorf("query after batch on %s: multi-statement requests need MySQL", h.name)
	}
	stmts := b.stmts
	b.stmts = nil
	var q strings.Builder
	var all []any
	whats := make([]string, 0, len(stmts)+1)
	for _, s := range stmts {
		q.WriteString(s.query)
		q.WriteString(";\n")
		all = append(all, s.args...)
		whats = append(whats, s.what)
	}
	q.WriteString(query)
	all = append(all, args...)
	rows, err := tx.QueryContext(ctx, q.String(), all...)
	if err != nil {
		return nil, &BatchError{What: strings.Join(append(whats, "query"), ", "), Err: err}
	}
	return rows, nil
}

// Compact regroups b's statements by query text, groups in the order of their
// first statement, and turns each group of two or more single-row INSERTs
// ("INSERT INTO … VALUES (?, …, ?)", possibly followed by an upsert clause
// without placeholders, such as "ON DUPLICATE KEY UPDATE n = n + VALUES(n)")
// into one multi-row INSERT with the group's rows in order: n rows cost the
// database one statement instead of n, and the server applies them row by row
// as it would have the single statements. Only for batches whose statements do
// not depend on each other's order across groups (no statement reads or
// changes a row another group writes), such as different users' rows; the row
// count of a merged statement is its rows'.
func (b *Batch) Compact() {
	if len(b.stmts) < 2 {
		return
	}
	order := make([]string, 0, len(b.stmts))
	groups := make(map[string][]batchStmt, len(b.stmts))
	for _, s := range b.stmts {
		if _, ok := groups[s.query]; !ok {
			order = append(order, s.query)
		}
		groups[s.query] = append(groups[s.query], s)
	}
	if len(order) == len(b.stmts) {
		return
	}
	out := make([]batchStmt, 0, len(order))
	for _, q := range order {
		g := groups[q]
		head, row, tail, ok := splitValues(q)
		if len(g) < 2 || !ok {
			out = append(out, g...)
			continue
		}
		var sb strings.Builder
		sb.Grow(len(head) + len(g)*(len(row)+2) + len(tail))
		sb.WriteString(head)
		var args []any
		for i, s := range g {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(row)
			args = append(args, s.args...)
		}
		sb.WriteString(tail)
		out = append(out, batchStmt{what: fmt.Sprintf("%s (and %d more rows)", g[0].what, len(g)-1), query: sb.String(), args: args})
	}
	b.stmts = out
}

// valuesRow finds the row of placeholders after an INSERT's VALUES.
var valuesRow = regexp.MustCompile(`(?i)\bVALUES\s*\(\s*\?(\s*,\s*\?)*\s*\)`)

// splitValues splits a single-row "INSERT … VALUES (?, …, ?) [tail]" into its
// head (through "VALUES "), its row of placeholders and its tail (an upsert
// clause without placeholders, or nothing); ok is false for any other
// statement.
func splitValues(q string) (head, row, tail string, ok bool) {
	if !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(q)), "INSERT INTO ") {
		return "", "", "", false
	}
	loc := valuesRow.FindStringIndex(q)
	if loc == nil {
		return "", "", "", false
	}
	tail = q[loc[1]:]
	if strings.Contains(tail, "?") || strings.Contains(q[:loc[0]], "?") {
		return "", "", "", false
	}
	if t := strings.ToUpper(strings.TrimSpace(tail)); t != "" && !strings.HasPrefix(t, "ON DUPLICATE KEY UPDATE ") && !strings.HasPrefix(t, "ON CONFLICT") {
		return "", "", "", false
	}
	match := q[loc[0]:loc[1]]
	open := strings.IndexByte(match, '(')
	return q[:loc[0]] + match[:open], match[open:], tail, true
}
