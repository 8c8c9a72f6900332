package sqldb_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"reflect"
	"strings"
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
// its rows, an uncounted statement nothing).
func TestExecCountedTx(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		h := db.Config()
		if _, err := h.Write().ExecContext(ctx, `CREATE TABLE counted_t (a INT PRIMARY KEY, b INT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		var b sqldb.Batch
		b.AddCounted("insert", "INSERT INTO counted_t (a, b) VALUES (?, ?)", 1, 0)
		b.AddCounted("insert", "INSERT INTO counted_t (a, b) VALUES (?, ?)", 2, 0)
		b.Add("insert", "INSERT INTO counted_t (a, b) VALUES (?, ?)", 3, 0) // not counted
		b.AddCounted("update", "UPDATE counted_t SET b = 1 WHERE a IN (1, 3, 9)")
		b.Compact()
		var n int64
		err := sqldb.InTx(ctx, h, func(tx *sql.Tx) error {
			var err error
			n, err = h.ExecCountedTx(ctx, tx, &b)
			return err
		})
		if err != nil || n != 4 {
			t.Fatalf("counted rows %d, %v; want 4 (two inserted, two updated)", n, err)
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
