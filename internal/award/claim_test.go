package award_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/award"
	"github.com/bigmarket/bigmarket/internal/platform/bus"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
)

// waitState polls the record until it is in state want or the time is up.
func (f *fixture) waitState(t *testing.T, sa award.SendAward, want award.RecordState, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := f.state(t, sa)
		if s == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %s is %s after %v, want %s", sa.OrderID, s, within, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func message(t *testing.T, id string, sa award.SendAward) bus.Message {
	t.Helper()
	body, err := bus.NewEnvelope(id, t0, sa)
	if err != nil {
		t.Fatal(err)
	}
	return bus.Message{Topic: "send_award", ID: id, Body: body}
}

// Ten copies of one send_award message for a webhook award, handled at once,
// post the award exactly once: the record is claimed before the call.
func TestDuplicateWebhookMessagePostsOnce(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		var posts atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			posts.Add(1)
			time.Sleep(50 * time.Millisecond) // long enough for every copy to be in flight
			w.WriteHeader(http.StatusOK)
		}))
		defer srv.Close()
		d := f.deliverer(t, award.DelivererConfig{
			Webhooks: map[award.Key]award.WebhookConfig{"openai_use_count": {URL: srv.URL, Secret: "k"}},
		})
		sa := f.won(t, "dup-hook", "order-dup-hook", "openai_use_count", "5")
		msg := message(t, "msg-dup-hook", sa)
		const n = 10
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				if err := d.Handle(context.Background(), msg); err != nil {
					t.Errorf("Handle: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		f.waitState(t, sa, award.RecordCompleted, 5*time.Second)
		time.Sleep(100 * time.Millisecond) // a second post, if any, would land now
		if got := posts.Load(); got != 1 {
			t.Fatalf("the webhook received %d posts of one award, want 1", got)
		}
	})
}

// A webhook that hangs does not hold up credit awards: with the bus's few
// workers busy on webhook awards, 200 credit awards still complete promptly.
func TestHangingWebhookDoesNotStallCredits(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			w.WriteHeader(http.StatusOK)
		}))
		defer srv.Close()
		defer close(release)
		d := f.deliverer(t, award.DelivererConfig{
			Webhooks: map[award.Key]award.WebhookConfig{"slow_hook": {URL: srv.URL, Secret: "k"}},
		})
		b := bus.NewMemory(bus.MemoryConfig{Workers: 4, CloseTimeout: 100 * time.Millisecond})
		if err := b.Subscribe("send_award", d.Handle); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		publish := func(sa award.SendAward) {
			m := message(t, "msg-"+sa.OrderID, sa)
			// Publish may wait for the handler (a bus that acknowledges only
			// handled messages): one goroutine per message.
			go func() {
				if err := b.Publish(context.Background(), m); err != nil {
					t.Errorf("publish %s: %v", m.ID, err)
				}
			}()
		}
		for i := range 8 {
			publish(f.won(t, fmt.Sprintf("hook-%d", i), fmt.Sprintf("order-hook-%d", i), "slow_hook", "x"))
		}
		time.Sleep(100 * time.Millisecond) // the webhook awards reach the workers first
		const credits = 200
		var sas []award.SendAward
		for i := range credits {
			sa := f.won(t, fmt.Sprintf("credit-%d", i%20), fmt.Sprintf("order-credit-%d", i), award.KeyCreditBlacklist, "1")
			sas = append(sas, sa)
		}
		start := time.Now()
		for _, sa := range sas {
			publish(sa)
		}
		for _, sa := range sas {
			f.waitState(t, sa, award.RecordCompleted, 3*time.Second-time.Since(start))
		}
		t.Logf("%d credit awards completed in %v while the webhook hung", credits, time.Since(start))
	})
}

// hang is a webhook receiver that answers only when the caller gives up (the
// body is read so that the server notices the connection closing).
func hang() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
}

// Each webhook call is bounded by WebhookTimeout; the failed delivery gives the
// claim back with its error.
func TestWebhookCallTimeIsBounded(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	f := newFixture(db)
	srv := hang()
	defer srv.Close()
	d := f.deliverer(t, award.DelivererConfig{
		Webhooks:        map[award.Key]award.WebhookConfig{"hang": {URL: srv.URL, Secret: "k"}},
		WebhookTimeout:  100 * time.Millisecond,
		WebhookAttempts: 2, WebhookBackoff: time.Millisecond,
	})
	sa := f.won(t, "u", "order-hang", "hang", "x")
	start := time.Now()
	out, err := d.Deliver(context.Background(), sa)
	if took := time.Since(start); out != award.OutcomeError || !errors.Is(err, award.ErrWebhook) || took > 2*time.Second {
		t.Fatalf("Deliver to a hanging webhook: %s, %v after %v; want ErrWebhook within about 200ms", out, err, took)
	}
	rec, err := f.records.Get(context.Background(), "u", "order-hang")
	if err != nil || rec.State != award.RecordCreate || !strings.Contains(rec.LastError, "webhook") {
		t.Fatalf("record %+v, %v: want create with the webhook error as last error", rec, err)
	}
}

// A claim younger than ClaimTimeout keeps other deliveries away; an older one
// (its process died mid-call) is taken again.
func TestStaleClaimIsTakenAgain(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		var posts atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { posts.Add(1) }))
		defer srv.Close()
		now := time.Now()
		d := f.deliverer(t, award.DelivererConfig{
			Webhooks:     map[award.Key]award.WebhookConfig{"hook": {URL: srv.URL}},
			ClaimTimeout: time.Minute,
			Now:          func() time.Time { return now },
		})
		ctx := context.Background()
		fresh := f.won(t, "u", "order-fresh", "hook", "x")
		if ok, err := f.records.Claim(ctx, "u", "order-fresh", "dead-process", now.Add(-30*time.Second), now.Add(-time.Hour)); !ok || err != nil {
			t.Fatalf("Claim = %t, %v", ok, err)
		}
		deliver(t, d, fresh, award.OutcomeAlreadyDone)
		stale := f.won(t, "u", "order-stale", "hook", "x")
		if ok, err := f.records.Claim(ctx, "u", "order-stale", "dead-process", now.Add(-2*time.Minute), now.Add(-time.Hour)); !ok || err != nil {
			t.Fatalf("Claim = %t, %v", ok, err)
		}
		deliver(t, d, stale, award.OutcomeWebhook)
		if posts.Load() != 1 || f.state(t, fresh) != award.RecordDelivering || f.state(t, stale) != award.RecordCompleted {
			t.Fatalf("%d posts, fresh %s, stale %s; want 1 post, delivering and completed", posts.Load(), f.state(t, fresh), f.state(t, stale))
		}
	})
}

// Close cancels the calls still running after its context ends and gives their
// claims back: the records return to create, nothing is left claimed.
func TestCloseGivesClaimsBack(t *testing.T) {
	db := sqldbtest.OpenSQLite(t)
	f := newFixture(db)
	srv := hang()
	defer srv.Close()
	d := f.deliverer(t, award.DelivererConfig{
		Webhooks:       map[award.Key]award.WebhookConfig{"hang": {URL: srv.URL}},
		WebhookWorkers: 1,
	})
	var sas []award.SendAward
	for i := range 3 {
		sa := f.won(t, "u", fmt.Sprintf("order-%d", i), "hang", "x")
		if err := d.Handle(context.Background(), message(t, "m"+sa.OrderID, sa)); err != nil {
			t.Fatal(err)
		}
		sas = append(sas, sa)
	}
	if got := f.outcomes(award.OutcomeQueued); got != 3 {
		t.Fatalf("%d queued, want 3", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close = %v, want the deadline", err)
	}
	for _, sa := range sas {
		if s := f.state(t, sa); s != award.RecordCreate {
			t.Fatalf("record %s %s after Close, want create", sa.OrderID, s)
		}
	}
	// Closed: a new webhook award is not claimed and the message is refused.
	sa := f.won(t, "u", "order-late", "hang", "x")
	if err := d.Handle(context.Background(), message(t, "late", sa)); !errors.Is(err, award.ErrBusy) {
		t.Fatalf("Handle after Close: %v, want ErrBusy", err)
	}
}

// flakyCompletion fails the first fails CompleteClaimed calls, as a database
// that is away for a moment right after the webhook answered.
type flakyCompletion struct {
	award.DeliveryStore
	fails atomic.Int64
}

func (s *flakyCompletion) CompleteClaimed(ctx context.Context, userID, orderID string, now time.Time) (bool, error) {
	if s.fails.Add(-1) >= 0 {
		return false, errors.New("database unreachable")
	}
	return s.DeliveryStore.CompleteClaimed(ctx, userID, orderID, now)
}

// A webhook that answered 2xx while the database could not record it is
// recorded once the database is back, while the claim holds: the award is
// posted once, not again by the reconciler after the claim timeout.
func TestCompletionRetriedWhileClaimHolds(t *testing.T) {
	sqldbtest.ForEachEngine(t, func(t *testing.T, db *sqldb.DB) {
		f := newFixture(db)
		h := &webhook{t: t, secret: "s3cret"}
		srv := httptest.NewServer(h)
		defer srv.Close()
		store := &flakyCompletion{DeliveryStore: f.store}
		store.fails.Store(3)
		d, err := award.NewDeliverer(award.DelivererConfig{
			Store:        store,
			Webhooks:     map[award.Key]award.WebhookConfig{"openai_use_count": {URL: srv.URL, Secret: "s3cret"}},
			ClaimTimeout: 30 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close(context.Background())
		sa := f.won(t, "flaky", "order-flaky", "openai_use_count", "5")
		if out, err := d.Deliver(context.Background(), sa); err != nil || out != award.OutcomeWebhook {
			t.Fatalf("Deliver = %s, %v; want %s (the completion retried until the database answered)", out, err, award.OutcomeWebhook)
		}
		if s := f.state(t, sa); s != award.RecordCompleted {
			t.Fatalf("record %s, want completed", s)
		}
		if h.hits.Load() != 1 {
			t.Fatalf("%d posts, want 1", h.hits.Load())
		}
	})
}
