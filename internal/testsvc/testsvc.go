// Package testsvc gives tests access to the real services (MariaDB, Redis,
// RabbitMQ) on loopback. Without them a test skips with a clear message; with
// BIGMARKET_REQUIRE_SERVICES=1 (as CI sets) it fails instead, so nothing is skipped
// silently.
package testsvc

import (
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"testing"
	"time"
)

// Addresses of the services; each can be overridden by the environment variable
// named beside it.
var defaults = map[string][2]string{
	"mariadb":  {"BIGMARKET_TEST_MYSQL_ADDR", "127.0.0.1:3306"},
	"redis":    {"BIGMARKET_TEST_REDIS_ADDR", "127.0.0.1:6379"},
	"rabbitmq": {"BIGMARKET_TEST_AMQP_ADDR", "127.0.0.1:5672"},
}

// Required reports whether BIGMARKET_REQUIRE_SERVICES asks tests to fail rather
// than skip when a service is down.
func Required() bool { return os.Getenv("BIGMARKET_REQUIRE_SERVICES") == "1" }

// Addr returns the host:port of service ("mariadb", "redis" or "rabbitmq") after
// checking that it accepts connections. When it does not, the test is skipped, or
// failed when Required.
func Addr(t testing.TB, service string) string {
	t.Helper()
	d, ok := defaults[service]
	if !ok {
		t.Fatalf("testsvc: unknown service %q", service)
	}
	addr := d[1]
	if v := os.Getenv(d[0]); v != "" {
		addr = v
	}
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if Required() {
			t.Fatalf("%s at %s is required (BIGMARKET_REQUIRE_SERVICES=1) but unreachable: %v", service, addr, err)
		}
		t.Skipf("%s at %s unreachable (%v); skipping. Start it, or set BIGMARKET_REQUIRE_SERVICES=1 to fail instead", service, addr, err)
	}
	conn.Close()
	return addr
}

// MySQLDSN returns a go-sql-driver DSN for the MariaDB server (root, empty
// password unless BIGMARKET_TEST_MYSQL_USER/PASSWORD say otherwise) with no
// database selected; callers append the database name after the slash.
func MySQLDSN(t testing.TB) string {
	t.Helper()
	addr := Addr(t, "mariadb")
	user := os.Getenv("BIGMARKET_TEST_MYSQL_USER")
	if user == "" {
		user = "root"
	}
	return user + ":" + os.Getenv("BIGMARKET_TEST_MYSQL_PASSWORD") + "@tcp(" + addr + ")/"
}

// AMQPURL returns the RabbitMQ URL (guest/guest unless BIGMARKET_TEST_AMQP_URL is
// set).
func AMQPURL(t testing.TB) string {
	t.Helper()
	addr := Addr(t, "rabbitmq")
	if u := os.Getenv("BIGMARKET_TEST_AMQP_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@" + addr + "/"
}

// UniqueName returns prefix followed by 12 random hex characters: a name for a
// test's own database, key prefix or queue set, so that runs never collide.
func UniqueName(prefix string) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b[:])
}

// WaitLimit bounds Eventually: a guard against a hanging test, not a timing
// assertion.
const WaitLimit = 30 * time.Second

// Eventually polls cond until it holds, failing t when WaitLimit passes first.
// what names the expectation in the failure.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
