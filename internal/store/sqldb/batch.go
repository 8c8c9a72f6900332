package sqldb

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	what    string
	query   string
	args    []any
	counted bool // its changed rows count toward ExecCountedTx's total
}

// Add appends a statement: what names it in errors ("insert award record"),
// query is routed SQL (Route.SQL applied), args its arguments.
func (b *Batch) Add(what, query string, args ...any) {
	b.stmts = append(b.stmts, batchStmt{what: what, query: query, args: args})
}

// AddCounted appends a statement, as Add does, whose changed rows (matched
// rows on MySQL) count toward the total ExecCountedTx answers (ExecBatchTx
// runs it as any other).
func (b *Batch) AddCounted(what, query string, args ...any) {
	b.stmts = append(b.stmts, batchStmt{what: what, query: query, args: args, counted: true})
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
	q, args, whats := join(stmts, false)
	res, err := tx.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, &BatchError{What: whats, Err: err}
	}
	return rowsAffected(res, stmts[len(stmts)-1].what)
}

// The rows changed by a batch's counted statements are summed in a session
// variable of its connection, in the batch's request.
const (
	qResetCounted = `SET @bm_counted = 0`
	qAddCounted   = `SET @bm_counted = @bm_counted + ROW_COUNT()`
	qReadCounted  = `SELECT @bm_counted`
)

// compound makes one anonymous compound statement of a multi-statement query
// (its statements separated by ";\n", none a compound statement itself).
func compound(q string) string { return "BEGIN NOT ATOMIC\n" + q + ";\nEND" }

// join makes one multi-statement request of stmts: the SQL, the arguments in
// order, and the statements' names for errors. With counting, a counted
// statement is followed by the addition of its row count.
func join(stmts []batchStmt, counting bool) (query string, args []any, whats string) {
	var q strings.Builder
	names := make([]string, len(stmts))
	for i, s := range stmts {
		if i > 0 {
			q.WriteString(";\n")
		}
		q.WriteString(s.query)
		if counting && s.counted {
			q.WriteString(";\n" + qAddCounted)
		}
		args = append(args, s.args...)
		names[i] = s.what
	}
	return q.String(), args, strings.Join(names, ", ")
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

// InSet returns values as a set to write "col IN (set)", and its arguments: on
// MySQL one placeholder per value ("?, ?, …"); on SQLite one argument, the
// values as a JSON array read by json_each, so that the statement's text does
// not depend on how many values there are and it runs prepared (a list of
// placeholders would make a statement of each size, each parsed anew). values
// must not be empty.
func InSet(d Dialect, values []string) (set string, args []any) {
	if d.Name() != DriverMySQL {
		list, _ := json.Marshal(values) // strings always marshal
		return "SELECT value FROM json_each(?)", []any{string(list)}
	}
	args = make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return strings.Repeat("?, ", len(values)-1) + "?", args
}

// Merge moves o's statements to the end of b, in order, and empties o.
func (b *Batch) Merge(o *Batch) {
	b.stmts = append(b.stmts, o.stmts...)
	o.stmts = nil
}

// ExecCountedTx runs b's statements in tx, a write transaction on h, empties
// b, and answers the rows changed by its counted statements (AddCounted). On
// MySQL the statements travel as one multi-statement request and the server
// sums the counts in the same request; elsewhere they run one after the other
// through h's prepared statements, each count read as it completes. A failure,
// which stops the batch at the failing statement, returns a *BatchError; the
// caller rolls the transaction back.
//
// On MariaDB the statements run inside one anonymous compound statement
// (BEGIN NOT ATOMIC … END). A multi-statement request is answered statement by
// statement: the server writes an OK packet at the end of each, and the
// client's reader wakes for each. Inside a compound statement the statements
// send nothing, and the request comes back as two answers, the compound's
// and the count's. "NOT ATOMIC" is the plain semantics of statements in a
// transaction, as in the multi-statement request: the first error stops the
// block, comes back as the request's error (a deadlock's or a duplicate key's
// number included), and leaves the statements before it to the caller's
// rollback.
func (h *Handle) ExecCountedTx(ctx context.Context, tx *sql.Tx, b *Batch) (int64, error) {
	if h.dialect.Name() != DriverMySQL {
		stmts := b.stmts
		b.stmts = nil
		var total int64
		for _, s := range stmts {
			res, err := h.ExecTx(ctx, tx, s.query, s.args...)
			if err != nil {
				return 0, &BatchError{What: s.what, Err: err}
			}
			if s.counted {
				n, err := rowsAffected(res, s.what)
				if err != nil {
					return 0, err
				}
				total += n
			}
		}
		return total, nil
	}
	stmts := append([]batchStmt{{what: "count rows changed", query: qResetCounted}}, b.stmts...)
	b.stmts = nil
	q, args, whats := join(stmts, true)
	if h.mariadb {
		q = compound(q)
	}
	rows, err := tx.QueryContext(ctx, q+";\n"+qReadCounted, args...)
	if err != nil {
		return 0, &BatchError{What: whats, Err: err}
	}
	defer rows.Close()
	var n sql.NullInt64
	if !rows.Next() {
		return 0, &BatchError{What: "read rows changed", Err: cmp.Or(rows.Err(), sql.ErrNoRows)}
	}
	if err := rows.Scan(&n); err != nil {
		return 0, &BatchError{What: "read rows changed", Err: err}
	}
	return n.Int64, rows.Close()
}

// QueryEachTx runs queries, routed SQL, in tx, a write transaction on h, with
// args[i] the arguments of queries[i], and calls each with the rows of every
// query, in order; each reads them (it need not close them). On MySQL the
// queries travel as one multi-statement request, one round trip; elsewhere
// they run one after the other through h's prepared statements. The first
// error, each's included, stops it and is returned.
func (h *Handle) QueryEachTx(ctx context.Context, tx *sql.Tx, queries []string, args [][]any, each func(i int, rows *sql.Rows) error) error {
	if h.dialect.Name() != DriverMySQL {
		for i, q := range queries {
			rows, err := h.QueryTx(ctx, tx, q, args[i]...)
			if err != nil {
				return err
			}
			err = each(i, rows)
			if err == nil {
				err = rows.Err()
			}
			rows.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	var all []any
	for _, a := range args {
		all = append(all, a...)
	}
	rows, err := tx.QueryContext(ctx, strings.Join(queries, ";\n"), all...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for i := range queries {
		if i > 0 && !rows.NextResultSet() {
			return cmp.Or(rows.Err(), fmt.Errorf("result set %d of %d missing", i+1, len(queries)))
		}
		if err := each(i, rows); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
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
//
// Handle.Compact does the same where it pays, and remembers each query's split.
func (b *Batch) Compact() { b.compact(splitValues) }

// Compact compacts b (see Batch.Compact) on MySQL, where a multi-row INSERT
// saves the server a statement per row. On SQLite it leaves b as it is: there
// the single-row statements run prepared, while a multi-row statement of each
// batch's size would be parsed every time. The handle remembers how each
// INSERT's text splits around its row, for up to maxSplits texts.
func (h *Handle) Compact(b *Batch) {
	if h.dialect.Name() != DriverMySQL {
		return
	}
	b.compact(h.splits.split)
}

func (b *Batch) compact(split func(q string) (head, row, tail string, ok bool)) {
	if len(b.stmts) < 2 {
		return
	}
	order := make([]string, 0, len(b.stmts))
	groups := make(map[string][]batchStmt, len(b.stmts))
	for _, s := range b.stmts {
		key := s.query
		if s.counted {
			key = "counted\x00" + key // merged only with statements counted too
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], s)
	}
	if len(order) == len(b.stmts) {
		return
	}
	out := make([]batchStmt, 0, len(order))
	for _, k := range order {
		g := groups[k]
		if len(g) < 2 {
			out = append(out, g...)
			continue
		}
		head, row, tail, ok := split(g[0].query)
		if !ok {
			out = append(out, g...)
			continue
		}
		var sb strings.Builder
		sb.Grow(len(head) + len(g)*(len(row)+2) + len(tail))
		sb.WriteString(head)
		n := 0
		for _, s := range g {
			n += len(s.args)
		}
		args := make([]any, 0, n)
		for i, s := range g {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString(row)
			args = append(args, s.args...)
		}
		sb.WriteString(tail)
		out = append(out, batchStmt{what: g[0].what + " (and " + strconv.Itoa(len(g)-1) + " more rows)", query: sb.String(), args: args,
			counted: g[0].counted})
	}
	b.stmts = out
}

// maxSplits bounds the INSERT texts a handle remembers the split of: a batch's
// INSERTs are a fixed set of texts (one per table), and a text past the bound
// is split again each time.
const maxSplits = 1024

// splitCache remembers splitValues' answers by query text.
type splitCache struct {
	m sync.Map // query → insertSplit
	n atomic.Int32
}

type insertSplit struct {
	head, row, tail string
	ok              bool
}

func (c *splitCache) split(q string) (head, row, tail string, ok bool) {
	if v, hit := c.m.Load(q); hit {
		s := v.(insertSplit)
		return s.head, s.row, s.tail, s.ok
	}
	head, row, tail, ok = splitValues(q)
	if c.n.Load() < maxSplits {
		if _, had := c.m.LoadOrStore(q, insertSplit{head, row, tail, ok}); !had {
			c.n.Add(1)
		}
	}
	return head, row, tail, ok
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
