package creditdb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

var t0 = time.UnixMilli(1_700_000_000_000)

func order(user, obn string, tt credit.TradeType, cents int64, at time.Time) credit.Order {
	return credit.Order{
		UserID: user, OrderID: "o-" + obn, TradeName: credit.TradeAward, TradeType: tt,
		Amount: money.FromCents(cents), OutBusinessNo: obn, Time: at,
	}
}

func balance(t *testing.T, s *creditdb.Store, user string) money.Amount {
	t.Helper()
	b, err := s.Balance(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestForwardReverseAndLedger(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := creditdb.New(db), context.Background()
		if b := balance(t, s, "nobody"); b != (money.Amount{}) {
			t.Fatalf("balance without account = %s, want 0", b)
		}
		if err := s.Apply(ctx, order("nobody", "r0", credit.Reverse, 1, t0)); !errors.Is(err, credit.ErrInsufficient) {
			t.Fatalf("reverse without account: %v, want ErrInsufficient", err)
		}
		steps := []credit.Order{
			order("alice", "f1", credit.Forward, 1050, t0),
			order("alice", "f2", credit.Forward, 25, t0.Add(time.Second)),
			order("alice", "r1", credit.Reverse, 1000, t0.Add(2*time.Second)),
		}
		for _, o := range steps {
			if err := s.Apply(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
		if b := balance(t, s, "alice"); b.Cents() != 75 {
			t.Fatalf("balance = %s, want 0.75", b)
		}
		err := s.Apply(ctx, order("alice", "r2", credit.Reverse, 76, t0.Add(3*time.Second)))
		if !errors.Is(err, credit.ErrInsufficient) {
			t.Fatalf("overdraw: %v, want ErrInsufficient", err)
		}
		if b := balance(t, s, "alice"); b.Cents() != 75 {
			t.Fatalf("balance after refused overdraw = %s, want 0.75", b)
		}
		got, err := s.Ledger(ctx, "alice", 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []credit.Order{steps[2], steps[1], steps[0]} // newest first; the refused r2 left no order
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Ledger:\n got %+v\nwant %+v", got, want)
		}
		if got, _ := s.Ledger(ctx, "alice", 1); !reflect.DeepEqual(got, want[:1]) {
			t.Fatalf("Ledger limit 1: %+v", got)
		}
		if got, err := s.Ledger(ctx, "nobody", 0); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("Ledger(nobody) = %v, %v; want empty", got, err)
		}
	})
}

func TestDuplicateChangesNothing(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := creditdb.New(db), context.Background()
		if err := s.Apply(ctx, order("bob", "award-1", credit.Forward, 500, t0)); err != nil {
			t.Fatal(err)
		}
		dup := order("bob", "award-1", credit.Forward, 500, t0.Add(time.Second))
		dup.OrderID = "another-order-id"
		err := s.Apply(ctx, dup)
		if !errors.Is(err, credit.ErrDuplicate) || !errors.Is(err, sqldb.ErrDuplicate) {
			t.Fatalf("duplicate out_business_no: %v, want credit.ErrDuplicate", err)
		}
		// A duplicate reverse is refused before it can spend.
		rev := order("bob", "award-1", credit.Reverse, 100, t0.Add(2*time.Second))
		rev.OrderID = "yet-another"
		if err := s.Apply(ctx, rev); !errors.Is(err, credit.ErrDuplicate) {
			t.Fatalf("duplicate reverse: %v, want ErrDuplicate", err)
		}
		if b := balance(t, s, "bob"); b.Cents() != 500 {
			t.Fatalf("balance = %s, want 5.00", b)
		}
		if l, _ := s.Ledger(ctx, "bob", 0); len(l) != 1 {
			t.Fatalf("ledger has %d orders, want 1", len(l))
		}
	})
}

func TestInvalidOrders(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	s, ctx := creditdb.New(db), context.Background()
	for _, tc := range []struct {
		name string
		o    credit.Order
		want error
	}{
		{"zero", order("u", "z", credit.Forward, 0, t0), credit.ErrInvalidAmount},
		{"negative", order("u", "n", credit.Forward, -5, t0), credit.ErrInvalidAmount},
		{"negative reverse", order("u", "nr", credit.Reverse, -5, t0), credit.ErrInvalidAmount},
		{"no type", order("u", "t", "", 5, t0), credit.ErrInvalidOrder},
		{"no business no", order("u", "", credit.Forward, 5, t0), credit.ErrInvalidOrder},
		{"no user", order("", "x", credit.Forward, 5, t0), credit.ErrInvalidOrder},
	} {
		if err := s.Apply(ctx, tc.o); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if b := balance(t, s, "u"); b != (money.Amount{}) {
		t.Fatalf("balance after invalid orders = %s", b)
	}
}

// 50 concurrent reverse orders of 10 against a balance of 30: exactly 3 succeed,
// the others are refused as insufficient, and the balance ends at 0.
func TestConcurrentReverseNeverOverdraws(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := creditdb.New(db), context.Background()
		if err := s.Apply(ctx, order("carol", "seed", credit.Forward, 3000, t0)); err != nil {
			t.Fatal(err)
		}
		const n = 50
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = s.Apply(ctx, order("carol", fmt.Sprintf("spend-%02d", i), credit.Reverse, 1000, t0.Add(time.Millisecond)))
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, credit.ErrInsufficient):
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 3 {
			t.Fatalf("%d reverse orders succeeded, want 3", ok)
		}
		if b := balance(t, s, "carol"); b.Cents() != 0 {
			t.Fatalf("balance = %s, want 0", b)
		}
		if l, _ := s.Ledger(ctx, "carol", 0); len(l) != 4 {
			t.Fatalf("ledger has %d orders, want 4 (seed + 3 spends)", len(l))
		}
	})
}

// ApplyTx inside a caller's transaction that rolls back leaves neither the order
// nor the balance change.
func TestApplyTxRollsBackWithCaller(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := creditdb.New(db), context.Background()
		boom := errors.New("later step failed")
		err := db.InUserTx(ctx, "dave", func(tx *sql.Tx, r sqldb.Route) error {
			if err := s.ApplyTx(ctx, tx, r, order("dave", "f", credit.Forward, 100, t0)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InUserTx: %v", err)
		}
		if b := balance(t, s, "dave"); b != (money.Amount{}) {
			t.Fatalf("balance after rollback = %s, want 0", b)
		}
		// The business number is free again.
		if err := s.Apply(ctx, order("dave", "f", credit.Forward, 100, t0)); err != nil {
			t.Fatal(err)
		}
	})
}
