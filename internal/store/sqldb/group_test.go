package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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

// TestCancelledCallerCostsOnlyItself cancels one caller's context while its
// statement runs, with 29 other transactions waiting for the same commit (on
// SQLite they share it): the 29 must commit, the cancelled one keep nothing.
func TestCancelledCallerCostsOnlyItself(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		h := db.Shard(0)
		if _, err := h.Write().ExecContext(ctx, `CREATE TABLE g_cancel (k VARCHAR(16) PRIMARY KEY, v BIGINT)`); err != nil {
			t.Fatal(err)
		}
		// A slow write of the victim, long enough to be cancelled while it runs.
		slow := `INSERT INTO g_cancel (k, v) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1500000) SELECT 'slow', COUNT(*) FROM c`
		if db.Driver() == sqldb.DriverMySQL {
			slow = `INSERT INTO g_cancel (k, v) SELECT 'slow', SLEEP(2)`
		}
		// The gate holds the writer (on SQLite, the group loop) until every other
		// caller is queued, so that they all land in one group.
		gate := make(chan struct{})
		gateDone := make(chan error, 1)
		go func() {
			gateDone <- sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
				<-gate
				_, err := tx.ExecContext(ctx, `INSERT INTO g_cancel (k, v) VALUES ('gate', 0)`)
				return err
			})
		}()
		const n = 30
		const victim = 13
		vctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var wg sync.WaitGroup
		results := make([]error, n)
		for i := range n {
			wg.Go(func() {
				c := ctx
				if i == victim {
					c = vctx
				}
				results[i] = sqldb.InTx(c, h, func(tx *sql.Tx) error {
					if _, err := tx.ExecContext(c, `INSERT INTO g_cancel (k, v) VALUES (?, ?)`, fmt.Sprint(i), i); err != nil {
						return err
					}
					if i != victim {
						return nil
					}
					stop := time.AfterFunc(50*time.Millisecond, cancel)
					defer stop.Stop()
					_, err := tx.ExecContext(c, slow)
					return err
				})
			})
		}
		time.Sleep(200 * time.Millisecond) // every caller queued behind the gate
		close(gate)
		wg.Wait()
		if err := <-gateDone; err != nil {
			t.Fatalf("gate transaction: %v", err)
		}
		failed := 0
		for i := range n {
			var v int
			err := h.Read().QueryRowContext(ctx, `SELECT v FROM g_cancel WHERE k = ?`, fmt.Sprint(i)).Scan(&v)
			if i == victim {
				if results[i] == nil || !errors.Is(err, sql.ErrNoRows) {
					t.Errorf("cancelled caller: InTx = %v, row err %v: want an error and no row", results[i], err)
				}
				continue
			}
			if results[i] != nil || err != nil {
				failed++
				if failed <= 3 {
					t.Errorf("caller %d: InTx = %v, row err %v: want committed", i, results[i], err)
				}
			}
		}
		if failed > 0 {
			t.Errorf("%d of %d unrelated transactions failed", failed, n-1)
		}
		var slowRows int
		if err := h.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM g_cancel WHERE k = 'slow'`).Scan(&slowRows); err != nil || slowRows != 0 {
			t.Errorf("the cancelled caller's slow row: count %d, err %v: want none", slowRows, err)
		}
	})
}

// TestCallerCancelledAfterReleaseKeepsItsWork cancels a caller's context after
// its savepoint was released but before the shared commit: its work is
// committed with the group, and it must say so (nil), not report a failure.
func TestCallerCancelledAfterReleaseKeepsItsWork(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	ctx := context.Background()
	h := db.Shard(0)
	if _, err := h.Write().ExecContext(ctx, `CREATE TABLE g_late (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	gateDone := make(chan error, 1)
	go func() {
		gateDone <- sqldb.InTx(ctx, h, func(tx *sql.Tx) error { <-gate; return nil })
	}()
	time.Sleep(50 * time.Millisecond)
	actx, cancelA := context.WithCancel(ctx)
	defer cancelA()
	var errA, errB error
	var wg sync.WaitGroup
	wg.Go(func() {
		errA = sqldb.InTx(actx, h, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(actx, `INSERT INTO g_late (k) VALUES ('a')`)
			return err
		})
	})
	time.Sleep(50 * time.Millisecond) // A is queued before B
	wg.Go(func() {
		errB = sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
			cancelA() // A's savepoint is released by now; the commit is still ahead
			_, err := tx.ExecContext(ctx, `INSERT INTO g_late (k) VALUES ('b')`)
			return err
		})
	})
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	if err := <-gateDone; err != nil {
		t.Fatal(err)
	}
	var n int
	if err := h.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM g_late`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if errB != nil || n != 2 || errA != nil {
		t.Fatalf("A = %v, B = %v, rows %d: want both committed and both told nil", errA, errB, n)
	}
}

// TestGroupOfOne runs SQLite transactions one after the other, so that each is
// alone in its group and runs without a savepoint, and checks each outcome: a
// success commits; an error, a panic or a context that ends inside fn keeps
// nothing.
func TestGroupOfOne(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	ctx := context.Background()
	h := db.Shard(0)
	if _, err := h.Write().ExecContext(ctx, `CREATE TABLE g_one (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	insert := func(tx *sql.Tx, k string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO g_one (k) VALUES (?)`, k)
		return err
	}
	has := func(k string) bool {
		var n int
		if err := h.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM g_one WHERE k = ?`, k).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}

	// Alone in its group, fn runs in the transaction itself: there is no
	// savepoint of the group to release.
	err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `RELEASE g`); err == nil {
			return errors.New("a group of one opened a savepoint")
		}
		return insert(tx, "ok")
	})
	if err != nil || !has("ok") {
		t.Fatalf("success: InTx = %v, row kept %v: want committed", err, has("ok"))
	}

	errBoom := errors.New("boom")
	err = sqldb.InTxOnce(ctx, h, func(tx *sql.Tx) error {
		if err := insert(tx, "err"); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) || has("err") {
		t.Fatalf("error: InTx = %v, row kept %v: want its error and no row", err, has("err"))
	}

	func() {
		defer func() {
			if p := recover(); p != "p" {
				t.Fatalf("panic: recovered %v, want p", p)
			}
		}()
		_ = sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
			if err := insert(tx, "panic"); err != nil {
				return err
			}
			panic("p")
		})
	}()
	if has("panic") {
		t.Fatal("panic: the row was kept")
	}

	cctx, cancel := context.WithCancel(ctx)
	err = sqldb.InTxOnce(cctx, h, func(tx *sql.Tx) error {
		err := insert(tx, "cancelled")
		cancel()
		return err
	})
	if !errors.Is(err, context.Canceled) || has("cancelled") {
		t.Fatalf("cancelled: InTx = %v, row kept %v: want the context's error and no row", err, has("cancelled"))
	}

	// The writer is usable afterwards, and the groups still commit.
	if err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error { return insert(tx, "after") }); err != nil || !has("after") {
		t.Fatalf("after: InTx = %v, row kept %v", err, has("after"))
	}
}
