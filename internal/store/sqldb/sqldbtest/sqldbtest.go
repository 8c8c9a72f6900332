// Package sqldbtest opens freshly migrated databases for tests: a temporary
// SQLite file, or uniquely named MariaDB/MySQL databases (a config database plus
// shard databases) that are dropped when the test ends. ForEachEngine runs one
// contract suite against both.
package sqldbtest

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// Layout of the sharded MySQL databases the helpers create, as in the original
// platform: 2 databases × 4 tables.
const (
	MySQLShards         = 2
	MySQLTablesPerShard = 4
)

// SQLiteConfig returns a Config for a new SQLite file in a temporary directory of
// t (removed when t ends).
func SQLiteConfig(t testing.TB) sqldb.Config {
	t.Helper()
	return sqldb.Config{Driver: sqldb.DriverSQLite, SQLitePath: filepath.Join(t.TempDir(), "bigmarket.db")}
}

// OpenSQLite opens and migrates a new SQLite database in a temporary directory;
// it is closed when t ends.
func OpenSQLite(t testing.TB) *sqldb.DB {
	t.Helper()
	return OpenConfig(t, SQLiteConfig(t))
}

// MySQLConfig creates a uniquely named config database and `shards` shard
// databases on the test MariaDB (testsvc.MySQLDSN; the test skips, or fails when
// services are required, if it is down) and returns their Config with
// tablesPerShard tables per shard. The databases are dropped when t ends. Nothing
// is migrated.
func MySQLConfig(t testing.TB, shards, tablesPerShard int) sqldb.Config {
	t.Helper()
	base := testsvc.MySQLDSN(t)
	root, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatalf("sqldbtest: open %s: %v", base, err)
	}
	t.Cleanup(func() { root.Close() })
	prefix := testsvc.UniqueName("bmtest_")
	names := []string{prefix + "_cfg"}
	for i := 0; i < shards; i++ {
		names = append(names, fmt.Sprintf("%s_s%d", prefix, i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range names {
		if _, err := root.ExecContext(ctx, "CREATE DATABASE "+n+" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
			t.Fatalf("sqldbtest: create database %s: %v", n, err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := root.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n); err != nil {
				t.Errorf("sqldbtest: drop database %s: %v", n, err)
			}
		})
	}
	cfg := sqldb.Config{Driver: sqldb.DriverMySQL, ConfigDSN: base + names[0], TablesPerShard: tablesPerShard, MaxOpenConns: 16}
	for _, n := range names[1:] {
		cfg.ShardDSNs = append(cfg.ShardDSNs, base+n)
	}
	return cfg
}

// OpenMySQL creates, opens and migrates sharded MySQL databases (MySQLShards ×
// MySQLTablesPerShard); they are closed and dropped when t ends.
func OpenMySQL(t testing.TB) *sqldb.DB {
	t.Helper()
	return OpenConfig(t, MySQLConfig(t, MySQLShards, MySQLTablesPerShard))
}

// OpenConfig opens and migrates the databases of cfg and closes them when t
// ends (before any cleanup registered earlier, such as dropping them).
func OpenConfig(t testing.TB, cfg sqldb.Config) *sqldb.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("sqldbtest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("sqldbtest: migrate: %v", err)
	}
	return db
}

// ForEachEngine runs fn as a subtest per engine ("sqlite", "mysql") on a fresh,
// migrated database: SQLite in a temporary file, MySQL sharded MySQLShards ×
// MySQLTablesPerShard.
func ForEachEngine(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	t.Helper()
	for _, engine := range []string{sqldb.DriverSQLite, sqldb.DriverMySQL} {
		t.Run(engine, func(t *testing.T) {
			var db *sqldb.DB
			if engine == sqldb.DriverSQLite {
				db = OpenSQLite(t)
			} else {
				db = OpenMySQL(t)
			}
			fn(t, db)
		})
	}
}
