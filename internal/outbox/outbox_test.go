package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/platform/lease"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

var t0 = time.UnixMilli(1_700_000_000_000)

func newBus(t *testing.T, topic string, h bus.Handler) *bus.Memory {
	t.Helper()
	b := bus.NewMemory(bus.MemoryConfig{RetryDelay: 5 * time.Millisecond, MaxRetryDelay: 20 * time.Millisecond})
	if err := b.Subscribe(topic, h); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func newRetryJob(t *testing.T, cfg outbox.RetryConfig) *outbox.RetryJob {
	t.Helper()
	if cfg.Owner == "" {
		cfg.Owner = "test-instance"
	}
	j, err := outbox.NewRetryJob(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func runOnce(t *testing.T, j *outbox.RetryJob) outbox.RetryReport {
	t.Helper()
	rep, err := j.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// The relay publishes every enqueued task and marks them completed in batches of
// at most FlushSize per shard.
func TestRelayPublishesAndMarksInBatches(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(db)
		var mu sync.Mutex
		seen := map[string]int{}
		b := newBus(t, outbox.TopicSendAward, func(_ context.Context, m bus.Message) error {
			mu.Lock()
			seen[m.ID]++
			mu.Unlock()
			return nil
		})
		store := &countingStore{Store: w.tasks}
		relay, err := outbox.NewRelay(outbox.RelayConfig{Publisher: b, Store: store, Workers: 8,
			FlushSize: 10, FlushInterval: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		const n = 100
		for i := range n {
			task := w.draw(t, fmt.Sprintf("user-%d", i%17), fmt.Sprintf("order-%03d", i), award.KeyCreditRandom, "1,10", t0)
			relay.Enqueue(task)
		}
		testsvc.Eventually(t, "every task delivered", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == n })
		closeRelay(t, relay)

		if c := w.counts(t); c[outbox.StateCompleted] != n || len(c) != 1 {
			t.Fatalf("task states after Close = %v, want %d completed", c, n)
		}
		total, full := 0, 0
		for _, size := range store.batches {
			if size > 10 {
				t.Fatalf("a batch of %d marks, FlushSize is 10", size)
			}
			if size == 10 {
				full++
			}
			total += size
		}
		if total != n || full == 0 || len(store.batches) > n/10+db.Shards() {
			t.Fatalf("completion batches %v: want %d marks in at most %d statements", store.batches, n, n/10+db.Shards())
		}
		st := relay.Stats()
		if st.Enqueued != n || st.Published != n || st.Marked != n || st.Dropped != 0 || st.PublishErrors != 0 {
			t.Fatalf("stats = %+v", st)
		}
		relay.Enqueue(w.draw(t, "late", "order-late", award.KeyCreditRandom, "1", t0))
		if st := relay.Stats(); st.Dropped != 1 {
			t.Fatalf("Enqueue after Close: stats %+v, want 1 dropped", st)
		}
	})
}

// With the broker down, tasks stay in the store (fail, no attempt used); the
// retry job republishes them once it is back, including the tasks whose process
// "crashed" between commit and publish (never enqueued). Every award is delivered
// and credited exactly once, even when every message is then delivered again.
func TestBrokerDownThenBackEveryAwardCreditedOnce(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(db)
		var outcomes sync.Map // award.Outcome → *atomic.Int64
		count := func(o award.Outcome) int64 {
			v, _ := outcomes.LoadOrStore(o, new(atomic.Int64))
			return v.(*atomic.Int64).Load()
		}
		d := w.deliverer(t, func(o award.Outcome, _ award.SendAward, err error) {
			v, _ := outcomes.LoadOrStore(o, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
			if err != nil {
				t.Errorf("delivery error: %v", err)
			}
		})
		b := newBus(t, outbox.TopicSendAward, d.Handle)
		pub := &switchPublisher{next: b}
		pub.down.Store(true)
		relay, err := outbox.NewRelay(outbox.RelayConfig{Publisher: pub, Store: w.tasks, Workers: 4})
		if err != nil {
			t.Fatal(err)
		}
		defer closeRelay(t, relay)

		// 40 draws with luck amounts; 30 handed to the relay, 10 lost in a "crash".
		const n, enqueued = 40, 30
		want := map[string]money.Amount{}
		var tasks []outbox.Task
		for i := range n {
			user := fmt.Sprintf("user-%d", i%7)
			amount := money.FromCents(int64(100 + i))
			task := w.draw(t, user, fmt.Sprintf("order-%03d", i), award.KeyCreditRandom, amount.String(), t0)
			want[user] = want[user].Add(amount)
			tasks = append(tasks, task)
			if i < enqueued {
				relay.Enqueue(task)
			}
		}
		testsvc.Eventually(t, "the relay's failures recorded", func() bool { return w.counts(t)[outbox.StateFail] == enqueued })

		job := newRetryJob(t, outbox.RetryConfig{Store: w.tasks, Publisher: pub, MinAge: time.Second,
			Now: func() time.Time { return t0.Add(time.Minute) }, MaxAttempts: 3})
		for range 5 { // an outage longer than MaxAttempts passes uses up no attempt
			if rep := runOnce(t, job); !rep.BrokerDown || rep.Published != 0 {
				t.Fatalf("pass with the broker down: %+v", rep)
			}
		}
		for _, task := range tasks {
			got, _, err := w.tasks.Get(context.Background(), task.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Attempts != 0 || got.State == outbox.StateCompleted {
				t.Fatalf("task %s during the outage: %s with %d attempts", task.MessageID, got.State, got.Attempts)
			}
		}
		for user := range want {
			if b := w.balance(t, user); b.Cents() != 0 {
				t.Fatalf("user %s credited %s during the outage", user, b)
			}
		}

		pub.down.Store(false)
		if rep := runOnce(t, job); rep.Published != n || rep.BrokerDown {
			t.Fatalf("pass with the broker back: %+v, want %d published", rep, n)
		}
		testsvc.Eventually(t, "every award delivered", func() bool { return count(award.OutcomeCredited) == n })
		if c := w.counts(t); c[outbox.StateCompleted] != n {
			t.Fatalf("task states = %v", c)
		}

		// Every message again, twice: by the retry job after an operator reset,
		// and straight on the bus.
		for _, task := range tasks {
			if _, err := w.tasks.Reset(context.Background(), task.MessageID, t0); err != nil {
				t.Fatal(err)
			}
		}
		if rep := runOnce(t, job); rep.Published != n {
			t.Fatalf("republish pass: %+v", rep)
		}
		for _, task := range tasks {
			if err := b.Publish(context.Background(), task.Message()); err != nil {
				t.Fatal(err)
			}
		}
		testsvc.Eventually(t, "duplicates handled", func() bool { return count(award.OutcomeAlreadyDone) == 2*n })
		for i, task := range tasks {
			if s := w.state(t, task.UserID, fmt.Sprintf("order-%03d", i)); s != award.RecordCompleted {
				t.Fatalf("record %d: %s", i, s)
			}
		}
		for user, amount := range want {
			if b := w.balance(t, user); b != amount {
				t.Fatalf("user %s balance %s, want %s (credited once per award)", user, b, amount)
			}
		}
		if got := count(award.OutcomeCredited); got != n {
			t.Fatalf("%d credits, want %d", got, n)
		}
	})
}

// A task committed but never handed to the relay (the process died between
// commit and publish), and one the relay dropped because its queue was full, are
// both published by the retry job once they are older than MinAge, and only then.
func TestRetryJobRepairsLostHandoffs(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	w := newWorld(db)
	lost := w.draw(t, "crashed", "order-crash", award.KeyCreditBlacklist, "1", t0)

	block := make(chan struct{})
	blocking := publisherFunc(func(ctx context.Context, m bus.Message) error {
		select {
		case <-block:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	relay, err := outbox.NewRelay(outbox.RelayConfig{Publisher: blocking, Store: w.tasks, Workers: 1, QueueSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	first := w.draw(t, "u1", "order-1", award.KeyCreditBlacklist, "1", t0)
	second := w.draw(t, "u2", "order-2", award.KeyCreditBlacklist, "1", t0)
	third := w.draw(t, "u3", "order-3", award.KeyCreditBlacklist, "1", t0)
	relay.Enqueue(first) // the worker takes it and blocks
	testsvc.Eventually(t, "the worker busy", func() bool { return relay.Pending() == 0 })
	relay.Enqueue(second) // waits in the queue
	relay.Enqueue(third)  // the queue is full: dropped
	if st := relay.Stats(); st.Enqueued != 2 || st.Dropped != 1 {
		t.Fatalf("stats %+v: want 2 enqueued, 1 dropped", st)
	}
	close(block)
	closeRelay(t, relay)

	pub := &switchPublisher{}
	clock := t0.Add(500 * time.Millisecond)
	job := newRetryJob(t, outbox.RetryConfig{Store: w.tasks, Publisher: pub, MinAge: time.Second,
		Now: func() time.Time { return clock }})
	if rep := runOnce(t, job); rep.Scanned != 0 {
		t.Fatalf("young create tasks taken: %+v", rep)
	}
	clock = t0.Add(2 * time.Second)
	if rep := runOnce(t, job); rep.Published != 2 {
		t.Fatalf("pass: %+v, want the 2 lost tasks published", rep)
	}
	if pub.count(lost.MessageID) != 1 || pub.count(third.MessageID) != 1 || pub.count(first.MessageID) != 0 {
		t.Fatalf("publishes: %v", pub.calls)
	}
	if c := w.counts(t); c[outbox.StateCompleted] != 4 {
		t.Fatalf("task states %v, want 4 completed", c)
	}
}

type publisherFunc func(ctx context.Context, m bus.Message) error

func (f publisherFunc) Publish(ctx context.Context, m bus.Message) error { return f(ctx, m) }

// A task whose publish fails for a reason of its own is tried MaxAttempts times
// (the relay's try included), then stays fail and is never taken again.
func TestAttemptsAreBounded(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorld(db)
		pub := &switchPublisher{}
		pub.refusing.Store(true)
		relay, err := outbox.NewRelay(outbox.RelayConfig{Publisher: pub, Store: w.tasks})
		if err != nil {
			t.Fatal(err)
		}
		var tasks []outbox.Task
		for i := range 3 {
			task := w.draw(t, fmt.Sprintf("poison-%d", i), fmt.Sprintf("order-%d", i), award.KeyCreditBlacklist, "1", t0)
			tasks = append(tasks, task)
			relay.Enqueue(task)
		}
		closeRelay(t, relay)
		const maxAttempts = 4
		var parked int
		job := newRetryJob(t, outbox.RetryConfig{Store: w.tasks, Publisher: pub, MaxAttempts: maxAttempts,
			Now: func() time.Time { return t0.Add(time.Hour) }, OnPass: func(r outbox.RetryReport) { parked += r.Parked }})
		for range 3 * maxAttempts {
			runOnce(t, job)
		}
		for _, task := range tasks {
			got, _, err := w.tasks.Get(context.Background(), task.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			if got.State != outbox.StateFail || got.Attempts != maxAttempts || pub.count(task.MessageID) != maxAttempts {
				t.Fatalf("task %s: %s, %d attempts, %d publishes; want fail after exactly %d",
					task.MessageID, got.State, got.Attempts, pub.count(task.MessageID), maxAttempts)
			}
		}
		if parked != len(tasks) {
			t.Fatalf("reported %d parked, want %d", parked, len(tasks))
		}
		if rep := runOnce(t, job); rep.Scanned != 0 {
			t.Fatalf("exhausted tasks taken again: %+v", rep)
		}
		listed, err := w.tasks.List(context.Background(), outbox.StateFail, 0)
		if err != nil || len(listed) != len(tasks) {
			t.Fatalf("List(fail) = %d tasks, %v; want the %d parked ones visible", len(listed), err, len(tasks))
		}
		for _, l := range listed {
			if l.LastError != errRefused.Error() {
				t.Fatalf("parked task %s: last error %q, want the publish's %q", l.MessageID, l.LastError, errRefused)
			}
		}
		// An operator's reset gives a task its attempts back.
		pub.refusing.Store(false)
		if _, err := w.tasks.Reset(context.Background(), tasks[0].MessageID, t0); err != nil {
			t.Fatal(err)
		}
		if rep := runOnce(t, job); rep.Published != 1 {
			t.Fatalf("after reset: %+v", rep)
		}
	})
}

// Two jobs sharing a lease never run at the same time; when the holder stops,
// the other takes over.
func TestRetryJobsShareOneLease(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	w := newWorld(db)
	for i := range 20 {
		w.draw(t, fmt.Sprintf("u-%d", i), fmt.Sprintf("o-%d", i), award.KeyCreditBlacklist, "1", t0)
	}
	var (
		inflight, maxInflight atomic.Int64
		mu                    sync.Mutex
		order                 []string // owner of each publish
	)
	leases := lease.NewMemory(nil)
	newJob := func(owner string) *outbox.RetryJob {
		pub := publisherFunc(func(ctx context.Context, m bus.Message) error {
			n := inflight.Add(1)
			defer inflight.Add(-1)
			for {
				cur := maxInflight.Load()
				if n <= cur || maxInflight.CompareAndSwap(cur, n) {
					break
				}
			}
			mu.Lock()
			order = append(order, owner)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			return errRefused // always retryable again: the jobs keep working
		})
		return newRetryJob(t, outbox.RetryConfig{Store: w.tasks, Publisher: pub, Lease: leases, Owner: owner,
			Every: 2 * time.Millisecond, TTL: time.Second, Concurrency: 1, BatchSize: 5, MaxAttempts: 1 << 30,
			Now: func() time.Time { return t0.Add(time.Hour) }})
	}
	published := func(owner string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, o := range order {
			if o == owner {
				n++
			}
		}
		return n
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { newJob("a").Run(ctxA) })
	testsvc.Eventually(t, "a working", func() bool { return published("a") >= 10 })
	wg.Go(func() { newJob("b").Run(ctxB) })
	testsvc.Eventually(t, "a working on with b started", func() bool { return published("a") >= 60 })
	stopA()
	testsvc.Eventually(t, "b taking over", func() bool { return published("b") >= 30 })
	stopB()
	wg.Wait()

	if m := maxInflight.Load(); m != 1 {
		t.Fatalf("%d publishes in flight at once, want 1: the jobs overlapped", m)
	}
	switches := 0
	for i := 1; i < len(order); i++ {
		if order[i] != order[i-1] {
			switches++
		}
	}
	if order[0] != "a" || switches != 1 {
		t.Fatalf("runners alternated %d times (first %s); want a, then b once a stopped", switches, order[0])
	}
}
