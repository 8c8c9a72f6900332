package sqldb_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// lazyFixture is a MySQL shard whose requests a proxy counts, with a table of
// its own, and a plain pool of the same database to read what was committed.
type lazyFixture struct {
	pool, reader *sql.DB
	proxy        *sqldbtest.CommandCounter
}

// newLazyFixture opens the shard with conns connections at most.
func newLazyFixture(t *testing.T, conns int) *lazyFixture {
	t.Helper()
	cfg, proxy := sqldbtest.CountedMySQLConfig(t, 1, 1)
	cfg.MaxOpenConns = conns
	db := sqldbtest.OpenConfig(t, cfg)
	// The reader's queries are one request each, answered before they
	// return (no server-side statements, whose closing the proxy could count
	// late).
	rc, err := mysql.ParseDSN(cfg.ShardDSNs[0])
	if err != nil {
		t.Fatal(err)
	}
	rc.InterpolateParams = true
	reader, err := sql.Open("mysql", rc.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })
	f := &lazyFixture{pool: db.Shard(0).Write(), reader: reader, proxy: proxy}
	if _, err := f.pool.Exec(`CREATE TABLE lazy_t (id BIGINT PRIMARY KEY, note VARCHAR(10) NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return f
}

// count reads the rows of lazy_t with id outside any transaction of the pool
// under test: it sees only what was committed.
func (f *lazyFixture) count(t *testing.T, id int) int {
	t.Helper()
	var n int
	if err := f.reader.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM lazy_t WHERE id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rollsBack checks that row id, written in tx, is invisible to other
// connections (its statement ran inside the transaction), rolls tx back and
// checks that the row is gone.
func (f *lazyFixture) rollsBack(t *testing.T, tx *sql.Tx, id int) {
	t.Helper()
	if got := f.count(t, id); got != 0 {
		t.Fatalf("row %d is visible before the commit (%d): its statement ran outside the transaction", id, got)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if got := f.count(t, id); got != 0 {
		t.Fatalf("row %d is stored after the rollback (%d)", id, got)
	}
}

// begin begins a transaction on the pool (or on conn, when given) that is
// rolled back when the test ends, so that a failing test leaves no locks
// behind for the next.
func (f *lazyFixture) begin(t *testing.T, ctx context.Context, conn *sql.Conn, opts *sql.TxOptions) *sql.Tx {
	t.Helper()
	var tx *sql.Tx
	var err error
	if conn != nil {
		tx, err = conn.BeginTx(ctx, opts)
	} else {
		tx, err = f.pool.BeginTx(ctx, opts)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Rollback() })
	return tx
}

// requests runs fn and answers the requests it sent.
func (f *lazyFixture) requests(fn func()) int64 {
	before := f.proxy.Commands()
	fn()
	return f.proxy.Commands() - before
}

// TestLazyBeginMySQL: a transaction on a MySQL pool begins with its first
// statement, in the same request, and keeps a transaction's semantics: its
// writes are invisible to others until it commits, gone when it rolls back,
// and a connection goes back to the pool outside any transaction whatever
// failed in it.
func TestLazyBeginMySQL(t *testing.T) {
	ctx := context.Background()
	f := newLazyFixture(t, 16)

	t.Run("commit", func(t *testing.T) {
		var tx *sql.Tx
		if n := f.requests(func() { tx = f.begin(t, ctx, nil, nil) }); n != 0 {
			t.Fatalf("begin sent %d requests, want 0", n)
		}
		if n := f.requests(func() {
			if _, err := tx.ExecContext(ctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`, 1, "a"); err != nil {
				t.Fatal(err)
			}
		}); n != 1 {
			t.Fatalf("the first statement sent %d requests, want 1 (START TRANSACTION with it)", n)
		}
		if got := f.count(t, 1); got != 0 {
			t.Fatalf("an uncommitted row is visible to another connection (%d): the statement ran outside a transaction", got)
		}
		if n := f.requests(func() {
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
		}); n != 1 {
			t.Fatalf("commit sent %d requests, want 1", n)
		}
		if got := f.count(t, 1); got != 1 {
			t.Fatalf("committed rows: %d, want 1", got)
		}
	})

	t.Run("rollback", func(t *testing.T) {
		tx := f.begin(t, ctx, nil, nil)
		var note string
		// A query first: its rows come back past START TRANSACTION's answer.
		if err := tx.QueryRowContext(ctx, `SELECT note FROM lazy_t WHERE id = ? FOR UPDATE`, 1).Scan(&note); err != nil || note != "a" {
			t.Fatalf("read under the lock: %q, %v; want a", note, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`, 2, "b"); err != nil {
			t.Fatal(err)
		}
		f.rollsBack(t, tx, 2)
	})

	t.Run("nothing run", func(t *testing.T) {
		if n := f.requests(func() {
			for _, end := range []func(*sql.Tx) error{(*sql.Tx).Commit, (*sql.Tx).Rollback} {
				if err := end(f.begin(t, ctx, nil, nil)); err != nil {
					t.Fatal(err)
				}
			}
		}); n != 0 {
			t.Fatalf("transactions that ran nothing sent %d requests, want 0", n)
		}
	})

	t.Run("first statement fails", func(t *testing.T) {
		conn, err := f.pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		tx := f.begin(t, ctx, conn, nil)
		if _, err := tx.ExecContext(ctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`, 1, "dup"); err == nil {
			t.Fatal("a duplicate key was inserted")
		}
		// START TRANSACTION ran before the failing statement: what follows
		// is inside the transaction, and the rollback removes it.
		if _, err := tx.ExecContext(ctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`, 3, "c"); err != nil {
			t.Fatal(err)
		}
		f.rollsBack(t, tx, 3)
		// The connection is outside any transaction again: its autocommit
		// statement is visible at once.
		if _, err := conn.ExecContext(ctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`, 4, "d"); err != nil {
			t.Fatal(err)
		}
		if got := f.count(t, 4); got != 1 {
			t.Fatalf("an autocommit row after the rollback: %d, want 1 (the connection stayed in a transaction)", got)
		}
	})

	t.Run("prepared first statement", func(t *testing.T) {
		// A prepared statement cannot carry START TRANSACTION, which goes
		// first on its own.
		conn, err := f.pool.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		tx := f.begin(t, ctx, conn, nil)
		st, err := tx.PrepareContext(ctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if _, err := st.ExecContext(ctx, 5, "e"); err != nil {
			t.Fatal(err)
		}
		f.rollsBack(t, tx, 5)
		// The rollback closed the statement with a command that has no
		// answer, which the proxy may count after the caller moved on (into
		// the next subtest's count): a round trip on the same connection
		// makes sure it was counted here.
		if _, err := conn.ExecContext(ctx, `DO 0`); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("options begin at once", func(t *testing.T) {
		var tx *sql.Tx
		if n := f.requests(func() { tx = f.begin(t, ctx, nil, &sql.TxOptions{ReadOnly: true}) }); n != 1 {
			t.Fatalf("a read-only begin sent %d requests, want 1", n)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`, 6, "f"); err == nil {
			t.Fatal("a read-only transaction wrote")
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("context ended mid-transaction", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		tx := f.begin(t, cctx, nil, nil)
		if _, err := tx.ExecContext(cctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`, 7, "g"); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := tx.Commit(); err == nil {
			t.Fatal("a transaction whose context ended committed")
		}
		if got := f.count(t, 7); got != 0 {
			t.Fatalf("a cancelled transaction's row is stored (%d)", got)
		}
		// The pool still works, every connection outside a transaction.
		for i := range 20 {
			if _, err := f.pool.ExecContext(ctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`, 100+i, "h"); err != nil {
				t.Fatal(err)
			}
			if got := f.count(t, 100+i); got != 1 {
				t.Fatalf("autocommit row %d: %d, want 1", 100+i, got)
			}
		}
	})
}

// TestLazyBeginPreparedOnPool: database/sql runs a statement prepared on the
// pool again on the connection it was prepared on, inside a later
// transaction (tx.Stmt), without preparing it there again; its first
// execution in the transaction still starts the transaction first.
func TestLazyBeginPreparedOnPool(t *testing.T) {
	ctx := context.Background()
	f := newLazyFixture(t, 1) // one connection: the statement's
	st, err := f.pool.PrepareContext(ctx, `INSERT INTO lazy_t (id, note) VALUES (?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tx := f.begin(t, ctx, nil, nil)
	if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, 1, "a"); err != nil {
		t.Fatal(err)
	}
	f.rollsBack(t, tx, 1)
	// Outside a transaction it runs as it is.
	if _, err := st.ExecContext(ctx, 2, "b"); err != nil {
		t.Fatal(err)
	}
	if got := f.count(t, 2); got != 1 {
		t.Fatalf("an autocommit row of the prepared statement: %d, want 1", got)
	}
}
