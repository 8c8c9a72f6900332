package sqldb

import (
	"database/sql"
)

// NewTestHandle wraps one pool as a Handle, for tests that need a database
// opened with settings of their own.
func NewTestHandle(p *sql.DB, d Dialect) *Handle {
	return &Handle{name: "test", write: p, read: p, dialect: d}
}

// Prepared reports whether query is prepared in h's statement cache.
func (h *Handle) Prepared(query string) bool {
	if h.stmts == nil {
		return false
	}
	return (*h.stmts.stmts.Load())[query] != nil
}

// Statements returns b's statements: what, query and arguments of each.
func (b *Batch) Statements() (whats, queries []string, args [][]any) {
	for _, s := range b.stmts {
		whats, queries, args = append(whats, s.what), append(queries, s.query), append(args, s.args)
	}
	return whats, queries, args
}

// WALShrinkAbove is walShrinkAbove, for tests.
const WALShrinkAbove = walShrinkAbove

// SetMariaDB sets whether h uses MariaDB's forms (MariaDB), and returns the
// setting it replaced.
func (h *Handle) SetMariaDB(on bool) (was bool) {
	was, h.mariadb = h.mariadb, on
	return was
}
