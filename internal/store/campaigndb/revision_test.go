package campaigndb_test

import (
	"context"
	"testing"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/store/campaigndb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestRevisionHistory: every committed apply leaves one history row with its
// actor and counts; a failed apply and a stage activation leave none.
func TestRevisionHistory(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := campaigndb.New(db, clock)
		if h, err := s.Revisions(ctx, 10); err != nil || len(h) != 0 {
			t.Fatalf("empty history: %v %v", h, err)
		}
		c := fullCampaign(t)
		mustApply(t, s, c)
		if err := s.ActivateStage(ctx, c.Stages[0].ID); err != nil {
			t.Fatal(err)
		}
		mustApply(t, s.As("alice"), fullCampaign(t))
		bad := fullCampaign(t)
		bad.Stages = append(bad.Stages, activity.Stage{ID: 3, Channel: "c1", Source: "s1", ActivityID: 100301, State: activity.StageActive})
		if _, err := s.As("bob").Apply(ctx, bad); err == nil {
			t.Fatal("a conflicting apply succeeded")
		}
		h, err := s.Revisions(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h[0].Actor != "alice" || h[0].Summary.Revision != 3 || h[1].Actor != campaigndb.SystemActor || h[1].Summary.Revision != 1 {
			t.Fatalf("history %+v, want revision 3 by alice then 1 by system", h)
		}
		if h[0].Summary.Strategies != len(c.Strategies) || h[0].Summary.Awards != len(c.Awards) || h[0].Summary.Activities != len(c.Activities) {
			t.Fatalf("summary %+v, want the counts of the file", h[0].Summary)
		}
		if !h[0].Time.Equal(clock()) {
			t.Fatalf("time %v", h[0].Time)
		}
		if one, err := s.Revisions(ctx, 1); err != nil || len(one) != 1 || one[0].Summary.Revision != 3 {
			t.Fatalf("limit 1: %+v %v", one, err)
		}
	})
}
