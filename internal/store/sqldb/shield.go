package sqldb

import (
	"context"
	"database/sql/driver"
	"errors"
	"sync/atomic"
)

// SQLite interrupts a statement whose context ends (sqlite3_interrupt), and an
// interrupted INSERT, UPDATE or DELETE inside an explicit transaction rolls back
// the whole transaction. On the writer connection the transaction is a group
// commit shared by many callers (see groupCommit): one caller's cancelled
// context would roll back every other caller's work. The writer's connections
// are therefore wrapped so that statements run inside a transaction ignore the
// cancellation and deadline of their context (context.WithoutCancel); the
// group then rolls back that caller's savepoint alone once its statement
// returns. Statements outside a transaction keep their context: an
// interrupted autocommit statement rolls back only itself.
//
// database/sql still refuses to start a statement whose context has already
// ended, so a cancelled caller stops at its next statement.

// wrapConnector opens the connections of a driver's connector and passes each
// through wrap: newShieldConn for SQLite's writer, newLazyConn for MySQL.
type wrapConnector struct {
	driver.Connector
	wrap func(driver.Conn) (driver.Conn, error)
}

// Connect opens a connection of the wrapped connector and wraps it.
func (c wrapConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return c.wrap(conn)
}

// errShieldUnsupported reports a driver connection without the context-aware
// interfaces shieldConn forwards (a wiring error: modernc.org/sqlite has them).
var errShieldUnsupported = errors.New("sqldb: sqlite connection lacks the context interfaces")

// ctxConn is the context-aware connection that shieldConn and lazyConn
// forward to: every modernc.org/sqlite connection implements it, and every
// go-sql-driver/mysql one (which also checks its arguments, mysqlConn).
type ctxConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// shieldConn forwards to the driver's connection; inside a transaction it
// detaches statements from the cancellation of their context.
type shieldConn struct {
	ctxConn
	inTx atomic.Bool
}

func newShieldConn(conn driver.Conn) (driver.Conn, error) {
	sc, ok := conn.(ctxConn)
	if !ok {
		conn.Close()
		return nil, errShieldUnsupported
	}
	return &shieldConn{ctxConn: sc}, nil
}

// Unwrap returns the driver's connection (modernc.org/sqlite looks through
// wrappers with it).
func (c *shieldConn) Unwrap() driver.Conn { return c.ctxConn }

// stmtCtx returns the context a statement runs with: ctx, or inside a
// transaction ctx without its cancellation.
func (c *shieldConn) stmtCtx(ctx context.Context) context.Context {
	if c.inTx.Load() {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// Begin starts a transaction (database/sql calls BeginTx; this is the
// context-free form driver.Conn requires).
func (c *shieldConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a transaction and shields the statements run in it.
func (c *shieldConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.ctxConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx.Store(true)
	return &shieldTx{Tx: tx, c: c}, nil
}

// PrepareContext prepares a statement whose executions are shielded inside a
// transaction.
func (c *shieldConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.ctxConn.PrepareContext(c.stmtCtx(ctx), query)
	if err != nil {
		return nil, err
	}
	return newShieldStmt(st, c)
}

// Prepare is PrepareContext without a context.
func (c *shieldConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// ExecContext runs a statement, shielded inside a transaction.
func (c *shieldConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.ctxConn.ExecContext(c.stmtCtx(ctx), query, args)
}

// QueryContext runs a query, shielded inside a transaction.
func (c *shieldConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.ctxConn.QueryContext(c.stmtCtx(ctx), query, args)
}

// shieldTx ends the shielding with its transaction.
type shieldTx struct {
	driver.Tx
	c *shieldConn
}

// Commit commits the transaction.
func (t *shieldTx) Commit() error {
	defer t.c.inTx.Store(false)
	return t.Tx.Commit()
}

// Rollback rolls the transaction back.
func (t *shieldTx) Rollback() error {
	defer t.c.inTx.Store(false)
	return t.Tx.Rollback()
}

// sqliteStmt is what every modernc.org/sqlite statement implements.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// shieldStmt is a prepared statement of a shieldConn.
type shieldStmt struct {
	sqliteStmt
	c *shieldConn
}

func newShieldStmt(st driver.Stmt, c *shieldConn) (driver.Stmt, error) {
	ss, ok := st.(sqliteStmt)
	if !ok {
		st.Close()
		return nil, errShieldUnsupported
	}
	return &shieldStmt{sqliteStmt: ss, c: c}, nil
}

// ExecContext runs the statement, shielded inside a transaction.
func (s *shieldStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.sqliteStmt.ExecContext(s.c.stmtCtx(ctx), args)
}

// QueryContext runs the query, shielded inside a transaction.
func (s *shieldStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.sqliteStmt.QueryContext(s.c.stmtCtx(ctx), args)
}
