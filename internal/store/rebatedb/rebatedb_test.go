package rebatedb_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/rebatedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

var t0 = time.UnixMilli(1_700_000_000_000)

// order builds a rebate order of user for behaviour "sign" on business number
// obn, with type typ; its order id is derived from id.
func order(user, id string, typ rebate.Type, obn string, at time.Time) rebate.Order {
	return rebate.Order{
		UserID: user, OrderID: "o-" + id, Behavior: rebate.BehaviorSign, RebateDesc: "签到返利",
		Type: typ, Config: "10", OutBusinessNo: obn, BizID: rebate.BizID(user, typ, obn),
		State: rebate.OrderCreate, Time: at, Updated: at,
	}
}

func task(t *testing.T, o rebate.Order, msgID string) outbox.Task {
	t.Helper()
	tk, err := outbox.New(o.UserID, outbox.TopicSendRebate, msgID,
		rebate.SendRebate{UserID: o.UserID, Behavior: o.Behavior, Type: o.Type, Config: o.Config, BizID: o.BizID, OrderID: o.OrderID},
		o.Time)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func list(t *testing.T, s *rebatedb.Store, user string) []rebate.Order {
	t.Helper()
	got, err := s.ListByUser(context.Background(), user, 0)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func taskStored(t *testing.T, tasks *outboxdb.Store, id string) bool {
	t.Helper()
	_, _, err := tasks.Get(context.Background(), id)
	switch {
	case err == nil:
		return true
	case errors.Is(err, outbox.ErrNotFound):
		return false
	}
	t.Fatal(err)
	return false
}

func TestCreateListExists(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, tasks, ctx := rebatedb.New(db), outboxdb.New(db), context.Background()
		a := order("alice", "a1", rebate.TypeIntegral, "20231114", t0)
		b := order("alice", "a2", rebate.TypeSKU, "20231114", t0)
		if err := s.Create(ctx, []rebate.Order{a, b}, []outbox.Task{task(t, a, "m-a1"), task(t, b, "m-a2")}); err != nil {
			t.Fatal(err)
		}
		// A second user (on another shard or table with MySQL 2×4) and a later day.
		c := order("bob", "b1", rebate.TypeIntegral, "20231114", t0.Add(time.Second))
		d := order("alice", "a3", rebate.TypeIntegral, "20231115", t0.Add(24*time.Hour))
		for _, o := range []rebate.Order{c, d} {
			if err := s.Create(ctx, []rebate.Order{o}, []outbox.Task{task(t, o, "m-"+o.OrderID)}); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := list(t, s, "alice"), []rebate.Order{d, b, a}; !reflect.DeepEqual(got, want) {
			t.Fatalf("ListByUser(alice):\n got %+v\nwant %+v", got, want)
		}
		if got, _ := s.ListByUser(ctx, "alice", 1); len(got) != 1 || got[0] != d {
			t.Fatalf("ListByUser(alice, 1) = %+v", got)
		}
		if got := list(t, s, "bob"); len(got) != 1 || got[0] != c {
			t.Fatalf("ListByUser(bob) = %+v", got)
		}
		if got := list(t, s, "nobody"); got == nil || len(got) != 0 {
			t.Fatalf("ListByUser(nobody) = %#v, want empty", got)
		}
		for _, id := range []string{"m-a1", "m-a2", "m-o-b1", "m-o-a3"} {
			if !taskStored(t, tasks, id) {
				t.Fatalf("task %s not stored", id)
			}
		}
		for _, c := range []struct {
			user, behavior, obn string
			want                bool
		}{
			{"alice", rebate.BehaviorSign, "20231114", true},
			{"alice", rebate.BehaviorSign, "20231115", true},
			{"alice", rebate.BehaviorSign, "20231116", false},
			{"alice", "openai_pay", "20231114", false},
			{"bob", rebate.BehaviorSign, "20231114", true},
			{"bob", rebate.BehaviorSign, "20231115", false},
			{"carol", rebate.BehaviorSign, "20231114", false},
		} {
			got, err := s.ExistsByOutBusinessNo(ctx, c.user, c.behavior, c.obn)
			if err != nil || got != c.want {
				t.Errorf("ExistsByOutBusinessNo(%s, %s, %s) = %v, %v; want %v", c.user, c.behavior, c.obn, got, err, c.want)
			}
		}
	})
}

func TestCreateDuplicateBizIDRollsBackAll(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, tasks, ctx := rebatedb.New(db), outboxdb.New(db), context.Background()
		first := order("alice", "1", rebate.TypeSKU, "20231114", t0)
		if err := s.Create(ctx, []rebate.Order{first}, []outbox.Task{task(t, first, "m-1")}); err != nil {
			t.Fatal(err)
		}
		// A batch whose first order is new and whose second repeats first's biz id.
		fresh := order("alice", "2", rebate.TypeIntegral, "20231114", t0)
		again := order("alice", "3", rebate.TypeSKU, "20231114", t0)
		err := s.Create(ctx, []rebate.Order{fresh, again}, []outbox.Task{task(t, fresh, "m-2"), task(t, again, "m-3")})
		if !errors.Is(err, rebate.ErrDuplicate) || !errors.Is(err, sqldb.ErrDuplicate) {
			t.Fatalf("Create with a stored biz id: %v, want rebate.ErrDuplicate", err)
		}
		if got := list(t, s, "alice"); len(got) != 1 || got[0] != first {
			t.Fatalf("after the refused batch: %+v, want only the first order", got)
		}
		if taskStored(t, tasks, "m-2") || taskStored(t, tasks, "m-3") {
			t.Fatal("a task of the refused batch was stored")
		}
	})
}

func TestCreateTaskFailureRollsBackOrders(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, tasks, ctx := rebatedb.New(db), outboxdb.New(db), context.Background()
		a := order("alice", "1", rebate.TypeIntegral, "20231114", t0)
		b := order("alice", "2", rebate.TypeSKU, "20231114", t0)
		// The second task repeats the first's message id: the last insert of the
		// transaction fails, after both orders and one task were written.
		err := s.Create(ctx, []rebate.Order{a, b}, []outbox.Task{task(t, a, "m-1"), task(t, b, "m-1")})
		if err == nil {
			t.Fatal("Create with a repeated message id succeeded")
		}
		if errors.Is(err, rebate.ErrDuplicate) {
			t.Fatalf("a repeated message id reported as a duplicate rebate: %v", err)
		}
		if got := list(t, s, "alice"); len(got) != 0 {
			t.Fatalf("orders left after a failed task insert: %+v", got)
		}
		if taskStored(t, tasks, "m-1") {
			t.Fatal("task left after the failed transaction")
		}
		// The same rebate can then be made.
		if err := s.Create(ctx, []rebate.Order{a, b}, []outbox.Task{task(t, a, "m-1"), task(t, b, "m-2")}); err != nil {
			t.Fatal(err)
		}
		if got := list(t, s, "alice"); len(got) != 2 {
			t.Fatalf("orders after the retry: %+v", got)
		}
	})
}

func TestCreateOrderIDCollisionIsNotADuplicateRebate(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := rebatedb.New(db), context.Background()
		a := order("alice", "1", rebate.TypeIntegral, "20231114", t0)
		if err := s.Create(ctx, []rebate.Order{a}, nil); err != nil {
			t.Fatal(err)
		}
		b := order("alice", "1", rebate.TypeIntegral, "20231115", t0) // same order id, new biz id
		err := s.Create(ctx, []rebate.Order{b}, nil)
		if !errors.Is(err, sqldb.ErrDuplicate) || errors.Is(err, rebate.ErrDuplicate) {
			t.Fatalf("order id collision: %v, want sqldb.ErrDuplicate and not rebate.ErrDuplicate", err)
		}
	})
}

func TestCreateRejectsMixedOrEmptyBatches(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := rebatedb.New(db), context.Background()
		a := order("alice", "1", rebate.TypeIntegral, "20231114", t0)
		b := order("bob", "2", rebate.TypeIntegral, "20231114", t0)
		for name, err := range map[string]error{
			"empty":            s.Create(ctx, nil, nil),
			"two users":        s.Create(ctx, []rebate.Order{a, b}, nil),
			"task of another":  s.Create(ctx, []rebate.Order{a}, []outbox.Task{task(t, b, "m-2")}),
			"empty user order": s.Create(ctx, []rebate.Order{order("", "3", rebate.TypeSKU, "x", t0)}, nil),
		} {
			if !errors.Is(err, rebate.ErrInvalid) {
				t.Errorf("%s: %v, want ErrInvalid", name, err)
			}
		}
		if len(list(t, s, "alice"))+len(list(t, s, "bob")) != 0 {
			t.Fatal("an invalid batch stored something")
		}
	})
}

func TestMarkCompleted(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := rebatedb.New(db), context.Background()
		a := order("alice", "1", rebate.TypeIntegral, "20231114", t0)
		b := order("alice", "2", rebate.TypeSKU, "20231114", t0)
		if err := s.Create(ctx, []rebate.Order{a, b}, nil); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkCompleted(ctx, "alice", a.OrderID, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// Again, an unknown order and another user's order id: no effect, no error.
		for _, c := range [][2]string{{"alice", a.OrderID}, {"alice", "o-none"}, {"bob", b.OrderID}} {
			if err := s.MarkCompleted(ctx, c[0], c[1], t0.Add(2*time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		states := map[string]rebate.OrderState{}
		for _, o := range list(t, s, "alice") {
			states[o.OrderID] = o.State
		}
		want := map[string]rebate.OrderState{a.OrderID: rebate.OrderCompleted, b.OrderID: rebate.OrderCreate}
		if !reflect.DeepEqual(states, want) {
			t.Fatalf("states = %v, want %v", states, want)
		}
	})
}

// TestUsersAcrossShards stores one order for many users and reads each back:
// routing puts every user's order (and task) on one shard table, and nothing
// leaks between users sharing a table.
func TestUsersAcrossShards(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		s, ctx := rebatedb.New(db), context.Background()
		const users = 24
		for i := range users {
			o := order(fmt.Sprintf("user-%02d", i), fmt.Sprint(i), rebate.TypeIntegral, "20231114", t0)
			if err := s.Create(ctx, []rebate.Order{o}, []outbox.Task{task(t, o, "m-"+fmt.Sprint(i))}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range users {
			user := fmt.Sprintf("user-%02d", i)
			got := list(t, s, user)
			if len(got) != 1 || got[0].UserID != user || got[0].OrderID != "o-"+fmt.Sprint(i) {
				t.Fatalf("ListByUser(%s) = %+v", user, got)
			}
		}
	})
}
