package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bigmarket/bigmarket/internal/app"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/store/sqldb"
)

const deliveryCampaign = `
version: 1
awards:
  - {id: 101, key: user_credit_random, config: "1,100"}
  - {id: 201, key: gift_card, config: "card-10"}
strategies:
  - id: 910001
    awards:
      - {award: 101, title: credits, count: 100000, rate: "0.5", sort: 1}
      - {award: 201, title: gift card, count: 100000, rate: "0.5", sort: 2}
activities:
  - {id: 910101, name: deliveries, strategy: 910001, state: open, begin: "2024-01-01T00:00:00Z", end: "2099-01-01T00:00:00Z"}
`

// blockingWebhook answers nothing until released (a partner's endpoint that
// hangs), then 200 to everything.
type blockingWebhook struct {
	*httptest.Server
	received atomic.Int64
	release  chan struct{}
	once     sync.Once
}

func newBlockingWebhook(t *testing.T) *blockingWebhook {
	w := &blockingWebhook{release: make(chan struct{})}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.received.Add(1)
		select {
		case <-w.release:
			rw.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { w.open(); w.Close() })
	return w
}

func (w *blockingWebhook) open() { w.once.Do(func() { close(w.release) }) }

// embeddedTaskStates reads, from the closed instance's SQLite file, each award
// record's state and the state of its send_award task, by order id.
func embeddedTaskStates(t *testing.T, dir string, users []string) (records, tasks map[string]string) {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, sqldb.Config{Driver: sqldb.DriverSQLite, SQLitePath: filepath.Join(dir, "bigmarket.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	records, tasks = map[string]string{}, map[string]string{}
	for _, u := range users {
		r := db.Route(u)
		rows, err := db.Shard(r.Shard).Read().QueryContext(ctx,
			`SELECT order_id, award_state FROM `+sqldb.Table("user_award_record", r)+` WHERE user_id = ?`, u)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var order, state string
			if err := rows.Scan(&order, &state); err != nil {
				t.Fatal(err)
			}
			records[order] = state
		}
		rows.Close()
	}
	for shard := range db.Shards() {
		rows, err := db.Shard(shard).Read().QueryContext(ctx, `SELECT message, state FROM task WHERE topic = 'send_award'`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var msg, state string
			if err := rows.Scan(&msg, &state); err != nil {
				t.Fatal(err)
			}
			var env struct {
				Data struct {
					OrderID string `json:"orderId"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(msg), &env); err != nil {
				t.Fatal(err)
			}
			tasks[env.Data.OrderID] = state
		}
		rows.Close()
	}
	return records, tasks
}

// TestEmbeddedStopLeavesUnhandledDeliveriesPending: in embedded mode a task is
// completed only once its consumer has handled the message. The webhook hangs
// and the deliverer has one worker and a queue of one, so the send_award
// handler accepts (claims durably) two webhook awards and refuses the others
// (queue full) until the bus parks them. An instance stopped then has completed
// the tasks of at most those two unfinished awards (their claims are the
// reconciler's); every other unfinished award keeps its task pending, and an
// instance restarted on the same data directory delivers every award.
func TestEmbeddedStopLeavesUnhandledDeliveriesPending(t *testing.T) {
	hook := newBlockingWebhook(t)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Demo = false
	cfg.Auth.AdminToken = "test-admin"
	cfg.HTTP.DrawTimeout = time.Minute
	cfg.Webhooks = map[string]config.Webhook{"gift_card": {URL: hook.URL, Secret: "s3cret"}}
	const accepted = 2 // one webhook worker, a queue of one
	cfg.Delivery = config.Delivery{WebhookWorkers: 1, WebhookQueue: 1, WebhookTimeout: time.Minute, ClaimTimeout: 2 * time.Minute}
	cfg.Reconcile = config.Reconcile{Deadline: time.Hour} // not during the first run
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("BIGMARKET_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}

	first, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	first.Start()
	h := first.Handler()
	if env := call(t, h, "POST", "/api/admin/v1/campaign/apply", deliveryCampaign); env.Code != "0000" {
		t.Fatalf("apply: %s %s %s", env.Code, env.Info, env.Data)
	}
	const users, each = 12, 3
	var names []string
	webhookAwards := 0
	for u := range users {
		user := fmt.Sprintf("em%d", u)
		names = append(names, user)
		g := fmt.Sprintf(`{"id":"g-%s","userId":"%s","activityId":910101,"total":%d,"day":%d,"month":%d}`, user, user, each, each, each)
		if env := call(t, h, "POST", "/api/admin/v1/quota/grant", g); env.Code != "0000" {
			t.Fatalf("grant: %s %s", env.Code, env.Info)
		}
		for range each {
			env := call(t, h, "POST", "/api/v1/raffle/activity/draw", fmt.Sprintf(`{"userId":"%s","activityId":910101}`, user))
			if env.Code != "0000" {
				t.Fatalf("draw: %s %s", env.Code, env.Info)
			}
			var r struct{ AwardID int64 }
			json.Unmarshal(env.Data, &r)
			if r.AwardID == 201 {
				webhookAwards++
			}
		}
	}
	if webhookAwards <= accepted {
		t.Fatalf("only %d draws won the webhook award (odds about 2^-30): the test needs more than %d", webhookAwards, accepted)
	}
	// The webhook is called, and hangs.
	deadline := time.Now().Add(30 * time.Second)
	for hook.received.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("webhook never called")
		}
		time.Sleep(10 * time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- first.Close() }()
	select {
	case err := <-closed:
		t.Logf("first instance closed: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("Close hung")
	}

	records, tasks := embeddedTaskStates(t, cfg.DataDir, names)
	if len(records) != users*each {
		t.Fatalf("%d award records, want %d", len(records), users*each)
	}
	unfinished, completedTasks := 0, 0
	for order, state := range records {
		if state == "completed" || state == "pending_manual" {
			continue
		}
		unfinished++
		if tasks[order] == "completed" {
			completedTasks++
		}
	}
	t.Logf("%d webhook awards, %d awards unfinished at the stop, %d of them with a completed task", webhookAwards, unfinished, completedTasks)
	if unfinished != webhookAwards {
		t.Errorf("%d awards unfinished at the stop, want the %d webhook awards", unfinished, webhookAwards)
	}
	if completedTasks > accepted {
		t.Errorf("%d unfinished awards have their send_award task completed, but their handler accepted at most %d: "+
			"the others were never handled", completedTasks, accepted)
	}

	// Restart on the same data directory; the partner's endpoint answers again;
	// the reconciler takes back the claims of the stopped instance.
	hook.open()
	cfg.Reconcile = config.Reconcile{Deadline: time.Second, Every: 200 * time.Millisecond}
	second, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	second.Start()
	t.Cleanup(func() {
		if err := second.Close(); err != nil {
			t.Errorf("close the restarted instance: %v", err)
		}
	})
	h = second.Handler()
	deadline = time.Now().Add(60 * time.Second)
	for _, user := range names {
		for {
			env := call(t, h, "GET", "/api/admin/v1/users/"+user, "")
			if n := strings.Count(string(env.Data), `"awardState":"completed"`) + strings.Count(string(env.Data), `"awardState":"pending_manual"`); n == each {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("user %s: awards not delivered after the restart: %s", user, env.Data)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestCompletedTasksPurged: completed outbox tasks older than the configured
// retention are deleted by the running instance.
func TestCompletedTasksPurged(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminToken = "test-admin"
	cfg.Outbox.Retention = time.Millisecond
	a, err := app.New(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Start()
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	h := a.Handler()
	if env := call(t, h, "POST", "/api/admin/v1/quota/grant", `{"id":"g-purge","userId":"purger","activityId":100301,"total":3,"day":3,"month":3}`); env.Code != "0000" {
		t.Fatalf("grant: %s %s", env.Code, env.Info)
	}
	for range 3 {
		if env := call(t, h, "POST", "/api/v1/raffle/activity/draw", `{"userId":"purger","activityId":100301}`); env.Code != "0000" {
			t.Fatalf("draw: %s %s", env.Code, env.Info)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		env := call(t, h, "GET", "/api/admin/v1/users/purger", "")
		delivered := strings.Count(string(env.Data), `"awardState":"completed"`) + strings.Count(string(env.Data), `"awardState":"pending_manual"`)
		tasks := call(t, h, "GET", "/api/admin/v1/tasks?limit=1000", "")
		if delivered == 3 && strings.Count(string(tasks.Data), `"messageId"`) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s: %d awards delivered, tasks %s; want 3 and no task left", delivered, tasks.Data)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
