package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

func TestBatchCompactMergesInserts(t *testing.T) {
	const (
		ins = "INSERT INTO t (a, b) VALUES (?, ?)"
		upd = "UPDATE t SET b = b + 1 WHERE a = ?"
		ups = "INSERT INTO t (a, b) VALUES (?, ?) ON DUPLICATE KEY UPDATE b = b + 1"
		oth = "INSERT INTO u (a) VALUES (?)"
	)
	var b sqldb.Batch
	b.Add("ins 1", ins, 1, "x")
	b.Add("upd 1", upd, 1)
	b.Add("ups 1", ups, 1, "x")
	b.Add("ins 2", ins, 2, "y")
	b.Add("oth 1", oth, 7)
	b.Add("upd 2", upd, 2)
	b.Add("ups 2", ups, 2, "y")
	b.Add("ins 3", ins, 3, "z")
	b.Compact()
	whats, queries, args := b.Statements()
	wantQueries := []string{
		"INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?)",
		upd, upd, // not INSERTs: kept one by one, in order
		"INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE b = b + 1", // an upsert clause after the rows
		oth, // alone in its group
	}
	if !reflect.DeepEqual(queries, wantQueries) {
		t.Fatalf("queries:\n%q\nwant\n%q", queries, wantQueries)
	}
	wantArgs := [][]any{{1, "x", 2, "y", 3, "z"}, {1}, {2}, {1, "x", 2, "y"}, {7}}
	if !reflect.DeepEqual(args, wantArgs) {
		t.Fatalf("args %v, want %v", args, wantArgs)
	}
	if whats[0] != "ins 1 (and 2 more rows)" || whats[1] != "upd 1" || whats[2] != "upd 2" {
		t.Fatalf("whats %q", whats)
	}
}

func TestBatchCompactLeavesOtherStatements(t *testing.T) {
	for _, q := range []string{
		"INSERT INTO t (a) VALUES (?), (?)",
		"INSERT INTO t (a) VALUES (1)",
		"INSERT INTO t (a) SELECT a FROM u WHERE a = ?",
		"REPLACE INTO t (a) VALUES (?)",
		"INSERT INTO t (a) VALUES (?) ON DUPLICATE KEY UPDATE a = ?",
		"INSERT INTO t (a) VALUES (?) RETURNING a",
	} {
		var b sqldb.Batch
		b.Add("one", q, 1)
		b.Add("two", q, 2)
		b.Compact()
		if _, queries, _ := b.Statements(); len(queries) != 2 || queries[0] != q || queries[1] != q {
			t.Errorf("%q compacted to %q", q, queries)
		}
	}
}

// TestBatchCompactRuns runs a compacted batch on each engine: the rows of the
// merged INSERT are all written, a duplicate among them fails the batch.
func TestBatchCompactRuns(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		h := db.Config()
		if _, err := h.Write().ExecContext(ctx, `CREATE TABLE compact_t (a INT PRIMARY KEY, b VARCHAR(8) NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		const ins = "INSERT INTO compact_t (a, b) VALUES (?, ?)"
		run := func(rows ...int) error {
			var b sqldb.Batch
			for _, a := range rows {
				b.Add("insert", ins, a, strings.Repeat("v", a%8))
			}
			b.Compact()
			return sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
				_, err := h.ExecBatchTx(ctx, tx, &b)
				return err
			})
		}
		if err := run(1, 2, 3); err != nil {
			t.Fatal(err)
		}
		if err := run(4, 5, 2); !db.Dialect().IsDuplicate(err) {
			t.Fatalf("batch with a duplicate: err = %v, want a duplicate key", err)
		}
		var n int
		if err := h.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM compact_t`).Scan(&n); err != nil || n != 3 {
			t.Fatalf("rows %d, %v; want 3 (the failed batch wrote none)", n, err)
		}

		// An upsert's rows merge too, and apply one by one: a key twice adds twice.
		if _, err := h.Write().ExecContext(ctx, `CREATE TABLE compact_sum (k INT PRIMARY KEY, n INT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		d := db.Dialect()
		ups := `INSERT INTO compact_sum (k, n) VALUES (?, ?) ` + d.Upsert([]string{"k"}, "n = compact_sum.n + "+d.Excluded("n"))
		var b sqldb.Batch
		for _, kn := range [][2]int{{1, 1}, {2, 5}, {1, 10}} {
			b.Add("upsert", ups, kn[0], kn[1])
		}
		b.Compact()
		if _, qs, _ := b.Statements(); len(qs) != 1 {
			t.Fatalf("upserts compacted to %d statements, want 1: %q", len(qs), qs)
		}
		if err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error { _, err := h.ExecBatchTx(ctx, tx, &b); return err }); err != nil {
			t.Fatal(err)
		}
		var n1, n2 int
		if err := h.Read().QueryRowContext(ctx, `SELECT (SELECT n FROM compact_sum WHERE k = 1), (SELECT n FROM compact_sum WHERE k = 2)`).Scan(&n1, &n2); err != nil || n1 != 11 || n2 != 5 {
			t.Fatalf("sums %d %d, %v; want 11 5", n1, n2, err)
		}
	})
}

// TestExecCountedTx: the rows changed by counted statements are summed in the
// request on MySQL, statement by statement on SQLite (a merged INSERT counts
// its rows, an uncounted statement nothing, a row matched but left as it was
// counts); a failing statement fails the batch with the driver's error, which
// the dialect still classifies, and the caller's rollback keeps none of it. On
// MariaDB both ways of sending the batch are checked: as one compound
// statement and as plain statements.
func TestExecCountedTx(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		h := db.Config()
		eachCompoundMode(t, h, "counted", func(t *testing.T, table string) {
			var b sqldb.Batch
			b.AddCounted("insert", "INSERT INTO "+table+" (a, b) VALUES (?, ?)", 1, 0)
			b.AddCounted("insert", "INSERT INTO "+table+" (a, b) VALUES (?, ?)", 2, 0)
			b.Add("insert", "INSERT INTO "+table+" (a, b) VALUES (?, ?)", 3, 0) // not counted
			b.AddCounted("update", "UPDATE "+table+" SET b = 1 WHERE a IN (1, 3, 9)")
			b.AddCounted("update", "UPDATE "+table+" SET b = 1 WHERE a = 1") // matched, not changed
			b.Compact()
			if n, err := execCounted(ctx, h, &b); err != nil || n != 5 {
				t.Fatalf("counted rows %d, %v; want 5 (two inserted, two updated, one matched)", n, err)
			}

			b.AddCounted("insert", "INSERT INTO "+table+" (a, b) VALUES (?, ?)", 10, 0)
			b.AddCounted("insert", "INSERT INTO "+table+" (a, b) VALUES (?, ?)", 1, 0) // a duplicate
			b.AddCounted("insert", "INSERT INTO "+table+" (a, b) VALUES (?, ?)", 11, 0)
			_, err := execCounted(ctx, h, &b)
			var be *sqldb.BatchError
			if !errors.As(err, &be) || !db.Dialect().IsDuplicate(err) {
				t.Fatalf("batch with a duplicate: %v; want a BatchError the dialect calls a duplicate", err)
			}
			var kept int
			if err := h.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE a IN (10, 11)`).Scan(&kept); err != nil || kept != 0 {
				t.Fatalf("rows of the failed batch kept: %d, %v; want 0", kept, err)
			}
		})
	})
}

// execCounted runs b with ExecCountedTx in a transaction of its own on h.
func execCounted(ctx context.Context, h *sqldb.Handle, b *sqldb.Batch) (n int64, err error) {
	err = sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
		n, err = h.ExecCountedTx(ctx, tx, b)
		return err
	})
	return n, err
}

// eachCompoundMode runs fn as a subtest per way h can send a counted batch
// (on MariaDB as one compound statement and as plain statements, elsewhere the
// one it has), each with a table of its own, (a INT PRIMARY KEY, b INT NOT
// NULL), named after prefix and the way. h's own setting is restored when t
// ends.
func eachCompoundMode(t *testing.T, h *sqldb.Handle, prefix string, fn func(t *testing.T, table string)) {
	was := h.MariaDB()
	t.Cleanup(func() { h.SetMariaDB(was) })
	modes := map[string]bool{"plain": false}
	if was {
		modes["compound"] = true
	}
	for _, name := range []string{"compound", "plain"} {
		on, ok := modes[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			h.SetMariaDB(on)
			table := prefix + "_" + name
			if _, err := h.Write().ExecContext(context.Background(), `CREATE TABLE `+table+` (a INT PRIMARY KEY, b INT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			fn(t, table)
		})
	}
}

// TestExecCountedTxOneAnswerMySQL: on MariaDB a counted batch comes back as
// one answer and the count, not an answer per statement: the server answers
// the transaction's begin, the compound statement, the count's result set and
// the commit, against two answers per counted statement without it.
func TestExecCountedTxOneAnswerMySQL(t *testing.T) {
	cfg, counter := sqldbtest.CountedMySQLConfig(t, 1, 1)
	db := sqldbtest.OpenConfig(t, cfg)
	ctx := context.Background()
	h := db.Shard(0)
	if _, err := h.Write().ExecContext(ctx, `CREATE TABLE answers_t (a INT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	if !h.MariaDB() {
		t.Fatal("the MariaDB handle does not know its server for MariaDB")
	}
	run := func(first int) int64 {
		t.Helper()
		var b sqldb.Batch
		for a := first; a < first+5; a++ {
			b.AddCounted("insert", "INSERT INTO answers_t (a) VALUES (?)", a)
		}
		before := counter.Answers()
		if n, err := execCounted(ctx, h, &b); err != nil || n != 5 {
			t.Fatalf("counted rows %d, %v; want 5", n, err)
		}
		return counter.Answers() - before
	}
	if got := run(0); got != 4 {
		t.Errorf("answers to a compound batch of 5: %d, want 4 (begin, compound, count, commit)", got)
	}
	h.SetMariaDB(false)
	if got := run(10); got != 14 {
		t.Errorf("answers to a plain batch of 5: %d, want 14 (begin, reset, 5 × (insert, add), count, commit)", got)
	}
}

// TestExecCountedTxDeadlockMySQL: a deadlock inside a batch comes back as
// MariaDB's deadlock error, which the dialect calls retryable, with the batch
// as one compound statement as without.
func TestExecCountedTxDeadlockMySQL(t *testing.T) {
	db := sqldbtest.OpenMySQL(t)
	ctx := context.Background()
	h := db.Config()
	eachCompoundMode(t, h, "deadlock", func(t *testing.T, table string) {
		if _, err := h.Write().ExecContext(ctx, `INSERT INTO `+table+` VALUES (1, 0), (2, 0)`); err != nil {
			t.Fatal(err)
		}
		// Each transaction locks one row, then its batch wants the other's.
		txs := make([]*sql.Tx, 2)
		for i := range txs {
			tx, err := h.Write().BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, `UPDATE `+table+` SET b = 1 WHERE a = ?`, i+1); err != nil {
				t.Fatal(err)
			}
			txs[i] = tx
		}
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, tx := range txs {
			wg.Go(func() {
				var b sqldb.Batch
				b.AddCounted("update", `UPDATE `+table+` SET b = 2 WHERE a = ?`, 2-i)
				_, errs[i] = h.ExecCountedTx(ctx, tx, &b)
			})
		}
		wg.Wait()
		var deadlocked, passed int
		for _, err := range errs {
			var be *sqldb.BatchError
			switch {
			case err == nil:
				passed++
			case errors.As(err, &be) && db.Dialect().IsRetryable(err):
				deadlocked++
			default:
				t.Errorf("batch error %v; want a deadlock the dialect calls retryable", err)
			}
		}
		if deadlocked != 1 || passed != 1 {
			t.Fatalf("%d batches deadlocked, %d passed; want one each", deadlocked, passed)
		}
	})
}

// TestInSet: a set of values, quotes included, matches the rows it names on
// both engines; on SQLite its statement's text is the same whatever its size.
func TestInSet(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		h := db.Config()
		if _, err := h.Write().ExecContext(ctx, `CREATE TABLE inset_t (k VARCHAR(32) PRIMARY KEY)`); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"a", `o'neil`, `say "hi"`, "z"} {
			if _, err := h.Write().ExecContext(ctx, `INSERT INTO inset_t (k) VALUES (?)`, k); err != nil {
				t.Fatal(err)
			}
		}
		set, args := sqldb.InSet(db.Dialect(), []string{`o'neil`, `say "hi"`, "a", "missing"})
		var n int
		if err := h.Read().QueryRowContext(ctx, `SELECT COUNT(*) FROM inset_t WHERE k IN (`+set+`)`, args...).Scan(&n); err != nil || n != 3 {
			t.Fatalf("rows in the set: %d, %v; want 3", n, err)
		}
		if one, _ := sqldb.InSet(db.Dialect(), []string{"a"}); db.Dialect().Name() == sqldb.DriverSQLite && one != set {
			t.Fatalf("SQLite set texts differ by size: %q, %q", one, set)
		}
	})
}

// TestHandleCompact compacts batches through a handle: on MySQL the rows of one
// INSERT text merge (the second batch from the handle's remembered split, with
// its own rows and arguments), on SQLite the batch stays as it was; on both the
// rows are written.
func TestHandleCompact(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		h := db.Config()
		if _, err := h.Write().ExecContext(ctx, `CREATE TABLE compact_h (a INT PRIMARY KEY, b VARCHAR(8) NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		const ins = "INSERT INTO compact_h (a, b) VALUES (?, ?)"
		run := func(rows ...int) {
			t.Helper()
			var b sqldb.Batch
			for _, a := range rows {
				b.Add("insert", ins, a, fmt.Sprint("v", a))
			}
			b.Add("other", "UPDATE compact_h SET b = ? WHERE a = ?", "u", rows[0])
			h.Compact(&b)
			want := len(rows) + 1 // SQLite: as it was
			if db.Driver() == sqldb.DriverMySQL {
				want = 2
			}
			if b.Len() != want {
				t.Fatalf("compacted batch has %d statements, want %d", b.Len(), want)
			}
			if err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
				_, err := h.ExecBatchTx(ctx, tx, &b)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		run(1, 2, 3)
		run(4, 5, 6, 7)
		got := map[int]string{}
		rows, err := h.Read().QueryContext(ctx, `SELECT a, b FROM compact_h`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var a int
			var b string
			if err := rows.Scan(&a, &b); err != nil {
				t.Fatal(err)
			}
			got[a] = b
		}
		want := map[int]string{1: "u", 2: "v2", 3: "v3", 4: "u", 5: "v5", 6: "v6", 7: "v7"}
		if !maps.Equal(got, want) {
			t.Fatalf("rows %v, want %v", got, want)
		}
	})
}
