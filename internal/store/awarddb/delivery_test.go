package awarddb_test

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

func TestGetAndSetState(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := awarddb.New(db), context.Background()
		t0 := time.UnixMilli(1_700_000_000_000)
		rec := record("getter", "order-g", t0)
		if err := s.Insert(ctx, rec); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "getter", "order-g")
		if err != nil || got != rec {
			t.Fatalf("Get = %+v, %v; want %+v", got, err, rec)
		}
		if _, err := s.Get(ctx, "other-user", "order-g"); !errors.Is(err, award.ErrRecordNotFound) || !errors.Is(err, sqldb.ErrNotFound) {
			t.Fatalf("Get of another user's order: %v, want ErrRecordNotFound", err)
		}
		// Twenty concurrent transitions from create: exactly one wins.
		var wins atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				ok, err := s.SetState(ctx, "getter", "order-g", award.RecordCreate, award.RecordCompleted, t0)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d transitions won, want 1", wins.Load())
		}
		if got, _ := s.Get(ctx, "getter", "order-g"); got.State != award.RecordCompleted {
			t.Fatalf("state %s", got.State)
		}
		// SetStateTx rolls back with its transaction.
		boom := errors.New("boom")
		err = db.InUserTx(ctx, "getter", func(tx *sql.Tx, r sqldb.Route) error {
			if ok, err := s.SetStateTx(ctx, tx, r, "getter", "order-g", award.RecordCompleted, award.RecordPendingManual, t0); !ok || err != nil {
				t.Fatalf("SetStateTx = %t, %v", ok, err)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, "getter", "order-g"); got.State != award.RecordCompleted {
			t.Fatalf("state after rollback %s, want completed", got.State)
		}
	})
}

func TestCreditAndComplete(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		records, credits, ctx := awarddb.New(db), creditdb.New(db), context.Background()
		d := awarddb.NewDeliveries(db, records, credits)
		t0 := time.UnixMilli(1_700_000_000_000)
		if err := records.Insert(ctx, record("winner", "order-w", t0)); err != nil {
			t.Fatal(err)
		}
		o := credit.Order{UserID: "winner", OrderID: "c-1", TradeName: credit.TradeAward, TradeType: credit.Forward,
			Amount: money.FromCents(3725), OutBusinessNo: "order-w", Time: t0}
		if err := d.CreditAndComplete(ctx, "winner", "order-w", o, t0); err != nil {
			t.Fatal(err)
		}
		o.OrderID = "c-2"
		if err := d.CreditAndComplete(ctx, "winner", "order-w", o, t0); !errors.Is(err, award.ErrRecordState) {
			t.Fatalf("second completion: %v, want ErrRecordState", err)
		}
		// A record in create whose credit is in the ledger: the duplicate rolls the
		// state change back too.
		if err := records.Insert(ctx, record("winner", "order-x", t0)); err != nil {
			t.Fatal(err)
		}
		o.OrderID, o.OutBusinessNo = "c-3", "order-w"
		if err := d.CreditAndComplete(ctx, "winner", "order-x", o, t0); !errors.Is(err, credit.ErrDuplicate) {
			t.Fatalf("duplicate business number: %v, want credit.ErrDuplicate", err)
		}
		if got, _ := records.Get(ctx, "winner", "order-x"); got.State != award.RecordCreate {
			t.Fatalf("record state %s after a refused credit, want create", got.State)
		}
		if b, _ := credits.Balance(ctx, "winner"); b != money.FromCents(3725) {
			t.Fatalf("balance %s, want 37.25", b)
		}
	})
}
