package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestGroupCommitIsolatesCallers runs many concurrent SQLite transactions, which
// share commits, and checks that each caller keeps exactly its own outcome.
func TestGroupCommitIsolatesCallers(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	ctx := context.Background()
	h := db.Shard(0)
	if _, err := h.Write().ExecContext(ctx, `CREATE TABLE g_test (k TEXT PRIMARY KEY, v INTEGER)`); err != nil {
		t.Fatal(err)
	}
	const n = 400
	errBoom := errors.New("boom")
	var wg sync.WaitGroup
	results := make([]error, n)
	panics := make([]any, n)
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			results[i] = sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO g_test (k, v) VALUES (?, ?)`, fmt.Sprint(i), i); err != nil {
					return err
				}
				switch i % 10 {
				case 3:
					return errBoom // rolls back this caller's row only
				case 7:
					panic(fmt.Sprint("p", i))
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i := range n {
		var v int
		err := h.Read().QueryRowContext(ctx, `SELECT v FROM g_test WHERE k = ?`, fmt.Sprint(i)).Scan(&v)
		switch i % 10 {
		case 3:
			if !errors.Is(results[i], errBoom) || !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("caller %d: InTx = %v, row err %v: want its error and no row", i, results[i], err)
			}
		case 7:
			if panics[i] != fmt.Sprint("p", i) || !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("caller %d: panic %v, row err %v: want its own panic and no row", i, panics[i], err)
			}
		default:
			if results[i] != nil || err != nil || v != i {
				t.Fatalf("caller %d: InTx = %v, row %d err %v: want committed", i, results[i], v, err)
			}
		}
	}
}
