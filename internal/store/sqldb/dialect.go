package sqldb

import (
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect is what differs between the engines. Stores share helpers through it,
// never method bodies.
type Dialect interface {
	// Name returns DriverSQLite or DriverMySQL.
	Name() string
	// Upsert returns the clause that follows INSERT … VALUES (…) to turn a
	// conflict on the unique key of the conflict columns into the assignments
	// set, e.g. "ON CONFLICT(award_id) DO UPDATE SET a = excluded.a" or
	// "ON DUPLICATE KEY UPDATE a = VALUES(a)". Assignments refer to the inserted
	// values through Excluded. MySQL evaluates assignments left to right, each
	// seeing the columns already assigned, while SQLite sees the old row in all of
	// them: put an assignment that reads a column before the one that writes it.
	// MySQL also fires on any other unique key; stores that have one check it first.
	Upsert(conflict []string, set ...string) string
	// DoNothing returns the clause that makes INSERT … VALUES (…) leave an
	// existing row with the same conflict key untouched (without the blanket
	// error suppression of MySQL's INSERT IGNORE).
	DoNothing(conflict []string) string
	// Excluded returns the expression naming the value an upsert tried to insert
	// into col: "excluded.col" or "VALUES(col)".
	Excluded(col string) string
	// ForUpdate returns the locking suffix of a SELECT inside a transaction:
	// " FOR UPDATE" in MySQL, "" in SQLite (whose write transactions already
	// hold the database's write lock).
	ForUpdate() string
	// IsDuplicate reports whether err is a unique or primary key violation.
	IsDuplicate(err error) bool
	// IsRetryable reports whether a transaction that failed with err may
	// succeed when run again: SQLITE_BUSY/SQLITE_LOCKED, MySQL deadlock (1213)
	// or lock wait timeout (1205).
	IsRetryable(err error) bool
}

// Assign returns "col = <inserted value of col>" for each column: the usual
// assignment list of an upsert.
func Assign(d Dialect, cols ...string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c + " = " + d.Excluded(c)
	}
	return out
}

// SQLiteDialect is the Dialect of modernc.org/sqlite. The zero value is ready.
type SQLiteDialect struct{}

// Name implements Dialect.
func (SQLiteDialect) Name() string { return DriverSQLite }

// Upsert implements Dialect.
func (SQLiteDialect) Upsert(conflict []string, set ...string) string {
	return "ON CONFLICT(" + strings.Join(conflict, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// DoNothing implements Dialect.
func (SQLiteDialect) DoNothing(conflict []string) string {
	return "ON CONFLICT(" + strings.Join(conflict, ", ") + ") DO NOTHING"
}

// Excluded implements Dialect.
func (SQLiteDialect) Excluded(col string) string { return "excluded." + col }

// ForUpdate implements Dialect.
func (SQLiteDialect) ForUpdate() string { return "" }

// IsDuplicate implements Dialect.
func (SQLiteDialect) IsDuplicate(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	c := e.Code()
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

// IsRetryable implements Dialect.
func (SQLiteDialect) IsRetryable(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	// Extended result codes are on: the primary code is the low byte.
	c := e.Code() & 0xff
	return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
}

// MySQLDialect is the Dialect of MySQL and MariaDB through go-sql-driver/mysql.
// The zero value is ready.
type MySQLDialect struct{}

// MySQL error numbers the dialect classifies (and the parse error of a
// statement the server does not know, probeCompound's).
const (
	mysqlParseError      = 1064
	mysqlDupEntry        = 1062
	mysqlLockWaitTimeout = 1205
	mysqlDeadlock        = 1213
)

// Name implements Dialect.
func (MySQLDialect) Name() string { return DriverMySQL }

// Upsert implements Dialect.
func (MySQLDialect) Upsert(_ []string, set ...string) string {
	return "ON DUPLICATE KEY UPDATE " + strings.Join(set, ", ")
}

// DoNothing implements Dialect.
func (MySQLDialect) DoNothing(conflict []string) string {
	return "ON DUPLICATE KEY UPDATE " + conflict[0] + " = " + conflict[0]
}

// Excluded implements Dialect.
func (MySQLDialect) Excluded(col string) string { return "VALUES(" + col + ")" }

// ForUpdate implements Dialect.
func (MySQLDialect) ForUpdate() string { return " FOR UPDATE" }

// IsDuplicate implements Dialect.
func (MySQLDialect) IsDuplicate(err error) bool {
	var e *mysql.MySQLError
	return errors.As(err, &e) && e.Number == mysqlDupEntry
}

// IsRetryable implements Dialect.
func (MySQLDialect) IsRetryable(err error) bool {
	var e *mysql.MySQLError
	return errors.As(err, &e) && (e.Number == mysqlDeadlock || e.Number == mysqlLockWaitTimeout)
}

var (
	_ Dialect = SQLiteDialect{}
	_ Dialect = MySQLDialect{}
)
