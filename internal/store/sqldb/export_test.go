package sqldb

import "database/sql"

// NewTestHandle wraps one pool as a Handle, for tests that need a database
// opened with settings of their own.
func NewTestHandle(p *sql.DB, d Dialect) *Handle {
	return &Handle{name: "test", write: p, read: p, dialect: d}
}
