package awarddb_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

func record(user, order string, at time.Time) award.Record {
	return award.Record{
		UserID: user, ActivityID: 100301, StrategyID: 100006, OrderID: order, AwardID: 101,
		AwardTitle: "随机积分", AwardConfig: "37.25", Amount: money.FromCents(3725), StockTaken: true,
		State: award.RecordCreate, Time: time.UnixMilli(at.UnixMilli()), Updated: time.UnixMilli(at.UnixMilli()),
	}
}

func TestInsertAndList(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := awarddb.New(db), context.Background()
		t0 := time.UnixMilli(1_700_000_000_123)
		var want []award.Record
		for i := 0; i < 5; i++ {
			rec := record("xiaofuge", fmt.Sprintf("order-%02d", i), t0.Add(time.Duration(i)*time.Second))
			rec.StockTaken = i%2 == 0
			rec.State = []award.RecordState{award.RecordCreate, award.RecordCompleted, award.RecordPendingManual}[i%3]
			if err := s.Insert(ctx, rec); err != nil {
				t.Fatal(err)
			}
			want = append([]award.Record{rec}, want...) // newest first
		}
		if err := s.Insert(ctx, record("someone-else", "order-x", t0)); err != nil {
			t.Fatal(err)
		}
		got, err := s.ListByUser(ctx, "xiaofuge", 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ListByUser:\n got %+v\nwant %+v", got, want)
		}
		if got, _ := s.ListByUser(ctx, "xiaofuge", 2); !reflect.DeepEqual(got, want[:2]) {
			t.Fatalf("ListByUser limit 2: %+v", got)
		}
		if got, err := s.ListByUser(ctx, "nobody", 10); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("ListByUser(nobody) = %v, %v; want empty", got, err)
		}
		err = s.Insert(ctx, record("xiaofuge", "order-03", t0))
		if !errors.Is(err, sqldb.ErrDuplicate) {
			t.Fatalf("repeated order id: %v, want ErrDuplicate", err)
		}
	})
}

func TestConcurrentSameOrderOneWins(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := awarddb.New(db), context.Background()
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Go(func() {
				<-start
				rec := record("racer", "same-order", time.UnixMilli(int64(1_700_000_000_000+i)))
				errs[i] = s.Insert(ctx, rec)
			})
		}
		close(start)
		wg.Wait()
		ok, dup := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, sqldb.ErrDuplicate):
				dup++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		if ok != 1 || dup != n-1 {
			t.Fatalf("%d inserts succeeded and %d were duplicates, want 1 and %d", ok, dup, n-1)
		}
		if got, _ := s.ListByUser(ctx, "racer", 0); len(got) != 1 {
			t.Fatalf("%d records stored, want 1", len(got))
		}
	})
}

func TestRecordsLiveInTheUsersTableOnly(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := awarddb.New(db), context.Background()
		const users = 64
		for i := 0; i < users; i++ {
			if err := s.Insert(ctx, record(fmt.Sprintf("user-%d", i), fmt.Sprintf("o-%d", i), time.UnixMilli(1))); err != nil {
				t.Fatal(err)
			}
		}
		where := map[string][]sqldb.Route{}
		for _, r := range db.Routes() {
			rows, err := db.Shard(r.Shard).Read().Query(r.SQL(`SELECT user_id FROM user_award_record{{suffix}}`))
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var u string
				if err := rows.Scan(&u); err != nil {
					t.Fatal(err)
				}
				where[u] = append(where[u], r)
			}
			rows.Close()
		}
		used := map[sqldb.Route]bool{}
		for i := 0; i < users; i++ {
			u := fmt.Sprintf("user-%d", i)
			if len(where[u]) != 1 || where[u][0] != db.Route(u) {
				t.Fatalf("user %s found in %v, want only %v", u, where[u], db.Route(u))
			}
			used[where[u][0]] = true
		}
		if len(used) != len(db.Routes()) {
			t.Fatalf("64 users used %d of %d tables", len(used), len(db.Routes()))
		}
	})
}

func TestInsertTxRollsBackWithItsTransaction(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := awarddb.New(db), context.Background()
		boom := errors.New("later step failed")
		err := db.InUserTx(ctx, "tx-user", func(tx *sql.Tx, r sqldb.Route) error {
			if err := s.InsertTx(ctx, tx, r, record("tx-user", "tx-order", time.UnixMilli(1))); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InUserTx = %v", err)
		}
		if got, _ := s.ListByUser(ctx, "tx-user", 0); len(got) != 0 {
			t.Fatalf("record of a rolled back transaction stored: %+v", got)
		}
	})
}
