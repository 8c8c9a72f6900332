package legacy_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/legacy"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// legacyDB is a legacy database built from fixtures on the test MariaDB.
type legacyDB struct {
	Name string
	DSN  string  // go-sql-driver DSN naming the database
	DB   *sql.DB // open on it (for the test's own statements)
}

// loadLegacy creates a uniquely named database on the test MariaDB, runs the
// fixture files of testdata in it and drops it when t ends. The fixtures are
// MySQL 8 dumps; on a server without utf8mb4_0900_ai_ci (MariaDB before 11.4)
// the collation is swapped for utf8mb4_unicode_ci.
func loadLegacy(t *testing.T, prefix string, files ...string) legacyDB {
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
	has0900 := n > 0
	loader, err := sql.Open("mysql", base+name+"?multiStatements=true&charset=utf8mb4")
	if err != nil {
		t.Fatal(err)
	}
	defer loader.Close()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if !has0900 {
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
	return legacyDB{Name: name, DSN: dsn, DB: db}
}

// exec runs statements on a legacy database, failing t on error.
func (l legacyDB) exec(t *testing.T, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := l.DB.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(legacy.DefaultTimezone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
