package legacy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/legacy"
	"github.com/bigmarket/bigmarket/internal/legacy/legacytest"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/store/activitydb"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/rebatedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// legacyFixture is the original platform's databases built from the fixtures.
type legacyFixture struct{ legacytest.Fixture }

func loadFixture(t *testing.T) legacyFixture {
	t.Helper()
	return legacyFixture{legacytest.LoadFixture(t)}
}

func (f legacyFixture) sources() []legacy.Source {
	var out []legacy.Source
	for i, u := range f.Users {
		out = append(out, legacy.Source{Name: fmt.Sprintf("big_market_%02d", i+1), DB: u.DB})
	}
	return out
}

// applyConfig imports the legacy config into dst and returns the stored
// campaign.
func applyConfig(t *testing.T, f legacyFixture, dst *sqldb.DB) *campaign.Campaign {
	t.Helper()
	ctx := context.Background()
	res := readConfig(t, f.Config, legacy.ConfigOptions{})
	if len(res.Problems) > 0 {
		t.Fatalf("config problems: %v", res.Problems)
	}
	store := campaigndb.New(dst, time.Now)
	if _, ps, err := campaign.Apply(ctx, store, res.File); err != nil || len(ps) > 0 {
		t.Fatalf("apply imported campaign: %v %v", ps, err)
	}
	c, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func importUsers(t *testing.T, src []legacy.Source, dst *sqldb.DB, c *campaign.Campaign, dry bool) *legacy.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := legacy.ImportUsers(ctx, src, dst, c, legacy.UsersOptions{DryRun: dry, BatchUsers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func tableCount(rep *legacy.Report, table string) legacy.TableCount {
	if c := rep.Tables[table]; c != nil {
		return *c
	}
	return legacy.TableCount{}
}

// TestUsersImport copies the fixture's users into bigmarket (embedded SQLite and
// sharded MariaDB): a dry run changes nothing; a run interrupted after the first
// legacy database continues; credits and ledgers match to the cent; accounts,
// orders, records and rebate orders arrive; a record not yet delivered gets its
// send_award task; a user with an activity the campaign lacks is reported and
// left out whole; a second run changes nothing.
func TestUsersImport(t *testing.T) {
	f := loadFixture(t)
	loc := shanghai(t)
	sqldbtest.ForEachEngine(t, func(t *testing.T, dst *sqldb.DB) {
		ctx := context.Background()
		c := applyConfig(t, f, dst)
		credits := creditdb.New(dst)

		dry := importUsers(t, f.sources(), dst, c, true)
		if !dry.DryRun || dry.Users != 3 || dry.UsersSkipped != 1 || tableCount(dry, "user_credit_order").Inserted != 7 ||
			dry.Tasks["send_award"] != 2 || dry.Tasks["send_rebate"] != 1 {
			t.Fatalf("dry run report %+v %v", dry, dry.Tables)
		}
		if b, _ := credits.Balance(ctx, "lg_alice"); b.Cents() != 0 {
			t.Fatalf("dry run changed alice's balance to %s", b)
		}

		// A run that stopped after the first legacy database …
		first := importUsers(t, f.sources()[:1], dst, c, false)
		if first.Users != 2 || first.UsersSkipped != 1 {
			t.Fatalf("first database: %+v", first)
		}
		// … continues: what it wrote is present, the rest is inserted.
		rep := importUsers(t, f.sources(), dst, c, false)
		if rep.Users != 3 || rep.UsersSkipped != 1 {
			t.Fatalf("report %+v", rep)
		}
		if got := tableCount(rep, "user_credit_order"); got != (legacy.TableCount{Read: 7, Inserted: 3, Present: 4}) {
			t.Errorf("user_credit_order %+v, want read 7, inserted 3 (carol), present 4 (alice)", got)
		}
		if got := tableCount(rep, "raffle_activity_account"); got != (legacy.TableCount{Read: 3, Inserted: 1, Present: 2}) {
			t.Errorf("raffle_activity_account %+v", got)
		}
		if rep.Tasks["send_award"] != 1 || rep.Tasks["send_rebate"] != 1 {
			t.Errorf("tasks %v in the resumed run, want carol's send_award and send_rebate", rep.Tasks)
		}
		if len(rep.Skipped) != 1 || rep.Skipped[0].User != "lg_dave" || !strings.Contains(rep.Skipped[0].Reason, "activity 999999 is not in bigmarket's campaign") ||
			!strings.HasPrefix(rep.Skipped[0].Source, "big_market_01.raffle_activity_account") {
			t.Errorf("skipped %v, want lg_dave's account on activity 999999", rep.Skipped)
		}

		// Credits and ledgers, to the cent.
		for user, want := range map[string]string{"lg_alice": "1000.01", "lg_carol": "20.00", "lg_dave": "0.00"} {
			if b, err := credits.Balance(ctx, user); err != nil || b.String() != want {
				t.Errorf("%s balance %s (%v), want %s", user, b, err, want)
			}
		}
		ledger, err := credits.Ledger(ctx, "lg_alice", 10)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, o := range ledger {
			lines = append(lines, fmt.Sprintf("%s %s %s %s %s", o.OrderID, o.TradeType, o.Amount, o.OutBusinessNo, o.Time.In(loc).Format(time.DateTime)))
		}
		slices.Sort(lines)
		wantLedger := []string{
			"100000000001 forward 10.00 lg_alice_integral_20240601 2024-06-01 09:00:00",
			"100000000002 forward 234.56 319208617373 2024-06-09 16:40:02",
			"100000000003 reverse 234.55 alice_sku_20240607 2024-06-07 12:00:00",
			"100000000004 forward 990.00 alice_topup_20240601 2024-06-01 10:00:00",
		}
		if !slices.Equal(lines, wantLedger) {
			t.Errorf("alice's ledger\n got %q\nwant %q", lines, wantLedger)
		}
		r := dst.Route("lg_alice")
		var total int64
		if err := dst.Shard(r.Shard).Read().QueryRow(r.SQL("SELECT total_amount FROM user_credit_account{{suffix}} WHERE user_id = ?"), "lg_alice").Scan(&total); err != nil || total != 123456 {
			t.Errorf("alice's total_amount %d (%v), want 123456 hundredths", total, err)
		}
		// Rows live only in the table bigmarket routes the user to.
		for _, rt := range dst.Routes() {
			var n int
			if err := dst.Shard(rt.Shard).Read().QueryRow(rt.SQL("SELECT COUNT(*) FROM user_credit_order{{suffix}} WHERE user_id = ?"), "lg_alice").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{true: 4, false: 0}[rt == r]; n != want {
				t.Errorf("shard %d table %q holds %d of alice's credit orders, want %d", rt.Shard, rt.Suffix, n, want)
			}
		}

		// Accounts and orders.
		acts := activitydb.New(dst)
		acc, err := acts.Account(ctx, "lg_alice", 100301, "2024-06-09", "2024-06")
		if err != nil || acc != (activity.Account{TotalCount: 10, TotalSurplus: 3, DayCount: 10, DaySurplus: 3, MonthCount: 10, MonthSurplus: 3}) {
			t.Errorf("alice's account %+v (%v)", acc, err)
		}
		if acc, err := acts.Account(ctx, "lg_dave", 999999, "2024-06-10", "2024-06"); err == nil && acc.TotalCount != 0 {
			t.Errorf("lg_dave was half imported: %+v", acc)
		}
		raffles, err := acts.RaffleOrdersByUser(ctx, "lg_alice", 10)
		if err != nil || len(raffles) != 3 || !slices.ContainsFunc(raffles, func(o activity.RaffleOrder) bool {
			return o.OrderID == "319208617375" && o.State == activity.RaffleOrderCreate
		}) {
			t.Errorf("alice's raffle orders %+v (%v)", raffles, err)
		}
		quotas, err := acts.QuotaOrdersByUser(ctx, "lg_alice", 10)
		if err != nil || len(quotas) != 2 || !slices.ContainsFunc(quotas, func(o activity.QuotaOrder) bool {
			return o.OutBusinessNo == "alice_pay_20240609" && o.State == activity.QuotaOrderWaitPay && o.PayAmount.String() == "5.00"
		}) {
			t.Errorf("alice's quota orders %+v (%v)", quotas, err)
		}
		// Rebate orders: delivered in the original (a credit or quota order
		// carries the biz id) arrive completed, the other waits for its task.
		rebates, err := rebatedb.New(dst).ListByUser(ctx, "lg_carol", 10)
		if err != nil || len(rebates) != 3 {
			t.Fatalf("carol's rebate orders %+v (%v)", rebates, err)
		}
		for _, o := range rebates {
			want := rebate.OrderCompleted
			if o.BizID == "lg_carol_integral_20241008" {
				want = rebate.OrderCreate
			}
			if o.State != want {
				t.Errorf("carol's rebate order %s: state %s, want %s", o.BizID, o.State, want)
			}
		}

		// Award records: the undelivered one waits in create with its task.
		recs, err := awarddb.New(dst).ListByUser(ctx, "lg_alice", 10)
		if err != nil || len(recs) != 2 {
			t.Fatalf("alice's records %+v (%v)", recs, err)
		}
		for _, rec := range recs {
			want := map[string]award.RecordState{"319208617373": award.RecordCompleted, "319208617374": award.RecordCreate}[rec.OrderID]
			if rec.State != want || rec.AwardConfig != "1,100" {
				t.Errorf("record %s: state %s config %q, want %s and the award's config", rec.OrderID, rec.State, rec.AwardConfig, want)
			}
		}
		tasks, err := outboxdb.New(dst).List(ctx, outbox.StateCreate, 100)
		if err != nil {
			t.Fatal(err)
		}
		var pending []string
		for _, tk := range tasks {
			if tk.Topic == outbox.TopicSendRebate {
				var body struct{ Data rebate.SendRebate }
				if err := json.Unmarshal(tk.Body, &body); err != nil {
					t.Fatal(err)
				}
				if d := body.Data; d.UserID != "lg_carol" || d.BizID != "lg_carol_integral_20241008" || d.Type != rebate.TypeIntegral || d.Config != "10" || d.OrderID != "400000000003" {
					t.Errorf("send_rebate task %+v", d)
				}
			}
			if tk.Topic == outbox.TopicSendAward {
				var body struct{ Data award.SendAward }
				if err := json.Unmarshal(tk.Body, &body); err != nil {
					t.Fatal(err)
				}
				pending = append(pending, fmt.Sprintf("%s %s %d %s %s", tk.UserID, body.Data.OrderID, body.Data.AwardID, body.Data.AwardKey, body.Data.AwardConfig))
			}
		}
		slices.Sort(pending)
		wantPending := []string{"lg_alice 319208617374 101 user_credit_random 1,100", "lg_carol 661234567890 110 openai_use_count 1"}
		if !slices.Equal(pending, wantPending) {
			t.Errorf("send_award tasks\n got %q\nwant %q", pending, wantPending)
		}

		// A second run changes nothing.
		again := importUsers(t, f.sources(), dst, c, false)
		for name, tc := range again.Tables {
			if tc.Inserted != 0 || tc.Present != tc.Read {
				t.Errorf("second run: %s %+v, want everything present", name, *tc)
			}
		}
		if len(again.Tasks) != 0 || again.Users != 3 {
			t.Errorf("second run %+v", again)
		}
		if b, _ := credits.Balance(ctx, "lg_alice"); b.String() != "1000.01" {
			t.Errorf("second run changed alice's balance to %s", b)
		}
		tasks2, _ := outboxdb.New(dst).List(ctx, "", 1000)
		if len(tasks2) != 3 {
			t.Errorf("%d tasks after the second run, want the 3 of the first", len(tasks2))
		}
	})
}

// TestUsersImportConflictLeavesUserOut: a legacy row whose unique key another
// user's row holds in bigmarket (here a credit order's out_business_no) leaves
// the whole user out, reported, with none of its rows written.
func TestUsersImportConflictLeavesUserOut(t *testing.T) {
	f := loadFixture(t)
	f.Users[1].Exec(t, "UPDATE user_credit_order_002 SET out_business_no = 'alice_topup_20240601' WHERE order_id = '300000000001'")
	dst := sqldbtest.OpenSQLite(t)
	c := applyConfig(t, f, dst)
	rep := importUsers(t, f.sources(), dst, c, false)
	if rep.Users != 2 || rep.UsersSkipped != 2 {
		t.Fatalf("report %+v, want alice and bob in, carol and dave out", rep)
	}
	if !slices.ContainsFunc(rep.Skipped, func(s legacy.Skip) bool {
		return s.User == "lg_carol" && s.Source == "big_market_02.user_credit_order_002" && strings.Contains(s.Reason, "unique key")
	}) {
		t.Errorf("skipped %v: want carol's conflicting credit order", rep.Skipped)
	}
	ctx := context.Background()
	if acc, err := activitydb.New(dst).Account(ctx, "lg_carol", 100401, "2024-10-07", "2024-10"); err == nil && acc.TotalCount != 0 {
		t.Errorf("carol half imported: account %+v", acc)
	}
	if b, _ := creditdb.New(dst).Balance(ctx, "lg_carol"); b.Cents() != 0 {
		t.Errorf("carol half imported: balance %s", b)
	}
}

// TestUsersImportOlderSchema: a legacy table without the columns later versions
// added (raffle_activity_order before SKUs: no sku, no pay_amount) is read with
// their defaults.
func TestUsersImportOlderSchema(t *testing.T) {
	f := loadFixture(t)
	f.Users[1].Exec(t, "ALTER TABLE raffle_activity_order_002 DROP COLUMN sku, DROP COLUMN pay_amount")
	dst := sqldbtest.OpenSQLite(t)
	c := applyConfig(t, f, dst)
	if rep := importUsers(t, f.sources(), dst, c, false); rep.Users != 3 {
		t.Fatalf("report %+v", rep)
	}
	quotas, err := activitydb.New(dst).QuotaOrdersByUser(context.Background(), "lg_carol", 10)
	if err != nil || len(quotas) != 2 {
		t.Fatalf("carol's quota orders %+v (%v)", quotas, err)
	}
	for _, q := range quotas {
		if q.SKU != 0 || q.PayAmount.Cents() != 0 || q.State != activity.QuotaOrderCompleted {
			t.Errorf("quota order %+v: want SKU 0, nothing paid, completed", q)
		}
	}
}
