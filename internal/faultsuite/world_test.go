package faultsuite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/bigmarket/bigmarket/internal/outbox"
	"github.com/bigmarket/bigmarket/internal/platform/redisx/redisxtest"
	"github.com/bigmarket/bigmarket/internal/store/sqldb/sqldbtest"
	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// The suite's campaign: small stock on three awards so that an oversell shows,
// complete trees (rule_stock ALLOW → rule_luck_award), and webhook awards
// (key fault_gift) delivered to the test's receiver next to credit awards.
const (
	activityID = 970101
	strategyID = 970001
	webhookKey = "fault_gift"
	hookSecret = "fault-suite-webhook-secret"
)

const campaignYAML = `version: 1
timezone: UTC
awards:
  - {id: 101, key: user_credit_random, config: "1,100", desc: luck credits}
  - {id: 102, key: fault_gift, config: "small", desc: "webhook gift, small stock"}
  - {id: 103, key: fault_gift, config: "tiny", desc: "webhook gift, tiny stock"}
  - {id: 104, key: user_credit_random, config: "1,10", desc: "credits, small stock"}
  - {id: 105, key: fault_gift, config: "plenty", desc: "webhook gift, large stock"}
rule_trees:
  - id: tree_stock
    root: rule_stock
    nodes:
      - {key: rule_stock}
      - {key: rule_luck_award, value: "101:1,100"}
    lines:
      - {from: rule_stock, to: rule_luck_award, when: ALLOW}
strategies:
  - id: 970001
    awards:
      - {award: 101, title: luck, count: 1000000, rate: "%s", tree: tree_stock, sort: 1}
      - {award: 102, title: small, count: %d, rate: "%s", tree: tree_stock, sort: 2}
      - {award: 103, title: tiny, count: %d, rate: "%s", tree: tree_stock, sort: 3}
      - {award: 104, title: credit, count: %d, rate: "%s", tree: tree_stock, sort: 4}
      - {award: 105, title: plenty, count: 1000000, rate: "0.25", tree: tree_stock, sort: 5}
activities:
  - {id: 970101, name: fault, strategy: 970001, state: open, begin: "2024-01-01T00:00:00Z", end: "2099-01-01T00:00:00Z"}
`

// stock is the draw rates of awards 101–104 (105 draws a quarter) and the
// counts of the three stock-limited ones (102–104).
type stock struct {
	luck                string
	small, tiny, credit string
	counts              [3]int
}

// fastStock sells the small stocks out within a few hundred draws: a fault
// strikes after they are gone, and any unit given past them shows.
var fastStock = stock{luck: "0.45", small: "0.1", tiny: "0.1", credit: "0.1", counts: [3]int{40, 30, 50}}

// busyStock keeps stock on hand for about 1 200 draws, most of which take a
// unit: a cache loss then strikes while draws are taking units, and a counter
// rebuild racing them shows as an oversell once the stock runs out (see
// loadUntilSoldOut).
var busyStock = stock{luck: "0.05", small: "0.25", tiny: "0.2", credit: "0.25", counts: [3]int{300, 240, 300}}

var awards = campaignAwards{
	strategy: strategyID,
	luck:     101,
	credit:   map[int64]bool{101: true, 104: true},
	webhook:  map[int64]bool{102: true, 103: true, 105: true},
}

// world is one fault's environment: fresh storage with the campaign applied, a
// webhook receiver, the variables and config file of its instances, users
// granted quota once an instance runs.
type world struct {
	t          *testing.T
	mode       string
	env        map[string]string // BIGMARKET_ variables of every instance
	configFile string
	hooks      *receiver
	db         *db
	users      []string
	stock      stock
	undone     int // award records acknowledged undone at a stop (nothingAcknowledgedUndone)
}

// deliveryConfig shortens the delivery and reconciler timings from minutes to
// seconds, so that what a fault leaves unfinished is taken up again within the
// settle period: a webhook call is bounded by 2 s; a claim whose deliverer died
// is taken again after 15 s (longer than the MariaDB outage, so a deliverer
// that outlives the outage can still record its delivery before anyone else
// may call again); an award record left in create is redelivered after 10 s
// (longer than deliveries take under load, shorter than the RabbitMQ outage, so
// an outage costs a few redelivery attempts and no failed record).
const deliveryConfig = `delivery:
  webhook_timeout: 2s
  claim_timeout: 15s
reconcile:
  deadline: 10s
  every: 1s
`

// webhookDelay keeps deliveries in flight when a fault strikes.
const webhookDelay = 20 * time.Millisecond

func writeFiles(t *testing.T, w *world, r stock, extraConfig string) {
	t.Helper()
	dir := t.TempDir()
	w.configFile = filepath.Join(dir, "bigmarket.yaml")
	cfg := fmt.Sprintf("webhooks:\n  %s: {url: %q, secret: %q}\n%s%s", webhookKey, w.hooks.srv.URL, hookSecret, deliveryConfig, extraConfig)
	if err := os.WriteFile(w.configFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	camp := filepath.Join(dir, "campaign.yaml")
	if err := os.WriteFile(camp, []byte(fmt.Sprintf(campaignYAML, r.luck, r.counts[0], r.small, r.counts[1], r.tiny, r.counts[2], r.credit)), 0o600); err != nil {
		t.Fatal(err)
	}
	runCommand(t, w.env, "campaign", "apply", "--config", w.configFile, camp)
}

// embedded prepares an embedded-mode world: a SQLite data directory with the
// campaign applied.
func embedded(t *testing.T, r stock) *world {
	t.Helper()
	dir := t.TempDir()
	w := &world{t: t, mode: "embedded", hooks: newReceiver(t, hookSecret, webhookDelay), users: userNames("fu", 200)}
	w.env = map[string]string{
		"BIGMARKET_DATA_DIR":    dir,
		"BIGMARKET_ADMIN_TOKEN": adminToken,
		"BIGMARKET_DEMO":        "false",
		"BIGMARKET_LOG_LEVEL":   "warn",
	}
	w.stock = r
	writeFiles(t, w, r, "")
	w.db = openSQLite(t, filepath.Join(dir, "bigmarket.db"))
	return w
}

// services are the host:port addresses the instances of a production world
// reach MariaDB, Redis and RabbitMQ at: the shared services, or a proxy or
// private server in front of them.
type services struct{ mysql, redis, amqp string }

// production prepares a production-mode world: uniquely named MariaDB
// databases (2 × 4, migrated, campaign applied; dropped at the end), a Redis key
// prefix and RabbitMQ names of its own (removed at the end). route maps the
// shared services' addresses to those the instances use.
func production(t *testing.T, r stock, route func(shared services) services) *world {
	t.Helper()
	shared := services{
		mysql: testsvc.Addr(t, "mariadb"),
		redis: testsvc.Addr(t, "redis"),
		amqp:  testsvc.Addr(t, "rabbitmq"),
	}
	use := shared
	if route != nil {
		use = route(shared)
	}
	sc := sqldbtest.MySQLConfig(t, 2, 4)
	prefix := testsvc.UniqueName("bmfault:") + ":"
	if use.redis == shared.redis {
		_, prefix = redisxtest.New(t) // removes the prefix's keys at the end
	}
	amqpURL := testsvc.AMQPURL(t)
	names := testsvc.UniqueName("bmfault_")
	t.Cleanup(func() { deleteBroker(t, amqpURL, names) })

	via := func(dsn string) string {
		return strings.Replace(dsn, "tcp("+shared.mysql+")", "tcp("+use.mysql+")", 1)
	}
	var shards []string
	for _, s := range sc.ShardDSNs {
		shards = append(shards, via(s))
	}
	w := &world{t: t, mode: "production", hooks: newReceiver(t, hookSecret, webhookDelay), users: userNames("pu", 300)}
	direct := map[string]string{
		"BIGMARKET_DB_DRIVER":              "mysql",
		"BIGMARKET_MYSQL_CONFIG_DSN":       sc.ConfigDSN,
		"BIGMARKET_MYSQL_SHARD_DSNS":       strings.Join(sc.ShardDSNs, ","),
		"BIGMARKET_MYSQL_TABLES_PER_SHARD": fmt.Sprint(sc.TablesPerShard),
		"BIGMARKET_ADMIN_TOKEN":            adminToken,
		"BIGMARKET_DEMO":                   "false",
		"BIGMARKET_LOG_LEVEL":              "warn",
	}
	runCommand(t, direct, "migrate")
	w.env = map[string]string{}
	for k, v := range direct {
		w.env[k] = v
	}
	w.env["BIGMARKET_MYSQL_CONFIG_DSN"] = via(sc.ConfigDSN)
	w.env["BIGMARKET_MYSQL_SHARD_DSNS"] = strings.Join(shards, ",")
	w.env["BIGMARKET_REDIS_ADDRS"] = use.redis
	w.env["BIGMARKET_REDIS_PREFIX"] = prefix
	w.env["BIGMARKET_AMQP_URL"] = strings.Replace(amqpURL, shared.amqp, use.amqp, 1)
	w.env["BIGMARKET_AMQP_EXCHANGE"] = names
	w.env["BIGMARKET_AMQP_QUEUE_PREFIX"] = names + "."
	// Two instances × three databases share the server's connections with
	// the other tests.
	saved := w.env
	w.env = direct
	w.stock = r
	writeFiles(t, w, r, "database:\n  max_open_conns: 8\n")
	w.env = saved
	w.db = openMySQL(t, sc.ConfigDSN, sc.ShardDSNs, sc.TablesPerShard)
	return w
}

// deleteBroker removes the exchange and queues of a production world.
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

// instance prepares an instance of the world.
func (w *world) instance(name string) *instance {
	w.t.Helper()
	return newInstance(w.t, name, w.env, w.configFile)
}

// grant gives every user of the world quota through in.
func (w *world) grant(in *instance) {
	w.t.Helper()
	grantQuota(w.t, in.url(), activityID, w.users, 100000)
}

// load prepares a load on the world's activity against the instances.
func (w *world) load(pace time.Duration, ins ...*instance) *load {
	var targets []string
	for _, in := range ins {
		targets = append(targets, in.url())
	}
	return newLoad(targets, activityID, w.users, pace)
}

// nothingAcknowledgedUndone fails t when, with the embedded instance down,
// award records wait in create behind outbox tasks already completed (see
// db.acknowledgedUndone).
func (w *world) nothingAcknowledgedUndone(when string) {
	w.t.Helper()
	n, err := w.db.acknowledgedUndone(context.Background(), activityID)
	if err != nil {
		w.t.Fatalf("check %s: %v", when, err)
	}
	w.undone += n
	if n > 0 {
		w.t.Errorf("%s: %d award records in create behind send_award tasks already completed (the stop lost their messages; only the reconciler can still deliver them)", when, n)
	}
}

// serves runs the load for d and fails t unless draws are answered 0000
// meanwhile: the service is back after a fault.
func (w *world) serves(l *load, d time.Duration, after string) {
	w.t.Helper()
	before := l.answeredTotal()
	time.Sleep(d)
	if l.answeredTotal() == before {
		w.t.Errorf("no draw answered 0000 in the %s after %s (answers so far %s)", d, after, l.codeSummary())
	}
}

// loadUntilSoldOut lets l run until draws of every stock-limited award were
// answered as often as its count, or limit passed (then it only logs).
func (w *world) loadUntilSoldOut(l *load, limit time.Duration) {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		left := map[int64]int{}
		for i, a := range []int64{102, 103, 104} {
			if n := w.stock.counts[i] - l.awardTotal(a); n > 0 {
				left[a] = n
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			w.t.Logf("after %s of extra load, not sold out yet (award → units left by the answers): %v", limit, left)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// settleAndCheck waits for the world to settle, checks every invariant and
// reports the figures.
func (w *world) settleAndCheck(fault string, l *load) {
	w.t.Helper()
	w.t.Logf("answers: %s", l.codeSummary())
	w.db.settle(w.t, activityID, settleStall, settleLimit)
	f := check(w.t, w.db, l, w.hooks, awards, activityID)
	f.fault, f.mode, f.undone = fault, w.mode, w.undone
	if w.undone > 0 {
		f.violations++
	}
	report(w.t, f)
}

// Settle bounds: a check waits until nothing changed for settleStall, and at
// most settleLimit. The stall outlasts the reconciler's lease (max(3 × every,
// 1m)): after the instance holding it is killed, the reconciler runs again only
// once that lease has expired.
const (
	settleStall = 80 * time.Second
	settleLimit = 150 * time.Second
)
