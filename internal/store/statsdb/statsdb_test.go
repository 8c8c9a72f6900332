package statsdb_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/store/statsdb"
)

// TestStatsAcrossShards writes records of many users (so every shard table
// holds some) inside and outside the window, and checks each figure is the sum
// over all tables of the rows in the window.
func TestStatsAcrossShards(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		day := time.UnixMilli(1_700_000_000_000).Truncate(time.Hour) // a day start
		now := day.Add(10 * time.Hour)
		since := now.Add(-time.Hour)
		yesterday := day.Add(-time.Minute)
		seq := 0
		exec := func(user, q string, args ...any) {
			t.Helper()
			r := db.Route(user)
			if _, err := db.Shard(r.Shard).Write().ExecContext(ctx, r.SQL(q), args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		award := func(user string, at time.Time, awardID int64, state string) {
			seq++
			exec(user, `INSERT INTO user_award_record{{suffix}} (user_id, activity_id, strategy_id, order_id, award_id, award_time, award_state, create_time, update_time)
				VALUES (?, 1, 1, ?, ?, ?, ?, ?, ?)`, user, fmt.Sprint("a", seq), awardID, at.UnixMilli(), state, at.UnixMilli(), at.UnixMilli())
		}
		draw := func(user string, at time.Time) {
			seq++
			exec(user, `INSERT INTO user_raffle_order{{suffix}} (user_id, activity_id, strategy_id, order_id, order_time, order_state, create_time, update_time)
				VALUES (?, 1, 1, ?, ?, 'used', ?, ?)`, user, fmt.Sprint("r", seq), at.UnixMilli(), at.UnixMilli(), at.UnixMilli())
		}
		quota := func(user string, at time.Time, state string) {
			seq++
			exec(user, `INSERT INTO raffle_activity_order{{suffix}} (user_id, sku, activity_id, strategy_id, order_id, order_time, total_count, day_count, month_count, pay_amount, state, out_business_no, create_time, update_time)
				VALUES (?, 9011, 1, 1, ?, ?, 1, 1, 1, 0, ?, ?, ?, ?)`, user, fmt.Sprint("q", seq), at.UnixMilli(), state, fmt.Sprint("qb", seq), at.UnixMilli(), at.UnixMilli())
		}
		rebate := func(user string, at time.Time, behavior string) {
			seq++
			exec(user, `INSERT INTO user_behavior_rebate_order{{suffix}} (user_id, order_id, behavior_type, rebate_type, rebate_config, out_business_no, biz_id, state, create_time, update_time)
				VALUES (?, ?, ?, 'sku', '9011', 'x', ?, 'completed', ?, ?)`, user, fmt.Sprint("b", seq), behavior, fmt.Sprint("bz", seq), at.UnixMilli(), at.UnixMilli())
		}
		credit := func(user string, at time.Time, typ string, cents int64) {
			seq++
			exec(user, `INSERT INTO user_credit_order{{suffix}} (user_id, order_id, trade_name, trade_type, trade_amount, out_business_no, create_time, update_time)
				VALUES (?, ?, 'x', ?, ?, ?, ?, ?)`, user, fmt.Sprint("c", seq), typ, cents, fmt.Sprint("cb", seq), at.UnixMilli(), at.UnixMilli())
		}
		var want statsdb.Stats
		want.AwardsToday = map[int64]int64{}
		want.Outbox = map[string]int64{}
		want.DeliveryFailures = map[string]int64{"failed": 0, "pending_manual": 0}
		perMinute := map[[2]int64]int64{}
		for i := range 24 {
			user := fmt.Sprint("user-", i)
			minute := since.Add(time.Duration(i%3) * time.Minute)
			awardID := int64(101 + i%2)
			state := []string{"completed", "create", "failed", "pending_manual"}[i%4]
			award(user, minute.Add(time.Second), awardID, state) // in the last hour
			award(user, day.Add(time.Hour), 103, "completed")    // today, before the hour
			award(user, yesterday, 104, "failed")                // yesterday
			perMinute[[2]int64{minute.UnixMilli(), awardID}]++
			want.AwardsToday[awardID]++
			want.AwardsToday[103]++
			want.Funnel.Awards += 2
			want.Funnel.Delivered++
			if state == "completed" {
				want.Funnel.Delivered++
			}
			want.DeliveryFailures["failed"]++ // yesterday's
			if state == "failed" || state == "pending_manual" {
				want.DeliveryFailures[state]++
			}
			draw(user, day.Add(time.Minute))
			draw(user, day.Add(2*time.Minute))
			draw(user, yesterday)
			want.Funnel.Draws += 2
			quota(user, day.Add(time.Minute), "completed")
			quota(user, day.Add(time.Minute), "wait_pay")
			quota(user, yesterday, "completed")
			want.Funnel.Quota++
			rebate(user, day.Add(time.Minute), "sign")
			rebate(user, day.Add(time.Minute), "sign") // second rule of the same sign-in
			rebate(user, day.Add(time.Minute), "openai_pay")
			if i%2 == 0 {
				rebate(user, yesterday, "sign")
			}
			want.Funnel.SignIns++
			credit(user, day.Add(time.Minute), "forward", 150)
			credit(user, day.Add(time.Minute), "reverse", 40)
			credit(user, yesterday, "forward", 1000)
			want.CreditsIssued += 150
			want.CreditsSpent += 40
		}
		// The system user's draws count in the draws per minute and the
		// awards, not in the funnel.
		award("system", since.Add(time.Second), 101, "completed")
		perMinute[[2]int64{since.UnixMilli(), 101}]++
		want.AwardsToday[101]++
		draw("system", day.Add(time.Minute))
		for i, state := range []string{"create", "completed", "completed", "fail"} {
			user := fmt.Sprint("task-user-", i)
			r := db.Route(user)
			if _, err := db.Shard(r.Shard).Write().ExecContext(ctx, `INSERT INTO task (user_id, topic, message_id, message, state, create_time, update_time) VALUES (?, 't', ?, '{}', ?, 1, 1)`,
				user, fmt.Sprint("m", i), state); err != nil {
				t.Fatal(err)
			}
			want.Outbox[state]++
		}
		for k, n := range perMinute {
			want.DrawsPerMinute = append(want.DrawsPerMinute, statsdb.MinuteDraws{Minute: time.UnixMilli(k[0]), AwardID: k[1], Count: n})
		}

		got, err := statsdb.New(db).Compute(ctx, statsdb.Window{Since: since, DayStart: day, ExcludeUser: "system"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.DrawsPerMinute) != len(want.DrawsPerMinute) {
			t.Fatalf("draws per minute %+v, want %d rows", got.DrawsPerMinute, len(want.DrawsPerMinute))
		}
		for i, m := range got.DrawsPerMinute {
			if i > 0 && m.Minute.Before(got.DrawsPerMinute[i-1].Minute) {
				t.Fatalf("draws per minute not in time order: %+v", got.DrawsPerMinute)
			}
			if n := perMinute[[2]int64{m.Minute.UnixMilli(), m.AwardID}]; n != m.Count {
				t.Fatalf("minute %v award %d: %d, want %d", m.Minute, m.AwardID, m.Count, n)
			}
		}
		got.DrawsPerMinute, want.DrawsPerMinute = nil, nil
		for _, s := range []string{"failed", "pending_manual"} {
			if _, ok := got.DeliveryFailures[s]; !ok {
				got.DeliveryFailures[s] = 0
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("stats\n got %+v\nwant %+v", got, want)
		}
	})
}
