package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// The dialects under test.
var (
	sqliteD sqldb.Dialect = sqldb.SQLiteDialect{}
	mysqlD  sqldb.Dialect = sqldb.MySQLDialect{}
)

// configTables and userTables are the tables every migrated database must hold.
var (
	configTables = []string{"award", "strategy", "strategy_award", "strategy_rule", "rule_tree",
		"rule_tree_node", "rule_tree_node_line", "raffle_activity", "raffle_activity_count",
		"raffle_activity_sku", "raffle_activity_stage", "daily_behavior_rebate", "quota_grant",
		"campaign_meta", "dynamic_config", "job_lease"}
	userTables = []string{"raffle_activity_account", "raffle_activity_account_month",
		"raffle_activity_account_day", "raffle_activity_order", "user_raffle_order",
		"user_award_record", "user_behavior_rebate_order", "user_credit_account", "user_credit_order"}
)

func TestHashIsFNV1a64(t *testing.T) {
	for _, id := range []string{"", "xiaofuge", "user001", "system", "用户", "a\x00b"} {
		h := fnv.New64a()
		h.Write([]byte(id))
		if got, want := sqldb.HashUserID(id), h.Sum64(); got != want {
			t.Errorf("HashUserID(%q) = %x, want FNV-1a %x", id, got, want)
		}
	}
	// Pinned values: the storage format. If this fails, existing data would be
	// routed to the wrong tables.
	pinned := map[string]uint64{"": 0xcbf29ce484222325, "a": 0xaf63dc4c8601ec8c, "xiaofuge": 0xb993517faced6b1b}
	for id, want := range pinned {
		if got := sqldb.HashUserID(id); got != want {
			t.Errorf("HashUserID(%q) = %#x, want pinned %#x", id, got, want)
		}
	}
}

func TestRouteStableAndSpread(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		n, m := db.Shards(), len(db.Suffixes())
		hits := map[sqldb.Route]int{}
		const users = 2000
		for i := 0; i < users; i++ {
			id := fmt.Sprintf("user-%d", i)
			r := db.Route(id)
			if again := db.Route(id); again != r {
				t.Fatalf("Route(%q) unstable: %v then %v", id, r, again)
			}
			slot := sqldb.HashUserID(id) % uint64(n*m)
			want := sqldb.Route{Shard: int(slot / uint64(m)), Suffix: db.Suffixes()[slot%uint64(m)]}
			if r != want {
				t.Fatalf("Route(%q) = %v, want %v (slot %d)", id, r, want, slot)
			}
			hits[r]++
		}
		if len(hits) != n*m || len(db.Routes()) != n*m {
			t.Fatalf("users reached %d of %d tables (Routes() lists %d)", len(hits), n*m, len(db.Routes()))
		}
		for r, c := range hits {
			if c < users/(n*m)/2 {
				t.Errorf("route %v got %d of %d users: poorly spread", r, c, users)
			}
		}
		if db.Driver() == sqldb.DriverMySQL {
			if n != 2 || m != 4 || db.Suffixes()[0] != "_000" || db.Suffixes()[3] != "_003" {
				t.Fatalf("layout %d × %v, want 2 × [_000 … _003]", n, db.Suffixes())
			}
			if got := sqldb.Table("user_award_record", sqldb.Route{Shard: 1, Suffix: "_002"}); got != "user_award_record_002" {
				t.Fatalf("Table = %q", got)
			}
		} else if n != 1 || m != 1 || db.Suffixes()[0] != "" || db.Config() != db.Shard(0) {
			t.Fatalf("sqlite layout: %d shards, suffixes %q, config is shard 0: %v", n, db.Suffixes(), db.Config() == db.Shard(0))
		}
	})
}

// countRows counts rows of table via h's read pool.
func countRows(t *testing.T, h *sqldb.Handle, table string) int {
	t.Helper()
	var n int
	if err := h.Read().QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s on %s: %v", table, h.Name(), err)
	}
	return n
}

func checkSchema(t *testing.T, db *sqldb.DB) {
	t.Helper()
	for _, tb := range configTables {
		countRows(t, db.Config(), tb)
	}
	for _, r := range db.Routes() {
		for _, tb := range userTables {
			countRows(t, db.Shard(r.Shard), sqldb.Table(tb, r))
		}
	}
	for i := 0; i < db.Shards(); i++ {
		countRows(t, db.Shard(i), "task")
	}
}

func migrationRows(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	n := countRows(t, db.Config(), "schema_migrations")
	if db.Driver() == sqldb.DriverMySQL {
		for i := 0; i < db.Shards(); i++ {
			n += countRows(t, db.Shard(i), "schema_migrations")
		}
	}
	return n
}

// wantMigrationRows is how many schema_migrations rows a fully migrated db has:
// every config file once, every shard file once per shard database, every user
// file once per shard and table suffix.
func wantMigrationRows(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	files := func(scope string) int {
		entries, err := os.ReadDir(filepath.Join("migrations", db.Driver(), scope))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	return files("config") + db.Shards()*(files("shard")+files("user")*len(db.Suffixes()))
}

func TestMigrateIdempotent(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		checkSchema(t, db)
		want := wantMigrationRows(t, db)
		if got := migrationRows(t, db); got != want {
			t.Fatalf("schema_migrations has %d rows, want %d", got, want)
		}
		for i := 0; i < 2; i++ {
			if err := db.Migrate(context.Background()); err != nil {
				t.Fatalf("re-migrate: %v", err)
			}
		}
		if got := migrationRows(t, db); got != want {
			t.Fatalf("after re-migrating, schema_migrations has %d rows, want %d", got, want)
		}
		checkSchema(t, db)
	})
}

func TestMigrateConcurrently(t *testing.T) {
	for _, engine := range []string{sqldb.DriverSQLite, sqldb.DriverMySQL} {
		t.Run(engine, func(t *testing.T) {
			var cfg sqldb.Config
			if engine == sqldb.DriverSQLite {
				cfg = sqldbtest.SQLiteConfig(t)
			} else {
				cfg = sqldbtest.MySQLConfig(t, 2, 4)
			}
			ctx := context.Background()
			// Two DBs stand for two processes migrating at once.
			dbs := make([]*sqldb.DB, 3)
			for i := range dbs {
				db, err := sqldb.Open(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				dbs[i] = db
			}
			var wg sync.WaitGroup
			errs := make([]error, len(dbs))
			for i, db := range dbs {
				wg.Go(func() { errs[i] = db.Migrate(ctx) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("migrate %d: %v", i, err)
				}
			}
			checkSchema(t, dbs[0])
			if got, want := migrationRows(t, dbs[0]), wantMigrationRows(t, dbs[0]); got != want {
				t.Fatalf("schema_migrations has %d rows, want %d", got, want)
			}
		})
	}
}

func TestOpenRejectsBadConfig(t *testing.T) {
	ctx := context.Background()
	for name, cfg := range map[string]sqldb.Config{
		"unknown driver":   {Driver: "postgres"},
		"sqlite no path":   {},
		"mysql no shards":  {Driver: sqldb.DriverMySQL, ConfigDSN: "root@tcp(127.0.0.1:1)/x"},
		"mysql no db name": {Driver: sqldb.DriverMySQL, ConfigDSN: "root@tcp(127.0.0.1:1)/", ShardDSNs: []string{"root@tcp(127.0.0.1:1)/a"}},
	} {
		if _, err := sqldb.Open(ctx, cfg); !errors.Is(err, sqldb.ErrInvalidConfig) {
			t.Errorf("%s: Open = %v, want ErrInvalidConfig", name, err)
		}
	}
}

const qCreateKV = `CREATE TABLE IF NOT EXISTS kv_test (k VARCHAR(32) NOT NULL PRIMARY KEY, v BIGINT NOT NULL)`

func kvTable(t *testing.T, h *sqldb.Handle) {
	t.Helper()
	if _, err := h.Write().Exec(qCreateKV); err != nil {
		t.Fatal(err)
	}
}

func kvGet(t *testing.T, h *sqldb.Handle, k string) (int64, bool) {
	t.Helper()
	var v int64
	err := h.Read().QueryRow(`SELECT v FROM kv_test WHERE k = ?`, k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return v, true
}

func TestInTx(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		h := db.Config()
		kvTable(t, h)
		ctx := context.Background()
		insert := func(k string) func(tx *sql.Tx) error {
			return func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO kv_test (k, v) VALUES (?, 1)`, k)
				return err
			}
		}

		t.Run("commits", func(t *testing.T) {
			if err := sqldb.InTx(ctx, h, insert("ok")); err != nil {
				t.Fatal(err)
			}
			if _, ok := kvGet(t, h, "ok"); !ok {
				t.Fatal("committed row missing")
			}
		})
		t.Run("rolls back on error", func(t *testing.T) {
			boom := errors.New("boom")
			err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
				if err := insert("err")(tx); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("InTx = %v, want boom", err)
			}
			if _, ok := kvGet(t, h, "err"); ok {
				t.Fatal("row of a failed transaction was committed")
			}
		})
		t.Run("rolls back on panic", func(t *testing.T) {
			func() {
				defer func() {
					if p := recover(); p != "panic in tx" {
						t.Fatalf("recovered %v, want the panic to go on", p)
					}
				}()
				sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
					insert("panic")(tx)
					panic("panic in tx")
				})
			}()
			if _, ok := kvGet(t, h, "panic"); ok {
				t.Fatal("row of a panicking transaction was committed")
			}
			// The writer connection is free again.
			if err := sqldb.InTx(ctx, h, insert("after-panic")); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("reports a commit that fails", func(t *testing.T) {
			cctx, cancel := context.WithCancel(ctx)
			err := sqldb.InTx(cctx, h, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(cctx, `INSERT INTO kv_test (k, v) VALUES ('lost', 1)`); err != nil {
					return err
				}
				cancel() // the transaction ends before its commit
				return nil
			})
			if err == nil {
				t.Fatal("InTx = nil for a transaction whose commit failed")
			}
			if _, ok := kvGet(t, h, "lost"); ok {
				t.Fatal("row of a failed commit is visible")
			}
		})
		t.Run("duplicate is classified", func(t *testing.T) {
			err := sqldb.InTx(ctx, h, insert("ok"))
			if !db.Dialect().IsDuplicate(err) || db.Dialect().IsRetryable(err) {
				t.Fatalf("second insert: %v: IsDuplicate=%v IsRetryable=%v", err, db.Dialect().IsDuplicate(err), db.Dialect().IsRetryable(err))
			}
		})
	})
}

// TestSQLiteCommitErrorIsReturned makes COMMIT itself fail, with a deferred
// foreign key that is violated when the transaction ends, and checks that InTx
// returns the error and keeps nothing.
func TestSQLiteCommitErrorIsReturned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fk.db")
	conn, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	conn.SetMaxOpenConns(1)
	t.Cleanup(func() { conn.Close() })
	for _, q := range []string{
		`CREATE TABLE parent (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`,
	} {
		if _, err := conn.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	h := sqldb.NewTestHandle(conn, sqldb.SQLiteDialect{})
	err = sqldb.InTx(context.Background(), h, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO child (id, parent_id) VALUES (1, 42)`)
		return err // the statement succeeds; the check runs at COMMIT
	})
	if err == nil {
		t.Fatal("InTx = nil, want the commit's foreign key error")
	}
	var n int
	if err := conn.QueryRow(`SELECT COUNT(*) FROM child`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("child rows after failed commit: %d, %v", n, err)
	}
}

// TestSQLiteConcurrentReadThenWrite runs 16 goroutines of read-then-write
// transactions through two DBs on one file (two pools, as two processes would
// have): with IMMEDIATE transactions none fails with SQLITE_BUSY, not even once
// (InTx would retry it: each function must run exactly once), and no increment is
// lost.
func TestSQLiteConcurrentReadThenWrite(t *testing.T) {
	cfg := sqldbtest.SQLiteConfig(t)
	a := sqldbtest.OpenConfig(t, cfg)
	b := sqldbtest.OpenConfig(t, cfg)
	kvTable(t, a.Config())
	if _, err := a.Config().Write().Exec(`INSERT INTO kv_test (k, v) VALUES ('n', 0)`); err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 16, 25
	ctx := context.Background()
	var wg sync.WaitGroup
	var calls atomic.Int64
	errs := make(chan error, workers*rounds)
	for w := 0; w < workers; w++ {
		db := a
		if w%2 == 1 {
			db = b
		}
		wg.Go(func() {
			for i := 0; i < rounds; i++ {
				errs <- sqldb.InTx(ctx, db.Config(), func(tx *sql.Tx) error {
					calls.Add(1)
					var v int64
					if err := tx.QueryRow(`SELECT v FROM kv_test WHERE k = 'n'`).Scan(&v); err != nil {
						return err
					}
					_, err := tx.Exec(`UPDATE kv_test SET v = ? WHERE k = 'n'`, v+1)
					return err
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("read-then-write transaction failed: %v", err)
		}
	}
	if n := calls.Load(); n != workers*rounds {
		t.Fatalf("%d transaction attempts for %d transactions: some hit SQLITE_BUSY and were retried", n, workers*rounds)
	}
	if v, _ := kvGet(t, a.Config(), "n"); v != workers*rounds {
		t.Fatalf("counter = %d, want %d (lost updates)", v, workers*rounds)
	}
}

// TestSQLiteBusyIsRetried captures a real SQLITE_BUSY (a second process writing
// while the first holds the write lock, with a 1 ms busy timeout), checks it is
// classified retryable, and that InTx runs a transaction failing with it again.
func TestSQLiteBusyIsRetried(t *testing.T) {
	cfg := sqldbtest.SQLiteConfig(t)
	holder := sqldbtest.OpenConfig(t, cfg)
	cfg.BusyTimeout = time.Millisecond
	other := sqldbtest.OpenConfig(t, cfg)
	kvTable(t, holder.Config())
	ctx := context.Background()

	locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- sqldb.InTx(ctx, holder.Config(), func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO kv_test (k, v) VALUES ('held', 1)`); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	_, busyErr := other.Config().Write().Exec(`INSERT INTO kv_test (k, v) VALUES ('other', 1)`)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if busyErr == nil || !sqliteD.IsRetryable(busyErr) || sqliteD.IsDuplicate(busyErr) {
		t.Fatalf("write under another writer's lock: %v; want a retryable SQLITE_BUSY", busyErr)
	}

	calls := 0
	err := sqldb.InTx(ctx, other.Config(), func(tx *sql.Tx) error {
		calls++
		if calls < 3 {
			return fmt.Errorf("step: %w", busyErr)
		}
		_, err := tx.Exec(`INSERT INTO kv_test (k, v) VALUES ('retried', 1)`)
		return err
	})
	if err != nil || calls != 3 {
		t.Fatalf("InTx = %v after %d calls, want success on the 3rd", err, calls)
	}
	calls = 0
	err = sqldb.InTx(ctx, other.Config(), func(tx *sql.Tx) error { calls++; return busyErr })
	if !errors.Is(err, busyErr) || calls != sqldb.TxAttempts {
		t.Fatalf("InTx = %v after %d calls, want the busy error after %d", err, calls, sqldb.TxAttempts)
	}
}

func TestMySQLErrorClassification(t *testing.T) {
	d := sqldb.MySQLDialect{}
	for _, c := range []struct {
		n         uint16
		dup, retr bool
	}{{1062, true, false}, {1213, false, true}, {1205, false, true}, {1146, false, false}} {
		err := fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: c.n})
		if d.IsDuplicate(err) != c.dup || d.IsRetryable(err) != c.retr {
			t.Errorf("error %d: IsDuplicate=%v IsRetryable=%v, want %v %v", c.n, d.IsDuplicate(err), d.IsRetryable(err), c.dup, c.retr)
		}
	}
	if sqliteD.IsDuplicate(&mysql.MySQLError{Number: 1062}) || d.IsDuplicate(errors.New("x")) {
		t.Error("classification crosses engines")
	}
}

func TestDialectClauses(t *testing.T) {
	if got := sqliteD.Upsert([]string{"a", "b"}, sqldb.Assign(sqliteD, "c")...); got != "ON CONFLICT(a, b) DO UPDATE SET c = excluded.c" {
		t.Errorf("sqlite upsert: %q", got)
	}
	if got := mysqlD.Upsert([]string{"a", "b"}, sqldb.Assign(mysqlD, "c", "d")...); got != "ON DUPLICATE KEY UPDATE c = VALUES(c), d = VALUES(d)" {
		t.Errorf("mysql upsert: %q", got)
	}
	if sqliteD.ForUpdate() != "" || mysqlD.ForUpdate() != " FOR UPDATE" {
		t.Error("ForUpdate")
	}
}

func TestInUserTxUsesTheUsersShard(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		for i := 0; i < 40; i++ {
			user := fmt.Sprintf("u%d", i)
			err := db.InUserTx(ctx, user, func(tx *sql.Tx, r sqldb.Route) error {
				if r != db.Route(user) {
					t.Fatalf("route %v, want %v", r, db.Route(user))
				}
				_, err := tx.ExecContext(ctx, r.SQL(`INSERT INTO user_credit_account{{suffix}}
					(user_id, total_amount, available_amount, account_status, create_time, update_time)
					VALUES (?, 0, 0, 'open', 1, 1)`), user)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			// Exactly one table of all shards holds the row, the routed one.
			for _, r := range db.Routes() {
				var n int
				q := r.SQL(`SELECT COUNT(*) FROM user_credit_account{{suffix}} WHERE user_id = ?`)
				if err := db.Shard(r.Shard).Read().QueryRow(q, user).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if want := map[bool]int{true: 1, false: 0}[r == db.Route(user)]; n != want {
					t.Fatalf("user %s: %d rows in shard %d table suffix %q, want %d", user, n, r.Shard, r.Suffix, want)
				}
			}
		}
	})
}
