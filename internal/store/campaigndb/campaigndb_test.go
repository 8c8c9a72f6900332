package campaigndb_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/campaign"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/strategy"
)

func clock() time.Time { return time.UnixMilli(1_700_000_000_000) }

// fullCampaign covers every kind of row, with values that exercise each column.
func fullCampaign(t *testing.T) *campaign.Campaign {
	t.Helper()
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return &campaign.Campaign{
		Version:  3,
		Timezone: sh,
		Awards: []award.Award{
			{ID: 100, Key: award.KeyCreditBlacklist, Config: "1", Desc: "黑名单积分"},
			{ID: 101, Key: award.KeyCreditRandom, Config: "1,100", Desc: "用户积分"},
			{ID: 102, Key: "openai_use_count", Config: "5", Desc: ""},
		},
		Trees: []strategy.Tree{
			{ID: "tree_lock_1", Name: "规则树", Desc: "lock then stock", Root: strategy.NodeLock,
				Nodes: []strategy.Node{
					{Key: strategy.NodeLock, Value: "1"},
					{Key: strategy.NodeStock},
					{Key: strategy.NodeLuckAward, Value: "101:1,100", Desc: "兜底"},
				},
				Lines: []strategy.Line{
					{From: strategy.NodeLock, To: strategy.NodeStock, When: strategy.Allow},
					{From: strategy.NodeLock, To: strategy.NodeLuckAward, When: strategy.TakeOver},
					{From: strategy.NodeStock, To: strategy.NodeLuckAward, When: strategy.Allow},
				}},
			{ID: "tree_luck_award", Name: "兜底", Root: strategy.NodeStock,
				Nodes: []strategy.Node{{Key: strategy.NodeStock}, {Key: strategy.NodeLuckAward, Value: "101:1,100"}},
				Lines: []strategy.Line{{From: strategy.NodeStock, To: strategy.NodeLuckAward, When: strategy.Allow}}},
		},
		Strategies: []strategy.Strategy{
			{ID: 100001, Desc: "抽奖策略", WeightMatch: strategy.WeightAtLeast,
				Rules: []strategy.Rule{
					{Model: strategy.RuleWeight, Value: "60:101,102 200:102", Desc: "weight first"},
					{Model: strategy.RuleBlacklist, Value: "100:user001,user002"},
				},
				Awards: []strategy.Award{
					{AwardID: 101, Title: "随机积分", Count: 80000, Surplus: 80000, Rate: 300000, TreeID: "tree_luck_award", Sort: 1, Image: "/img/credits.png"},
					{AwardID: 102, Title: "5次使用", Subtitle: "抽奖1次后解锁", Count: 10, Surplus: 10, Rate: 99, TreeID: "tree_lock_1", Sort: 2,
						Image: "data:image/svg+xml;base64," + strings.Repeat("PHN2Zz48L3N2Zz4=", 4000)},
				}},
			{ID: 100002, Desc: "no rules",
				Awards: []strategy.Award{{AwardID: 100, Title: "t", Count: 1, Surplus: 1, Rate: strategy.RateScale, Sort: 1}}},
		},
		Activities: []activity.Activity{
			{ID: 100301, Name: "测试活动", Desc: "d", StrategyID: 100001, State: activity.StateOpen,
				Begin: time.Date(2024, 3, 9, 10, 15, 10, 0, sh), End: time.Date(2036, 3, 9, 10, 15, 10, 0, sh)},
			{ID: 100401, Name: "closed", StrategyID: 100002, State: activity.StateClose,
				Begin: time.Date(2024, 1, 1, 0, 0, 0, 0, sh), End: time.Date(2024, 1, 2, 0, 0, 0, 0, sh)},
		},
		Counts: []activity.Count{{ID: 11101, Total: 150, Day: 150, Month: 150}, {ID: 11102, Total: 50, Day: 5, Month: 20}},
		SKUs: []activity.SKU{
			{SKU: 9011, ActivityID: 100301, CountID: 11101, Stock: 100000, Surplus: 100000, Price: money.FromCents(20000)},
			{SKU: 9012, ActivityID: 100301, CountID: 11102, Stock: 7, Surplus: 7, Price: money.FromCents(199)},
		},
		Rebates: []rebate.Rule{
			{ID: 1, Behavior: rebate.BehaviorSign, Type: rebate.TypeSKU, Config: "9011", Desc: "签到返利-sku", State: rebate.StateOpen},
			{ID: 2, Behavior: rebate.BehaviorSign, Type: rebate.TypeIntegral, Config: "10", Desc: "签到返利-积分", State: rebate.StateClose},
		},
		Stages: []activity.Stage{
			{ID: 1, Channel: "c1", Source: "s1", ActivityID: 100301, State: activity.StageActive},
			{ID: 2, Channel: "c1", Source: "s2", ActivityID: 100401, State: activity.StageInactive},
		},
		Grants: []activity.Grant{
			{ID: "g-1", UserID: "xiaofuge", ActivityID: 100301, Total: 10, Day: 2, Month: 5},
			{ID: "g-2", UserID: "user002", ActivityID: 100401, Total: 1, Day: 1, Month: 1},
		},
	}
}

// canon makes a loaded campaign comparable with reflect.DeepEqual: Locations
// become names and times UTC.
type canonCampaign struct {
	TZ string
	C  campaign.Campaign
}

func canon(c *campaign.Campaign) canonCampaign {
	out := canonCampaign{C: *c}
	if c.Timezone != nil {
		out.TZ = c.Timezone.String()
	}
	out.C.Timezone = nil
	out.C.Activities = nil
	for _, a := range c.Activities {
		a.Begin, a.End = a.Begin.UTC(), a.End.UTC()
		out.C.Activities = append(out.C.Activities, a)
	}
	return out
}

func mustLoad(t *testing.T, s *campaigndb.Store) *campaign.Campaign {
	t.Helper()
	c, err := s.Load(context.Background())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func mustApply(t *testing.T, s *campaigndb.Store, c *campaign.Campaign) campaign.Summary {
	t.Helper()
	sum, err := s.Apply(context.Background(), c)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return sum
}

func sameCampaign(t *testing.T, got, want *campaign.Campaign) {
	t.Helper()
	g, w := canon(got), canon(want)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("loaded campaign differs\n got: %+v\nwant: %+v", g, w)
	}
}

var configTables = []string{"award", "strategy", "strategy_award", "strategy_rule", "rule_tree", "rule_tree_node",
	"rule_tree_node_line", "raffle_activity", "raffle_activity_count", "raffle_activity_sku", "raffle_activity_stage",
	"daily_behavior_rebate", "quota_grant", "campaign_meta"}

func rowCounts(t *testing.T, db *sqldb.DB) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, tb := range configTables {
		var n int
		if err := db.Config().Read().QueryRow("SELECT COUNT(*) FROM " + tb).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[tb] = n
	}
	return out
}

func exec(t *testing.T, db *sqldb.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Config().Write().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestEmptyDatabase(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := campaigndb.New(db, clock)
		rev, err := s.Revision(context.Background())
		if err != nil || rev != 0 {
			t.Fatalf("Revision = %d, %v; want 0", rev, err)
		}
		if c := mustLoad(t, s); !reflect.DeepEqual(*c, campaign.Campaign{}) {
			t.Fatalf("Load of an empty database = %+v", c)
		}
	})
}

func TestApplyLoadRoundTrip(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := campaigndb.New(db, clock)
		c := fullCampaign(t)
		sum := mustApply(t, s, c)
		want := campaign.Summary{Awards: 3, Trees: 2, Strategies: 2, Activities: 2, Counts: 2, SKUs: 2, Rebates: 2, Stages: 2, Grants: 2, Revision: 1}
		if sum != want {
			t.Fatalf("summary %+v, want %+v", sum, want)
		}
		got := mustLoad(t, s)
		sameCampaign(t, got, c)
		if got.Timezone.String() != "Asia/Shanghai" || got.Activities[0].Begin.Location().String() != "Asia/Shanghai" {
			t.Fatalf("time zone not kept: %v, %v", got.Timezone, got.Activities[0].Begin.Location())
		}
		if rev, err := s.Revision(context.Background()); err != nil || rev != 1 {
			t.Fatalf("Revision = %d, %v; want 1", rev, err)
		}

		// No time zone and an unsorted input load back sorted, server time zone.
		c2 := &campaign.Campaign{Version: 4, Awards: []award.Award{{ID: 9, Key: "k"}, {ID: 5, Key: "k"}}}
		mustApply(t, s, c2)
		got = mustLoad(t, s)
		if got.Timezone != nil || got.Version != 4 || got.Awards[0].ID != 5 || got.Awards[1].ID != 9 || got.Awards[2].ID != 100 {
			t.Fatalf("after second apply: tz %v version %d awards %+v", got.Timezone, got.Version, got.Awards)
		}
	})
}

func TestApplyTwiceEqualsOnce(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := campaigndb.New(db, clock)
		mustApply(t, s, fullCampaign(t))
		once, counts := mustLoad(t, s), rowCounts(t, db)
		sum := mustApply(t, s, fullCampaign(t))
		if sum.Revision != 2 {
			t.Fatalf("revision after second apply = %d, want 2", sum.Revision)
		}
		sameCampaign(t, mustLoad(t, s), once)
		if again := rowCounts(t, db); !reflect.DeepEqual(again, counts) {
			t.Fatalf("row counts changed by a repeated apply:\n once: %v\ntwice: %v", counts, again)
		}
	})
}

func TestCountChangeAdjustsSurplus(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := campaigndb.New(db, clock)
		c := fullCampaign(t)
		mustApply(t, s, c)
		// 30 units of award 102 and 3 of SKU 9012 were taken and synced.
		exec(t, db, `UPDATE strategy_award SET award_count_surplus = award_count_surplus - 3 WHERE strategy_id = 100001 AND award_id = 102`)
		exec(t, db, `UPDATE raffle_activity_sku SET stock_count_surplus = stock_count_surplus - 3 WHERE sku = 9012`)

		check := func(count, wantAward, wantSKU int64) {
			t.Helper()
			c.Strategies[0].Awards[1].Count = count
			c.SKUs[1].Stock = count
			mustApply(t, s, c)
			got := mustLoad(t, s)
			a, k := got.Strategies[0].Awards[1], got.SKUs[1]
			if a.Count != count || a.Surplus != wantAward || k.Stock != count || k.Surplus != wantSKU {
				t.Fatalf("count %d: award count/surplus %d/%d, sku stock/surplus %d/%d; want surplus %d and %d",
					count, a.Count, a.Surplus, k.Stock, k.Surplus, wantAward, wantSKU)
			}
			if other := got.Strategies[0].Awards[0]; other.Surplus != other.Count {
				t.Fatalf("untouched award's surplus moved: %+v", other)
			}
		}
		check(10, 7, 7-3+3) // award: 10-3; SKU count was 7: 7-3 then +3
		check(25, 22, 22)   // +15 each
		check(20, 17, 17)   // -5 each
		check(2, 0, 0)      // lowered below what was taken: never negative
		check(5, 3, 3)      // +3 from 0
	})
}

func TestRulesNodesAndLinesAreReplaced(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := campaigndb.New(db, clock)
		c := fullCampaign(t)
		mustApply(t, s, c)
		c.Strategies[0].Rules = []strategy.Rule{{Model: strategy.RuleBlacklist, Value: "100:user009"}}
		c.Trees[0].Nodes = c.Trees[0].Nodes[1:]
		c.Trees[0].Root = strategy.NodeStock
		c.Trees[0].Lines = c.Trees[0].Lines[2:]
		c.Strategies[1].Awards[0].Title = "renamed"
		mustApply(t, s, c)
		sameCampaign(t, mustLoad(t, s), c)
	})
}

func TestAbsentRowsAndAppliedGrantsStay(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := campaigndb.New(db, clock)
		full := fullCampaign(t)
		mustApply(t, s, full)
		exec(t, db, `UPDATE quota_grant SET state = ? WHERE grant_id = 'g-1'`, campaigndb.GrantApplied)

		// A partial campaign: one award changed, grant g-1 with other counts, one new grant.
		part := &campaign.Campaign{
			Version:  3,
			Timezone: full.Timezone,
			Awards:   []award.Award{{ID: 102, Key: "openai_use_count", Config: "6"}},
			Grants: []activity.Grant{
				{ID: "g-1", UserID: "xiaofuge", ActivityID: 100301, Total: 99, Day: 99, Month: 99},
				{ID: "g-3", UserID: "u3", ActivityID: 100301, Total: 1, Day: 1, Month: 1},
			},
		}
		mustApply(t, s, part)
		want := fullCampaign(t)
		want.Awards[2].Config = "6"
		want.Grants = append(want.Grants, part.Grants[1])
		sameCampaign(t, mustLoad(t, s), want)
		var state string
		if err := db.Config().Read().QueryRow(`SELECT state FROM quota_grant WHERE grant_id = 'g-1'`).Scan(&state); err != nil || state != campaigndb.GrantApplied {
			t.Fatalf("applied grant state = %q, %v", state, err)
		}
		if err := db.Config().Read().QueryRow(`SELECT state FROM quota_grant WHERE grant_id = 'g-3'`).Scan(&state); err != nil || state != campaigndb.GrantPending {
			t.Fatalf("new grant state = %q, %v", state, err)
		}
	})
}

func TestFailedApplyChangesNothing(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := campaigndb.New(db, clock)
		mustApply(t, s, fullCampaign(t))
		before, counts := mustLoad(t, s), rowCounts(t, db)

		for name, breakIt := range map[string]func(c *campaign.Campaign){
			// The last rows written conflict with a stored row of another id.
			"stage channel/source of another stage": func(c *campaign.Campaign) {
				c.Stages = append(c.Stages, activity.Stage{ID: 3, Channel: "c1", Source: "s1", ActivityID: 100301, State: activity.StageActive})
			},
			"rebate of another id": func(c *campaign.Campaign) {
				c.Rebates = append(c.Rebates, rebate.Rule{ID: 7, Behavior: rebate.BehaviorSign, Type: rebate.TypeSKU, Config: "9011", State: rebate.StateOpen})
			},
			// Two rules of one model violate strategy_rule's unique key midway.
			"repeated strategy rule": func(c *campaign.Campaign) {
				c.Strategies[1].Rules = []strategy.Rule{{Model: strategy.RuleWeight, Value: "1:100"}, {Model: strategy.RuleWeight, Value: "2:100"}}
			},
		} {
			t.Run(name, func(t *testing.T) {
				c := fullCampaign(t)
				c.Version = 9
				c.Awards[0].Desc = "changed"
				c.Awards = append(c.Awards, award.Award{ID: 999, Key: "new"})
				c.Strategies[0].Awards[0].Count = 1
				c.Trees[0].Lines = nil
				c.Grants = append(c.Grants, activity.Grant{ID: "g-new", UserID: "u", ActivityID: 1, Total: 1})
				breakIt(c)
				_, err := s.Apply(context.Background(), c)
				if !errors.Is(err, sqldb.ErrDuplicate) {
					t.Fatalf("Apply = %v, want an error wrapping sqldb.ErrDuplicate", err)
				}
				sameCampaign(t, mustLoad(t, s), before)
				if after := rowCounts(t, db); !reflect.DeepEqual(after, counts) {
					t.Fatalf("row counts changed by a failed apply:\nbefore: %v\n after: %v", counts, after)
				}
				if rev, _ := s.Revision(context.Background()); rev != 1 {
					t.Fatalf("revision = %d after a failed apply, want 1", rev)
				}
			})
		}
	})
}

func TestConcurrentApplies(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s := campaigndb.New(db, clock)
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Go(func() {
				c := fullCampaign(t)
				c.Awards[0].Desc = fmt.Sprint("writer ", i)
				_, errs[i] = s.Apply(context.Background(), c)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("apply %d: %v", i, err)
			}
		}
		if rev, err := s.Revision(context.Background()); err != nil || rev != n {
			t.Fatalf("revision = %d, %v; want %d (one bump per apply)", rev, err, n)
		}
	})
}
