// Package legacy moves an installation of the original Java big-market platform
// into bigmarket. It reads the original's MySQL databases (MySQL 8 or MariaDB):
//
//   - the config database (`big_market`: award, strategy, strategy_award,
//     strategy_rule, rule_tree, rule_tree_node, rule_tree_node_line,
//     raffle_activity, raffle_activity_count, raffle_activity_sku,
//     daily_behavior_rebate and, when present, raffle_activity_stage), which
//     ReadConfig turns into a bigmarket campaign file;
//   - the user databases (`big_market_01`, `big_market_02`, … with tables split
//     `_000`…), whose activity accounts, raffle and quota orders, award records,
//     credit accounts and credit ledgers ImportUsers copies into bigmarket's
//     storage, routed by bigmarket's own sharding.
//
// Only named columns are selected, so the extra columns forks added are ignored;
// so are tables the import does not know. Times of the original are DATETIME
// values in the Java server's time zone (Config.Location); bigmarket stores
// unix milliseconds. Amounts (DECIMAL(10,2)) are read as text and parsed exactly
// with money.Parse.
package legacy

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// DefaultTimezone is the time zone of the original platform's sample data and
// servers: its DATETIME columns are read in it unless told otherwise.
const DefaultTimezone = "Asia/Shanghai"

// Problem is a legacy row that cannot be mapped: the table, the row's id (its
// primary key, or its natural key when it has no numeric id) and why.
type Problem struct {
	Table   string
	Row     string
	Message string
}

// String formats the problem as "table[row]: message".
func (p Problem) String() string {
	if p.Row == "" {
		return p.Table + ": " + p.Message
	}
	return p.Table + "[" + p.Row + "]: " + p.Message
}

// OpenMySQL opens a legacy database by its go-sql-driver DSN and pings it. The
// DSN must name the database. Times are read as text (parseTime is turned off),
// so MySQL 8 and MariaDB answer alike.
func OpenMySQL(ctx context.Context, dsn string) (*sql.DB, error) {
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("legacy: parse DSN: %w", err)
	}
	if mc.DBName == "" {
		return nil, fmt.Errorf("legacy: DSN %s names no database", redact(mc))
	}
	mc.ParseTime = false
	conn, err := mysql.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("legacy: %s: %w", redact(mc), err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("legacy: connect %s: %w", redact(mc), err)
	}
	return db, nil
}

// redact names a database for messages without its password.
func redact(mc *mysql.Config) string { return mc.Addr + "/" + mc.DBName }

// tables returns the names of the tables of the connection's database.
func tables(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		out[strings.ToLower(n)] = true
	}
	return out, rows.Err()
}

// columns returns the lower-cased column names of table.
func columns(ctx context.Context, db *sql.DB, table string) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = DATABASE() AND table_name = ?`, table)
	if err != nil {
		return nil, fmt.Errorf("list columns of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list columns of %s: %w", table, err)
		}
		out[strings.ToLower(n)] = true
	}
	return out, rows.Err()
}

// datetimeLayouts are the texts MySQL and MariaDB send for DATETIME columns.
var datetimeLayouts = []string{"2006-01-02 15:04:05.999999", "2006-01-02 15:04:05", "2006-01-02"}

// parseDatetime reads a DATETIME sent as text in loc. NULL, the zero date
// ('0000-00-00 …') and the empty string give the zero time and ok = true; text
// that is no datetime gives ok = false.
func parseDatetime(s sql.NullString, loc *time.Location) (t time.Time, ok bool) {
	if !s.Valid || s.String == "" || strings.HasPrefix(s.String, "0000-00-00") {
		return time.Time{}, true
	}
	for _, l := range datetimeLayouts {
		if t, err := time.ParseInLocation(l, s.String, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// DatabaseName returns the database a DSN names, for reports ("" when the DSN
// does not parse).
func DatabaseName(dsn string) string {
	mc, err := mysql.ParseDSN(strings.TrimSpace(dsn))
	if err != nil {
		return ""
	}
	return mc.DBName
}
