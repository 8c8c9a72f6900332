package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// TestWALCopiedInBackground writes far less than the writer's automatic
// checkpoint threshold (65 536 pages) and expects the rows to reach the database
// file anyway: the background checkpointer copies the WAL while the writer
// goes on.
func TestWALCopiedInBackground(t *testing.T) {
	cfg := sqldbtest.SQLiteConfig(t)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := db.Shard(0)
	if _, err := h.Write().ExecContext(ctx, `CREATE TABLE ck_test (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
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
