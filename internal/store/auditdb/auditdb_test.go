package auditdb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/store/auditdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

func TestAuditLog(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := auditdb.New(db)
		if es, err := s.List(ctx, 10, 0); err != nil || len(es) != 0 {
			t.Fatalf("empty log: %v %v", es, err)
		}
		base := time.UnixMilli(1_700_000_000_000)
		for i, e := range []auditdb.Entry{
			{Actor: "alice", Action: "switch.set", Target: "degradeSwitch", Summary: "degradeSwitch = open"},
			{Actor: "bob", Action: "quota.grant", Target: "u1", Summary: "grant g1"},
			{Actor: "bob", Action: "switch.set", Target: "degradeSwitch", Summary: "degradeSwitch = close"},
			{Actor: "alice", Action: "campaign.apply", Summary: strings.Repeat("é", 5000)},
		} {
			e.Time = base.Add(time.Duration(i) * time.Second)
			if err := s.Record(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		es, err := s.List(ctx, 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 3 || es[0].Action != "campaign.apply" || es[1].Summary != "degradeSwitch = close" || es[2].Actor != "bob" {
			t.Fatalf("newest first: %+v", es)
		}
		if !es[1].Time.Equal(base.Add(2 * time.Second)) {
			t.Fatalf("time %v", es[1].Time)
		}
		if n := len(es[0].Summary); n > 4096 || n < 4000 || !strings.HasSuffix(es[0].Summary, "é") {
			t.Fatalf("long summary kept %d bytes, want it cut at a character boundary ≤ 4096", n)
		}
		older, err := s.List(ctx, 10, es[2].ID)
		if err != nil || len(older) != 1 || older[0].Summary != "degradeSwitch = open" {
			t.Fatalf("page before %d: %+v %v", es[2].ID, older, err)
		}
		last, ok, err := s.Latest(ctx, "switch.set", "degradeSwitch")
		if err != nil || !ok || last.Actor != "bob" || last.Summary != "degradeSwitch = close" {
			t.Fatalf("latest: %+v %v %v", last, ok, err)
		}
		if _, ok, err := s.Latest(ctx, "switch.set", "rateLimiterSwitch"); err != nil || ok {
			t.Fatalf("latest of a switch never set: %v %v", ok, err)
		}
	})
}
