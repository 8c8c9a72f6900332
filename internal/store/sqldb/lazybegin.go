package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
)

// A MySQL transaction begun by database/sql costs a round trip of its own:
// the driver sends START TRANSACTION and waits for its answer before the first
// statement. On a busy two-core box each request wakes a thread on both ends,
// and START and COMMIT were 58 % of the requests MariaDB received under load
// (509 of 1 767 a second each, docs/PERFORMANCE.md step 19).
//
// The MySQL pools' connections are therefore wrapped so that a transaction
// with default options begins lazily: BeginTx sends nothing, and the first
// statement of the transaction travels as "START TRANSACTION;\n" followed by
// the statement, in the same multi-statement request (the pools enable
// multiStatements). The driver skips the empty result of START TRANSACTION, so
// the statement's rows and row count are answered as before; COMMIT and
// ROLLBACK of a transaction that ran nothing send nothing. A prepared
// statement cannot carry START TRANSACTION: one executed first in a
// transaction (prepared in it, or on the pool and reused by tx.Stmt) sends it
// in a request of its own. The semantics do not
// change: InnoDB takes a transaction's snapshot and locks at its first
// statement, not at START TRANSACTION, and a request that fails after START
// TRANSACTION has run leaves the transaction open for the caller's rollback,
// as a failed statement would.

// mysqlConn is what every go-sql-driver/mysql connection implements.
type mysqlConn interface {
	ctxConn
	driver.NamedValueChecker
}

// errLazyUnsupported reports a driver connection without the interfaces
// lazyConn forwards (a wiring error: go-sql-driver/mysql has them).
var errLazyUnsupported = errors.New("sqldb: mysql connection lacks the context interfaces")

// newLazyConn wraps a go-sql-driver/mysql connection in a lazyConn.
func newLazyConn(conn driver.Conn) (driver.Conn, error) {
	mc, ok := conn.(mysqlConn)
	if !ok {
		conn.Close()
		return nil, errLazyUnsupported
	}
	return &lazyConn{mysqlConn: mc}, nil
}

// qStartTx begins a transaction ahead of the statement it prefixes.
const qStartTx = "START TRANSACTION;\n"

// txState is where a lazyConn's transaction stands.
type txState int

const (
	txNone    txState = iota // no transaction
	txPending                // begun by database/sql, nothing sent yet
	txStarted                // START TRANSACTION sent
)

// lazyConn forwards to the driver's connection; a transaction with default
// options begins with its first statement. database/sql never uses a
// connection from two goroutines at once, so state needs no lock.
type lazyConn struct {
	mysqlConn
	state txState
}

// Begin starts a transaction (database/sql calls BeginTx; this is the
// context-free form driver.Conn requires).
func (c *lazyConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx begins a transaction. With default options nothing is sent until
// its first statement; other options (an isolation level, read-only) begin it
// at once, as the driver does.
func (c *lazyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.state != txNone {
		return nil, errors.New("sqldb: transaction already begun on this connection")
	}
	if sql.IsolationLevel(opts.Isolation) != sql.LevelDefault || opts.ReadOnly {
		return c.mysqlConn.BeginTx(ctx, opts)
	}
	if !c.IsValid() {
		return nil, driver.ErrBadConn
	}
	c.state = txPending
	return lazyTx{c}, nil
}

// prefix returns query, led by START TRANSACTION when the transaction is yet
// to be sent.
func (c *lazyConn) prefix(query string) string {
	if c.state == txPending {
		return qStartTx + query
	}
	return query
}

// sent records the outcome of a request that carried START TRANSACTION. The
// driver answers driver.ErrSkip before sending anything (it cannot
// interpolate the arguments; database/sql then prepares the statement), and
// the transaction stays pending; any other outcome may have started it.
func (c *lazyConn) sent(err error) {
	if c.state == txPending && !errors.Is(err, driver.ErrSkip) {
		c.state = txStarted
	}
}

// ExecContext runs a statement, the transaction's START TRANSACTION first when
// it is the transaction's first.
func (c *lazyConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.mysqlConn.ExecContext(ctx, c.prefix(query), args)
	c.sent(err)
	return res, err
}

// QueryContext runs a query, the transaction's START TRANSACTION first when
// it is the transaction's first.
func (c *lazyConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.mysqlConn.QueryContext(ctx, c.prefix(query), args)
	c.sent(err)
	return rows, err
}

// start sends a pending transaction's START TRANSACTION in a request of its
// own, for a prepared statement, which cannot carry it.
func (c *lazyConn) start(ctx context.Context) error {
	if c.state != txPending {
		return nil
	}
	c.state = txStarted // if it did not start, the rollback is harmless
	if _, err := c.mysqlConn.ExecContext(ctx, "START TRANSACTION", nil); err != nil {
		return fmt.Errorf("start transaction: %w", err)
	}
	return nil
}

// PrepareContext prepares a statement whose executions start a pending
// transaction first. database/sql keeps a statement prepared on a connection
// and runs it there again, in a later transaction too (tx.Stmt), without
// asking the connection: the statement itself must start the transaction.
func (c *lazyConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.mysqlConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	ms, ok := st.(mysqlStmt)
	if !ok {
		st.Close()
		return nil, errLazyUnsupported
	}
	return &lazyStmt{mysqlStmt: ms, c: c}, nil
}

// Prepare is PrepareContext without a context.
func (c *lazyConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// ResetSession refuses to hand a connection with an open transaction back to
// the pool (database/sql ends every transaction before that; this guards
// against a mistake rather than a known path), and passes on to the driver's.
func (c *lazyConn) ResetSession(ctx context.Context) error {
	if c.state != txNone {
		return driver.ErrBadConn
	}
	return c.mysqlConn.ResetSession(ctx)
}

// mysqlStmt is what every go-sql-driver/mysql prepared statement implements.
type mysqlStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
	driver.NamedValueChecker
	driver.ColumnConverter
}

// lazyStmt is a prepared statement of a lazyConn. database/sql calls the
// context forms only (the promoted Exec and Query are never used).
type lazyStmt struct {
	mysqlStmt
	c *lazyConn
}

// ExecContext runs the statement, a pending transaction started first.
func (s *lazyStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.c.start(ctx); err != nil {
		return nil, err
	}
	return s.mysqlStmt.ExecContext(ctx, args)
}

// QueryContext runs the query, a pending transaction started first.
func (s *lazyStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.c.start(ctx); err != nil {
		return nil, err
	}
	return s.mysqlStmt.QueryContext(ctx, args)
}

// lazyTx is a transaction of a lazyConn begun with default options.
type lazyTx struct {
	c *lazyConn
}

// Commit commits the transaction; one that ran nothing has nothing to commit.
func (t lazyTx) Commit() error { return t.end("COMMIT") }

// Rollback rolls the transaction back; one that ran nothing has nothing to
// roll back.
func (t lazyTx) Rollback() error { return t.end("ROLLBACK") }

func (t lazyTx) end(stmt string) error {
	c := t.c
	started := c.state == txStarted
	c.state = txNone
	if !started {
		return nil
	}
	// As the driver's own Commit and Rollback: no context (database/sql
	// checked it), and a closed connection is an invalid one, not a bad one
	// that database/sql could take for "nothing was sent".
	if _, err := c.mysqlConn.ExecContext(context.Background(), stmt, nil); err != nil {
		if errors.Is(err, driver.ErrBadConn) {
			return mysql.ErrInvalidConn
		}
		return err
	}
	return nil
}
