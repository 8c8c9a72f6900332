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

const (
	qStmtInsert = `INSERT INTO s_test (k, v) VALUES (?, ?)`
	qStmtAdd    = `UPDATE s_test SET v = v + ? WHERE k = ?`
	qStmtGet    = `SELECT v FROM s_test WHERE k = ?`
	qStmtAll    = `SELECT k, v FROM s_test WHERE k LIKE ? ORDER BY k`
)

func stmtTable(t *testing.T, h *sqldb.Handle) {
	t.Helper()
	if _, err := h.Write().ExecContext(context.Background(), `CREATE TABLE s_test (k VARCHAR(64) PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if h.Dialect().Name() == sqldb.DriverMySQL {
		t.Cleanup(func() { h.Write().Exec(`DROP TABLE s_test`) })
	}
}

// TestStmtCacheConcurrent runs many concurrent transactions through ExecTx,
// QueryRowTx and QueryTx, first unprepared (on SQLite the statements are
// prepared between group commits, after their first use), then prepared, and
// checks every caller's effects and reads.
func TestStmtCacheConcurrent(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		h := db.Shard(0)
		stmtTable(t, h)
		const workers, rounds = 16, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for w := range workers {
			wg.Go(func() {
				k := fmt.Sprintf("w%02d", w)
				for i := range rounds {
					err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
						if i == 0 {
							_, err := h.ExecTx(ctx, tx, qStmtInsert, k, 0)
							return err
						}
						var v int
						if err := h.QueryRowTx(ctx, tx, qStmtGet, k).Scan(&v); err != nil {
							return err
						}
						if v != i-1 {
							return fmt.Errorf("%s: read %d in round %d, want %d", k, v, i, i-1)
						}
						res, err := h.ExecTx(ctx, tx, qStmtAdd, 1, k)
						if err != nil {
							return err
						}
						if n, err := res.RowsAffected(); err != nil || n != 1 {
							return fmt.Errorf("%s: update matched %d rows, %v", k, n, err)
						}
						return nil
					})
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
			rows, err := h.QueryTx(ctx, tx, qStmtAll, "w%")
			if err != nil {
				return err
			}
			defer rows.Close()
			n := 0
			for rows.Next() {
				var k string
				var v int
				if err := rows.Scan(&k, &v); err != nil {
					return err
				}
				if v != rounds-1 {
					return fmt.Errorf("%s = %d, want %d", k, v, rounds-1)
				}
				n++
			}
			if n != workers {
				return fmt.Errorf("%d rows, want %d", n, workers)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		wantPrepared := db.Driver() == sqldb.DriverSQLite
		for _, q := range []string{qStmtInsert, qStmtAdd, qStmtGet} {
			if got := h.Prepared(q); got != wantPrepared {
				t.Errorf("Prepared(%q) = %v, want %v", q, got, wantPrepared)
			}
		}
	})
}

// TestStmtCacheAfterFailedTx checks that a transaction failing after running
// prepared statements, or failing in one (a constraint), rolls back and leaves
// the statements usable, and that a statement which cannot be prepared keeps
// reporting its error to its callers without harming the others.
func TestStmtCacheAfterFailedTx(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		h := db.Shard(0)
		stmtTable(t, h)
		const qBad = `INSERT INTO s_missing (k) VALUES (?)`
		if err := h.Prepare(ctx, qStmtInsert, qStmtGet, qStmtAdd); err != nil {
			t.Fatalf("Prepare: %v", err)
		}
		if err := h.Prepare(ctx, qBad); (err == nil) != (db.Driver() == sqldb.DriverMySQL) {
			t.Fatalf("Prepare of a statement on a missing table: %v", err)
		}
		get := func(k string) (int, error) {
			var v int
			err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error { return h.QueryRowTx(ctx, tx, qStmtGet, k).Scan(&v) })
			return v, err
		}
		errBoom := errors.New("boom")
		for i := range 3 {
			// A failure of the caller after its statements ran.
			err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
				if _, err := h.ExecTx(ctx, tx, qStmtInsert, "a", 1); err != nil {
					return err
				}
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("round %d: InTx = %v, want boom", i, err)
			}
			if _, err := get("a"); !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("round %d: row a after rollback: %v, want none", i, err)
			}
			// A failing statement: the duplicate key rolls back the first insert.
			err = sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
				if _, err := h.ExecTx(ctx, tx, qStmtInsert, fmt.Sprint("b", i), 1); err != nil {
					return err
				}
				_, err := h.ExecTx(ctx, tx, qStmtInsert, fmt.Sprint("b", i), 2)
				return err
			})
			if !h.Dialect().IsDuplicate(err) {
				t.Fatalf("round %d: duplicate insert: %v", i, err)
			}
			if _, err := get(fmt.Sprint("b", i)); !errors.Is(err, sql.ErrNoRows) {
				t.Fatalf("round %d: row b after rollback: %v, want none", i, err)
			}
			// A statement that cannot run reports its error every time.
			err = sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
				_, err := h.ExecTx(ctx, tx, qBad, "x")
				return err
			})
			if err == nil {
				t.Fatalf("round %d: insert into a missing table succeeded", i)
			}
		}
		// The prepared statements still work.
		err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
			if _, err := h.ExecTx(ctx, tx, qStmtInsert, "c", 5); err != nil {
				return err
			}
			_, err := h.ExecTx(ctx, tx, qStmtAdd, 2, "c")
			return err
		})
		if v, gerr := get("c"); err != nil || gerr != nil || v != 7 {
			t.Fatalf("after failures: InTx %v, c = %d (%v), want 7", err, v, gerr)
		}
		if h.Prepared(qBad) {
			t.Fatal("a statement that failed to prepare is cached")
		}
	})
}

// TestStmtCacheSchemaChange checks that a prepared statement follows a change
// of its table (SQLite prepares it again by itself).
func TestStmtCacheSchemaChange(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	ctx := context.Background()
	h := db.Shard(0)
	stmtTable(t, h)
	const qWide = `SELECT * FROM s_test WHERE k = ?`
	if err := h.Prepare(ctx, qWide, qStmtInsert); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write().ExecContext(ctx, `ALTER TABLE s_test ADD COLUMN w BIGINT NOT NULL DEFAULT 9`); err != nil {
		t.Fatal(err)
	}
	err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
		if _, err := h.ExecTx(ctx, tx, qStmtInsert, "k", 1); err != nil {
			return err
		}
		var k string
		var v, w int
		if err := h.QueryRowTx(ctx, tx, qWide, "k").Scan(&k, &v, &w); err != nil {
			return err
		}
		if w != 9 {
			return fmt.Errorf("w = %d, want 9", w)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStmtCacheClose checks that closing a DB with prepared statements is
// clean and that transactions afterwards fail rather than hang.
func TestStmtCacheClose(t *testing.T) {
	cfg := sqldbtest.SQLiteConfig(t)
	ctx := context.Background()
	db, err := sqldb.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := db.Shard(0)
	if _, err := h.Write().ExecContext(ctx, `CREATE TABLE s_test (k VARCHAR(64) PRIMARY KEY, v BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if err := h.Prepare(ctx, qStmtInsert); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err = sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
		_, err := h.ExecTx(ctx, tx, qStmtInsert, "k", 1)
		return err
	})
	if err == nil {
		t.Fatal("InTx after Close succeeded")
	}
}
