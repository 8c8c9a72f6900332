package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus/rabbitmq"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// End to end on RabbitMQ: draws commit their record and task, the relay
// publishes with publisher confirms, the send_award consumer credits, and every
// record ends completed with its credit, each exactly once.
func TestRelayOverRabbitMQ(t *testing.T) {
	url := testsvc.AMQPURL(t)
	db := sqldbtest.OpenMySQL(t)
	w := newWorld(db)
	name := testsvc.UniqueName("bmtest_outbox_")
	b, err := rabbitmq.New(rabbitmq.Config{URL: url, Exchange: name, QueuePrefix: name + ".",
		RetryDelay: 50 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.Close()
		conn, err := amqp.Dial(url)
		if err != nil {
			t.Errorf("cleanup: dial: %v", err)
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			t.Errorf("cleanup: channel: %v", err)
			return
		}
		defer ch.Close()
		q := b.QueueName(outbox.TopicSendAward)
		for _, n := range []string{q, q + ".retry", q + ".failed"} {
			if _, err := ch.QueueDelete(n, false, false, false); err != nil {
				t.Errorf("cleanup: delete queue %s: %v", n, err)
			}
		}
		if err := ch.ExchangeDelete(name, false, false); err != nil {
			t.Errorf("cleanup: delete exchange %s: %v", name, err)
		}
	})
	d := w.deliverer(t, func(o award.Outcome, sa award.SendAward, err error) {
		if err != nil {
			t.Errorf("delivery %s: %v", sa.OrderID, err)
		}
	})
	if err := b.Subscribe(outbox.TopicSendAward, d.Handle); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testsvc.WaitLimit)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	relay, err := outbox.NewRelay(outbox.RelayConfig{Publisher: b, Store: w.tasks, Workers: 16})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	want := map[string]money.Amount{}
	type ref struct{ user, order string }
	var refs []ref
	for i := range n {
		user, order := fmt.Sprintf("rabbit-%d", i%13), fmt.Sprintf("order-%04d", i)
		amount := money.FromCents(int64(1 + i))
		relay.Enqueue(w.draw(t, user, order, award.KeyCreditRandom, amount.String(), time.Now()))
		want[user] = want[user].Add(amount)
		refs = append(refs, ref{user, order})
	}
	testsvc.Eventually(t, "every task completed", func() bool { return w.counts(t)[outbox.StateCompleted] == n })
	closeRelay(t, relay)
	for _, r := range refs {
		testsvc.Eventually(t, "record "+r.order+" completed", func() bool { return w.state(t, r.user, r.order) == award.RecordCompleted })
	}
	for user, amount := range want {
		if got := w.balance(t, user); got != amount {
			t.Fatalf("user %s balance %s, want %s", user, got, amount)
		}
	}
	if st := relay.Stats(); st.Published != n || st.PublishErrors != 0 {
		t.Fatalf("relay stats %+v", st)
	}
}
