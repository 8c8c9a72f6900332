package faultsuite

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bigmarket/bigmarket/internal/testsvc"
)

// Production load: fewer workers than embedded, MariaDB on the same two cores
// is the bottleneck.
const prodWorkers = 16

// TestProductionKillOneOfTwo runs two instances under load and kills one with
// SIGKILL: the other keeps serving; the killed one is restarted.
func TestProductionKillOneOfTwo(t *testing.T) {
	needSuite(t)
	w := production(t, fastStock, nil)
	a, b := w.instance("prod-a"), w.instance("prod-b")
	a.start()
	b.start()
	w.grant(a)
	l := w.load(0, a, b)
	l.start(prodWorkers)
	time.Sleep(loadBefore)
	w.hooks.setDelay(hungWebhook) // deliveries in flight, unanswered, when it dies (see hangBeforeKill)
	time.Sleep(hangBeforeKill)
	a.kill()
	w.hooks.setDelay(webhookDelay)
	okBefore, allBefore := l.counts(b.url())
	time.Sleep(loadBefore)
	okAfter, allAfter := l.counts(b.url())
	t.Logf("while prod-a was down prod-b answered %d draws, %d with 0000", allAfter-allBefore, okAfter-okBefore)
	if okAfter-okBefore == 0 {
		t.Errorf("prod-b answered no draw with 0000 while prod-a was down (%d answers)", allAfter-allBefore)
	}
	a.restart()
	w.serves(l, loadAfter, "prod-a's restart")
	l.finish()
	w.settleAndCheck("two instances, one kill -9", l)
}

// TestProductionRabbitMQDown makes RabbitMQ unreachable for 30 s under load: a
// proxy between the instances and the shared broker refuses connections and
// cuts the open ones, then lets them through again.
func TestProductionRabbitMQDown(t *testing.T) {
	needSuite(t)
	var mq *proxy
	w := production(t, fastStock, func(s services) services {
		mq = newProxy(t, s.amqp)
		s.amqp = mq.addr
		return s
	})
	a, b := w.instance("prod-a"), w.instance("prod-b")
	a.start()
	b.start()
	w.grant(a)
	l := w.load(10*time.Millisecond, a, b) // paced: 30 s of draws must drain afterwards
	l.start(prodWorkers)
	time.Sleep(loadBefore)
	mq.cut()
	before := l.answeredTotal()
	time.Sleep(30 * time.Second)
	t.Logf("draws answered 0000 while RabbitMQ was unreachable: %d", l.answeredTotal()-before)
	if l.answeredTotal() == before {
		t.Errorf("no draw succeeded while RabbitMQ was unreachable: draws must not depend on the broker")
	}
	mq.restore()
	w.serves(l, loadAfter, "RabbitMQ came back")
	l.finish()
	w.settleAndCheck("RabbitMQ unreachable 30 s", l)
}

// privateRedis runs a redis-server of the test's own (port, empty data dir, no
// persistence), so that killing it disturbs no other test.
type privateRedis struct {
	*process
	addr string
}

func newPrivateRedis(t *testing.T) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if testsvc.Required() {
			t.Fatalf("redis-server is required (BIGMARKET_REQUIRE_SERVICES=1) but not on PATH: %v", err)
		}
		t.Skipf("redis-server not on PATH (%v); skipping. Install it, or set BIGMARKET_REQUIRE_SERVICES=1 to fail instead", err)
	}
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	r := &privateRedis{addr: addr, process: newProcess(t, "redis", bin, nil,
		"--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--daemonize", "no")}
	r.start()
	return r
}

// start runs the server and waits until it accepts connections.
func (r *privateRedis) start() {
	r.t.Helper()
	r.startListening(r.addr, 30*time.Second)
}

// redisLosses is how many times the Redis test empties Redis.
const redisLosses = 25

// flushAll empties the private server at once.
func (r *privateRedis) flushAll() {
	r.t.Helper()
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.FlushAll(ctx).Err(); err != nil {
		r.t.Fatalf("private redis: FLUSHALL: %v", err)
	}
}

// TestProductionRedisRestartedEmpty empties the instances' Redis under load
// (every stock counter, lease and limit lost) 25 times while stock is still on
// hand, then draws until the stock is sold out. One time in five the server is
// killed and started again empty; otherwise its data vanishes at once
// (FLUSHALL: a failover to an empty replica), without the restart's pause, in
// which draws that took a unit before the loss commit before anyone rebuilds.
func TestProductionRedisRestartedEmpty(t *testing.T) {
	needSuite(t)
	var rd *privateRedis
	w := production(t, busyStock, func(s services) services {
		rd = newPrivateRedis(t)
		s.redis = rd.addr
		return s
	})
	a, b := w.instance("prod-a"), w.instance("prod-b")
	a.start()
	b.start()
	w.grant(a)
	l := w.load(0, a, b)
	l.start(prodWorkers)
	// The stock sells out after about 1 200 draws: space the losses over the
	// first 1 000, whatever the machine's speed.
	for i := range redisLosses {
		l.waitAnswered(w.t, 40*(i+1), time.Minute)
		if i%5 == 0 {
			rd.kill()
			rd.start()
		} else {
			rd.flushAll()
		}
	}
	w.loadUntilSoldOut(l, 30*time.Second)
	time.Sleep(time.Second) // draws after the sell-out must all get the luck award
	l.finish()
	t.Logf("stock counters found missing after a loss: %d times on prod-a, %d on prod-b",
		a.logCount("stock counter missing"), b.logCount("stock counter missing"))
	w.settleAndCheck(fmt.Sprintf("Redis emptied ×%d (restarts, flushes)", redisLosses), l)
}

// TestProductionMariaDBDown makes MariaDB unreachable for 10 s under load: a
// proxy in front of the shared server refuses connections and cuts the open
// ones, then lets them through again. Webhook calls are in flight at the cut
// and answered 2xx during the outage: each must still be recorded once, and
// never posted again.
func TestProductionMariaDBDown(t *testing.T) {
	needSuite(t)
	var db *proxy
	w := production(t, fastStock, func(s services) services {
		db = newProxy(t, s.mysql)
		s.mysql = db.addr
		return s
	})
	a, b := w.instance("prod-a"), w.instance("prod-b")
	a.start()
	b.start()
	w.grant(a)
	l := w.load(0, a, b)
	l.start(prodWorkers)
	time.Sleep(loadBefore)
	// The partner answers in a second: calls made just before the cut are
	// answered during the outage, when their deliverers cannot record them.
	w.hooks.setDelay(time.Second)
	time.Sleep(500 * time.Millisecond)
	db.cut()
	w.hooks.setDelay(webhookDelay)
	time.Sleep(10 * time.Second)
	db.restore()
	w.serves(l, loadAfter, "MariaDB came back")
	l.finish()
	w.settleAndCheck("MariaDB unreachable 10 s", l)
}
