package award_test

import (
	"context"
	"errors"
	"testing"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// Credit awards are delivered without reading the record first; the outcome of
// a record that is not in create must still tell a delivered record from a
// missing one, whatever the message's config.
func TestCreditOutcomeOfRecordNotInCreate(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		d := f.deliverer(t, award.DelivererConfig{})
		ctx := context.Background()
		cases := []struct {
			name   string
			key    award.Key
			config string
		}{
			{"range", award.KeyCreditRandom, "1,100"},
			{"zero range", award.KeyCreditRandom, "0,0"},
			{"fixed", award.KeyCreditBlacklist, "3"},
			{"bad config", award.KeyCreditRandom, "abc"},
		}
		for _, c := range cases {
			// Missing record: an error wrapping ErrRecordNotFound, nothing parked.
			ghost := award.SendAward{UserID: "ghost", OrderID: "no-such-order", AwardKey: c.key, AwardConfig: c.config}
			out, err := d.Deliver(ctx, ghost)
			if out != award.OutcomeError || !errors.Is(err, award.ErrRecordNotFound) {
				t.Fatalf("%s, missing record: %s, %v; want an error wrapping ErrRecordNotFound", c.name, out, err)
			}
			// Delivered record (here pending_manual): left alone.
			sa := f.won(t, "done", "order-"+c.name, c.key, c.config)
			if _, err := f.records.SetState(ctx, sa.UserID, sa.OrderID, award.RecordCreate, award.RecordPendingManual, t0); err != nil {
				t.Fatal(err)
			}
			deliver(t, d, sa, award.OutcomeAlreadyDone)
			if s := f.state(t, sa); s != award.RecordPendingManual {
				t.Fatalf("%s: record %s, want pending_manual kept", c.name, s)
			}
		}
		if l := f.ledger(t, "done"); len(l) != 0 {
			t.Fatalf("records not in create were credited: %+v", l)
		}
	})
}
