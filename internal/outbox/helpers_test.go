package outbox_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/money"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/store/awarddb"
	"github.com/bigmarket/bigmarket/internal/store/creditdb"
	"github.com/bigmarket/bigmarket/internal/store/outboxdb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// world is the storage of a draw: award records, the outbox and the ledger.
type world struct {
	db      *sqldb.DB
	tasks   *outboxdb.Store
	records *awarddb.Store
	credits *creditdb.Store
}

func newWorld(db *sqldb.DB) *world {
	return &world{db: db, tasks: outboxdb.New(db), records: awarddb.New(db), credits: creditdb.New(db)}
}

// draw does what the draw service does at the end of a draw: the award record
// and its send_award task in one transaction on the user's shard. It returns the
// task to enqueue after the commit.
func (w *world) draw(t *testing.T, user, order string, key award.Key, config string, at time.Time) outbox.Task {
	t.Helper()
	sa := award.SendAward{UserID: user, StrategyID: 100006, ActivityID: 100301, OrderID: order, AwardID: 101,
		AwardTitle: "随机积分", AwardKey: key, AwardConfig: config}
	task, err := outbox.New(user, outbox.TopicSendAward, "msg-"+order, sa, at)
	if err != nil {
		t.Fatal(err)
	}
	rec := award.Record{UserID: user, ActivityID: sa.ActivityID, StrategyID: sa.StrategyID, OrderID: order,
		AwardID: sa.AwardID, AwardTitle: sa.AwardTitle, AwardConfig: config, State: award.RecordCreate, Time: at}
	ctx := context.Background()
	err = w.db.InUserTx(ctx, user, func(tx *sql.Tx, r sqldb.Route) error {
		if err := w.records.InsertTx(ctx, tx, r, rec); err != nil {
			return err
		}
		return w.tasks.InsertTx(ctx, tx, r, task)
	})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func (w *world) deliverer(t *testing.T, onResult func(award.Outcome, award.SendAward, error)) *award.Deliverer {
	t.Helper()
	d, err := award.NewDeliverer(award.DelivererConfig{
		Store:    awarddb.NewDeliveries(w.db, w.records, w.credits),
		OnResult: onResult,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (w *world) state(t *testing.T, user, order string) award.RecordState {
	t.Helper()
	rec, err := w.records.Get(context.Background(), user, order)
	if err != nil {
		t.Fatal(err)
	}
	return rec.State
}

func (w *world) balance(t *testing.T, user string) money.Amount {
	t.Helper()
	b, err := w.credits.Balance(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (w *world) counts(t *testing.T) map[outbox.State]int64 {
	t.Helper()
	c, err := w.tasks.CountByState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// switchPublisher forwards to next unless the broker is "down" (ErrUnavailable)
// or "refusing" (a counted failure). It counts publishes per message id.
type switchPublisher struct {
	next     bus.Publisher
	down     atomic.Bool
	refusing atomic.Bool

	mu    sync.Mutex
	calls map[string]int
}

var errRefused = errors.New("test broker: message refused")

func (p *switchPublisher) Publish(ctx context.Context, m bus.Message) error {
	p.mu.Lock()
	if p.calls == nil {
		p.calls = map[string]int{}
	}
	p.calls[m.ID]++
	p.mu.Unlock()
	switch {
	case p.down.Load():
		return fmt.Errorf("test broker down: %w", bus.ErrUnavailable)
	case p.refusing.Load():
		return errRefused
	case p.next == nil:
		return nil
	}
	return p.next.Publish(ctx, m)
}

func (p *switchPublisher) count(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id]
}

// countingStore records the batches of MarkCompleted.
type countingStore struct {
	outbox.Store
	mu      sync.Mutex
	batches []int
}

func (s *countingStore) MarkCompleted(ctx context.Context, shard int, ids []string, now time.Time) error {
	s.mu.Lock()
	s.batches = append(s.batches, len(ids))
	s.mu.Unlock()
	return s.Store.MarkCompleted(ctx, shard, ids, now)
}

func closeRelay(t *testing.T, r *outbox.Relay) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testsvc.WaitLimit)
	defer cancel()
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
}
