package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// Over the in-process bus, the relay marks a task completed only once its
// handler has committed: tasks whose handler is stuck when the relay and the bus
// close stay create or fail, and a later retry pass (a restarted process)
// delivers every one of them.
func TestRelayOverMemoryCompletesOnlyHandledTasks(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	w := newWorld(db)
	d := w.deliverer(t, nil)
	const normal, stuck = 12, 5
	entered := make(chan string, stuck)
	b := bus.NewMemory(bus.MemoryConfig{Workers: 8, CloseTimeout: 50 * time.Millisecond})
	if err := b.Subscribe(outbox.TopicSendAward, func(ctx context.Context, m bus.Message) error {
		var sa award.SendAward
		if _, _, err := bus.DecodeEnvelope(m.Body, &sa); err != nil {
			return err
		}
		if strings.HasPrefix(sa.OrderID, "stuck") { // a webhook that never answers
			entered <- sa.OrderID
			<-ctx.Done()
			return ctx.Err()
		}
		return d.Handle(ctx, m)
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	relay, err := outbox.NewRelay(outbox.RelayConfig{Publisher: b, Store: w.tasks, Workers: 8,
		PublishTimeout: time.Hour, FlushInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var tasks []outbox.Task
	for i := range normal + stuck {
		order := fmt.Sprintf("order-%02d", i)
		if i < stuck {
			order = fmt.Sprintf("stuck-%02d", i)
		}
		task := w.draw(t, fmt.Sprintf("user-%d", i), order, award.KeyCreditRandom, "1.00", t0)
		tasks = append(tasks, task)
		relay.Enqueue(task)
	}
	for range stuck {
		select {
		case <-entered:
		case <-time.After(testsvc.WaitLimit):
			t.Fatal("the stuck handlers were not all called")
		}
	}
	testsvc.Eventually(t, "the other awards delivered and their tasks marked", func() bool {
		for i := stuck; i < normal+stuck; i++ {
			if w.state(t, tasks[i].UserID, fmt.Sprintf("order-%02d", i)) != award.RecordCompleted {
				return false
			}
		}
		return w.counts(t)[outbox.StateCompleted] >= normal
	})

	// Shut down as App.Close does: the relay within a deadline, then the bus.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := relay.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("relay Close = %v, want DeadlineExceeded (stuck publishes)", err)
	}
	if err := b.Close(); err == nil {
		t.Error("bus Close = nil with stuck handlers, want an error")
	}
	for i, task := range tasks {
		got, _, err := w.tasks.Get(context.Background(), task.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if i < stuck && got.State == outbox.StateCompleted {
			t.Errorf("task %s completed, but its handler never committed (record %s)", task.MessageID,
				w.state(t, task.UserID, fmt.Sprintf("stuck-%02d", i)))
		}
		if i >= stuck && got.State != outbox.StateCompleted {
			t.Errorf("task %s of a handled award is %s", task.MessageID, got.State)
		}
	}

	// The restarted process: a new bus whose consumer works, the retry job.
	b2 := newBus(t, outbox.TopicSendAward, d.Handle)
	job := newRetryJob(t, outbox.RetryConfig{Store: w.tasks, Publisher: b2, Now: func() time.Time { return t0.Add(time.Hour) }})
	if rep := runOnce(t, job); rep.Published != stuck {
		t.Fatalf("retry pass after restart: %+v, want %d published", rep, stuck)
	}
	for i, task := range tasks {
		order := fmt.Sprintf("order-%02d", i)
		if i < stuck {
			order = fmt.Sprintf("stuck-%02d", i)
		}
		if s := w.state(t, task.UserID, order); s != award.RecordCompleted {
			t.Errorf("record %s is %s after the restart", order, s)
		}
	}
	if c := w.counts(t); c[outbox.StateCompleted] != normal+stuck {
		t.Fatalf("task states after the restart: %v", c)
	}
}

// A retry pass does not take a publish that timed out while its message was
// still being handled (bus.ErrPending) for a broker outage: the other tasks are
// published in the same pass, and no attempt is used up.
func TestRetryPassGoesOnPastPendingPublish(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	w := newWorld(db)
	var tasks []outbox.Task
	for i := range 5 {
		tasks = append(tasks, w.draw(t, fmt.Sprintf("user-%d", i), fmt.Sprintf("order-%d", i), award.KeyCreditRandom, "1.00",
			t0.Add(time.Duration(i)*time.Millisecond)))
	}
	slow := tasks[0].MessageID // the oldest: tried first
	pub := publisherFunc(func(_ context.Context, m bus.Message) error {
		if m.ID == slow {
			return fmt.Errorf("test bus: %w: %w", bus.ErrPending, context.DeadlineExceeded)
		}
		return nil
	})
	job := newRetryJob(t, outbox.RetryConfig{Store: w.tasks, Publisher: pub, Concurrency: 1,
		Now: func() time.Time { return t0.Add(time.Hour) }})
	rep := runOnce(t, job)
	if rep.BrokerDown || rep.Published != len(tasks)-1 {
		t.Fatalf("pass = %+v, want the %d other tasks published and no outage", rep, len(tasks)-1)
	}
	got, _, err := w.tasks.Get(context.Background(), slow)
	if err != nil {
		t.Fatal(err)
	}
	if got.State == outbox.StateCompleted || got.Attempts != 0 {
		t.Fatalf("slow task: %s with %d attempts, want not completed and no attempt used", got.State, got.Attempts)
	}
}
