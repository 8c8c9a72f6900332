package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// openWithTable opens a fresh SQLite database, closed when t ends, and runs
// create on it.
func openWithTable(t *testing.T, create string) (sqldb.Config, *sqldb.Handle) {
	t.Helper()
	cfg := sqldbtest.SQLiteConfig(t)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := db.Shard(0)
	if _, err := h.Write().ExecContext(ctx, create); err != nil {
		t.Fatal(err)
	}
	return cfg, h
}

// TestWALCopiedInBackground writes far less than the writer's automatic
// checkpoint threshold (65 536 pages) and expects the rows to reach the database
// file anyway: the background checkpointer copies the WAL while the writer
// goes on.
func TestWALCopiedInBackground(t *testing.T) {
	ctx := context.Background()
	cfg, h := openWithTable(t, `CREATE TABLE ck_test (k INTEGER PRIMARY KEY, v TEXT)`)
	size := func() int64 {
		fi, err := os.Stat(cfg.SQLitePath)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	pad := strings.Repeat("x", 1000)
	for i := range 2000 { // about 2 MB: far below the automatic threshold
		err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO ck_test (k, v) VALUES (?, ?)`, i, fmt.Sprint(pad, i))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	testsvc.Eventually(t, "the database file to receive the WAL's pages", func() bool { return size() > before+1_000_000 })
}

// TestWALShrinksWhenQuiet grows the WAL past walShrinkAbove in one commit and
// expects the file to be truncated once the writes pause, the rows safe in
// the database file; and a WAL below the threshold to keep its size.
func TestWALShrinksWhenQuiet(t *testing.T) {
	ctx := context.Background()
	cfg, h := openWithTable(t, `CREATE TABLE ck_shrink (k INTEGER PRIMARY KEY, v BLOB)`)
	walSize := func() int64 {
		fi, err := os.Stat(cfg.SQLitePath + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	insert := func(from, n int) {
		t.Helper()
		err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
			for i := from; i < from+n; i++ {
				if _, err := tx.ExecContext(ctx, `INSERT INTO ck_shrink (k, v) VALUES (?, zeroblob(10000))`, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// A small WAL is left as it is: a quiet spell of a second sees it
	// copied but not truncated.
	insert(0, 10)
	small := walSize()
	if small == 0 {
		t.Fatal("no WAL after a commit")
	}
	time.Sleep(time.Second)
	if got := walSize(); got < small {
		t.Fatalf("WAL of %d bytes truncated to %d: want it kept below the threshold", small, got)
	}

	insert(10, 2500) // 25 MB in one commit
	if got := walSize(); got <= sqldb.WALShrinkAbove {
		t.Fatalf("WAL is %d bytes after a 25 MB commit, want more than %d", got, sqldb.WALShrinkAbove)
	}
	testsvc.Eventually(t, "the quiet WAL to be truncated", func() bool { return walSize() == 0 })
	var n int
	if err := h.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM ck_shrink`).Scan(&n); err != nil || n != 2510 {
		t.Fatalf("after the truncation: %d rows, %v; want 2510", n, err)
	}
	// The database goes on: the next commit writes a new WAL.
	insert(2510, 1)
	if walSize() == 0 {
		t.Fatal("no WAL after a commit following the truncation")
	}
}
