package app

import (
	"context"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
)

// A record left in create (its message parked, its task completed) is found
// and delivered by the running instance: nothing is left behind for good.
func TestStuckRecordIsRedelivered(t *testing.T) {
	a := newTestApp(t, nil)
	ctx := context.Background()
	records := awarddb.New(a.db)
	err := records.Insert(ctx, award.Record{UserID: "parked-user", ActivityID: 100301, StrategyID: 100006,
		OrderID: "parked-order", AwardID: 100, AwardTitle: "黑名单积分", AwardConfig: "1",
		State: award.RecordCreate, Time: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		rec, err := records.Get(ctx, "parked-user", "parked-order")
		if err != nil {
			t.Fatal(err)
		}
		if rec.State == award.RecordCompleted {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("record stuck in %s an hour after the draw, 5s after start: nothing reconciles it", rec.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
