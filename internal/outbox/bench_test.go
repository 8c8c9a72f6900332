package outbox_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bigmarket/bigmarket/internal/idgen"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/platform/bus/rabbitmq"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// benchRelay measures the relay's throughput: b.N committed tasks enqueued,
// published and marked completed (the task inserts are not timed).
func benchRelay(b *testing.B, db *sqldb.DB, pub bus.Publisher) {
	store := outboxdb.New(db)
	ctx := context.Background()
	tasks := make([]outbox.Task, b.N)
	ids := idgen.New(nil)
	for i := range tasks {
		user := fmt.Sprintf("bench-%d", i%1000)
		t, err := outbox.New(user, outbox.TopicSendAward, ids.Next(), map[string]int{"i": i}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		tasks[i] = t
	}
	for chunk := range slices.Chunk(tasks, 500) {
		for shard := range db.Shards() {
			err := sqldb.InTx(ctx, db.Shard(shard), func(tx *sql.Tx) error {
				for _, t := range chunk {
					if r := db.Route(t.UserID); r.Shard == shard {
						if err := store.InsertTx(ctx, tx, r, t); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	relay, err := outbox.NewRelay(outbox.RelayConfig{Publisher: pub, Store: store, QueueSize: b.N + 1})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for _, t := range tasks {
		relay.Enqueue(t)
	}
	for relay.Stats().Marked < int64(b.N) {
		if st := relay.Stats(); st.Dropped > 0 || st.MarkErrors > 0 || st.PublishErrors > 0 {
			b.Fatalf("stats %+v", relay.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
	b.StopTimer()
	if err := relay.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkRelayMemorySQLite(b *testing.B) {
	mb := bus.NewMemory(bus.MemoryConfig{QueueSize: 1 << 16})
	if err := mb.Subscribe(outbox.TopicSendAward, func(context.Context, bus.Message) error { return nil }); err != nil {
		b.Fatal(err)
	}
	mb.Start(context.Background())
	defer mb.Close()
	benchRelay(b, sqldbtest.OpenSQLite(b), mb)
}

func BenchmarkRelayRabbitMQMariaDB(b *testing.B) {
	url := testsvc.AMQPURL(b)
	name := testsvc.UniqueName("bmbench_outbox_")
	rb, err := rabbitmq.New(rabbitmq.Config{URL: url, Exchange: name, QueuePrefix: name + "."})
	if err != nil {
		b.Fatal(err)
	}
	if err := rb.Subscribe(outbox.TopicSendAward, func(context.Context, bus.Message) error { return nil }); err != nil {
		b.Fatal(err)
	}
	if err := rb.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer func() {
		rb.Close()
		conn, err := amqp.Dial(url)
		if err != nil {
			return
		}
		defer conn.Close()
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		q := rb.QueueName(outbox.TopicSendAward)
		for _, n := range []string{q, q + ".retry", q + ".failed"} {
			ch.QueueDelete(n, false, false, false)
		}
		ch.ExchangeDelete(name, false, false)
	}()
	benchRelay(b, sqldbtest.OpenMySQL(b), rb)
}
