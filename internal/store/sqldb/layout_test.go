package sqldb_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// openLayout opens cfg without migrating, with small pools (the test server's
// connections are shared); it is closed when t ends, or earlier by the caller.
func openLayout(t *testing.T, cfg sqldb.Config) *sqldb.DB {
	t.Helper()
	cfg.MaxOpenConns = 2
	db, err := sqldb.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// smallMySQL is sqldbtest.MySQLConfig with small pools.
func smallMySQL(t *testing.T, shards, tables int) sqldb.Config {
	t.Helper()
	cfg := sqldbtest.MySQLConfig(t, shards, tables)
	cfg.MaxOpenConns = 2
	return cfg
}

// wantRefused checks that err is a layout mismatch whose message holds every
// part of want.
func wantRefused(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: accepted, want the layout refused", what)
	}
	if !errors.Is(err, sqldb.ErrLayoutMismatch) {
		t.Fatalf("%s: %v, want ErrLayoutMismatch", what, err)
	}
	t.Logf("%s: %v", what, err)
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("%s: %q lacks %q", what, err, w)
		}
	}
}

// TestShardLayoutIsRecordedAndChecked migrates 2 shard databases × 4 tables,
// then reopens them with another M, with the shard DSNs swapped, with a shard
// replaced by an empty database and with fewer shards: migrate and the start
// check refuse each; the recorded layout is accepted.
func TestShardLayoutIsRecordedAndChecked(t *testing.T) {
	ctx := context.Background()
	cfg := smallMySQL(t, 2, 4)
	sqldbtest.OpenConfig(t, cfg).Close() // migrates and records 2 × 4

	same := openLayout(t, cfg)
	if err := same.CheckLayout(ctx); err != nil {
		t.Fatalf("same layout: %v", err)
	}
	if err := same.Migrate(ctx); err != nil {
		t.Fatalf("same layout, migrate again: %v", err)
	}
	same.Close()

	m2 := cfg
	m2.TablesPerShard = 2
	db := openLayout(t, m2)
	wantRefused(t, "2 × 2, migrate", db.Migrate(ctx), "2 shard databases × 4 tables", "configured: 2 × 2")
	wantRefused(t, "2 × 2, start", db.CheckLayout(ctx), "2 shard databases × 4 tables", "configured: 2 × 2")
	db.Close()

	swapped := cfg
	swapped.ShardDSNs = []string{cfg.ShardDSNs[1], cfg.ShardDSNs[0]}
	db = openLayout(t, swapped)
	wantRefused(t, "swapped DSNs, migrate", db.Migrate(ctx), "shard[0]", "is shard 1 of the recorded layout")
	wantRefused(t, "swapped DSNs, start", db.CheckLayout(ctx), "shard[0]", "is shard 1 of the recorded layout")
	db.Close()

	fewer := cfg
	fewer.ShardDSNs = cfg.ShardDSNs[:1]
	db = openLayout(t, fewer)
	wantRefused(t, "1 × 4, start", db.CheckLayout(ctx), "configured: 1 × 4")
	db.Close()

	other := smallMySQL(t, 1, 4) // an empty database in place of shard 1
	replaced := cfg
	replaced.ShardDSNs = []string{cfg.ShardDSNs[0], other.ShardDSNs[0]}
	db = openLayout(t, replaced)
	wantRefused(t, "replaced shard, migrate", db.Migrate(ctx), "shard[1]", "no layout marker")
	wantRefused(t, "replaced shard, start", db.CheckLayout(ctx), "shard[1]", "no layout marker")
	db.Close()

	// A shard of another deployment.
	foreignCfg := smallMySQL(t, 2, 4)
	sqldbtest.OpenConfig(t, foreignCfg).Close()
	foreign := cfg
	foreign.ShardDSNs = []string{cfg.ShardDSNs[0], foreignCfg.ShardDSNs[1]}
	db = openLayout(t, foreign)
	wantRefused(t, "foreign shard, start", db.CheckLayout(ctx), "shard[1]", "belongs to another layout")
	db.Close()

	if err := openLayout(t, cfg).CheckLayout(ctx); err != nil {
		t.Fatalf("after the refusals, the recorded layout: %v", err)
	}
}

// TestShardLayoutRecordedOnExistingDatabases: databases migrated before layouts
// were recorded get theirs recorded by the next migrate (or start), and a
// SQLite data directory (1 × 1) is never refused.
func TestShardLayoutRecordedOnExistingDatabases(t *testing.T) {
	ctx := context.Background()
	for _, engine := range []string{sqldb.DriverSQLite, sqldb.DriverMySQL} {
		t.Run(engine, func(t *testing.T) {
			var cfg sqldb.Config
			if engine == sqldb.DriverSQLite {
				cfg = sqldbtest.SQLiteConfig(t)
			} else {
				cfg = smallMySQL(t, 2, 4)
			}
			db := sqldbtest.OpenConfig(t, cfg)
			// Undo the layout's migration: the databases as an older release left them.
			forget := func(h *sqldb.Handle, table, scope string) {
				for _, q := range []string{"DROP TABLE " + table, "DELETE FROM schema_migrations WHERE scope = '" + scope + "' AND version = 9"} {
					if _, err := h.Write().ExecContext(ctx, q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
			}
			forget(db.Config(), "shard_layout", "config")
			for i := range db.Shards() {
				forget(db.Shard(i), "shard_marker", "shard")
			}
			if engine == sqldb.DriverMySQL {
				if err := openLayout(t, cfg).CheckLayout(ctx); err == nil || !strings.Contains(err.Error(), "bigmarket migrate") {
					t.Fatalf("start before migrate: %v, want an error asking for `bigmarket migrate`", err)
				}
			}
			db2 := openLayout(t, cfg)
			if err := db2.Migrate(ctx); err != nil {
				t.Fatalf("migrate an existing database: %v", err)
			}
			if err := db2.CheckLayout(ctx); err != nil {
				t.Fatalf("start after migrate: %v", err)
			}
			var n, m int
			if err := db2.Config().Read().QueryRowContext(ctx, `SELECT shards, tables_per_shard FROM shard_layout`).Scan(&n, &m); err != nil {
				t.Fatal(err)
			}
			want := []int{db2.Shards(), len(db2.Suffixes())}
			if !slices.Equal([]int{n, m}, want) {
				t.Fatalf("recorded %d × %d, want %v", n, m, want)
			}
		})
	}
}
