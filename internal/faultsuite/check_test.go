package faultsuite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // MariaDB shards
	_ "modernc.org/sqlite"             // the embedded database file
)

// db reads bigmarket's tables directly: one SQLite file, or a MariaDB config
// database and N shard databases of M tables each.
type db struct {
	config *sql.DB
	shards []*sql.DB
	tables []string // table suffixes of each shard: "" in SQLite, _000… in MySQL
}

// openSQLite opens the embedded database file for reading.
func openSQLite(t *testing.T, path string) *db {
	t.Helper()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	d, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	d.SetMaxOpenConns(1)
	t.Cleanup(func() { d.Close() })
	return &db{config: d, shards: []*sql.DB{d}, tables: []string{""}}
}

// openMySQL opens the config and shard databases by their DSNs.
func openMySQL(t *testing.T, configDSN string, shardDSNs []string, tablesPerShard int) *db {
	t.Helper()
	open := func(dsn string) *sql.DB {
		d, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatalf("open %s: %v", dsn, err)
		}
		d.SetMaxOpenConns(2)
		t.Cleanup(func() { d.Close() })
		return d
	}
	out := &db{config: open(configDSN)}
	for _, s := range shardDSNs {
		out.shards = append(out.shards, open(s))
	}
	for i := range tablesPerShard {
		out.tables = append(out.tables, fmt.Sprintf("_%03d", i))
	}
	return out
}

// eachTable runs query (with {{suffix}} replaced) on every user table of every
// shard and hands each row to scan.
func (d *db) eachTable(ctx context.Context, query string, scan func(*sql.Rows) error, args ...any) error {
	for _, s := range d.shards {
		for _, suffix := range d.tables {
			q := strings.ReplaceAll(query, "{{suffix}}", suffix)
			if err := queryRows(ctx, s, q, scan, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

func queryRows(ctx context.Context, d *sql.DB, q string, scan func(*sql.Rows) error, args ...any) error {
	rows, err := d.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("%s: scan: %w", q, err)
		}
	}
	return rows.Err()
}

// progress is what settle watches: award records by state and open outbox tasks.
type progress struct {
	records    int
	unfinished int // award records still in create (or any non-final state)
	openTasks  int // outbox tasks in create or fail
}

// finalStates are the award record states a record may end in.
var finalStates = []string{"completed", "pending_manual", "failed"}

func (d *db) progress(ctx context.Context, activity int64) (progress, error) {
	var p progress
	err := d.eachTable(ctx, `SELECT award_state, COUNT(*) FROM user_award_record{{suffix}} WHERE activity_id = ? GROUP BY award_state`,
		func(r *sql.Rows) error {
			var state string
			var n int
			if err := r.Scan(&state, &n); err != nil {
				return err
			}
			p.records += n
			if !slices.Contains(finalStates, state) {
				p.unfinished += n
			}
			return nil
		}, activity)
	if err != nil {
		return p, err
	}
	for _, s := range d.shards {
		err := queryRows(ctx, s, `SELECT COUNT(*) FROM task WHERE state IN ('create', 'fail')`, func(r *sql.Rows) error {
			var n int
			err := r.Scan(&n)
			p.openTasks += n
			return err
		})
		if err != nil {
			return p, err
		}
	}
	return p, nil
}

// settle waits until every award record is finished and no outbox task is open,
// or until nothing changed for stall, or limit passed; it returns the last
// progress seen. A check after it then sees what a fault left for good.
func (d *db) settle(t *testing.T, activity int64, stall, limit time.Duration) progress {
	t.Helper()
	ctx := context.Background()
	begin := time.Now()
	var last progress
	lastChange := time.Now()
	for {
		p, err := d.progress(ctx, activity)
		if err != nil {
			t.Logf("settle: %v", err) // a database being cut comes back: keep polling
		} else {
			if p != last {
				last, lastChange = p, time.Now()
			}
			if p.unfinished == 0 && p.openTasks == 0 {
				t.Logf("settled in %s: %+v", time.Since(begin).Round(time.Millisecond), p)
				return p
			}
		}
		if time.Since(lastChange) > stall || time.Since(begin) > limit {
			t.Logf("settle gave up after %s (unchanged for %s): %+v", time.Since(begin).Round(time.Millisecond), time.Since(lastChange).Round(time.Millisecond), last)
			return last
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// acknowledgedUndone counts award records still in create, never tried (no
// last error), whose send_award outbox task is completed: work the relay was
// told was done that no consumer did. Read while the embedded instance is down
// (killed or stopped), it is what the stop lost. (A webhook record whose call
// failed is given back to create with its last error after its message was
// handled: the reconciler redelivers it by design, and it is not counted.) DESIGN §3: in embedded mode a task completes only when its
// handler has committed, so a stop at any instant leaves the work pending
// (task create or fail), never acknowledged; the reconciler finding such
// records later is a safety net, not the guarantee.
func (d *db) acknowledgedUndone(ctx context.Context, activity int64) (int, error) {
	completed := map[string]bool{}
	for _, s := range d.shards {
		err := queryRows(ctx, s, `SELECT message FROM task WHERE topic = 'send_award' AND state = 'completed'`, func(r *sql.Rows) error {
			var msg []byte
			if err := r.Scan(&msg); err != nil {
				return err
			}
			var env struct {
				Data struct {
					OrderID string `json:"orderId"`
				} `json:"data"`
			}
			if err := json.Unmarshal(msg, &env); err != nil {
				return fmt.Errorf("task message %q: %w", msg, err)
			}
			completed[env.Data.OrderID] = true
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	n := 0
	err := d.eachTable(ctx, `SELECT order_id FROM user_award_record{{suffix}} WHERE activity_id = ? AND award_state = 'create' AND last_error = ''`,
		func(r *sql.Rows) error {
			var order string
			err := r.Scan(&order)
			if completed[order] {
				n++
			}
			return err
		}, activity)
	return n, err
}

// campaignAwards describes the suite campaign's awards for the checks.
type campaignAwards struct {
	strategy int64
	luck     int64          // the luck award of rule_luck_award: issued without stock
	credit   map[int64]bool // awards delivered as credits
	webhook  map[int64]bool // awards delivered by the receiver
}

// record is one user_award_record row.
type record struct {
	user, order string
	award       int64
	state       string
	stockTaken  bool
}

// figures are the per-fault numbers printed in the suite's table.
type figures struct {
	fault, mode string
	answered    int // draws answered 0000
	issued      int // award records
	finished    int // award records completed, pending_manual or failed
	failed      int // award records failed (given up, visible to operators)
	duplicates  int // webhook deliveries answered 200 for an award already delivered
	reposts     int // webhook POSTs of an award already POSTed (an earlier one unanswered or a duplicate)
	undone      int // embedded: award records in create behind completed tasks while the instance was down
	oversold    int // awards issued past their count or without a stock unit
	violations  int
}

// check reads the database and fails t for every broken invariant; it returns
// the figures of the fault.
func check(t *testing.T, d *db, l *load, hooks *receiver, c campaignAwards, activity int64) figures {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var f figures
	fail := func(format string, args ...any) {
		f.violations++
		if f.violations <= 25 {
			t.Errorf(format, args...)
		}
	}
	must := func(err error) {
		if err != nil {
			t.Fatalf("check: %v", err)
		}
	}

	// Award records.
	var records []record
	must(d.eachTable(ctx, `SELECT user_id, order_id, award_id, award_state, stock_taken FROM user_award_record{{suffix}} WHERE activity_id = ?`,
		func(r *sql.Rows) error {
			var rec record
			var taken int
			err := r.Scan(&rec.user, &rec.order, &rec.award, &rec.state, &taken)
			rec.stockTaken = taken != 0
			records = append(records, rec)
			return err
		}, activity))
	f.issued = len(records)
	byUser := map[string]map[int64]int{}
	recordOf := map[string]record{}
	for _, rec := range records {
		if byUser[rec.user] == nil {
			byUser[rec.user] = map[int64]int{}
		}
		byUser[rec.user][rec.award]++
		recordOf[rec.order] = rec
		if slices.Contains(finalStates, rec.state) {
			f.finished++
		}
		if rec.state == "failed" {
			f.failed++
		}
	}
	if n := f.issued - f.finished; n > 0 {
		states := map[string]int{}
		for _, rec := range records {
			if !slices.Contains(finalStates, rec.state) {
				states[rec.state]++
			}
		}
		fail("%d award records not finished (want completed, pending_manual or failed): by state %v", n, states)
	}

	// Stock: awards issued ≤ count; a stock-limited award never without a unit.
	counts := map[int64]int{}
	must(queryRows(ctx, d.config, `SELECT award_id, award_count FROM strategy_award WHERE strategy_id = ?`, func(r *sql.Rows) error {
		var a int64
		var n int
		err := r.Scan(&a, &n)
		counts[a] = n
		return err
	}, c.strategy))
	taken := map[int64]int{}
	withoutUnit := map[int64]int{}
	for _, rec := range records {
		switch {
		case rec.stockTaken:
			taken[rec.award]++
		case rec.award != c.luck:
			withoutUnit[rec.award]++
		}
	}
	for a, n := range counts {
		if taken[a] > n {
			f.oversold += taken[a] - n
			fail("award %d: %d records took stock, its count is %d (oversold by %d)", a, taken[a], n, taken[a]-n)
		}
		if withoutUnit[a] > 0 {
			f.oversold += withoutUnit[a]
			fail("award %d: %d records issued without a stock unit (not the luck award)", a, withoutUnit[a])
		}
	}

	// Every draw answered 0000 has its award record; extra records only for
	// draws whose answer was lost.
	l.mu.Lock()
	f.answered = l.codes[codeOK]
	for user, awards := range l.answered {
		for a, n := range awards {
			if got := byUser[user][a]; got < n {
				fail("user %s: %d draws of award %d answered 0000, %d records", user, n, a, got)
			}
		}
	}
	for user, awards := range byUser {
		recs, ans := 0, 0
		for a, n := range awards {
			recs += n
			ans += l.answered[user][a]
		}
		if recs-ans > l.unclear[user] {
			fail("user %s: %d award records, %d draws answered 0000, only %d requests without a known outcome", user, recs, ans, l.unclear[user])
		}
	}
	l.mu.Unlock()

	// Quota: what each account spent equals its raffle orders, and every raffle
	// order used has its award record (and every record its used order).
	orders := map[string]int{}
	used := map[string]bool{}
	must(d.eachTable(ctx, `SELECT user_id, order_id, order_state FROM user_raffle_order{{suffix}} WHERE activity_id = ?`,
		func(r *sql.Rows) error {
			var user, order, state string
			err := r.Scan(&user, &order, &state)
			orders[user]++
			if state == "used" {
				used[order] = true
			}
			return err
		}, activity))
	spent := map[string][3]int{} // total, month, day
	must(d.eachTable(ctx, `SELECT user_id, total_count - total_count_surplus FROM raffle_activity_account{{suffix}} WHERE activity_id = ?`,
		func(r *sql.Rows) error {
			var user string
			var n int
			err := r.Scan(&user, &n)
			s := spent[user]
			s[0] = n
			spent[user] = s
			return err
		}, activity))
	for i, table := range []string{"raffle_activity_account_month", "raffle_activity_account_day"} {
		col := []string{"month", "day"}[i]
		must(d.eachTable(ctx, `SELECT user_id, SUM(`+col+`_count - `+col+`_count_surplus) FROM `+table+`{{suffix}} WHERE activity_id = ? GROUP BY user_id`,
			func(r *sql.Rows) error {
				var user string
				var n int
				err := r.Scan(&user, &n)
				s := spent[user]
				s[i+1] = n
				spent[user] = s
				return err
			}, activity))
	}
	for user, s := range spent {
		if s[0] != orders[user] || s[1] != orders[user] || s[2] != orders[user] {
			fail("user %s: quota spent total/month/day %d/%d/%d, raffle orders %d", user, s[0], s[1], s[2], orders[user])
		}
	}
	for user, n := range orders {
		if _, ok := spent[user]; !ok {
			fail("user %s: %d raffle orders without a quota account", user, n)
		}
	}
	for order := range used {
		if _, ok := recordOf[order]; !ok {
			fail("raffle order %s used without an award record", order)
		}
	}
	for order, rec := range recordOf {
		if !used[order] {
			fail("award record %s (user %s) without a used raffle order", order, rec.user)
		}
	}

	// Credits: every account equals the sum of its ledger; the ledger holds one
	// award entry per credit award record completed, and nothing else.
	type ledger struct{ forward, reverse, total, available int64 }
	accounts := map[string]ledger{}
	must(d.eachTable(ctx, `SELECT user_id, total_amount, available_amount FROM user_credit_account{{suffix}}`,
		func(r *sql.Rows) error {
			var user string
			var l ledger
			err := r.Scan(&user, &l.total, &l.available)
			accounts[user] = l
			return err
		}))
	credited := map[string]int{} // out_business_no → ledger entries
	must(d.eachTable(ctx, `SELECT user_id, trade_type, trade_amount, out_business_no FROM user_credit_order{{suffix}}`,
		func(r *sql.Rows) error {
			var user, typ, obn string
			var amount int64
			if err := r.Scan(&user, &typ, &amount, &obn); err != nil {
				return err
			}
			l := accounts[user]
			if typ == "forward" {
				l.forward += amount
			} else {
				l.reverse += amount
			}
			accounts[user] = l
			credited[obn]++
			return nil
		}))
	for user, l := range accounts {
		if l.total != l.forward || l.available != l.forward-l.reverse {
			fail("user %s: credit account total %d available %d, ledger forward %d reverse %d", user, l.total, l.available, l.forward, l.reverse)
		}
	}
	for _, rec := range records {
		if c.credit[rec.award] && rec.state == "completed" && credited[rec.order] != 1 {
			fail("credit award record %s (user %s) completed with %d ledger entries", rec.order, rec.user, credited[rec.order])
		}
	}
	for obn := range credited {
		if rec, ok := recordOf[obn]; !ok || !c.credit[rec.award] {
			fail("ledger entry %s matches no credit award record", obn)
		}
	}

	// Webhooks: no award delivered twice, every webhook award completed was
	// delivered, every POST is of a webhook award record.
	posts, delivered, bad := hooks.snapshot()
	if bad > 0 {
		fail("webhook receiver: %d POSTs without a valid signature or delivery id", bad)
	}
	var dup []string
	for order, n := range posts {
		f.reposts += n - 1
		if rec, ok := recordOf[order]; !ok || !c.webhook[rec.award] {
			fail("webhook POST for %s matches no webhook award record", order)
		}
	}
	for order, n := range delivered {
		if n > 1 {
			f.duplicates += n - 1
			dup = append(dup, fmt.Sprintf("%s×%d", order, n))
		}
	}
	if f.duplicates > 0 {
		sort.Strings(dup)
		fail("webhook receiver answered 200 for the same award more than once: %d duplicate deliveries (e.g. %s)", f.duplicates, strings.Join(dup[:min(len(dup), 5)], " "))
	}
	for _, rec := range records {
		if c.webhook[rec.award] && rec.state == "completed" && delivered[rec.order] == 0 {
			fail("webhook award record %s (user %s) completed but never delivered", rec.order, rec.user)
		}
	}
	return f
}

// report logs the figures of one fault and adds them to the suite's table.
func report(t *testing.T, f figures) {
	t.Helper()
	t.Logf("%s", tableLine(f))
	the.mu.Lock()
	the.figures = append(the.figures, f)
	the.mu.Unlock()
}

const tableHeader = "| fault | mode | draws answered | awards issued | records finished (failed) | duplicates | oversold | acked undone at stop | webhook reposts | violations |"

func tableLine(f figures) string {
	return fmt.Sprintf("| %s | %s | %d | %d | %d (%d) | %d | %d | %d | %d | %d |", f.fault, f.mode, f.answered, f.issued, f.finished, f.failed, f.duplicates, f.oversold, f.undone, f.reposts, f.violations)
}

// printTable writes the figures of every fault run, then the fleet test's.
func (s *suite) printTable(w io.Writer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.figures) > 0 {
		fmt.Fprintln(w, "fault-injection suite:")
		fmt.Fprintln(w, tableHeader)
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
		for _, f := range s.figures {
			fmt.Fprintln(w, tableLine(f))
		}
	}
	printFleet(w, s.fleet)
}
