package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bigmarket/bigmarket/internal/app"
	"github.com/bigmarket/bigmarket/internal/config"
	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// productionConfig returns a configuration on fresh MariaDB databases (2 × 4),
// a unique Redis prefix and unique RabbitMQ names, all removed when t ends.
func productionConfig(t *testing.T) config.Config {
	t.Helper()
	sc := sqldbtest.MySQLConfig(t, 2, 4)
	_, prefix := redisxtest.New(t)
	url := testsvc.AMQPURL(t)
	name := testsvc.UniqueName("bmapp_")
	t.Cleanup(func() { deleteBroker(t, url, name) })
	cfg := config.Default()
	// Two instances × three databases share the server's connection limit.
	cfg.Database = config.Database{Driver: "mysql", ConfigDSN: sc.ConfigDSN, ShardDSNs: sc.ShardDSNs, TablesPerShard: sc.TablesPerShard, MaxOpenConns: 12}
	cfg.Redis = config.Redis{Addrs: []string{testsvc.Addr(t, "redis")}, Prefix: prefix}
	cfg.RabbitMQ = config.RabbitMQ{URL: url, Exchange: name, QueuePrefix: name + "."}
	cfg.Auth.AdminToken = "test-admin"
	cfg.HTTP.DrawTimeout = time.Minute
	if err := app.Migrate(context.Background(), cfg); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return cfg
}

func deleteBroker(t *testing.T, url, name string) {
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Logf("cleanup rabbitmq: %v", err)
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	for _, topic := range []string{outbox.TopicSendAward, outbox.TopicSendRebate, outbox.TopicCreditAdjustSuccess, outbox.TopicSKUStockZero} {
		for _, suffix := range []string{"", ".retry", ".failed"} {
			ch.QueueDelete(name+"."+topic+suffix, false, false, false)
		}
	}
	ch.ExchangeDelete(name, false, false)
}

func instance(t *testing.T, cfg config.Config) http.Handler {
	t.Helper()
	cfg.DataDir = t.TempDir()
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("BIGMARKET_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("instance: %v", err)
	}
	a.Start()
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("close instance: %v", err)
		}
	})
	return a.Handler()
}

type envelope struct {
	Code string
	Info string
	Data json.RawMessage
}

func call(t *testing.T, h http.Handler, method, path, body string) envelope {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer test-admin")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var env envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("%s %s: HTTP %d %s", method, path, rec.Code, rec.Body.String())
	}
	return env
}

const stockCampaign = `
version: 1
awards:
  - {id: 101, key: user_credit_random, config: "1,100"}
  - {id: 102, key: openai_use_count, config: "5"}
rule_trees:
  - id: tree_luck_award
    root: rule_stock
    nodes:
      - {key: rule_stock}
      - {key: rule_luck_award, value: "101:1,100"}
    lines:
      - {from: rule_stock, to: rule_luck_award, when: ALLOW}
strategies:
  - id: 900001
    awards:
      - {award: 102, title: limited, count: 50, rate: "1", tree: tree_luck_award, sort: 1}
activities:
  - {id: 900101, name: stock, strategy: 900001, state: open, begin: "2024-01-01T00:00:00Z", end: "2099-01-01T00:00:00Z"}
`

// TestTwoInstancesShareStock runs two instances on MariaDB (2 × 4), Redis and
// RabbitMQ: 200 users × 5 draws spread over both never issue more than the
// award's stock of 50, each issued award has exactly one record, and every
// record is delivered (credits) or kept for an operator.
func TestTwoInstancesShareStock(t *testing.T) {
	const users, each = 200, 5
	_, a, b := sharedStockPair(t, stockCampaign, "pu", users, each)
	won, failed := drawAcross(t, a, b, "pu", users, each, 64)
	if len(failed) > 0 {
		t.Errorf("draws failed: %v", failed)
	}
	if won[102] != 50 || won[101] != users*each-50 {
		t.Fatalf("awards issued %v: want exactly 50 of award 102 and the luck award for the rest", won)
	}
	env := call(t, b, "GET", "/api/admin/v1/stock", "")
	if !strings.Contains(string(env.Data), `{"strategyId":900001,"awardId":102,"count":50,"taken":50,"recorded":50}`) {
		t.Fatalf("stock %s", env.Data)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		env := call(t, a, "GET", "/api/admin/v1/tasks?state=create&limit=1000", "")
		pending := strings.Count(string(env.Data), `"messageId"`)
		env = call(t, a, "GET", "/api/admin/v1/tasks?state=fail&limit=1000", "")
		pending += strings.Count(string(env.Data), `"messageId"`)
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d outbox tasks still not published", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for u := range users {
		for {
			env := call(t, b, "GET", fmt.Sprintf("/api/admin/v1/users/pu%d", u), "")
			var d struct {
				AwardRecords []struct {
					AwardID    int64
					AwardState string
				}
			}
			json.Unmarshal(env.Data, &d)
			done := len(d.AwardRecords) == each
			for _, r := range d.AwardRecords {
				want := "completed"
				if r.AwardID == 102 {
					want = "pending_manual"
				}
				if r.AwardState != want {
					done = false
				}
			}
			if done {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("user pu%d records %+v: want %d, each delivered", u, d.AwardRecords, each)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// sharedStockPair starts two instances on one production configuration, applies
// campaign (activity 900101) through the first, checks the second picks it up
// without restart, and grants each of users users ("<prefix><n>") each draws.
func sharedStockPair(t *testing.T, campaign, prefix string, users, each int) (cfg config.Config, a, b http.Handler) {
	t.Helper()
	cfg = productionConfig(t)
	a, b = instance(t, cfg), instance(t, cfg)
	if env := call(t, a, "POST", "/api/admin/v1/campaign/apply", campaign); env.Code != "0000" {
		t.Fatalf("apply: %s %s %s", env.Code, env.Info, env.Data)
	}
	// The other instance picks the campaign up without restart.
	if env := call(t, b, "GET", "/api/v1/raffle/activity/armory?activityId=900101", ""); env.Code != "0000" {
		t.Fatalf("armory on the second instance: %s %s", env.Code, env.Info)
	}
	var wg sync.WaitGroup
	inflight := make(chan struct{}, 64)
	for u := range users {
		wg.Go(func() {
			inflight <- struct{}{}
			defer func() { <-inflight }()
			g := fmt.Sprintf(`{"id":"g-%s%d","userId":"%s%d","activityId":900101,"total":%d,"day":%d,"month":%d}`, prefix, u, prefix, u, each, each, each)
			if env := call(t, a, "POST", "/api/admin/v1/quota/grant", g); env.Code != "0000" {
				t.Errorf("grant: %s %s", env.Code, env.Info)
			}
		})
	}
	wg.Wait()
	return cfg, a, b
}

// drawAcross has each of users users ("<prefix><n>") draw each times on
// activity 900101, alternating between instances a and b, at most inflight at
// once. It returns the awards won and the answers other than 0000 by code and
// info.
func drawAcross(t *testing.T, a, b http.Handler, prefix string, users, each, inflight int) (won map[int64]int, failed map[string]int) {
	t.Helper()
	won, failed = map[int64]int{}, map[string]int{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	slots := make(chan struct{}, inflight)
	for u := range users {
		for i := range each {
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				h := a
				if (u+i)%2 == 1 {
					h = b
				}
				env := call(t, h, "POST", "/api/v1/raffle/activity/draw", fmt.Sprintf(`{"userId":"%s%d","activityId":900101}`, prefix, u))
				var r struct{ AwardID int64 }
				json.Unmarshal(env.Data, &r)
				mu.Lock()
				defer mu.Unlock()
				if env.Code != "0000" {
					failed[env.Code+" "+env.Info]++
					return
				}
				won[r.AwardID]++
			})
		}
	}
	wg.Wait()
	return won, failed
}
