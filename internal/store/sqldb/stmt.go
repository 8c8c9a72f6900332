package sqldb

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// maxCachedStmts bounds the distinct statements a handle keeps prepared, so
// that statements built with a variable number of placeholders cannot grow the
// cache without end; statements past the bound run unprepared.
const maxCachedStmts = 512

// stmtCache keeps statements prepared on the SQLite writer pool, for use inside
// the handle's write transactions through Tx.StmtContext (which reuses the
// statement prepared on the transaction's connection instead of parsing the
// SQL again: on SQLite, parsing costs as much as running a small statement).
//
// A statement can only be prepared on the pool outside a transaction: the
// writer pool has one connection, which a transaction holds. So a statement
// first seen inside a transaction runs unprepared and is noted; the group
// commit loop prepares the noted statements between two groups, when it holds
// no transaction (prepareWanted). Prepare prepares statements eagerly.
//
// Reads of the prepared set are lock free (a copy-on-write map).
type stmtCache struct {
	db    *sql.DB
	stmts atomic.Pointer[map[string]*sql.Stmt]

	mu     sync.Mutex
	want   map[string]struct{} // seen in a transaction, not yet prepared
	failed map[string]struct{} // could not be prepared: run unprepared
	closed bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	c := &stmtCache{db: db, want: map[string]struct{}{}, failed: map[string]struct{}{}}
	c.stmts.Store(&map[string]*sql.Stmt{})
	return c
}

// get returns the prepared statement of query, or nil after noting query for
// the next prepareWanted.
func (c *stmtCache) get(query string) *sql.Stmt {
	m := *c.stmts.Load()
	if st := m[query]; st != nil {
		return st
	}
	c.mu.Lock()
	if _, bad := c.failed[query]; !bad && !c.closed && len(m)+len(c.want) < maxCachedStmts {
		c.want[query] = struct{}{}
	}
	c.mu.Unlock()
	return nil
}

// pending reports whether statements wait to be prepared.
func (c *stmtCache) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.want) > 0
}

// prepareWanted prepares the noted statements on the pool. The caller must
// hold no transaction on the pool (on SQLite: it would wait for itself).
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	qs := make([]string, 0, len(c.want))
	for q := range c.want {
		qs = append(qs, q)
	}
	clear(c.want)
	c.mu.Unlock()
	if len(qs) > 0 {
		c.prepare(ctx, qs)
	}
}

// prepare prepares queries not prepared yet and publishes them. A query that
// fails to prepare (a syntax error, a missing table) is remembered as failed
// and keeps running unprepared, where it reports its error to its caller. It
// returns the first preparation error.
func (c *stmtCache) prepare(ctx context.Context, queries []string) error {
	var first error
	fresh := map[string]*sql.Stmt{}
	have := *c.stmts.Load()
	for _, q := range queries {
		if have[q] != nil || fresh[q] != nil {
			continue
		}
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			if ctx.Err() == nil {
				c.mu.Lock()
				c.failed[q] = struct{}{}
				c.mu.Unlock()
			}
			if first == nil {
				first = err
			}
			continue
		}
		fresh[q] = st
	}
	if len(fresh) == 0 {
		return first
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		for _, st := range fresh {
			st.Close()
		}
		return first
	}
	old := *c.stmts.Load()
	m := make(map[string]*sql.Stmt, len(old)+len(fresh))
	for q, st := range old {
		m[q] = st
	}
	for q, st := range fresh {
		if m[q] != nil {
			st.Close() // prepared concurrently by another caller
			continue
		}
		m[q] = st
	}
	c.stmts.Store(&m)
	return first
}

// close closes the prepared statements; later lookups miss.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	clear(c.want)
	for _, st := range *c.stmts.Load() {
		st.Close()
	}
	c.stmts.Store(&map[string]*sql.Stmt{})
}

// Prepare prepares queries on h's writer pool, so that ExecTx, QueryRowTx and
// QueryTx run them without parsing them again. It only has an effect on SQLite
// (on MySQL, statements run with interpolated parameters in one round trip,
// which a server-side prepare would double) and returns nil there. It must not
// be called inside a transaction on h (on SQLite the one writer connection is
// the transaction's: Prepare would wait for it forever). Queries that fail to
// prepare keep running unprepared; the first failure is returned.
//
// Preparing is an optimisation only: statements not prepared beforehand are
// prepared after their first use in a transaction, between two group commits.
func (h *Handle) Prepare(ctx context.Context, queries ...string) error {
	if h.stmts == nil {
		return nil
	}
	return h.stmts.prepare(ctx, queries)
}

// txStmt returns query prepared for tx, or nil to run it as plain SQL.
func (h *Handle) txStmt(ctx context.Context, tx *sql.Tx, query string) *sql.Stmt {
	if h.stmts == nil {
		return nil
	}
	st := h.stmts.get(query)
	if st == nil {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

// ExecTx runs query with args in tx, a write transaction on h (InTx or
// InUserTx on h), through a statement prepared once per handle on SQLite (see
// Prepare), and as tx.ExecContext otherwise. Its results and errors are those
// of tx.ExecContext. tx must not belong to h's read pool.
func (h *Handle) ExecTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := h.txStmt(ctx, tx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// QueryRowTx is ExecTx for a query answering at most one row (tx.QueryRowContext).
func (h *Handle) QueryRowTx(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if st := h.txStmt(ctx, tx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// QueryTx is ExecTx for a query answering rows (tx.QueryContext).
func (h *Handle) QueryTx(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := h.txStmt(ctx, tx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, query, args...)
}
