package activitydb_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/activity"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// TestGrantIDReused: a grant is idempotent by id. The same id with the same
// body changes nothing and succeeds; the same id for another user, activity or
// counts is refused (activity.ErrGrantConflict) and grants nothing, even when
// the two users' rows live in different shard tables.
func TestGrantIDReused(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		day, month := activity.DayKey(t0, time.UTC), activity.MonthKey(t0, time.UTC)
		apply := func(g activity.Grant) error { return f.s.ApplyGrant(ctx, g, testAct, t0, day, month) }
		userA := "reuse-a"
		// userB is routed to another table than userA when there are several.
		userB := "reuse-b"
		for i := 0; len(db.Routes()) > 1 && db.Route(userB) == db.Route(userA); i++ {
			userB = fmt.Sprintf("reuse-b%d", i)
		}
		g := activity.Grant{ID: "reused", UserID: userA, ActivityID: testAct.ID, Total: 5, Day: 5, Month: 5}
		if err := apply(g); err != nil {
			t.Fatal(err)
		}
		if err := apply(g); err != nil {
			t.Fatalf("the same grant again: %v, want nil (idempotent)", err)
		}
		other := g
		other.Total = 50
		if err := apply(other); !errors.Is(err, activity.ErrGrantConflict) {
			t.Fatalf("same id, other counts: %v, want ErrGrantConflict", err)
		}
		other = g
		other.UserID = userB
		if err := apply(other); !errors.Is(err, activity.ErrGrantConflict) {
			t.Fatalf("same id, another user: %v, want ErrGrantConflict", err)
		}
		f.wantAccount(userA, t0, activity.Account{TotalCount: 5, TotalSurplus: 5, DayCount: 5, DaySurplus: 5, MonthCount: 5, MonthSurplus: 5})
		f.wantAccount(userB, t0, activity.Account{})
	})
}
