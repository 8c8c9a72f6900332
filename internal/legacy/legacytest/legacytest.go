// Package legacytest builds databases of the original Java big-market platform
// on the test MariaDB from the fixtures in internal/legacy/testdata, for the
// tests of the legacy import. It lives apart from package legacy so that the
// production binary does not link package testing.
package legacytest

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/legacy"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// Fixture files in internal/legacy/testdata.
const (
	ConfigSQL  = "big_market.sql"    // the config database big_market
	UserSchema = "user_schema.sql"   // the schema of a user database
	Users01SQL = "big_market_01.sql" // rows of big_market_01
	Users02SQL = "big_market_02.sql" // rows of big_market_02
)

// DB is a legacy database built from fixtures.
type DB struct {
	Name string
	DSN  string  // go-sql-driver DSN naming the database
	DB   *sql.DB // open on it (legacy.OpenMySQL)
}

// Exec runs statements on the database, failing t on error.
func (d DB) Exec(t testing.TB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := d.DB.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// Dir is the directory of the fixture files.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata")
}

// Load creates a uniquely named database on the test MariaDB (the test skips,
// or fails when services are required, without it), runs the fixture files in
// it and drops it when t ends. The fixtures are MySQL 8 dumps; on a server
// without utf8mb4_0900_ai_ci (MariaDB before 11.4) the collation is swapped for
// utf8mb4_unicode_ci.
func Load(t testing.TB, prefix string, files ...string) DB {
	t.Helper()
	base := testsvc.MySQLDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := sql.Open("mysql", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	name := testsvc.UniqueName(prefix)
	if _, err := root.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4"); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := root.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop %s: %v", name, err)
		}
	})
	var n int
	if err := root.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.collations WHERE collation_name = 'utf8mb4_0900_ai_ci'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	loader, err := sql.Open("mysql", base+name+"?multiStatements=true&charset=utf8mb4")
	if err != nil {
		t.Fatal(err)
	}
	defer loader.Close()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(Dir(), f))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if n == 0 {
			text = strings.ReplaceAll(text, "utf8mb4_0900_ai_ci", "utf8mb4_unicode_ci")
		}
		if _, err := loader.ExecContext(ctx, text); err != nil {
			t.Fatalf("load %s into %s: %v", f, name, err)
		}
	}
	dsn := base + name
	db, err := legacy.OpenMySQL(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return DB{Name: name, DSN: dsn, DB: db}
}

// Fixture is the original platform's databases: the config database and the
// two user databases.
type Fixture struct {
	Config DB
	Users  []DB
}

// LoadFixture builds the config database and both user databases.
func LoadFixture(t testing.TB) Fixture {
	t.Helper()
	return Fixture{
		Config: Load(t, "bmlegacy_cfg_", ConfigSQL),
		Users: []DB{
			Load(t, "bmlegacy_u1_", UserSchema, Users01SQL),
			Load(t, "bmlegacy_u2_", UserSchema, Users02SQL),
		},
	}
}
