package sqldb

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// migrationFiles holds the schema, per engine and scope:
//
//	migrations/<engine>/config/NNN_name.sql  config database, once
//	migrations/<engine>/shard/NNN_name.sql   every shard database, once (task table)
//	migrations/<engine>/user/NNN_name.sql    every shard database, once per table
//	                                         suffix ({{suffix}} in table and index names)
//
// Files are applied in version order and never edited once released: a change is
// a new file.
//
//go:embed migrations
var migrationFiles embed.FS

// Migration scopes.
const (
	scopeConfig = "config"
	scopeShard  = "shard"
	scopeUser   = "user"
)

// migration is one file of one scope.
type migration struct {
	scope   string
	version int
	name    string
	stmts   []string // with SuffixPlaceholder unresolved
}

// loadMigrations reads the embedded files of engine and scope in version order.
func loadMigrations(engine, scope string) ([]migration, error) {
	dir := path.Join("migrations", engine, scope)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must be NNN_name.sql", dir, e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, migration{scope: scope, version: v, name: strings.TrimSuffix(e.Name(), ".sql"), stmts: splitSQL(string(b))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("migrations %s: version %d appears twice", dir, out[i].version)
		}
	}
	return out, nil
}

// splitSQL splits a migration file into statements: it drops "--" comment lines
// and cuts at every ";" that ends a line. Migration files keep semicolons out of
// string literals.
func splitSQL(s string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(s, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			stmt := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, stmt)
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}

// step is one migration applied to one table suffix of one database.
type step struct {
	m      migration
	suffix string
}

// Migrate applies the embedded migrations that have not been applied yet: the
// config files to the config database, the shard files to every shard database,
// and the user files to every shard database once per table suffix. Each applied
// (scope, version, suffix) is recorded in the schema_migrations table of its
// database, so Migrate is idempotent. Migrate also records the shard layout
// (see CheckLayout) and refuses, before changing anything, to migrate databases
// recorded with another one.
//
// It is safe to run concurrently, from several goroutines or processes: SQLite
// applies each file with its record in one IMMEDIATE transaction (DDL is
// transactional there); MySQL, whose DDL commits implicitly, holds a named
// GET_LOCK per database while it migrates it, and the files use CREATE … IF NOT
// EXISTS so that a run interrupted between a statement and its record can be
// resumed.
func (db *DB) Migrate(ctx context.Context) error {
	engine := db.driver
	cfgM, err := loadMigrations(engine, scopeConfig)
	if err != nil {
		return err
	}
	shardM, err := loadMigrations(engine, scopeShard)
	if err != nil {
		return err
	}
	userM, err := loadMigrations(engine, scopeUser)
	if err != nil {
		return err
	}
	// A recorded layout is checked before anything is created for the
	// configured one (tables of another M, say).
	if err := db.checkLayout(ctx, false); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	plan := map[*Handle][]step{}
	var order []*Handle
	add := func(h *Handle, s step) {
		if _, ok := plan[h]; !ok {
			order = append(order, h)
		}
		plan[h] = append(plan[h], s)
	}
	for _, m := range cfgM {
		add(db.config, step{m: m})
	}
	for _, h := range db.shards {
		for _, m := range shardM {
			add(h, step{m: m})
		}
		for _, m := range userM {
			for _, sfx := range db.suffixes {
				add(h, step{m: m, suffix: sfx})
			}
		}
	}
	for _, h := range order {
		if err := migrateHandle(ctx, h, plan[h]); err != nil {
			return fmt.Errorf("migrate %s: %w", h.name, err)
		}
	}
	if err := db.CheckLayout(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

const (
	qCreateSchemaMigrations = `CREATE TABLE IF NOT EXISTS schema_migrations (
	scope VARCHAR(16) NOT NULL,
	version INT NOT NULL,
	suffix VARCHAR(16) NOT NULL,
	name VARCHAR(128) NOT NULL,
	PRIMARY KEY (scope, version, suffix)
)`
	qMigrationApplied = `SELECT COUNT(*) FROM schema_migrations WHERE scope = ? AND version = ? AND suffix = ?`
	qRecordMigration  = `INSERT INTO schema_migrations (scope, version, suffix, name) VALUES (?, ?, ?, ?)`
)

// execQuerier is what both *sql.Conn and *sql.Tx offer.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func migrateHandle(ctx context.Context, h *Handle, steps []step) error {
	if h.dialect.Name() == DriverSQLite {
		if _, err := h.write.ExecContext(ctx, qCreateSchemaMigrations); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		for _, s := range steps {
			if err := InTx(ctx, h, func(tx *sql.Tx) error { return applyStep(ctx, tx, s) }); err != nil {
				return err
			}
		}
		return nil
	}
	conn, err := h.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	lock := migrationLockName(h.dbName)
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, `SELECT GET_LOCK(?, 300)`, lock).Scan(&got); err != nil {
		return fmt.Errorf("get lock %s: %w", lock, err)
	}
	if !got.Valid || got.Int64 != 1 {
		return fmt.Errorf("get lock %s: not granted within 300s", lock)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT RELEASE_LOCK(?)`, lock)
	if _, err := conn.ExecContext(ctx, qCreateSchemaMigrations); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, s := range steps {
		if err := applyStep(ctx, conn, s); err != nil {
			return err
		}
	}
	return nil
}

// migrationLockName is the MySQL GET_LOCK name for one database (server-wide
// names, at most 64 characters).
func migrationLockName(dbName string) string {
	h := fnv.New64a()
	h.Write([]byte(dbName))
	return fmt.Sprintf("bigmarket_migrate_%016x", h.Sum64())
}

func applyStep(ctx context.Context, ex execQuerier, s step) error {
	var n int
	if err := ex.QueryRowContext(ctx, qMigrationApplied, s.m.scope, s.m.version, s.suffix).Scan(&n); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	if n > 0 {
		return nil
	}
	r := Route{Suffix: s.suffix}
	for _, stmt := range s.m.stmts {
		if _, err := ex.ExecContext(ctx, r.SQL(stmt)); err != nil {
			return fmt.Errorf("%s/%s suffix %q: %w", s.m.scope, s.m.name, s.suffix, err)
		}
	}
	if _, err := ex.ExecContext(ctx, qRecordMigration, s.m.scope, s.m.version, s.suffix, s.m.name); err != nil {
		return fmt.Errorf("record %s/%s suffix %q: %w", s.m.scope, s.m.name, s.suffix, err)
	}
	return nil
}
