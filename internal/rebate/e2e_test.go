package rebate_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/credit"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/rebate"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/rebatedb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// TestSignInEndToEnd wires the real pieces of the embedded and the sharded
// deployments (rebate, outbox, credit stores; in-process bus; relay) with a
// fake SKU orderer, and shows that a sign-in earns 10 credits and one quota
// order once, however often it is repeated or its events are redelivered.
func TestSignInEndToEnd(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		rebates, tasks, credits := rebatedb.New(db), outboxdb.New(db), creditdb.New(db)
		skus := &fakeSKUs{known: map[int64]bool{9901: true}, orders: map[string]int64{}}
		clk := &clock{t: day(2023, 11, 14)}

		var mu sync.Mutex
		outcomes := map[rebate.Outcome]int{}
		count := func(o rebate.Outcome) int {
			mu.Lock()
			defer mu.Unlock()
			return outcomes[o]
		}
		deliverer, err := rebate.NewDeliverer(rebate.DelivererConfig{
			SKUs: skus, Credits: credits, Orders: rebates, Now: clk.Now,
			OnResult: func(o rebate.Outcome, _ rebate.SendRebate, err error) {
				if err != nil {
					t.Errorf("delivery: %s: %v", o, err)
				}
				mu.Lock()
				defer mu.Unlock()
				outcomes[o]++
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		mb := bus.NewMemory(bus.MemoryConfig{})
		if err := mb.Subscribe(outbox.TopicSendRebate, deliverer.Handle); err != nil {
			t.Fatal(err)
		}
		if err := mb.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mb.Close() })
		relay, err := outbox.NewRelay(outbox.RelayConfig{Publisher: mb, Store: tasks, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { relay.Close(context.Background()) })
		svc := rebate.NewService(rebate.Config{
			Store: rebates, Relay: relay,
			Rules:    func(b string) []rebate.Rule { return demoRules[b] },
			Location: func() *time.Location { return shanghai },
			Now:      clk.Now,
		})

		balance := func() money.Amount {
			b, err := credits.Balance(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		completed := func(n int) func() bool {
			return func() bool {
				orders, err := rebates.ListByUser(ctx, "alice", 0)
				if err != nil {
					t.Fatal(err)
				}
				done := 0
				for _, o := range orders {
					if o.State == rebate.OrderCompleted {
						done++
					}
				}
				c, err := tasks.CountByState(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return done == n && c[outbox.StateCompleted] == int64(n)
			}
		}

		if _, err := svc.SignIn(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		testsvc.Eventually(t, "both rebates delivered", func() bool {
			return count(rebate.OutcomeCredited) == 1 && count(rebate.OutcomeQuota) == 1
		})
		testsvc.Eventually(t, "rebate orders and tasks completed", completed(2))
		if b := balance(); b != money.FromInt(10) {
			t.Fatalf("balance after sign-in = %s, want 10", b)
		}
		ledger, err := credits.Ledger(ctx, "alice", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ledger) != 1 || ledger[0].TradeName != credit.TradeRebate || ledger[0].OutBusinessNo != "alice_integral_20231114" {
			t.Fatalf("ledger %+v", ledger)
		}

		// The same day again: refused, nothing published.
		if _, err := svc.SignIn(ctx, "alice"); !errors.Is(err, rebate.ErrDuplicate) {
			t.Fatalf("second sign-in: %v, want ErrDuplicate", err)
		}
		// Every stored task published again (what the retry job does after a
		// lost completion mark): each redelivery is recognised.
		all, err := tasks.List(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range all {
			if err := mb.Publish(ctx, tk.Message()); err != nil {
				t.Fatal(err)
			}
		}
		testsvc.Eventually(t, "redeliveries handled", func() bool { return count(rebate.OutcomeAlreadyDone) == 2 })
		if b := balance(); b != money.FromInt(10) || skus.count() != 1 {
			t.Fatalf("after redelivery: balance %s, quota orders %d; want 10 and 1", b, skus.count())
		}

		// The next day earns again.
		clk.Set(day(2023, 11, 15))
		if _, err := svc.SignIn(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		testsvc.Eventually(t, "next day's rebates delivered", func() bool {
			return count(rebate.OutcomeCredited) == 2 && count(rebate.OutcomeQuota) == 2
		})
		testsvc.Eventually(t, "next day's orders and tasks completed", completed(4))
		if b := balance(); b != money.FromInt(20) || skus.count() != 2 {
			t.Fatalf("after two days: balance %s, quota orders %d; want 20 and 2", b, skus.count())
		}
		if r, e := count(rebate.OutcomeRejected), count(rebate.OutcomeError); r != 0 || e != 0 {
			t.Fatalf("%d deliveries rejected and %d failed, want none", r, e)
		}
	})
}
